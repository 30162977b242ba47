//! The sync engine: takes due reports one at a time under a lease that makes it the only
//! sender for this database, carries out the effect the state machine asks for (post, search,
//! poll a token), turns what happened into the next event, and commits the transition before
//! acting on anything else. The phases and the transition table are the module doc of
//! `outbox/mod.rs`; the reconciliation rules are in `reconcile.rs`.
//!
//! A server that refuses the app's key or jurisdiction (401/403, or a 4xx naming them) is
//! paused: nothing more is sent to it until its settings really change (`put_server`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use curbside_store::Transaction;
use tokio::sync::{broadcast, Notify};

use curbside_open311::{ApiKey, Open311Client, Open311Error, ServerConfig, Submission};
use curbside_store::reports::{self, now_ms, Row};
use curbside_store::{lease, servers};
use curbside_types::phase::Phase;
use curbside_types::report::{AttentionKind, OutboxEvent, Report, RetryPolicy, RunSummary};
use curbside_types::{Error, Result};

use crate::machine::{self, Effect, Event, Transition};
use crate::present::Present;
use crate::reconcile::{find_on_server, Search};
use crate::Outbox;

/// Name of the lease row that makes one instance the sender.
const SENDER: &str = "sender";
/// How long a lease lasts without renewal (renewed before every step).
const LEASE: Duration = Duration::from_secs(120);

/// The engine's in-memory state. Everything that matters is in the database; this only
/// wakes the worker, caches clients and fans out events.
pub(crate) struct Engine {
    holder: String,
    pub(crate) wake: Notify,
    network: AtomicBool,
    policy: Mutex<RetryPolicy>,
    events: broadcast::Sender<OutboxEvent>,
    clients: Mutex<HashMap<String, (ServerConfig, Arc<Open311Client>)>>,
    /// Each server's api_key, as the app gave it at open: never stored.
    pub(crate) keys: Mutex<HashMap<String, ApiKey>>,
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
            events: broadcast::channel(1024).0,
            clients: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
            keep_contact: AtomicBool::new(false),
            runs: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    fn policy(&self) -> RetryPolicy {
        *self.policy.lock().unwrap()
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

    /// The platform's hint that the network came back (`true`) or went away (`false`). Away,
    /// reports wait for the network (no attempt counted, no backoff grown) and the worker
    /// sends nothing; back, every report waiting for it is due at once.
    pub fn set_network_available(&self, available: bool) {
        self.engine.network.store(available, Ordering::SeqCst);
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
        let receiver = self.engine.events.subscribe();
        Ok((self.reports()?, receiver))
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
    pub(crate) async fn run(&self, deadline: Instant, follow_hint: bool) -> Result<RunSummary> {
        let mut summary = RunSummary::default();
        // Another run of this process goes first; this one follows it, within its deadline.
        let remaining = deadline.saturating_duration_since(Instant::now());
        let Ok(_run) = tokio::time::timeout(remaining, self.engine.runs.lock()).await else {
            summary.skipped_busy = true;
            summary.waiting = self.store.read(reports::waiting)?;
            return Ok(summary);
        };
        if !self.take_lease(true)? {
            summary.skipped_busy = true;
            summary.waiting = self.store.read(reports::waiting)?;
            return Ok(summary);
        }
        let result = self.drain(deadline, follow_hint, &mut summary).await;
        let released = self
            .store
            .write(|tx| lease::release(tx, SENDER, &self.engine.holder));
        result?;
        released?;
        summary.waiting = self.store.read(reports::waiting)?;
        Ok(summary)
    }

    /// Takes or renews the sender lease. Between steps (`recover`), a report still in flight
    /// was cut off (crash, kill, deadline): it is checked before anything else.
    fn take_lease(&self, recover: bool) -> Result<bool> {
        let now = now_ms();
        let until = now + LEASE.as_millis() as i64;
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

    async fn drain(
        &self,
        deadline: Instant,
        follow_hint: bool,
        summary: &mut RunSummary,
    ) -> Result<()> {
        // `run` has just taken the lease.
        let mut renewed = Instant::now();
        loop {
            if deadline.saturating_duration_since(Instant::now()) < Duration::from_secs(1) {
                return Ok(());
            }
            if follow_hint && !self.engine.online() {
                return Ok(());
            }
            // Renewed at half its life, not before every step (each renewal is a durable
            // write). Renewed only: recovery ran when `run` took the lease, and nothing of
            // ours is in flight between steps.
            if renewed.elapsed() >= LEASE / 2 {
                if !self.take_lease(false)? {
                    return Ok(());
                }
                renewed = Instant::now();
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

    /// Takes one due report one step further.
    async fn step(&self, row: Row) -> Result<Outcome> {
        let client = match self.client(&row.server_id) {
            Ok(client) => client,
            Err(e) => {
                let refused = Event::Refused {
                    kind: AttentionKind::BadSettings,
                    messages: vec![],
                };
                self.fire(row, refused, |r| r.last_error = Some(e.to_string()))?;
                return Ok(Outcome::Failed);
            }
        };
        let start =
            machine::transition(&row.progress, Event::Start, now_ms(), &self.engine.policy())
                .map_err(|e| {
                    Error::CorruptData(format!("a due report in phase {}", e.phase.name()))
                })?;
        let row = match start.progress == row.progress {
            true => row,
            // The attempt-started mark, durable before a byte leaves.
            false => self.fire(row, Event::Start, |_| {})?,
        };
        let after = match start.effect {
            Some(Effect::Post) => self.post(&client, row).await?,
            Some(Effect::Search) => self.search(&client, row).await?,
            Some(Effect::ResolveToken) => self.resolve_token(&client, row).await?,
            _ => row,
        };
        // Every failure leaves its reason in `last_error`; a step that worked clears it.
        Ok(match after.progress.phase {
            Phase::Sent => Outcome::Sent,
            Phase::NeedsUser => Outcome::Failed,
            _ if after.last_error.is_some() => Outcome::Failed,
            _ => Outcome::Progress,
        })
    }

    async fn post(&self, client: &Open311Client, row: Row) -> Result<Row> {
        let started = Instant::now();
        let answer = client.submit(&row.payload).await;
        tracing::info!(target: "curbside::outbox", report = %row.id, outcome = %outcome_name(&answer), ms = started.elapsed().as_millis() as u64, "POST requests");
        let server = row.server_id.clone();
        let row = match answer {
            Ok(Submission::Created { id, service_notice }) => {
                let event = Event::Created {
                    id: Some(id.clone()),
                };
                self.fire(row, event, |r| {
                    r.request_id = Some(id);
                    r.service_notice = service_notice;
                    r.last_error = None;
                })?
            }
            Ok(Submission::Accepted { service_notice }) => {
                self.fire(row, Event::Created { id: None }, |r| {
                    r.service_notice = service_notice;
                    r.last_error = None;
                })?
            }
            Ok(Submission::Queued {
                token,
                service_notice,
            }) => self.fire(row, Event::GotToken, |r| {
                r.token = Some(token);
                r.service_notice = service_notice;
                r.last_error = None;
            })?,
            Err(Open311Error::Unreachable { reason }) => return self.unreachable(row, reason),
            Err(e) => {
                let reason = e.to_string();
                let event = match e {
                    Open311Error::Transient { retry_after, .. } => Event::Busy { retry_after },
                    Open311Error::UnknownOutcome { reason } => Event::Unanswered { reason },
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
                };
                self.fire(row, event, |r| r.last_error = Some(reason))?
            }
        };
        // The server answered: whatever waited for the network to reach it can go.
        self.network_back(Some(&server))?;
        Ok(row)
    }

    /// Looks for an unanswered POST on the server (the rules are in `reconcile.rs`).
    async fn search(&self, client: &Open311Client, row: Row) -> Result<Row> {
        let started = row.progress.attempt_started_at.unwrap_or(row.created_at);
        let others = self
            .store
            .read(|c| reports::request_ids_except(c, &row.id))?;
        let search = find_on_server(client, &row.payload, &row.id, started, &others).await;
        let server = row.server_id.clone();
        let row = match search {
            Ok(Search::Found(found)) => {
                let found = *found;
                let id = found.id.clone().unwrap_or_default();
                self.fire(row, Event::Found { id }, |r| {
                    r.request_id = found.id;
                    r.status = found.status;
                    r.last_error = None;
                })?
            }
            Ok(Search::NotFound) => self.fire(row, Event::NotFound, |r| r.last_error = None)?,
            Ok(Search::Ambiguous(count)) => self.fire(row, Event::Ambiguous { count }, |_| {})?,
            Ok(Search::Unsearchable(why)) => {
                let last = why.clone();
                self.fire(row, Event::Unsearchable { why }, |r| {
                    r.last_error = Some(last)
                })?
            }
            Err(Open311Error::Unreachable { reason }) => return self.unreachable(row, reason),
            Err(Open311Error::Transient {
                retry_after,
                reason,
            }) => self.fire(row, Event::Busy { retry_after }, |r| {
                r.last_error = Some(reason)
            })?,
            Err(e) => {
                let why = e.to_string();
                let last = why.clone();
                self.fire(row, Event::Unsearchable { why }, |r| {
                    r.last_error = Some(last)
                })?
            }
        };
        self.network_back(Some(&server))?;
        Ok(row)
    }

    async fn resolve_token(&self, client: &Open311Client, row: Row) -> Result<Row> {
        let token = row.token.clone().unwrap_or_default();
        let server = row.server_id.clone();
        let row = match client.resolve_token(&token).await {
            Ok(Some(id)) => {
                let event = Event::TokenResolved { id: id.clone() };
                self.fire(row, event, |r| {
                    r.request_id = Some(id);
                    r.last_error = None;
                })?
            }
            Ok(None) => self.fire(row, Event::TokenPending, |r| r.last_error = None)?,
            Err(Open311Error::Unreachable { reason }) => return self.unreachable(row, reason),
            Err(Open311Error::Transient {
                retry_after,
                reason,
            }) => self.fire(row, Event::Busy { retry_after }, |r| {
                r.last_error = Some(reason)
            })?,
            Err(e) => {
                let reason = e.to_string();
                self.fire(row, Event::TokenUnreadable, |r| r.last_error = Some(reason))?
            }
        };
        self.network_back(Some(&server))?;
        Ok(row)
    }

    /// No connection could be made for `row`: it and every other report of its server wait
    /// for the network, with nothing counted.
    fn unreachable(&self, row: Row, reason: String) -> Result<Row> {
        let server = row.server_id.clone();
        let row = self.fire(row, Event::Unreachable, |r| r.last_error = Some(reason))?;
        self.network_gone(Some(&server))?;
        Ok(row)
    }

    /// Fires `event` on `row` in one transaction: the transition, the data `edit` sets, the
    /// history entry, the effect on the server (a pause); then tells listeners.
    pub(crate) fn fire(&self, row: Row, event: Event, edit: impl FnOnce(&mut Row)) -> Result<Row> {
        self.commit(|tx, events| {
            let (row, changed) = self.apply(tx, row, event, edit)?;
            events.extend(changed);
            Ok(row)
        })
    }

    /// Applies `event` to `row` inside `tx`: the transition function, then persistence. A
    /// pair the table does not allow is an error (`ReportLocked` for the user's events).
    pub(crate) fn apply(
        &self,
        tx: &Transaction<'_>,
        mut row: Row,
        event: Event,
        edit: impl FnOnce(&mut Row),
    ) -> Result<(Row, Option<OutboxEvent>)> {
        let name = event.name();
        let from = row.progress.phase;
        let Transition {
            progress,
            effect,
            history,
        } = machine::transition(&row.progress, event, now_ms(), &self.engine.policy()).map_err(
            |e| {
                tracing::debug!(target: "curbside::outbox", report = %row.id, phase = %e.phase.name(), event = name, "not allowed");
                Error::ReportLocked(name)
            },
        )?;
        row.progress = progress;
        edit(&mut row);
        let finished = matches!(row.progress.phase, Phase::Sent | Phase::Cancelled);
        if finished
            && from != row.progress.phase
            && !self.engine.keep_contact.load(Ordering::Relaxed)
        {
            // Personal data is kept only as long as needed: not once the report is finished.
            forget_contact(&mut row);
            reports::rewrite_content(tx, &row)?;
        }
        if effect == Some(Effect::PauseServer) {
            servers::pause(
                tx,
                &row.server_id,
                "the server refused the app's key or jurisdiction",
            )?;
        }
        reports::update(tx, &mut row)?;
        if let Some(event) = &history {
            reports::add_history(tx, &row.id, event)?;
        }
        if from != row.progress.phase {
            tracing::info!(target: "curbside::outbox", report = %row.id, from = %from.name(), to = %row.progress.phase.name(), event = name, attempts = row.progress.attempts, "phase");
        }
        let report = row.to_report();
        Ok((row, Some(OutboxEvent::Changed(report))))
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
        self.commit(|tx, events| {
            for row in reports::in_phase(tx, "waiting_for_network", server)? {
                events.extend(self.apply(tx, row, Event::NetworkBack, |_| {})?.1);
            }
            Ok(())
        })
    }

    /// The network is absent (for `server`, or for all): every report that would go out
    /// waits for it, with no attempt counted and no backoff grown.
    fn network_gone(&self, server: Option<&str>) -> Result<()> {
        self.commit(|tx, events| {
            for phase in ["queued", "checking", "waiting_for_id"] {
                for row in reports::in_phase(tx, phase, server)? {
                    events.extend(self.apply(tx, row, Event::Unreachable, |_| {})?.1);
                }
            }
            Ok(())
        })
    }

    /// The client for a server, rebuilt when its settings change.
    pub fn client(&self, server_id: &str) -> Result<Arc<Open311Client>> {
        let (mut config, _) = self
            .store
            .read(|c| servers::get(c, server_id))?
            .ok_or_else(|| Error::ServerNotFound(server_id.into()))?;
        config.api_key = self.engine.keys.lock().unwrap().get(server_id).cloned();
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

/// What a step did, for the run's summary.
enum Outcome {
    Sent,
    Failed,
    Progress,
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
/// draft it came from).
fn forget_contact(row: &mut Row) {
    let payload = &mut row.payload;
    payload.first_name = None;
    payload.last_name = None;
    payload.email = None;
    payload.phone = None;
    row.fields.contact = Default::default();
}
