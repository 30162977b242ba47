//! Rows of the outbox: `servers`, `reports`, `report_history` and the sender `lease`.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row as SqlRow};

use crate::open311::{NewRequest, ServerConfig};
use crate::outbox::{Attention, HistoryEntry, Report, ReportId, ReportState, SendStep};
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
    pub(crate) state: State,
    pub(crate) step: Step,
    /// Set when the first POST attempt starts: from then on the payload can never change.
    pub(crate) frozen: bool,
    /// The last POST may have reached the server: check before posting again.
    pub(crate) outcome_unknown: bool,
    /// The server called a POST of this report a duplicate.
    pub(crate) said_duplicate: bool,
    pub(crate) attempts: u32,
    pub(crate) next_attempt_at: i64,
    pub(crate) attempt_started_at: Option<i64>,
    pub(crate) token: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) service_notice: Option<String>,
    pub(crate) attention: Option<Attention>,
    pub(crate) last_error: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) status_notes: Option<String>,
    pub(crate) status_updated_at: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// The `state` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Queued,
    Sending,
    Sent,
    NeedsAttention,
    Cancelled,
}

/// The `step` column: what the engine does next with a queued or sending report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Post,
    ResolveToken,
    Reconcile,
    Track,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Sending => "sending",
            State::Sent => "sent",
            State::NeedsAttention => "needs_attention",
            State::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "queued" => State::Queued,
            "sending" => State::Sending,
            "sent" => State::Sent,
            "needs_attention" => State::NeedsAttention,
            "cancelled" => State::Cancelled,
            _ => return Err(Error::CorruptData("report state".into())),
        })
    }
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Post => "post",
            Step::ResolveToken => "resolve_token",
            Step::Reconcile => "reconcile",
            Step::Track => "track",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "post" => Step::Post,
            "resolve_token" => Step::ResolveToken,
            "reconcile" => Step::Reconcile,
            "track" => Step::Track,
            _ => return Err(Error::CorruptData("report step".into())),
        })
    }
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
        let state = match self.state {
            State::Queued | State::Sending => match (self.state, self.step, self.outcome_unknown) {
                (State::Sending, Step::Post, _) => ReportState::Sending {
                    step: SendStep::Posting,
                },
                (_, Step::ResolveToken, _) => ReportState::Sending {
                    step: SendStep::WaitingForId,
                },
                (_, Step::Reconcile, _) | (_, Step::Post, true) => ReportState::Sending {
                    step: SendStep::Checking,
                },
                _ => ReportState::Queued,
            },
            State::Sent => ReportState::Sent,
            State::NeedsAttention => ReportState::NeedsAttention {
                attention: self.attention.clone().unwrap_or_else(|| Attention {
                    kind: crate::outbox::AttentionKind::Other,
                    reason: "This report needs attention.".into(),
                    action: crate::outbox::AttentionAction::ConfirmPossibleDuplicate,
                    messages: vec![],
                }),
            },
            State::Cancelled => ReportState::Cancelled,
        };
        Report {
            id: self.id,
            server_id: self.server_id.clone(),
            service_code: self.payload.service_code.clone(),
            description: self.payload.description.clone().unwrap_or_default(),
            next_attempt_at: matches!(self.state, State::Queued)
                .then(|| time(self.next_attempt_at)),
            state,
            request_id: self.request_id.clone(),
            service_notice: self.service_notice.clone(),
            status: self.status.clone(),
            status_notes: self.status_notes.clone(),
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
        }
    }
}

const COLUMNS: &str = "id, server_id, payload, fields, state, step, frozen, outcome_unknown, said_duplicate,
    attempts, next_attempt_at, attempt_started_at, token, request_id, service_notice, attention, last_error,
    status, status_notes, status_updated_at, created_at, updated_at";

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serializable")
}

pub(crate) fn insert(conn: &Connection, row: &Row) -> Result<()> {
    conn.execute(
        &format!("INSERT INTO reports ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)"),
        params![
            row.id.to_string(), row.server_id, json(&row.payload), json(&row.fields), row.state.name(), row.step.name(),
            row.frozen, row.outcome_unknown, row.said_duplicate, row.attempts, row.next_attempt_at, row.attempt_started_at,
            row.token, row.request_id, row.service_notice, row.attention.as_ref().map(json), row.last_error,
            row.status, row.status_notes, row.status_updated_at, row.created_at, row.updated_at,
        ],
    )?;
    Ok(())
}

/// Writes every changeable column of `row` (stamping `updated_at`).
pub(crate) fn update(conn: &Connection, row: &mut Row) -> Result<()> {
    row.updated_at = now_ms();
    conn.execute(
        "UPDATE reports SET state = ?2, step = ?3, frozen = ?4, outcome_unknown = ?5, said_duplicate = ?6,
             attempts = ?7, next_attempt_at = ?8, attempt_started_at = ?9, token = ?10, request_id = ?11,
             service_notice = ?12, attention = ?13, last_error = ?14, status = ?15, status_notes = ?16,
             status_updated_at = ?17, updated_at = ?18
         WHERE id = ?1",
        params![
            row.id.to_string(), row.state.name(), row.step.name(), row.frozen, row.outcome_unknown, row.said_duplicate,
            row.attempts, row.next_attempt_at, row.attempt_started_at, row.token, row.request_id, row.service_notice,
            row.attention.as_ref().map(json), row.last_error, row.status, row.status_notes, row.status_updated_at,
            row.updated_at,
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

/// The report whose next step is due first (queued, due by `now`, its server not paused).
pub(crate) fn next_due(conn: &Connection, now: i64) -> Result<Option<Row>> {
    conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM reports WHERE state = 'queued' AND next_attempt_at <= ?1
               AND server_id NOT IN (SELECT id FROM servers WHERE paused_reason IS NOT NULL)
             ORDER BY next_attempt_at, created_at LIMIT 1"
        ),
        [now],
        |r| Ok(from_row(r)),
    )
    .optional()?
    .transpose()
}

/// When the next queued step falls due, if any (servers not paused).
pub(crate) fn next_due_at(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT MIN(next_attempt_at) FROM reports WHERE state = 'queued'
           AND server_id NOT IN (SELECT id FROM servers WHERE paused_reason IS NOT NULL)",
        [],
        |r| r.get(0),
    )?)
}

/// Reports still on their way (queued or sending).
pub(crate) fn waiting(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM reports WHERE state IN ('queued', 'sending')",
        [],
        |r| r.get(0),
    )?)
}

/// Sent reports with a city id whose status may still change, per server.
pub(crate) fn tracked(conn: &Connection) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM reports WHERE state = 'sent' AND request_id IS NOT NULL
           AND COALESCE(status, '') != 'closed' ORDER BY server_id, created_at"
    ))?;
    let rows = stmt.query_map([], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

fn from_row(r: &SqlRow<'_>) -> Result<Row> {
    let corrupt = |what: &str| Error::CorruptData(format!("report {what}"));
    let text = |i: usize| -> Result<String> { Ok(r.get::<_, String>(i)?) };
    let id = ReportId::parse(&text(0)?).map_err(|_| corrupt("id"))?;
    let attention: Option<String> = r.get(15)?;
    Ok(Row {
        id,
        server_id: text(1)?,
        payload: serde_json::from_str(&text(2)?).map_err(|_| corrupt("payload"))?,
        fields: serde_json::from_str(&text(3)?).map_err(|_| corrupt("fields"))?,
        state: State::parse(&text(4)?)?,
        step: Step::parse(&text(5)?)?,
        frozen: r.get(6)?,
        outcome_unknown: r.get(7)?,
        said_duplicate: r.get(8)?,
        attempts: r.get(9)?,
        next_attempt_at: r.get(10)?,
        attempt_started_at: r.get(11)?,
        token: r.get(12)?,
        request_id: r.get(13)?,
        service_notice: r.get(14)?,
        attention: attention
            .map(|a| serde_json::from_str(&a))
            .transpose()
            .map_err(|_| corrupt("attention"))?,
        last_error: r.get(16)?,
        status: r.get(17)?,
        status_notes: r.get(18)?,
        status_updated_at: r.get(19)?,
        created_at: r.get(20)?,
        updated_at: r.get(21)?,
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

/// Adds or replaces a server's settings. A change lifts a pause and queues again the reports
/// parked for their settings; the same settings again change nothing (apps and the CLI apply
/// them at every start). True when they changed.
pub(crate) fn put_server(conn: &Connection, id: &str, config: &ServerConfig) -> Result<bool> {
    if server(conn, id)?.is_some_and(|(stored, _)| stored == *config) {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO servers (id, config, paused_reason) VALUES (?1, ?2, NULL)
         ON CONFLICT (id) DO UPDATE SET config = excluded.config, paused_reason = NULL",
        params![id, json(config)],
    )?;
    let parked = list(conn)?.into_iter().filter(|r| {
        r.server_id == id
            && r.state == State::NeedsAttention
            && r.attention
                .as_ref()
                .is_some_and(|a| a.action == crate::outbox::AttentionAction::CheckSettings)
    });
    for mut row in parked {
        row.state = State::Queued;
        row.attention = None;
        row.next_attempt_at = now_ms();
        update(conn, &mut row)?;
        add_history(
            conn,
            &row.id,
            "retry",
            "Server settings changed; trying again",
        )?;
    }
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
