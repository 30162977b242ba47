//! Delivery against a sandbox as stubborn as real city servers: each mode of the sandbox
//! reproduces a behaviour seen on a real Open311 implementation, and the outbox must hold
//! there: every report on the server exactly once, never a neighbour's request taken for the
//! device's, refusals that say what to do, status changes seen after one sync.

use std::time::{Duration, Instant};

use curbside_core::open311::{ApiKey, Format, Open311Client, RequestQuery};
use curbside_core::outbox::{
    AttentionAction, AttentionKind, HistoryEvent, LastErrorCode, OutboxEvent, ReportState,
};
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

fn attention(
    curbside: &Curbside,
    report: &curbside_core::outbox::Report,
) -> (AttentionKind, AttentionAction, String) {
    match curbside.report(&report.id).unwrap().0.state {
        ReportState::NeedsAttention { attention } => (
            attention.kind,
            attention.action,
            attention
                .messages
                .iter()
                .map(|m| m.description.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => panic!("expected needs attention, got {other:?}"),
    }
}

#[tokio::test]
async fn a_report_without_photos_reaches_a_server_that_reads_content_length_only() {
    let sandbox = sandbox(&[Mode::ContentLengthOnly]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    for format in [Format::Json, Format::Xml] {
        let mut config = server(&sandbox);
        config.format = format;
        curbside.set_server(SERVER, config).unwrap();
        let description = format!("no photo, {format:?}");
        let report = submit(&curbside, pothole(&description));
        drain(&curbside).await;
        assert_eq!(
            curbside.report(&report.id).unwrap().0.state,
            ReportState::Sent,
            "{format:?}"
        );
        assert_eq!(on_server(&sandbox, &description), 1);
    }
}

#[tokio::test]
async fn a_lost_answer_is_found_on_a_server_whose_lists_have_no_position() {
    let sandbox = sandbox(&[Mode::NoPositions]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let report = submit(&curbside, pothole("corner of 5th and Main"));
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
    drain(&curbside).await;
    let sent = curbside.report(&report.id).unwrap().0;
    assert_eq!(sent.state, ReportState::Sent);
    assert_eq!(on_server(&sandbox, "corner of 5th and Main"), 1);
    assert_eq!(sandbox.posts(), 1, "checked, not posted again");
}

#[tokio::test]
async fn a_gateway_timeout_after_commit_is_checked_not_posted_again() {
    let sandbox = sandbox(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    for code in [502, 503, 504, 500] {
        let description = format!("committed then {code}");
        let report = submit(&curbside, pothole(&description));
        sandbox.faults().next(Scope::Post, Fault::CommitThen(code));
        drain(&curbside).await;
        let (sent, history) = curbside.report(&report.id).unwrap();
        assert_eq!(sent.state, ReportState::Sent, "{code}");
        assert_eq!(on_server(&sandbox, &description), 1, "{code}");
        assert!(
            history
                .iter()
                .any(|h| matches!(h.event, HistoryEvent::ServerUnavailable { status } | HistoryEvent::ServerError { status, .. } if status == code)),
            "the history says what the server answered: {history:?}"
        );
    }
}

#[tokio::test]
async fn two_local_reports_with_the_same_words_each_keep_their_own_id() {
    let sandbox = sandbox(&[Mode::NoPositions]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let first = submit(&curbside, pothole("Pothole"));
    drain(&curbside).await;
    let second = submit(&curbside, pothole("Pothole"));
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
    drain(&curbside).await;
    let first = curbside.report(&first.id).unwrap().0;
    let second = curbside.report(&second.id).unwrap().0;
    assert_eq!(second.state, ReportState::Sent);
    assert_ne!(
        first.request_id, second.request_id,
        "an id another local report holds is never taken"
    );
    assert_eq!(on_server(&sandbox, "Pothole"), 2);
}

#[tokio::test]
async fn a_neighbours_identical_report_is_never_taken_for_the_devices() {
    // The neighbour posts the same words at the same corner just before each of our POSTs.
    let sandbox = sandbox(&[Mode::NeighbourTwin]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let report = submit(&curbside, pothole("Pothole"));
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
    drain(&curbside).await;
    let (kind, action, _) = attention(&curbside, &report);
    assert_eq!(kind, AttentionKind::AmbiguousMatch);
    assert_eq!(action, AttentionAction::ConfirmPossibleDuplicate);
    assert_eq!(curbside.report(&report.id).unwrap().0.request_id, None);
    assert_eq!(sandbox.posts(), 1, "never posted again silently");

    // Where the server keeps the report's UUID, the search finds exactly ours.
    let mut config = server(&sandbox);
    config.quirks.client_reference_attribute = Some("curbside_id".into());
    curbside.set_server(SERVER, config).unwrap();
    let ours = submit(&curbside, pothole("Pothole"));
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
    drain(&curbside).await;
    let ours = curbside.report(&ours.id).unwrap().0;
    assert_eq!(ours.state, ReportState::Sent);
    let stored = sandbox
        .requests()
        .into_iter()
        .find(|r| Some(&r.id) == ours.request_id.as_ref())
        .unwrap();
    assert_eq!(
        stored.field("attribute[curbside_id]"),
        Some(ours.id.to_string().as_str()),
        "the id is the device's request, not the neighbour's"
    );
}

#[tokio::test]
async fn a_match_on_service_and_time_alone_is_not_taken() {
    // No words, and a server that lists no positions: any pothole reported since is a match.
    let sandbox = sandbox(&[Mode::NoPositions]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let report = submit(&curbside, pothole(""));
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
    drain(&curbside).await;
    let (kind, action, _) = attention(&curbside, &report);
    assert_eq!(kind, AttentionKind::AmbiguousMatch);
    assert_eq!(action, AttentionAction::ConfirmPossibleDuplicate);
    assert_eq!(sandbox.posts(), 1);
    // The user confirms it did not arrive... it did: the report is sent again only then.
    curbside.retry_report(&report.id).unwrap();
    drain(&curbside).await;
    assert_eq!(
        curbside.report(&report.id).unwrap().0.state,
        ReportState::Sent
    );
}

#[tokio::test]
async fn a_report_the_server_never_accepts_stops_after_three_checked_attempts() {
    let sandbox = sandbox(&[Mode::RefuseWith500]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut fields = pothole("too deep to measure");
    fields.attributes[1].values = vec!["bottomless".into()]; // DEPTH must be a number
    let report = submit(&curbside, fields);
    drain(&curbside).await;
    let (kind, action, words) = attention(&curbside, &report);
    assert_eq!(kind, AttentionKind::ServerKeepsFailing);
    assert_eq!(action, AttentionAction::EditAndResubmit);
    assert_eq!(
        words, "ValidationError at /open311/v2/requests.json",
        "the page reduced to its title"
    );
    assert_eq!(sandbox.posts(), 3);
    assert_eq!(sandbox.requests().len(), 0);
    let history = curbside.report(&report.id).unwrap().1;
    assert!(
        history.iter().all(|h| h.event != HistoryEvent::NoAnswer),
        "the city answered, and the history says so: {history:#?}"
    );
    assert!(history
        .iter()
        .any(|h| matches!(h.event, HistoryEvent::ServerError { status: 500, .. })));
    // Editing is allowed again: each attempt was checked not to be on the server.
    curbside.edit_report(&report.id).unwrap();
}

#[tokio::test]
async fn a_bad_key_answered_400_pauses_the_server_and_costs_one_request() {
    let sandbox = sandbox(&[Mode::KeyAs400, Mode::BareErrors]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut wrong = server(&sandbox);
    wrong.api_key = Some(ApiKey::new("revoked"));
    curbside.set_server(SERVER, wrong.clone()).unwrap();
    let first = submit(&curbside, pothole("key test one"));
    let second = submit(&curbside, pothole("key test two"));
    for _ in 0..3 {
        // Each run re-applies the same settings, as the CLI and apps do at start.
        curbside.set_server(SERVER, wrong.clone()).unwrap();
        curbside
            .run_pending(Instant::now() + Duration::from_secs(5))
            .await
            .unwrap();
    }
    assert_eq!(sandbox.posts(), 1, "one refused request, not one per run");
    let (kind, action, words) = attention(&curbside, &first);
    assert_eq!(kind, AttentionKind::SettingsRefused);
    assert_eq!(action, AttentionAction::CheckSettings);
    assert_eq!(words, "Invalid API key");
    assert_eq!(
        curbside.report(&second.id).unwrap().0.state,
        ReportState::Queued
    );
    let history = curbside.report(&first.id).unwrap().1;
    assert!(
        !history
            .iter()
            .any(|h| h.event == HistoryEvent::SettingsChanged),
        "nothing changed: {history:?}"
    );

    curbside.set_server(SERVER, server(&sandbox)).unwrap();
    drain(&curbside).await;
    assert_eq!(on_server(&sandbox, "key test one"), 1);
    assert_eq!(on_server(&sandbox, "key test two"), 1);
}

#[tokio::test]
async fn a_refusal_in_a_bare_dialect_keeps_the_servers_words_per_field() {
    let sandbox = sandbox(&[Mode::BareErrors]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut config = server(&sandbox);
    config.format = Format::Xml;
    curbside.set_server(SERVER, config).unwrap();
    let mut fields = pothole("where exactly?");
    fields.attributes.remove(0); // WHERE is required
    let report = submit(&curbside, fields);
    drain(&curbside).await;
    let (kind, action, words) = attention(&curbside, &report);
    assert_eq!(kind, AttentionKind::Refused);
    assert_eq!(action, AttentionAction::EditAndResubmit);
    assert_eq!(words, "attribute[WHERE] is required");
}

#[tokio::test]
async fn status_changes_are_seen_on_a_strict_server() {
    let sandbox = sandbox(&[Mode::StrictParams]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut config = server(&sandbox);
    config.quirks.extensions = true; // wrongly: the server refuses it, and the client learns
    curbside.set_server(SERVER, config).unwrap();
    let report = submit(&curbside, pothole("strict city"));
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop); // the search must work there too
    drain(&curbside).await;
    let summary = curbside.sync_now().await.unwrap();
    assert_eq!(summary.status_error, None);
    let id = curbside.report(&report.id).unwrap().0.request_id.unwrap();
    assert_eq!(on_server(&sandbox, "strict city"), 1);
    sandbox.set_status(&id, "closed", "Filled").unwrap();
    let summary = curbside.sync_now().await.unwrap();
    assert_eq!(summary.status_changes, 1);
    assert_eq!(summary.status_error, None);
    let closed = curbside.report(&report.id).unwrap().0;
    assert_eq!(closed.status.as_deref(), Some("closed"));
    assert_eq!(closed.last_error, None);
}

/// A city may reopen a closed request (the spec allows it; FixMyStreet does it): a closed
/// report is still asked for, less and less often, for 30 days, and its history says so.
/// A reopening is seen after one sync.
#[tokio::test]
async fn a_closed_report_is_followed_for_a_while_and_a_reopening_is_seen() {
    let sandbox = sandbox(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let report = submit(&curbside, pothole("reopened"));
    drain(&curbside).await;
    let id = curbside.report(&report.id).unwrap().0.request_id.unwrap();
    sandbox.set_status(&id, "closed", "Filled").unwrap();
    curbside.sync_now().await.unwrap();
    let (closed, history) = curbside.report(&report.id).unwrap();
    assert_eq!(closed.status.as_deref(), Some("closed"));
    assert!(
        history
            .iter()
            .any(|h| h.event == HistoryEvent::FollowedAfterClosing { days: 30 }),
        "the history says how long it is followed: {history:?}"
    );

    sandbox
        .set_status(&id, "open", "Reopened: the patch failed")
        .unwrap();
    let summary = curbside.sync_now().await.unwrap();
    assert_eq!(summary.status_changes, 1);
    let (reopened, history) = curbside.report(&report.id).unwrap();
    assert_eq!(reopened.status.as_deref(), Some("open"));
    assert!(history.iter().any(|h| matches!(&h.event,
        HistoryEvent::StatusChanged { status, .. } if status == "open")));

    // Less and less often, then no more: asked when the time since the last look is a
    // quarter of the time since it closed, for 30 days.
    sandbox.set_status(&id, "closed", "Filled again").unwrap();
    curbside.sync_now().await.unwrap();
    let day = 86_400_000i64;
    let asked = |closed_days_ago: i64, looked_days_ago: i64| {
        let now = chrono::Utc::now().timestamp_millis();
        rusqlite::Connection::open(dir.path().join(curbside_core::DATABASE_FILE))
            .unwrap()
            .execute(
                "UPDATE reports SET closed_seen_at = ?1, status_looked_at = ?2",
                (now - closed_days_ago * day, now - looked_days_ago * day),
            )
            .unwrap();
        let before = sandbox.log().len();
        let (curbside, sandbox, id) = (&curbside, &sandbox, &id);
        async move {
            curbside.sync_now().await.unwrap();
            sandbox.log()[before..]
                .iter()
                .any(|q| q.starts_with("GET") && q.contains(id.as_str()))
        }
    };
    assert!(
        !asked(12, 2).await,
        "closed 12 days ago, asked 2 days ago: not yet"
    );
    assert!(asked(12, 4).await, "asked 4 days ago: due");
    assert!(
        !asked(31, 20).await,
        "closed more than 30 days ago: no more"
    );
}

#[tokio::test]
async fn a_failed_status_refresh_is_visible() {
    let sandbox = sandbox(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let report = submit(&curbside, pothole("watched"));
    drain(&curbside).await;
    let (_, mut changes) = curbside.subscribe().unwrap();
    sandbox.faults().always(Some(Fault::ServerError(500)));
    let summary = curbside.sync_now().await.unwrap();
    sandbox.faults().clear();
    let error = summary.status_error.expect("the failure is reported");
    assert!(error.contains("HTTP 500"), "{error}");
    let seen = curbside.report(&report.id).unwrap().0.last_error.unwrap();
    assert_eq!(seen.code, LastErrorCode::StatusRefresh, "a code apps word");
    assert_eq!(seen.detail, error);
    let OutboxEvent::Changed(event) = changes.try_recv().unwrap() else {
        panic!("a change")
    };
    assert_eq!(event.last_error, Some(seen), "an event");
    curbside.sync_now().await.unwrap();
    assert_eq!(
        curbside.report(&report.id).unwrap().0.last_error,
        None,
        "cleared once it works"
    );
}

#[tokio::test]
async fn statuses_a_city_keeps_as_ids_are_mapped_by_its_profile() {
    let sandbox = sandbox(&[Mode::StatusIds]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let report = submit(&curbside, pothole("city statuses"));
    drain(&curbside).await;
    curbside.sync_now().await.unwrap();
    assert_eq!(
        curbside.report(&report.id).unwrap().0.status.as_deref(),
        Some("3"),
        "unknown values are kept as sent"
    );
    let mut config = server(&sandbox);
    config.quirks.status_map = [("3", "open"), ("7", "closed")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    curbside.set_server(SERVER, config).unwrap();
    let id = curbside.report(&report.id).unwrap().0.request_id.unwrap();
    sandbox.set_status(&id, "closed", "Done").unwrap();
    let summary = curbside.sync_now().await.unwrap();
    assert_eq!(summary.status_changes, 1);
    assert_eq!(
        curbside.report(&report.id).unwrap().0.status.as_deref(),
        Some("closed")
    );
    // One request asked by id (as a report past a list's cap is): mapped the same way.
    let mut config = server(&sandbox);
    config.quirks.status_map = [("3", "open"), ("7", "closed")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let client = Open311Client::new(config).unwrap();
    assert_eq!(
        client.request(&id).await.unwrap().status.as_deref(),
        Some("closed")
    );
}

#[tokio::test]
async fn a_server_that_ignores_filters_and_caps_its_list() {
    let sandbox = sandbox(&[Mode::IgnoreFilters { cap: 1000 }]).await;
    sandbox.seed(1000);
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);

    // Its lists are filtered on the device before anything is shown.
    let client = Open311Client::new(server(&sandbox)).unwrap();
    let page = client
        .requests(&RequestQuery {
            ids: vec!["1001".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.requests.len(), 1);
    assert!(page.contradicted);

    // A status change is seen after one sync, although the report is past row 1,000.
    let report = submit(&curbside, pothole("past the cap"));
    drain(&curbside).await;
    let id = curbside.report(&report.id).unwrap().0.request_id.unwrap();
    sandbox.set_status(&id, "closed", "Fixed").unwrap();
    let summary = curbside.sync_now().await.unwrap();
    assert_eq!(summary.status_changes, 1);
    assert_eq!(
        curbside.report(&report.id).unwrap().0.status.as_deref(),
        Some("closed")
    );

    // A lost answer there: the search proves nothing, so the user decides; still once.
    let lost = submit(&curbside, pothole("lost past the cap"));
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
    drain(&curbside).await;
    let (kind, action, _) = attention(&curbside, &lost);
    assert_eq!(kind, AttentionKind::Unsearchable);
    assert_eq!(action, AttentionAction::ConfirmPossibleDuplicate);
    assert_eq!(on_server(&sandbox, "lost past the cap"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix_on_a_stubborn_server_every_report_exactly_once() {
    // A clock 15 minutes behind and a list that lags its commits by a second, besides.
    let modes = [
        Mode::NoPositions,
        Mode::StrictParams,
        Mode::ContentLengthOnly,
        Mode::ClockSkew { secs: -900 },
        Mode::SearchLag { millis: 1000 },
    ];
    let sandbox = sandbox(&modes).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut roll = percent_dice(0x9E3779B97F4A7C15);
    // CURBSIDE_MATRIX_REPORTS=1000 for a long run.
    let n: usize = std::env::var("CURBSIDE_MATRIX_REPORTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    // Every finished report kept, so that each can be counted.
    curbside.set_retention(curbside_core::Retention {
        max_finished_reports: n as u32,
        ..Default::default()
    });
    for i in 0..n {
        submit(&curbside, pothole(&format!("stubborn {i}")));
    }
    // Commit-then-drop 20%, commit-then-504 15%, 503 10%, captive portal 5% of POSTs.
    for _ in 0..(3 * n) {
        let fault = match roll() {
            0..=19 => Some(Fault::CommitThenDrop),
            20..=34 => Some(Fault::CommitThen(504)),
            35..=44 => Some(Fault::ServerError(503)),
            45..=49 => Some(Fault::CaptivePortal),
            _ => None,
        };
        if let Some(f) = fault {
            sandbox.faults().next(Scope::Post, f);
        }
    }
    drain(&curbside).await;
    sandbox.faults().clear();
    let reports = curbside.reports().unwrap();
    assert_eq!(reports.len(), n, "none lost");
    let mut lost = 0;
    let mut duplicated = 0;
    for i in 0..n {
        match on_server(&sandbox, &format!("stubborn {i}")) {
            0 => lost += 1,
            1 => {}
            _ => duplicated += 1,
        }
    }
    println!(
        "stubborn matrix: {n} reports, {} POSTs, {lost} lost, {duplicated} duplicated",
        sandbox.posts()
    );
    assert_eq!((lost, duplicated), (0, 0));
    assert!(reports
        .iter()
        .all(|r| r.state == ReportState::Sent && r.request_id.is_some()));
    let ids: std::collections::HashSet<_> = reports.iter().map(|r| r.request_id.clone()).collect();
    assert_eq!(ids.len(), n, "each report has its own city id");
}
