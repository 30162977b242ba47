//! The outbox's state machine: one persisted phase per report and a pure transition function
//! `(progress, event, now, policy) -> (progress, effect, history)`. No I/O here: the engine
//! carries out the effects and persists the result. The table in the module doc of
//! `lib.rs` is the specification, and a test checks this code against it row by row.

use std::time::Duration;

use curbside_open311::ServerMessage;
use curbside_types::phase::{Phase, Progress, Resume};
use curbside_types::report::{
    Attention, AttentionAction, AttentionKind, RetryPolicy, RETRY_AFTER_CAP,
};

/// Something that happened to a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The engine takes it (it is due and its server is not paused).
    Start,
    /// Found in flight when the engine starts: the process died mid-send.
    Recover,
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
        /// A sentence for the user.
        reason: String,
        /// The server's words.
        messages: Vec<ServerMessage>,
    },
    /// The search found it.
    Found {
        /// The city's id.
        id: String,
    },
    /// The search proved it is not on the server.
    NotFound,
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
    /// The user withdraws it.
    Cancel,
    /// The user asks to send it again.
    Retry,
    /// The server's settings changed.
    SettingsChanged,
}

impl Event {
    /// Its name in the design table and in logs.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Start => "start",
            Event::Recover => "recover",
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
            Event::NotFound => "not_found",
            Event::Ambiguous { .. } => "ambiguous",
            Event::Unsearchable { .. } => "unsearchable",
            Event::TokenPending => "token_pending",
            Event::TokenResolved { .. } => "token_resolved",
            Event::TokenUnreadable => "token_unreadable",
            Event::Cancel => "cancel",
            Event::Retry => "retry",
            Event::SettingsChanged => "settings_changed",
        }
    }
}

/// What the engine must do after a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// POST it (the attempt-started mark is committed first).
    Post,
    /// Search the server for it.
    Search,
    /// Poll its token.
    ResolveToken,
    /// Pause its server until the settings change.
    PauseServer,
}

/// The result of a transition.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub progress: Progress,
    pub effect: Option<Effect>,
    /// A history entry: `(kind, summary)`.
    pub history: Option<(&'static str, String)>,
}

/// Why an event does not apply in a phase.
#[derive(Debug, Clone, PartialEq)]
pub struct NotAllowed {
    pub phase: Phase,
}

/// POSTs answered with an application error before the report waits for the user.
pub const MAX_SERVER_FAILURES: u32 = 3;

/// The transition function. Pure: the same inputs give the same outputs (no clock, no
/// randomness beyond the policy's jitter).
pub fn transition(
    from: &Progress,
    event: Event,
    now: i64,
    policy: &RetryPolicy,
) -> Result<Transition, NotAllowed> {
    use Phase::*;
    let mut p = from.clone();
    let mut effect = None;
    let mut history: Option<(&'static str, String)> = None;
    let ms = |d: Duration| d.as_millis() as i64;
    let not_allowed = || Err(NotAllowed { phase: from.phase });
    let needs =
        |p: &mut Progress, kind: AttentionKind, reason: String, messages: Vec<ServerMessage>| {
            p.phase = NeedsUser;
            p.attention = Some(Attention {
                kind,
                action: action_for(kind),
                reason,
                messages,
            });
        };
    match (from.phase, event) {
        (Queued, Event::Start) => {
            p.phase = InFlight;
            p.attempts += 1;
            p.attempt_started_at = Some(now);
            effect = Some(Effect::Post);
        }
        (Checking, Event::Start) => effect = Some(Effect::Search),
        (WaitingForId, Event::Start) => effect = Some(Effect::ResolveToken),
        (InFlight, Event::Recover) => {
            p.phase = Checking;
            p.next_at = now;
            history = Some((
                "recovered",
                "Interrupted while sending; checking whether it arrived".into(),
            ));
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
            p.next_at = now + ms(policy.delay(p.attempts.max(1), retry_after));
            let capped = retry_after.filter(|d| *d > RETRY_AFTER_CAP);
            history = Some((
                "retry_later",
                match capped {
                    Some(asked) => format!(
                        "The city's server asked to wait {} s; waiting at most a day, then trying again",
                        asked.as_secs()
                    ),
                    None => "The city's server asked to wait; will try again".into(),
                },
            ));
        }
        (InFlight, Event::Created { id }) => {
            p.phase = Sent;
            history = Some((
                "sent",
                match id {
                    Some(id) => format!("Received by the city as request {id}"),
                    None => "Received by the city (it gives no request id)".into(),
                },
            ));
        }
        (InFlight, Event::GotToken) => {
            p.phase = WaitingForId;
            p.checks = 0;
            p.next_at = now + ms(policy.token_poll);
            history = Some((
                "queued_by_city",
                "The city queued it; waiting for its id".into(),
            ));
        }
        (InFlight, Event::Unanswered { reason }) => {
            check_soon(&mut p, now, policy);
            history = Some((
                "unknown_outcome",
                format!("No usable answer from the city ({reason}); checking whether it arrived"),
            ));
        }
        (InFlight, Event::ServerFailed { status, messages }) => {
            check_soon(&mut p, now, policy);
            let words = words(&messages);
            // A gateway or an overloaded server (502, 503, 504) says nothing about the report;
            // an application error (500, ...) may be about it: those are counted.
            history = Some(if matches!(status, 502..=504) {
                ("server_unavailable", format!("The city's server answered HTTP {status}{words}; checking whether it arrived"))
            } else {
                p.server_failures += 1;
                ("server_error", format!("The city's server failed with HTTP {status}{words}; checking whether it arrived"))
            });
            p.server_messages = messages;
        }
        (InFlight, Event::SaidDuplicate) => {
            p.phase = Checking;
            p.checks = 0;
            p.said_duplicate = true;
            p.next_at = now;
            history = Some((
                "duplicate",
                "The city says it already has this; looking for it".into(),
            ));
        }
        (
            InFlight,
            Event::Refused {
                kind,
                reason,
                messages,
            },
        ) => {
            if kind == AttentionKind::SettingsRefused {
                effect = Some(Effect::PauseServer);
            }
            history = Some(("needs_attention", format!("{reason}{}", words(&messages))));
            needs(&mut p, kind, reason, messages);
        }
        (Checking, Event::Found { id }) => {
            p.phase = Sent;
            history = Some((
                "sent",
                format!("Found on the city's server as request {id}; not sent again"),
            ));
        }
        (Checking, Event::NotFound) if from.said_duplicate => {
            let reason = "The city says it already has this report, but it could not be found. \
                          Send it again only if you are sure it did not arrive.";
            history = Some(("needs_attention", reason.into()));
            needs(&mut p, AttentionKind::SaidDuplicate, reason.into(), vec![]);
        }
        (Checking, Event::NotFound) if from.server_failures >= MAX_SERVER_FAILURES => {
            let reason = format!(
                "The city's server failed on this report {} times, and it is not on the server. \
                 Edit it and submit again, or try later.",
                from.server_failures
            );
            history = Some((
                "needs_attention",
                format!("{reason}{}", words(&from.server_messages)),
            ));
            let messages = from.server_messages.clone();
            needs(&mut p, AttentionKind::ServerKeepsFailing, reason, messages);
        }
        (Checking, Event::NotFound) => {
            p.phase = Queued;
            // Backed off like any retry: a server failing on every POST is not posted to in
            // a tight loop.
            p.next_at = now + ms(policy.delay(p.attempts.max(1), None));
            history = Some((
                "not_found",
                "Not on the city's server; sending again".into(),
            ));
        }
        (Checking, Event::Ambiguous { count }) => {
            let reason = match count {
                1 => "A request on the city's server may be this report, but nothing but its service and time matched. \
                      Send it again only if you are sure it did not arrive."
                    .to_string(),
                n => format!(
                    "{n} requests on the city's server could be this report. \
                     Send it again only if you are sure it did not arrive."
                ),
            };
            history = Some(("needs_attention", reason.clone()));
            needs(&mut p, AttentionKind::AmbiguousMatch, reason, vec![]);
        }
        (Checking, Event::Unsearchable { why }) => {
            let reason = "The city may already have received this report, and its server cannot be searched \
                          reliably to check. Send it again only if you are sure it did not arrive.";
            history = Some(("needs_attention", format!("{reason} ({why})")));
            needs(&mut p, AttentionKind::Unsearchable, reason.into(), vec![]);
        }
        (Checking, Event::Busy { .. }) if from.checks + 1 >= policy.max_checks => {
            let reason = "The city may already have received this report, and its server could not be searched \
                          to check. Send it again only if you are sure it did not arrive.";
            p.checks += 1;
            history = Some(("needs_attention", reason.into()));
            needs(&mut p, AttentionKind::Unsearchable, reason.into(), vec![]);
        }
        (Checking, Event::Busy { retry_after }) => {
            p.checks += 1;
            p.next_at = now + ms(policy.delay(p.checks, retry_after));
        }
        (WaitingForId, Event::TokenResolved { id }) => {
            p.phase = Sent;
            history = Some(("sent", format!("The city gave it the id {id}")));
        }
        (WaitingForId, Event::TokenUnreadable) => {
            p.phase = Sent;
            history = Some((
                "sent",
                "Received by the city; its id could not be looked up".into(),
            ));
        }
        (WaitingForId, Event::TokenPending | Event::Busy { .. })
            if from.checks + 1 >= policy.max_checks =>
        {
            p.phase = Sent;
            p.checks += 1;
            history = Some((
                "sent",
                "Received by the city (it gave a token), which never gave its id: its status cannot be followed".into(),
            ));
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
            p.next_at = now + ms(policy.delay(p.checks, retry_after));
        }
        (Queued | Offline(Resume::Post) | NeedsUser, Event::Cancel) if from.editable() => {
            p.phase = Cancelled;
            p.attention = None;
            history = Some(("cancelled", "Withdrawn before it was sent".into()));
        }
        (NeedsUser, Event::Retry) => {
            let kind = from.attention.as_ref().map(|a| a.kind);
            p.attention = None;
            p.checks = 0;
            p.server_failures = 0;
            p.said_duplicate = false;
            p.next_at = now;
            p.phase = Queued;
            if kind == Some(AttentionKind::Other) && from.attempts > 0 {
                p.phase = Checking; // an old row that kept no reason: look before posting
            }
            history = Some(("retry", "Sending again, as asked".into()));
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
            history = Some(("retry", "Server settings changed; trying again".into()));
        }
        _ => return not_allowed(),
    }
    if p.phase != Checking && p.phase != WaitingForId && from.phase != p.phase {
        p.checks = 0;
    }
    Ok(Transition {
        progress: p,
        effect,
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
fn check_soon(p: &mut Progress, now: i64, policy: &RetryPolicy) {
    p.phase = Phase::Checking;
    p.checks = 0;
    p.next_at = now
        + policy
            .delay(1, None)
            .min(Duration::from_secs(5))
            .as_millis() as i64;
}

/// The server's words, for a history entry: `: "a"; "b"`, or nothing.
pub fn words(messages: &[ServerMessage]) -> String {
    if messages.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = messages
        .iter()
        .take(5)
        .map(|m| match &m.field {
            Some(field) => format!("{field}: \"{}\"", m.description),
            None => format!("\"{}\"", m.description),
        })
        .collect();
    format!(": {}", quoted.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_secs(30),
            max: Duration::from_secs(3600),
            token_poll: Duration::from_secs(10),
            max_checks: 4,
        }
    }

    fn phase(name: &str) -> Phase {
        let (phase, resume) = match name.split_once('(') {
            Some((p, r)) => (p, Some(r.trim_end_matches(')'))),
            None => (name, None),
        };
        Phase::from_columns(phase, resume).unwrap_or_else(|| panic!("no phase {name}"))
    }

    /// A report in `phase`, as the row names it, with what the event needs to apply.
    fn progress(from: Phase, event: &str) -> Progress {
        let mut p = Progress::new(0);
        p.phase = from;
        if from == Phase::NeedsUser {
            let kind = match event {
                "settings_changed" => AttentionKind::SettingsRefused,
                _ => AttentionKind::Refused,
            };
            p.attention = Some(Attention {
                kind,
                action: action_for(kind),
                reason: String::new(),
                messages: vec![],
            });
        }
        match event {
            "not_found_after_duplicate" => p.said_duplicate = true,
            "not_found_after_server_failures" => p.server_failures = MAX_SERVER_FAILURES,
            "busy_at_max_checks" | "token_pending_at_max_checks" => {
                p.checks = policy().max_checks - 1
            }
            _ => {}
        }
        p
    }

    fn event(name: &str) -> Event {
        match name {
            "start" => Event::Start,
            "recover" => Event::Recover,
            "network_back" => Event::NetworkBack,
            "unreachable" => Event::Unreachable,
            "busy" | "busy_at_max_checks" => Event::Busy { retry_after: None },
            "created" => Event::Created {
                id: Some("1".into()),
            },
            "got_token" => Event::GotToken,
            "unanswered" => Event::Unanswered {
                reason: "reset".into(),
            },
            "server_failed" => Event::ServerFailed {
                status: 500,
                messages: vec![],
            },
            "said_duplicate" => Event::SaidDuplicate,
            "refused" => Event::Refused {
                kind: AttentionKind::Refused,
                reason: "no".into(),
                messages: vec![],
            },
            "refused_settings" => Event::Refused {
                kind: AttentionKind::SettingsRefused,
                reason: "bad key".into(),
                messages: vec![],
            },
            "found" => Event::Found { id: "1".into() },
            "not_found" | "not_found_after_duplicate" | "not_found_after_server_failures" => {
                Event::NotFound
            }
            "ambiguous" => Event::Ambiguous { count: 2 },
            "unsearchable" => Event::Unsearchable {
                why: "ignores filters".into(),
            },
            "token_resolved" => Event::TokenResolved { id: "1".into() },
            "token_unreadable" => Event::TokenUnreadable,
            "token_pending" | "token_pending_at_max_checks" => Event::TokenPending,
            "cancel" => Event::Cancel,
            "retry" => Event::Retry,
            "settings_changed" => Event::SettingsChanged,
            other => panic!("the table names an unknown event {other}"),
        }
    }

    /// The design doc's transition table, row by row.
    fn table() -> Vec<(String, String, String, String)> {
        let doc = include_str!("lib.rs");
        let start = doc
            .find("//! | from | event | to | effect |")
            .expect("the table");
        doc[start..]
            .lines()
            .skip(2)
            .take_while(|l| l.starts_with("//! |"))
            .map(|l| {
                let cells: Vec<String> = l
                    .trim_start_matches("//!")
                    .trim()
                    .trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().to_string())
                    .collect();
                (
                    cells[0].clone(),
                    cells[1].clone(),
                    cells[2].clone(),
                    cells[3].clone(),
                )
            })
            .collect()
    }

    #[test]
    fn the_design_table_is_the_code() {
        let rows = table();
        assert!(rows.len() > 30, "the table was read: {} rows", rows.len());
        for (from, event_name, to, effect) in &rows {
            let from_phase = phase(from);
            let result = transition(
                &progress(from_phase, event_name),
                event(event_name),
                1_000,
                &policy(),
            )
            .unwrap_or_else(|_| panic!("{from} + {event_name}: refused, the table says {to}"));
            assert_eq!(result.progress.phase, phase(to), "{from} + {event_name}");
            let effect_name = match result.effect {
                None => "-",
                Some(Effect::Post) => "post",
                Some(Effect::Search) => "search",
                Some(Effect::ResolveToken) => "resolve_token",
                Some(Effect::PauseServer) => "pause_server",
            };
            assert_eq!(effect_name, effect, "{from} + {event_name}: effect");
        }
    }

    #[test]
    fn pairs_the_table_leaves_out_are_refused() {
        let rows = table();
        let phases = [
            "queued",
            "in_flight",
            "checking",
            "waiting_for_id",
            "waiting_for_network(post)",
            "waiting_for_network(check)",
            "waiting_for_network(resolve_token)",
            "sent",
            "needs_user",
            "cancelled",
        ];
        let events = [
            "start",
            "recover",
            "network_back",
            "unreachable",
            "busy",
            "created",
            "got_token",
            "unanswered",
            "server_failed",
            "said_duplicate",
            "refused",
            "found",
            "not_found",
            "ambiguous",
            "unsearchable",
            "token_resolved",
            "token_unreadable",
            "token_pending",
            "cancel",
            "retry",
            "settings_changed",
        ];
        for from in phases {
            for name in events {
                let listed = rows
                    .iter()
                    .any(|(f, e, _, _)| f == from && e.starts_with(name));
                let result =
                    transition(&progress(phase(from), name), event(name), 1_000, &policy());
                if !listed {
                    assert!(
                        result.is_err(),
                        "{from} + {name} is not in the table but is allowed"
                    );
                }
            }
        }
    }

    #[test]
    fn offline_costs_no_attempt_and_no_backoff() {
        let p = policy();
        let queued = Progress::new(0);
        let in_flight = transition(&queued, Event::Start, 10, &p).unwrap().progress;
        assert_eq!(in_flight.attempts, 1);
        let offline = transition(&in_flight, Event::Unreachable, 20, &p)
            .unwrap()
            .progress;
        assert_eq!(offline.phase, Phase::Offline(Resume::Post));
        assert_eq!(offline.attempts, 0, "nothing left the phone");
        let back = transition(&offline, Event::NetworkBack, 5_000, &p)
            .unwrap()
            .progress;
        assert_eq!(
            (back.phase, back.next_at),
            (Phase::Queued, 5_000),
            "due at once"
        );
        assert!(back.editable(), "never posted: still editable");
    }

    #[test]
    fn a_huge_retry_after_is_capped_and_the_history_says_so() {
        let mut in_flight = Progress::new(0);
        in_flight.phase = Phase::InFlight;
        in_flight.attempts = 1;
        for asked in [u64::MAX, 99_999_999_999] {
            let busy = Event::Busy {
                retry_after: Some(Duration::from_secs(asked)),
            };
            let next = transition(&in_flight, busy, 1_000, &policy()).unwrap();
            let day = RETRY_AFTER_CAP.as_millis() as i64;
            assert_eq!(
                next.progress.next_at,
                1_000 + day,
                "in a day, not wrapped nor in 3,000 years"
            );
            assert!(next.history.unwrap().1.contains("at most a day"));
        }
    }

    #[test]
    fn checks_and_token_polls_back_off_and_end() {
        let p = policy();
        let mut checking = Progress::new(0);
        checking.phase = Phase::Checking;
        let mut waits = Vec::new();
        for _ in 0..p.max_checks {
            let next = transition(&checking, Event::Busy { retry_after: None }, 0, &p).unwrap();
            waits.push(next.progress.next_at);
            checking = next.progress;
        }
        assert_eq!(checking.phase, Phase::NeedsUser);
        assert!(waits[1] > waits[0], "backs off: {waits:?}");
        let mut waiting = Progress::new(0);
        waiting.phase = Phase::WaitingForId;
        let mut polls = Vec::new();
        for _ in 0..p.max_checks {
            let next = transition(&waiting, Event::TokenPending, 0, &p).unwrap();
            polls.push(next.progress.next_at);
            waiting = next.progress;
        }
        assert_eq!(
            waiting.phase,
            Phase::Sent,
            "the city has it; its id never came"
        );
        assert!(polls[2] > polls[1] && polls[1] > polls[0], "{polls:?}");
    }
}
