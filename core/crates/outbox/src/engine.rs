//! The sync engine: takes due reports in batches under a lease that makes it the only sender
//! for this database, carries out the effect the state machine asks for (post, search, poll a
//! token), turns what happened into the next event, and commits the results with the next
//! batch's attempt marks (the rules are "Batches" in the module doc of `lib.rs`; the
//! reconciliation rules are in `reconcile.rs`).
//!
//! A server that refuses the app's key or jurisdiction (401/403, or a 4xx naming them) is
//! paused: nothing more is sent to it until its settings really change (`put_server`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use curbside_store::Transaction;
use tokio::sync::{broadcast, Notify};
use tracing::Instrument;

use curbside_open311::{Open311Client, Open311Error, Service, ServiceType, Submission, Unusable};
use curbside_servers::Learnt;
use curbside_store::reports::{self, now_ms, Row};
use curbside_store::{catalog, lease};
use curbside_types::phase::{Phase, Resume};
use curbside_types::report::{
    AttentionKind, HistoryEvent, OutboxEvent, Report, RetryPolicy, RunSummary,
};
use curbside_types::{Error, Result};

use crate::machine::{self, Effect, Event, Transition};
use crate::present::Present;
use crate::Outbox;

/// Name of the lease row that makes one instance the sender.
const SENDER: &str = "sender";

/// The engine's clocks: apps keep the defaults; tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long the sender lease lasts without renewal (renewed at half its life).
    pub lease: Duration,
    /// The wait between a search that found nothing and the search that confirms it (never
    /// longer than the retry policy's longest wait; longer when the server's list was seen
    /// to lag more).
    pub confirm_wait: Duration,
}

impl Default for Timing {
    /// A two-minute lease; "not found" confirmed after two minutes (a search index refreshed
    /// every 30 s, a replica a minute behind).
    fn default() -> Self {
        Timing {
            lease: Duration::from_secs(120),
            confirm_wait: Duration::from_secs(120),
        }
    }
}

/// Most reports a run takes at once: their attempt marks are one transaction, and their
/// results go in with the next batch's marks.
const BATCH: usize = 64;
/// The longest a step's result waits for its transaction (and listeners for the news), and
/// the work a batch is sized for: on a slow network a batch shrinks to what is sent in this
/// time, so a crash leaves few marked reports to check rather than post.
const SETTLE: Duration = Duration::from_secs(1);

/// The engine's in-memory state. Everything that matters is in the database; this only
/// wakes the worker and fans out events.
pub(crate) struct Engine {
    holder: String,
    pub(crate) wake: Notify,
    network: AtomicBool,
    policy: Mutex<RetryPolicy>,
    timing: Mutex<Timing>,
    events: broadcast::Sender<OutboxEvent>,
    /// Keep a finished report's contact details (the app opted in).
    pub(crate) keep_contact: AtomicBool,
    /// One sending run at a time in this process: the worker's, a background task's or a
    /// pull-to-refresh (the sender lease is per instance, so it cannot tell them apart, and a
    /// second run would "recover" the first's report in flight).
    runs: tokio::sync::Mutex<()>,
}

impl Engine {
    pub(crate) fn new() -> Self {
        Engine {
            holder: format!("{}:{}", std::process::id(), uuid::Uuid::new_v4()),
            wake: Notify::new(),
            network: AtomicBool::new(true),
            policy: Mutex::new(RetryPolicy::default()),
            timing: Mutex::new(Timing::default()),
            events: broadcast::channel(1024).0,
            keep_contact: AtomicBool::new(false),
            runs: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn policy(&self) -> RetryPolicy {
        *self.policy.lock().unwrap()
    }

    pub(crate) fn timing(&self) -> Timing {
        *self.timing.lock().unwrap()
    }

    pub(crate) fn online(&self) -> bool {
        self.network.load(Ordering::SeqCst)
    }
}

impl Outbox {
    /// Wakes the worker: something is due.
    pub fn wake(&self) {
        self.engine.wake();
    }

    /// What the platform's network hint says now.
    pub(crate) fn engine_online(&self) -> bool {
        self.engine.online()
    }
}

impl Drop for Outbox {
    /// An instance going away gives up the sender lease at once, so another can send.
    fn drop(&mut self) {
        let holder = &self.engine.holder;
        let _ = self.store.write(|tx| lease::release(tx, SENDER, holder));
    }
}

impl Outbox {
    /// Replaces the retry policy (tests and apps with their own scheduling use this).
    pub fn set_retry_policy(&self, policy: RetryPolicy) {
        *self.engine.policy.lock().unwrap() = policy;
    }

    /// Replaces the engine's clocks (tests shorten them).
    pub fn set_timing(&self, timing: Timing) {
        *self.engine.timing.lock().unwrap() = timing;
    }

    /// The platform's hint that the network came back (`true`) or went away (`false`). Away,
    /// reports wait for the network (no attempt counted, no backoff grown) and the worker
    /// sends nothing; back, every report waiting for it is due at once.
    pub fn set_network_available(&self, available: bool) {
        self.note_network(available);
        self.apply_network_hint();
    }

    /// The first half of [`Outbox::set_network_available`], in memory only (for a caller's
    /// thread that must not touch the disk): the hint the worker follows.
    pub fn note_network(&self, available: bool) {
        self.engine.network.store(available, Ordering::SeqCst);
    }

    /// The second half: the reports follow the hint as it is now (so that hints applied out
    /// of order still end as the last one says), and the worker is woken when it is back.
    pub fn apply_network_hint(&self) {
        let available = self.engine.online();
        let moved = match available {
            true => self.network_back(None),
            false => self.network_gone(None),
        };
        if let Err(e) = moved {
            tracing::warn!(target: "curbside::outbox", error = %e, "could not record the network hint");
        }
        if available {
            self.engine.wake();
        }
    }

    /// The current reports, and a receiver of every change from now on, in commit order.
    pub fn subscribe(&self) -> Result<(Vec<Report>, broadcast::Receiver<OutboxEvent>)> {
        let receiver = self.events();
        Ok((self.reports()?, receiver))
    }

    /// A receiver of every change from now on, in commit order (memory only: read the
    /// reports after it, and drop changes older than the version held).
    pub fn events(&self) -> broadcast::Receiver<OutboxEvent> {
        self.engine.events.subscribe()
    }

    /// Runs `f` in one transaction; after the commit, with the database still held, tells
    /// listeners what it changed, so events arrive in commit order.
    pub fn commit<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, &mut Vec<OutboxEvent>) -> Result<T>,
    ) -> Result<T> {
        let (value, _) = self.store.write_then(
            |tx| {
                let mut events = Vec::new();
                let value = f(tx, &mut events)?;
                Ok((value, events))
            },
            |(_, events)| {
                for event in events {
                    let _ = self.engine.events.send(event.clone());
                }
            },
        )?;
        Ok(value)
    }

    /// Sends what it can until `deadline`, then returns: for WorkManager (about 10 minutes) and
    /// BGTaskScheduler (about 30 seconds). No step starts with less than a second left; a step
    /// cut off by the deadline is safe, because its outcome is recorded as unknown first.
    /// The platform scheduled it because the network is there: reports waiting for the
    /// network are due at once.
    pub async fn run_pending(&self, deadline: Instant) -> Result<RunSummary> {
        self.network_back(None)?;
        self.run(deadline, false).await
    }

    /// A pull-to-refresh: sends everything due (the network is assumed back) and refreshes the
    /// status of sent reports.
    pub async fn sync_now(&self) -> Result<RunSummary> {
        self.sync_until(Instant::now() + Duration::from_secs(60))
            .await
    }

    /// Sends what is due and refreshes the status of sent reports, all of it by `deadline`
    /// (`curbside sync --deadline`): a refresh cut off by it says so in `status_error`.
    pub async fn sync_until(&self, deadline: Instant) -> Result<RunSummary> {
        let mut summary = self.run_pending(deadline).await?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, self.refresh_statuses()).await {
            Ok(refresh) => {
                let refresh = refresh?;
                summary.status_changes = refresh.changed;
                summary.status_error = refresh.error;
            }
            Err(_) => {
                summary.status_error =
                    Some("Status refresh cut off by the deadline; it continues next time".into())
            }
        }
        Ok(summary)
    }

    /// One sending run; the worker's (`follow_hint`) stops when the network hint goes away.
    /// Its log lines are in a `run` span, numbered in this process.
    pub(crate) async fn run(&self, deadline: Instant, follow_hint: bool) -> Result<RunSummary> {
        static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed) + 1;
        self.run_in_span(deadline, follow_hint)
            .instrument(tracing::info_span!("run", run))
            .await
    }

    async fn run_in_span(&self, deadline: Instant, follow_hint: bool) -> Result<RunSummary> {
        let mut summary = RunSummary::default();
        // Another run of this process goes first; this one follows it, within its deadline.
        let remaining = deadline.saturating_duration_since(Instant::now());
        let Ok(_run) = tokio::time::timeout(remaining, self.engine.runs.lock()).await else {
            summary.skipped_busy = true;
            summary.waiting = self.store.read(reports::waiting)?;
            return Ok(summary);
        };
        // Nothing due and nothing cut off in flight: no lease taken, nothing written.
        if !self.store.read(|c| reports::has_work(c, now_ms()))? {
            summary.waiting = self.store.read(reports::waiting)?;
            return Ok(summary);
        }
        if !self.take_lease(true)? {
            summary.skipped_busy = true;
            summary.waiting = self.store.read(reports::waiting)?;
            return Ok(summary);
        }
        // The drain gives the lease up with its last commit; if that failed, on its own.
        if let Err(e) = self.drain(deadline, follow_hint, &mut summary).await {
            let _ = self
                .store
                .write(|tx| lease::release(tx, SENDER, &self.engine.holder));
            return Err(e);
        }
        summary.waiting = self.store.read(reports::waiting)?;
        Ok(summary)
    }

    /// Takes or renews the sender lease. Between steps (`recover`), a report still in flight
    /// was cut off (crash, kill, deadline): it is checked before anything else.
    fn take_lease(&self, recover: bool) -> Result<bool> {
        let now = now_ms();
        let until = now + self.engine.timing().lease.as_millis() as i64;
        self.commit(|tx, events| {
            let mine = lease::acquire(tx, SENDER, &self.engine.holder, now, until)?;
            if mine && recover {
                for row in reports::in_phase(tx, "in_flight", None)? {
                    if let Some(event) = self.apply(tx, row, Event::Recover, |_| {})?.1 {
                        events.push(event);
                    }
                }
            }
            Ok(mine)
        })
    }

    /// Steps through due reports in batches until `deadline`, then commits what is left and
    /// gives the lease up.
    async fn drain(
        &self,
        deadline: Instant,
        follow_hint: bool,
        summary: &mut RunSummary,
    ) -> Result<()> {
        let mut pending = Pending::default();
        let drained = self
            .drain_batches(deadline, follow_hint, &mut pending, summary)
            .await;
        // Whatever is left (results, marks taken back) and the lease, in one transaction.
        let settled = self.commit(|tx, events| {
            self.settle(tx, pending, events, summary)?;
            lease::release(tx, SENDER, &self.engine.holder)
        });
        drained?;
        settled
    }

    /// Takes due reports in batches and steps through them, leaving the results in `pending`.
    async fn drain_batches(
        &self,
        deadline: Instant,
        follow_hint: bool,
        pending: &mut Pending,
        summary: &mut RunSummary,
    ) -> Result<()> {
        let stopped = || {
            deadline.saturating_duration_since(Instant::now()) < Duration::from_secs(1)
                || (follow_hint && !self.engine.online())
        };
        // `run` has just taken the lease.
        let mut renewed = Instant::now();
        // The first batch is small: nothing is known of the network yet.
        let mut size = 4;
        loop {
            if stopped() {
                return Ok(());
            }
            // Renewed at half its life, not before every step (each renewal is a durable
            // write). Renewed only: recovery ran when `run` took the lease, and between
            // batches nothing of ours is in flight.
            if renewed.elapsed() >= self.engine.timing().lease / 2 {
                if !self.take_lease(false)? {
                    return Ok(());
                }
                renewed = Instant::now();
            }
            // One transaction: the last batch's results, then this batch's attempt marks.
            let done = std::mem::take(pending);
            let batch = self.commit(|tx, events| {
                self.settle(tx, done, events, summary)?;
                self.take_due(tx, size, events)
            })?;
            if batch.is_empty() {
                return Ok(());
            }
            let started = Instant::now();
            let taken = batch.len();
            let mut paused = HashSet::new();
            let mut batch = batch.into_iter();
            while let Some(taken) = batch.next() {
                let server = taken.row.server_id.clone();
                if pending.reached.get(&server) == Some(&false) {
                    // Its server was just out of reach: it waits for the network too.
                    pending.push(taken.row, Event::Unreachable);
                    continue;
                }
                if stopped() || paused.contains(&server) {
                    pending.hold_back(std::iter::once(taken));
                    continue;
                }
                let Taken {
                    row,
                    effect,
                    client,
                } = taken;
                // A slow upload may outlast the lease: renew it while the step runs. Its log
                // lines are in the report's span.
                let span = tracing::info_span!("report", report = %row.id);
                let step = async {
                    let step = self.step(&client, effect, row).instrument(span);
                    tokio::pin!(step);
                    loop {
                        tokio::select! {
                            outcome = &mut step => break outcome,
                            () = tokio::time::sleep(self.engine.timing().lease / 4) => { self.take_lease(false)?; }
                        }
                    }
                };
                let remaining = deadline.saturating_duration_since(Instant::now());
                let (row, event, learnt) = match tokio::time::timeout(remaining, step).await {
                    Ok(Ok(done)) => done,
                    Ok(Err(e)) => {
                        // The run ends: what it marked and did not post is taken back.
                        pending.hold_back(batch);
                        return Err(e);
                    }
                    // Cut off: it stays in flight, to be checked before it is posted again;
                    // the rest of the batch is taken back above.
                    Err(_) => continue,
                };
                if matches!(&event, Event::Refused { kind, .. } if *kind == AttentionKind::SettingsRefused)
                {
                    paused.insert(server.clone());
                }
                if let Some(learnt) = learnt {
                    pending.learnt.insert(server, learnt);
                }
                pending.push(row, event);
                if pending.overdue() {
                    let done = std::mem::take(pending);
                    if let Err(e) = self.commit(|tx, events| self.settle(tx, done, events, summary))
                    {
                        pending.hold_back(batch);
                        return Err(e);
                    }
                }
            }
            // The next batch is what this pace sends in `SETTLE`.
            let each = started.elapsed() / taken as u32;
            size = (SETTLE.as_micros() / each.as_micros().max(1)).clamp(1, BATCH as u128) as usize;
        }
    }

    /// Takes up to `limit` due reports inside `tx`: each to be posted gets its attempt-started
    /// mark (durable, with the transaction, before a byte leaves). A report whose server's
    /// settings make no client is not taken: it is stopped for the user (or backed off when
    /// it may already be on the server).
    fn take_due(
        &self,
        tx: &Transaction<'_>,
        limit: usize,
        events: &mut Vec<OutboxEvent>,
    ) -> Result<Vec<Taken>> {
        let mut clients: HashMap<String, std::result::Result<Arc<Open311Client>, String>> =
            HashMap::new();
        let mut taken = Vec::new();
        for row in reports::due(tx, now_ms(), limit)? {
            // An answer that reached a paused sender late is the report's answer: nothing
            // more to post or search. (Waiting for a token's id, it keeps polling: the late id
            // is in its history already.)
            let waits = matches!(row.progress.phase, Phase::Queued | Phase::Checking);
            if let Some(id) = row.late_request_id.clone().filter(|_| waits) {
                let late = Event::AnsweredLate { id: id.clone() };
                let edit = |r: &mut Row| r.request_id = Some(id);
                events.extend(self.apply(tx, row, late, edit)?.1);
                continue;
            }
            let client = clients
                .entry(row.server_id.clone())
                .or_insert_with(|| {
                    self.servers
                        .client_in(tx, &row.server_id)
                        .map_err(|e| e.to_string())
                })
                .clone();
            let (progress, effect) = machine::transition(
                &row.progress,
                Event::Start,
                now_ms(),
                &self.engine.policy(),
                entropy(),
            )
            .ok()
            .and_then(|start| start.effect.map(|effect| (start.progress, effect)))
            .ok_or_else(|| {
                Error::CorruptData(format!(
                    "a due report in phase {}",
                    row.progress.phase.name()
                ))
            })?;
            // A POST may arrive until its longest upload is over.
            let longest = client
                .as_ref()
                .map_or(Duration::ZERO, |c| c.config().limits.upload_timeout);
            let row = match progress == row.progress {
                true => row,
                false => {
                    let deadline = now_ms() + longest.as_millis() as i64;
                    let edit = |r: &mut Row| {
                        if effect == Effect::Post {
                            r.progress.post_deadline = Some(deadline);
                        }
                    };
                    let (row, event) = self.apply(tx, row, Event::Start, edit)?;
                    events.extend(event);
                    row
                }
            };
            match client {
                Ok(client) => taken.push(Taken {
                    row,
                    effect,
                    client,
                }),
                Err(reason) => {
                    let event = match row.progress.phase {
                        Phase::InFlight => Event::Refused {
                            kind: AttentionKind::BadSettings,
                            messages: vec![],
                        },
                        _ => Event::Busy { retry_after: None },
                    };
                    let edit = |r: &mut Row| r.last_error = Some(reason);
                    events.extend(self.apply(tx, row, event, edit)?.1);
                }
            }
        }
        Ok(taken)
    }

    /// Commits what steps did: each result (one that no longer applies, its report having
    /// changed meanwhile, is dropped), then what the servers' answers said of the network.
    fn settle(
        &self,
        tx: &Transaction<'_>,
        pending: Pending,
        events: &mut Vec<OutboxEvent>,
        summary: &mut RunSummary,
    ) -> Result<()> {
        for (row, event) in pending.results {
            let held_back = event == Event::HeldBack;
            let (row, changed) = self.apply(tx, row, event, |_| {})?;
            let Some(changed) = changed else { continue };
            events.push(changed);
            // Every failure leaves its reason in `last_error`; a step that worked clears it.
            match row.progress.phase {
                _ if held_back => {}
                Phase::Sent => summary.sent += 1,
                Phase::NeedsUser => summary.failed += 1,
                _ if row.last_error.is_some() => summary.failed += 1,
                _ => {}
            }
        }
        for (server, learnt) in pending.learnt {
            self.servers.keep_learnt(tx, &server, learnt)?;
        }
        for (server, reached) in pending.reached {
            match reached {
                // The server answered: whatever waited for the network to reach it can go.
                true => self.network_back_in(tx, Some(&server), events)?,
                false => self.network_gone_in(tx, Some(&server), events)?,
            }
        }
        Ok(())
    }

    /// Carries out a taken report's effect; the report with what the step learned, the event
    /// to fire and what was learnt of its server (committed later, by `settle`).
    async fn step(
        &self,
        client: &Open311Client,
        effect: Effect,
        row: Row,
    ) -> Result<(Row, Event, Option<Learnt>)> {
        match effect {
            Effect::Post => Ok(with_nothing_learnt(self.post(client, row).await)),
            Effect::Search => self.search(client, row).await,
            Effect::ResolveToken => Ok(with_nothing_learnt(resolve_token(client, row).await)),
            Effect::PauseServer => Err(Error::CorruptData("a step that pauses".into())),
        }
    }

    async fn post(&self, client: &Open311Client, mut row: Row) -> (Row, Event) {
        let started = Instant::now();
        let answer = client.submit(&row.payload).await;
        tracing::info!(target: "curbside::outbox", report = %row.id, outcome = %outcome_name(&answer), ms = started.elapsed().as_millis() as u64, "POST requests");
        let event = match answer {
            Ok(Submission::Created { id, service_notice }) => {
                row.request_id = Some(id.clone());
                row.service_notice = service_notice;
                row.last_error = None;
                Event::Created { id: Some(id) }
            }
            // Only a service the city lists as batch or blackbox may answer without an id;
            // for any other, such an answer proves nothing: it is checked.
            Ok(Submission::Accepted { service_notice }) if self.answers_without_id(&row) => {
                row.service_notice = service_notice;
                row.last_error = None;
                Event::Created { id: None }
            }
            Ok(Submission::Accepted { service_notice }) => {
                row.service_notice = service_notice;
                let reason = "the city's server answered without an id".to_string();
                row.last_error = Some(reason.clone());
                Event::Unanswered {
                    reason,
                    answer: Unusable::Document,
                }
            }
            Ok(Submission::Queued {
                token,
                service_notice,
            }) => {
                row.token = Some(token);
                row.service_notice = service_notice;
                row.last_error = None;
                Event::GotToken
            }
            Err(Open311Error::Unreachable { reason }) => {
                row.last_error = Some(reason);
                Event::Unreachable
            }
            Err(e) => {
                row.last_error = Some(e.to_string());
                match e {
                    Open311Error::Transient { retry_after, .. } => Event::Busy { retry_after },
                    Open311Error::UnknownOutcome { reason, answer } => {
                        Event::Unanswered { reason, answer }
                    }
                    Open311Error::ServerFailed { status, messages } => {
                        Event::ServerFailed { status, messages }
                    }
                    Open311Error::Duplicate { .. } => Event::SaidDuplicate,
                    Open311Error::Rejected { messages, .. }
                    | Open311Error::NotFound { messages } => Event::Refused {
                        kind: AttentionKind::Refused,
                        messages,
                    },
                    Open311Error::Auth { messages, .. } => Event::Refused {
                        kind: AttentionKind::SettingsRefused,
                        messages,
                    },
                    Open311Error::Config { .. } => Event::Refused {
                        kind: AttentionKind::BadSettings,
                        messages: vec![],
                    },
                    Open311Error::Unreachable { .. } => unreachable!("handled above"),
                }
            }
        };
        (row, event)
    }

    /// Whether the city lists the report's service as one that answers without an id (batch
    /// or blackbox) in its cached catalog.
    fn answers_without_id(&self, row: &Row) -> bool {
        let services = self
            .store
            .read(|c| catalog::get(c, &row.server_id, "services"))
            .ok()
            .flatten()
            .and_then(|(body, _)| serde_json::from_str::<Vec<Service>>(&body).ok())
            .unwrap_or_default();
        services
            .iter()
            .any(|s| s.code == row.payload.service_code && s.kind != ServiceType::Realtime)
    }

    /// Applies `event` to `row` inside `tx`: the transition function, then persistence. A
    /// pair the table does not allow is an error (`ReportLocked` for the user's events). No
    /// event (and nothing written) when the stored report changed since `row` was read.
    pub(crate) fn apply(
        &self,
        tx: &Transaction<'_>,
        mut row: Row,
        event: Event,
        edit: impl FnOnce(&mut Row),
    ) -> Result<(Row, Option<OutboxEvent>)> {
        let name = event.name();
        let from = row.progress.phase;
        let answered = match &event {
            Event::Created { id: Some(id) }
            | Event::Found { id }
            | Event::TokenResolved { id }
            | Event::AnsweredLate { id } => Some(id.clone()),
            _ => None,
        };
        let Transition {
            progress,
            effect,
            history,
        } = machine::transition(&row.progress, event, now_ms(), &self.engine.policy(), entropy()).map_err(
            |e| {
                tracing::debug!(target: "curbside::outbox", report = %row.id, phase = %e.phase.name(), event = name, "not allowed");
                Error::ReportLocked(name)
            },
        )?;
        row.progress = progress;
        edit(&mut row);
        // Personal data is kept only as long as needed: not once the report is finished.
        // (Rewritten only when there was something to forget: most reports are anonymous.)
        let forget = matches!(row.progress.phase, Phase::Sent | Phase::Cancelled)
            && from != row.progress.phase
            && !self.engine.keep_contact.load(Ordering::Relaxed)
            && forget_contact(&mut row)?;
        if !reports::update(tx, &mut row)? {
            tracing::info!(target: "curbside::outbox", report = %row.id, event = name, "changed meanwhile: the step's result no longer applies");
            // An id is evidence whoever holds the lease now: never dropped.
            return match answered {
                Some(id) => self.answered_late(tx, row, id),
                None => Ok((row, None)),
            };
        }
        if forget {
            reports::rewrite_content(tx, &row)?;
        }
        if effect == Some(Effect::PauseServer) {
            self.servers.pause(
                tx,
                &row.server_id,
                "the server refused the app's key or jurisdiction",
            )?;
        }
        if let Some(event) = &history {
            reports::add_history(tx, &row.id, event)?;
        }
        if from != row.progress.phase {
            tracing::info!(target: "curbside::outbox", report = %row.id, from = %from.name(), to = %row.progress.phase.name(), event = name, attempts = row.progress.attempts, "phase");
        }
        let report = row.to_report();
        Ok((row, Some(OutboxEvent::Changed(report))))
    }

    /// The city's id for a report that moved on since the attempt it answers (its sender was
    /// paused past its lease): the report is sent with it where it still waits; where another
    /// attempt is on its way it is kept as evidence and told in the history; where the report
    /// already has another id, the history says the city holds it twice.
    fn answered_late(
        &self,
        tx: &Transaction<'_>,
        stale: Row,
        id: String,
    ) -> Result<(Row, Option<OutboxEvent>)> {
        let Some(current) = reports::get(tx, &stale.id)? else {
            return Ok((stale, None)); // removed: edited back into a draft
        };
        match current.progress.phase {
            Phase::InFlight
            | Phase::Sent
            | Phase::Cancelled
            | Phase::WaitingForId
            | Phase::Offline(Resume::ResolveToken) => {
                if current.request_id.as_deref() != Some(id.as_str())
                    && reports::record_late_answer(tx, &current.id, &id)?
                {
                    let event = HistoryEvent::AnsweredLate { request_id: id };
                    reports::add_history(tx, &current.id, &event)?;
                }
                Ok((current, None))
            }
            _ => {
                let late = Event::AnsweredLate { id: id.clone() };
                self.apply(tx, current, late, |r| r.request_id = Some(id))
            }
        }
    }

    /// Every report of `server` (or of all) waiting for the network is due at once.
    pub(crate) fn network_back(&self, server: Option<&str>) -> Result<()> {
        // Most calls find nothing: a read, not a write transaction.
        let waiting = self
            .store
            .read(|c| reports::in_phase(c, "waiting_for_network", server))?;
        if waiting.is_empty() {
            return Ok(());
        }
        self.commit(|tx, events| self.network_back_in(tx, server, events))
    }

    fn network_back_in(
        &self,
        tx: &Transaction<'_>,
        server: Option<&str>,
        events: &mut Vec<OutboxEvent>,
    ) -> Result<()> {
        for row in reports::in_phase(tx, "waiting_for_network", server)? {
            events.extend(self.apply(tx, row, Event::NetworkBack, |_| {})?.1);
        }
        Ok(())
    }

    /// The network is absent (for `server`, or for all): every report that would go out
    /// waits for it, with no attempt counted and no backoff grown.
    fn network_gone(&self, server: Option<&str>) -> Result<()> {
        self.commit(|tx, events| self.network_gone_in(tx, server, events))
    }

    fn network_gone_in(
        &self,
        tx: &Transaction<'_>,
        server: Option<&str>,
        events: &mut Vec<OutboxEvent>,
    ) -> Result<()> {
        for phase in ["queued", "checking", "waiting_for_id"] {
            for row in reports::in_phase(tx, phase, server)? {
                events.extend(self.apply(tx, row, Event::Unreachable, |_| {})?.1);
            }
        }
        Ok(())
    }
}

/// A backoff's jitter, drawn here: the transition function takes it as an input.
fn entropy() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32
}

fn with_nothing_learnt((row, event): (Row, Event)) -> (Row, Event, Option<Learnt>) {
    (row, event, None)
}

/// Polls a token for the city's id.
async fn resolve_token(client: &Open311Client, mut row: Row) -> (Row, Event) {
    let token = row.token.clone().unwrap_or_default();
    let event = match client.resolve_token(&token).await {
        Ok(Some(id)) => {
            row.request_id = Some(id.clone());
            row.last_error = None;
            Event::TokenResolved { id }
        }
        Ok(None) => {
            row.last_error = None;
            Event::TokenPending
        }
        Err(e) => not_now(&mut row, e).unwrap_or_else(|e| {
            row.last_error = Some(e.to_string());
            Event::TokenUnreadable
        }),
    };
    (row, event)
}

/// A request the server could not take now: out of reach, or busy. The event, with the
/// reason kept on the report; any other error is given back.
pub(crate) fn not_now(
    row: &mut Row,
    error: Open311Error,
) -> std::result::Result<Event, Open311Error> {
    match error {
        Open311Error::Unreachable { reason } => {
            row.last_error = Some(reason);
            Ok(Event::Unreachable)
        }
        Open311Error::Transient {
            retry_after,
            reason,
        } => {
            row.last_error = Some(reason);
            Ok(Event::Busy { retry_after })
        }
        other => Err(other),
    }
}

/// A report a run took: its row (marked in flight when it is to be posted), what to do with
/// it, and the client of its server.
struct Taken {
    row: Row,
    effect: Effect,
    client: Arc<Open311Client>,
}

/// Steps done and not yet committed.
#[derive(Default)]
struct Pending {
    /// Each report with what its step learned, and the event to fire.
    results: Vec<(Row, Event)>,
    /// What each server's last answer said of the network: reached, or out of reach.
    reached: HashMap<String, bool>,
    /// What searches learnt of each server (its clock, its lag, its dates).
    learnt: HashMap<String, Learnt>,
    /// When the oldest result was done.
    since: Option<Instant>,
}

impl Pending {
    fn push(&mut self, row: Row, event: Event) {
        if event != Event::HeldBack {
            self.reached
                .insert(row.server_id.clone(), event != Event::Unreachable);
        }
        self.since.get_or_insert_with(Instant::now);
        self.results.push((row, event));
    }

    /// The rest of a batch the run will not step through: its marks are taken back.
    fn hold_back(&mut self, rest: impl Iterator<Item = Taken>) {
        for taken in rest.filter(|t| t.row.progress.phase == Phase::InFlight) {
            self.push(taken.row, Event::HeldBack);
        }
    }

    /// True when the oldest result has waited `SETTLE`.
    fn overdue(&self) -> bool {
        self.since.is_some_and(|since| since.elapsed() >= SETTLE)
    }
}

/// A POST's outcome for the log: never the body, the key or the server's words.
fn outcome_name(answer: &std::result::Result<Submission, Open311Error>) -> String {
    match answer {
        Ok(Submission::Created { .. }) => "created".into(),
        Ok(Submission::Queued { .. }) => "token".into(),
        Ok(Submission::Accepted { .. }) => "accepted".into(),
        Err(Open311Error::Rejected { status, .. }) => format!("rejected {status}"),
        Err(Open311Error::Auth { status, .. }) => format!("auth {status}"),
        Err(Open311Error::ServerFailed { status, .. }) => format!("server error {status}"),
        Err(Open311Error::Unreachable { .. }) => "unreachable".into(),
        Err(Open311Error::Transient { .. }) => "busy".into(),
        Err(Open311Error::UnknownOutcome { .. }) => "no usable answer".into(),
        Err(Open311Error::Duplicate { .. }) => "duplicate".into(),
        Err(Open311Error::NotFound { .. }) => "not found".into(),
        Err(Open311Error::Config { .. }) => "settings".into(),
    }
}

/// Removes the reporter's contact details from a finished report (what was sent and the
/// draft it came from); false when it had none. What was sent is the draft's contact
/// details, so the draft is decoded only when there are some.
fn forget_contact(row: &mut Row) -> Result<bool> {
    let payload = &mut row.payload;
    let had = payload.first_name.is_some()
        || payload.last_name.is_some()
        || payload.email.is_some()
        || payload.phone.is_some();
    if !had {
        return Ok(false);
    }
    payload.first_name = None;
    payload.last_name = None;
    payload.email = None;
    payload.phone = None;
    let mut fields = row.fields.decode()?;
    fields.contact = Default::default();
    row.fields = fields.into();
    Ok(true)
}
