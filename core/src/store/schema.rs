//! The database schema as code: the current schema for new files, and one upgrade step per
//! older version. The version lives in `PRAGMA user_version`.
//!
//! To change the schema: bump [`VERSION`], edit [`CREATE`] to the new full schema, add the
//! step from the previous version in [`upgrade_from`], and add the previous full schema to
//! `tests::HISTORY` so the upgrade test checks the new path.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::{Error, Result};

/// The schema version this build writes.
pub(crate) const VERSION: u32 = 1;

/// The full current schema, applied to a new database.
const CREATE: &str = "
CREATE TABLE drafts (
    id              TEXT PRIMARY KEY NOT NULL,
    service_code    TEXT,
    description     TEXT NOT NULL,
    latitude        REAL,
    longitude       REAL,
    accuracy_m      REAL,
    location_source TEXT,
    location_time   INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK ((latitude IS NULL) = (longitude IS NULL)),
    CHECK ((latitude IS NULL) = (location_source IS NULL)),
    CHECK ((latitude IS NULL) = (location_time IS NULL))
) STRICT;
CREATE INDEX drafts_by_created ON drafts (created_at DESC);
";

/// Brings a database at `version` to `version + 1`.
fn upgrade_from(_tx: &Transaction<'_>, version: u32) -> Result<()> {
    // One step per released version, as `match version { 1 => tx.execute_batch("…"), … }`;
    // version 1 is the first, so there is nothing to upgrade from yet.
    Err(Error::CorruptData(format!(
        "no upgrade from schema version {version}"
    )))
}

/// Creates or upgrades the schema in one IMMEDIATE transaction: either all steps apply or none.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: u32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: VERSION,
        });
    }
    if found == 0 {
        tx.execute_batch(CREATE)?;
    } else {
        for version in found..VERSION {
            upgrade_from(&tx, version)?;
        }
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full schema of every earlier version, oldest first: `HISTORY[i]` is version `i + 1`.
    const HISTORY: &[&str] = &[];

    /// Everything that defines the schema, in a comparable form.
    fn schema_of(conn: &Connection) -> Vec<(String, String, String)> {
        let mut stmt = conn
            .prepare(
                "SELECT type, name, COALESCE(sql, '') FROM sqlite_schema
                 WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
            )
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        rows.map(|r| r.unwrap()).collect()
    }

    fn fresh() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn every_earlier_version_has_a_recorded_schema() {
        assert_eq!(
            HISTORY.len() as u32,
            VERSION - 1,
            "bumping VERSION needs the previous full schema in HISTORY"
        );
    }

    #[test]
    fn every_upgrade_path_equals_a_fresh_schema() {
        let expected = schema_of(&fresh());
        for (index, old_schema) in HISTORY.iter().enumerate() {
            let old_version = index as u32 + 1;
            let mut conn = Connection::open_in_memory().unwrap();
            conn.execute_batch(old_schema).unwrap();
            conn.pragma_update(None, "user_version", old_version)
                .unwrap();
            migrate(&mut conn).unwrap();
            assert_eq!(schema_of(&conn), expected, "upgrade from v{old_version}");
        }
    }

    #[test]
    fn fresh_database_is_stamped_and_migrating_again_changes_nothing() {
        let mut conn = fresh();
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, VERSION);
        let before = schema_of(&conn);
        migrate(&mut conn).unwrap();
        assert_eq!(schema_of(&conn), before);
    }

    #[test]
    fn refuses_a_database_from_a_newer_build() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(Error::SchemaTooNew { found, supported }) if found == VERSION + 1 && supported == VERSION
        ));
    }
}
