//! The outbox and sync engine against the sandbox server on loopback, on real SQLite files:
//! save first, send once, retry as the server asks, and stop for the user only where the city
//! or its settings refuse. The state machine's table is tested row by row in
//! `curbside-outbox` itself; the city's kinds of answers are in `outbox_answers.rs`, runs,
//! faults and the network in `outbox_runs.rs`.

use std::time::{Duration, Instant};

use chrono::Utc;
use curbside_core::open311::ApiKey;
use curbside_core::outbox::{
    AttentionAction, AttentionKind, HistoryEvent, ReportState, RetryPolicy,
};
use curbside_core::{Curbside, DraftFields, Error};
use curbside_sandbox::{Fault, Sandbox, SandboxConfig, Scope};

mod common;
use common::*;

#[tokio::test]
async fn submit_saves_first_then_sends_once() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let draft = curbside.create_draft(pothole("first report")).unwrap();
    let report = curbside.submit(&draft.id, SERVER).unwrap();
    assert_eq!(report.state, ReportState::Queued);
    assert!(
        curbside.list_drafts().unwrap().is_empty(),
        "the draft became the report"
    );
    assert_eq!(
        sandbox.requests().len(),
        0,
        "nothing is sent by submit itself"
    );

    let summary = curbside
        .run_pending(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(summary.sent, 1);
    let (sent, history) = curbside.report(&report.id).unwrap();
    assert_eq!(sent.state, ReportState::Sent);
    let id = sent.request_id.clone().unwrap();
    let stored = sandbox.requests().into_iter().find(|r| r.id == id).unwrap();
    assert_eq!(stored.field("attribute[WHERE]"), Some("road"));
    assert_eq!(
        stored.field("attribute[curbside_id]"),
        None,
        "no client reference unless the profile names one"
    );
    assert_eq!(
        history.iter().map(|h| h.event.code()).collect::<Vec<_>>(),
        ["submitted", "received"]
    );

    curbside
        .run_pending(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        on_server(&sandbox, "first report"),
        1,
        "a sent report is never sent again"
    );
}

#[tokio::test]
async fn submit_refuses_what_cannot_be_sent_and_keeps_the_draft() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let no_service = curbside
        .create_draft(DraftFields {
            service_code: None,
            ..pothole("x")
        })
        .unwrap();
    let fields_of = |result: curbside_core::Result<curbside_core::outbox::Report>| match result {
        Err(Error::InvalidDraft(errors)) => errors.into_iter().map(|e| e.field).collect::<Vec<_>>(),
        other => panic!("expected InvalidDraft, got {other:?}"),
    };
    assert_eq!(
        fields_of(curbside.submit(&no_service.id, SERVER)),
        ["service_code"]
    );
    let nowhere = curbside
        .create_draft(DraftFields {
            location: None,
            ..pothole("x")
        })
        .unwrap();
    assert_eq!(
        fields_of(curbside.submit(&nowhere.id, SERVER)),
        ["location"]
    );
    assert!(matches!(
        curbside.submit(&nowhere.id, "elsewhere"),
        Err(Error::ServerNotFound(_))
    ));
    assert_eq!(curbside.list_drafts().unwrap().len(), 2);
    assert!(curbside.reports().unwrap().is_empty());
}

#[tokio::test]
async fn offline_then_back_online_and_backoff_survives_a_restart() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    curbside.set_retry_policy(RetryPolicy {
        initial: Duration::from_secs(60),
        max: Duration::from_secs(600),
        ..fast()
    });
    let report = submit(&curbside, pothole("dead zone"));
    // Refused before processing (a 5xx would leave the outcome unknown).
    sandbox.faults().next(
        Scope::Post,
        Fault::TooManyRequests {
            retry_after_secs: 0,
        },
    );
    let summary = curbside
        .run_pending(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(summary.failed, 1);
    let queued = curbside.report(&report.id).unwrap().0;
    assert_eq!(queued.state, ReportState::Queued);
    let due = queued.next_attempt_at.unwrap();
    assert!(
        due > Utc::now() + chrono::Duration::seconds(40),
        "backed off: {due}"
    );
    drop(curbside);

    let reopened = Curbside::open(dir.path()).unwrap();
    assert_eq!(
        reopened.report(&report.id).unwrap().0.next_attempt_at,
        Some(due),
        "the backoff is on disk"
    );
    reopened
        .run_pending(Instant::now() + Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(on_server(&sandbox, "dead zone"), 0, "not before its time");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let report = submit(&curbside, pothole("slow down"));
    sandbox.faults().next(
        Scope::Post,
        Fault::TooManyRequests {
            retry_after_secs: 30,
        },
    );
    curbside
        .run_pending(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    let due = curbside
        .report(&report.id)
        .unwrap()
        .0
        .next_attempt_at
        .unwrap();
    assert!(due >= Utc::now() + chrono::Duration::seconds(28), "{due}");
}

#[tokio::test]
async fn an_unanswered_post_is_found_not_resent() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    for (fault, description) in [
        (Fault::CommitThenDrop, "dropped answer"),
        (Fault::Stall(Duration::from_secs(3)), "stalled answer"),
        (Fault::ResetMidBody, "cut answer"),
    ] {
        let report = submit(&curbside, pothole(description));
        sandbox.faults().next(Scope::Post, fault);
        drain(&curbside).await;
        let (sent, history) = curbside.report(&report.id).unwrap();
        assert_eq!(sent.state, ReportState::Sent, "{description}");
        assert_eq!(
            on_server(&sandbox, description),
            1,
            "{description}: exactly once"
        );
        assert!(
            history.iter().any(|h| h.event == HistoryEvent::NoAnswer),
            "{description}: {history:?}"
        );
        assert!(
            history
                .iter()
                .any(|h| matches!(h.event, HistoryEvent::FoundOnServer { .. })),
            "{description}: {history:?}"
        );
    }
}

#[tokio::test]
async fn a_post_that_never_arrived_is_sent_again_after_checking() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let report = submit(&curbside, pothole("captive portal"));
    sandbox.faults().next(Scope::Post, Fault::CaptivePortal);
    drain(&curbside).await;
    let (sent, history) = curbside.report(&report.id).unwrap();
    assert_eq!(sent.state, ReportState::Sent);
    assert!(
        history.iter().any(|h| h.event == HistoryEvent::NotOnServer),
        "{history:?}"
    );
    assert_eq!(on_server(&sandbox, "captive portal"), 1);
}

#[tokio::test]
async fn an_unsearchable_server_parks_the_report_for_the_user() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let report = submit(&curbside, pothole("cannot check"));
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
    // The search answers 404 (as servers without GET requests do).
    let mut blind = server(&sandbox);
    blind.endpoint = sandbox.endpoint().replace("/open311/v2/", "/no-such-api/");
    curbside
        .run_pending(Instant::now() + Duration::from_secs(5))
        .await
        .unwrap();
    curbside.set_server(SERVER, blind).unwrap();
    drain(&curbside).await;
    match curbside.report(&report.id).unwrap().0.state {
        ReportState::NeedsAttention { attention } => {
            assert_eq!(attention.action, AttentionAction::ConfirmPossibleDuplicate);
            assert_eq!(attention.kind, AttentionKind::Unsearchable);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        curbside.cancel_report(&report.id),
        Err(Error::ReportLocked(_))
    ));
    // The user confirms; with the real endpoint back it is found... or, here, sent again.
    curbside.set_server(SERVER, server(&sandbox)).unwrap();
    curbside.retry_report(&report.id).unwrap();
    drain(&curbside).await;
    assert_eq!(
        curbside.report(&report.id).unwrap().0.state,
        ReportState::Sent
    );
}

#[tokio::test]
async fn refusals_need_attention_with_the_servers_words() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let incomplete = submit(
        &curbside,
        DraftFields {
            attributes: vec![],
            ..pothole("no answers")
        },
    );
    drain(&curbside).await;
    let ReportState::NeedsAttention { attention } =
        curbside.report(&incomplete.id).unwrap().0.state
    else {
        panic!()
    };
    assert_eq!(attention.action, AttentionAction::EditAndResubmit);
    assert!(attention
        .messages
        .iter()
        .any(|m| m.description == "attribute[WHERE] is required"));

    // Edit and resubmit: the report becomes a draft again, with everything the user entered.
    let draft = curbside.edit_report(&incomplete.id).unwrap();
    assert_eq!(draft.fields.description, "no answers");
    assert!(matches!(
        curbside.report(&incomplete.id),
        Err(Error::ReportNotFound)
    ));
    let fixed = curbside
        .update_draft(&draft.id, pothole("no answers"))
        .unwrap();
    let resubmitted = curbside.submit(&fixed.id, SERVER).unwrap();
    drain(&curbside).await;
    assert_eq!(
        curbside.report(&resubmitted.id).unwrap().0.state,
        ReportState::Sent
    );
    assert_eq!(on_server(&sandbox, "no answers"), 1);
}

#[tokio::test]
async fn a_refused_key_pauses_the_server_until_its_settings_change() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut wrong = server(&sandbox);
    wrong.api_key = Some(ApiKey::new("expired"));
    curbside.set_server(SERVER, wrong).unwrap();
    let first = submit(&curbside, pothole("key one"));
    let second = submit(&curbside, pothole("key two"));
    let summary = curbside
        .run_pending(Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        summary.failed, 1,
        "one refusal pauses the server; the other report is not tried"
    );
    let states: Vec<_> = [first.id, second.id]
        .iter()
        .map(|id| curbside.report(id).unwrap().0.state)
        .collect();
    assert!(states.iter().any(|s| matches!(s, ReportState::NeedsAttention { attention } if attention.action == AttentionAction::CheckSettings)));
    assert!(states.contains(&ReportState::Queued));

    // Keys live in memory only: the app gives the right one at its next start, and that is a
    // change of settings (the store kept the old key's fingerprint, not the key).
    drop(curbside);
    let curbside = open(dir.path(), &sandbox);
    drain(&curbside).await;
    assert_eq!(
        on_server(&sandbox, "key one") + on_server(&sandbox, "key two"),
        2
    );
}

#[tokio::test]
async fn two_instances_on_one_database_send_each_report_once() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a = open(dir.path(), &sandbox);
    let b = open(dir.path(), &sandbox);
    for i in 0..30 {
        submit(
            if i % 2 == 0 { &a } else { &b },
            pothole(&format!("shared {i}")),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let (ra, rb) = tokio::join!(a.run_pending(deadline), b.run_pending(deadline));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    drain(&a).await;
    assert!(ra.skipped_busy || rb.skipped_busy || ra.sent + rb.sent == 30);
    for i in 0..30 {
        assert_eq!(on_server(&sandbox, &format!("shared {i}")), 1, "report {i}");
    }
}

#[tokio::test]
async fn the_client_reference_travels_with_the_report() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut config = server(&sandbox);
    config.quirks.client_reference_attribute = Some("curbside_id".into());
    curbside.set_server(SERVER, config).unwrap();
    let report = submit(&curbside, pothole("referenced"));
    drain(&curbside).await;
    let stored = sandbox
        .requests()
        .into_iter()
        .find(|r| r.field("description") == Some("referenced"))
        .unwrap();
    assert_eq!(
        stored.field("attribute[curbside_id]"),
        Some(report.id.to_string().as_str())
    );
}
