//! Putting reports in the outbox and taking user actions on them. All synchronous, short
//! SQLite transactions; the engine does the sending.

use curbside_open311::{AttributeAnswer, MediaFile, MediaUpload, NewRequest, ServerConfig};
use curbside_store::reports::{self, now_ms, Row};
use curbside_store::{drafts, Connection};
use curbside_types::phase::{Phase, Progress};
use curbside_types::report::{HistoryEntry, HistoryEvent, OutboxEvent, Report, ReportId};
use curbside_types::{Draft, DraftFields, DraftId, Error, Result};

use crate::machine::Event;
use crate::present::Present;
use crate::Outbox;

impl Outbox {
    /// Sets up (or changes) the server reports can be sent to under `server_id`. Changed
    /// settings (a new key included) lift a pause caused by refused credentials and retry the
    /// reports it parked; the same settings again change nothing. The api_key is kept in
    /// memory only: give it again at every open.
    pub fn set_server(&self, server_id: &str, config: ServerConfig) -> Result<()> {
        config.base_url()?;
        config.quirks.zone()?;
        let changed = self.commit(|tx, events| self.put_server(tx, server_id, &config, events))?;
        if changed {
            self.engine.wake();
        }
        Ok(())
    }

    /// `set_server` inside a transaction of the caller's (see [`Outbox::commit`]): true when
    /// the settings changed (then the worker should be woken).
    pub fn put_server(
        &self,
        tx: &curbside_store::Transaction<'_>,
        server_id: &str,
        config: &ServerConfig,
        events: &mut Vec<OutboxEvent>,
    ) -> Result<bool> {
        let changed = self.servers.put(tx, server_id, config)?;
        if changed {
            self.settings_changed(tx, server_id, events)?;
        }
        Ok(changed)
    }

    /// The reports of `server_id` parked for its settings go again (its settings changed).
    fn settings_changed(
        &self,
        tx: &curbside_store::Transaction<'_>,
        server_id: &str,
        events: &mut Vec<OutboxEvent>,
    ) -> Result<()> {
        for row in reports::in_phase(tx, "needs_user", Some(server_id))? {
            match self.apply(tx, row, Event::SettingsChanged, |_| {}) {
                Ok((_, event)) => events.extend(event),
                Err(Error::ReportLocked(_)) => {} // parked for another reason
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Submits a draft: `check` looks at its fields (in the same transaction, so nothing
    /// changes in between; an error refuses it), then its content is frozen with a new report
    /// id and committed to the outbox (removing the draft) before anything is sent. The engine
    /// takes it from there.
    pub fn submit(
        &self,
        draft_id: &DraftId,
        server_id: &str,
        check: impl FnOnce(&Connection, &DraftFields) -> Result<()>,
    ) -> Result<Report> {
        let report = self.commit(|tx, events| {
            let draft = drafts::get(tx, draft_id)?.ok_or(Error::DraftNotFound)?;
            let (config, _) = self
                .servers
                .settings(tx, server_id)?
                .ok_or_else(|| Error::ServerNotFound(server_id.into()))?;
            let fields = draft.fields.normalized()?;
            check(tx, &fields)?;
            let id = ReportId::new();
            let payload = payload(&fields, &id, &config)?;
            let now = now_ms();
            // Queued whatever the network hint says: the hint is memory, never a row.
            let progress = Progress::new(now);
            let row = Row {
                id,
                server_id: server_id.into(),
                payload,
                fields: fields.into(),
                progress,
                token: None,
                request_id: None,
                late_request_id: None,
                service_notice: None,
                last_error: None,
                status: None,
                status_notes: None,
                status_updated_at: None,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            reports::insert(tx, &row)?;
            reports::add_history(tx, &id, &HistoryEvent::Submitted)?;
            if !row.payload.media.is_empty() && config.quirks.media != MediaUpload::Multipart {
                // Say so rather than drop them silently: this server takes only hosted media_url.
                reports::add_history(tx, &id, &HistoryEvent::PhotosNotSent)?;
            }
            drafts::delete(tx, draft_id)?;
            let report = row.to_report(self.engine_online());
            events.push(OutboxEvent::Changed(report.clone()));
            Ok(report)
        })?;
        self.engine.wake();
        Ok(report)
    }

    /// Whether finished (sent or withdrawn) reports keep the reporter's contact details; by
    /// default they are removed when the report is finished.
    pub fn set_keep_contact(&self, keep: bool) {
        self.engine
            .keep_contact
            .store(keep, std::sync::atomic::Ordering::Relaxed);
    }

    /// Every submitted report, newest first (read from columns only).
    pub fn reports(&self) -> Result<Vec<Report>> {
        Ok(self.reports_page(u32::MAX, 0)?.0)
    }

    /// A page of reports for a screen: `limit` of them, newest first, after skipping
    /// `offset`, with how many there are in all.
    pub fn reports_page(&self, limit: u32, offset: u32) -> Result<(Vec<Report>, u32)> {
        self.store.read(|conn| {
            let page = reports::page(conn, limit, offset)?;
            Ok((
                page.iter()
                    .map(|r| r.to_report(self.engine_online()))
                    .collect(),
                reports::count(conn)?,
            ))
        })
    }

    /// One report and its history (Curbside's steps and the city's updates), oldest first.
    pub fn report(&self, id: &ReportId) -> Result<(Report, Vec<HistoryEntry>)> {
        self.store.read(|conn| {
            let row = reports::get(conn, id)?.ok_or(Error::ReportNotFound)?;
            Ok((
                row.to_report(self.engine_online()),
                reports::history(conn, id)?,
            ))
        })
    }

    /// Withdraws a report that cannot have reached the city (never posted, or refused).
    pub fn cancel_report(&self, id: &ReportId) -> Result<Report> {
        self.commit(|tx, events| {
            let row = reports::get(tx, id)?.ok_or(Error::ReportNotFound)?;
            let (row, event) = self
                .apply(tx, row, Event::Cancel, |_| {})
                .map_err(|e| locked_as(e, "cancelled"))?;
            events.extend(event);
            Ok(row.to_report(self.engine_online()))
        })
    }

    /// Withdraws a report for good, wherever it waits (for the network, a search, the user):
    /// never posted again, kept as withdrawn. Refused (`ReportLocked`) while a POST of it is
    /// on its way or the city has answered with a token, and once it is sent.
    pub fn withdraw_report(&self, id: &ReportId) -> Result<Report> {
        self.commit(|tx, events| {
            let row = reports::get(tx, id)?.ok_or(Error::ReportNotFound)?;
            let (row, event) = self.apply(tx, row, Event::Withdraw, |_| {})?;
            events.extend(event);
            Ok(row.to_report(self.engine_online()))
        })
    }

    /// The user's "it did arrive": the report is sent as the city's `request_id` (which the
    /// user found on the city's site or in its e-mail), and its status is followed from then
    /// on. Only where a POST of it may have reached the city (`ReportLocked` otherwise).
    pub fn confirm_report(&self, id: &ReportId, request_id: &str) -> Result<Report> {
        let request_id = request_id.trim();
        if request_id.is_empty() || request_id.chars().count() > 200 {
            return Err(Error::invalid(
                "request_id",
                "give the city's id of the request",
            ));
        }
        self.commit(|tx, events| {
            let row = reports::get(tx, id)?.ok_or(Error::ReportNotFound)?;
            let confirm = Event::Confirm {
                id: request_id.to_string(),
            };
            let (row, event) = self.apply(tx, row, confirm, |row| {
                row.request_id = Some(request_id.to_string());
                row.last_error = None;
            })?;
            events.extend(event);
            Ok(row.to_report(self.engine_online()))
        })
    }

    /// Removes every report and its history (a removal event each), unless some are not sent
    /// yet and `including_unsent` is false: then nothing is removed, and those are returned
    /// (`Err`) so that the app can ask. How many went, and their photos for the caller to
    /// delete.
    pub fn forget_reports(&self, including_unsent: bool) -> Result<Forget> {
        self.commit(|tx, events| {
            let all = reports::page(tx, u32::MAX, 0)?;
            let unsent: Vec<Report> = all
                .iter()
                .filter(|r| !matches!(r.phase, Phase::Sent | Phase::Cancelled))
                .map(|r| r.to_report(self.engine_online()))
                .collect();
            if !unsent.is_empty() && !including_unsent {
                return Ok(Err(unsent));
            }
            let mut photos = reports::media(tx, true)?;
            photos.extend(reports::media(tx, false)?);
            for row in &all {
                reports::delete(tx, &row.id)?;
                events.push(OutboxEvent::Removed {
                    id: row.id,
                    version: row.version.max(0) as u64 + 1,
                });
            }
            Ok(Ok((all.len(), photos)))
        })
    }

    /// Turns a report that has not reached the city (never sent, or refused by it) back into
    /// a draft to edit and submit again; the report itself is removed (a removal event).
    pub fn edit_report(&self, id: &ReportId) -> Result<Draft> {
        self.commit(|tx, events| {
            let row = reports::get(tx, id)?.ok_or(Error::ReportNotFound)?;
            let fields = row.fields.decode()?;
            // The table decides (editable only) and its effect removes the row.
            let (_, removed) = self
                .apply(tx, row, Event::Edit, |_| {})
                .map_err(|e| locked_as(e, "edited"))?;
            events.extend(removed);
            let draft = Draft::new(DraftId::new(), fields, chrono::Utc::now());
            drafts::insert(tx, &draft)?;
            Ok(draft)
        })
    }

    /// Sends a report that needs attention again: after settings were fixed, after the city
    /// kept failing, or, for a possible duplicate, because the user confirmed the city does
    /// not have it. Any other report is returned as it is.
    pub fn retry_report(&self, id: &ReportId) -> Result<Report> {
        let report = self.commit(|tx, events| {
            let row = reports::get(tx, id)?.ok_or(Error::ReportNotFound)?;
            if row.progress.phase != Phase::NeedsUser {
                return Ok(row.to_report(self.engine_online()));
            }
            let (row, event) = self.apply(tx, row, Event::Retry, |_| {})?;
            events.extend(event);
            Ok(row.to_report(self.engine_online()))
        })?;
        Ok(report)
    }
}

/// A refusal by the table said in the user's words (`what` the report can no longer be);
/// any other failure (a full disk, a damaged row) stays what it is.
fn locked_as(error: Error, what: &'static str) -> Error {
    match error {
        Error::ReportLocked(_) => Error::ReportLocked(what),
        other => other,
    }
}

/// What [`Outbox::forget_reports`] did: the number of reports removed and their photos, or
/// the unsent reports that stopped it.
pub type Forget = std::result::Result<(usize, Vec<std::path::PathBuf>), Vec<Report>>;

/// What is POSTed for a draft: the form's answers, the position or address, the contact
/// details the user chose to share, the photos, and the report id where the server keeps one.
fn payload(fields: &DraftFields, id: &ReportId, config: &ServerConfig) -> Result<NewRequest> {
    let service_code = fields
        .service_code
        .clone()
        .ok_or_else(|| Error::invalid("service_code", "choose a service before submitting"))?;
    if fields.location.is_none()
        && fields
            .address_string
            .as_deref()
            .is_none_or(|a| a.trim().is_empty())
    {
        return Err(Error::invalid(
            "location",
            "give a position or an address before submitting",
        ));
    }
    let mut attributes = fields.attributes.clone();
    if let Some(reference) = &config.quirks.client_reference_attribute {
        attributes.retain(|a| &a.code != reference);
        attributes.push(AttributeAnswer {
            code: reference.clone(),
            values: vec![id.to_string()],
            multiple: false,
        });
    }
    let contact = &fields.contact;
    Ok(NewRequest {
        service_code,
        position: fields.location.as_ref().map(|l| (l.latitude, l.longitude)),
        address_string: fields.address_string.clone(),
        address_id: None,
        attributes,
        description: Some(fields.description.trim().to_string()).filter(|d| !d.is_empty()),
        email: contact.email.clone(),
        first_name: contact.first_name.clone(),
        last_name: contact.last_name.clone(),
        phone: contact.phone.clone(),
        device_id: None,
        account_id: None,
        media_urls: Vec::new(),
        media: fields
            .photos
            .iter()
            .map(|p| MediaFile {
                path: p.into(),
                content_type: "image/jpeg".into(),
            })
            .collect(),
    })
}
