//! A property-based model test of the outbox: random submits, faults, runs, crashes (a run
//! cut off mid-step and the instance dropped), restarts, the server going out of reach and
//! coming back, and the platform's network hint, against the sandbox. After every
//! operation: the database is sound, no submitted report is lost, the server holds no
//! duplicate; at the end, with the faults gone, every report that was not cancelled is on the
//! server exactly once.

use std::time::{Duration, Instant};

use chrono::Utc;
use curbside_core::open311::{ApiKey, AttributeAnswer, ServerConfig};
use curbside_core::outbox::{ReportId, ReportState, RetryPolicy, Timing};
use curbside_core::{Curbside, DraftFields, Location, LocationSource};
use curbside_sandbox::{Fault, Sandbox, SandboxConfig, Scope};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Submit,
    PostFault(u8),
    GetFault,
    Run,
    Crash(u64),
    Restart,
    Cancel(usize),
    Reachable(bool),
    Hint(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Submit),
        3 => (0u8..4).prop_map(Op::PostFault),
        1 => Just(Op::GetFault),
        3 => Just(Op::Run),
        2 => (1u64..250).prop_map(Op::Crash),
        1 => Just(Op::Restart),
        1 => (0usize..20).prop_map(Op::Cancel),
        2 => any::<bool>().prop_map(Op::Reachable),
        1 => any::<bool>().prop_map(Op::Hint),
    ]
}

fn fault(kind: u8) -> Fault {
    match kind {
        0 => Fault::CommitThenDrop,
        1 => Fault::ServerError(503),
        2 => Fault::Stall(Duration::from_millis(300)),
        _ => Fault::ResetMidBody,
    }
}

fn open(dir: &std::path::Path, sandbox: &Sandbox) -> Curbside {
    let curbside = Curbside::open(dir).unwrap();
    let mut config = ServerConfig::new(sandbox.endpoint());
    config.api_key = Some(ApiKey::new("sandbox-key"));
    config.limits.read_timeout = Duration::from_millis(200);
    // A POST's deadline: "not found" is concluded only after it.
    config.limits.upload_timeout = Duration::from_millis(800);
    curbside.set_server("city", config).unwrap();
    curbside.set_timing(Timing {
        lease: Duration::from_secs(5),
        confirm_wait: Duration::from_millis(100),
    });
    curbside.set_retry_policy(RetryPolicy {
        initial: Duration::from_millis(5),
        max: Duration::from_millis(20),
        token_poll: Duration::from_millis(5),
        max_checks: 50,
    });
    curbside
}

fn draft(description: String) -> DraftFields {
    DraftFields {
        service_code: Some("pothole".into()),
        location: Some(Location {
            latitude: 38.9,
            longitude: -77.0,
            accuracy_m: None,
            source: LocationSource::ManualPin,
            captured_at: Utc::now(),
        }),
        description,
        attributes: vec![
            AttributeAnswer {
                code: "WHERE".into(),
                values: vec!["road".into()],
                multiple: false,
            },
            AttributeAnswer {
                code: "DEPTH".into(),
                values: vec!["1".into()],
                multiple: false,
            },
        ],
        ..Default::default()
    }
}

fn copies(sandbox: &Sandbox, description: &str) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.field("description") == Some(description))
        .count()
}

async fn scenario(ops: Vec<Op>) {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut curbside = open(dir.path(), &sandbox);
    let mut submitted: Vec<(ReportId, String)> = Vec::new();
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Submit => {
                let description = format!("model report {}", submitted.len());
                let d = curbside.create_draft(draft(description.clone())).unwrap();
                submitted.push((curbside.submit(&d.id, "city").unwrap().id, description));
            }
            Op::PostFault(kind) => sandbox.faults().next(Scope::Post, fault(kind)),
            Op::GetFault => sandbox.faults().next(Scope::Get, Fault::ServerError(503)),
            Op::Run => {
                curbside
                    .run_pending(Instant::now() + Duration::from_secs(30))
                    .await
                    .unwrap();
            }
            Op::Crash(ms) => {
                let _ = tokio::time::timeout(
                    Duration::from_millis(ms),
                    curbside.run_pending(Instant::now() + Duration::from_secs(30)),
                )
                .await;
                curbside = open(dir.path(), &sandbox);
            }
            Op::Restart => curbside = open(dir.path(), &sandbox),
            Op::Cancel(i) => {
                if let Some((id, _)) = submitted.get(i) {
                    let _ = curbside.cancel_report(id);
                }
            }
            Op::Reachable(up) => sandbox.set_reachable(up).await.unwrap(),
            Op::Hint(up) => curbside.set_network_available(up),
        }

        let reports = curbside.reports().unwrap();
        for (id, description) in &submitted {
            assert!(
                reports.iter().any(|r| r.id == *id),
                "step {step}: {description} was lost"
            );
            assert!(
                copies(&sandbox, description) <= 1,
                "step {step}: {description} is on the server twice"
            );
        }
    }
    sandbox.faults().clear();
    sandbox.set_reachable(true).await.unwrap();
    curbside.set_network_available(true);
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        curbside
            .run_pending(Instant::now() + Duration::from_secs(30))
            .await
            .unwrap();
        let reports = curbside.reports().unwrap();
        if reports
            .iter()
            .all(|r| matches!(r.state, ReportState::Sent | ReportState::Cancelled))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let reports = curbside.reports().unwrap();
    for (id, description) in &submitted {
        let report = reports.iter().find(|r| r.id == *id).unwrap();
        match report.state {
            ReportState::Cancelled => assert_eq!(
                copies(&sandbox, description),
                0,
                "{description}: cancelled yet sent"
            ),
            ReportState::Sent => assert_eq!(copies(&sandbox, description), 1, "{description}"),
            ref other => panic!("{description} ended {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn outbox_never_loses_or_duplicates(ops in proptest::collection::vec(op(), 1..30)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(scenario(ops));
    }
}
