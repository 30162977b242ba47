//! The sync engine: takes due reports one step at a time under a lease that makes it the
//! only sender for this database, and records every outcome before acting on the next.
//!
//! # The POST rule
//! The "attempt started" mark (`frozen`, `outcome_unknown`) is committed before the request
//! leaves. If the answer never comes, or the app dies, the mark is still there and the report
//! is reconciled (looked for on the server) before it is ever posted again. Which answers
//! leave the outcome unknown is the table on `open311::client::answer`: any 5xx, a reset or
//! a stall once the request left, a 2xx that is not Open311 (an empty list included). Only
//! failures that prove nothing arrived (no connection) are plain retries.
//!
//! # Reconciliation: looking for an unanswered POST
//! 1. A token from the first answer is resolved instead of searching.
//! 2. `GET requests` for the service, from the attempt's start minus [`CLOCK_SKEW`] to now
//!    plus [`CLOCK_SKEW`], up to [`RECONCILE_PAGES`] pages.
//! 3. "Not found" must be earned: an answer that contradicts its own filters (another
//!    service, a date outside the window, more rows than asked, the same page twice) or
//!    that has more pages than are searched means the server cannot be searched, never that
//!    the report is absent: the report waits for the user (`Unsearchable`).
//! 4. Candidates: listed requests whose id no other local report holds.
//! 5. The client reference first: where the server lists the profile's reference attribute,
//!    the report's UUID there is proof, and another value rules a candidate out.
//! 6. Otherwise a candidate must have the same service and description (whitespace and case
//!    aside) and, where the server lists a position, be within about 200 m (servers round and
//!    snap); what the server does not list is unknown, not a mismatch.
//! 7. One candidate with some evidence (a non-empty description, a position within about
//!    11 m, the same address) is the report: sent, with that id. Several candidates, or one that matched on
//!    nothing but service and time, make the report wait for the user as a possible duplicate
//!    (`AmbiguousMatch`): never posted again silently, never marked sent on a guess.
//! 8. No candidate: posted again after the usual backoff, unless the city called it a
//!    duplicate (`SaidDuplicate`) or has answered [`MAX_SERVER_FAILURES`] POSTs of it with an
//!    application error, 500 and the like (`ServerKeepsFailing`, with the server's words).
//!    Gateway answers (502, 503, 504) say nothing about the report and are not counted.
//!
//! # Pauses
//! A server that refuses the app's key or jurisdiction (401/403, or a 4xx naming them) is
//! paused: nothing more is sent to it until its settings really change (`put_server`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, Notify};

use crate::open311::{
    NewRequest, Open311Client, Open311Error, RequestQuery, ServerConfig, ServerMessage,
    ServiceRequest, Submission,
};
use crate::outbox::{
    Attention, AttentionAction, AttentionKind, Report, ReportId, RetryPolicy, RunSummary,
    StatusRefresh,
};
use crate::store::reports::{self, now_ms, Row, State, Step};
use crate::{Curbside, Error, Result};

/// Name of the lease row that makes one instance the sender.
const SENDER: &str = "sender";
/// How long a lease lasts without renewal (renewed before every step).
const LEASE: Duration = Duration::from_secs(120);
/// Ids per `GET requests` when tracking statuses.
const STATUS_BATCH: usize = 50;
/// Pages searched when looking for an unanswered POST on the server.
const RECONCILE_PAGES: u32 = 10;
/// Rows asked per page when looking for an unanswered POST.
const RECONCILE_PAGE_SIZE: u32 = 100;
/// How far the server's clock may be from the phone's: the search window opens this long
/// before the attempt started and closes this long after now.
pub const CLOCK_SKEW: Duration = Duration::from_secs(10 * 60);
/// POSTs of one report answered with a server error (each checked not to have arrived)
/// before it waits for the user instead of being posted again.
pub const MAX_SERVER_FAILURES: usize = 3;

/// The engine's in-memory state. Everything that matters is in the database; this only
/// wakes the worker, caches clients and fans out events.
pub(crate) struct Engine {
    holder: String,
    wake: Notify,
    network: AtomicBool,
    policy: Mutex<RetryPolicy>,
    events: broadcast::Sender<Report>,
    clients: Mutex<HashMap<String, (ServerConfig, Arc<Open311Client>)>>,
}

impl Engine {
    pub(crate) fn new() -> Self {
        Engine {
            holder: format!("{}:{}", std::process::id(), uuid::Uuid::new_v4()),
            wake: Notify::new(),
            network: AtomicBool::new(true),
            policy: Mutex::new(RetryPolicy::default()),
            events: broadcast::channel(1024).0,
            clients: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Tells listeners; called after the change is committed.
    pub(crate) fn changed(&self, report: Report) {
        let _ = self.events.send(report);
    }

    fn policy(&self) -> RetryPolicy {
        *self.policy.lock().unwrap()
    }
}

impl Drop for Curbside {
    /// An instance going away gives up the sender lease at once, so another can send.
    fn drop(&mut self) {
        let holder = &self.engine.holder;
        let _ = self
            .store
            .write(|tx| reports::release_lease(tx, SENDER, holder));
    }
}

/// What a step did, for the run's summary.
enum Outcome {
    Sent,
    Failed,
    Progress,
}

impl Curbside {
    /// Replaces the retry policy (tests and apps with their own scheduling use this).
    pub fn set_retry_policy(&self, policy: RetryPolicy) {
        *self.engine.policy.lock().unwrap() = policy;
    }

    /// The platform's hint that the network came back (`true`) or went away (`false`). The
    /// worker sends nothing while it is away, and tries at once when it returns.
    pub fn set_network_available(&self, available: bool) {
        self.engine.network.store(available, Ordering::SeqCst);
        if available {
            self.engine.wake();
        }
    }

    /// The current reports, and a receiver of every change from now on.
    pub fn subscribe(&self) -> Result<(Vec<Report>, broadcast::Receiver<Report>)> {
        let receiver = self.engine.events.subscribe();
        Ok((self.reports()?, receiver))
    }

    /// Sends what it can until `deadline`, then returns: for WorkManager (about 10 minutes) and
    /// BGTaskScheduler (about 30 seconds). No step starts with less than a second left; a step
    /// cut off by the deadline is safe, because its outcome is recorded as unknown first.
    /// It sends even while the network hint says "away": the platform scheduled it.
    pub async fn run_pending(&self, deadline: Instant) -> Result<RunSummary> {
        self.run(deadline, false).await
    }

    /// One sending run; the worker's (`follow_hint`) stops when the network hint goes away.
    async fn run(&self, deadline: Instant, follow_hint: bool) -> Result<RunSummary> {
        let mut summary = RunSummary::default();
        if !self.take_lease(true)? {
            summary.skipped_busy = true;
            summary.waiting = self.store.read(reports::waiting)?;
            return Ok(summary);
        }
        let result = self.drain(deadline, follow_hint, &mut summary).await;
        let released = self
            .store
            .write(|tx| reports::release_lease(tx, SENDER, &self.engine.holder));
        result?;
        released?;
        summary.waiting = self.store.read(reports::waiting)?;
        Ok(summary)
    }

    /// A pull-to-refresh: sends everything due and refreshes the status of sent reports.
    pub async fn sync_now(&self) -> Result<RunSummary> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut summary = self.run_pending(deadline).await?;
        let refresh = self.refresh_statuses().await?;
        summary.status_changes = refresh.changed;
        summary.status_error = refresh.error;
        Ok(summary)
    }

    /// Runs until the process ends: sends whatever is due whenever the network is there, and
    /// sleeps until the next due time, a submit, or the network coming back.
    pub async fn run_worker(self: Arc<Self>) {
        loop {
            if self.engine.network.load(Ordering::SeqCst) {
                let _ = self
                    .run(Instant::now() + Duration::from_secs(300), true)
                    .await;
            }
            let next = self.store.read(reports::next_due_at).ok().flatten();
            let sleep = match next {
                Some(at) if self.engine.network.load(Ordering::SeqCst) => {
                    Duration::from_millis((at - now_ms()).clamp(10, 3_600_000) as u64)
                }
                _ => Duration::from_secs(3600),
            };
            tokio::select! {
                () = self.engine.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// "My reports": asks each server for the status of the reports it has (batched ids; ids
    /// missing from the answer one by one), records changes and new notes in their history,
    /// and tells listeners. A server that cannot answer is not silent: its reports carry the
    /// failure in `last_error` (and an event), and the result says so.
    pub async fn refresh_statuses(&self) -> Result<StatusRefresh> {
        let tracked = self.store.read(reports::tracked)?;
        let mut by_server: HashMap<String, Vec<Row>> = HashMap::new();
        for row in tracked {
            by_server
                .entry(row.server_id.clone())
                .or_default()
                .push(row);
        }
        let mut refresh = StatusRefresh::default();
        for (server_id, rows) in by_server {
            let outcome = match self.client(&server_id) {
                Ok(client) => self.refresh_server(&client, &rows).await,
                Err(e) => Err(e),
            };
            let error = match outcome {
                Ok(changed) => {
                    refresh.changed += changed;
                    None
                }
                Err(e) => Some(format!("Status refresh failed: {e}")),
            };
            for row in rows {
                self.note_refresh(row, error.clone())?;
            }
            if let Some(e) = error {
                refresh.error.get_or_insert(e);
            }
        }
        Ok(refresh)
    }

    /// Refreshes one server's reports; the number that changed.
    async fn refresh_server(&self, client: &Open311Client, rows: &[Row]) -> Result<u32> {
        let extensions = client.config().quirks.extensions;
        let mut changed = 0;
        for batch in rows.chunks(STATUS_BATCH) {
            let ids: Vec<String> = batch.iter().filter_map(|r| r.request_id.clone()).collect();
            let query = RequestQuery {
                ids: ids.clone(),
                extensions,
                ..Default::default()
            };
            let mut found: Vec<ServiceRequest> = client.requests(&query).await?.requests;
            // A server that ignores the ids filter or caps its list: ask for the rest by id.
            for id in &ids {
                if !found.iter().any(|r| r.id.as_ref() == Some(id)) {
                    match client.request(id).await {
                        Ok(remote) if remote.id.as_ref() == Some(id) => found.push(remote),
                        Ok(_) | Err(Open311Error::NotFound { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            for remote in found {
                let Some(row) = batch.iter().find(|r| r.request_id == remote.id) else {
                    continue;
                };
                if let Some(report) = self
                    .store
                    .write(|tx| apply_status(tx, row.clone(), &remote))?
                {
                    changed += 1;
                    self.engine.changed(report);
                }
            }
        }
        Ok(changed)
    }

    /// Records a refresh failure (or its end) on a tracked report, telling listeners.
    fn note_refresh(&self, row: Row, error: Option<String>) -> Result<()> {
        let report = self.store.write(|tx| {
            let Some(mut row) = reports::get(tx, &row.id)? else {
                return Ok(None);
            };
            if row.last_error == error {
                return Ok(None);
            }
            row.last_error = error;
            reports::update(tx, &mut row)?;
            Ok(Some(row.to_report()))
        })?;
        if let Some(report) = report {
            self.engine.changed(report);
        }
        Ok(())
    }

    /// Takes or renews the sender lease. Between steps (`recover`), a report still marked as
    /// sending was cut off (crash, kill, deadline) and is put back; its outcome marks say what
    /// to do next.
    fn take_lease(&self, recover: bool) -> Result<bool> {
        let now = now_ms();
        let until = now + LEASE.as_millis() as i64;
        self.store.write(|tx| {
            let mine = reports::acquire_lease(tx, SENDER, &self.engine.holder, now, until)?;
            if mine && recover {
                tx.execute(
                    "UPDATE reports SET state = 'queued' WHERE state = 'sending'",
                    [],
                )?;
            }
            Ok(mine)
        })
    }

    async fn drain(
        &self,
        deadline: Instant,
        follow_hint: bool,
        summary: &mut RunSummary,
    ) -> Result<()> {
        loop {
            if deadline.saturating_duration_since(Instant::now()) < Duration::from_secs(1) {
                return Ok(());
            }
            if follow_hint && !self.engine.network.load(Ordering::SeqCst) {
                return Ok(());
            }
            if !self.take_lease(true)? {
                return Ok(());
            }
            let Some(row) = self.store.read(|c| reports::next_due(c, now_ms()))? else {
                return Ok(());
            };
            // A slow upload may outlast the lease: renew it while the step runs.
            let step = async {
                let step = self.step(row);
                tokio::pin!(step);
                loop {
                    tokio::select! {
                        outcome = &mut step => break outcome,
                        () = tokio::time::sleep(LEASE / 4) => { self.take_lease(false)?; }
                    }
                }
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = match tokio::time::timeout(remaining, step).await {
                Ok(outcome) => outcome?,
                Err(_) => return Ok(()),
            };
            match outcome {
                Outcome::Sent => summary.sent += 1,
                Outcome::Failed => summary.failed += 1,
                Outcome::Progress => {}
            }
        }
    }

    async fn step(&self, row: Row) -> Result<Outcome> {
        let client = match self.client(&row.server_id) {
            Ok(client) => client,
            Err(e) => return self.settle(row, Err(e)),
        };
        match (row.step, row.outcome_unknown) {
            (Step::ResolveToken, _) => self.resolve_token(&client, row).await,
            (Step::Reconcile, _) | (Step::Post, true) => self.reconcile(&client, row).await,
            (Step::Post, false) => self.post(&client, row).await,
            (Step::Track, _) => Ok(Outcome::Progress),
        }
    }

    async fn post(&self, client: &Open311Client, mut row: Row) -> Result<Outcome> {
        // The attempt-started mark, durable before a byte leaves.
        row.state = State::Sending;
        row.frozen = true;
        row.outcome_unknown = true;
        row.attempts += 1;
        row.attempt_started_at = Some(now_ms());
        let report = self.store.write(|tx| {
            reports::update(tx, &mut row)?;
            Ok(row.to_report())
        })?;
        self.engine.changed(report);
        let answer = client.submit(&row.payload).await;
        self.settle(row, answer.map_err(Error::Open311))
    }

    /// Records what a POST (or a step standing for it) answered.
    fn settle(&self, mut row: Row, answer: Result<Submission>) -> Result<Outcome> {
        let policy = self.engine.policy();
        let mut history: Vec<(&str, String)> = Vec::new();
        let outcome = match answer {
            Ok(Submission::Created { id, service_notice }) => {
                history.push(("sent", format!("Received by the city as request {id}")));
                row.request_id = Some(id);
                row.service_notice = service_notice;
                mark_sent(&mut row);
                Outcome::Sent
            }
            Ok(Submission::Queued {
                token,
                service_notice,
            }) => {
                history.push((
                    "queued_by_city",
                    "The city queued it; waiting for its id".into(),
                ));
                row.token = Some(token);
                row.service_notice = service_notice;
                row.outcome_unknown = false;
                row.state = State::Queued;
                row.step = Step::ResolveToken;
                row.next_attempt_at = now_ms() + policy.token_poll.as_millis() as i64;
                Outcome::Progress
            }
            Ok(Submission::Accepted { service_notice }) => {
                history.push((
                    "sent",
                    "Received by the city (it gives no request id)".into(),
                ));
                row.service_notice = service_notice;
                mark_sent(&mut row);
                Outcome::Sent
            }
            Err(Error::Open311(e)) => {
                self.failed(&mut row, e, &mut history);
                Outcome::Failed
            }
            Err(other) => {
                row.state = State::Queued;
                row.last_error = Some(other.to_string());
                row.next_attempt_at =
                    now_ms() + policy.delay(row.attempts.max(1), None).as_millis() as i64;
                Outcome::Failed
            }
        };
        self.save(row, &history)?;
        Ok(outcome)
    }

    /// Decides the next state after a failed POST.
    fn failed(&self, row: &mut Row, error: Open311Error, history: &mut Vec<(&str, String)>) {
        let policy = self.engine.policy();
        row.last_error = Some(error.to_string());
        match error {
            Open311Error::Transient { retry_after, .. } => {
                // Nothing reached the city (no connection, 429): simply try again later.
                row.outcome_unknown = false;
                row.state = State::Queued;
                row.next_attempt_at =
                    now_ms() + policy.delay(row.attempts.max(1), retry_after).as_millis() as i64;
                history.push((
                    "retry_later",
                    format!(
                        "Not sent ({error}); will try again",
                        error = row.last_error.as_deref().unwrap_or("")
                    ),
                ));
            }
            Open311Error::UnknownOutcome { reason } => {
                check_soon(row, &policy);
                history.push((
                    "unknown_outcome",
                    format!(
                        "No usable answer from the city ({reason}); checking whether it arrived"
                    ),
                ));
            }
            Open311Error::ServerFailed { status, messages } => {
                check_soon(row, &policy);
                let words = words(&messages);
                // A gateway or an overloaded server (502, 503, 504) says nothing about the
                // report; an application error (500, ...) may be about it: those are counted.
                if matches!(status, 502..=504) {
                    history.push((
                        "server_unavailable",
                        format!("The city's server answered HTTP {status}{words}; checking whether it arrived"),
                    ));
                    return;
                }
                let failures = self
                    .store
                    .read(|c| reports::history(c, &row.id))
                    .map(|h| h.iter().filter(|e| e.kind == "server_error").count())
                    .unwrap_or(0)
                    + 1;
                history.push((
                    "server_error",
                    format!("The city's server failed with HTTP {status}{words}; checking whether it arrived"),
                ));
                if failures >= MAX_SERVER_FAILURES {
                    // Kept until the check: found, it is sent; not found, the user decides.
                    row.attention = Some(Attention {
                        kind: AttentionKind::ServerKeepsFailing,
                        reason: format!(
                            "The city's server failed on this report {failures} times (HTTP {status}), \
                             and it is not on the server. Edit it and submit again, or try later."
                        ),
                        action: AttentionAction::EditAndResubmit,
                        messages,
                    });
                }
            }
            Open311Error::Duplicate { .. } => {
                row.said_duplicate = true;
                row.state = State::Queued;
                row.step = Step::Reconcile;
                row.next_attempt_at = now_ms();
                history.push((
                    "duplicate",
                    "The city says it already has this; looking for it".into(),
                ));
            }
            Open311Error::Rejected { messages, .. } | Open311Error::NotFound { messages } => {
                row.outcome_unknown = false;
                needs(
                    row,
                    AttentionKind::Refused,
                    "The city could not accept this report as it is. Edit it and submit again.",
                    messages,
                    history,
                );
            }
            Open311Error::Auth { status, messages } => {
                row.outcome_unknown = false;
                let _ = self.store.write(|tx| {
                    reports::pause_server(
                        tx,
                        &row.server_id,
                        &format!(
                            "the server refused the app's key or jurisdiction (HTTP {status})"
                        ),
                    )
                });
                needs(
                    row,
                    AttentionKind::SettingsRefused,
                    "The city's server refused this app's key or jurisdiction. Check the server settings.",
                    messages,
                    history,
                );
            }
            Open311Error::Config { reason } => {
                row.outcome_unknown = false;
                needs(
                    row,
                    AttentionKind::BadSettings,
                    &format!("The server settings cannot work: {reason}"),
                    vec![],
                    history,
                );
            }
        }
    }

    /// Looks for an unanswered POST on the server before anything is sent again (the rules
    /// are in the module doc).
    async fn reconcile(&self, client: &Open311Client, mut row: Row) -> Result<Outcome> {
        if row.token.is_some() {
            row.step = Step::ResolveToken;
            return self.resolve_token(client, row).await;
        }
        let mut history: Vec<(&str, String)> = Vec::new();
        let started = row.attempt_started_at.unwrap_or(row.created_at);
        let others = self.store.read(|c| {
            Ok(reports::list(c)?
                .into_iter()
                .filter(|r| r.id != row.id)
                .filter_map(|r| r.request_id)
                .collect::<HashSet<String>>())
        })?;
        let search = find_on_server(client, &row.payload, &row.id, started, &others).await;
        // An attention prepared by `failed` (a server that keeps failing) waits for "not found".
        let pending = row.attention.take();
        let outcome = match search {
            Ok(Search::Found(found)) => {
                let found = *found;
                let id = found.id.clone().unwrap_or_default();
                history.push((
                    "sent",
                    format!("Found on the city's server as request {id}; not sent again"),
                ));
                row.request_id = found.id;
                row.status = found.status;
                mark_sent(&mut row);
                Outcome::Sent
            }
            Ok(Search::Ambiguous(count)) => {
                needs(&mut row, AttentionKind::AmbiguousMatch,
                      &match count {
                          1 => "A request on the city's server may be this report, but nothing but its service and time matched. Send it again only if you are sure it did not arrive.".to_string(),
                          n => format!("{n} requests on the city's server could be this report. Send it again only if you are sure it did not arrive."),
                      },
                      vec![], &mut history);
                Outcome::Failed
            }
            Ok(Search::NotFound) if row.said_duplicate => {
                needs(&mut row, AttentionKind::SaidDuplicate,
                      "The city says it already has this report, but it could not be found. Send it again only if you are sure it did not arrive.",
                      vec![], &mut history);
                Outcome::Failed
            }
            Ok(Search::NotFound) => match pending {
                Some(attention) => {
                    row.outcome_unknown = false;
                    let Attention {
                        kind,
                        reason,
                        messages,
                        ..
                    } = attention;
                    needs(&mut row, kind, &reason, messages, &mut history);
                    Outcome::Failed
                }
                None => {
                    history.push((
                        "not_found",
                        "Not on the city's server; sending again".into(),
                    ));
                    row.outcome_unknown = false;
                    row.state = State::Queued;
                    row.step = Step::Post;
                    // Backed off like any retry: a server failing on every POST is not
                    // posted to in a tight loop.
                    row.next_attempt_at = now_ms()
                        + self
                            .engine
                            .policy()
                            .delay(row.attempts.max(1), None)
                            .as_millis() as i64;
                    Outcome::Progress
                }
            },
            Ok(Search::Unsearchable(why)) => {
                row.last_error = Some(why);
                needs(&mut row, AttentionKind::Unsearchable,
                      "The city may already have received this report, and its server cannot be searched reliably to check. Send it again only if you are sure it did not arrive.",
                      vec![], &mut history);
                Outcome::Failed
            }
            Err(Open311Error::Transient { retry_after, .. }) => {
                row.attention = pending;
                row.state = State::Queued;
                row.next_attempt_at = now_ms()
                    + self
                        .engine
                        .policy()
                        .delay(row.attempts.max(1), retry_after)
                        .as_millis() as i64;
                Outcome::Failed
            }
            Err(e) => {
                row.last_error = Some(e.to_string());
                needs(&mut row, AttentionKind::Unsearchable,
                      "The city may already have received this report, and its server cannot be searched to check. Send it again only if you are sure it did not arrive.",
                      e.messages().to_vec(), &mut history);
                Outcome::Failed
            }
        };
        self.save(row, &history)?;
        Ok(outcome)
    }

    async fn resolve_token(&self, client: &Open311Client, mut row: Row) -> Result<Outcome> {
        let token = row.token.clone().unwrap_or_default();
        let policy = self.engine.policy();
        let mut history: Vec<(&str, String)> = Vec::new();
        let outcome = match client.resolve_token(&token).await {
            Ok(Some(id)) => {
                history.push(("sent", format!("The city gave it the id {id}")));
                row.request_id = Some(id);
                mark_sent(&mut row);
                Outcome::Sent
            }
            Ok(None) => {
                row.state = State::Queued;
                row.step = Step::ResolveToken;
                row.next_attempt_at = now_ms() + policy.token_poll.as_millis() as i64;
                Outcome::Progress
            }
            Err(Open311Error::Transient { retry_after, .. }) => {
                row.state = State::Queued;
                row.next_attempt_at =
                    now_ms() + policy.delay(row.attempts.max(1), retry_after).as_millis() as i64;
                Outcome::Failed
            }
            Err(e) => {
                // The city accepted it (it gave a token) but cannot say more.
                row.last_error = Some(e.to_string());
                history.push((
                    "sent",
                    "Received by the city; its id could not be looked up".into(),
                ));
                mark_sent(&mut row);
                Outcome::Sent
            }
        };
        self.save(row, &history)?;
        Ok(outcome)
    }

    fn save(&self, mut row: Row, history: &[(&str, String)]) -> Result<()> {
        let report = self.store.write(|tx| {
            reports::update(tx, &mut row)?;
            for (kind, summary) in history {
                reports::add_history(tx, &row.id, kind, summary)?;
            }
            Ok(row.to_report())
        })?;
        self.engine.changed(report);
        Ok(())
    }

    /// The client for a server, rebuilt when its settings change.
    pub(crate) fn client(&self, server_id: &str) -> Result<Arc<Open311Client>> {
        let (config, _) = self
            .store
            .read(|c| reports::server(c, server_id))?
            .ok_or_else(|| Error::ServerNotFound(server_id.into()))?;
        let mut clients = self.engine.clients.lock().unwrap();
        if let Some((cached, client)) = clients.get(server_id) {
            if *cached == config {
                return Ok(Arc::clone(client));
            }
        }
        let client = Arc::new(Open311Client::new(config.clone())?);
        clients.insert(server_id.to_string(), (config, Arc::clone(&client)));
        Ok(client)
    }
}

fn mark_sent(row: &mut Row) {
    row.state = State::Sent;
    row.step = Step::Track;
    row.outcome_unknown = false;
    row.attention = None;
    row.last_error = None;
}

/// Stops a report until the user acts; what they can do follows from the cause.
fn needs(
    row: &mut Row,
    kind: AttentionKind,
    reason: &str,
    messages: Vec<ServerMessage>,
    history: &mut Vec<(&str, String)>,
) {
    let action = match kind {
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
    };
    row.state = State::NeedsAttention;
    history.push(("needs_attention", format!("{reason}{}", words(&messages))));
    row.attention = Some(Attention {
        kind,
        reason: reason.into(),
        action,
        messages,
    });
}

/// A POST that may have arrived: look for it before anything else.
fn check_soon(row: &mut Row, policy: &RetryPolicy) {
    row.state = State::Queued;
    row.step = Step::Reconcile;
    row.next_attempt_at = now_ms()
        + policy
            .delay(1, None)
            .min(Duration::from_secs(5))
            .as_millis() as i64;
}

/// The server's words, for a history entry: `: "a"; "b"`, or nothing.
fn words(messages: &[ServerMessage]) -> String {
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

/// What a search of the server for an unanswered POST found.
enum Search {
    /// The report, on proof or on evidence with no rival.
    Found(Box<ServiceRequest>),
    /// Nothing that can be the report, in an answer that obeyed its filters.
    NotFound,
    /// This many candidates, or one on weak evidence only (`1`).
    Ambiguous(usize),
    /// The answers cannot prove absence; why.
    Unsearchable(String),
}

/// Searches `GET requests` for the report, by the rules in the module doc.
async fn find_on_server(
    client: &Open311Client,
    payload: &NewRequest,
    report: &ReportId,
    started_ms: i64,
    others: &HashSet<String>,
) -> Result<Search, Open311Error> {
    let skew = chrono::Duration::from_std(CLOCK_SKEW).unwrap_or_default();
    let started = DateTime::<Utc>::from_timestamp_millis(started_ms).unwrap_or_else(Utc::now);
    let mut query = RequestQuery {
        service_codes: vec![payload.service_code.clone()],
        start: Some(started - skew),
        end: Some(Utc::now() + skew),
        page_size: Some(RECONCILE_PAGE_SIZE),
        ..Default::default()
    };
    let reference = client
        .config()
        .quirks
        .client_reference_attribute
        .as_deref()
        .map(|code| (code, report.to_string()));
    let mut seen: HashSet<String> = HashSet::new();
    let mut candidates: Vec<(ServiceRequest, bool)> = Vec::new();
    for _ in 0..RECONCILE_PAGES {
        let page = client.requests(&query).await?;
        if page.contradicted {
            return Ok(Search::Unsearchable(
                "the city's server ignores the filters of its request list".into(),
            ));
        }
        if !page.listed_ids.is_empty() && page.listed_ids.iter().all(|id| seen.contains(id)) {
            return Ok(Search::Unsearchable(
                "the city's server lists the same requests on every page".into(),
            ));
        }
        seen.extend(page.listed_ids);
        for remote in page.requests {
            let Some(id) = remote.id.as_ref() else {
                continue;
            };
            if others.contains(id) {
                continue;
            }
            if let Some((code, value)) = &reference {
                match remote.attributes.iter().find(|(c, _)| c == code) {
                    Some((_, listed)) if listed == value => {
                        return Ok(Search::Found(Box::new(remote)))
                    }
                    Some(_) => continue,
                    None => {}
                }
            }
            if let Some(evidence) = evidence(payload, &remote) {
                candidates.push((remote, evidence));
            }
        }
        match page.next_page {
            Some(next) => query.page = Some(next),
            None => {
                return Ok(match candidates.len() {
                    0 => Search::NotFound,
                    1 if candidates[0].1 => Search::Found(Box::new(candidates.remove(0).0)),
                    n => Search::Ambiguous(n),
                })
            }
        }
    }
    Ok(Search::Unsearchable(format!(
        "more than {} requests to search on the city's server",
        RECONCILE_PAGES * RECONCILE_PAGE_SIZE
    )))
}

/// Whether `remote` can be the report: `None` when something it lists differs; otherwise
/// whether anything beyond service and time matched (a description, a position, an address).
fn evidence(payload: &NewRequest, remote: &ServiceRequest) -> Option<bool> {
    let norm = |s: Option<&str>| {
        s.unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    if remote
        .service_code
        .as_deref()
        .is_some_and(|c| c != payload.service_code)
    {
        return None;
    }
    let description = norm(payload.description.as_deref());
    if description != norm(remote.description.as_deref()) {
        return None;
    }
    let mut evidence = !description.is_empty();
    // Servers round or snap positions and rewrite addresses: only a position far off rules a
    // candidate out; an address that differs proves nothing either way.
    if let (Some((lat, long)), Some((rlat, rlong))) =
        (payload.position, remote.lat.zip(remote.long))
    {
        let off = (lat - rlat).abs().max((long - rlong).abs());
        if off > 2e-3 {
            return None;
        }
        evidence |= off <= 1e-4;
    }
    let address = norm(payload.address_string.as_deref());
    evidence |= !address.is_empty() && address == norm(remote.address.as_deref());
    Some(evidence)
}

/// Records a status change and new notes of a sent report; `None` if nothing changed.
fn apply_status(
    tx: &rusqlite::Connection,
    mut row: Row,
    remote: &ServiceRequest,
) -> Result<Option<Report>> {
    let known = reports::history(tx, &row.id)?;
    let mut news: Vec<(String, String)> = Vec::new();
    if remote.status.is_some() && remote.status != row.status {
        let status = remote.status.clone().unwrap_or_default();
        let notes = remote
            .status_notes
            .clone()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        news.push(("status".into(), format!("Status is now {status}{notes}")));
    }
    for note in &remote.notes {
        let summary = note
            .summary
            .clone()
            .or(note.description.clone())
            .unwrap_or_default();
        let text = format!(
            "{}{}",
            note.kind
                .as_deref()
                .map(|k| format!("[{k}] "))
                .unwrap_or_default(),
            summary
        );
        if !summary.is_empty() && !known.iter().any(|h| h.kind == "note" && h.summary == text) {
            news.push(("note".into(), text));
        }
    }
    if news.is_empty() && remote.status_notes == row.status_notes {
        return Ok(None);
    }
    row.status = remote.status.clone().or(row.status.take());
    row.status_notes = remote.status_notes.clone();
    row.status_updated_at = remote.updated_at.map(|t| t.timestamp_millis());
    reports::update(tx, &mut row)?;
    for (kind, summary) in &news {
        reports::add_history(tx, &row.id, kind, summary)?;
    }
    Ok(Some(row.to_report()))
}
