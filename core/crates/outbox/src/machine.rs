//! The outbox's state machine: one persisted phase per report and a pure transition function
//! `(progress, event, context) -> (progress, effects, history)`. No I/O here: the engine
//! carries out the effects and persists the result. The table in the module doc of
//! `lib.rs` is the specification, and a test checks this code against it row by row.

use std::time::Duration;

use curbside_open311::{ServerMessage, Unusable};
use curbside_types::phase::{Phase, Progress, Resume};
use curbside_types::report::{
    Attention, AttentionAction, AttentionKind, HistoryEvent, RetryPolicy, RETRY_AFTER_CAP,
};

/// Something that happened to a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The engine takes it (it is due and its server is not paused).
    Start,
    /// Found in flight when the engine starts: the process died mid-send.
    Recover,
    /// Marked in flight with its batch, but the run stopped before posting it (a deadline,
    /// the network hint, its server paused): nothing left, so the mark is taken back.
    HeldBack,
    /// The network is back: the hint, a request to its server that worked, a sync, a run.
    NetworkBack,
    /// No connection could be made (DNS, refused, no route, connect timeout), or the hint
    /// says the network is gone: nothing left the phone.
    Unreachable,
    /// The server answered "not now" (429, 408, a GET's 5xx, a page that is not Open311).
    Busy {
        /// How long the server asked to wait.
        retry_after: Option<Duration>,
    },
    /// The POST was answered with the city's id, or accepted without one.
    Created {
        /// The city's id, when it gave one.
        id: Option<String>,
    },
    /// The POST was answered with a token.
    GotToken,
    /// The POST left and no usable answer came.
    Unanswered {
        /// What happened.
        reason: String,
        /// What came back instead: cut off (the POST may still arrive), a page that is not
        /// the city's (a portal), or the city's document without an id (counted: bounded).
        answer: Unusable,
    },
    /// The POST was answered with a server error.
    ServerFailed {
        /// The HTTP status.
        status: u16,
        /// The server's words.
        messages: Vec<ServerMessage>,
    },
    /// The POST was answered "duplicate".
    SaidDuplicate,
    /// The city or the settings refused it; the user must act.
    Refused {
        /// Why.
        kind: AttentionKind,
        /// The server's words.
        messages: Vec<ServerMessage>,
    },
    /// The search found it.
    Found {
        /// The city's id.
        id: String,
    },
    /// A search found nothing, in answers that obeyed their filters.
    NotFound {
        /// How long after the first empty search "not found" may be concluded (longer than
        /// the server's search lag, as far as it is known now).
        confirm_after: Duration,
        /// When this search began.
        searched_at: i64,
    },
    /// An answer with the city's id reached a sender after the report had moved on (the
    /// sender was paused past its lease).
    AnsweredLate {
        /// The city's id.
        id: String,
    },
    /// The search found several candidates, or one on weak evidence (`1`).
    Ambiguous {
        /// How many.
        count: usize,
    },
    /// The server cannot be searched reliably.
    Unsearchable {
        /// Why.
        why: String,
    },
    /// The token has no id yet.
    TokenPending,
    /// The token resolved to an id.
    TokenResolved {
        /// The city's id.
        id: String,
    },
    /// The token could not be read (the city has the report, its id stays unknown).
    TokenUnreadable,
    /// The user withdraws it, to change it (only while nothing can have reached the city).
    Cancel,
    /// The user takes it back to edit: as `Cancel`, and the row is removed (a draft replaces
    /// it).
    Edit,
    /// The user withdraws it for good, whatever may have reached the city: never posted
    /// again (a way out of every wait but a POST on its way or a city's token).
    Withdraw,
    /// The user says it did arrive, with the city's id: sent, and followed from then on.
    Confirm {
        /// The city's id, as the user found it.
        id: String,
    },
    /// The user asks to send it again.
    Retry,
    /// The server's settings changed.
    SettingsChanged,
    /// Its server's settings make no client (a bad endpoint, say): nothing can be sent.
    SettingsUnusable,
}

impl Event {
    /// Its name in the design table and in logs.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Start => "start",
            Event::Recover => "recover",
            Event::HeldBack => "held_back",
            Event::NetworkBack => "network_back",
            Event::Unreachable => "unreachable",
            Event::Busy { .. } => "busy",
            Event::Created { .. } => "created",
            Event::GotToken => "got_token",
            Event::Unanswered { .. } => "unanswered",
            Event::ServerFailed { .. } => "server_failed",
            Event::SaidDuplicate => "said_duplicate",
            Event::Refused { .. } => "refused",
            Event::Found { .. } => "found",
            Event::NotFound { .. } => "not_found",
            Event::AnsweredLate { .. } => "answered_late",
            Event::Ambiguous { .. } => "ambiguous",
            Event::Unsearchable { .. } => "unsearchable",
            Event::TokenPending => "token_pending",
            Event::TokenResolved { .. } => "token_resolved",
            Event::TokenUnreadable => "token_unreadable",
            Event::Cancel => "cancel",
            Event::Edit => "edit",
            Event::Withdraw => "withdraw",
            Event::Confirm { .. } => "confirm",
            Event::Retry => "retry",
            Event::SettingsChanged => "settings_changed",
            Event::SettingsUnusable => "settings_unusable",
        }
    }
}

/// A step that talks to the report's server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// POST it (the attempt-started mark is committed first).
    Post,
    /// Search the server for it.
    Search,
    /// Poll its token.
    ResolveToken,
}

/// What the engine must do after a transition, besides writing the row and its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Take a step with its server.
    Step(Step),
    /// Pause its server until the settings change.
    PauseServer,
    /// Remove the contact details it carries (it is finished, and the app keeps none).
    ForgetContact,
    /// Remove the row (taken back as a draft).
    Remove,
    /// Wake the worker: it is due now (the user asked, settings changed).
    Wake,
}

/// What a transition is decided with, besides the report and the event: nothing is read from
/// a clock, a random source or a setting inside the transition.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The time (milliseconds).
    pub now: i64,
    /// The retry policy.
    pub policy: RetryPolicy,
    /// Any number, drawn by the caller: it picks the backoff's jitter.
    pub entropy: u32,
    /// Whether finished reports keep their contact details (the app opted in).
    pub keep_contact: bool,
}

/// The result of a transition.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub progress: Progress,
    /// Everything the engine is to carry out, in order: the step to take (post, search, poll),
    /// and what persisting the result involves (pause a server, forget contact details, wake
    /// the worker).
    pub effects: Vec<Effect>,
    /// A history entry.
    pub history: Option<HistoryEvent>,
}

/// Why an event does not apply in a phase.
#[derive(Debug, Clone, PartialEq)]
pub struct NotAllowed {
    pub phase: Phase,
}

/// POSTs answered with an application error before the report waits for the user.
pub const MAX_SERVER_FAILURES: u32 = 3;
/// POSTs made again after "not found" that the city's server answered without an id, before
/// the user decides: a server whose answers are never usable (`[{}]`, a notice alone for a
/// realtime service) is not posted to without end.
pub const MAX_REPOSTS: u32 = 2;

impl Transition {
    /// The step the engine takes next for the report (post, search, poll a token), if any.
    pub fn step(&self) -> Option<Step> {
        self.effects.iter().find_map(|e| match e {
            Effect::Step(step) => Some(*step),
            _ => None,
        })
    }
}

/// The transition function. Pure: the same inputs give the same outputs. Time, the backoff's
/// jitter and the app's settings are inputs (`ctx`), not read here.
pub fn transition(from: &Progress, event: Event, ctx: &Context) -> Result<Transition, NotAllowed> {
    use Phase::*;
    let Context {
        now,
        policy,
        entropy,
        keep_contact,
    } = *ctx;
    let policy = &policy;
    let mut p = from.clone();
    let mut effect = None;
    // The user's way back into the queue wakes the worker. (The network's return does not:
    // whoever noticed it wakes the worker once, not once per report, and a worker that moves
    // reports back itself must not wake itself.)
    let wakes = matches!(event, Event::Retry | Event::SettingsChanged);
    let mut history: Option<HistoryEvent> = None;
    let ms = |d: Duration| d.as_millis() as i64;
    let not_allowed = || Err(NotAllowed { phase: from.phase });
    // Stops the report for the user, and says so in its history.
    let needs = |p: &mut Progress,
                 kind: AttentionKind,
                 count: Option<u32>,
                 messages: Vec<ServerMessage>|
     -> Option<HistoryEvent> {
        let attention = Attention {
            kind,
            action: action_for(kind),
            count,
            messages,
        };
        p.phase = NeedsUser;
        p.attention = Some(attention.clone());
        Some(HistoryEvent::NeedsAttention { attention })
    };
    match (from.phase, event) {
        (Queued, Event::Start) => {
            p.phase = InFlight;
            p.attempts += 1;
            p.attempt_started_at = Some(now);
            effect = Some(Effect::Step(Step::Post));
        }
        (Checking, Event::Start) => effect = Some(Effect::Step(Step::Search)),
        (WaitingForId, Event::Start) => effect = Some(Effect::Step(Step::ResolveToken)),
        (InFlight, Event::Recover) => {
            // Its sender may only be paused, its POST still on the way: checked once nothing
            // of it can still arrive.
            p.phase = Checking;
            p.checks = 0;
            p.next_at = now.max(from.post_deadline.unwrap_or(now));
            history = Some(HistoryEvent::Recovered);
        }
        (InFlight, Event::HeldBack) => {
            // Never posted: not an attempt, and due again at once.
            p.phase = Queued;
            p.attempts = p.attempts.saturating_sub(1);
        }
        (Offline(resume), Event::NetworkBack) => {
            p.phase = match resume {
                Resume::Post => Queued,
                Resume::Check => Checking,
                Resume::ResolveToken => WaitingForId,
            };
            p.next_at = now;
        }
        (phase @ (Queued | InFlight | Checking | WaitingForId), Event::Unreachable) => {
            p.phase = Offline(match phase {
                Queued | InFlight => Resume::Post,
                Checking => Resume::Check,
                _ => Resume::ResolveToken,
            });
            if phase == InFlight {
                // Nothing left the phone: not an attempt (nor a line of history: the state
                // says it, and a dead zone would write one per try).
                p.attempts = p.attempts.saturating_sub(1);
            }
        }
        (InFlight, Event::Busy { retry_after }) => {
            p.phase = Queued;
            p.next_at = now + ms(policy.delay(p.attempts.max(1), retry_after, entropy));
            let capped = retry_after.filter(|d| *d > RETRY_AFTER_CAP);
            history = Some(HistoryEvent::RetryLater {
                asked_seconds: capped.map(|d| d.as_secs()),
            });
        }
        (InFlight, Event::Created { id }) => {
            p.phase = Sent;
            history = Some(HistoryEvent::Received { request_id: id });
        }
        (InFlight, Event::GotToken) => {
            p.phase = WaitingForId;
            p.checks = 0;
            p.next_at = now + ms(policy.token_poll);
            history = Some(HistoryEvent::QueuedByCity);
        }
        (InFlight, Event::Unanswered { answer, .. }) => {
            check_soon(&mut p, now, policy, entropy);
            if answer != Unusable::CutOff {
                p.post_deadline = Some(now); // a whole answer: nothing of it arrives later
            }
            if answer == Unusable::Document {
                p.unanswered += 1;
            }
            history = Some(HistoryEvent::NoAnswer);
        }
        (InFlight, Event::ServerFailed { status, messages }) => {
            check_soon(&mut p, now, policy, entropy);
            // A gateway or an overloaded server (502, 503, 504) says nothing about the report;
            // an application error (500, ...) may be about it: those are counted.
            history = Some(if matches!(status, 502..=504) {
                HistoryEvent::ServerUnavailable { status }
            } else {
                // The application itself answered: nothing of this POST arrives later.
                p.post_deadline = Some(now);
                p.server_failures += 1;
                HistoryEvent::ServerError {
                    status,
                    messages: messages.clone(),
                }
            });
            p.server_messages = messages;
        }
        (InFlight, Event::SaidDuplicate) => {
            p.phase = Checking;
            p.checks = 0;
            p.said_duplicate = true;
            p.next_at = now;
            history = Some(HistoryEvent::SaidDuplicate);
        }
        (InFlight, Event::Refused { kind, messages }) => {
            if kind == AttentionKind::SettingsRefused {
                effect = Some(Effect::PauseServer);
            }
            history = needs(&mut p, kind, None, messages);
        }
        (Queued, Event::SettingsUnusable) => {
            history = needs(&mut p, AttentionKind::BadSettings, None, vec![]);
        }
        // A search or a poll that cannot be made is a server not ready: tried again later,
        // bounded like any other.
        (Checking | WaitingForId, Event::SettingsUnusable) => {
            return transition(from, Event::Busy { retry_after: None }, ctx);
        }
        (Checking, Event::Found { id }) => {
            p.phase = Sent;
            history = Some(HistoryEvent::FoundOnServer { request_id: id });
        }
        // "Not found" is earned twice: a second search, after the server's search lag and
        // once no POST of it can still arrive.
        (
            Checking,
            Event::NotFound {
                confirm_after,
                searched_at,
            },
        ) if from.not_found == 0
            || now < from.post_deadline.unwrap_or(0)
            || now < from.searched_at.unwrap_or(searched_at) + ms(confirm_after) =>
        {
            let first = from.searched_at.unwrap_or(searched_at);
            p.not_found += 1;
            p.searched_at = Some(first);
            p.next_at = (first + ms(confirm_after))
                .max(from.post_deadline.unwrap_or(0))
                .max(now);
            if from.not_found == 0 {
                history = Some(HistoryEvent::NotFoundYet);
            }
        }
        (Checking, Event::NotFound { .. }) if from.said_duplicate => {
            history = needs(&mut p, AttentionKind::SaidDuplicate, None, vec![]);
        }
        (Checking, Event::NotFound { .. })
            if from.server_failures >= MAX_SERVER_FAILURES || from.unanswered > MAX_REPOSTS =>
        {
            let messages = from.server_messages.clone();
            let failures = Some(from.server_failures.max(from.unanswered));
            history = needs(
                &mut p,
                AttentionKind::ServerKeepsFailing,
                failures,
                messages,
            );
        }
        (Checking, Event::NotFound { .. }) => {
            p.phase = Queued;
            // Backed off like any retry: a server failing on every POST is not posted to in
            // a tight loop.
            p.next_at = now + ms(policy.delay(p.attempts.max(1), None, entropy));
            history = Some(HistoryEvent::NotOnServer);
        }
        (
            Queued | Checking | Offline(Resume::Post | Resume::Check) | NeedsUser,
            Event::AnsweredLate { id },
        ) => {
            p.phase = Sent;
            p.attention = None;
            history = Some(HistoryEvent::AnsweredLate { request_id: id });
        }
        (Checking, Event::Ambiguous { count }) => {
            let count = Some(u32::try_from(count).unwrap_or(u32::MAX));
            history = needs(&mut p, AttentionKind::AmbiguousMatch, count, vec![]);
        }
        (Checking, Event::Unsearchable { .. }) => {
            history = needs(&mut p, AttentionKind::Unsearchable, None, vec![]);
        }
        (Checking, Event::Busy { .. }) if from.checks + 1 >= policy.max_checks => {
            p.checks += 1;
            history = needs(&mut p, AttentionKind::Unsearchable, None, vec![]);
        }
        (Checking, Event::Busy { retry_after }) => {
            p.checks += 1;
            p.next_at = now + ms(policy.delay(p.checks, retry_after, entropy));
        }
        (WaitingForId, Event::TokenResolved { id }) => {
            p.phase = Sent;
            history = Some(HistoryEvent::IdFromToken { request_id: id });
        }
        (WaitingForId, Event::TokenUnreadable) => {
            p.phase = Sent;
            history = Some(HistoryEvent::TokenUnreadable);
        }
        (WaitingForId, Event::TokenPending | Event::Busy { .. })
            if from.checks + 1 >= policy.max_checks =>
        {
            p.phase = Sent;
            p.checks += 1;
            history = Some(HistoryEvent::TokenNeverResolved);
        }
        (WaitingForId, Event::TokenPending) => {
            p.checks += 1;
            let poll = policy
                .token_poll
                .saturating_mul(1 << p.checks.min(16))
                .min(policy.max);
            p.next_at = now + ms(poll);
        }
        (WaitingForId, Event::Busy { retry_after }) => {
            p.checks += 1;
            p.next_at = now + ms(policy.delay(p.checks, retry_after, entropy));
        }
        (Queued | Offline(Resume::Post) | NeedsUser, Event::Cancel) if from.editable() => {
            p.phase = Cancelled;
            p.attention = None;
            history = Some(HistoryEvent::Cancelled);
        }
        (Queued | Offline(Resume::Post) | NeedsUser, Event::Edit) if from.editable() => {
            p.phase = Cancelled;
            p.attention = None;
            effect = Some(Effect::Remove);
        }
        (_, Event::Withdraw) if from.phase.withdrawable() => {
            p.phase = Cancelled;
            p.attention = None;
            history = Some(HistoryEvent::Withdrawn);
        }
        (
            Queued | Checking | Offline(Resume::Post | Resume::Check) | NeedsUser,
            Event::Confirm { id },
        ) if from.may_have_arrived() => {
            p.phase = Sent;
            p.attention = None;
            history = Some(HistoryEvent::ConfirmedByUser { request_id: id });
        }
        (NeedsUser, Event::Retry) => {
            let kind = from.attention.as_ref().map(|a| a.kind);
            p.attention = None;
            p.checks = 0;
            p.server_failures = 0;
            p.unanswered = 0;
            p.said_duplicate = false;
            p.next_at = now;
            p.phase = Queued;
            if kind == Some(AttentionKind::Other) && from.attempts > 0 {
                p.phase = Checking; // an old row that kept no reason: look before posting
            }
            history = Some(HistoryEvent::RetriedByUser);
        }
        (NeedsUser, Event::SettingsChanged)
            if from
                .attention
                .as_ref()
                .is_some_and(|a| a.action == AttentionAction::CheckSettings) =>
        {
            p.phase = Queued;
            p.attention = None;
            p.next_at = now;
            history = Some(HistoryEvent::SettingsChanged);
        }
        _ => return not_allowed(),
    }
    if p.phase != Checking && p.phase != WaitingForId && from.phase != p.phase {
        p.checks = 0;
    }
    if p.phase != Checking {
        p.not_found = 0;
        p.searched_at = None;
    }
    let mut effects: Vec<Effect> = effect.into_iter().collect();
    // Personal data is kept only as long as needed: not once the report is finished (a row
    // removed takes them with it: they go back to the draft).
    let removed = effect == Some(Effect::Remove);
    if matches!(p.phase, Sent | Cancelled) && from.phase != p.phase && !keep_contact && !removed {
        effects.push(Effect::ForgetContact);
    }
    if wakes {
        effects.push(Effect::Wake);
    }
    Ok(Transition {
        progress: p,
        effects,
        history,
    })
}

/// What the user can do, by cause.
fn action_for(kind: AttentionKind) -> AttentionAction {
    match kind {
        AttentionKind::Refused | AttentionKind::ServerKeepsFailing => {
            AttentionAction::EditAndResubmit
        }
        AttentionKind::SettingsRefused | AttentionKind::BadSettings => {
            AttentionAction::CheckSettings
        }
        AttentionKind::SaidDuplicate
        | AttentionKind::AmbiguousMatch
        | AttentionKind::Unsearchable
        | AttentionKind::Other => AttentionAction::ConfirmPossibleDuplicate,
    }
}

/// A POST that may have arrived: look for it first, soon.
fn check_soon(p: &mut Progress, now: i64, policy: &RetryPolicy, entropy: u32) {
    p.phase = Phase::Checking;
    p.checks = 0;
    p.next_at = now
        + policy
            .delay(1, None, entropy)
            .min(Duration::from_secs(5))
            .as_millis() as i64;
}

#[cfg(test)]
mod tests;
