//! The outbox: submitting, the reports with their states and history, what the user can do
//! with them, and sending. A listener gets a snapshot and then every change (wrapped as a
//! Kotlin `Flow` and a Swift `AsyncStream` in `bindings/kotlin` and `bindings/swift`).
//! Reports, their states and history are the core's own types (`curbside-types`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use curbside_core::outbox::{OutboxEvent, RunSummary};
use curbside_core::{DatabaseRecovery as CoreRecovery, Error, Salvage};
use curbside_types::report::{HistoryEntry, Report, ReportId};
use curbside_types::{Draft, DraftId};
use tokio::sync::broadcast::error::RecvError;

use crate::sdk::Sdk;
use crate::ApiError;

/// Submitted reports: saved first, sent by the SDK's worker, never lost.
#[derive(uniffi::Object)]
pub struct Outbox {
    sdk: Arc<Sdk>,
}

impl Outbox {
    pub(crate) fn new(sdk: Arc<Sdk>) -> Arc<Self> {
        Arc::new(Outbox { sdk })
    }
}

#[uniffi::export]
impl Outbox {
    /// Submits a draft to its city (set with `DraftEdit.City`): checks it (`NotReady` lists
    /// what to fix), saves it in the outbox (the draft becomes the report), and lets the
    /// worker send it. Nothing is lost from here on.
    pub async fn submit(&self, draft_id: DraftId) -> Result<Report, ApiError> {
        self.sdk
            .run(move |c| {
                let city = c.get_draft(&draft_id)?.fields.profile_id;
                let city = city.ok_or(Error::invalid("profile_id", "choose the city first"))?;
                c.submit(&draft_id, &city)
            })
            .await
    }

    /// Every submitted report, newest first.
    pub async fn reports(&self) -> Result<Vec<Report>, ApiError> {
        self.sdk.run(|c| c.reports()).await
    }

    /// A page of reports for a screen: `limit` of them, newest first, after skipping
    /// `offset`, with how many there are in all (the first screen of 10,000 reports does not
    /// read them all).
    pub async fn page(&self, limit: u32, offset: u32) -> Result<ReportsPage, ApiError> {
        let (reports, total) = self.sdk.run(move |c| c.reports_page(limit, offset)).await?;
        Ok(ReportsPage { reports, total })
    }

    /// One report with its history.
    pub async fn report(&self, id: ReportId) -> Result<ReportDetail, ApiError> {
        let (report, history) = self.sdk.run(move |c| c.report(&id)).await?;
        Ok(ReportDetail { report, history })
    }

    /// Withdraws a report that has not left the phone.
    pub async fn cancel(&self, id: ReportId) -> Result<Report, ApiError> {
        self.sdk.run(move |c| c.cancel_report(&id)).await
    }

    /// Withdraws a report for good wherever it waits (a way out of every wait): never posted
    /// again. Not while a POST is on its way or the city answered with a token.
    pub async fn withdraw(&self, id: ReportId) -> Result<Report, ApiError> {
        self.sdk.run(move |c| c.withdraw_report(&id)).await
    }

    /// "It did arrive": the report is sent as the city's `request_id`, and followed.
    pub async fn confirm(&self, id: ReportId, request_id: String) -> Result<Report, ApiError> {
        self.sdk
            .run(move |c| c.confirm_report(&id, &request_id))
            .await
    }

    /// Turns a report that has not reached the city back into a draft to fix.
    pub async fn edit(&self, id: ReportId) -> Result<Draft, ApiError> {
        self.sdk.run(move |c| c.edit_report(&id)).await
    }

    /// Sends a report that needs attention again (after the user confirmed or acted).
    pub async fn retry(&self, id: ReportId) -> Result<Report, ApiError> {
        self.sdk.run(move |c| c.retry_report(&id)).await
    }

    /// Sends what it can within `budget` and returns: call it from WorkManager (Android) or
    /// a BGTask (iOS) with a little less than the time the system gives.
    pub async fn run_pending(&self, budget: Duration) -> Result<RunSummary, ApiError> {
        let deadline = Instant::now() + budget;
        self.sdk
            .run_async(move |c| async move { c.run_pending(deadline).await })
            .await
    }

    /// Pull-to-refresh: sends everything due and refreshes the city's status of sent reports.
    pub async fn sync_now(&self) -> Result<RunSummary, ApiError> {
        self.sdk
            .run_async(|c| async move { c.sync_now().await })
            .await
    }

    /// The platform's network hint: `true` when connectivity returns (the worker tries at
    /// once), `false` when it goes (the worker stops trying).
    /// Returns at once: the hint is memory only, never written to the disk; listeners get
    /// the whole list again, read on the SDK's threads.
    pub fn set_network_available(&self, available: bool) -> Result<(), ApiError> {
        let (core, _) = self.sdk.get()?;
        crate::log::on_callers_thread(|| core.set_network_available(available));
        Ok(())
    }

    /// Registers a listener: it gets every report now, then each change and removal in commit
    /// order, each with the report's version. Keep the returned subscription; cancel it (or
    /// drop it) to stop.
    pub fn subscribe(
        &self,
        listener: Arc<dyn ReportListener>,
    ) -> Result<Arc<Subscription>, ApiError> {
        let (core, handle) = self.sdk.get()?;
        // Memory only on the caller's thread; the reports are read on the SDK's.
        let mut changes = crate::log::on_callers_thread(|| core.events());
        let recovery = core.database_recovery().map(DatabaseRecovery::from);
        let task = handle.spawn(async move {
            let reader = Arc::clone(&core);
            match tokio::task::spawn_blocking(move || reader.reports()).await {
                Ok(Ok(snapshot)) => listener.on_reports(snapshot),
                // The changes still come; the next lag or restart brings the whole list.
                Ok(Err(e)) => {
                    tracing::warn!(target: "curbside::outbox", error = %e, "the reports could not be read for a listener")
                }
                Err(_) => return,
            }
            if let Some(recovery) = recovery {
                listener.on_database_recovered(recovery);
            }
            loop {
                match changes.recv().await {
                    Ok(OutboxEvent::Changed(report)) => listener.on_report_changed(report),
                    Ok(OutboxEvent::Removed { id, version }) => {
                        listener.on_report_removed(id, version)
                    }
                    // How waiting reports show follows the hint; missed changes are read again.
                    Ok(OutboxEvent::NetworkChanged { .. }) | Err(RecvError::Lagged(_)) => {
                        let reader = Arc::clone(&core);
                        if let Ok(Ok(all)) = tokio::task::spawn_blocking(move || reader.reports()).await {
                            listener.on_reports(all);
                        }
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
        Ok(Arc::new(Subscription {
            task: task.abort_handle(),
        }))
    }
}

/// A page of the outbox.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReportsPage {
    /// The page's reports, newest first.
    pub reports: Vec<Report>,
    /// How many reports there are in all.
    pub total: u32,
}

/// A report with its history, for a detail screen.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ReportDetail {
    /// The report.
    pub report: Report,
    /// Its history, oldest first, as codes with arguments.
    pub history: Vec<HistoryEntry>,
}

/// A damaged database found at open: moved aside (kept) and salvaged into a fresh one; or a
/// support export of it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DatabaseRecovery {
    /// Where the file is: the damaged one (it holds contact details: never send it), or the
    /// support export.
    pub path: String,
    /// Submitted reports recovered.
    pub reports: u32,
    /// Drafts recovered.
    pub drafts: u32,
    /// Rows that were there but could not be read.
    pub unreadable: u32,
    /// Why nothing at all could be read, when that is the case.
    pub failure: Option<String>,
}

impl DatabaseRecovery {
    pub(crate) fn from_salvage(path: String, salvage: &Salvage) -> Self {
        DatabaseRecovery {
            path,
            reports: salvage.reports,
            drafts: salvage.drafts,
            unreadable: salvage.unreadable,
            failure: salvage.failure.clone(),
        }
    }
}

impl From<&CoreRecovery> for DatabaseRecovery {
    fn from(r: &CoreRecovery) -> Self {
        Self::from_salvage(r.moved_to.display().to_string(), &r.salvage)
    }
}

/// Receives the outbox: first every report, then each change as it is committed. Called on a
/// background thread; hop to the UI thread before touching views.
#[uniffi::export(with_foreign)]
pub trait ReportListener: Send + Sync {
    /// Every report, newest first (at the start, and again if changes were missed).
    fn on_reports(&self, reports: Vec<Report>);
    /// One report was added or changed; of two copies, the higher `version` is newer.
    fn on_report_changed(&self, report: Report);
    /// One report was removed (turned back into a draft with `edit`).
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
