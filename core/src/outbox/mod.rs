//! The outbox: save first, send second. A submitted report is a row in SQLite before any
//! network call, and the row (never memory) says what happens next. The engine
//! (`engine.rs`) moves rows along: post, resolve a token, reconcile an unanswered POST,
//! track the city's status.

pub(crate) mod engine;
mod queue;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::open311::ServerMessage;
use crate::{Error, Result};

/// A submitted report's id: a random UUID made on the device, also sent to servers that can
/// keep it (the profile's client-reference attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportId(Uuid);

impl ReportId {
    pub(crate) fn new() -> Self {
        ReportId(Uuid::new_v4())
    }

    /// Parses an id given by an app or user.
    pub fn parse(text: &str) -> Result<Self> {
        Uuid::parse_str(text.trim())
            .map(ReportId)
            .map_err(|_| Error::invalid("id", "is not a report id (expected a UUID)"))
    }
}

impl std::fmt::Display for ReportId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Where a report is, in words a user understands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReportState {
    /// Saved on the phone, waiting for its turn or for the network.
    Queued,
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

/// Why a report needs attention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attention {
    /// The cause, as a code.
    #[serde(default)]
    pub kind: AttentionKind,
    /// A sentence for the user.
    pub reason: String,
    /// What they can do.
    pub action: AttentionAction,
    /// The server's own messages, per field where it gave them.
    pub messages: Vec<ServerMessage>,
}

/// A submitted report as the outbox and the city know it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Curbside's id for it.
    pub id: ReportId,
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
    /// When the next attempt is due (while queued).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last failure, for "why is this taking so long?".
    pub last_error: Option<String>,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One entry of a report's history: Curbside's steps and the city's updates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// `submitted`, `sent`, `status`, `note`, `retry`, ...
    pub kind: String,
    /// What happened.
    pub summary: String,
}

/// How long to wait between attempts: exponential from `initial`, capped at `max`, with
/// jitter, and never sooner than a server's `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Wait after the first failure.
    pub initial: Duration,
    /// Longest wait.
    pub max: Duration,
    /// Wait between polls of a batch server's token.
    pub token_poll: Duration,
}

impl Default for RetryPolicy {
    /// 30 s doubling to 5 h (WorkManager's defaults), tokens polled every 10 s.
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_secs(30),
            max: Duration::from_secs(5 * 3600),
            token_poll: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`, with ±20% jitter, at least `retry_after`.
    pub(crate) fn delay(&self, attempts: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = attempts.saturating_sub(1).min(20);
        let base = self.initial.saturating_mul(1 << exponent).min(self.max);
        let jitter = 0.8 + 0.4 * (Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
        base.mul_f64(jitter)
            .max(retry_after.unwrap_or_default())
            .min(self.max.max(retry_after.unwrap_or_default()))
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
        };
        let d1 = p.delay(1, None);
        assert!(
            d1 >= Duration::from_secs(24) && d1 <= Duration::from_secs(36),
            "{d1:?}"
        );
        let d3 = p.delay(3, None);
        assert!(
            d3 >= Duration::from_secs(96) && d3 <= Duration::from_secs(144),
            "{d3:?}"
        );
        assert!(p.delay(30, None) <= Duration::from_secs(600));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(900))),
            Duration::from_secs(900),
            "Retry-After wins, even past the cap"
        );
    }
}
