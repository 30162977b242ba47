//! The outbox screen's benchmark (not a timed test): `cargo bench -p curbside-core --bench list`.
//!
//! With 10,000 reports on a real SQLite file, each cold (a new process's first open): open and
//! read the first screen (50 reports, newest first, and the total), and open and read them all,
//! each beside a reference measured in the same run: the same rows read with bare rusqlite from
//! the same file (what a list cannot do with less), median of 7.

use std::path::Path;
use std::time::{Duration, Instant};

mod common;
use common::draft;

use curbside_core::open311::ServerConfig;
use curbside_core::Curbside;

const REPORTS: usize = 10_000;
const SCREEN: u32 = 50;

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The same rows read with bare rusqlite: a fresh connection, the columns a list shows.
fn reference(db: &Path, limit: Option<u32>) -> usize {
    let conn = rusqlite::Connection::open(db).unwrap();
    let sql = format!(
        "SELECT id, server_id, service_code, description, phase, attempts, request_id, status, created_at, updated_at
         FROM reports ORDER BY created_at DESC {}",
        limit.map(|l| format!("LIMIT {l}")).unwrap_or_default()
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(8)?,
            ))
        })
        .unwrap();
    let n = rows.count();
    let total: u32 = conn
        .query_row("SELECT count(*) FROM reports", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total as usize, REPORTS);
    n
}

fn main() {
    println!("Curbside outbox screen benchmark ({REPORTS} reports, real SQLite file, cold opens, median of 7)\n");
    let dir = tempfile::tempdir().unwrap();
    {
        let curbside = Curbside::open(dir.path()).unwrap();
        curbside
            .set_server(
                "city",
                ServerConfig::new("https://311.city.example/open311/v2/"),
            )
            .unwrap();
        curbside.set_network_available(false);
        for i in 0..REPORTS {
            let d = curbside.create_draft(draft(i)).unwrap();
            curbside.submit(&d.id, "city").unwrap();
        }
    }
    let db = dir.path().join(curbside_core::DATABASE_FILE);
    let mut screen = Vec::new();
    let mut screen_ref = Vec::new();
    let mut all = Vec::new();
    let mut all_ref = Vec::new();
    let mut checks = Vec::new();
    for _ in 0..7 {
        // What the open's soundness check costs on this file, alone: SQLite's structure,
        // the outbox's tables against their indexes, the rows the outbox must read.
        let start = Instant::now();
        assert_eq!(curbside_store::found_damage(&db), Some(false));
        checks.push(start.elapsed());

        let start = Instant::now();
        let curbside = Curbside::open(dir.path()).unwrap();
        let (page, total) = curbside.reports_page(SCREEN, 0).unwrap();
        screen.push(start.elapsed());
        assert_eq!((page.len(), total as usize), (SCREEN as usize, REPORTS));
        drop(curbside);

        let start = Instant::now();
        assert_eq!(reference(&db, Some(SCREEN)), SCREEN as usize);
        screen_ref.push(start.elapsed());

        let start = Instant::now();
        let curbside = Curbside::open(dir.path()).unwrap();
        assert_eq!(curbside.reports().unwrap().len(), REPORTS);
        all.push(start.elapsed());
        drop(curbside);

        let start = Instant::now();
        assert_eq!(reference(&db, None), REPORTS);
        all_ref.push(start.elapsed());
    }
    let row = |name: &str, ours: Duration, reference: Duration| {
        println!(
            "{name:<36} {:>8.1} ms   bare rusqlite {:>6.1} ms   ratio {:.2} x",
            ms(ours),
            ms(reference),
            ours.as_secs_f64() / reference.as_secs_f64()
        )
    };
    row(
        "cold open + first screen (50)",
        median(screen),
        median(screen_ref),
    );
    row(
        "cold open + every report (10,000)",
        median(all),
        median(all_ref),
    );
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "the soundness check alone               {:>8.1} ms   (quick_check + the outbox's integrity_check, {:.1} MB: in the background past 4 MiB)",
        ms(median(checks)),
        size as f64 / 1e6
    );
}
