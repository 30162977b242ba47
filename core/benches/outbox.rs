//! Outbox benchmark (not a timed test): `cargo bench -p curbside-core --bench outbox`.
//!
//! Against the sandbox on loopback, in one run:
//! - drain 1,000 queued reports with the engine, beside a baseline that POSTs the same bodies
//!   with a bare reqwest client (no outbox, no durability);
//! - submit latency (draft → outbox, one durable transaction each), p50 and p99;
//! - cold open with 10,000 reports in the outbox (open, migrate check, list them all);
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

fn config(sandbox: &Sandbox) -> ServerConfig {
    let mut config = ServerConfig::new(sandbox.endpoint());
    config.api_key = Some(ApiKey::new("sandbox-key"));
    config
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = 1000;
    println!(
        "Curbside outbox benchmark (2 cores, sandbox on loopback, SQLite WAL + synchronous=FULL)\n"
    );

    // Baseline: the same bodies, POSTed with a bare HTTP client.
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let bodies: Vec<String> = (0..n)
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
        .collect();
    let client = reqwest::Client::new();
    let url = format!("{}requests.json", sandbox.endpoint());
    let start = Instant::now();
    for body in &bodies {
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
    let baseline = start.elapsed();
    assert_eq!(sandbox.requests().len(), n);
    drop(sandbox);

    // Curbside: submit 1,000 (durably), then drain them.
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
    let drain = start.elapsed();
    assert_eq!(summary.sent as usize, n);
    assert_eq!(sandbox.requests().len(), n);

    println!(
        "drain {n} reports                     {:>9.0} ms  ({:.0} reports/s)",
        ms(drain),
        n as f64 / drain.as_secs_f64()
    );
    println!(
        "baseline: bare reqwest, same bodies  {:>9.0} ms  ({:.0} reports/s)",
        ms(baseline),
        n as f64 / baseline.as_secs_f64()
    );
    println!(
        "ratio outbox / baseline              {:>9.2} x",
        drain.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "submit latency p50                   {:>9.2} ms",
        ms(percentile(&latencies, 0.50))
    );
    println!(
        "submit latency p99                   {:>9.2} ms",
        ms(percentile(&latencies, 0.99))
    );

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

    // Cold open with 10,000 reports in the outbox.
    let big = tempfile::tempdir().unwrap();
    {
        let curbside = Curbside::open(big.path()).unwrap();
        curbside.set_server("city", config(&sandbox)).unwrap();
        fill(&curbside, 10_000);
    }
    let mut opens = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let curbside = Curbside::open(big.path()).unwrap();
        let reports = curbside.reports().unwrap();
        opens.push(start.elapsed());
        assert_eq!(reports.len(), 10_000);
    }
    opens.sort();
    println!(
        "cold open + list, 10,000 reports     {:>9.1} ms  (median of 5)",
        ms(opens[2])
    );
}
