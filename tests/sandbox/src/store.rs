//! The sandbox's SQLite storage: service requests, their history and uploaded media.

use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::{json, Value};

/// A request as the sandbox stored it; also what tests inspect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRequest {
    /// The id given (also before its token is resolved).
    pub id: String,
    /// The token, for batch services.
    pub token: Option<String>,
    /// Polls of the token so far.
    pub token_polls: u32,
    /// The service.
    pub service_code: String,
    /// `open` or `closed`.
    pub status: String,
    /// The city's notes on the status.
    pub status_notes: Option<String>,
    /// Every form field received, in order (attributes, contact, location...), api_key removed.
    pub fields: Vec<(String, String)>,
    /// Media URLs: given ones and those of uploaded files.
    pub media_urls: Vec<String>,
    /// When it was received.
    pub requested_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// History: `(time, type, summary)`.
    pub notes: Vec<(DateTime<Utc>, String, String)>,
}

impl StoredRequest {
    /// The first value of form field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of form field `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The request as GeoReport v2 JSON; the id is withheld while its token is pending.
    /// The answers to the service's questions are listed as `attributes` (`{code, value}`).
    pub(crate) fn to_json(&self, service_name: &str, extensions: bool, view: &View) -> Value {
        let f = |k: &str| self.field(k).unwrap_or("");
        let status = match (view.status_ids, self.status.as_str()) {
            (true, "open") => "3",
            (true, "closed") => "7",
            (_, other) => other,
        };
        let attributes: Vec<Value> = self
            .fields
            .iter()
            .filter_map(|(k, v)| {
                let code = k.strip_prefix("attribute[")?;
                let code = code
                    .strip_suffix("][]")
                    .or_else(|| code.strip_suffix(']'))?;
                Some(json!({"code": code, "value": v}))
            })
            .collect();
        let mut v = json!({
            "service_request_id": if self.token_pending() { Value::Null } else { json!(self.id) },
            "status": status,
            "status_notes": self.status_notes.clone().unwrap_or_default(),
            "service_name": service_name,
            "service_code": self.service_code,
            "description": f("description"),
            "agency_responsible": "Sandbox Public Works",
            "service_notice": "",
            "requested_datetime": time(self.requested_at + view.label_shift),
            "updated_datetime": time(self.updated_at + view.label_shift),
            "expected_datetime": "",
            "address": f("address_string"),
            "address_id": f("address_id"),
            "zipcode": "",
            "lat": self.field("lat").and_then(|l| l.parse::<f64>().ok()),
            "long": self.field("long").and_then(|l| l.parse::<f64>().ok()),
            "media_url": self.media_urls.first().cloned().unwrap_or_default(),
            "attributes": attributes,
        });
        if view.no_positions {
            for key in ["lat", "long", "address", "address_id"] {
                v.as_object_mut().unwrap().remove(key);
            }
        }
        if let Some(token) = &self.token {
            v["token"] = json!(token);
        }
        if extensions {
            v["notes"] = self
                .notes
                .iter()
                .map(|(at, kind, summary)| json!({"datetime": time(*at), "type": kind, "summary": summary}))
                .collect();
            v["extended_attributes"] = json!({"media_urls": self.media_urls});
        }
        v
    }

    /// True while a batch request's id is not yet revealed.
    pub(crate) fn token_pending(&self) -> bool {
        self.token.is_some() && self.token_polls == 0
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// How requests are shown, by the modes in force.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct View {
    /// Statuses as the city's internal ids.
    pub(crate) status_ids: bool,
    /// No position or address.
    pub(crate) no_positions: bool,
    /// Added to every time shown (local time labelled `Z`).
    pub(crate) label_shift: chrono::Duration,
}

/// The storage.
pub(crate) struct Store {
    conn: Mutex<Connection>,
}

/// Filters of `GET requests`.
#[derive(Default)]
pub(crate) struct Filter {
    pub(crate) ids: Vec<String>,
    pub(crate) service_codes: Vec<String>,
    pub(crate) statuses: Vec<String>,
    pub(crate) start: Option<DateTime<Utc>>,
    pub(crate) end: Option<DateTime<Utc>>,
}

impl Store {
    pub(crate) fn open(path: Option<&Path>) -> rusqlite::Result<Store> {
        let conn = match path {
            Some(p) => Connection::open(p)?,
            None => Connection::open_in_memory()?,
        };
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS requests (
                 id INTEGER PRIMARY KEY, token TEXT UNIQUE, token_polls INTEGER NOT NULL DEFAULT 0,
                 service_code TEXT NOT NULL, status TEXT NOT NULL, status_notes TEXT,
                 fields TEXT NOT NULL, media_urls TEXT NOT NULL, notes TEXT NOT NULL,
                 requested_at TEXT NOT NULL, updated_at TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS media (
                 id INTEGER PRIMARY KEY, content_type TEXT NOT NULL, bytes BLOB NOT NULL);",
        )?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    /// Stores a request received at `now` (the server's clock); ids start at 1001 so they
    /// never look like list positions.
    pub(crate) fn insert_at(
        &self,
        service_code: &str,
        batch: bool,
        fields: Vec<(String, String)>,
        media_urls: Vec<String>,
        now: DateTime<Utc>,
    ) -> StoredRequest {
        let conn = self.conn.lock().unwrap();
        let notes = vec![(now, "opened".to_string(), "Request received".to_string())];
        conn.execute(
            "INSERT INTO requests (id, service_code, status, fields, media_urls, notes, requested_at, updated_at)
             VALUES ((SELECT COALESCE(MAX(id), 1000) + 1 FROM requests), ?1, 'open', ?2, ?3, ?4, ?5, ?5)",
            params![service_code, json!(fields).to_string(), json!(media_urls).to_string(), notes_json(&notes), now.to_rfc3339()],
        )
        .unwrap();
        let id = conn.last_insert_rowid();
        if batch {
            conn.execute(
                "UPDATE requests SET token = ?2 WHERE id = ?1",
                params![id, format!("tok-{id:x}-{}", now.timestamp_subsec_nanos())],
            )
            .unwrap();
        }
        get(&conn, "id = ?1", params![id]).unwrap()
    }

    pub(crate) fn get(&self, id: &str) -> Option<StoredRequest> {
        get(
            &self.conn.lock().unwrap(),
            "CAST(id AS TEXT) = ?1",
            params![id],
        )
    }

    /// Counts one poll of `token` and returns its request.
    pub(crate) fn poll_token(&self, token: &str) -> Option<StoredRequest> {
        let conn = self.conn.lock().unwrap();
        let before = get(&conn, "token = ?1", params![token])?;
        conn.execute(
            "UPDATE requests SET token_polls = token_polls + 1 WHERE token = ?1",
            params![token],
        )
        .unwrap();
        Some(before)
    }

    pub(crate) fn list(&self, filter: &Filter) -> Vec<StoredRequest> {
        let conn = self.conn.lock().unwrap();
        let mut stmt = conn.prepare("SELECT * FROM requests ORDER BY id").unwrap();
        let all: Vec<StoredRequest> = stmt
            .query_map([], from_row)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        all.into_iter()
            .filter(|r| {
                if !filter.ids.is_empty() {
                    return filter.ids.contains(&r.id); // overrides every other filter
                }
                (filter.service_codes.is_empty() || filter.service_codes.contains(&r.service_code))
                    && (filter.statuses.is_empty() || filter.statuses.contains(&r.status))
                    && filter.start.is_none_or(|s| r.requested_at >= s)
                    && filter.end.is_none_or(|e| r.requested_at <= e)
            })
            .collect()
    }

    /// Changes a request's status, as the city would, adding a note.
    pub(crate) fn set_status(&self, id: &str, status: &str, note: &str) -> Option<StoredRequest> {
        let conn = self.conn.lock().unwrap();
        let mut request = get(&conn, "CAST(id AS TEXT) = ?1", params![id])?;
        let now = Utc::now();
        request.notes.push((
            now,
            if status == "closed" {
                "closed"
            } else {
                "activity"
            }
            .into(),
            note.into(),
        ));
        conn.execute(
            "UPDATE requests SET status = ?2, status_notes = ?3, notes = ?4, updated_at = ?5 WHERE CAST(id AS TEXT) = ?1",
            params![id, status, note, notes_json(&request.notes), now.to_rfc3339()],
        )
        .unwrap();
        get(&conn, "CAST(id AS TEXT) = ?1", params![id])
    }

    pub(crate) fn add_media(&self, content_type: &str, bytes: &[u8]) -> i64 {
        let conn = self.conn.lock().unwrap();
        conn.execute(
            "INSERT INTO media (content_type, bytes) VALUES (?1, ?2)",
            params![content_type, bytes],
        )
        .unwrap();
        conn.last_insert_rowid()
    }

    pub(crate) fn media(&self, id: i64) -> Option<(String, Vec<u8>)> {
        let conn = self.conn.lock().unwrap();
        conn.query_row(
            "SELECT content_type, bytes FROM media WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .unwrap()
    }
}

fn notes_json(notes: &[(DateTime<Utc>, String, String)]) -> String {
    json!(notes
        .iter()
        .map(|(t, k, s)| (t.to_rfc3339(), k, s))
        .collect::<Vec<_>>())
    .to_string()
}

fn get(conn: &Connection, condition: &str, params: impl rusqlite::Params) -> Option<StoredRequest> {
    conn.query_row(
        &format!("SELECT * FROM requests WHERE {condition}"),
        params,
        from_row,
    )
    .optional()
    .unwrap()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<StoredRequest> {
    let text = |i: usize| -> rusqlite::Result<String> { row.get(i) };
    let parse_time = |s: String| {
        DateTime::parse_from_rfc3339(&s)
            .unwrap()
            .with_timezone(&Utc)
    };
    let notes: Vec<(String, String, String)> = serde_json::from_str(&text(8)?).unwrap();
    Ok(StoredRequest {
        id: row.get::<_, i64>(0)?.to_string(),
        token: row.get(1)?,
        token_polls: row.get(2)?,
        service_code: text(3)?,
        status: text(4)?,
        status_notes: row.get(5)?,
        fields: serde_json::from_str(&text(6)?).unwrap(),
        media_urls: serde_json::from_str(&text(7)?).unwrap(),
        notes: notes
            .into_iter()
            .map(|(t, k, s)| (parse_time(t), k, s))
            .collect(),
        requested_at: parse_time(text(9)?),
        updated_at: parse_time(text(10)?),
    })
}
