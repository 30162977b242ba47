//! Outbox benchmark (not a timed test): `cargo bench -p curbside-core --bench outbox`.
//!
//! Against the sandbox on loopback, in one run:
//! - drain 1,000 queued reports with the engine, beside a baseline that POSTs the same bodies
//!   with a bare reqwest client (no outbox, no durability), interleaved, five rounds each;
//! - the same in a child process under `eatmydata` (fsync made free);
//! - submit latency (draft → outbox, one durable transaction each), p50 and p99;
//! - autosave latency;
//! - the end of a dead zone: 100 reports queued while the server was out of reach (five
//!   offline runs first), then the time from "network back" to all 100 sent, beside the
//!   baseline's time for 100 bodies.

use std::time::{Duration, Instant};

mod common;
use common::draft;

use curbside_core::open311::{ApiKey, ServerConfig};
use curbside_core::Curbside;
use curbside_sandbox::{Sandbox, SandboxConfig};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn fill(curbside: &Curbside, n: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let d = curbside.create_draft(draft(i)).unwrap();
        let start = Instant::now();
        curbside.submit(&d.id, "city").unwrap();
        latencies.push(start.elapsed());
    }
    latencies.sort();
    latencies
}

/// The same drain in a child process under `eatmydata` (fsync a no-op): how much of the
/// drain is durability. Skipped, and said so, when `eatmydata` is not installed.
fn fsync_free(n: usize) {
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new("eatmydata")
        .arg(exe)
        .arg("--drain-only")
        .output();
    let text = match &output {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).to_string(),
        _ => {
            println!("drain {n}, fsync made free: SKIPPED (eatmydata not installed: apt-get install eatmydata)");
            return;
        }
    };
    let numbers: Vec<f64> = text
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    if let [drain, base] = numbers[..] {
        println!(
            "drain {n}, fsync made free (eatmydata)  {drain:.0} ms  beside the bare client {base:.0} ms  ratio {:.2} x",
            drain / base
        );
    }
}

fn config(sandbox: &Sandbox) -> ServerConfig {
    let mut config = ServerConfig::new(sandbox.endpoint());
    config.api_key = Some(ApiKey::new("sandbox-key"));
    config
}

/// The bodies a bare client POSTs: what Curbside sends for the same drafts.
fn bodies(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let d = draft(i);
            let loc = d.location.unwrap();
            form_urlencoded::Serializer::new(String::new())
                .append_pair("api_key", "sandbox-key")
                .append_pair("service_code", "pothole")
                .append_pair("lat", &loc.latitude.to_string())
                .append_pair("long", &loc.longitude.to_string())
                .append_pair("description", &d.description)
                .append_pair("attribute[WHERE]", "bike")
                .append_pair("attribute[DEPTH]", "9")
                .finish()
        })
        .collect()
}

/// The reference: the same bodies POSTed one after another with a bare reqwest client (no
/// outbox, no durability), to a fresh sandbox.
async fn baseline(bodies: &[String]) -> Duration {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let url = format!("{}requests.json", sandbox.endpoint());
    let start = Instant::now();
    for body in bodies {
        let response = client
            .post(&url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        response.bytes().await.unwrap();
    }
    let elapsed = start.elapsed();
    assert_eq!(sandbox.requests().len(), bodies.len());
    elapsed
}

/// Curbside: `n` reports submitted (durably), then drained by the engine to a fresh sandbox.
/// The drain's time, and the submits' latencies.
async fn drain(n: usize) -> (Duration, Vec<Duration>) {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    curbside.set_server("city", config(&sandbox)).unwrap();
    let latencies = fill(&curbside, n);
    let start = Instant::now();
    let summary = curbside
        .run_pending(Instant::now() + Duration::from_secs(600))
        .await
        .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(summary.sent as usize, n);
    assert_eq!(sandbox.requests().len(), n);
    (elapsed, latencies)
}

/// Drain and reference, interleaved (each goes first in turn), `rounds` times: their medians
/// and ranges.
async fn drain_beside_baseline(
    n: usize,
    rounds: usize,
) -> (Vec<Duration>, Vec<Duration>, Vec<Duration>) {
    let bodies = bodies(n);
    let (mut drains, mut bases, mut submits) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            bases.push(baseline(&bodies).await);
        }
        let (elapsed, latencies) = drain(n).await;
        drains.push(elapsed);
        submits.extend(latencies);
        if round % 2 == 1 {
            bases.push(baseline(&bodies).await);
        }
    }
    drains.sort();
    bases.sort();
    submits.sort();
    (drains, bases, submits)
}

/// "median (min-max) ms".
fn spread(sorted: &[Duration]) -> String {
    format!(
        "{:.0} ms ({:.0}-{:.0})",
        ms(sorted[sorted.len() / 2]),
        ms(sorted[0]),
        ms(sorted[sorted.len() - 1])
    )
}

fn ratio(a: &[Duration], b: &[Duration]) -> f64 {
    a[a.len() / 2].as_secs_f64() / b[b.len() / 2].as_secs_f64()
}

const ROUNDS: usize = 5;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = 1000;
    if std::env::args().any(|a| a == "--drain-only") {
        // Run under `eatmydata` by the main run: fsync made free.
        let (drains, bases, _) = drain_beside_baseline(n, ROUNDS).await;
        println!("{} {}", ms(drains[ROUNDS / 2]), ms(bases[ROUNDS / 2]));
        return;
    }
    println!(
        "Curbside outbox benchmark (2 cores, sandbox on loopback, SQLite WAL + synchronous=FULL)\n"
    );
    let (drains, bases, latencies) = drain_beside_baseline(n, ROUNDS).await;
    println!(
        "drain {n} reports (median of {ROUNDS}, interleaved)   {}  beside a bare reqwest client, same bodies: {}  ratio {:.2} x  (goal <= 1.3 x)",
        spread(&drains),
        spread(&bases),
        ratio(&drains, &bases)
    );
    fsync_free(n);
    println!(
        "submit latency p50                   {:>9.2} ms",
        ms(percentile(&latencies, 0.50))
    );
    println!(
        "submit latency p99                   {:>9.2} ms",
        ms(percentile(&latencies, 0.99))
    );
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    curbside.set_server("city", config(&sandbox)).unwrap();
    let baseline = bases[ROUNDS / 2];

    // Autosave: one draft updated on every keystroke of a 1,000-character description.
    let draft = curbside.create_draft(draft(0)).unwrap();
    let mut fields = draft.fields.clone();
    let mut saves = Vec::with_capacity(1000);
    for i in 0..1000 {
        fields.description.push(char::from(b'a' + (i % 26) as u8));
        let start = Instant::now();
        curbside.update_draft(&draft.id, fields.clone()).unwrap();
        saves.push(start.elapsed());
    }
    saves.sort();
    println!(
        "autosave (update_draft) p50          {:>9.2} ms",
        ms(percentile(&saves, 0.50))
    );
    println!(
        "autosave (update_draft) p99          {:>9.2} ms",
        ms(percentile(&saves, 0.99))
    );

    // The end of a dead zone: 100 reports wait for the network, then it returns.
    let dead = tempfile::tempdir().unwrap();
    let zone = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let curbside_dz = Curbside::open(dead.path()).unwrap();
    curbside_dz.set_server("city", config(&zone)).unwrap();
    zone.set_reachable(false).await.unwrap();
    fill(&curbside_dz, 100);
    for _ in 0..5 {
        curbside_dz
            .run_pending(Instant::now() + Duration::from_secs(10))
            .await
            .unwrap();
    }
    let attempts: u32 = curbside_dz
        .reports()
        .unwrap()
        .iter()
        .map(|r| r.attempts)
        .sum();
    zone.set_reachable(true).await.unwrap();
    let start = Instant::now();
    curbside_dz.set_network_available(true);
    let summary = curbside_dz
        .run_pending(Instant::now() + Duration::from_secs(600))
        .await
        .unwrap();
    let back = start.elapsed();
    assert_eq!(summary.sent, 100);
    assert_eq!(attempts, 0, "the dead zone cost no attempt");
    let baseline_100 = baseline.mul_f64(100.0 / n as f64);
    println!(
        "network back -> 100 queued sent      {:>9.0} ms  (baseline for 100 bodies {:.0} ms, ratio {:.2} x; attempts while offline: {attempts})",
        ms(back),
        ms(baseline_100),
        back.as_secs_f64() / baseline_100.as_secs_f64()
    );
}
