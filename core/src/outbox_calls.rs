//! The outbox as the app calls it: submitting (checked against the city first), the reports
//! and what the user can do with them, and sending. Everything here is the outbox's; this
//! module only adds the city's check to `submit`.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::broadcast;

use crate::city::LearntQuirk;
use crate::open311::ServerConfig;
use crate::outbox::{
    HistoryEntry, OutboxEvent, Report, ReportId, RetryPolicy, RunSummary, StatusRefresh,
};
use crate::{Curbside, Draft, DraftId, Error, Result};

impl Curbside {
    /// Sets up (or changes) the server reports can be sent to under `server_id`. Changed
    /// settings lift a pause caused by refused credentials and retry the reports it parked;
    /// the same settings again change nothing.
    pub fn set_server(&self, server_id: &str, config: ServerConfig) -> Result<()> {
        self.outbox.set_server(server_id, config)
    }

    /// Whether finished (sent or withdrawn) reports keep the reporter's contact details. By
    /// default they are removed from the device once the report is finished.
    pub fn set_keep_contact(&self, keep: bool) {
        self.outbox.set_keep_contact(keep);
    }

    /// Submits a draft: checks it against its city's profile and service definition, freezes
    /// its content with a new report id, and commits it to the outbox (removing the draft)
    /// before anything is sent. The engine takes it from there.
    pub fn submit(&self, draft_id: &DraftId, server_id: &str) -> Result<Report> {
        self.outbox.submit(draft_id, server_id, |conn, fields| {
            let profiles = curbside_city::all_profiles(conn)?;
            let profile = profiles
                .iter()
                .find(|p| p.id == server_id || Some(&p.id) == fields.profile_id.as_ref());
            let problems = curbside_city::validate(fields, profile, &profiles);
            match problems.is_empty() {
                true => Ok(()),
                false => Err(Error::InvalidDraft(problems)),
            }
        })
    }

    /// Every submitted report, newest first.
    pub fn reports(&self) -> Result<Vec<Report>> {
        self.outbox.reports()
    }

    /// What Curbside learnt of its servers' quirks from their answers (refused parameters,
    /// unreliable dates, a lagging search, a clock off), with when: re-tested after a week.
    pub fn learnt_quirks(&self) -> Result<Vec<LearntQuirk>> {
        self.servers.learnt_quirks()
    }

    /// A page of reports for a screen, newest first, with how many there are in all: read
    /// from columns and an index, so the first screen does not wait for every report.
    pub fn reports_page(&self, limit: u32, offset: u32) -> Result<(Vec<Report>, u32)> {
        self.outbox.reports_page(limit, offset)
    }

    /// One report and its history (Curbside's steps and the city's updates), oldest first.
    pub fn report(&self, id: &ReportId) -> Result<(Report, Vec<HistoryEntry>)> {
        self.outbox.report(id)
    }

    /// Withdraws a report that cannot have reached the city (never posted, or refused).
    pub fn cancel_report(&self, id: &ReportId) -> Result<Report> {
        self.outbox.cancel_report(id)
    }

    /// Withdraws a report for good wherever it waits (for the network, a search, the user):
    /// never posted again, kept as withdrawn. Not while a POST of it is on its way or the city
    /// answered with a token (`ReportLocked`).
    pub fn withdraw_report(&self, id: &ReportId) -> Result<Report> {
        self.outbox.withdraw_report(id)
    }

    /// The user's "it did arrive", with the city's id: sent, and followed from then on. Only
    /// where a POST of it may have reached the city (`ReportLocked` otherwise).
    pub fn confirm_report(&self, id: &ReportId, request_id: &str) -> Result<Report> {
        self.outbox.confirm_report(id, request_id)
    }

    /// Turns a report that has not reached the city (never sent, or refused by it) back into
    /// a draft to edit and submit again; the report itself is removed (a removal event).
    pub fn edit_report(&self, id: &ReportId) -> Result<Draft> {
        self.outbox.edit_report(id)
    }

    /// Sends a report that needs attention again: after settings were fixed, after the city
    /// kept failing, or, for a possible duplicate, because the user confirmed the city does
    /// not have it. Any other report is returned as it is.
    pub fn retry_report(&self, id: &ReportId) -> Result<Report> {
        self.outbox.retry_report(id)
    }

    /// The current reports, and a receiver of every change from now on, in commit order.
    pub fn subscribe(&self) -> Result<(Vec<Report>, broadcast::Receiver<OutboxEvent>)> {
        self.outbox.subscribe()
    }

    /// Replaces the retry policy (tests and apps with their own scheduling use this).
    pub fn set_retry_policy(&self, policy: RetryPolicy) {
        self.outbox.set_retry_policy(policy)
    }

    /// Replaces the engine's clocks: the sender lease and the wait before "not found" is
    /// confirmed (tests shorten them).
    pub fn set_timing(&self, timing: curbside_outbox::Timing) {
        self.outbox.set_timing(timing)
    }

    /// The platform's hint that the network came back (`true`) or went away (`false`): memory
    /// only (any thread may call it). Away, the worker sends nothing and the reports it would
    /// send show waiting for the network; back, whatever waits for it is due at once.
    pub fn set_network_available(&self, available: bool) {
        self.outbox.set_network_available(available)
    }

    /// A receiver of every report change from now on (memory only; see
    /// [`Curbside::subscribe`] for the reports with it).
    pub fn events(&self) -> broadcast::Receiver<OutboxEvent> {
        self.outbox.events()
    }

    /// Sends what it can until `deadline`, then returns: for WorkManager (about 10 minutes) and
    /// BGTaskScheduler (about 30 seconds). Reports waiting for the network are due at once
    /// (the platform scheduled this because the network is there).
    pub async fn run_pending(&self, deadline: Instant) -> Result<RunSummary> {
        let summary = self.outbox.run_pending(deadline).await?;
        self.prune_after_run();
        Ok(summary)
    }

    /// A pull-to-refresh: sends everything due and refreshes the status of sent reports.
    pub async fn sync_now(&self) -> Result<RunSummary> {
        let summary = self.outbox.sync_now().await?;
        self.prune_after_run();
        Ok(summary)
    }

    /// Sends what is due and refreshes the status of sent reports, all of it by `deadline`.
    pub async fn sync_until(&self, deadline: Instant) -> Result<RunSummary> {
        let summary = self.outbox.sync_until(deadline).await?;
        self.prune_after_run();
        Ok(summary)
    }

    /// Asks each server for the status of the reports it has (open, closed, notes).
    pub async fn refresh_statuses(&self) -> Result<StatusRefresh> {
        self.outbox.refresh_statuses().await
    }

    /// Runs until the process ends: sends whatever is due whenever the network is there, and
    /// sleeps until the next due time, a submit, or the network coming back; prunes what is
    /// no longer needed once a day.
    pub async fn run_worker(self: Arc<Self>) {
        tokio::join!(Arc::clone(&self.outbox).run_worker(), self.prune_daily());
    }

    /// A sending run ends with a prune; one that fails is logged, never the run's failure.
    fn prune_after_run(&self) {
        if let Err(e) = self.prune() {
            tracing::warn!(target: "curbside::outbox", error = %e, "could not prune");
        }
    }
}
