//! Applying an event to a report: the transition function, then persistence of what it
//! decided (the row, its history, a pause, forgetting contact details), and the network's
//! comings and goings for every report it concerns.

use super::*;

impl Outbox {
    /// Applies `event` to the report `row` (read inside `tx`): the transition decides, then
    /// its effects are carried out here, in one place (the row and its history written, or
    /// the row removed; a server paused; contact details forgotten; the worker woken). A
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
            effects,
            history,
        } = machine::transition(&row.progress, event, &self.context()).map_err(|e| {
            tracing::debug!(target: "curbside::outbox", report = %row.id, phase = %e.phase.name(), event = name, "not allowed");
            Error::ReportLocked(name)
        })?;
        row.progress = progress;
        edit(&mut row);
        if effects.contains(&Effect::Remove) {
            // Taken back as a draft (read in this same transaction, so nothing changed it).
            reports::delete(tx, &row.id)?;
            tracing::info!(target: "curbside::outbox", report = %row.id, event = name, "removed");
            let version = row.version.max(0) as u64 + 1;
            let id = row.id;
            return Ok((row, Some(OutboxEvent::Removed { id, version })));
        }
        // (Rewritten only when there was something to forget: most reports are anonymous.)
        let forget = effects.contains(&Effect::ForgetContact) && forget_contact(&mut row)?;
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
        if effects.contains(&Effect::PauseServer) {
            self.servers.pause(
                tx,
                &row.server_id,
                "the server refused the app's key or jurisdiction",
            )?;
        }
        if effects.contains(&Effect::Wake) {
            self.engine.wake();
        }
        if let Some(event) = &history {
            reports::add_history(tx, &row.id, event)?;
        }
        if from != row.progress.phase {
            tracing::info!(target: "curbside::outbox", report = %row.id, from = %from.name(), to = %row.progress.phase.name(), event = name, attempts = row.progress.attempts, "phase");
        }
        let report = row.to_report(self.engine_online());
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

    pub(super) fn network_back_in(
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

    /// `server` is out of reach (no connection could be made): every report of it that would
    /// go out waits for the network, with no attempt counted and no backoff grown.
    pub(super) fn network_gone_in(
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

impl Outbox {
    /// What a transition is decided with now: the clock, the policy, a fresh draw for the
    /// backoff's jitter, and whether contact details are kept.
    pub(crate) fn context(&self) -> machine::Context {
        machine::Context {
            now: now_ms(),
            policy: self.engine.policy(),
            entropy: uuid::Uuid::new_v4().as_u128() as u32,
            keep_contact: self.engine.keep_contact.load(Ordering::Relaxed),
        }
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
