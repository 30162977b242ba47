//! Submitted reports as apps see them: ids, states, why one needs the user, the events a
//! listener receives, the history, and the retry policy and run summaries of the outbox.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use curbside_open311::ServerMessage;

use crate::{Error, Result};

/// A submitted report's id: a random UUID made on the device, also sent to servers that can
/// keep it (the profile's client-reference attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportId(Uuid);

impl ReportId {
    /// A new random id.
    pub fn new() -> Self {
        ReportId(Uuid::new_v4())
    }

    /// Parses an id given by an app or user.
    pub fn parse(text: &str) -> Result<Self> {
        Uuid::parse_str(text.trim())
            .map(ReportId)
            .map_err(|_| Error::invalid("id", "is not a report id (expected a UUID)"))
    }
}

impl Default for ReportId {
    /// A new id, as [`ReportId::new`].
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "uniffi")]
uniffi::custom_type!(ReportId, String, {
    lower: |id| id.to_string(),
    try_lift: |text| Ok(ReportId::parse(&text)?),
});

impl std::fmt::Display for ReportId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Where a report is, in words a user understands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ReportState {
    /// Saved on the phone, waiting for its turn.
    Queued,
    /// Saved on the phone; the network is absent. It goes as soon as the network returns.
    WaitingForNetwork,
    /// Being sent; `step` says which part.
    Sending {
        /// The part in progress.
        step: SendStep,
    },
    /// The city has it (`Report::request_id` holds its id when the server gives one).
    Sent,
    /// Stopped until the user acts; `attention` says why and what to do.
    NeedsAttention {
        /// Why, and what the user can do.
        attention: Attention,
    },
    /// Withdrawn by the user before it left the phone.
    Cancelled,
}

/// The part of sending in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SendStep {
    /// Posting the request (with its photos, on servers that take uploads).
    Posting,
    /// The city queued it; waiting for the city's id.
    WaitingForId,
    /// An earlier attempt got no answer; checking whether the city has it before sending again.
    Checking,
}

/// What the user can do about a report that needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AttentionAction {
    /// The city refused it as it is: edit the report and submit again.
    EditAndResubmit,
    /// The city refused the app's credentials or the server settings are wrong.
    CheckSettings,
    /// The city may already have it: confirm before sending it again.
    ConfirmPossibleDuplicate,
}

/// Why a report stopped: one code per cause, for apps to show in their own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AttentionKind {
    /// The city refused the report as it is; its messages say why, per field.
    Refused,
    /// The city refused the app's key or jurisdiction; its server is paused until its settings
    /// really change.
    SettingsRefused,
    /// The server settings cannot work (a bad URL, plain http to a remote host).
    BadSettings,
    /// The city's server answered with an error (5xx) to every attempt, and each time the
    /// report was checked not to be there: the server's words say why.
    ServerKeepsFailing,
    /// The city called it a duplicate, but no request of it could be found.
    SaidDuplicate,
    /// Several requests on the city's server could be this one, or one matched on weak
    /// evidence only (no description, no position to compare): the user decides.
    AmbiguousMatch,
    /// The city may have it and its server cannot be searched reliably to check.
    Unsearchable,
    /// A report stopped by an earlier version, which kept no code.
    #[default]
    Other,
}

/// Why a report needs attention, as codes and arguments: apps word it in the user's language
/// (the Kotlin and Swift layers ship English and Finnish texts for every code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Attention {
    /// The cause.
    #[serde(default)]
    pub kind: AttentionKind,
    /// What the user can do.
    pub action: AttentionAction,
    /// How many: candidate requests (`AmbiguousMatch`) or failed attempts
    /// (`ServerKeepsFailing`); absent for other kinds.
    #[serde(default)]
    pub count: Option<u32>,
    /// The server's own messages (in the city's words), per field where it gave them.
    pub messages: Vec<ServerMessage>,
}

/// A submitted report as the outbox and the city know it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Report {
    /// Curbside's id for it.
    pub id: ReportId,
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
    /// Whether `withdraw` takes it now: the way out of its wait an app offers.
    pub withdrawable: bool,
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
    /// When the next attempt is due (while queued).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last failure, for "why is this taking so long?": a code to word, with its detail.
    pub last_error: Option<crate::LastError>,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A change in the outbox, told to listeners after its commit, in commit order.
#[allow(clippy::large_enum_variant)] // moved once, to each listener
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum OutboxEvent {
    /// A report was added or changed (its `version` grew).
    Changed(Report),
    /// A report was removed: turned back into a draft to edit.
    Removed {
        /// The report.
        id: ReportId,
        /// Its version when removed.
        version: u64,
    },
    /// The platform's network hint changed: how waiting reports show changed with it (read
    /// the reports again; no row changed).
    NetworkChanged {
        /// What the hint says now.
        available: bool,
    },
}

/// One entry of a report's history: Curbside's steps and the city's updates.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// What happened, as a code with its arguments.
    pub event: HistoryEvent,
}

/// What happened to a report, as a code with arguments (stored so, never as a sentence): apps
/// word it in the user's language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum HistoryEvent {
    /// Saved on this device, waiting to be sent.
    Submitted,
    /// The city's server takes no photo uploads: the report goes without its photos.
    PhotosNotSent,
    /// The app stopped while sending; checking whether the report arrived.
    Recovered,
    /// The server asked to wait; Curbside tries again later (at most a day later, even when
    /// `asked_seconds` is more).
    RetryLater {
        /// The wait the server asked for, when it was longer than Curbside obeys.
        asked_seconds: Option<u64>,
    },
    /// Received by the city, with its id when it gave one.
    Received {
        /// The city's id.
        request_id: Option<String>,
    },
    /// The city queued it and gave a token; waiting for its id.
    QueuedByCity,
    /// No usable answer came; checking whether it arrived.
    NoAnswer,
    /// The server was unavailable (HTTP 502, 503, 504); checking whether it arrived.
    ServerUnavailable {
        /// The HTTP status.
        status: u16,
    },
    /// The server failed with an error; checking whether it arrived.
    ServerError {
        /// The HTTP status.
        status: u16,
        /// The server's words.
        messages: Vec<ServerMessage>,
    },
    /// The city says it already has it; looking for it.
    SaidDuplicate,
    /// Found on the city's server (an earlier attempt arrived): not sent again.
    FoundOnServer {
        /// The city's id.
        request_id: String,
    },
    /// Not on the city's server: sending again.
    NotOnServer,
    /// Not on the city's server yet: looking again before anything is sent again (its list
    /// may lag, or the first attempt may still arrive).
    NotFoundYet,
    /// The answer to an earlier attempt arrived late (its sender had been paused), with the
    /// city's id.
    AnsweredLate {
        /// The city's id.
        request_id: String,
    },
    /// The city's token resolved to its id.
    IdFromToken {
        /// The city's id.
        request_id: String,
    },
    /// Received by the city; its token could not be looked up, so it has no id.
    TokenUnreadable,
    /// Received by the city, which never turned its token into an id.
    TokenNeverResolved,
    /// Stopped until the user acts.
    NeedsAttention {
        /// Why, and what the user can do.
        attention: Attention,
    },
    /// Withdrawn before it was sent.
    Cancelled,
    /// Withdrawn by the user while it waited: never posted again (a POST that reached the
    /// city before stays there).
    Withdrawn,
    /// The user said it did arrive, with the city's id: followed from then on.
    ConfirmedByUser {
        /// The city's id.
        request_id: String,
    },
    /// Sent again, as the user asked.
    RetriedByUser,
    /// The server's settings changed; trying again.
    SettingsChanged,
    /// The city changed its status.
    StatusChanged {
        /// The new status (`open`, `closed`, ...).
        status: String,
        /// The city's notes on it.
        notes: Option<String>,
    },
    /// The city closed it: its status is still asked for, less and less often, for this many
    /// days, in case the city reopens it; then no more.
    FollowedAfterClosing {
        /// How long after this entry.
        days: u32,
    },
    /// A note from the city, in its words.
    CityNote {
        /// The note's type, when the city gives one.
        note_kind: Option<String>,
        /// The note.
        text: String,
    },
    /// An entry written by an older version, as it was stored then (English).
    Legacy {
        /// Its kind.
        code: String,
        /// Its text.
        text: String,
    },
}

impl HistoryEvent {
    /// The code stored in the history's `kind` column.
    pub fn code(&self) -> &str {
        match self {
            HistoryEvent::Submitted => "submitted",
            HistoryEvent::PhotosNotSent => "photos_not_sent",
            HistoryEvent::Recovered => "recovered",
            HistoryEvent::RetryLater { .. } => "retry_later",
            HistoryEvent::Received { .. } => "received",
            HistoryEvent::QueuedByCity => "queued_by_city",
            HistoryEvent::NoAnswer => "no_answer",
            HistoryEvent::ServerUnavailable { .. } => "server_unavailable",
            HistoryEvent::ServerError { .. } => "server_error",
            HistoryEvent::SaidDuplicate => "said_duplicate",
            HistoryEvent::FoundOnServer { .. } => "found_on_server",
            HistoryEvent::NotOnServer => "not_on_server",
            HistoryEvent::NotFoundYet => "not_found_yet",
            HistoryEvent::AnsweredLate { .. } => "answered_late",
            HistoryEvent::IdFromToken { .. } => "id_from_token",
            HistoryEvent::TokenUnreadable => "token_unreadable",
            HistoryEvent::TokenNeverResolved => "token_never_resolved",
            HistoryEvent::NeedsAttention { .. } => "needs_attention",
            HistoryEvent::Cancelled => "cancelled",
            HistoryEvent::Withdrawn => "withdrawn",
            HistoryEvent::ConfirmedByUser { .. } => "confirmed_by_user",
            HistoryEvent::RetriedByUser => "retried_by_user",
            HistoryEvent::SettingsChanged => "settings_changed",
            HistoryEvent::StatusChanged { .. } => "status_changed",
            HistoryEvent::FollowedAfterClosing { .. } => "followed_after_closing",
            HistoryEvent::CityNote { .. } => "city_note",
            HistoryEvent::Legacy { code, .. } => code,
        }
    }
}

/// The longest `Retry-After` obeyed: a day.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(24 * 3600);

/// The least wait between two attempts, whatever the policy says: a policy of zero does not
/// make a tight loop.
pub const MIN_DELAY: Duration = Duration::from_millis(5);

/// How long to wait between attempts: exponential from `initial`, capped at `max`, with
/// jitter, and never sooner than a server's `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RetryPolicy {
    /// Wait after the first failure.
    pub initial: Duration,
    /// Longest wait.
    pub max: Duration,
    /// Wait before the first poll of a batch server's token (doubling after each).
    pub token_poll: Duration,
    /// Searches for an unanswered POST, or polls of a token, before giving up (the report
    /// then waits for the user, or is sent without an id).
    pub max_checks: u32,
}

impl Default for RetryPolicy {
    /// 30 s doubling to 5 h (WorkManager's defaults), tokens first polled after 10 s, 12
    /// searches or polls at most (about a day and a half with the doubling).
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_secs(30),
            max: Duration::from_secs(5 * 3600),
            token_poll: Duration::from_secs(10),
            max_checks: 12,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`, with ±20% jitter, at least `retry_after`,
    /// which is itself capped at [`RETRY_AFTER_CAP`] (a server's "wait 3,000 years" is not
    /// obeyed).
    /// Whatever the policy says, a wait is at least [`MIN_DELAY`] and at most a day.
    /// `entropy` (any number; the caller draws it) picks the jitter, so that the same inputs
    /// give the same wait.
    pub fn delay(&self, attempts: u32, retry_after: Option<Duration>, entropy: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(20);
        let ceiling = self.max.min(RETRY_AFTER_CAP);
        let base = self.initial.saturating_mul(1 << exponent).min(ceiling);
        let jitter = 0.8 + 0.4 * (entropy % 1000) as f64 / 1000.0;
        let asked = retry_after.unwrap_or_default().min(RETRY_AFTER_CAP);
        base.mul_f64(jitter).min(ceiling).max(asked).max(MIN_DELAY)
    }
}

/// How long finished (sent or withdrawn) reports and their history are kept on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Retention {
    /// Finished reports (with their history) are kept this long after they last changed.
    /// Default: 90 days.
    pub finished_reports: Duration,
    /// And at most this many of them, the newest. Default: 200.
    pub max_finished_reports: u32,
    /// History entries kept per report, the newest. Default: 50.
    pub history_per_report: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            finished_reports: Duration::from_secs(90 * 86_400),
            max_finished_reports: 200,
            history_per_report: 50,
        }
    }
}

/// What a status refresh of sent reports did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusRefresh {
    /// Reports whose status or notes changed.
    pub changed: u32,
    /// Why a server could not be asked, if one could not.
    pub error: Option<String>,
}

/// What one `run_pending` did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RunSummary {
    /// Reports the city confirmed in this run.
    pub sent: u32,
    /// Steps that failed and were rescheduled or parked.
    pub failed: u32,
    /// Reports still waiting (queued or between steps).
    pub waiting: u32,
    /// Status changes of sent reports picked up.
    pub status_changes: u32,
    /// Why the status refresh failed for some server, if it did (also each affected
    /// report's `last_error`).
    pub status_error: Option<String>,
    /// True when another Curbside instance or process held the sender lease.
    pub skipped_busy: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let p = RetryPolicy {
            initial: Duration::from_secs(30),
            max: Duration::from_secs(600),
            token_poll: Duration::from_secs(1),
            max_checks: 3,
        };
        let d1 = p.delay(1, None, 500);
        assert!(
            d1 >= Duration::from_secs(24) && d1 <= Duration::from_secs(36),
            "{d1:?}"
        );
        let d3 = p.delay(3, None, 500);
        assert!(
            d3 >= Duration::from_secs(96) && d3 <= Duration::from_secs(144),
            "{d3:?}"
        );
        assert!(p.delay(30, None, 500) <= Duration::from_secs(600));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(900)), 500),
            Duration::from_secs(900),
            "Retry-After wins, even past the backoff's cap"
        );
        let absurd = RetryPolicy {
            initial: Duration::MAX,
            max: Duration::MAX,
            ..p
        };
        assert!(
            absurd.delay(40, None, 500) <= RETRY_AFTER_CAP,
            "a ceiling, never a panic"
        );
        let zero = RetryPolicy {
            initial: Duration::ZERO,
            max: Duration::ZERO,
            ..p
        };
        assert_eq!(zero.delay(1, None, 500), MIN_DELAY, "a floor");
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(99_999_999_999)), 500),
            RETRY_AFTER_CAP,
            "but not past a day"
        );
    }
}
