//! A damaged database never hides or blocks the reports in it: it is moved aside (kept),
//! a fresh one is started, and what SQLite can still read is brought back. Each kind of
//! damage seen in the field, on a real database file, with what comes back counted.

use std::path::Path;

use curbside_core::open311::ServerConfig;
use curbside_core::Curbside;

mod common;
use common::*;

const DRAFTS: usize = 150;
const REPORTS: usize = 60;

/// Curbside on `dir` with a city it cannot reach: submitted reports stay queued.
fn offline(dir: &Path) -> Curbside {
    let curbside = Curbside::open(dir).unwrap();
    curbside
        .set_server(
            SERVER,
            ServerConfig::new("https://311.city.example/open311/v2/"),
        )
        .unwrap();
    curbside.set_network_available(false);
    curbside
}

/// A data directory with drafts and queued reports, closed (its WAL folded into the file).
fn filled(dir: &Path) {
    let curbside = offline(dir);
    let words = "a pothole wide enough to swallow a bicycle wheel ".repeat(20);
    for i in 0..DRAFTS {
        curbside
            .create_draft(pothole(&format!("draft {i}: {words}")))
            .unwrap();
    }
    for i in 0..REPORTS {
        submit(&curbside, pothole(&format!("report {i}: {words}")));
    }
}

fn damaged(kind: &str) -> (tempfile::TempDir, Curbside) {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    let db = dir.path().join("curbside.sqlite3");
    let mut bytes = std::fs::read(&db).unwrap();
    let page = 4096;
    match kind {
        "header" => bytes[..16].copy_from_slice(b"garbage garbage!"),
        "truncated" => bytes.truncate(bytes.len() * 2 / 3 / page * page),
        "mid-file" => {
            let middle = bytes.len() / 2 / page * page;
            bytes[middle + 8..middle + 400].fill(0xA5);
        }
        "empty" => bytes.clear(),
        _ => unreachable!(),
    }
    std::fs::write(&db, bytes).unwrap();
    // Damage is old news by the time it is found (a file being created is new).
    let file = std::fs::File::options().write(true).open(&db).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    drop(file);
    let curbside = Curbside::open(dir.path()).expect("a damaged database never blocks opening");
    (dir, curbside)
}

#[test]
fn every_kind_of_damage_is_said_and_what_can_be_read_comes_back() {
    for kind in ["header", "truncated", "mid-file", "empty"] {
        let (_dir, curbside) = damaged(kind);
        let recovery = curbside
            .database_recovery()
            .unwrap_or_else(|| panic!("{kind}: the damage is said, not hidden"))
            .clone();
        assert!(
            recovery.moved_to.exists(),
            "{kind}: the damaged file is kept"
        );
        let drafts = curbside.list_drafts().unwrap().len();
        let reports = curbside.reports().unwrap().len();
        println!(
            "{kind:>9}: recovered {reports}/{REPORTS} reports, {drafts}/{DRAFTS} drafts, {} unreadable rows{}",
            recovery.salvage.unreadable,
            recovery.salvage.failure.as_deref().map(|f| format!(" ({f})")).unwrap_or_default()
        );
        assert_eq!(
            drafts as u32, recovery.salvage.drafts,
            "{kind}: the count is what is there"
        );
        assert_eq!(reports as u32, recovery.salvage.reports, "{kind}");
        match kind {
            "header" => assert_eq!(
                (reports, drafts),
                (REPORTS, DRAFTS),
                "a header is all it lost"
            ),
            "mid-file" => assert!(
                reports + drafts >= (REPORTS + DRAFTS) * 9 / 10,
                "one damaged page loses only its rows: {reports} + {drafts}"
            ),
            "truncated" => assert!(reports + drafts > 0, "the first two thirds come back"),
            _ => {}
        }
        // The fresh database works: recovered reports can still be sent or cancelled.
        curbside.create_draft(pothole("after the damage")).unwrap();
        if let Some(report) = curbside.reports().unwrap().first() {
            curbside.cancel_report(&report.id).unwrap();
        }
        // And opening again is quiet: the damage was dealt with once.
        drop(curbside);
        assert!(
            Curbside::open(_dir.path())
                .unwrap()
                .database_recovery()
                .is_none(),
            "{kind}"
        );
    }
}

#[test]
fn a_support_export_keeps_what_was_read_but_no_contact_details_or_keys() {
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    let mut config = ServerConfig::new("https://311.city.example/open311/v2/");
    config.api_key = Some(curbside_core::open311::ApiKey::new("support-secret-key"));
    curbside.set_server(SERVER, config).unwrap();
    curbside.set_network_available(false);
    let mut fields = pothole("exported for support");
    fields.contact.email = Some("reporter.private@example.org".into());
    fields.contact.phone = Some("+358 40 123 4567".into());
    curbside.create_draft(fields.clone()).unwrap();
    submit(&curbside, fields);
    drop(curbside);
    let db = dir.path().join("curbside.sqlite3");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[..16].copy_from_slice(b"garbage garbage!");
    std::fs::write(&db, bytes).unwrap();

    let curbside = Curbside::open(dir.path()).unwrap();
    let aside = std::fs::read(&curbside.database_recovery().unwrap().moved_to).unwrap();
    let email: &[u8] = b"reporter.private@example.org";
    assert!(
        aside.windows(email.len()).any(|w| w == email),
        "the damaged file itself holds the contact details"
    );
    let export = dir.path().join("for-support.sqlite3");
    let salvage = curbside.export_for_support(&export).unwrap();
    assert_eq!((salvage.reports, salvage.drafts), (1, 1));
    let exported = std::fs::read(&export).unwrap();
    let holds = |text: &str| exported.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(holds("exported for support"), "what support needs is there");
    for private in [
        "reporter.private@example.org",
        "123 4567",
        "support-secret-key",
    ] {
        assert!(!holds(private), "{private} left the device");
    }
}

/// A data directory past the size checked before the open returns (1 MiB; this one is over 4 MiB: a city's worth of
/// history), its reports table damaged.
fn large_and_damaged() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    let db = dir.path().join("curbside.sqlite3");
    let root: u32 = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE history_padding (b BLOB); INSERT INTO history_padding VALUES (zeroblob(6000000)); PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        conn.query_row(
            "SELECT rootpage FROM sqlite_master WHERE name = 'reports'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 4 * 1024 * 1024);
    let page = (root as usize - 1) * 4096;
    bytes[page + 8..page + 400].fill(0xA5);
    std::fs::write(&db, bytes).unwrap();
    dir
}

/// The next open deals with the damage once: the file moved aside, the drafts back.
fn repaired_at_the_next_open(dir: &Path) {
    let marker = dir.join("curbside.sqlite3.damaged");
    let curbside = Curbside::open(dir).unwrap();
    let recovery = curbside
        .database_recovery()
        .expect("the next open deals with it")
        .clone();
    assert!(recovery.moved_to.exists(), "the damaged file is kept");
    assert!(!marker.exists(), "dealt with once");
    assert_eq!(
        curbside.list_drafts().unwrap().len(),
        DRAFTS,
        "the drafts' pages were not damaged"
    );
    drop(curbside);
    assert!(Curbside::open(dir).unwrap().database_recovery().is_none());
}

#[test]
fn a_large_database_opens_at_once_and_damage_found_behind_it_is_repaired_at_the_next_open() {
    let dir = large_and_damaged();
    let curbside = Curbside::open(dir.path()).expect("a damaged database never blocks opening");
    assert!(
        curbside.database_recovery().is_none(),
        "not checked before the open returned"
    );
    let marker = dir.path().join("curbside.sqlite3.damaged");
    let waited = std::time::Instant::now();
    while !marker.exists() && waited.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(marker.exists(), "the background check found the damage");
    drop(curbside);
    repaired_at_the_next_open(dir.path());
}

#[test]
fn damage_met_in_use_is_marked_at_once_and_repaired_at_the_next_open() {
    let dir = large_and_damaged();
    let curbside = Curbside::open(dir.path()).unwrap();
    assert!(
        curbside.reports().is_err(),
        "the damaged table cannot be read"
    );
    assert!(
        dir.path().join("curbside.sqlite3.damaged").exists(),
        "marked at once, before the background check starts"
    );
    drop(curbside);
    repaired_at_the_next_open(dir.path());
}

/// A data directory with `n` reports queued while offline, closed (its WAL folded in).
fn queued(dir: &Path, n: usize) {
    let curbside = offline(dir);
    for i in 0..n {
        submit(&curbside, pothole(&format!("queued {i}")));
    }
}

/// Changes one byte in the cell content of the root page of `index`.
fn flip_a_byte_of(db: &Path, index: &str) {
    let root: u32 = rusqlite::Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT rootpage FROM sqlite_schema WHERE name = ?1",
            [index],
            |r| r.get(0),
        )
        .unwrap();
    let mut bytes = std::fs::read(db).unwrap();
    let page = (root as usize - 1) * 4096;
    // The page's cells start where its header says; the byte flipped is the middle one.
    let start = u16::from_be_bytes([bytes[page + 5], bytes[page + 6]]) as usize;
    let at = page + (start + 4096) / 2;
    bytes[at] ^= 0x01;
    std::fs::write(db, bytes).unwrap();
}

#[tokio::test]
async fn one_changed_byte_in_any_outbox_index_gives_every_queued_report_back() {
    let n = 40;
    for index in [
        "reports_due",
        "reports_by_server",
        "reports_by_created",
        "report_history_by_report",
        "sqlite_autoindex_reports_1",
    ] {
        let sandbox = curbside_sandbox::Sandbox::start(Default::default(), 0)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        queued(dir.path(), n);
        let db = dir.path().join("curbside.sqlite3");
        flip_a_byte_of(&db, index);
        let curbside = Curbside::open(dir.path()).unwrap();
        curbside.set_server(SERVER, server(&sandbox)).unwrap();
        curbside.set_retry_policy(fast());
        curbside.set_timing(quick());
        assert_eq!(curbside.reports().unwrap().len(), n, "{index}: listed");
        drain(&curbside).await;
        for i in 0..n {
            assert_eq!(
                on_server(&sandbox, &format!("queued {i}")),
                1,
                "{index}: queued {i} sent once"
            );
        }
    }
}

#[test]
fn a_file_cut_mid_page_is_damage_and_every_call_works_after() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    let db = dir.path().join("curbside.sqlite3");
    let len = std::fs::metadata(&db).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(len - 1234)
        .unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    let recovery = curbside
        .database_recovery()
        .expect("said, not hidden")
        .clone();
    let reports = curbside.reports().expect("every call works");
    curbside.list_drafts().expect("every call works");
    println!(
        "cut 1,234 bytes short: {} of {REPORTS} reports and {} of {DRAFTS} drafts back, {} unreadable",
        reports.len(),
        recovery.salvage.drafts,
        recovery.salvage.unreadable
    );
    assert!(
        reports.len() >= REPORTS - 2,
        "only the last page's rows can be lost: {}",
        reports.len()
    );
    assert!(
        reports.len() as u32 + recovery.salvage.unreadable >= REPORTS as u32,
        "every report is back or counted as unreadable (told): {recovery:?}"
    );
}

#[test]
fn a_header_overwritten_whole_is_rebuilt_and_everything_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    let db = dir.path().join("curbside.sqlite3");
    let mut bytes = std::fs::read(&db).unwrap();
    for (i, b) in bytes[..100].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37) ^ 0x5A;
    }
    std::fs::write(&db, bytes).unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    assert!(curbside.database_recovery().is_some(), "said, not hidden");
    assert_eq!(curbside.reports().unwrap().len(), REPORTS);
    assert_eq!(curbside.list_drafts().unwrap().len(), DRAFTS);
}

#[test]
fn an_emptied_file_beside_its_marker_is_never_silently_new() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    let db = dir.path().join("curbside.sqlite3");
    std::fs::write(&db, b"").unwrap(); // just now: not a minute old
    std::fs::write(dir.path().join("curbside.sqlite3.damaged"), b"").unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    assert!(
        curbside.database_recovery().is_some(),
        "the user is told the reports are gone"
    );
}
