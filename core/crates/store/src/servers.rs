//! The `servers` table: each server's settings and the pause a refused key puts on it.

use rusqlite::{params, Connection, OptionalExtension};

use curbside_open311::ServerConfig;
use curbside_types::{Error, Result};

/// Adds or replaces a server's settings. A change lifts a pause; the same settings again
/// change nothing (apps and the CLI apply them at every start). True when they changed.
pub fn put(conn: &Connection, id: &str, config: &ServerConfig) -> Result<bool> {
    if get(conn, id)?.is_some_and(|(stored, _)| stored == *config) {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO servers (id, config, paused_reason) VALUES (?1, ?2, NULL)
         ON CONFLICT (id) DO UPDATE SET config = excluded.config, paused_reason = NULL",
        params![id, serde_json::to_string(config).expect("serializable")],
    )?;
    Ok(true)
}

/// A server's settings and why it is paused, if it is.
pub fn get(conn: &Connection, id: &str) -> Result<Option<(ServerConfig, Option<String>)>> {
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
