//! The outbox: save first, send second. This doc is the design spec.
//!
//! A submitted report is a row in SQLite before any network call, and the row (never memory)
//! is the truth: one persisted **phase** per report (`curbside_types::phase`), moved only by a pure
//! transition function `(progress, event, context) -> (progress, effects, history)`: time,
//! the backoff's jitter and the app's settings are inputs (the context), and every effect the
//! engine carries out comes out of it (the step: post, search, poll a token; then pause a
//! server, forget contact details, wake the worker). The
//! engine (`engine.rs`) takes due reports in batches under a lease, carries out the effects
//! (post, search, poll a token), turns what happened into the next event, and commits the
//! results; listeners hear of each change after its commit, in commit order, each with the
//! report's `version`. User actions (`queue.rs`) go through the same function.
//!
//! # Batches
//! A durable transaction costs an fsync, more than a POST on a good network; so a run commits
//! in batches, each one transaction: the previous batch's results, then the attempt-started
//! marks of the next reports due (up to 64). A batch is sized to what the last one sent in a
//! second, and results wait at most a second for their commit: on a slow network that is one
//! report per transaction, as before. The rules that keep it safe:
//! - nothing is posted before its mark is durable;
//! - a mark whose POST never left (the run stopped: a deadline, the network hint, its server
//!   paused, the sender lease lost to another instance) is taken back (`held_back`: queued again, not an attempt); a report whose server
//!   was just out of reach waits for the network with it;
//! - a result is written only over the version of the report it was worked out from; one
//!   that changed meanwhile (the user, another instance) keeps its new state;
//! - a result lost with the process leaves its report in flight, so it is checked on the
//!   server, never posted blind: a crash costs at most a second of results a search each.

//! # Phases
//! - `queued`: due at `next_at` to be posted.
//! - `in_flight`: the attempt-started mark, committed before the POST leaves.
//! - `checking`: a POST may have arrived; the server is searched before anything is posted
//!   again (reconciliation, below).
//! - `waiting_for_id`: the city answered with a token; polled for its id.
//! - `waiting_for_network(post|check|resolve_token)`: no connection could be made to its
//!   server. Not an attempt, no backoff: when it returns (the platform's hint, any request to
//!   that server that works, `sync_now`, a background run) every such report is due at once
//!   and resumes. The platform's hint itself is memory, never a phase: while it says the
//!   network is gone the worker sends nothing, and apps are shown the reports it would send
//!   as waiting for the network (`present.rs`).
//! - `sent`; `needs_user` (with a typed reason, the server's words and what the user can do);
//!   `cancelled`.
//!
//! # Transitions
//! Every row is checked against `machine::transition` by a test (`the_design_table_is_the_code`).
//!
//! | from | event | guard | to | effect |
//! |---|---|---|---|---|
//! | queued | start | - | in_flight | post |
//! | checking | start | - | checking | search |
//! | waiting_for_id | start | - | waiting_for_id | resolve_token |
//! | in_flight | recover | - | checking | - |
//! | in_flight | held_back | - | queued | - |
//! | queued | unreachable | - | waiting_for_network(post) | - |
//! | in_flight | unreachable | - | waiting_for_network(post) | - |
//! | checking | unreachable | - | waiting_for_network(check) | - |
//! | waiting_for_id | unreachable | - | waiting_for_network(resolve_token) | - |
//! | waiting_for_network(post) | network_back | - | queued | - |
//! | waiting_for_network(check) | network_back | - | checking | - |
//! | waiting_for_network(resolve_token) | network_back | - | waiting_for_id | - |
//! | in_flight | busy | - | queued | - |
//! | in_flight | created | - | sent | forget_contact |
//! | in_flight | got_token | - | waiting_for_id | - |
//! | in_flight | unanswered | - | checking | - |
//! | in_flight | server_failed | - | checking | - |
//! | in_flight | said_duplicate | - | checking | - |
//! | in_flight | refused | - | needs_user | - |
//! | in_flight | refused | settings_refused | needs_user | pause_server |
//! | checking | found | - | sent | forget_contact |
//! | checking | not_found | first_search | checking | - |
//! | checking | not_found | confirming | queued | - |
//! | checking | not_found | confirming, said_duplicate | needs_user | - |
//! | checking | not_found | confirming, server_failures_at_max | needs_user | - |
//! | checking | not_found | confirming, reposts_past_max | needs_user | - |
//! | queued | answered_late | - | sent | forget_contact |
//! | checking | answered_late | - | sent | forget_contact |
//! | waiting_for_network(post) | answered_late | - | sent | forget_contact |
//! | waiting_for_network(check) | answered_late | - | sent | forget_contact |
//! | needs_user | answered_late | - | sent | forget_contact |
//! | checking | ambiguous | - | needs_user | - |
//! | checking | unsearchable | - | needs_user | - |
//! | checking | busy | - | checking | - |
//! | checking | busy | checks_at_max | needs_user | - |
//! | waiting_for_id | token_resolved | - | sent | forget_contact |
//! | waiting_for_id | token_unreadable | - | sent | forget_contact |
//! | waiting_for_id | token_pending | - | waiting_for_id | - |
//! | waiting_for_id | token_pending | checks_at_max | sent | forget_contact |
//! | waiting_for_id | busy | - | waiting_for_id | - |
//! | waiting_for_id | busy | checks_at_max | sent | forget_contact |
//! | queued | settings_unusable | - | needs_user | - |
//! | checking | settings_unusable | - | checking | - |
//! | checking | settings_unusable | checks_at_max | needs_user | - |
//! | waiting_for_id | settings_unusable | - | waiting_for_id | - |
//! | waiting_for_id | settings_unusable | checks_at_max | sent | forget_contact |
//! | queued | cancel | editable | cancelled | forget_contact |
//! | waiting_for_network(post) | cancel | editable | cancelled | forget_contact |
//! | needs_user | cancel | editable | cancelled | forget_contact |
//! | queued | edit | editable | cancelled | remove |
//! | waiting_for_network(post) | edit | editable | cancelled | remove |
//! | needs_user | edit | editable | cancelled | remove |
//! | queued | withdraw | - | cancelled | forget_contact |
//! | checking | withdraw | - | cancelled | forget_contact |
//! | waiting_for_network(post) | withdraw | - | cancelled | forget_contact |
//! | waiting_for_network(check) | withdraw | - | cancelled | forget_contact |
//! | needs_user | withdraw | - | cancelled | forget_contact |
//! | queued | confirm | may_have_arrived | sent | forget_contact |
//! | waiting_for_network(post) | confirm | may_have_arrived | sent | forget_contact |
//! | checking | confirm | may_have_arrived | sent | forget_contact |
//! | waiting_for_network(check) | confirm | may_have_arrived | sent | forget_contact |
//! | needs_user | confirm | may_have_arrived | sent | forget_contact |
//! | needs_user | retry | - | queued | wake |
//! | needs_user | retry | unknown_reason | checking | wake |
//! | needs_user | settings_changed | check_settings | queued | wake |
//!
//! Guards (a row applies only when its guard holds; the test enumerates each one, met and
//! not met):
//! - `first_search`: no empty search yet in this stretch; `confirming`: an earlier one, and
//!   the attempt's `post_deadline` is past (the confirm wait is the engine's to time);
//! - `said_duplicate`, `server_failures_at_max` ([`MAX_SERVER_FAILURES`]),
//!   `reposts_past_max` ([`MAX_REPOSTS`]): what earlier answers of this report said;
//! - `checks_at_max`: this is the policy's last check or poll;
//! - `settings_refused`: the refusal names the app's key or jurisdiction;
//! - `editable`: nothing can have reached the city (never posted, or refused by it);
//! - `may_have_arrived`: a POST left and no answer proved it refused;
//! - `check_settings`: it waits for the user to fix the server's settings;
//! - `unknown_reason`: it waits for the user with no reason kept (a row from an old version)
//!   and was posted before: looked for before it is posted again.
//!
//! The table's effects are with an app that keeps no contact details; where it keeps them
//! (the context's `keep_contact`), no `forget_contact`.
//!
//! `not_found` is a search of the server that found nothing: the first of a stretch is
//! searched again after the confirm wait, the confirming one posts again (or stops for the
//! user, per the guards).
//!
//! `answered_late` is an id that reached a sender after it lost its lease; where
//! another attempt is in flight or the report is finished, the id is kept as evidence and
//! told in the history instead.
//!
//! `withdraw` is the user's way out of any wait but a POST on its way (`in_flight`) or a
//! city's token (`waiting_for_id`: the city has it): never posted again, kept as withdrawn.
//! `confirm` is the user's "it did arrive", with the city's id, from wherever a POST may have
//! reached the city (guard `may_have_arrived`: posted before, never after a refusal): sent, and
//! its status followed. Sending again after "not found" or a possible duplicate is only ever
//! the user's explicit `retry`.
//!
//! Any other pair is refused (for the user: "locked"; for the engine: a bug, logged).
//! `edit` is a cancel whose effect removes the row (`remove`: a removal event; the draft
//! that replaces it keeps the contact details). A cancel or edit is allowed only while
//! nothing can have reached the city: `queued` or offline before any POST left, or
//! `needs_user` after a refusal.
//!
//! `settings_unusable` is a server whose settings make no client (a bad endpoint): a report
//! to be posted stops for the user (`bad_settings`, check settings) before any mark; a search
//! or a poll is put off like a busy server.
//!
//! # Retries, every one bounded
//! - Posting: `busy` (429, 408) backs off exponentially with jitter from `initial` to `max`
//!   (30 s to 5 h), never sooner than `Retry-After`, which is itself capped at a day; the next
//!   time is stored, so backoff survives restarts. A POST answered with an application error
//!   (500 and the like) is checked, then posted again after the same backoff; the third such
//!   answer, once checked absent, stops it for the user with the server's words.
//! - Checking and token polling have their own count (`checks`) and backoff; after
//!   `max_checks` a search that never worked stops for the user (`unsearchable`), and a token
//!   that never resolved ends as sent without an id (the city has it).
//! - Offline is not a retry: `waiting_for_network` waits for the network, not for a time.
//! - The worker backs off on its own errors (a full disk, a locked database) from 1 s to
//!   5 minutes, logs them, and recovers when they clear; a panic in it is logged and it
//!   restarts.
//!
//! # The POST rule
//! `in_flight` is committed before a byte leaves. Any answer that does not prove the POST was
//! refused or never sent (the table on `open311::client::answer`) leads to `checking`, never
//! to a blind re-post. Reconciliation's rules are the module doc of `reconcile.rs`.
//!
//! # Time, and senders that pause
//! - Every POST has a deadline (`post_deadline`): its start plus the longest upload, or the
//!   arrival of a complete answer (a portal's page, a 2xx without an id). Before it, a POST
//!   may still arrive, so "not found" is not concluded.
//! - "Not found" is earned twice: the second search comes after the confirm wait (two
//!   minutes, or twice the search lag seen on that server) and past the deadline. Re-posts
//!   after it are bounded ([`MAX_REPOSTS`]): then the user decides.
//! - A 2xx without an id is "sent" only for a service the city lists as batch or blackbox;
//!   for any other it is an unknown outcome, checked.
//! - Searches read the server's clock from its `Date` headers and confirm an empty dated
//!   window without dates (`reconcile.rs`); what they learn is kept per server.
//!
//! # What survives a crash
//! Every commit is one SQLite transaction (WAL, `synchronous=FULL`), and a report's phase and
//! history are written together, so the history never tells of a step that did not happen.
//! Killed in `queued`, `checking`, `waiting_for_id` or offline: the row resumes as it is.
//! Killed while `in_flight` (marked with its batch, its POST may or may not have left, or its
//! answer not yet committed): the next engine to take the lease finds it and fires `recover`,
//! which checks before posting again.
//!
//! | what happened | what the next sender does |
//! |---|---|
//! | killed before the mark committed | the report is `queued`: posted |
//! | killed with the mark committed, POST not sent | `recover`: checked after the deadline, not found twice, posted |
//! | killed after the POST arrived, answer lost | `recover`: checked after the deadline, found |
//! | paused past the lease, its POST held by the network | `recover`: checked only after that POST's deadline; when the paused sender wakes with the city's id, the id is written (`answered_late`), and a sender that took over reads it before any search |
//! | paused, and the taker posted again meanwhile | both ids are on the device: the report's, and the late one in its history (the city holds it twice) |

mod engine;
mod machine;
mod present;
mod queue;
mod reconcile;
mod tracking;
mod worker;

pub use engine::Timing;
pub use machine::{MAX_REPOSTS, MAX_SERVER_FAILURES};
pub use reconcile::CLOCK_SKEW;

use std::sync::Arc;

use curbside_servers::Servers;
use curbside_store::Store;

/// The outbox of one database: submitted reports, the engine that sends them, and the
/// events that tell listeners of every change.
pub struct Outbox {
    store: Arc<Store>,
    servers: Arc<Servers>,
    engine: engine::Engine,
}

impl Outbox {
    /// The outbox kept in `store`, sending to `servers`. One per store: it takes the sender
    /// lease when it sends.
    pub fn new(store: Arc<Store>, servers: Arc<Servers>) -> Self {
        Outbox {
            store,
            servers,
            engine: engine::Engine::new(),
        }
    }
}
