//! The transition function against the table in the outbox's module doc, row by row, and
//! the rules around it.

use super::*;

/// The context of a transition at `now`: the test policy, a fixed draw, no contact kept.
fn ctx(now: i64) -> Context {
    Context {
        now,
        policy: policy(),
        entropy: 500,
        keep_contact: false,
    }
}

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

/// A report in `from` for which each of `guard`'s conditions (comma-separated) holds, or,
/// with `met` false, for which none does.
fn progress(from: Phase, guard: &str, met: bool) -> Progress {
    let mut p = Progress::new(0);
    p.phase = from;
    let attention = |kind| Attention {
        kind,
        action: action_for(kind),
        count: None,
        messages: vec![],
    };
    if from == Phase::NeedsUser {
        // A report stopped on a possible duplicate: posted, may have arrived, not editable.
        p.attempts = 1;
        p.attention = Some(attention(AttentionKind::AmbiguousMatch));
    }
    for condition in guard.split(',').map(str::trim) {
        match (condition, met) {
            ("-", _) => {}
            ("first_search", true) | ("confirming", false) => p.not_found = 0,
            ("first_search", false) | ("confirming", true) => p.not_found = 1,
            ("said_duplicate", m) => p.said_duplicate = m,
            ("server_failures_at_max", m) => {
                p.server_failures = if m { MAX_SERVER_FAILURES } else { 0 }
            }
            ("reposts_past_max", m) => p.unanswered = if m { MAX_REPOSTS + 1 } else { 0 },
            ("checks_at_max", m) => p.checks = if m { policy().max_checks - 1 } else { 0 },
            // The event's own kind: set by `event`.
            ("settings_refused", _) => {}
            ("editable", true) if from == Phase::NeedsUser => {
                p.attention = Some(attention(AttentionKind::Refused))
            }
            ("editable", true) => p.attempts = 0,
            ("editable", false) => p.attempts = 1, // posted, and not refused
            ("may_have_arrived", true) => p.attempts = 1,
            ("may_have_arrived", false) if from == Phase::NeedsUser => {
                p.attention = Some(attention(AttentionKind::Refused))
            }
            ("may_have_arrived", false) => p.attempts = 0,
            ("check_settings", true) => {
                p.attention = Some(attention(AttentionKind::SettingsRefused))
            }
            ("check_settings", false) => {}
            // An old row that kept no reason, posted before: looked for before posting again.
            ("unknown_reason", true) => {
                p.attention = Some(attention(AttentionKind::Other));
                p.attempts = 1;
            }
            ("unknown_reason", false) => {}
            (other, _) => panic!("the table names an unknown guard {other}"),
        }
    }
    p
}

fn event(name: &str, guard: &str) -> Event {
    match name {
        "start" => Event::Start,
        "recover" => Event::Recover,
        "held_back" => Event::HeldBack,
        "network_back" => Event::NetworkBack,
        "unreachable" => Event::Unreachable,
        "busy" => Event::Busy { retry_after: None },
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
            kind: match guard {
                "settings_refused" => AttentionKind::SettingsRefused,
                _ => AttentionKind::Refused,
            },
            messages: vec![],
        },
        "found" => Event::Found { id: "1".into() },
        "not_found" => Event::NotFound {
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
        "token_pending" => Event::TokenPending,
        "cancel" => Event::Cancel,
        "edit" => Event::Edit,
        "withdraw" => Event::Withdraw,
        "confirm" => Event::Confirm { id: "1".into() },
        "retry" => Event::Retry,
        "settings_changed" => Event::SettingsChanged,
        "settings_unusable" => Event::SettingsUnusable,
        other => panic!("the table names an unknown event {other}"),
    }
}

/// One row of the design table.
struct Row {
    from: String,
    event: String,
    guard: String,
    to: String,
    effect: String,
}

/// The design doc's transition table, row by row.
fn table() -> Vec<Row> {
    let doc = include_str!("../lib.rs");
    let start = doc
        .find("//! | from | event | guard | to | effect |")
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
            Row {
                from: cells[0].clone(),
                event: cells[1].clone(),
                guard: cells[2].clone(),
                to: cells[3].clone(),
                effect: cells[4].clone(),
            }
        })
        .collect()
}

/// The effects as the table writes them: `post`, `forget_contact, wake`, or `-`.
fn effect_name(effects: &[Effect]) -> String {
    let names: Vec<&str> = effects
        .iter()
        .map(|e| match e {
            Effect::Step(Step::Post) => "post",
            Effect::Step(Step::Search) => "search",
            Effect::Step(Step::ResolveToken) => "resolve_token",
            Effect::Remove => "remove",
            Effect::PauseServer => "pause_server",
            Effect::ForgetContact => "forget_contact",
            Effect::Wake => "wake",
        })
        .collect();
    match names.is_empty() {
        true => "-".into(),
        false => names.join(", "),
    }
}

#[test]
fn the_design_table_is_the_code() {
    let rows = table();
    assert!(rows.len() > 30, "the table was read: {} rows", rows.len());
    for row in &rows {
        let Row {
            from,
            event: name,
            guard,
            to,
            effect,
        } = row;
        let result = transition(
            &progress(phase(from), guard, true),
            event(name, guard),
            &ctx(1_000),
        )
        .unwrap_or_else(|_| panic!("{from} + {name} [{guard}]: refused, the table says {to}"));
        assert_eq!(
            result.progress.phase,
            phase(to),
            "{from} + {name} [{guard}]"
        );
        assert_eq!(
            effect_name(&result.effects),
            *effect,
            "{from} + {name} [{guard}]: effect"
        );
    }
}

/// Each guard matters: where it does not hold, the row does not apply (the event is refused,
/// or another row of the table applies instead).
#[test]
fn every_guard_decides() {
    let rows = table();
    for row in rows.iter().filter(|r| r.guard != "-") {
        let unmet = transition(
            &progress(phase(&row.from), &row.guard, false),
            event(&row.event, "-"),
            &ctx(1_000),
        );
        let (from, name, guard) = (&row.from, &row.event, &row.guard);
        match unmet {
            Err(_) => {}
            Ok(t) => {
                let to = t.progress.phase.name();
                let other = rows.iter().any(|r| {
                    r.from == *from
                        && r.event == *name
                        && r.guard != *guard
                        && phase(&r.to) == t.progress.phase
                });
                assert!(
                    other
                        && (phase(&row.to) != t.progress.phase
                            || effect_name(&t.effects) != row.effect),
                    "{from} + {name}: without [{guard}] it still goes to {to} as if it held"
                );
            }
        }
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
        "answered_late",
        "ambiguous",
        "unsearchable",
        "token_resolved",
        "token_unreadable",
        "token_pending",
        "cancel",
        "edit",
        "withdraw",
        "confirm",
        "retry",
        "settings_changed",
        "settings_unusable",
    ];
    for from in phases {
        for name in events {
            if rows.iter().any(|r| r.from == from && r.event == name) {
                continue;
            }
            // Whatever holds of the report: every guard met, then none.
            for met in [true, false] {
                let guards =
                    "first_search, said_duplicate, checks_at_max, editable, check_settings";
                let result = transition(
                    &progress(phase(from), guards, met),
                    event(name, "-"),
                    &ctx(1_000),
                );
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
    let queued = Progress::new(0);
    let in_flight = transition(&queued, Event::Start, &ctx(10))
        .unwrap()
        .progress;
    assert_eq!(in_flight.attempts, 1);
    let offline = transition(&in_flight, Event::Unreachable, &ctx(20))
        .unwrap()
        .progress;
    assert_eq!(offline.phase, Phase::Offline(Resume::Post));
    assert_eq!(offline.attempts, 0, "nothing left the phone");
    let back = transition(&offline, Event::NetworkBack, &ctx(5_000))
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
        let next = transition(&in_flight, busy, &ctx(1_000)).unwrap();
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
        let next = transition(&checking, Event::Busy { retry_after: None }, &ctx(0)).unwrap();
        waits.push(next.progress.next_at);
        checking = next.progress;
    }
    assert_eq!(checking.phase, Phase::NeedsUser);
    assert!(waits[1] > waits[0], "backs off: {waits:?}");
    let mut waiting = Progress::new(0);
    waiting.phase = Phase::WaitingForId;
    let mut polls = Vec::new();
    for _ in 0..p.max_checks {
        let next = transition(&waiting, Event::TokenPending, &ctx(0)).unwrap();
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
    let confirm = || Event::Confirm { id: "H-1".into() };
    let never_posted = Progress::new(0);
    assert!(
        transition(&never_posted, confirm(), &ctx(0)).is_err(),
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
        transition(&refused, confirm(), &ctx(0)).is_err(),
        "the city refused it: it did not arrive"
    );
    assert_eq!(
        transition(&refused, Event::Withdraw, &ctx(0))
            .unwrap()
            .progress
            .phase,
        Phase::Cancelled,
        "withdrawn whatever the reason"
    );
    let mut in_flight = Progress::new(0);
    in_flight.phase = Phase::InFlight;
    assert!(
        transition(&in_flight, Event::Withdraw, &ctx(0)).is_err(),
        "a POST on its way cannot be withdrawn"
    );
}

#[test]
fn the_same_inputs_give_the_same_transition() {
    let mut in_flight = Progress::new(0);
    in_flight.phase = Phase::InFlight;
    in_flight.attempts = 2;
    let busy = || Event::Busy { retry_after: None };
    let draw = |entropy| Context {
        entropy,
        ..ctx(1_000)
    };
    let a = transition(&in_flight, busy(), &draw(123)).unwrap();
    let b = transition(&in_flight, busy(), &draw(123)).unwrap();
    assert_eq!(a, b, "no clock and no randomness inside");
    let other = transition(&in_flight, busy(), &draw(877)).unwrap();
    assert_ne!(
        a.progress.next_at, other.progress.next_at,
        "the jitter is the caller's entropy"
    );
}

/// Only the transition function moves a report's phase: no other source of the outbox sets
/// one (the engine carries out what `transition` decided, and persists its progress whole).
#[test]
fn no_phase_is_set_outside_the_transition() {
    let sources = [
        ("engine.rs", include_str!("../engine.rs")),
        ("engine/send.rs", include_str!("../engine/send.rs")),
        ("engine/apply.rs", include_str!("../engine/apply.rs")),
        ("queue.rs", include_str!("../queue.rs")),
        ("reconcile.rs", include_str!("../reconcile.rs")),
        ("tracking.rs", include_str!("../tracking.rs")),
        ("present.rs", include_str!("../present.rs")),
        ("worker.rs", include_str!("../worker.rs")),
        ("lib.rs", include_str!("../lib.rs")),
    ];
    for (file, text) in sources {
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            assert!(
                !(code.contains(".phase = ") || code.contains("phase: Phase::")),
                "{file}:{}: a phase set outside `transition`: {line}",
                n + 1
            );
        }
    }
}

#[test]
fn contact_details_are_forgotten_unless_the_app_keeps_them() {
    let mut in_flight = Progress::new(0);
    in_flight.phase = Phase::InFlight;
    let created = || Event::Created { id: None };
    let forgets = transition(&in_flight, created(), &ctx(0)).unwrap().effects;
    assert!(forgets.contains(&Effect::ForgetContact));
    let keeping = Context {
        keep_contact: true,
        ..ctx(0)
    };
    let kept = transition(&in_flight, created(), &keeping).unwrap().effects;
    assert!(!kept.contains(&Effect::ForgetContact), "{kept:?}");
}

/// What apps offer (`Report.withdrawable`) is what the table allows, phase by phase.
#[test]
fn withdrawable_is_what_the_table_allows() {
    for name in [
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
    ] {
        let p = progress(phase(name), "-", true);
        let allowed = transition(&p, Event::Withdraw, &ctx(1_000)).is_ok();
        assert_eq!(p.phase.withdrawable(), allowed, "{name}");
    }
}
