//! What the device keeps, and for how long. A report's photos are needed until it is sent or
//! withdrawn; a finished report and its history, for as long as the app says the user may
//! want to follow it; the city's open data, for the profile's window (the city layer prunes
//! that as it fetches). The worker prunes when it starts and once a day after, and every
//! sending run ends with one.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use curbside_store::{drafts, reports, requests_cache};

pub use curbside_types::report::Retention;

use crate::{Curbside, Result};

/// What one prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    /// Finished reports, with their history.
    pub reports: usize,
    /// History entries beyond the limit per report.
    pub history_entries: usize,
    /// Processed photo files nothing needs any more.
    pub photos: usize,
}

/// A photo file younger than this is never deleted by a prune: it may be one `add_photo`
/// has just made and not yet added to its draft.
const NEW_PHOTO: Duration = Duration::from_secs(600);

/// What `forget_everything` removed, or the unsent reports that stopped it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Forgotten {
    /// True when everything was removed; false when unsent reports stopped it (nothing was
    /// removed).
    pub done: bool,
    /// The reports not sent yet, when they stopped it: to name them before asking again.
    pub unsent: Vec<crate::outbox::Report>,
    /// Reports removed, with their history.
    pub reports: usize,
    /// Drafts removed.
    pub drafts: usize,
    /// Photo files removed.
    pub photos: usize,
    /// Other people's requests (open data) removed from the cache.
    pub cached_requests: usize,
}

impl Curbside {
    /// The person's way out: every report (with its history), draft, photo and cached
    /// request is removed from the device, the database rebuilt so that nothing of them is
    /// left in its free pages or its log, and damaged copies kept aside deleted too. City
    /// profiles, the service catalog and what was learnt of servers stay (nothing personal).
    /// Unsent reports would never reach the city: unless `including_unsent`, they stop it,
    /// and are returned so the app can name them and ask.
    pub fn forget_everything(&self, including_unsent: bool) -> Result<Forgotten> {
        let (reports, photos_of_reports) = match self.outbox.forget_reports(including_unsent)? {
            Ok(removed) => removed,
            Err(unsent) => {
                return Ok(Forgotten {
                    unsent,
                    ..Default::default()
                })
            }
        };
        let (drafts, cached_requests) = self
            .store
            .write(|tx| Ok((drafts::clear(tx)?, requests_cache::clear(tx)?)))?;
        self.store.vacuum()?;
        let mut photos = 0;
        let dir = self.photo_dir();
        let files = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .chain(photos_of_reports);
        for path in files {
            if path.is_file() && std::fs::remove_file(&path).is_ok() {
                photos += 1;
            }
        }
        // Damaged databases moved aside hold reports too.
        let database = self.data_dir().join(crate::DATABASE_FILE);
        let aside = format!("{}.", database.display());
        for entry in std::fs::read_dir(self.data_dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            if path.display().to_string().starts_with(&aside) && path.is_file() {
                let _ = std::fs::remove_file(&path);
            }
        }
        Ok(Forgotten {
            done: true,
            unsent: Vec::new(),
            reports,
            drafts,
            photos,
            cached_requests,
        })
    }

    /// Replaces how long finished reports and their history are kept.
    pub fn set_retention(&self, retention: Retention) {
        *self.retention.lock().unwrap() = retention;
    }

    /// Removes what the device no longer needs: finished reports past the retention (with
    /// their history), history beyond its limit, and processed photos that no draft and no
    /// report still to be sent refers to.
    pub fn prune(&self) -> Result<Pruned> {
        let retention = *self.retention.lock().unwrap();
        let before = chrono::Utc::now().timestamp_millis()
            - i64::try_from(retention.finished_reports.as_millis()).unwrap_or(i64::MAX);
        let (reports, history_entries, finished, in_use) = self.store.write(|tx| {
            let finished = reports::media(tx, true)?;
            let pruned = reports::prune_finished(tx, before, retention.max_finished_reports)?;
            let trimmed = reports::trim_history(tx, retention.history_per_report)?;
            Ok((pruned, trimmed, finished, photos_in_use(tx)?))
        })?;
        if reports + history_entries > 0 {
            self.store.checkpoint();
        }
        let dir = self.photo_dir();
        let mut photos = 0;
        // A finished report's photos at once; a file nothing refers to once it is old enough
        // not to be one `add_photo` is making.
        let now = SystemTime::now();
        let mut unneeded: Vec<PathBuf> = finished
            .into_iter()
            .filter(|p| p.parent() == Some(&dir))
            .collect();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > NEW_PHOTO);
            if old {
                unneeded.push(entry.path());
            }
        }
        for path in unneeded {
            if path.is_file() && !in_use.contains(&path) && std::fs::remove_file(&path).is_ok() {
                photos += 1;
            }
        }
        Ok(Pruned {
            reports,
            history_entries,
            photos,
        })
    }

    /// Deletes those of `paths` that are in the photo directory and that no draft and no
    /// report still to be sent refers to (a photo removed from a draft, a deleted draft's).
    pub(crate) fn forget_photos(&self, paths: &[String]) -> Result<()> {
        let in_use = self.store.read(photos_in_use)?;
        let ours = self.photo_dir().canonicalize().ok();
        for path in paths.iter().map(Path::new) {
            let in_photo_dir = path.parent().and_then(|d| d.canonicalize().ok()) == ours;
            if in_photo_dir && !in_use.contains(path) {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(())
    }

    /// Prunes once a day for as long as the process runs (with the worker).
    pub(crate) async fn prune_daily(&self) {
        loop {
            if let Err(e) = self.prune() {
                tracing::warn!(target: "curbside::outbox", error = %e, "could not prune");
            }
            tokio::time::sleep(Duration::from_secs(86_400)).await;
        }
    }
}

/// Every photo path a draft or a report still to be sent refers to.
fn photos_in_use(conn: &curbside_store::Connection) -> Result<HashSet<PathBuf>> {
    let mut in_use: HashSet<PathBuf> = reports::media(conn, false)?.into_iter().collect();
    for draft in drafts::list(conn)? {
        in_use.extend(draft.fields.photos.iter().map(PathBuf::from));
    }
    Ok(in_use)
}
