//! The `requests_cache` table: other people's requests fetched from a server (open data), kept
//! for offline maps and "already reported?" suggestions.

use rusqlite::Connection;

use curbside_open311::ServiceRequest;
use curbside_types::{Error, Result};

/// Stores (or refreshes) fetched requests; those without an id cannot be told apart and are
/// left out.
pub fn put(conn: &Connection, server_id: &str, requests: &[ServiceRequest], at: i64) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO requests_cache (server_id, request_id, body, latitude, longitude, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (server_id, request_id) DO UPDATE SET body = excluded.body,
           latitude = excluded.latitude, longitude = excluded.longitude, fetched_at = excluded.fetched_at",
    )?;
    for r in requests {
        let Some(id) = &r.id else { continue };
        let body = serde_json::to_string(r).expect("serializable");
        stmt.execute((server_id, id, body, r.lat, r.long, at))?;
    }
    Ok(())
}

/// The cached requests of a server inside a box (degrees), read through the position index:
/// only what is near is decoded, however large the cache.
pub fn in_box(
    conn: &Connection,
    server_id: &str,
    south: f64,
    west: f64,
    north: f64,
    east: f64,
) -> Result<Vec<ServiceRequest>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM requests_cache WHERE server_id = ?1
           AND latitude BETWEEN ?2 AND ?3 AND longitude BETWEEN ?4 AND ?5",
    )?;
    let rows = stmt.query_map((server_id, south, north, west, east), |r| {
        r.get::<_, String>(0)
    })?;
    rows.map(|b| serde_json::from_str(&b?).map_err(|_| Error::CorruptData("cached request".into())))
        .collect()
}

/// When the server's requests were last fetched (milliseconds), if ever.
pub fn last_fetched(conn: &Connection, server_id: &str) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT MAX(fetched_at) FROM requests_cache WHERE server_id = ?1",
        [server_id],
        |r| r.get(0),
    )?)
}

/// Forgets a server's requests fetched before `before` (milliseconds): open data goes stale,
/// and a city's history is not this device's to keep. How many went.
pub fn prune(conn: &Connection, server_id: &str, before: i64) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM requests_cache WHERE server_id = ?1 AND fetched_at < ?2",
        (server_id, before),
    )?)
}

/// Forgets every cached request of every server; how many.
pub fn clear(conn: &Connection) -> Result<usize> {
    Ok(conn.execute("DELETE FROM requests_cache", [])?)
}
