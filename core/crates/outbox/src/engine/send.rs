//! The sending run: the lease, batches of due reports marked in flight, each one's step
//! (post, search, poll a token) and the commit of their results with the next batch's marks.

use super::*;

impl Outbox {
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
        // Lost to another sender (this one was paused past its lease): the step under way
        // finishes (its result is written only over the version it was worked out from), and
        // nothing more is started; what the batch marked is held back like any other stop.
        let lost = AtomicBool::new(false);
        let stopped = || {
            deadline.saturating_duration_since(Instant::now()) < Duration::from_secs(1)
                || (follow_hint && !self.engine.online())
                || lost.load(Ordering::Relaxed)
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
                    lost.store(true, Ordering::Relaxed);
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
                let Taken { row, step, client } = taken;
                // A slow upload may outlast the lease: renew it while the step runs. Its log
                // lines are in the report's span.
                let span = tracing::info_span!("report", report = %row.id);
                let step = async {
                    let step = self.step(&client, step, row).instrument(span);
                    tokio::pin!(step);
                    loop {
                        tokio::select! {
                            outcome = &mut step => break outcome,
                            () = tokio::time::sleep(self.engine.timing().lease / 4) => {
                                if !self.take_lease(false)? {
                                    lost.store(true, Ordering::Relaxed);
                                }
                            }
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
            let client = match client {
                Ok(client) => client,
                Err(reason) => {
                    let error = LastError::new(LastErrorCode::Settings, reason);
                    let edit = |r: &mut Row| r.last_error = Some(error);
                    events.extend(self.apply(tx, row, Event::SettingsUnusable, edit)?.1);
                    continue;
                }
            };
            let (progress, step) =
                machine::transition(&row.progress, Event::Start, &self.context())
                    .ok()
                    .and_then(|start| start.step().map(|step| (start.progress, step)))
                    .ok_or_else(|| {
                        Error::CorruptData(format!(
                            "a due report in phase {}",
                            row.progress.phase.name()
                        ))
                    })?;
            // A POST may arrive until its longest upload is over.
            let longest = client.config().limits.upload_timeout;
            let row = match progress == row.progress {
                true => row,
                false => {
                    let deadline = now_ms() + longest.as_millis() as i64;
                    let edit = |r: &mut Row| {
                        if step == Step::Post {
                            r.progress.post_deadline = Some(deadline);
                        }
                    };
                    let (row, event) = self.apply(tx, row, Event::Start, edit)?;
                    events.extend(event);
                    row
                }
            };
            taken.push(Taken { row, step, client });
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

    /// Takes a report's step with its server; the report with what the step learned, the
    /// event to fire and what was learnt of its server (committed later, by `settle`).
    async fn step(
        &self,
        client: &Open311Client,
        step: Step,
        row: Row,
    ) -> Result<(Row, Event, Option<Learnt>)> {
        match step {
            Step::Post => Ok(with_nothing_learnt(self.post(client, row).await)),
            Step::Search => self.search(client, row).await,
            Step::ResolveToken => Ok(with_nothing_learnt(resolve_token(client, row).await)),
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
                row.last_error = Some(LastError::new(LastErrorCode::NoAnswer, reason.clone()));
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
            Err(e) => {
                row.last_error = Some(LastError::from(&e));
                match e {
                    Open311Error::Unreachable { .. } => Event::Unreachable,
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
            let detail = e.to_string();
            row.last_error = Some(LastError::new(LastErrorCode::TokenUnreadable, detail));
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
    let event = match &error {
        Open311Error::Unreachable { .. } => Event::Unreachable,
        Open311Error::Transient { retry_after, .. } => Event::Busy {
            retry_after: *retry_after,
        },
        _ => return Err(error),
    };
    row.last_error = Some(LastError::from(&error));
    Ok(event)
}

/// A report a run took: its row (marked in flight when it is to be posted), its step, and
/// the client of its server.
struct Taken {
    row: Row,
    step: Step,
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
