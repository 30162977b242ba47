//! The part of a report the outbox's state machine owns, as it is persisted: the phase (the
//! `phase` and `resume` columns) and the counters kept with it. The machine that moves it is
//! `curbside-outbox`'s `machine` module.

use curbside_open311::ServerMessage;

use crate::report::{Attention, AttentionKind};

/// Where a report is. Persisted in the `phase` column (and `resume` while offline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Saved, due at `next_at` to be posted.
    Queued,
    /// The attempt-started mark: a POST may be on the wire.
    InFlight,
    /// A POST may have arrived: the server is searched before anything is posted again.
    Checking,
    /// The city answered with a token: waiting for its request id.
    WaitingForId,
    /// The network is absent; what to do when it returns.
    Offline(Resume),
    /// The city has it.
    Sent,
    /// Stopped until the user acts; `Progress::attention` says why.
    NeedsUser,
    /// Withdrawn by the user.
    Cancelled,
}

/// What an offline report does when the network returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Post it (nothing has left yet, or the last check found nothing).
    Post,
    /// Search the server for an unanswered POST.
    Check,
    /// Ask for the id of the city's token.
    ResolveToken,
}

impl Phase {
    /// The `phase` and `resume` columns.
    pub fn columns(self) -> (&'static str, Option<&'static str>) {
        match self {
            Phase::Queued => ("queued", None),
            Phase::InFlight => ("in_flight", None),
            Phase::Checking => ("checking", None),
            Phase::WaitingForId => ("waiting_for_id", None),
            Phase::Offline(Resume::Post) => ("waiting_for_network", Some("post")),
            Phase::Offline(Resume::Check) => ("waiting_for_network", Some("check")),
            Phase::Offline(Resume::ResolveToken) => ("waiting_for_network", Some("resolve_token")),
            Phase::Sent => ("sent", None),
            Phase::NeedsUser => ("needs_user", None),
            Phase::Cancelled => ("cancelled", None),
        }
    }

    /// Reads the `phase` and `resume` columns.
    pub fn from_columns(phase: &str, resume: Option<&str>) -> Option<Phase> {
        Some(match (phase, resume) {
            ("queued", _) => Phase::Queued,
            ("in_flight", _) => Phase::InFlight,
            ("checking", _) => Phase::Checking,
            ("waiting_for_id", _) => Phase::WaitingForId,
            ("waiting_for_network", Some("post")) => Phase::Offline(Resume::Post),
            ("waiting_for_network", Some("check")) => Phase::Offline(Resume::Check),
            ("waiting_for_network", Some("resolve_token")) => Phase::Offline(Resume::ResolveToken),
            ("sent", _) => Phase::Sent,
            ("needs_user", _) => Phase::NeedsUser,
            ("cancelled", _) => Phase::Cancelled,
            _ => return None,
        })
    }

    /// The name used in the design doc's table and in logs.
    pub fn name(self) -> String {
        match self.columns() {
            (phase, Some(resume)) => format!("{phase}({resume})"),
            (phase, None) => phase.to_string(),
        }
    }

    /// Whether the engine has something to do in this phase when it falls due.
    pub fn is_active(self) -> bool {
        matches!(self, Phase::Queued | Phase::Checking | Phase::WaitingForId)
    }

    /// Whether the user may withdraw a report in this phase: anywhere it waits, but a POST
    /// on its way or a city's token (the state machine's `withdraw` rows, and what apps offer).
    pub fn withdrawable(self) -> bool {
        matches!(
            self,
            Phase::Queued
                | Phase::Checking
                | Phase::Offline(Resume::Post | Resume::Check)
                | Phase::NeedsUser
        )
    }
}

/// The part of a report the state machine owns.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Where the report is.
    pub phase: Phase,
    /// POSTs that left (or may have).
    pub attempts: u32,
    /// Searches or token polls in the current stretch of checking or waiting for the id.
    pub checks: u32,
    /// POSTs answered with an application error (500 and the like).
    pub server_failures: u32,
    /// The server's words in its last error answer to a POST.
    pub server_messages: Vec<ServerMessage>,
    /// The city called a POST of it a duplicate.
    pub said_duplicate: bool,
    /// When the next step is due (active phases).
    pub next_at: i64,
    /// When the last POST attempt started.
    pub attempt_started_at: Option<i64>,
    /// After this, no POST of the report can still arrive: the last attempt's start plus the
    /// longest a POST may take, or the arrival of a complete answer.
    pub post_deadline: Option<i64>,
    /// Searches in the current stretch of checking that found nothing: "not found" counts
    /// only the second, past `post_deadline`.
    pub not_found: u32,
    /// When the first search of this stretch that found nothing began: "not found" is
    /// concluded only a confirm wait after it.
    pub searched_at: Option<i64>,
    /// POSTs the city's server answered without an id (`[{}]`, a notice alone for a realtime
    /// service): past the outbox's `MAX_REPOSTS` + 1 of them, a report checked absent is not
    /// posted again but waits for the user.
    pub unanswered: u32,
    /// Why it needs the user (in `NeedsUser` only).
    pub attention: Option<Attention>,
}

impl Progress {
    /// A report just submitted.
    pub fn new(now: i64) -> Self {
        Progress {
            phase: Phase::Queued,
            attempts: 0,
            checks: 0,
            server_failures: 0,
            server_messages: Vec::new(),
            said_duplicate: false,
            next_at: now,
            attempt_started_at: None,
            post_deadline: None,
            not_found: 0,
            searched_at: None,
            unanswered: 0,
            attention: None,
        }
    }

    /// Whether a POST of it may have reached the city: one left, and no answer proved it
    /// refused. Only then can the user confirm it arrived.
    pub fn may_have_arrived(&self) -> bool {
        self.attempts > 0
            && !self.attention.as_ref().is_some_and(|a| {
                matches!(
                    a.kind,
                    AttentionKind::Refused
                        | AttentionKind::SettingsRefused
                        | AttentionKind::BadSettings
                )
            })
    }

    /// Whether the user may still change or withdraw it: nothing can have reached the city
    /// (never posted, or every POST refused or checked absent and stopped for the user).
    pub fn editable(&self) -> bool {
        match self.phase {
            Phase::Queued | Phase::Offline(Resume::Post) => self.attempts == 0,
            Phase::NeedsUser => self.attention.as_ref().is_some_and(|a| {
                matches!(
                    a.kind,
                    AttentionKind::Refused
                        | AttentionKind::SettingsRefused
                        | AttentionKind::BadSettings
                        | AttentionKind::ServerKeepsFailing
                )
            }),
            _ => false,
        }
    }
}
