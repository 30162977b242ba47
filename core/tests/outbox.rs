//! The outbox and sync engine against the sandbox server on loopback, on real SQLite files.
//!
//! Longer than 600 lines on purpose: the scenarios of the outbox's promise (nothing lost,
//! nothing sent twice) side by side, over one set of helpers; the state machine's table is
//! tested row by row in `curbside-outbox` itself.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use curbside_core::open311::{ApiKey, Format};
use curbside_core::outbox::{
    AttentionAction, AttentionKind, HistoryEvent, OutboxEvent, ReportId, ReportState, RetryPolicy,
    SendStep,
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
async fn no_api_key_and_no_contact_details_stay_in_the_database_after_a_full_flow() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    for keep_contact in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let curbside = open(dir.path(), &sandbox);
        curbside.set_keep_contact(keep_contact);
        let profile = format!(
            r#"{{"id": "city", "name": "City", "server": {{"endpoint": "{}", "api_key": "profile-secret-4711"}}}}"#,
            sandbox.endpoint()
        );
        // The key given apart (from the app's Keystore) replaces the document's.
        curbside
            .add_profile_with(&profile, |_| Some(ApiKey::new("sandbox-key")), None)
            .unwrap();
        let mut fields = pothole("with contact");
        fields.contact = curbside_core::Contact {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace-Byron".into()),
            email: Some("ada.lovelace@example.org".into()),
            phone: Some("+1 555 0100 4711".into()),
        };
        let report = submit(&curbside, fields.clone());
        let mut to_city = fields;
        to_city.description = "to the profile".into();
        let other = curbside.create_draft(to_city).unwrap();
        let other = curbside.submit(&other.id, "city").unwrap();
        drain(&curbside).await;
        for id in [report.id, other.id] {
            assert_eq!(curbside.report(&id).unwrap().0.state, ReportState::Sent);
        }
        let stored = sandbox
            .requests()
            .into_iter()
            .find(|r| r.field("description") == Some("with contact"))
            .unwrap();
        assert_eq!(
            stored.field("email"),
            Some("ada.lovelace@example.org"),
            "the city got it"
        );
        drop(curbside);
        let bytes = database_bytes(dir.path());
        assert!(
            holds(&bytes, "with contact"),
            "the search sees the database"
        );
        for secret in ["sandbox-key", "profile-secret-4711"] {
            assert!(!holds(&bytes, secret), "{secret} is in the database");
        }
        for contact in ["ada.lovelace@example.org", "Lovelace-Byron", "0100 4711"] {
            assert_eq!(
                holds(&bytes, contact),
                keep_contact,
                "{contact} kept: {keep_contact}"
            );
        }
    }
}

#[tokio::test]
async fn batch_services_wait_for_the_citys_id() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let report = submit(
        &curbside,
        DraftFields {
            service_code: Some("streetlight".into()),
            attributes: vec![],
            ..pothole("light out")
        },
    );
    curbside.set_retry_policy(RetryPolicy {
        token_poll: Duration::from_secs(60),
        ..fast()
    });
    curbside
        .run_pending(Instant::now() + Duration::from_secs(5))
        .await
        .unwrap();
    let waiting = curbside.report(&report.id).unwrap().0;
    assert_eq!(
        waiting.state,
        ReportState::Sending {
            step: SendStep::WaitingForId
        }
    );
    assert_eq!(waiting.request_id, None);
    // The next poll is persisted 60 s ahead: a restarted app with a fast policy still waits.
    drop(curbside);
    let reopened = open(dir.path(), &sandbox);
    assert_eq!(
        reopened
            .run_pending(Instant::now() + Duration::from_secs(5))
            .await
            .unwrap()
            .sent,
        0
    );
    assert_eq!(
        reopened.report(&report.id).unwrap().0.state,
        ReportState::Sending {
            step: SendStep::WaitingForId
        }
    );
}

#[tokio::test]
async fn tokens_resolve_and_my_reports_follow_the_city() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut config = server(&sandbox);
    config.quirks.extensions = true; // the sandbox keeps notes, as Chicago and Helsinki do
    curbside.set_server(SERVER, config).unwrap();
    let light = submit(
        &curbside,
        DraftFields {
            service_code: Some("streetlight".into()),
            attributes: vec![],
            ..pothole("lamp dark")
        },
    );
    let hole = submit(&curbside, pothole("tracked pothole"));
    drain(&curbside).await;
    let light = curbside.report(&light.id).unwrap().0;
    assert_eq!(light.state, ReportState::Sent);
    let light_id = light.request_id.unwrap();
    let hole_id = curbside.report(&hole.id).unwrap().0.request_id.unwrap();

    let (snapshot, mut changes) = curbside.subscribe().unwrap();
    assert_eq!(snapshot.len(), 2);
    sandbox
        .set_status(&hole_id, "closed", "Patched with cold mix")
        .unwrap();
    sandbox
        .set_status(&light_id, "open", "Crew assigned")
        .unwrap();
    assert_eq!(curbside.refresh_statuses().await.unwrap().changed, 2);
    assert_eq!(
        curbside.refresh_statuses().await.unwrap().changed,
        0,
        "nothing new the second time"
    );

    let (hole, history) = curbside.report(&hole.id).unwrap();
    assert_eq!(hole.status.as_deref(), Some("closed"));
    assert_eq!(hole.status_notes.as_deref(), Some("Patched with cold mix"));
    assert!(
        history
            .iter()
            .any(|h| matches!(&h.event, HistoryEvent::CityNote { text, .. } if text.contains("Patched with cold mix"))),
        "{history:?}"
    );
    let mut seen = HashMap::new();
    while let Ok(event) = changes.try_recv() {
        if let OutboxEvent::Changed(report) = event {
            seen.insert(report.id, report.status.clone());
        }
    }
    assert_eq!(
        seen.get(&hole.id),
        Some(&Some("closed".to_string())),
        "listeners hear about it"
    );
}

#[tokio::test]
async fn cancel_and_edit_only_before_anything_leaves() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let withdrawn = submit(&curbside, pothole("withdrawn"));
    assert_eq!(
        curbside.cancel_report(&withdrawn.id).unwrap().state,
        ReportState::Cancelled
    );
    let sent = submit(&curbside, pothole("already sent"));
    drain(&curbside).await;
    assert!(matches!(
        curbside.cancel_report(&sent.id),
        Err(Error::ReportLocked(_))
    ));
    assert!(matches!(
        curbside.edit_report(&sent.id),
        Err(Error::ReportLocked(_))
    ));
    assert_eq!(on_server(&sandbox, "withdrawn"), 0);
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
async fn xml_servers_work_the_same() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut config = server(&sandbox);
    config.format = Format::Xml;
    curbside.set_server(SERVER, config).unwrap();
    let report = submit(&curbside, pothole("in xml"));
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
    drain(&curbside).await;
    assert_eq!(
        curbside.report(&report.id).unwrap().0.state,
        ReportState::Sent
    );
    assert_eq!(on_server(&sandbox, "in xml"), 1);
}

#[tokio::test]
async fn photos_travel_as_uploads_or_the_history_says_why_not() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    // A camera photo, through the pipeline like every photo of a report.
    let camera = dir.path().join("camera.png");
    image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([x as u8, y as u8, 128]))
        .save(&camera)
        .unwrap();
    let with_photo = |description: &str| {
        let draft = curbside.create_draft(pothole(description)).unwrap();
        curbside.add_photo(&draft.id, &camera).unwrap();
        curbside.submit(&draft.id, SERVER).unwrap()
    };

    let plain = with_photo("no uploads here");
    let history = curbside.report(&plain.id).unwrap().1;
    assert!(
        history
            .iter()
            .any(|h| h.event == HistoryEvent::PhotosNotSent),
        "{history:?}"
    );

    let mut config = server(&sandbox);
    config.quirks.media = curbside_core::open311::MediaUpload::Multipart;
    curbside.set_server(SERVER, config).unwrap();
    with_photo("with upload");
    drain(&curbside).await;
    let stored = sandbox
        .requests()
        .into_iter()
        .find(|r| r.field("description") == Some("with upload"))
        .unwrap();
    assert_eq!(stored.media_urls.len(), 1, "the photo reached the city");
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

#[tokio::test]
async fn the_network_hint_parks_reports_and_brings_them_back() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = std::sync::Arc::new(open(dir.path(), &sandbox));
    let worker = tokio::spawn(std::sync::Arc::clone(&curbside).run_worker());
    curbside.set_network_available(false);
    let report = submit(&curbside, pothole("hint"));
    assert_eq!(report.state, ReportState::WaitingForNetwork);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        on_server(&sandbox, "hint"),
        0,
        "nothing is sent while the hint says away"
    );
    curbside.set_network_available(true);
    let deadline = Instant::now() + Duration::from_secs(10);
    while curbside.report(&report.id).unwrap().0.state != ReportState::Sent {
        assert!(
            Instant::now() < deadline,
            "not sent after the network came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.abort();
    assert_eq!(curbside.report(&report.id).unwrap().0.attempts, 1);
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
    while let Ok(event) = events.try_recv() {
        match event {
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
