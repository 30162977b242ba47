//! The transition function against the table in the outbox's module doc, row by row, and
//! the rules around it.

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
            "confirm" | "confirm_after_unsearchable" => AttentionKind::Unsearchable,
            _ => AttentionKind::Refused,
        };
        p.attention = Some(Attention {
            kind,
            action: action_for(kind),
            count: None,
            messages: vec![],
        });
    }
    if event.starts_with("not_found") && event != "not_found_once" {
        p.not_found = 1; // the confirming search, past the deadline
    }
    if event.starts_with("confirm") {
        p.attempts = 1; // posted before: it may have arrived
    }
    match event {
        "not_found_after_duplicate" => p.said_duplicate = true,
        "not_found_after_server_failures" => p.server_failures = MAX_SERVER_FAILURES,
        "not_found_after_unanswered" => p.unanswered = MAX_REPOSTS + 1,
        "busy_at_max_checks" | "token_pending_at_max_checks" => p.checks = policy().max_checks - 1,
        _ => {}
    }
    p
}

fn event(name: &str) -> Event {
    match name {
        "start" => Event::Start,
        "recover" => Event::Recover,
        "held_back" => Event::HeldBack,
        "network_back" => Event::NetworkBack,
        "unreachable" => Event::Unreachable,
        "busy" | "busy_at_max_checks" => Event::Busy { retry_after: None },
        "created" => Event::Created {
            id: Some("1".into()),
        },
        "got_token" => Event::GotToken,
        "unanswered" => Event::Unanswered {
            reason: "reset".into(),
            answer: curbside_open311::Unusable::CutOff,
        },
        "server_failed" => Event::ServerFailed {
            status: 500,
            messages: vec![],
        },
        "said_duplicate" => Event::SaidDuplicate,
        "refused" => Event::Refused {
            kind: AttentionKind::Refused,
            messages: vec![],
        },
        "refused_settings" => Event::Refused {
            kind: AttentionKind::SettingsRefused,
            messages: vec![],
        },
        "found" => Event::Found { id: "1".into() },
        "not_found"
        | "not_found_once"
        | "not_found_after_duplicate"
        | "not_found_after_server_failures"
        | "not_found_after_unanswered" => Event::NotFound {
            confirm_after: Duration::from_secs(120),
            searched_at: -1_000_000,
        },
        "answered_late" => Event::AnsweredLate { id: "1".into() },
        "ambiguous" => Event::Ambiguous { count: 2 },
        "unsearchable" => Event::Unsearchable {
            why: "ignores filters".into(),
        },
        "token_resolved" => Event::TokenResolved { id: "1".into() },
        "token_unreadable" => Event::TokenUnreadable,
        "token_pending" | "token_pending_at_max_checks" => Event::TokenPending,
        "cancel" => Event::Cancel,
        "withdraw" => Event::Withdraw,
        "confirm" | "confirm_after_post" | "confirm_after_unsearchable" => {
            Event::Confirm { id: "1".into() }
        }
        "retry" => Event::Retry,
        "settings_changed" => Event::SettingsChanged,
        other => panic!("the table names an unknown event {other}"),
    }
}

/// The design doc's transition table, row by row.
fn table() -> Vec<(String, String, String, String)> {
    let doc = include_str!("../lib.rs");
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
            500,
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
        "held_back",
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
        "withdraw",
        "confirm",
        "retry",
        "settings_changed",
    ];
    for from in phases {
        for name in events {
            let listed = rows
                .iter()
                .any(|(f, e, _, _)| f == from && e.starts_with(name));
            let result = transition(
                &progress(phase(from), name),
                event(name),
                1_000,
                &policy(),
                500,
            );
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
    let in_flight = transition(&queued, Event::Start, 10, &p, 500)
        .unwrap()
        .progress;
    assert_eq!(in_flight.attempts, 1);
    let offline = transition(&in_flight, Event::Unreachable, 20, &p, 500)
        .unwrap()
        .progress;
    assert_eq!(offline.phase, Phase::Offline(Resume::Post));
    assert_eq!(offline.attempts, 0, "nothing left the phone");
    let back = transition(&offline, Event::NetworkBack, 5_000, &p, 500)
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
        let next = transition(&in_flight, busy, 1_000, &policy(), 500).unwrap();
        let day = RETRY_AFTER_CAP.as_millis() as i64;
        assert_eq!(
            next.progress.next_at,
            1_000 + day,
            "in a day, not wrapped nor in 3,000 years"
        );
        assert_eq!(
            next.history,
            Some(HistoryEvent::RetryLater {
                asked_seconds: Some(asked)
            }),
            "the history keeps what was asked"
        );
    }
}

#[test]
fn checks_and_token_polls_back_off_and_end() {
    let p = policy();
    let mut checking = Progress::new(0);
    checking.phase = Phase::Checking;
    let mut waits = Vec::new();
    for _ in 0..p.max_checks {
        let next = transition(&checking, Event::Busy { retry_after: None }, 0, &p, 500).unwrap();
        waits.push(next.progress.next_at);
        checking = next.progress;
    }
    assert_eq!(checking.phase, Phase::NeedsUser);
    assert!(waits[1] > waits[0], "backs off: {waits:?}");
    let mut waiting = Progress::new(0);
    waiting.phase = Phase::WaitingForId;
    let mut polls = Vec::new();
    for _ in 0..p.max_checks {
        let next = transition(&waiting, Event::TokenPending, 0, &p, 500).unwrap();
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

#[test]
fn confirm_needs_a_post_that_may_have_arrived() {
    let p = policy();
    let confirm = || Event::Confirm { id: "H-1".into() };
    let never_posted = Progress::new(0);
    assert!(
        transition(&never_posted, confirm(), 0, &p, 500).is_err(),
        "nothing was posted: nothing can have arrived"
    );
    let mut refused = Progress::new(0);
    refused.phase = Phase::NeedsUser;
    refused.attempts = 1;
    refused.attention = Some(Attention {
        kind: AttentionKind::Refused,
        action: action_for(AttentionKind::Refused),
        count: None,
        messages: vec![],
    });
    assert!(
        transition(&refused, confirm(), 0, &p, 500).is_err(),
        "the city refused it: it did not arrive"
    );
    assert_eq!(
        transition(&refused, Event::Withdraw, 0, &p, 500)
            .unwrap()
            .progress
            .phase,
        Phase::Cancelled,
        "withdrawn whatever the reason"
    );
    let mut in_flight = Progress::new(0);
    in_flight.phase = Phase::InFlight;
    assert!(
        transition(&in_flight, Event::Withdraw, 0, &p, 500).is_err(),
        "a POST on its way cannot be withdrawn"
    );
}

#[test]
fn the_same_inputs_give_the_same_transition() {
    let mut in_flight = Progress::new(0);
    in_flight.phase = Phase::InFlight;
    in_flight.attempts = 2;
    let busy = || Event::Busy { retry_after: None };
    let a = transition(&in_flight, busy(), 1_000, &policy(), 123).unwrap();
    let b = transition(&in_flight, busy(), 1_000, &policy(), 123).unwrap();
    assert_eq!(a.progress, b.progress, "no clock and no randomness inside");
    let other = transition(&in_flight, busy(), 1_000, &policy(), 877).unwrap();
    assert_ne!(
        a.progress.next_at, other.progress.next_at,
        "the jitter is the caller's entropy"
    );
}
