//! Exactly-once in the field: servers whose clocks and zones are off, whose lists lag or
//! apply dates backwards, senders paused past their lease, answers without an id, keys
//! echoed back in every encoding. Each against the sandbox's mode for it, with lost answers.

use std::time::{Duration, Instant};

use curbside_core::open311::ApiKey;
use curbside_core::outbox::{AttentionKind, HistoryEvent, ReportState, RetryPolicy, Timing};
use curbside_core::Curbside;
use curbside_sandbox::{Fault, Mode, Sandbox, SandboxConfig, Scope};

mod common;
use common::*;

async fn sandbox(modes: &[Mode]) -> Sandbox {
    let config = SandboxConfig {
        modes: modes.to_vec(),
        ..Default::default()
    };
    Sandbox::start(config, 0).await.unwrap()
}

/// Five reports, the answers of the first three lost after the server stored them: each on
/// the server once, each with the city's id on the device.
async fn five_with_three_lost_answers(sandbox: &Sandbox, curbside: &Curbside, name: &str) {
    let mut reports = Vec::new();
    for i in 0..5 {
        reports.push(submit(curbside, pothole(&format!("{name} {i}"))));
        if i < 3 {
            sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
        }
    }
    drain(curbside).await;
    for (i, report) in reports.iter().enumerate() {
        let (sent, history) = curbside.report(&report.id).unwrap();
        assert_eq!(
            on_server(sandbox, &format!("{name} {i}")),
            1,
            "{name} {i}: {history:#?}"
        );
        assert_eq!(sent.state, ReportState::Sent, "{name} {i}: {history:#?}");
        assert!(sent.request_id.is_some(), "{name} {i}: the id is learnt");
    }
    assert_eq!(sandbox.posts(), 5, "{name}: nothing posted twice");
}

#[tokio::test]
async fn a_server_clock_15_minutes_behind_or_an_hour_ahead_makes_no_second_copy() {
    for secs in [-900, 3600] {
        let sandbox = sandbox(&[Mode::ClockSkew { secs }]).await;
        let dir = tempfile::tempdir().unwrap();
        let curbside = open(dir.path(), &sandbox);
        five_with_three_lost_answers(&sandbox, &curbside, &format!("skew {secs}")).await;
    }
}

#[tokio::test]
async fn local_times_labelled_z_are_searched_without_dates_and_the_id_is_learnt() {
    let sandbox = sandbox(&[Mode::LocalAsZ { hours: -5 }]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    five_with_three_lost_answers(&sandbox, &curbside, "new york").await;
    let lost = curbside
        .reports()
        .unwrap()
        .into_iter()
        .find(|r| r.description == "new york 0")
        .unwrap();
    let history = curbside.report(&lost.id).unwrap().1;
    assert!(
        history
            .iter()
            .any(|h| matches!(h.event, HistoryEvent::FoundOnServer { .. })),
        "found, not unsearchable: {history:#?}"
    );
}

#[tokio::test]
async fn a_date_filter_applied_backwards_is_caught_by_the_undated_list() {
    let sandbox = sandbox(&[Mode::BackwardsDates]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    five_with_three_lost_answers(&sandbox, &curbside, "backwards").await;
}

#[tokio::test]
async fn a_search_that_lags_its_commits_is_asked_again_before_a_second_post() {
    // A 30 s index refresh against the default two-minute confirmation, scaled down 40 times.
    let sandbox = sandbox(&[Mode::SearchLag { millis: 750 }]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    curbside.set_timing(Timing {
        confirm_wait: Duration::from_secs(3),
        ..quick()
    });
    curbside.set_retry_policy(RetryPolicy {
        max: Duration::from_secs(5),
        ..fast()
    });
    let mut config = server(&sandbox);
    config.limits.upload_timeout = Duration::from_millis(600);
    curbside.set_server(SERVER, config).unwrap();
    five_with_three_lost_answers(&sandbox, &curbside, "lagging").await;
}

#[tokio::test]
async fn the_lag_seen_on_the_devices_own_reports_holds_not_found_back() {
    // A list three seconds behind its commits, and a confirmation wait of 300 ms: only what
    // the device sees of the lag (its report sent just before is not listed yet) keeps it
    // from posting the lost one again.
    let sandbox = sandbox(&[Mode::SearchLag { millis: 3000 }]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut config = server(&sandbox);
    config.limits.upload_timeout = Duration::from_millis(600);
    curbside.set_server(SERVER, config).unwrap();
    submit(&curbside, pothole("sent just before"));
    curbside
        .run_pending(Instant::now() + Duration::from_secs(5))
        .await
        .unwrap();
    let lost = submit(&curbside, pothole("answer lost behind a lagging list"));
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
    drain(&curbside).await;
    assert_eq!(on_server(&sandbox, "sent just before"), 1);
    assert_eq!(on_server(&sandbox, "answer lost behind a lagging list"), 1);
    assert_eq!(
        curbside.report(&lost.id).unwrap().0.state,
        ReportState::Sent
    );
}

#[tokio::test]
async fn a_sender_paused_past_its_lease_leaves_one_row_and_its_late_id_is_kept() {
    let sandbox = sandbox(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let timing = Timing {
        lease: Duration::from_millis(800),
        confirm_wait: Duration::from_millis(300),
    };
    let mut config = server(&sandbox);
    config.limits.read_timeout = Duration::from_secs(10);
    config.limits.upload_timeout = Duration::from_secs(4);
    let paused = Curbside::open(dir.path()).unwrap();
    let taker = Curbside::open(dir.path()).unwrap();
    for curbside in [&paused, &taker] {
        curbside.set_server(SERVER, config.clone()).unwrap();
        curbside.set_retry_policy(fast());
        curbside.set_timing(timing);
    }
    let report = submit(&paused, pothole("held by the network"));
    // The network holds the POST for 2.5 s before the city stores it.
    sandbox
        .faults()
        .next(Scope::Post, Fault::Hold(Duration::from_millis(2500)));
    let run = paused.run_pending(Instant::now() + Duration::from_secs(30));
    tokio::pin!(run);
    // The POST leaves; then the process is paused (its run no longer polled).
    assert!(tokio::time::timeout(Duration::from_millis(300), &mut run)
        .await
        .is_err());
    tokio::time::sleep(Duration::from_millis(1000)).await; // past the lease
    let taken = taker
        .run_pending(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    assert!(!taken.skipped_busy, "the lease expired: the taker runs");
    // The taker keeps sending while the held POST reaches the city (2.5 s after it left).
    let until = Instant::now() + Duration::from_millis(1700);
    while Instant::now() < until {
        taker
            .run_pending(Instant::now() + Duration::from_secs(10))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        sandbox.posts(),
        1,
        "the taker waits past the held POST's deadline: only the held POST arrived"
    );
    // The paused process wakes; its POST arrives and is answered with the city's id.
    run.await.unwrap();
    drain(&taker).await;
    let (sent, history) = taker.report(&report.id).unwrap();
    assert_eq!(
        on_server(&sandbox, "held by the network"),
        1,
        "{history:#?}"
    );
    assert_eq!(sent.state, ReportState::Sent);
    let stored = sandbox
        .requests()
        .into_iter()
        .find(|r| r.field("description") == Some("held by the network"))
        .unwrap();
    assert_eq!(sent.request_id.as_deref(), Some(stored.id.as_str()));
    // The woken sender's id is the answer (or, on a slow machine where the taker's wait ran
    // out first, the taker found the same request): never a second POST.
    assert!(
        history.iter().any(|h| matches!(
            &h.event,
            HistoryEvent::AnsweredLate { request_id } | HistoryEvent::FoundOnServer { request_id }
                if *request_id == stored.id
        )),
        "{history:#?}"
    );
    assert_eq!(sandbox.posts(), 1);
}

#[tokio::test]
async fn answers_without_an_id_are_checked_and_re_posts_are_bounded() {
    // `[{}]` and a notice alone, for a realtime service: checked, found, with the city's id.
    for mode in [Mode::EmptyObject, Mode::NoticeOnly] {
        let sandbox = sandbox(&[mode]).await;
        let dir = tempfile::tempdir().unwrap();
        let curbside = open(dir.path(), &sandbox);
        let report = submit(&curbside, pothole("no id in the answer"));
        drain(&curbside).await;
        let sent = curbside.report(&report.id).unwrap().0;
        assert_eq!(sent.state, ReportState::Sent, "{mode:?}");
        assert!(
            sent.request_id.is_some(),
            "{mode:?}: found, never sent on a guess"
        );
        assert_eq!(sandbox.posts(), 1, "{mode:?}");
    }
    // A server that answers `[{}]` and stores nothing, with no backoff at all: three POSTs.
    let sandbox = sandbox(&[]).await;
    for _ in 0..20 {
        sandbox.faults().next(Scope::Post, Fault::EmptyAnswer);
    }
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    curbside.set_retry_policy(RetryPolicy {
        initial: Duration::ZERO,
        max: Duration::ZERO,
        ..fast()
    });
    let report = submit(&curbside, pothole("never usable"));
    for _ in 0..4 {
        drain(&curbside).await;
    }
    let state = curbside.report(&report.id).unwrap().0.state;
    assert!(
        matches!(&state, ReportState::NeedsAttention { attention } if attention.kind == AttentionKind::ServerKeepsFailing),
        "{state:?}"
    );
    sandbox.faults().clear();
    assert_eq!(curbside.report(&report.id).unwrap().0.attempts, 3);
}

#[tokio::test]
async fn a_key_echoed_in_any_encoding_is_never_stored_or_shown_and_pauses_nothing() {
    let key = "p@ss w+rd/=&ü\"x";
    let config = SandboxConfig {
        api_key: Some(key.into()),
        modes: vec![Mode::EchoBody],
        ..Default::default()
    };
    let sandbox = Sandbox::start(config, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut server = server(&sandbox);
    server.api_key = Some(ApiKey::new(key));
    curbside.set_server(SERVER, server).unwrap();
    let report = submit(&curbside, pothole("echoed"));
    drain(&curbside).await;
    let (shown, history) = curbside.report(&report.id).unwrap();
    match &shown.state {
        ReportState::NeedsAttention { attention } => {
            assert_eq!(attention.kind, AttentionKind::Refused, "not the settings")
        }
        other => panic!("{other:?}"),
    }
    let shown = format!("{shown:?} {history:?}");
    assert!(shown.contains("Could not process request body"), "{shown}");
    let encodings = [
        key.to_string(),
        form_urlencoded::byte_serialize(key.as_bytes()).collect(),
        "p%40ss%20w%2Brd%2F%3D%26%C3%BC%22x".to_string(),
        serde_json::to_string(key)
            .unwrap()
            .trim_matches('"')
            .to_string(),
    ];
    drop(curbside);
    let bytes = database_bytes(dir.path());
    for encoded in &encodings {
        assert!(
            !shown.contains(encoded.as_str()),
            "{encoded} shown: {shown}"
        );
        assert!(!holds(&bytes, encoded), "{encoded} stored");
    }
    // Another report to the same server goes out: nothing was paused.
    let curbside = open(dir.path(), &sandbox);
    let mut server = common::server(&sandbox);
    server.api_key = Some(ApiKey::new(key));
    curbside.set_server(SERVER, server).unwrap();
    sandbox.modes().clear();
    let next = submit(&curbside, pothole("after the echo"));
    drain(&curbside).await;
    assert_eq!(
        curbside.report(&next.id).unwrap().0.state,
        ReportState::Sent
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = sandbox(&[]).await;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("curbside");
    let curbside = open(&dir, &sandbox);
    submit(&curbside, pothole("private"));
    drain(&curbside).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            files += 1;
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
    assert!(files >= 2, "the database and its WAL");
}
