//! A way out of every wait, for the report and for the person: `withdraw` (never posted
//! again), `confirm` ("it did arrive", with the city's id), and `forget_everything` (nothing
//! personal left in the data directory).

use curbside_core::outbox::{AttentionKind, HistoryEvent, ReportState};
use curbside_core::{Contact, Curbside, Error};
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

fn kind(curbside: &Curbside, report: &curbside_core::outbox::Report) -> AttentionKind {
    match curbside.report(&report.id).unwrap().0.state {
        ReportState::NeedsAttention { attention } => attention.kind,
        other => panic!("expected needs attention, got {other:?}"),
    }
}

/// A report stopped on a possible duplicate (a neighbour's identical report beside a lost
/// answer): confirmed with the city's id it is sent and followed; another one withdrawn is
/// never posted again.
#[tokio::test]
async fn an_ambiguous_match_is_confirmed_or_withdrawn() {
    let sandbox = sandbox(&[Mode::NeighbourTwin]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let first = submit(&curbside, pothole("Pothole"));
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
    drain(&curbside).await;
    assert_eq!(kind(&curbside, &first), AttentionKind::AmbiguousMatch);

    // The citizen found it on the city's site: the newest of the twins is theirs.
    let theirs = sandbox.requests().last().unwrap().id.clone();
    let confirmed = curbside.confirm_report(&first.id, &theirs).unwrap();
    assert_eq!(confirmed.state, ReportState::Sent);
    assert_eq!(confirmed.request_id.as_deref(), Some(theirs.as_str()));
    let history = curbside.report(&first.id).unwrap().1;
    assert!(history.iter().any(|h| h.event
        == HistoryEvent::ConfirmedByUser {
            request_id: theirs.clone()
        }));
    sandbox.set_status(&theirs, "closed", "Filled").unwrap();
    curbside.sync_now().await.unwrap();
    assert_eq!(
        curbside.report(&first.id).unwrap().0.status.as_deref(),
        Some("closed"),
        "followed from then on"
    );

    let second = submit(&curbside, pothole("Pothole"));
    sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
    drain(&curbside).await;
    assert_eq!(kind(&curbside, &second), AttentionKind::AmbiguousMatch);
    let posts = sandbox.posts();
    let withdrawn = curbside.withdraw_report(&second.id).unwrap();
    assert_eq!(withdrawn.state, ReportState::Cancelled);
    assert!(curbside
        .report(&second.id)
        .unwrap()
        .1
        .iter()
        .any(|h| h.event == HistoryEvent::Withdrawn));
    curbside.sync_now().await.unwrap();
    assert_eq!(sandbox.posts(), posts, "never posted again");
    assert!(matches!(
        curbside.retry_report(&second.id),
        Ok(r) if r.state == ReportState::Cancelled
    ));
}

/// A city whose lists cannot be searched (it does not publish them), answering `[{}]` or
/// losing the answer: the report waits for the user, who can withdraw it or confirm it; a
/// report never posted cannot be "confirmed".
#[tokio::test]
async fn an_unsearchable_report_is_withdrawn_or_confirmed() {
    let sandbox = sandbox(&[Mode::ListsRefused]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let mut waiting = Vec::new();
    for words in ["lost one", "lost two"] {
        let report = submit(&curbside, pothole(words));
        match words {
            "lost one" => sandbox.faults().next(Scope::Post, Fault::CommitThenDrop),
            _ => sandbox.modes().on(Mode::EmptyObject),
        }
        drain(&curbside).await;
        assert_eq!(kind(&curbside, &report), AttentionKind::Unsearchable);
        waiting.push(report);
    }
    assert_eq!(
        curbside.withdraw_report(&waiting[0].id).unwrap().state,
        ReportState::Cancelled
    );
    let id = sandbox
        .requests()
        .iter()
        .find(|r| r.field("description") == Some("lost two"))
        .unwrap()
        .id
        .clone();
    assert_eq!(
        curbside.confirm_report(&waiting[1].id, &id).unwrap().state,
        ReportState::Sent
    );
    assert!(matches!(
        curbside.confirm_report(&waiting[1].id, " "),
        Err(Error::InvalidInput { .. })
    ));

    // Offline before any POST: withdrawn at once; never "confirmed".
    sandbox.set_reachable(false).await.unwrap();
    let offline = submit(&curbside, pothole("in a dead zone"));
    curbside
        .run_pending(std::time::Instant::now() + std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert!(matches!(
        curbside.confirm_report(&offline.id, "1001"),
        Err(Error::ReportLocked(_))
    ));
    assert_eq!(
        curbside.withdraw_report(&offline.id).unwrap().state,
        ReportState::Cancelled
    );
}

/// The person's way out: every report, draft, photo and cached request goes; unsent reports
/// are named first; and nothing personal is left in any file of the data directory.
#[tokio::test]
async fn forget_everything_leaves_nothing_personal() {
    let sandbox = sandbox(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(dir.path(), &sandbox);
    let contact = Contact {
        first_name: Some("Zebulon".into()),
        last_name: Some("Quartermaine".into()),
        email: Some("zebulon.q@example.org".into()),
        phone: Some("+1 555 0142 7788".into()),
    };
    let mut sent = pothole("Crater outside 1428 Elm Street");
    sent.contact = contact.clone();
    submit(&curbside, sent);
    drain(&curbside).await;
    let mut unsent = pothole("Sinkhole by the Quartermaine house");
    unsent.contact = contact.clone();
    sandbox.set_reachable(false).await.unwrap();
    let waiting = submit(&curbside, unsent);
    let mut fields = pothole("Draft about Zebulon's driveway");
    fields.contact = contact;
    let draft = curbside.create_draft(fields).unwrap();
    let photo = dir.path().join("camera.jpg");
    image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([x as u8, y as u8, 7]))
        .save_with_format(&photo, image::ImageFormat::Jpeg)
        .unwrap();
    curbside.add_photo(&draft.id, &photo).unwrap();
    std::fs::remove_file(&photo).unwrap();

    let before: Vec<u8> = walk(dir.path())
        .into_iter()
        .flat_map(|f| std::fs::read(f).unwrap())
        .collect();
    assert!(
        holds(&before, "Zebulon") && holds(&before, "Sinkhole"),
        "the check below can see what it looks for"
    );

    let stopped = curbside.forget_everything(false).unwrap();
    assert!(!stopped.done);
    assert_eq!(
        stopped.unsent.iter().map(|r| r.id).collect::<Vec<_>>(),
        [waiting.id],
        "the unsent report is named, and nothing is removed"
    );
    assert_eq!(curbside.reports().unwrap().len(), 2);

    let forgotten = curbside.forget_everything(true).unwrap();
    assert!(forgotten.done);
    assert_eq!((forgotten.reports, forgotten.drafts), (2, 1));
    assert!(forgotten.photos >= 1);
    assert!(curbside.reports().unwrap().is_empty());
    assert!(curbside.list_drafts().unwrap().is_empty());

    let bytes: Vec<u8> = walk(dir.path())
        .into_iter()
        .flat_map(|f| std::fs::read(f).unwrap())
        .collect();
    for personal in [
        "Zebulon",
        "Quartermaine",
        "zebulon.q@example.org",
        "555 0142",
        "1428 Elm",
        "Sinkhole",
    ] {
        assert!(
            !holds(&bytes, personal),
            "{personal} is still on the device"
        );
    }
    drop(curbside);
    let reopened = Curbside::open(dir.path()).unwrap();
    assert!(reopened.reports().unwrap().is_empty(), "and it stays gone");
}

/// Every file under `dir`, at any depth.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
