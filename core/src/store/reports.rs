//! Rows of the outbox: `servers`, `reports`, `report_history` and the sender `lease`.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row as SqlRow};

use crate::open311::{NewRequest, ServerConfig};
use crate::outbox::phase::{Phase, Progress};
use crate::outbox::{HistoryEntry, Report, ReportId, ReportState, SendStep};
use crate::{DraftFields, Error, Result};

/// A `reports` row: everything the engine needs to take the next step.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) id: ReportId,
    pub(crate) server_id: String,
    /// What is POSTed, frozen at submit.
    pub(crate) payload: NewRequest,
    /// The draft it came from, to edit it again while that is still allowed.
    pub(crate) fields: DraftFields,
    /// The phase and what the state machine keeps with it.
    pub(crate) progress: Progress,
    pub(crate) token: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) service_notice: Option<String>,
    pub(crate) last_error: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) status_notes: Option<String>,
    pub(crate) status_updated_at: Option<i64>,
    /// Grows with every update; events carry it.
    pub(crate) version: i64,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl Row {
    /// The report as apps see it.
    pub(crate) fn to_report(&self) -> Report {
        let p = &self.progress;
        let state = match p.phase {
            Phase::Queued => ReportState::Queued,
            Phase::Offline(_) => ReportState::WaitingForNetwork,
            Phase::InFlight => ReportState::Sending {
                step: SendStep::Posting,
            },
            Phase::Checking => ReportState::Sending {
                step: SendStep::Checking,
            },
            Phase::WaitingForId => ReportState::Sending {
                step: SendStep::WaitingForId,
            },
            Phase::Sent => ReportState::Sent,
            Phase::NeedsUser => ReportState::NeedsAttention {
                attention: p
                    .attention
                    .clone()
                    .unwrap_or_else(|| crate::outbox::Attention {
                        kind: crate::outbox::AttentionKind::Other,
                        reason: "This report needs attention.".into(),
                        action: crate::outbox::AttentionAction::ConfirmPossibleDuplicate,
                        messages: vec![],
                    }),
            },
            Phase::Cancelled => ReportState::Cancelled,
        };
        Report {
            id: self.id,
            version: self.version.max(0) as u64,
            server_id: self.server_id.clone(),
            service_code: self.payload.service_code.clone(),
            description: self.payload.description.clone().unwrap_or_default(),
            next_attempt_at: p.phase.is_active().then(|| time(p.next_at)),
            state,
            request_id: self.request_id.clone(),
            service_notice: self.service_notice.clone(),
            status: self.status.clone(),
            status_notes: self.status_notes.clone(),
            attempts: p.attempts,
            last_error: self.last_error.clone(),
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
        }
    }
}

const COLUMNS: &str = "id, server_id, payload, fields, phase, resume, said_duplicate, attempts, checks,
    server_failures, server_messages, next_attempt_at, attempt_started_at, token, request_id, service_notice,
    attention, last_error, status, status_notes, status_updated_at, version, created_at, updated_at";

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serializable")
}

pub(crate) fn insert(conn: &Connection, row: &Row) -> Result<()> {
    let p = &row.progress;
    let (phase, resume) = p.phase.columns();
    conn.execute(
        &format!("INSERT INTO reports ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)"),
        params![
            row.id.to_string(), row.server_id, json(&row.payload), json(&row.fields), phase, resume,
            p.said_duplicate, p.attempts, p.checks, p.server_failures, json(&p.server_messages), p.next_at,
            p.attempt_started_at, row.token, row.request_id, row.service_notice, p.attention.as_ref().map(json),
            row.last_error, row.status, row.status_notes, row.status_updated_at, row.version, row.created_at,
            row.updated_at,
        ],
    )?;
    Ok(())
}

/// Writes every changeable column of `row`, stamping `updated_at` and growing `version`.
pub(crate) fn update(conn: &Connection, row: &mut Row) -> Result<()> {
    row.updated_at = now_ms();
    row.version += 1;
    let p = &row.progress;
    let (phase, resume) = p.phase.columns();
    conn.execute(
        "UPDATE reports SET phase = ?2, resume = ?3, said_duplicate = ?4, attempts = ?5, checks = ?6,
             server_failures = ?7, server_messages = ?8, next_attempt_at = ?9, attempt_started_at = ?10,
             token = ?11, request_id = ?12, service_notice = ?13, attention = ?14, last_error = ?15,
             status = ?16, status_notes = ?17, status_updated_at = ?18, version = ?19, updated_at = ?20
         WHERE id = ?1",
        params![
            row.id.to_string(), phase, resume, p.said_duplicate, p.attempts, p.checks, p.server_failures,
            json(&p.server_messages), p.next_at, p.attempt_started_at, row.token, row.request_id,
            row.service_notice, p.attention.as_ref().map(json), row.last_error, row.status, row.status_notes,
            row.status_updated_at, row.version, row.updated_at,
        ],
    )?;
    Ok(())
}

pub(crate) fn delete(conn: &Connection, id: &ReportId) -> Result<()> {
    conn.execute("DELETE FROM reports WHERE id = ?1", [id.to_string()])?;
    Ok(())
}

pub(crate) fn get(conn: &Connection, id: &ReportId) -> Result<Option<Row>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM reports WHERE id = ?1"),
        [id.to_string()],
        |r| Ok(from_row(r)),
    )
    .optional()?
    .transpose()
}

/// Every report, newest first.
pub(crate) fn list(conn: &Connection) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM reports ORDER BY created_at DESC, rowid DESC"
    ))?;
    let rows = stmt.query_map([], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// Phases in which a report falls due (`Phase::is_active`), as SQL.
const ACTIVE: &str = "phase IN ('queued', 'checking', 'waiting_for_id')";

/// The report whose next step is due first (active, due by `now`, its server not paused).
pub(crate) fn next_due(conn: &Connection, now: i64) -> Result<Option<Row>> {
    conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM reports WHERE {ACTIVE} AND next_attempt_at <= ?1
               AND server_id NOT IN (SELECT id FROM servers WHERE paused_reason IS NOT NULL)
             ORDER BY next_attempt_at, created_at LIMIT 1"
        ),
        [now],
        |r| Ok(from_row(r)),
    )
    .optional()?
    .transpose()
}

/// When the next active step falls due, if any (servers not paused).
pub(crate) fn next_due_at(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn.query_row(
        &format!(
            "SELECT MIN(next_attempt_at) FROM reports WHERE {ACTIVE}
               AND server_id NOT IN (SELECT id FROM servers WHERE paused_reason IS NOT NULL)"
        ),
        [],
        |r| r.get(0),
    )?)
}

/// Reports still on their way (not sent, stopped or cancelled).
pub(crate) fn waiting(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM reports WHERE phase NOT IN ('sent', 'needs_user', 'cancelled')",
        [],
        |r| r.get(0),
    )?)
}

/// The city's ids held by every report but `id` (a search must never take one of them).
pub(crate) fn request_ids_except(
    conn: &Connection,
    id: &ReportId,
) -> Result<std::collections::HashSet<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT request_id FROM reports WHERE request_id IS NOT NULL AND id != ?1",
    )?;
    let ids = stmt.query_map([id.to_string()], |r| r.get::<_, String>(0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

/// Reports in `phase` (all servers, or one), oldest first.
pub(crate) fn in_phase(conn: &Connection, phase: &str, server: Option<&str>) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM reports WHERE phase = ?1 AND (?2 IS NULL OR server_id = ?2)
         ORDER BY created_at"
    ))?;
    let rows = stmt.query_map(params![phase, server], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// Sent reports with a city id whose status may still change, per server.
pub(crate) fn tracked(conn: &Connection) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM reports WHERE phase = 'sent' AND request_id IS NOT NULL
           AND COALESCE(status, '') != 'closed' ORDER BY server_id, created_at"
    ))?;
    let rows = stmt.query_map([], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

fn from_row(r: &SqlRow<'_>) -> Result<Row> {
    let corrupt = |what: &str| Error::CorruptData(format!("report {what}"));
    let text = |i: usize| -> Result<String> { Ok(r.get::<_, String>(i)?) };
    let id = ReportId::parse(&text(0)?).map_err(|_| corrupt("id"))?;
    let resume: Option<String> = r.get(5)?;
    let phase =
        Phase::from_columns(&text(4)?, resume.as_deref()).ok_or_else(|| corrupt("phase"))?;
    let attention: Option<String> = r.get(16)?;
    Ok(Row {
        id,
        server_id: text(1)?,
        payload: serde_json::from_str(&text(2)?).map_err(|_| corrupt("payload"))?,
        fields: serde_json::from_str(&text(3)?).map_err(|_| corrupt("fields"))?,
        progress: Progress {
            phase,
            said_duplicate: r.get(6)?,
            attempts: r.get(7)?,
            checks: r.get(8)?,
            server_failures: r.get(9)?,
            server_messages: serde_json::from_str(&text(10)?)
                .map_err(|_| corrupt("server messages"))?,
            next_at: r.get(11)?,
            attempt_started_at: r.get(12)?,
            attention: attention
                .map(|a| serde_json::from_str(&a))
                .transpose()
                .map_err(|_| corrupt("attention"))?,
        },
        token: r.get(13)?,
        request_id: r.get(14)?,
        service_notice: r.get(15)?,
        last_error: r.get(17)?,
        status: r.get(18)?,
        status_notes: r.get(19)?,
        status_updated_at: r.get(20)?,
        version: r.get(21)?,
        created_at: r.get(22)?,
        updated_at: r.get(23)?,
    })
}

pub(crate) fn add_history(
    conn: &Connection,
    id: &ReportId,
    kind: &str,
    summary: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO report_history (report_id, at, kind, summary) VALUES (?1, ?2, ?3, ?4)",
        params![id.to_string(), now_ms(), kind, summary],
    )?;
    Ok(())
}

pub(crate) fn history(conn: &Connection, id: &ReportId) -> Result<Vec<HistoryEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, kind, summary FROM report_history WHERE report_id = ?1 ORDER BY at, rowid",
    )?;
    let rows = stmt.query_map([id.to_string()], |r| {
        Ok(HistoryEntry {
            at: time(r.get(0)?),
            kind: r.get(1)?,
            summary: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Adds or replaces a server's settings. A change lifts a pause; the same settings again
/// change nothing (apps and the CLI apply them at every start). True when they changed.
pub(crate) fn put_server(conn: &Connection, id: &str, config: &ServerConfig) -> Result<bool> {
    if server(conn, id)?.is_some_and(|(stored, _)| stored == *config) {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO servers (id, config, paused_reason) VALUES (?1, ?2, NULL)
         ON CONFLICT (id) DO UPDATE SET config = excluded.config, paused_reason = NULL",
        params![id, json(config)],
    )?;
    Ok(true)
}

pub(crate) fn server(
    conn: &Connection,
    id: &str,
) -> Result<Option<(ServerConfig, Option<String>)>> {
    conn.query_row(
        "SELECT config, paused_reason FROM servers WHERE id = ?1",
        [id],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
    )
    .optional()?
    .map(|(config, paused)| {
        serde_json::from_str(&config)
            .map(|c| (c, paused))
            .map_err(|_| Error::CorruptData("server settings".into()))
    })
    .transpose()
}

pub(crate) fn pause_server(conn: &Connection, id: &str, reason: &str) -> Result<()> {
    conn.execute(
        "UPDATE servers SET paused_reason = ?2 WHERE id = ?1",
        params![id, reason],
    )?;
    Ok(())
}

/// Takes or renews the named lease for `holder` (`PID:instance`) until `until`. It is free
/// when unheld, expired, or held by a process that no longer exists (killed mid-send), so a
/// crash never blocks sending; a live holder, in this process or another, keeps it.
pub(crate) fn acquire_lease(
    conn: &Connection,
    name: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> Result<bool> {
    let current: Option<(String, i64)> = conn
        .query_row(
            "SELECT holder, until FROM lease WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let free = match &current {
        None => true,
        Some((held_by, held_until)) => {
            held_by == holder || *held_until < now || holder_is_gone(held_by)
        }
    };
    if free {
        conn.execute(
            "INSERT INTO lease (name, holder, until) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until",
            params![name, holder, until],
        )?;
    }
    Ok(free)
}

/// True when the holder's process has ended (`kill(pid, 0)` finds no such process).
fn holder_is_gone(holder: &str) -> bool {
    let Some(pid) = holder.split(':').next().and_then(|p| p.parse::<i32>().ok()) else {
        return true;
    };
    if pid == std::process::id() as i32 {
        return false;
    }
    #[cfg(unix)]
    {
        // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        !alive && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

pub(crate) fn release_lease(conn: &Connection, name: &str, holder: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM lease WHERE name = ?1 AND holder = ?2",
        params![name, holder],
    )?;
    Ok(())
}
