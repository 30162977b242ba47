//! Sending runs against faults and the network: the fault matrix (every report exactly
//! once), dead zones and the network hint, bounded checks, events in commit order, runs that
//! overlap, pause or end at their deadline.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use curbside_core::open311::ApiKey;
use curbside_core::outbox::{
    AttentionAction, HistoryEvent, OutboxEvent, ReportId, ReportState, RetryPolicy,
};
use curbside_core::DraftFields;
use curbside_sandbox::{Fault, Sandbox, SandboxConfig, Scope};

mod common;
use common::*;

/// Each fault alone, then all of them mixed over 200 reports: every report ends sent exactly
/// once on the server, none lost, none duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix_every_report_exactly_once() {
    let single: Vec<(&str, Fault)> = vec![
        ("commit_then_drop", Fault::CommitThenDrop),
        ("503", Fault::ServerError(503)),
        (
            "429",
            Fault::TooManyRequests {
                retry_after_secs: 0,
            },
        ),
        ("captive_portal", Fault::CaptivePortal),
        ("stall", Fault::Stall(Duration::from_millis(800))),
        ("reset", Fault::ResetMidBody),
        (
            "trickle",
            Fault::Trickle {
                bytes_per_sec: 20_000,
            },
        ),
    ];
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    for (name, fault) in single {
        let dir = tempfile::tempdir().unwrap();
        let curbside = open(dir.path(), &sandbox);
        let descriptions: Vec<String> = (0..10).map(|i| format!("{name} {i}")).collect();
        for d in &descriptions {
            submit(&curbside, pothole(d));
            sandbox.faults().next(Scope::Post, fault.clone());
        }
        drain(&curbside).await;
        for d in &descriptions {
            assert_eq!(on_server(&sandbox, d), 1, "{d}");
        }
        assert!(
            curbside
                .reports()
                .unwrap()
                .iter()
                .all(|r| r.state == ReportState::Sent),
            "{name}"
        );
    }

    // Mixed: 30% of POST answers dropped after commit, 10% 503, 5% captive portal, 5% stalls,
    // 5% resets, and 10% of GETs failing with 503 while reconciling.
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut roll = percent_dice(0x2545F4914F6CDD1D);
    let n = 200;
    for i in 0..n {
        submit(&curbside, pothole(&format!("mixed {i}")));
    }
    for _ in 0..(3 * n) {
        let r = roll();
        let fault = match r {
            0..=29 => Some(Fault::CommitThenDrop),
            30..=39 => Some(Fault::ServerError(503)),
            40..=44 => Some(Fault::CaptivePortal),
            45..=49 => Some(Fault::Stall(Duration::from_millis(700))),
            50..=54 => Some(Fault::ResetMidBody),
            _ => None,
        };
        if let Some(f) = fault {
            sandbox.faults().next(Scope::Post, f);
        }
        if roll() < 10 {
            sandbox.faults().next(Scope::Get, Fault::ServerError(503));
        }
    }
    drain(&curbside).await;
    sandbox.faults().clear();
    let reports = curbside.reports().unwrap();
    assert_eq!(reports.len(), n, "none lost");
    for i in 0..n {
        let description = format!("mixed {i}");
        let report = reports
            .iter()
            .find(|r| r.description == description)
            .unwrap();
        let history = curbside.report(&report.id).unwrap().1;
        assert_eq!(
            on_server(&sandbox, &description),
            1,
            "{description}: exactly once: {report:#?} {history:#?}"
        );
    }
    assert!(reports
        .iter()
        .all(|r| r.state == ReportState::Sent && r.request_id.is_some()));
    let ids: std::collections::HashSet<_> = reports.iter().map(|r| r.request_id.clone()).collect();
    assert_eq!(ids.len(), n, "each report has its own city id");
}

#[tokio::test]
async fn a_dead_zone_costs_no_attempt_and_one_run_sends_everything_when_it_ends() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    sandbox.set_reachable(false).await.unwrap();
    let reports: Vec<_> = (0..8)
        .map(|i| submit(&curbside, pothole(&format!("dead zone {i}"))))
        .collect();
    for _ in 0..5 {
        // What a background run or `curbside sync` does while nothing can be reached.
        let summary = curbside
            .run_pending(Instant::now() + Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(summary.sent, 0);
        for report in curbside.reports().unwrap() {
            assert_eq!(report.state, ReportState::WaitingForNetwork);
            assert_eq!(report.attempts, 0, "offline is not an attempt");
        }
    }
    sandbox.set_reachable(true).await.unwrap();
    let started = Instant::now();
    let summary = curbside
        .run_pending(Instant::now() + Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(summary.sent, 8, "one run sends them all: {summary:?}");
    for report in &reports {
        let (report, history) = curbside.report(&report.id).unwrap();
        assert_eq!(report.state, ReportState::Sent);
        assert_eq!(report.attempts, 1);
        assert_eq!(
            history.iter().map(|h| h.event.code()).collect::<Vec<_>>(),
            ["submitted", "received"]
        );
    }
    println!("network back to 8 sent: {:?}", started.elapsed());
}

/// The hint is memory: away, the worker sends nothing and the report shows waiting for the
/// network, though its row says queued; back, it is sent. Waits on the worker's passes and on
/// the outbox's events, never on a sleep.
#[tokio::test]
async fn the_network_hint_parks_reports_and_brings_them_back() {
    let (mut passes, _log) = worker_passes();
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = std::sync::Arc::new(open(dir.path(), &sandbox));
    let mut events = curbside.events();
    let worker = tokio::spawn(std::sync::Arc::clone(&curbside).run_worker());
    curbside.set_network_available(false);
    let report = submit(&curbside, pothole("hint"));
    assert_eq!(report.state, ReportState::WaitingForNetwork);
    // The submit woke the worker. The test's thread runs it only while the test awaits, so a
    // pass that went by the hint "away" started after the submit: it sends nothing.
    let away = async { while passes.recv().await.expect("the log") {} };
    tokio::time::timeout(Duration::from_secs(10), away)
        .await
        .expect("a pass of the worker after the submit");
    tokio::task::yield_now().await; // the pass runs to its end
    assert_eq!(
        on_server(&sandbox, "hint"),
        0,
        "nothing is sent while the hint says away"
    );
    assert_eq!(
        curbside.report(&report.id).unwrap().0.state,
        ReportState::WaitingForNetwork
    );
    curbside.set_network_available(true);
    let sent = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await.unwrap() {
                OutboxEvent::Changed(r) if r.id == report.id && r.state == ReportState::Sent => {
                    return r
                }
                _ => {}
            }
        }
    })
    .await
    .expect("sent once the network came back");
    worker.abort();
    assert_eq!(sent.attempts, 1);
    assert_eq!(on_server(&sandbox, "hint"), 1);
}

#[tokio::test]
async fn checks_and_token_polls_are_bounded() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    curbside.set_retry_policy(RetryPolicy {
        max_checks: 4,
        ..fast()
    });
    // A lost answer, then a server whose every GET fails: the search ends with the user.
    let lost = submit(&curbside, pothole("never searchable"));
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
    // Every search fails from the start, however soon it comes (a slow machine's run may
    // reach it before the next line would have said so).
    for _ in 0..50 {
        sandbox.faults().next(Scope::Get, Fault::ServerError(503));
    }
    curbside
        .run_pending(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    // A batch service whose token is never resolved (every GET fails).
    let batch = submit(
        &curbside,
        DraftFields {
            service_code: Some("streetlight".into()),
            attributes: vec![],
            ..pothole("token forever")
        },
    );
    // Its POST goes through (only GETs fail so far).
    curbside
        .run_pending(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    sandbox.faults().always(Some(Fault::ServerError(503)));
    drain(&curbside).await;
    sandbox.faults().clear();
    let lost = curbside.report(&lost.id).unwrap().0;
    assert!(
        matches!(&lost.state, ReportState::NeedsAttention { attention } if attention.action == AttentionAction::ConfirmPossibleDuplicate),
        "{lost:?}"
    );
    let batch = curbside.report(&batch.id).unwrap();
    assert_eq!(
        batch.0.state,
        ReportState::Sent,
        "the city has it (it gave a token)"
    );
    assert!(
        batch
            .1
            .iter()
            .any(|h| h.event == HistoryEvent::TokenNeverResolved),
        "{:?}",
        batch.1
    );
    assert_eq!(on_server(&sandbox, "never searchable"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_come_in_commit_order_with_versions_and_removals() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let (_, mut events) = curbside.subscribe().unwrap();
    let sent: Vec<_> = (0..3)
        .map(|i| submit(&curbside, pothole(&format!("ordered {i}"))))
        .collect();
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
    drain(&curbside).await;
    curbside.set_network_available(false);
    let edited = submit(&curbside, pothole("edited away"));
    curbside.edit_report(&edited.id).unwrap();
    curbside.set_network_available(true);

    let mut last: HashMap<ReportId, u64> = HashMap::new();
    let mut removed = Vec::new();
    let mut hints = Vec::new();
    while let Ok(event) = events.try_recv() {
        match event {
            OutboxEvent::NetworkChanged { available } => hints.push(available),
            OutboxEvent::Changed(report) => {
                let before = last.insert(report.id, report.version);
                assert!(
                    before.is_none_or(|v| v < report.version),
                    "versions only grow, in the order they arrive: {before:?} then {}",
                    report.version
                );
                assert!(!removed.contains(&report.id), "nothing after a removal");
            }
            OutboxEvent::Removed { id, version } => {
                assert!(last.get(&id).is_some_and(|v| *v < version));
                removed.push(id);
            }
        }
    }
    assert_eq!(removed, [edited.id]);
    assert_eq!(
        hints,
        [false, true],
        "one event per change of the hint, no row touched"
    );
    for report in &sent {
        let latest = curbside.report(&report.id).unwrap().0;
        assert_eq!(latest.state, ReportState::Sent);
        assert_eq!(
            last[&report.id], latest.version,
            "the last event is the committed state"
        );
    }
}

/// Two sending runs of one process never overlap: a background run (WorkManager, a BGTask,
/// a pull-to-refresh) made while the worker posts waits for it. Before, the second run took
/// the worker's report in flight for one cut off by a crash: it "recovered" it, searched the
/// server and told listeners stale copies with the same version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_made_while_the_worker_posts_waits_and_recovers_nothing() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = std::sync::Arc::new(open(dir.path(), &sandbox));
    sandbox
        .faults()
        .next(Scope::Post, Fault::Stall(Duration::from_millis(300)));
    let report = submit(&curbside, pothole("one run at a time"));
    tokio::spawn(std::sync::Arc::clone(&curbside).run_worker());
    for _ in 0..200 {
        let (now, _) = curbside.report(&report.id).unwrap();
        if matches!(now.state, ReportState::Sending { .. }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    curbside
        .run_pending(Instant::now() + Duration::from_secs(20))
        .await
        .unwrap();
    let (sent, history) = curbside.report(&report.id).unwrap();
    assert_eq!(sent.state, ReportState::Sent);
    assert!(
        !history.iter().any(|h| h.event == HistoryEvent::Recovered),
        "{history:?}"
    );
    assert_eq!(on_server(&sandbox, "one run at a time"), 1);
}

#[tokio::test]
async fn a_screen_reads_a_page_newest_first_with_the_total() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    curbside.set_network_available(false);
    let ids: Vec<_> = (0..5)
        .map(|i| submit(&curbside, pothole(&format!("page {i}"))).id)
        .collect();
    let (first, total) = curbside.reports_page(2, 0).unwrap();
    assert_eq!(total, 5);
    assert_eq!(
        first.iter().map(|r| r.id).collect::<Vec<_>>(),
        [ids[4], ids[3]],
        "newest first"
    );
    assert_eq!(first[0].description, "page 4");
    assert_eq!(first[0].service_code, "pothole");
    let (last, _) = curbside.reports_page(2, 4).unwrap();
    assert_eq!(last.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[0]]);
    // The page is what the full list says, field for field.
    assert_eq!(curbside.reports().unwrap()[..2], first[..]);
}

#[tokio::test]
async fn a_server_paused_mid_batch_gets_nothing_more_and_its_marks_are_taken_back() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut wrong = server(&sandbox);
    wrong.api_key = Some(ApiKey::new("expired"));
    curbside.set_server("other", wrong).unwrap();
    let to_other = |text: &str| {
        let draft = curbside.create_draft(pothole(text)).unwrap();
        curbside.submit(&draft.id, "other").unwrap()
    };
    // One batch takes the good report and the first refused ones: the refusal pauses the
    // server, and its marked reports are taken back.
    let first = submit(&curbside, pothole("good first"));
    let refused: Vec<_> = (0..5).map(|i| to_other(&format!("refused {i}"))).collect();
    let later: Vec<_> = (0..2)
        .map(|i| submit(&curbside, pothole(&format!("good {i}"))))
        .collect();

    let summary = curbside
        .run_pending(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(summary.sent, 3, "{summary:?}");
    assert_eq!(
        summary.failed, 1,
        "one refusal, the rest not tried: {summary:?}"
    );
    let posted_to_other = sandbox
        .requests()
        .iter()
        .filter(|r| {
            r.field("description")
                .is_some_and(|d| d.starts_with("refused"))
        })
        .count();
    assert_eq!(posted_to_other, 0, "the refused POST stored nothing");
    for report in [&first].into_iter().chain(&later) {
        assert_eq!(
            curbside.report(&report.id).unwrap().0.state,
            ReportState::Sent
        );
    }
    let states: Vec<_> = refused
        .iter()
        .map(|r| curbside.report(&r.id).unwrap().0)
        .collect();
    let parked = states
        .iter()
        .filter(|r| matches!(r.state, ReportState::NeedsAttention { .. }))
        .count();
    assert_eq!(parked, 1);
    for report in states.iter().filter(|r| r.state == ReportState::Queued) {
        assert_eq!(report.attempts, 0, "a mark taken back is not an attempt");
    }
    assert_eq!(
        states
            .iter()
            .filter(|r| r.state == ReportState::Queued)
            .count(),
        4,
        "marked with the batch, held back when the server was paused"
    );
}

#[tokio::test]
async fn a_run_cut_off_by_its_deadline_leaves_nothing_marked_that_was_not_posted() {
    let config = SandboxConfig {
        modes: vec![curbside_sandbox::Mode::Slow { millis: 200 }],
        ..Default::default()
    };
    let sandbox = Sandbox::start(config, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let reports: Vec<_> = (0..20)
        .map(|i| submit(&curbside, pothole(&format!("slow {i}"))))
        .collect();
    // Batches of about five (what is sent in a second at 200 ms each); no step starts with
    // less than a second left, so the run stops inside a batch.
    let summary = curbside
        .run_pending(Instant::now() + Duration::from_millis(2500))
        .await
        .unwrap();
    let rows: Vec<_> = reports
        .iter()
        .map(|r| curbside.report(&r.id).unwrap())
        .collect();
    let sent = rows
        .iter()
        .filter(|(r, _)| r.state == ReportState::Sent)
        .count();
    assert_eq!(summary.sent as usize, sent);
    assert_eq!(
        sandbox.requests().len(),
        sent,
        "every POST that left is recorded as sent"
    );
    let queued: Vec<_> = rows
        .iter()
        .filter(|(r, _)| r.state == ReportState::Queued)
        .collect();
    assert_eq!(
        sent + queued.len(),
        20,
        "nothing left in flight or checking"
    );
    assert!(
        !queued.is_empty(),
        "the deadline came before the outbox was empty"
    );
    for (report, history) in &queued {
        assert_eq!(report.attempts, 0);
        assert_eq!(history.len(), 1, "only submitted: {history:?}");
    }

    drain(&curbside).await;
    for (i, _) in reports.iter().enumerate() {
        assert_eq!(on_server(&sandbox, &format!("slow {i}")), 1);
    }
}

#[tokio::test]
async fn a_start_with_nothing_to_send_writes_nothing() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    {
        let curbside = open(dir.path(), &sandbox);
        submit(&curbside, pothole("sent yesterday"));
        drain(&curbside).await;
    }
    // Another connection sees every commit made by anyone else as a new data_version.
    let watcher = rusqlite::Connection::open(dir.path().join("curbside.sqlite3")).unwrap();
    let version = || -> i64 {
        watcher
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .unwrap()
    };
    let before = version();
    // An app's start: open, its settings again, the network hint, a background run, a screen.
    let curbside = open(dir.path(), &sandbox);
    curbside.set_network_available(true);
    let summary = curbside
        .run_pending(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!((summary.sent, summary.waiting), (0, 0));
    assert_eq!(curbside.reports_page(50, 0).unwrap().1, 1);
    assert_eq!(version(), before, "nothing was written");
}
