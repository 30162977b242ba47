//! The database schema as code: the current schema for new files, and one upgrade step per
//! older version. The version lives in `PRAGMA user_version`.
//!
//! To change the schema: bump [`VERSION`], edit [`CREATE`] / [`OUTBOX`] to the new full
//! schema, add the step from the previous version in [`upgrade_from`], and add the previous
//! full schema to `tests::history` so the upgrade test checks the new path.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use curbside_types::{Error, Result};

/// The schema version this build writes.
pub const VERSION: u32 = 7;

/// The full current schema, applied to a new database (with [`OUTBOX`]).
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
    details         TEXT NOT NULL DEFAULT '{}',
    CHECK ((latitude IS NULL) = (longitude IS NULL)),
    CHECK ((latitude IS NULL) = (location_source IS NULL)),
    CHECK ((latitude IS NULL) = (location_time IS NULL))
) STRICT;
CREATE INDEX drafts_by_created ON drafts (created_at DESC);
";

/// The outbox (servers, reports and their history, the sender lease), city profiles, the
/// offline service catalog and cached open requests, as they are now (version 3: one `phase`
/// per report; version 4: history as codes with arguments in `args`, no api_key stored;
/// version 5: the list's columns and index; version 6: evidence of delivery; version 7:
/// closed reports followed; the columns added later come last, where the
/// upgrades put them).
const OUTBOX: &str = "
CREATE TABLE servers (
    id            TEXT PRIMARY KEY NOT NULL,
    config        TEXT NOT NULL,
    paused_reason TEXT,
    learnt        TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE TABLE reports (
    id                 TEXT PRIMARY KEY NOT NULL,
    server_id          TEXT NOT NULL REFERENCES servers (id),
    payload            TEXT NOT NULL,
    fields             TEXT NOT NULL,
    said_duplicate     INTEGER NOT NULL DEFAULT 0,
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER NOT NULL,
    attempt_started_at INTEGER,
    token              TEXT,
    request_id         TEXT,
    service_notice     TEXT,
    attention          TEXT,
    last_error         TEXT,
    status             TEXT,
    status_notes       TEXT,
    status_updated_at  INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    phase              TEXT NOT NULL DEFAULT 'queued',
    resume             TEXT,
    checks             INTEGER NOT NULL DEFAULT 0,
    server_failures    INTEGER NOT NULL DEFAULT 0,
    server_messages    TEXT NOT NULL DEFAULT '[]',
    version            INTEGER NOT NULL DEFAULT 0,
    service_code       TEXT NOT NULL DEFAULT '',
    description        TEXT NOT NULL DEFAULT '',
    not_found          INTEGER NOT NULL DEFAULT 0,
    unanswered         INTEGER NOT NULL DEFAULT 0,
    post_deadline      INTEGER,
    late_request_id    TEXT,
    searched_at        INTEGER,
    closed_seen_at     INTEGER,
    status_looked_at   INTEGER
) STRICT;
CREATE INDEX reports_due ON reports (phase, next_attempt_at);
CREATE INDEX reports_by_server ON reports (server_id);
CREATE INDEX reports_by_created ON reports (created_at DESC);
CREATE TABLE report_history (
    report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    summary   TEXT NOT NULL,
    args      TEXT
) STRICT;
CREATE INDEX report_history_by_report ON report_history (report_id, at);
CREATE TABLE lease (
    name   TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    until  INTEGER NOT NULL
) STRICT;
CREATE TABLE profiles (
    id      TEXT PRIMARY KEY NOT NULL,
    profile TEXT NOT NULL
) STRICT;
CREATE TABLE catalog (
    server_id  TEXT NOT NULL,
    key        TEXT NOT NULL,
    body       TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (server_id, key)
) STRICT;
CREATE TABLE requests_cache (
    server_id  TEXT NOT NULL,
    request_id TEXT NOT NULL,
    body       TEXT NOT NULL,
    latitude   REAL,
    longitude  REAL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (server_id, request_id)
) STRICT;
CREATE INDEX requests_cache_position ON requests_cache (server_id, latitude, longitude);
";

/// Version 2 as it was: the outbox (servers, reports and their history, the sender lease),
/// city profiles, the offline service catalog and cached open requests. Applied by the
/// upgrade from version 1 only.
const OUTBOX_V2: &str = "
CREATE TABLE servers (
    id            TEXT PRIMARY KEY NOT NULL,
    config        TEXT NOT NULL,
    paused_reason TEXT
) STRICT;
CREATE TABLE reports (
    id                 TEXT PRIMARY KEY NOT NULL,
    server_id          TEXT NOT NULL REFERENCES servers (id),
    payload            TEXT NOT NULL,
    fields             TEXT NOT NULL,
    state              TEXT NOT NULL,
    step               TEXT NOT NULL,
    frozen             INTEGER NOT NULL DEFAULT 0,
    outcome_unknown    INTEGER NOT NULL DEFAULT 0,
    said_duplicate     INTEGER NOT NULL DEFAULT 0,
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER NOT NULL,
    attempt_started_at INTEGER,
    token              TEXT,
    request_id         TEXT,
    service_notice     TEXT,
    attention          TEXT,
    last_error         TEXT,
    status             TEXT,
    status_notes       TEXT,
    status_updated_at  INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX reports_due ON reports (state, next_attempt_at);
CREATE INDEX reports_by_server ON reports (server_id);
CREATE TABLE report_history (
    report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    summary   TEXT NOT NULL
) STRICT;
CREATE INDEX report_history_by_report ON report_history (report_id, at);
CREATE TABLE lease (
    name   TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    until  INTEGER NOT NULL
) STRICT;
CREATE TABLE profiles (
    id      TEXT PRIMARY KEY NOT NULL,
    profile TEXT NOT NULL
) STRICT;
CREATE TABLE catalog (
    server_id  TEXT NOT NULL,
    key        TEXT NOT NULL,
    body       TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (server_id, key)
) STRICT;
CREATE TABLE requests_cache (
    server_id  TEXT NOT NULL,
    request_id TEXT NOT NULL,
    body       TEXT NOT NULL,
    latitude   REAL,
    longitude  REAL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (server_id, request_id)
) STRICT;
CREATE INDEX requests_cache_position ON requests_cache (server_id, latitude, longitude);
";

/// Version 3: one persisted phase per report instead of six columns read in three places;
/// today's rows are mapped (a POST that may have left is checked before anything else).
const PHASES: &str = "
DROP INDEX reports_due;
ALTER TABLE reports ADD COLUMN phase TEXT NOT NULL DEFAULT 'queued';
ALTER TABLE reports ADD COLUMN resume TEXT;
ALTER TABLE reports ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN server_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN server_messages TEXT NOT NULL DEFAULT '[]';
ALTER TABLE reports ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
UPDATE reports SET phase = CASE
    WHEN state = 'sent' THEN 'sent'
    WHEN state = 'needs_attention' THEN 'needs_user'
    WHEN state = 'cancelled' THEN 'cancelled'
    WHEN step = 'resolve_token' THEN 'waiting_for_id'
    WHEN step = 'reconcile' OR outcome_unknown = 1 OR state = 'sending' THEN 'checking'
    ELSE 'queued' END;
ALTER TABLE reports DROP COLUMN state;
ALTER TABLE reports DROP COLUMN step;
ALTER TABLE reports DROP COLUMN frozen;
ALTER TABLE reports DROP COLUMN outcome_unknown;
CREATE INDEX reports_due ON reports (phase, next_attempt_at);
";

/// Version 4: history entries as codes with arguments (`args`, JSON; older entries keep their
/// English `summary`), and no api_key in the database: keys are given at every open.
const CODES_NO_KEYS: &str = "
ALTER TABLE report_history ADD COLUMN args TEXT;
UPDATE servers SET config = json_remove(config, '$.api_key');
UPDATE profiles SET profile = json_remove(profile, '$.server.api_key');
";

/// Version 5: what a list shows, in columns (no JSON decoded to list), and the list's order as
/// an index (no sort of every row at open).
const LIST_COLUMNS: &str = "
ALTER TABLE reports ADD COLUMN service_code TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN description TEXT NOT NULL DEFAULT '';
UPDATE reports SET service_code = coalesce(json_extract(payload, '$.service_code'), ''),
                   description = coalesce(json_extract(payload, '$.description'), '');
CREATE INDEX reports_by_created ON reports (created_at DESC);
";

/// Version 6: "not found" earned twice and re-posts bounded (`not_found`, `searched_at`,
/// `unanswered`), the
/// time after which no POST of a report can still arrive (`post_deadline`), an answer that
/// came to a sender which had lost its lease (`late_request_id`), and what the outbox learnt
/// of each server (`learnt`: its clock, its search lag, its date filters).
const EVIDENCE: &str = "
ALTER TABLE servers ADD COLUMN learnt TEXT NOT NULL DEFAULT '{}';
ALTER TABLE reports ADD COLUMN not_found INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN unanswered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN post_deadline INTEGER;
ALTER TABLE reports ADD COLUMN late_request_id TEXT;
ALTER TABLE reports ADD COLUMN searched_at INTEGER;
";

/// Version 7: closed reports still followed for a while (a city may reopen them): when the
/// device first saw one closed (`closed_seen_at`) and when its status was last asked for
/// (`status_looked_at`).
const FOLLOW_CLOSED: &str = "
ALTER TABLE reports ADD COLUMN closed_seen_at INTEGER;
ALTER TABLE reports ADD COLUMN status_looked_at INTEGER;
";

/// Brings a database at `version` to `version + 1`.
fn upgrade_from(tx: &Transaction<'_>, version: u32) -> Result<()> {
    match version {
        1 => {
            tx.execute_batch("ALTER TABLE drafts ADD COLUMN details TEXT NOT NULL DEFAULT '{}';")?;
            tx.execute_batch(OUTBOX_V2)?;
            Ok(())
        }
        2 => Ok(tx.execute_batch(PHASES)?),
        3 => Ok(tx.execute_batch(CODES_NO_KEYS)?),
        4 => Ok(tx.execute_batch(LIST_COLUMNS)?),
        5 => Ok(tx.execute_batch(EVIDENCE)?),
        6 => Ok(tx.execute_batch(FOLLOW_CLOSED)?),
        _ => Err(Error::CorruptData(format!(
            "no upgrade from schema version {version}"
        ))),
    }
}

/// Creates or upgrades the schema in one IMMEDIATE transaction: either all steps apply or none.
/// A database already at [`VERSION`] is only read: opening it writes nothing and never waits
/// for another process's write.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current == VERSION {
        return Ok(());
    }
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
        tx.execute_batch(OUTBOX)?;
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
    fn history() -> Vec<String> {
        let v6 = OUTBOX.replace(
            "    searched_at        INTEGER,\n    closed_seen_at     INTEGER,\n    status_looked_at   INTEGER\n",
            "    searched_at        INTEGER\n",
        );
        assert_ne!(v6, OUTBOX, "version 6 did not follow closed reports");
        let v5 = v6
            .replace(
                "    paused_reason TEXT,\n    learnt        TEXT NOT NULL DEFAULT '{}'\n",
                "    paused_reason TEXT\n",
            )
            .replace(
                "    description        TEXT NOT NULL DEFAULT '',\n    not_found          INTEGER NOT NULL DEFAULT 0,\n    unanswered         INTEGER NOT NULL DEFAULT 0,\n    post_deadline      INTEGER,\n    late_request_id    TEXT,\n    searched_at        INTEGER\n",
                "    description        TEXT NOT NULL DEFAULT ''\n",
            );
        assert_ne!(v5, OUTBOX, "version 5 had no evidence columns");
        let v4 = v5
            .replace(
                "    version            INTEGER NOT NULL DEFAULT 0,\n    service_code       TEXT NOT NULL DEFAULT '',\n    description        TEXT NOT NULL DEFAULT ''\n",
                "    version            INTEGER NOT NULL DEFAULT 0\n",
            )
            .replace("CREATE INDEX reports_by_created ON reports (created_at DESC);\n", "");
        assert_ne!(v4, OUTBOX, "version 4 had no list columns");
        let v3 = v4.replace(
            "summary   TEXT NOT NULL,\n    args      TEXT\n",
            "summary   TEXT NOT NULL\n",
        );
        assert_ne!(v3, v4, "version 3 had no history args");
        vec![
            V1.to_string(),
            format!("{CREATE}{OUTBOX_V2}"),
            format!("{CREATE}{v3}"),
            format!("{CREATE}{v4}"),
            format!("{CREATE}{v5}"),
            format!("{CREATE}{v6}"),
        ]
    }

    /// Version 1: drafts only.
    const V1: &str = "
        CREATE TABLE drafts (
            id TEXT PRIMARY KEY NOT NULL, service_code TEXT, description TEXT NOT NULL,
            latitude REAL, longitude REAL, accuracy_m REAL, location_source TEXT, location_time INTEGER,
            created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
            CHECK ((latitude IS NULL) = (longitude IS NULL)),
            CHECK ((latitude IS NULL) = (location_source IS NULL)),
            CHECK ((latitude IS NULL) = (location_time IS NULL))
        ) STRICT;
        CREATE INDEX drafts_by_created ON drafts (created_at DESC);";

    /// Everything that defines the schema, comparably: each table's columns (name, type, not
    /// null, default, key) and foreign keys, and each index with its columns.
    fn schema_of(conn: &Connection) -> Vec<String> {
        let mut objects = conn
            .prepare("SELECT type, name, tbl_name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            .unwrap();
        let objects: Vec<(String, String, String)> = objects
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let mut out = Vec::new();
        for (kind, name, table) in objects {
            let queries = match kind.as_str() {
                "table" => vec![
                    format!("SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{name}')"),
                    format!("SELECT \"table\", \"from\", \"to\", on_delete, 0, 0 FROM pragma_foreign_key_list('{name}')"),
                ],
                "index" => vec![format!("SELECT seqno, name, \"desc\", coll, key, '{table}' FROM pragma_index_xinfo('{name}')")],
                _ => continue,
            };
            for query in queries {
                let mut stmt = conn.prepare(&query).unwrap();
                let rows = stmt
                    .query_map([], |r| {
                        Ok((0..6)
                            .map(|i| text(r.get_ref(i).unwrap()))
                            .collect::<Vec<_>>()
                            .join("|"))
                    })
                    .unwrap();
                out.extend(rows.map(|row| format!("{kind} {name}: {}", row.unwrap())));
            }
        }
        out
    }

    fn text(value: rusqlite::types::ValueRef<'_>) -> String {
        use rusqlite::types::ValueRef;
        match value {
            ValueRef::Null => "NULL".into(),
            ValueRef::Integer(i) => i.to_string(),
            ValueRef::Real(r) => r.to_string(),
            ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
        }
    }

    fn fresh() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn every_earlier_version_has_a_recorded_schema() {
        assert_eq!(
            history().len() as u32,
            VERSION - 1,
            "bumping VERSION needs the previous full schema in HISTORY"
        );
    }

    #[test]
    fn every_upgrade_path_equals_a_fresh_schema() {
        let expected = schema_of(&fresh());
        assert!(
            expected.iter().any(|c| c.contains("details")),
            "the comparison sees columns"
        );
        for (index, old_schema) in history().iter().enumerate() {
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
    fn upgrading_keeps_the_drafts() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
        conn.execute(
            "INSERT INTO drafts (id, description, created_at, updated_at) VALUES ('d1', 'kept', 1, 1)",
            [],
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        migrate(&mut conn).unwrap();
        let (description, details): (String, String) = conn
            .query_row("SELECT description, details FROM drafts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((description.as_str(), details.as_str()), ("kept", "{}"));
    }

    #[test]
    fn upgrading_gives_every_report_its_phase() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&history()[1]).unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute("INSERT INTO servers (id, config) VALUES ('s', '{}')", [])
            .unwrap();
        let rows = [
            ("a", "queued", "post", 0, "queued"),
            ("b", "sending", "post", 1, "checking"),
            ("c", "queued", "post", 1, "checking"),
            ("d", "queued", "reconcile", 1, "checking"),
            ("e", "queued", "resolve_token", 0, "waiting_for_id"),
            ("f", "sent", "track", 0, "sent"),
            ("g", "needs_attention", "post", 0, "needs_user"),
            ("h", "cancelled", "post", 0, "cancelled"),
        ];
        for (id, state, step, unknown, _) in rows {
            conn.execute(
                "INSERT INTO reports (id, server_id, payload, fields, state, step, outcome_unknown, next_attempt_at, created_at, updated_at)
                 VALUES (?1, 's', '{}', '{}', ?2, ?3, ?4, 0, 0, 0)",
                rusqlite::params![id, state, step, unknown],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        for (id, _, _, _, phase) in rows {
            let found: String = conn
                .query_row("SELECT phase FROM reports WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(found, phase, "report {id}");
        }
    }

    #[test]
    fn upgrading_removes_every_stored_api_key() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&history()[2]).unwrap();
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute(
            "INSERT INTO servers (id, config) VALUES ('s', '{\"endpoint\":\"https://x/\",\"api_key\":\"s3cr3t\"}')",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO profiles (id, profile) VALUES ('s', '{\"id\":\"s\",\"server\":{\"endpoint\":\"https://x/\",\"api_key\":\"s3cr3t\"}}')",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let (config, profile): (String, String) = conn
            .query_row("SELECT config, profile FROM servers, profiles", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert!(
            !config.contains("s3cr3t") && config.contains("https://x/"),
            "{config}"
        );
        assert!(
            !profile.contains("s3cr3t") && profile.contains("https://x/"),
            "{profile}"
        );
    }

    #[test]
    fn upgrading_fills_the_list_columns_from_what_was_sent() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&history()[3]).unwrap();
        conn.pragma_update(None, "user_version", 4).unwrap();
        conn.execute("INSERT INTO servers (id, config) VALUES ('s', '{}')", [])
            .unwrap();
        conn.execute(
            "INSERT INTO reports (id, server_id, payload, fields, next_attempt_at, created_at, updated_at)
             VALUES ('r', 's', '{\"service_code\":\"pothole\",\"description\":\"deep\"}', '{}', 0, 0, 0)",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let listed: (String, String) = conn
            .query_row("SELECT service_code, description FROM reports", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(listed, ("pothole".into(), "deep".into()));
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
