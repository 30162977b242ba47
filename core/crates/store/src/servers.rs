//! The `servers` table: each server's settings and the pause a refused key puts on it.
//!
//! The api_key is never stored: only its fingerprint, so that a changed key (given at the
//! next open) still counts as changed settings and lifts the pause.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use curbside_open311::ServerConfig;
use curbside_types::{Error, Result};

/// A server's settings as stored: without the key, with its fingerprint.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    config: ServerConfig,
    #[serde(default)]
    key_fingerprint: Option<String>,
}

impl Stored {
    fn of(id: &str, config: &ServerConfig) -> Self {
        let mut config = config.clone();
        let key_fingerprint = config.api_key.take().map(|k| k.fingerprint(id));
        Stored {
            config,
            key_fingerprint,
        }
    }
}

/// Adds or replaces a server's settings (its key only as a fingerprint). A change, the key's
/// included, lifts a pause; the same settings again change nothing (apps and the CLI apply
/// them at every start). True when they changed.
pub fn put(conn: &Connection, id: &str, config: &ServerConfig) -> Result<bool> {
    let stored = Stored::of(id, config);
    if read(conn, id)?.is_some_and(|(old, _)| old == stored) {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO servers (id, config, paused_reason) VALUES (?1, ?2, NULL)
         ON CONFLICT (id) DO UPDATE SET config = excluded.config, paused_reason = NULL",
        params![id, serde_json::to_string(&stored).expect("serializable")],
    )?;
    Ok(true)
}

/// A server's settings (without a key: keys live in memory only) and why it is paused, if it
/// is.
pub fn get(conn: &Connection, id: &str) -> Result<Option<(ServerConfig, Option<String>)>> {
    Ok(read(conn, id)?.map(|(stored, paused)| (stored.config, paused)))
}

fn read(conn: &Connection, id: &str) -> Result<Option<(Stored, Option<String>)>> {
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

/// What the outbox learnt of a server from its answers, kept beside its settings (never part
/// of them: learning is not a change of settings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Learnt {
    /// The server's clock minus the device's (milliseconds), from its `Date` headers.
    #[serde(default)]
    pub clock_offset_ms: Option<i64>,
    /// The longest delay seen between a POST arriving and its request being listed
    /// (milliseconds): a search index or a replica that lags.
    #[serde(default)]
    pub search_lag_ms: i64,
    /// When its date filters contradicted its own rows (a filter applied backwards, times in
    /// another zone): searched without dates since.
    #[serde(default)]
    pub dates_unreliable_since: Option<i64>,
    /// Parameters beyond the spec the server refused by name or ignored (`page`, `bbox`,
    /// `extensions`, ...), each with when it was learnt: not sent again until re-tested.
    #[serde(default)]
    pub refused: std::collections::BTreeMap<String, i64>,
    /// When its lists last contradicted their filters beyond dates (rows of other services,
    /// statuses or places): its answers are filtered on the device.
    #[serde(default)]
    pub filters_ignored_since: Option<i64>,
}

/// How long a learnt quirk is trusted before the server is tried again the spec's way (or
/// with the parameter it refused): servers get upgraded.
pub const RETEST_AFTER_MS: i64 = 7 * 86_400_000;

impl Learnt {
    /// Whether the server's date filters are still taken as unreliable at `now`.
    pub fn dates_unreliable(&self, now: i64) -> bool {
        self.dates_unreliable_since
            .is_some_and(|since| now - since < RETEST_AFTER_MS)
    }

    /// The parameters still taken as refused at `now`.
    pub fn refused_params(&self, now: i64) -> Vec<&str> {
        self.refused
            .iter()
            .filter(|(_, at)| now - **at < RETEST_AFTER_MS)
            .map(|(p, _)| p.as_str())
            .collect()
    }

    /// Records parameters refused (again) at `now`; true when something new was learnt.
    pub fn refuse(&mut self, params: &[String], now: i64) -> bool {
        let mut changed = false;
        for p in params {
            let fresh = self
                .refused
                .get(p)
                .is_some_and(|at| now - *at < RETEST_AFTER_MS);
            if !fresh {
                self.refused.insert(p.clone(), now);
                changed = true;
            }
        }
        changed
    }

    /// Each quirk learnt, as `(what, since when)`, for `status` and `check`.
    pub fn quirks(&self) -> Vec<(String, i64)> {
        let mut quirks: Vec<(String, i64)> = self
            .refused
            .iter()
            .map(|(p, at)| (format!("refuses or ignores `{p}`"), *at))
            .collect();
        if let Some(at) = self.dates_unreliable_since {
            quirks.push(("date filters unreliable: searched without dates".into(), at));
        }
        if let Some(at) = self.filters_ignored_since {
            quirks.push(("ignores filters: lists filtered on the device".into(), at));
        }
        if self.search_lag_ms > 0 {
            quirks.push((
                format!("lists lag POSTs by {} s", (self.search_lag_ms + 999) / 1000),
                0,
            ));
        }
        if let Some(offset) = self.clock_offset_ms.filter(|o| o.abs() >= 60_000) {
            quirks.push((format!("clock off by {} s", offset / 1000), 0));
        }
        quirks
    }
}

/// Records, for server `id`, the parameters its client saw refused or ignored (`now` in
/// milliseconds); nothing is written unless something new was learnt.
pub fn remember_refused(conn: &Connection, id: &str, params: &[String], now: i64) -> Result<()> {
    if params.is_empty() {
        return Ok(());
    }
    let mut known = learnt(conn, id)?;
    if known.refuse(params, now) {
        set_learnt(conn, id, &known)?;
    }
    Ok(())
}

/// What was learnt of a server (nothing yet for an unknown one).
pub fn learnt(conn: &Connection, id: &str) -> Result<Learnt> {
    let json: Option<String> = conn
        .prepare_cached("SELECT learnt FROM servers WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    // Learnt facts are a cache of evidence: unreadable ones are learnt again.
    Ok(json
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default())
}

/// What was learnt of every server, by id.
pub fn all_learnt(conn: &Connection) -> Result<Vec<(String, Learnt)>> {
    let mut stmt = conn.prepare("SELECT id, learnt FROM servers ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
    })?;
    rows.map(|row| {
        let (id, json) = row?;
        let learnt = json
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
        Ok((id, learnt))
    })
    .collect()
}

/// Keeps what was learnt of a server.
pub fn set_learnt(conn: &Connection, id: &str, learnt: &Learnt) -> Result<()> {
    conn.prepare_cached("UPDATE servers SET learnt = ?2 WHERE id = ?1")?
        .execute(params![
            id,
            serde_json::to_string(learnt).expect("serializable")
        ])?;
    Ok(())
}

/// Pauses a server: nothing is sent to it until its settings change.
pub fn pause(conn: &Connection, id: &str, reason: &str) -> Result<()> {
    conn.execute(
        "UPDATE servers SET paused_reason = ?2 WHERE id = ?1",
        params![id, reason],
    )?;
    Ok(())
}
