//! The `reports` table (the outbox) and its `report_history`.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row as SqlRow};

use curbside_open311::NewRequest;
use curbside_types::phase::{Phase, Progress};
use curbside_types::report::{HistoryEntry, HistoryEvent, ReportId};
use curbside_types::{DraftFields, Error, LastError, Result};

/// A `reports` row: everything the engine needs to take the next step.
#[derive(Debug, Clone)]
pub struct Row {
    /// The report's id, made on the device.
    pub id: ReportId,
    /// The server (or profile) it is for.
    pub server_id: String,
    /// What is POSTed, frozen at submit.
    pub payload: NewRequest,
    /// The draft it came from, to edit it again while that is still allowed.
    pub fields: FrozenFields,
    /// The phase and what the state machine keeps with it.
    pub progress: Progress,
    /// A batch server's token, until the request id is known.
    pub token: Option<String>,
    /// The city's request id, once known.
    pub request_id: Option<String>,
    /// An id the city gave to an attempt whose sender had lost its lease meanwhile (a paused
    /// process): evidence that the report arrived, read before any search or re-post.
    pub late_request_id: Option<String>,
    /// The city's notice on accepting it.
    pub service_notice: Option<String>,
    /// Why the last step failed (stored as JSON).
    pub last_error: Option<LastError>,
    /// The city's status (`open`, `closed`).
    pub status: Option<String>,
    /// The city's notes on its status.
    pub status_notes: Option<String>,
    /// When the city last updated the status (milliseconds).
    pub status_updated_at: Option<i64>,
    /// Grows with every update; events carry it.
    pub version: i64,
    /// When it was submitted (milliseconds).
    pub created_at: i64,
    /// When it last changed (milliseconds).
    pub updated_at: i64,
}

/// The draft a report came from, kept as stored (JSON) until something needs it: the
/// engine's steps never do, and its service definition is most of a row.
#[derive(Debug, Clone)]
pub enum FrozenFields {
    /// As read from the database.
    Stored(String),
    /// As made or changed in memory.
    Decoded(Box<DraftFields>),
}

impl FrozenFields {
    /// The fields, decoded.
    pub fn decode(&self) -> Result<DraftFields> {
        match self {
            FrozenFields::Stored(json) => {
                serde_json::from_str(json).map_err(|_| Error::CorruptData("report fields".into()))
            }
            FrozenFields::Decoded(fields) => Ok(fields.as_ref().clone()),
        }
    }

    /// The fields as stored.
    fn json(&self) -> String {
        match self {
            FrozenFields::Stored(json) => json.clone(),
            FrozenFields::Decoded(fields) => json(fields.as_ref()),
        }
    }
}

impl From<DraftFields> for FrozenFields {
    fn from(fields: DraftFields) -> Self {
        FrozenFields::Decoded(Box::new(fields))
    }
}

/// Now, in the milliseconds the tables keep.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

const COLUMNS: &str = "id, server_id, payload, fields, phase, resume, said_duplicate, attempts, checks,
    server_failures, server_messages, next_attempt_at, attempt_started_at, token, request_id, service_notice,
    attention, last_error, status, status_notes, status_updated_at, version, created_at, updated_at,
    not_found, unanswered, post_deadline, late_request_id, searched_at";

/// A report as a list shows it, read from columns only: no JSON is decoded but a waiting
/// report's reason.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The report's id.
    pub id: ReportId,
    /// The server (or profile) it is for.
    pub server_id: String,
    /// Its service.
    pub service_code: String,
    /// What the citizen wrote.
    pub description: String,
    /// Where it is.
    pub phase: Phase,
    /// POSTs that left (or may have).
    pub attempts: u32,
    /// When the next step is due (milliseconds).
    pub next_at: i64,
    /// Why it needs the user (in `NeedsUser` only).
    pub attention: Option<curbside_types::report::Attention>,
    /// The city's request id, once known.
    pub request_id: Option<String>,
    /// The city's notice on accepting it.
    pub service_notice: Option<String>,
    /// Why the last step failed.
    pub last_error: Option<LastError>,
    /// The city's status.
    pub status: Option<String>,
    /// The city's notes on its status.
    pub status_notes: Option<String>,
    /// Grows with every update.
    pub version: i64,
    /// When it was submitted (milliseconds).
    pub created_at: i64,
    /// When it last changed (milliseconds).
    pub updated_at: i64,
}

/// Reports newest first, `limit` of them after skipping `offset`, read by the
/// `reports_by_created` index from columns only.
pub fn page(conn: &Connection, limit: u32, offset: u32) -> Result<Vec<Listed>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, server_id, service_code, description, phase, resume, attempts, next_attempt_at,
                attention, request_id, service_notice, last_error, status, status_notes, version,
                created_at, updated_at
         FROM reports ORDER BY created_at DESC, rowid DESC LIMIT ?1 OFFSET ?2",
    )?;
    let rows = stmt.query_map(params![limit, offset], |r| {
        let id: String = r.get(0)?;
        let (phase, resume): (String, Option<String>) = (r.get(4)?, r.get(5)?);
        let attention: Option<String> = r.get(8)?;
        Ok((|| {
            Ok(Listed {
                id: ReportId::parse(&id).map_err(|_| Error::CorruptData("report id".into()))?,
                server_id: r.get(1)?,
                service_code: r.get(2)?,
                description: r.get(3)?,
                phase: Phase::from_columns(&phase, resume.as_deref())
                    .ok_or_else(|| Error::CorruptData(format!("report phase {phase}")))?,
                attempts: r.get(6)?,
                next_at: r.get(7)?,
                attention: attention
                    .map(|a| serde_json::from_str(&a))
                    .transpose()
                    .map_err(|_| Error::CorruptData("report attention".into()))?,
                request_id: r.get(9)?,
                service_notice: r.get(10)?,
                last_error: r.get::<_, Option<String>>(11)?.map(LastError::from_column),
                status: r.get(12)?,
                status_notes: r.get(13)?,
                version: r.get(14)?,
                created_at: r.get(15)?,
                updated_at: r.get(16)?,
            })
        })())
    })?;
    rows.map(|r| r?).collect()
}

/// How many reports there are.
pub fn count(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row("SELECT count(*) FROM reports", [], |r| r.get(0))?)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serializable")
}

/// Inserts a newly submitted report.
pub fn insert(conn: &Connection, row: &Row) -> Result<()> {
    let p = &row.progress;
    let (phase, resume) = p.phase.columns();
    conn.execute(
        &format!("INSERT INTO reports ({COLUMNS}, service_code, description) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31)"),
        params![
            row.id.to_string(), row.server_id, json(&row.payload), row.fields.json(), phase, resume,
            p.said_duplicate, p.attempts, p.checks, p.server_failures, json(&p.server_messages), p.next_at,
            p.attempt_started_at, row.token, row.request_id, row.service_notice, p.attention.as_ref().map(json),
            row.last_error.as_ref().map(LastError::to_column), row.status, row.status_notes, row.status_updated_at, row.version, row.created_at,
            row.updated_at, p.not_found, p.unanswered, p.post_deadline, row.late_request_id,
            p.searched_at, row.payload.service_code, row.payload.description.as_deref().unwrap_or_default(),
        ],
    )?;
    Ok(())
}

/// Writes every changeable column of `row`, stamping `updated_at` and growing `version`, if
/// the stored report is still the version `row` was read at. False (nothing written) when it
/// changed meanwhile: a result worked out from the old version no longer applies.
#[must_use = "a report that changed meanwhile is not written"]
pub fn update(conn: &Connection, row: &mut Row) -> Result<bool> {
    let read_at = row.version;
    let p = &row.progress;
    let (phase, resume) = p.phase.columns();
    let now = now_ms();
    let written = conn
        .prepare_cached(
            "UPDATE reports SET phase = ?2, resume = ?3, said_duplicate = ?4, attempts = ?5, checks = ?6,
                 server_failures = ?7, server_messages = ?8, next_attempt_at = ?9, attempt_started_at = ?10,
                 token = ?11, request_id = ?12, service_notice = ?13, attention = ?14, last_error = ?15,
                 status = ?16, status_notes = ?17, status_updated_at = ?18, version = ?19 + 1, updated_at = ?20,
                 not_found = ?21, unanswered = ?22, post_deadline = ?23, late_request_id = ?24,
                 searched_at = ?25
             WHERE id = ?1 AND version = ?19",
        )?
        .execute(params![
            row.id.to_string(), phase, resume, p.said_duplicate, p.attempts, p.checks, p.server_failures,
            json(&p.server_messages), p.next_at, p.attempt_started_at, row.token, row.request_id,
            row.service_notice, p.attention.as_ref().map(json), row.last_error.as_ref().map(LastError::to_column), row.status, row.status_notes,
            row.status_updated_at, read_at, now, p.not_found, p.unanswered, p.post_deadline,
            row.late_request_id, p.searched_at,
        ])?;
    if written == 1 {
        row.version = read_at + 1;
        row.updated_at = now;
    }
    Ok(written == 1)
}

/// Rewrites a report's frozen content (what is sent, and the draft it came from): only to
/// remove personal data from a finished report.
pub fn rewrite_content(conn: &Connection, row: &Row) -> Result<()> {
    conn.prepare_cached("UPDATE reports SET payload = ?2, fields = ?3 WHERE id = ?1")?
        .execute(params![
            row.id.to_string(),
            json(&row.payload),
            row.fields.json()
        ])?;
    Ok(())
}

/// Keeps an id the city gave to an attempt whose result no longer applies (its sender lost
/// the lease, and the report moved on meanwhile): evidence that the report arrived. The
/// first such id is kept, and none that the report already holds; true when it was kept.
/// The report's version stays: a step under way still writes its own result.
pub fn record_late_answer(conn: &Connection, id: &ReportId, request_id: &str) -> Result<bool> {
    let written = conn
        .prepare_cached(
            "UPDATE reports SET late_request_id = ?2
             WHERE id = ?1 AND late_request_id IS NULL AND COALESCE(request_id, '') != ?2",
        )?
        .execute(params![id.to_string(), request_id])?;
    Ok(written == 1)
}

/// Removes a report (it went back to being a draft).
pub fn delete(conn: &Connection, id: &ReportId) -> Result<()> {
    conn.execute("DELETE FROM reports WHERE id = ?1", [id.to_string()])?;
    Ok(())
}

/// One report by id.
pub fn get(conn: &Connection, id: &ReportId) -> Result<Option<Row>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM reports WHERE id = ?1"))?
        .query_row([id.to_string()], |r| Ok(from_row(r)))
        .optional()?
        .transpose()
}

/// Phases after which nothing more is sent (`Phase::Sent`, `Phase::Cancelled`), as SQL.
const FINISHED: &str = "phase IN ('sent', 'cancelled')";

/// Removes finished reports (sent or cancelled) that last changed before `before`
/// (milliseconds), and all but the newest `keep` of the others; their history goes with
/// them. How many went.
pub fn prune_finished(conn: &Connection, before: i64, keep: u32) -> Result<usize> {
    Ok(conn.execute(
        &format!(
            "DELETE FROM reports WHERE {FINISHED} AND (updated_at < ?1 OR id NOT IN
               (SELECT id FROM reports WHERE {FINISHED} ORDER BY updated_at DESC, rowid DESC LIMIT ?2))"
        ),
        params![before, keep],
    )?)
}

/// Keeps the newest `keep` history entries of each report. How many went.
pub fn trim_history(conn: &Connection, keep: u32) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM report_history WHERE rowid IN (SELECT rowid FROM
           (SELECT rowid, ROW_NUMBER() OVER (PARTITION BY report_id ORDER BY at DESC, rowid DESC) AS n
              FROM report_history) WHERE n > ?1)",
        [keep],
    )?)
}

/// The photo files of finished reports (`finished`), or of those that may still send them.
pub fn media(conn: &Connection, finished: bool) -> Result<Vec<std::path::PathBuf>> {
    let which = if finished { "" } else { "NOT" };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT payload FROM reports WHERE {which} {FINISHED}"
    ))?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut paths = Vec::new();
    for payload in rows {
        let payload: NewRequest = serde_json::from_str(&payload?)
            .map_err(|_| Error::CorruptData("report payload".into()))?;
        paths.extend(payload.media.into_iter().map(|m| m.path));
    }
    Ok(paths)
}

/// A report the outbox can read, as SQL: a known phase, and what is sent and the draft it
/// came from as JSON. A row SQLite reads whole that fails this is damage inside the row.
pub(crate) const READABLE: &str = "phase IN ('queued', 'in_flight', 'checking', 'waiting_for_id',
    'waiting_for_network', 'sent', 'needs_user', 'cancelled')
    AND json_valid(payload) AND json_valid(fields)";

/// Phases in which a report falls due (`Phase::is_active`), as SQL.
const ACTIVE: &str = "phase IN ('queued', 'checking', 'waiting_for_id')";

/// The reports whose next step is due by `now` (active, their server not paused), first due
/// first, at most `limit`.
pub fn due(conn: &Connection, now: i64, limit: usize) -> Result<Vec<Row>> {
    // Chosen and sorted by their keys alone, then read whole: the sort never carries every
    // due report's content.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM reports WHERE rowid IN
           (SELECT rowid FROM reports WHERE {ACTIVE} AND next_attempt_at <= ?1
              AND server_id NOT IN (SELECT id FROM servers WHERE paused_reason IS NOT NULL)
            ORDER BY next_attempt_at, created_at LIMIT ?2)
         ORDER BY next_attempt_at, created_at"
    ))?;
    let rows = stmt.query_map(params![now, limit as i64], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// Whether a run has anything to do: a step due by `now` (its server not paused), or a report
/// left in flight by a run that was cut off.
pub fn has_work(conn: &Connection, now: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM reports WHERE phase = 'in_flight')
                 OR EXISTS (SELECT 1 FROM reports WHERE {ACTIVE} AND next_attempt_at <= ?1
                   AND server_id NOT IN (SELECT id FROM servers WHERE paused_reason IS NOT NULL))"
        ))?
        .query_row([now], |r| r.get(0))?)
}

/// When the next active step falls due, if any (servers not paused).
pub fn next_due_at(conn: &Connection) -> Result<Option<i64>> {
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
pub fn waiting(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM reports WHERE phase NOT IN ('sent', 'needs_user', 'cancelled')",
        [],
        |r| r.get(0),
    )?)
}

/// The city's ids held by every report but `id` (a search must never take one of them).
pub fn request_ids_except(
    conn: &Connection,
    id: &ReportId,
) -> Result<std::collections::HashSet<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT request_id FROM reports WHERE request_id IS NOT NULL AND id != ?1",
    )?;
    let ids = stmt.query_map([id.to_string()], |r| r.get::<_, String>(0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

/// The city's ids of `server`'s reports of `service_code` known sent since `since`
/// (milliseconds), each with the time its row last changed (the id was known by then): a
/// complete list that lacks one shows how far the server's search lags.
pub fn sent_since(
    conn: &Connection,
    server: &str,
    service_code: &str,
    since: i64,
) -> Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT request_id, updated_at FROM reports WHERE server_id = ?1 AND service_code = ?2
           AND phase = 'sent' AND request_id IS NOT NULL AND updated_at >= ?3",
    )?;
    let rows = stmt.query_map(params![server, service_code, since], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Reports in `phase` (all servers, or one), oldest first.
pub fn in_phase(conn: &Connection, phase: &str, server: Option<&str>) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM reports WHERE phase = ?1 AND (?2 IS NULL OR server_id = ?2)
         ORDER BY created_at"
    ))?;
    let rows = stmt.query_map(params![phase, server], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// Sent reports with a city id whose status is due to be asked for at `now`, per server:
/// every one not closed, and a closed one for `follow_closed_ms` after it was first seen
/// closed (a city may reopen it), less and less often: when the time since it was last
/// asked for is at least a quarter of the time since it closed.
pub fn tracked(conn: &Connection, now: i64, follow_closed_ms: i64) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM reports WHERE phase = 'sent' AND request_id IS NOT NULL
           AND (COALESCE(status, '') != 'closed' OR closed_seen_at IS NULL
                OR (?1 - closed_seen_at < ?2
                    AND 4 * (?1 - COALESCE(status_looked_at, 0)) >= ?1 - closed_seen_at))
           ORDER BY server_id, created_at"
    ))?;
    let rows = stmt.query_map(params![now, follow_closed_ms], |r| Ok(from_row(r)))?;
    rows.map(|r| r?).collect()
}

/// Records that a report's status was asked for at `now`, and whether the city has it
/// closed; true when it is seen closed for the first time (from then on it is followed for
/// a while only).
pub fn mark_looked(conn: &Connection, id: &ReportId, now: i64, closed: bool) -> Result<bool> {
    let before: Option<i64> = conn
        .prepare_cached("SELECT closed_seen_at FROM reports WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))?;
    let closed_seen_at = match closed {
        true => Some(before.unwrap_or(now)),
        false => None,
    };
    conn.prepare_cached(
        "UPDATE reports SET status_looked_at = ?2, closed_seen_at = ?3 WHERE id = ?1",
    )?
    .execute(params![id.to_string(), now, closed_seen_at])?;
    Ok(closed && before.is_none())
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
        fields: FrozenFields::Stored(text(3)?),
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
            post_deadline: r.get(26)?,
            not_found: r.get(24)?,
            searched_at: r.get(28)?,
            unanswered: r.get(25)?,
            attention: attention
                .map(|a| serde_json::from_str(&a))
                .transpose()
                .map_err(|_| corrupt("attention"))?,
        },
        token: r.get(13)?,
        request_id: r.get(14)?,
        late_request_id: r.get(27)?,
        service_notice: r.get(15)?,
        last_error: r.get::<_, Option<String>>(17)?.map(LastError::from_column),
        status: r.get(18)?,
        status_notes: r.get(19)?,
        status_updated_at: r.get(20)?,
        version: r.get(21)?,
        created_at: r.get(22)?,
        updated_at: r.get(23)?,
    })
}

/// Adds an entry to a report's history: its code in `kind`, its arguments as JSON in `args`.
pub fn add_history(conn: &Connection, id: &ReportId, event: &HistoryEvent) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO report_history (report_id, at, kind, summary, args) VALUES (?1, ?2, ?3, '', ?4)",
    )?
    .execute(params![
            id.to_string(),
            now_ms(),
            event.code(),
            serde_json::to_string(event).expect("serializable")
        ])?;
    Ok(())
}

/// A report's history, oldest first. Entries written before version 4 (no `args`) come back
/// as [`HistoryEvent::Legacy`] with their English text.
pub fn history(conn: &Connection, id: &ReportId) -> Result<Vec<HistoryEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, kind, summary, args FROM report_history WHERE report_id = ?1 ORDER BY at, rowid",
    )?;
    let rows = stmt.query_map([id.to_string()], |r| {
        let (code, text, args): (String, String, Option<String>) =
            (r.get(1)?, r.get(2)?, r.get(3)?);
        let event = args
            .and_then(|args| serde_json::from_str(&args).ok())
            .unwrap_or(HistoryEvent::Legacy { code, text });
        Ok(HistoryEntry {
            at: time(r.get(0)?),
            event,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
