//! The `profiles` table: each loaded city profile, as the JSON document it was parsed into.

use rusqlite::Connection;

use curbside_types::Result;

/// Stores (or replaces) a profile's document under its id.
pub fn put(conn: &Connection, id: &str, document: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO profiles (id, profile) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET profile = excluded.profile",
        (id, document),
    )?;
    Ok(())
}

/// Every stored profile document, by id.
pub fn all(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT profile FROM profiles ORDER BY id")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
