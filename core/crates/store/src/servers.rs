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

/// Pauses a server: nothing is sent to it until its settings change.
pub fn pause(conn: &Connection, id: &str, reason: &str) -> Result<()> {
    conn.execute(
        "UPDATE servers SET paused_reason = ?2 WHERE id = ?1",
        params![id, reason],
    )?;
    Ok(())
}
