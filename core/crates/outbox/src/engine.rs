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
use curbside_types::{Error, LastError, LastErrorCode, Result};

use crate::machine::{self, Effect, Event, Step, Transition};
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

    /// The platform's hint that the network came back (`true`) or went away (`false`): memory
    /// only, never a row, so any thread may call it. Away, the worker sends nothing and the
    /// reports it would send are shown waiting for the network (no attempt counted, no backoff
    /// grown); back, the worker is woken and whatever waits for the network is due at once.
    /// Listeners are told with one [`OutboxEvent::NetworkChanged`] when the hint changes.
    pub fn set_network_available(&self, available: bool) {
        if self.engine.network.swap(available, Ordering::SeqCst) != available {
            let _ = self
                .engine
                .events
                .send(OutboxEvent::NetworkChanged { available });
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
}

mod apply;
mod send;

pub(crate) use send::not_now;
