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

/// Every cached request of a server.
pub fn list(conn: &Connection, server_id: &str) -> Result<Vec<ServiceRequest>> {
    let mut stmt = conn.prepare_cached("SELECT body FROM requests_cache WHERE server_id = ?1")?;
    let rows = stmt.query_map([server_id], |r| r.get::<_, String>(0))?;
    rows.map(|b| serde_json::from_str(&b?).map_err(|_| Error::CorruptData("cached request".into())))
        .collect()
}
