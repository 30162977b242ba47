//! Following the city: the status and notes of sent reports, asked for in batches of ids
//! with the spec's parameters only (`extensions` where the profile says the server takes it),
//! ids missing from an answer asked for one by one. A refresh that fails is never silent.
//!
//! A closed report is still followed for [`FOLLOW_CLOSED_DAYS`] (the spec lets a city reopen
//! a request, and cities do), less and less often: it is asked for again once the time since
//! the last look is a quarter of the time since it closed. Its history says so when it closes.

use std::collections::HashMap;

use curbside_open311::{Open311Client, Open311Error, RequestQuery, ServiceRequest};
use curbside_store::reports::{self, now_ms, Row};
use curbside_types::report::{HistoryEvent, OutboxEvent, Report, StatusRefresh};
use curbside_types::{LastError, LastErrorCode, Result};

use crate::present::Present;
use crate::Outbox;

/// Ids per `GET requests` when tracking statuses.
const STATUS_BATCH: usize = 50;

/// How long a closed report is still followed, in days: a city may reopen it.
pub const FOLLOW_CLOSED_DAYS: u32 = 30;

impl Outbox {
    /// "My reports": asks each server for the status of the reports it has (batched ids; ids
    /// missing from the answer one by one), records changes and new notes in their history,
    /// and tells listeners. A server that cannot answer is not silent: its reports carry the
    /// failure in `last_error` (and an event), and the result says so.
    pub async fn refresh_statuses(&self) -> Result<StatusRefresh> {
        let follow = i64::from(FOLLOW_CLOSED_DAYS) * 86_400_000;
        let tracked = self.store.read(|c| reports::tracked(c, now_ms(), follow))?;
        let mut by_server: HashMap<String, Vec<Row>> = HashMap::new();
        for row in tracked {
            by_server
                .entry(row.server_id.clone())
                .or_default()
                .push(row);
        }
        let mut refresh = StatusRefresh::default();
        for (server_id, rows) in by_server {
            let outcome = match self.servers.client(&server_id) {
                Ok(client) => {
                    let outcome = self.refresh_server(&client, &rows).await;
                    self.servers.remember_refusals(&server_id, &client)?;
                    outcome
                }
                Err(e) => Err(e),
            };
            let error = match outcome {
                Ok(changed) => {
                    refresh.changed += changed;
                    None
                }
                Err(e) => Some(format!("Status refresh failed: {e}")),
            };
            let stored = error
                .clone()
                .map(|e| LastError::new(LastErrorCode::StatusRefresh, e));
            self.note_refresh(&rows, &stored)?;
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
            // One transaction per page of ids.
            changed += self.commit(|tx, events| {
                let mut updated = 0;
                for remote in &found {
                    let Some(row) = batch.iter().find(|r| r.request_id == remote.id) else {
                        continue;
                    };
                    // Read again inside the transaction: the row may have moved meanwhile.
                    let Some(current) = reports::get(tx, &row.id)? else {
                        continue;
                    };
                    let id = current.id;
                    let mut report = apply_status(tx, current, remote)?;
                    let closed = remote.status.as_deref() == Some("closed");
                    if reports::mark_looked(tx, &id, now_ms(), closed)? {
                        let days = FOLLOW_CLOSED_DAYS;
                        reports::add_history(
                            tx,
                            &id,
                            &HistoryEvent::FollowedAfterClosing { days },
                        )?;
                        if report.is_none() {
                            report = reports::get(tx, &id)?
                                .map(|row| row.to_report(self.engine_online()));
                        }
                    }
                    if let Some(report) = report {
                        events.push(OutboxEvent::Changed(report));
                        updated += 1;
                    }
                }
                Ok(updated)
            })?;
        }
        Ok(changed)
    }

    /// Records a refresh failure (or its end) on a server's tracked reports, telling
    /// listeners: one transaction, and none at all when nothing changes (the usual case).
    fn note_refresh(&self, rows: &[Row], error: &Option<LastError>) -> Result<()> {
        if rows.iter().all(|r| r.last_error == *error) {
            return Ok(());
        }
        self.commit(|tx, events| {
            for row in rows {
                let Some(mut row) = reports::get(tx, &row.id)? else {
                    continue;
                };
                if row.last_error == *error {
                    continue;
                }
                row.last_error = error.clone();
                if reports::update(tx, &mut row)? {
                    events.push(OutboxEvent::Changed(row.to_report(self.engine_online())));
                }
            }
            Ok(())
        })
    }
}

/// Records a status change and new notes of a sent report; `None` if nothing changed.
fn apply_status(
    tx: &curbside_store::Connection,
    mut row: Row,
    remote: &ServiceRequest,
) -> Result<Option<Report>> {
    let known = reports::history(tx, &row.id)?;
    let mut news: Vec<HistoryEvent> = Vec::new();
    if let Some(status) = remote
        .status
        .clone()
        .filter(|_| remote.status != row.status)
    {
        news.push(HistoryEvent::StatusChanged {
            status,
            notes: remote.status_notes.clone(),
        });
    }
    for note in &remote.notes {
        let text = note
            .summary
            .clone()
            .or(note.description.clone())
            .unwrap_or_default();
        let event = HistoryEvent::CityNote {
            note_kind: note.kind.clone(),
            text,
        };
        let is_new = !known.iter().any(|h| h.event == event);
        if matches!(&event, HistoryEvent::CityNote { text, .. } if !text.is_empty()) && is_new {
            news.push(event);
        }
    }
    if news.is_empty() && remote.status_notes == row.status_notes {
        return Ok(None);
    }
    row.status = remote.status.clone().or(row.status.take());
    row.status_notes = remote.status_notes.clone();
    row.status_updated_at = remote.updated_at.map(|t| t.timestamp_millis());
    if !reports::update(tx, &mut row)? {
        return Ok(None);
    }
    for event in &news {
        reports::add_history(tx, &row.id, event)?;
    }
    // Sent: the network hint does not change how it shows.
    Ok(Some(row.to_report(true)))
}
