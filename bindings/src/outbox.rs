//! The outbox's FFI-specific parts: a listener that gets a snapshot and then every change
//! (wrapped as a Kotlin `Flow` and a Swift `AsyncStream` in `bindings/kotlin` and
//! `bindings/swift`), its subscription, and two results as records. Reports, their states and
//! history are the core's own types (`curbside-types`).

use std::sync::Arc;

use curbside_types::report::{HistoryEntry, Report, ReportId};

/// A report with its history, for a detail screen.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReportDetail {
    /// The report.
    pub report: Report,
    /// Its history, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// A damaged database found at open: moved aside (kept) and salvaged into a fresh one.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DatabaseRecovery {
    /// Where the damaged file now is.
    pub moved_to: String,
    /// Submitted reports recovered.
    pub reports: u32,
    /// Drafts recovered.
    pub drafts: u32,
    /// Rows that were there but could not be read.
    pub unreadable: u32,
    /// Why nothing at all could be read, when that is the case.
    pub failure: Option<String>,
}

/// Receives the outbox: first every report, then each change as it is committed. Called on a
/// background thread; hop to the UI thread before touching views.
#[uniffi::export(with_foreign)]
pub trait ReportListener: Send + Sync {
    /// Every report, newest first (at the start, and again if changes were missed).
    fn on_reports(&self, reports: Vec<Report>);
    /// One report was added or changed; of two copies, the higher `version` is newer.
    fn on_report_changed(&self, report: Report);
    /// One report was removed (turned back into a draft with `edit_report`).
    fn on_report_removed(&self, id: ReportId, version: u64);
    /// The database was found damaged when the core opened: moved aside and salvaged. Told
    /// to every listener once, right after the first `on_reports`; tell the user.
    fn on_database_recovered(&self, recovery: DatabaseRecovery);
}

/// A listener's registration; `cancel` (or dropping it) stops the calls.
#[derive(uniffi::Object)]
pub struct Subscription {
    task: tokio::task::AbortHandle,
}

#[uniffi::export]
impl Subscription {
    /// Stops calling the listener.
    pub fn cancel(&self) {
        self.task.abort();
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Subscription {
    pub(crate) fn new(task: tokio::task::AbortHandle) -> Arc<Self> {
        Arc::new(Subscription { task })
    }
}
