//! The background worker on a full disk: it backs off instead of spinning, says so in the
//! log, and recovers with nothing lost once space is back. The data directory is a real
//! 4 MiB tmpfs, filled to the last byte (this test mounts it, so it needs root, as CI has;
//! without it, it says SKIPPED).

use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use curbside_core::outbox::{OutboxEvent, ReportState};
use curbside_core::Curbside;
use curbside_sandbox::{Sandbox, SandboxConfig};
use tracing_subscriber::layer::SubscriberExt;

mod common;
use common::*;

/// A tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    /// `None` (after saying SKIPPED, a failure under CI) where no tmpfs can be mounted:
    /// not root, or no `mount`.
    fn mount(dir: &std::path::Path) -> Option<SmallDisk> {
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|status| status.success());
        if !mounted {
            curbside_sandbox::skipped(
                "cannot mount a 4 MiB tmpfs for a full disk: run as root (tests/run does, as CI)",
            );
            return None;
        }
        Some(SmallDisk(dir.to_path_buf()))
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) -> std::path::PathBuf {
        let path = self.0.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily: the database may still be open when a failed test unwinds.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Counts the worker's "worker failed" log lines, and tells each one.
struct Failures(Arc<AtomicUsize>, tokio::sync::mpsc::UnboundedSender<()>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Failures {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message(bool);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" && format!("{value:?}") == "worker failed" {
                    self.0 = true;
                }
            }
        }
        let mut message = Message(false);
        event.record(&mut message);
        if message.0 {
            self.0.fetch_add(1, Ordering::SeqCst);
            let _ = self.1.send(());
        }
    }
}

#[tokio::test]
async fn a_full_disk_backs_the_worker_off_and_nothing_is_lost() {
    let failures = Arc::new(AtomicUsize::new(0));
    let (failed, mut failing) = tokio::sync::mpsc::unbounded_channel();
    let subscriber = tracing_subscriber::registry().with(Failures(Arc::clone(&failures), failed));
    let _log = tracing::subscriber::set_default(subscriber);

    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(dir.path()) else {
        return;
    };
    let curbside = Arc::new(open(dir.path(), &sandbox));
    curbside.set_network_available(false);
    let reports: Vec<_> = (0..5)
        .map(|i| submit(&curbside, pothole(&format!("full disk {i}"))))
        .collect();
    let filler = disk.fill();
    let mut events = curbside.events();

    let worker = tokio::spawn(Arc::clone(&curbside).run_worker());
    curbside.set_network_available(true);
    // The worker meets the full disk and says so (its backoff is timed in the worker's own
    // test, on a paused clock).
    tokio::time::timeout(Duration::from_secs(20), failing.recv())
        .await
        .expect("the worker met the full disk and said so");
    assert_eq!(
        sandbox.requests().len(),
        0,
        "nothing leaves before the mark can be written"
    );

    std::fs::remove_file(filler).unwrap();
    let mut sent = std::collections::HashSet::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while sent.len() < reports.len() {
            if let Ok(OutboxEvent::Changed(r)) = events.recv().await {
                if r.state == ReportState::Sent {
                    sent.insert(r.id);
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not recovered: {:#?}", curbside.reports()));
    assert!(failures.load(Ordering::SeqCst) >= 1);
    worker.abort();
    for (i, report) in reports.iter().enumerate() {
        assert_eq!(on_server(&sandbox, &format!("full disk {i}")), 1);
        assert!(curbside.report(&report.id).is_ok());
    }
    drop(curbside);
    assert!(
        Curbside::open(dir.path()).unwrap().reports().unwrap().len() == 5,
        "still there after reopening"
    );
}

#[test]
fn a_full_disk_is_said_as_such_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(dir.path()) else {
        return;
    };
    let curbside = Curbside::open(dir.path()).unwrap();
    let kept = curbside
        .create_draft(pothole("written before the disk filled up"))
        .unwrap();
    let filler = disk.fill();
    let long = "x".repeat(3_900);
    let mut last = None;
    for _ in 0..50 {
        match curbside.create_draft(pothole(&long)) {
            Ok(_) => continue,
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    let error = last.expect("a full disk refuses writes");
    assert!(error.is_disk_full(), "said as such: {error}");
    assert!(error.to_string().contains("disk is full"), "{error}");
    std::fs::remove_file(filler).unwrap();
    drop(curbside);
    let reopened = Curbside::open(dir.path()).unwrap();
    assert!(
        reopened
            .list_drafts()
            .unwrap()
            .iter()
            .any(|d| d.id == kept.id),
        "what was saved before is still there"
    );
    reopened
        .create_draft(pothole("after space came back"))
        .unwrap();
}

#[test]
fn with_no_byte_free_the_outbox_still_lists_and_writes_say_disk_full() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(dir.path()) else {
        return;
    };
    let data = dir.path().join("curbside");
    {
        let curbside = Curbside::open(&data).unwrap();
        curbside.set_network_available(false);
        curbside
            .set_server(
                SERVER,
                curbside_core::open311::ServerConfig::new("https://311.city.example/open311/v2/"),
            )
            .unwrap();
        for i in 0..3 {
            submit(&curbside, pothole(&format!("listed on a full disk {i}")));
        }
    }
    let filler = disk.fill();
    let curbside = Curbside::open(&data).expect("a full disk still opens, for reading");
    assert_eq!(curbside.reports().unwrap().len(), 3, "still listed");
    let error = curbside
        .create_draft(pothole("no room"))
        .expect_err("nothing can be written");
    assert!(error.is_disk_full(), "said as such: {error}");
    drop(curbside);
    // A new data directory on the full disk: disk_full, not a generic storage error.
    let error = Curbside::open(dir.path().join("new"))
        .err()
        .expect("refused");
    assert!(error.is_disk_full(), "{error}");
    std::fs::remove_file(filler).unwrap();
    assert_eq!(Curbside::open(&data).unwrap().reports().unwrap().len(), 3);
}
