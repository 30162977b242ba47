//! The outbox as Kotlin and Swift see it: reports, their states and history, and a listener
//! that gets a snapshot and then every change (wrapped as a Kotlin `Flow` and a Swift
//! `AsyncStream` in `bindings/kotlin` and `bindings/swift`).

use std::sync::Arc;
use std::time::SystemTime;

use curbside_core::outbox as core;

use crate::ServerMessage;

/// The part of sending in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SendStep {
    /// Posting the report (with its photos, on servers that take uploads).
    Posting,
    /// The city queued it; waiting for the city's id.
    WaitingForId,
    /// An earlier attempt got no answer; checking whether the city has it before sending again.
    Checking,
}

/// What the user can do about a report that needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AttentionAction {
    /// The city refused it as it is: `edit_report`, change it, submit again.
    EditAndResubmit,
    /// The server refused the app's credentials or its settings are wrong: fix them with `set_server`.
    CheckSettings,
    /// The city may already have it: `retry_report` only if the user is sure it did not arrive.
    ConfirmPossibleDuplicate,
}

/// Why a report stopped, as a code an app can show in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AttentionKind {
    /// The city refused the report as it is; `messages` say why, per field.
    Refused,
    /// The city refused the app's key or jurisdiction; its server is paused until `set_server`
    /// changes its settings.
    SettingsRefused,
    /// The server settings cannot work (a bad URL, plain http to a remote host).
    BadSettings,
    /// The city's server failed (5xx) on every attempt and the report is not there; `messages`
    /// hold the server's words.
    ServerKeepsFailing,
    /// The city called it a duplicate, but no request of it could be found.
    SaidDuplicate,
    /// Several requests on the city's server could be this one, or one matched on weak
    /// evidence only.
    AmbiguousMatch,
    /// The city may have it and its server cannot be searched reliably to check.
    Unsearchable,
    /// Stopped by an earlier version, which kept no code.
    Other,
}

/// Where a report is, in words a user understands.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ReportState {
    /// Saved on the phone, waiting for its turn or for the network.
    Queued,
    /// Saved on the phone; the network is absent. It goes as soon as the network returns.
    WaitingForNetwork,
    /// Being sent.
    Sending {
        /// The part in progress.
        step: SendStep,
    },
    /// The city has it.
    Sent,
    /// Stopped until the user acts.
    NeedsAttention {
        /// The cause, as a code.
        kind: AttentionKind,
        /// A sentence for the user.
        reason: String,
        /// What they can do.
        action: AttentionAction,
        /// The server's own messages, per field where it gave them.
        messages: Vec<ServerMessage>,
    },
    /// Withdrawn before it was sent.
    Cancelled,
}

/// A submitted report.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Report {
    /// Curbside's id for it.
    pub id: String,
    /// Grows with every change: of two copies of a report, the higher version is newer.
    pub version: u64,
    /// The server it goes to.
    pub server_id: String,
    /// The service.
    pub service_code: String,
    /// What the citizen wrote.
    pub description: String,
    /// Where it is.
    pub state: ReportState,
    /// The city's id, once known.
    pub request_id: Option<String>,
    /// What the city told the reporter.
    pub service_notice: Option<String>,
    /// The city's status (`open`, `closed`, ...), once tracked.
    pub status: Option<String>,
    /// The city's notes on that status.
    pub status_notes: Option<String>,
    /// Send attempts so far.
    pub attempts: u32,
    /// When the next attempt is due, while queued.
    pub next_attempt_at: Option<SystemTime>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was submitted.
    pub created_at: SystemTime,
    /// When it last changed.
    pub updated_at: SystemTime,
}

/// One entry of a report's history.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HistoryEntry {
    /// When.
    pub at: SystemTime,
    /// `submitted`, `sent`, `status`, `note`, `retry`, ...
    pub kind: String,
    /// What happened.
    pub summary: String,
}

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

/// What one `run_pending` or `sync_now` did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RunSummary {
    /// Reports the city confirmed.
    pub sent: u32,
    /// Steps that failed and were rescheduled or parked.
    pub failed: u32,
    /// Reports still on their way.
    pub waiting: u32,
    /// Status changes of sent reports picked up.
    pub status_changes: u32,
    /// Why the status refresh failed for a server, if it did (also in each affected report's
    /// `last_error`).
    pub status_error: Option<String>,
    /// True when another instance or process was already sending.
    pub skipped_busy: bool,
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
    fn on_report_removed(&self, id: String, version: u64);
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

impl From<core::Report> for Report {
    fn from(r: core::Report) -> Self {
        Self {
            id: r.id.to_string(),
            version: r.version,
            server_id: r.server_id,
            service_code: r.service_code,
            description: r.description,
            state: match r.state {
                core::ReportState::Queued => ReportState::Queued,
                core::ReportState::WaitingForNetwork => ReportState::WaitingForNetwork,
                core::ReportState::Sending { step } => ReportState::Sending {
                    step: match step {
                        core::SendStep::Posting => SendStep::Posting,
                        core::SendStep::WaitingForId => SendStep::WaitingForId,
                        core::SendStep::Checking => SendStep::Checking,
                    },
                },
                core::ReportState::Sent => ReportState::Sent,
                core::ReportState::NeedsAttention { attention } => ReportState::NeedsAttention {
                    kind: match attention.kind {
                        core::AttentionKind::Refused => AttentionKind::Refused,
                        core::AttentionKind::SettingsRefused => AttentionKind::SettingsRefused,
                        core::AttentionKind::BadSettings => AttentionKind::BadSettings,
                        core::AttentionKind::ServerKeepsFailing => {
                            AttentionKind::ServerKeepsFailing
                        }
                        core::AttentionKind::SaidDuplicate => AttentionKind::SaidDuplicate,
                        core::AttentionKind::AmbiguousMatch => AttentionKind::AmbiguousMatch,
                        core::AttentionKind::Unsearchable => AttentionKind::Unsearchable,
                        core::AttentionKind::Other => AttentionKind::Other,
                    },
                    reason: attention.reason,
                    action: match attention.action {
                        core::AttentionAction::EditAndResubmit => AttentionAction::EditAndResubmit,
                        core::AttentionAction::CheckSettings => AttentionAction::CheckSettings,
                        core::AttentionAction::ConfirmPossibleDuplicate => {
                            AttentionAction::ConfirmPossibleDuplicate
                        }
                    },
                    messages: attention.messages.into_iter().map(Into::into).collect(),
                },
                core::ReportState::Cancelled => ReportState::Cancelled,
            },
            request_id: r.request_id,
            service_notice: r.service_notice,
            status: r.status,
            status_notes: r.status_notes,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at.map(Into::into),
            last_error: r.last_error,
            created_at: r.created_at.into(),
            updated_at: r.updated_at.into(),
        }
    }
}

impl From<core::HistoryEntry> for HistoryEntry {
    fn from(h: core::HistoryEntry) -> Self {
        Self {
            at: h.at.into(),
            kind: h.kind,
            summary: h.summary,
        }
    }
}

impl From<core::RunSummary> for RunSummary {
    fn from(s: core::RunSummary) -> Self {
        Self {
            sent: s.sent,
            failed: s.failed,
            waiting: s.waiting,
            status_changes: s.status_changes,
            status_error: s.status_error,
            skipped_busy: s.skipped_busy,
        }
    }
}
