//! A year of one citizen's use keeps the data directory small: finished reports beyond the
//! app's retention go with their history, a sent report's photos go at once, an abandoned
//! draft's photos go with it, and the database's write-ahead log is kept short.

use std::path::Path;
use std::time::Duration;

use curbside_core::Retention;
use curbside_sandbox::{Sandbox, SandboxConfig};
use image::{Rgb, RgbImage};

mod common;
use common::*;

/// Bytes and files under `dir`.
fn size_of(dir: &Path) -> (u64, usize) {
    let mut total = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            let (bytes, files) = size_of(&entry.path());
            total = (total.0 + bytes, total.1 + files);
        } else {
            total = (total.0 + meta.len(), total.1 + 1);
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_of_use_keeps_the_data_directory_small() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let camera = tempfile::tempdir().unwrap();
    let photo = camera.path().join("camera.jpg");
    RgbImage::from_fn(400, 300, |x, y| {
        Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8])
    })
    .save(&photo)
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let curbside = open(&data, &sandbox);
    let retention = Retention {
        finished_reports: Duration::from_secs(90 * 86_400),
        max_finished_reports: 30,
        history_per_report: 4,
    };
    curbside.set_retention(retention);

    let mut peak = 0;
    for day in 0..365 {
        let draft = curbside
            .create_draft(pothole(&format!("day {day}")))
            .unwrap();
        curbside.add_photo(&draft.id, &photo).unwrap();
        if day % 7 == 6 {
            curbside.delete_draft(&draft.id).unwrap(); // a draft abandoned each week
            continue;
        }
        curbside.submit(&draft.id, SERVER).unwrap();
        let summary = curbside.sync_now().await.unwrap();
        assert_eq!(summary.sent, 1, "day {day}");
        peak = peak.max(size_of(&data).0);
    }

    let (bytes, files) = size_of(&data);
    eprintln!(
        "data directory after a simulated year (313 reports with a photo each, 52 drafts \
         abandoned): {bytes} bytes in {files} files; peak {peak} bytes"
    );
    assert_eq!(
        curbside.reports().unwrap().len(),
        30,
        "the newest 30 finished reports"
    );
    let (photos, _) = size_of(&data.join("photos"));
    assert_eq!(photos, 0, "no photo outlives its report or draft");
    assert!(
        curbside
            .reports()
            .unwrap()
            .iter()
            .all(|r| curbside.report(&r.id).unwrap().1.len() <= 4),
        "history kept to its limit"
    );
    // The write-ahead log is emptied by each prune that removed something; between prunes it
    // may grow towards SQLite's checkpoint threshold (1000 pages, 4 MiB).
    assert!(bytes < 1_000_000, "{bytes} bytes");
    assert!(peak < 5_000_000, "peak {peak} bytes");
}
