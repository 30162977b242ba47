//! The `catalog` table: service lists and definitions cached per server, as JSON, with when
//! each was fetched (or last found unchanged).

use rusqlite::{Connection, OptionalExtension};

use curbside_types::Result;

/// A cached entry's body and when it was fetched (milliseconds).
pub fn get(conn: &Connection, server_id: &str, key: &str) -> Result<Option<(String, i64)>> {
    Ok(conn
        .query_row(
            "SELECT body, fetched_at FROM catalog WHERE server_id = ?1 AND key = ?2",
            (server_id, key),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Stores (or replaces) an entry fetched at `at`.
pub fn put(conn: &Connection, server_id: &str, key: &str, body: &str, at: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO catalog (server_id, key, body, fetched_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (server_id, key) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at",
        (server_id, key, body, at),
    )?;
    Ok(())
}

/// Forgets an entry.
pub fn remove(conn: &Connection, server_id: &str, key: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM catalog WHERE server_id = ?1 AND key = ?2",
        (server_id, key),
    )?;
    Ok(())
}

/// Marks an entry as checked at `at` (its body is still current).
pub fn touch(conn: &Connection, server_id: &str, key: &str, at: i64) -> Result<()> {
    conn.execute(
        "UPDATE catalog SET fetched_at = ?3 WHERE server_id = ?1 AND key = ?2",
        (server_id, key, at),
    )?;
    Ok(())
}
