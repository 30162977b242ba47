//! `curbside check URL` against the sandbox in each of its modes: the verdicts a city team
//! would read, asserted line by line.

use std::collections::HashMap;
use std::process::Command;

use curbside_sandbox::{Mode, Sandbox, SandboxConfig};
use serde_json::Value;

/// Runs `curbside --json check` and returns each check's verdict and the recommendation.
fn check(url: &str, extra: &[&str]) -> (HashMap<String, (String, String)>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_curbside"))
        .args(["--json", "check", url, "--api-key", "sandbox-key"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                (
                    c["verdict"].as_str().unwrap().to_string(),
                    c["detail"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    (verdicts, report["recommended"]["server"]["quirks"].clone())
}

async fn sandbox(modes: &[Mode], seed: usize) -> Sandbox {
    let config = SandboxConfig {
        modes: modes.to_vec(),
        ..Default::default()
    };
    let sandbox = Sandbox::start(config, 0).await.unwrap();
    sandbox.seed(seed);
    sandbox
}

fn verdict<'a>(verdicts: &'a HashMap<String, (String, String)>, name: &str) -> &'a str {
    &verdicts
        .get(name)
        .unwrap_or_else(|| panic!("no line {name}: {verdicts:#?}"))
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_perfect_server_passes_every_point() {
    let sandbox = sandbox(&[Mode::ContentLengthOnly], 5).await;
    let url = sandbox.endpoint();
    let (verdicts, quirks) = tokio::task::spawn_blocking(move || check(&url, &["--write"]))
        .await
        .unwrap();
    for (name, (verdict, detail)) in &verdicts {
        assert_eq!(verdict, "pass", "{name}: {detail}");
    }
    for name in [
        "services (json)",
        "services (xml)",
        "discovery",
        "service definition",
        "request list",
        "filter service_code",
        "filter status",
        "filter start_date/end_date",
        "filter service_request_id",
        "request by id",
        "paging (page, page_size)",
        "extensions",
        "position filter",
        "tokens",
        "error format",
        "wrong api_key",
        "POST requests",
        "new request listed",
    ] {
        assert!(verdicts.contains_key(name), "missing {name}");
    }
    assert_eq!(quirks["extensions"], true, "notes come with extensions");
    assert_eq!(
        quirks["position_filter"], "bbox",
        "the sandbox filters by area"
    );
    assert_eq!(
        sandbox.requests().len(),
        6,
        "one probe request, with --write only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_server_without_positions_and_with_its_own_statuses() {
    let modes = [
        Mode::StrictParams,
        Mode::NoPositions,
        Mode::StatusIds,
        Mode::KeyAs400,
    ];
    let sandbox = sandbox(&modes, 5).await;
    let url = sandbox.endpoint();
    let (verdicts, quirks) =
        tokio::task::spawn_blocking(move || check(&url, &["--write", "--format", "xml"]))
            .await
            .unwrap();
    assert_eq!(verdict(&verdicts, "positions in lists"), "quirk");
    assert_eq!(verdict(&verdicts, "statuses"), "quirk");
    assert_eq!(verdict(&verdicts, "paging (page, page_size)"), "quirk");
    assert_eq!(verdict(&verdicts, "extensions"), "quirk");
    assert_eq!(verdict(&verdicts, "position filter"), "quirk");
    assert_eq!(verdict(&verdicts, "wrong api_key"), "quirk");
    assert_eq!(verdict(&verdicts, "filter service_code"), "pass");
    assert_eq!(verdict(&verdicts, "filter status"), "pass");
    assert_eq!(verdict(&verdicts, "POST requests"), "pass");
    assert_eq!(quirks["pagination"]["style"], "none");
    assert_eq!(quirks["extensions"], false);
    assert!(quirks["status_map"]["3"].is_string(), "{quirks}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_filters_and_repeats_its_rows() {
    let sandbox = sandbox(&[Mode::IgnoreFilters { cap: 10 }, Mode::BareErrors], 20).await;
    let url = sandbox.endpoint();
    let (verdicts, quirks) = tokio::task::spawn_blocking(move || check(&url, &[]))
        .await
        .unwrap();
    for name in [
        "filter service_code",
        "filter status",
        "filter start_date/end_date",
        "filter service_request_id",
        "paging (page, page_size)",
        "position filter",
    ] {
        assert_eq!(verdict(&verdicts, name), "quirk", "{name}");
    }
    assert_eq!(
        verdict(&verdicts, "error format"),
        "pass",
        "a bare dialect is still read"
    );
    assert_eq!(quirks["pagination"]["style"], "none");
    assert!(
        !verdicts.contains_key("POST requests"),
        "nothing is written without --write"
    );
    assert_eq!(sandbox.requests().len(), 20);
}
