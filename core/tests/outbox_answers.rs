//! The outbox against the city's kinds of answers: tokens and batch services, the client
//! reference, XML, photos, and what stays in the database once a report is finished.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use curbside_core::open311::{ApiKey, Format};
use curbside_core::outbox::{HistoryEvent, OutboxEvent, ReportState, RetryPolicy, SendStep};
use curbside_core::{DraftFields, Error};
use curbside_sandbox::{Fault, Sandbox, SandboxConfig, Scope};

mod common;
use common::*;

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
