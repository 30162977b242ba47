//! Putting reports in the outbox and taking user actions on them. All synchronous, short
//! SQLite transactions; the engine does the sending.

use crate::open311::{AttributeAnswer, MediaFile, MediaUpload, NewRequest, ServerConfig};
use crate::outbox::{AttentionAction, HistoryEntry, Report, ReportId};
use crate::store::drafts;
use crate::store::reports::{self, now_ms, Row, State, Step};
use crate::{Curbside, Draft, DraftFields, DraftId, Error, Result};

impl Curbside {
    /// Sets up (or changes) the server reports can be sent to under `server_id`. Changed
    /// settings lift a pause caused by refused credentials and retry the reports it parked;
    /// the same settings again change nothing.
    pub fn set_server(&self, server_id: &str, config: ServerConfig) -> Result<()> {
        config.base_url()?;
        if self
            .store
            .write(|tx| reports::put_server(tx, server_id, &config))?
        {
            self.engine.wake();
        }
        Ok(())
    }

    /// Submits a draft: checks it, freezes its content with a new report id, and commits it to
    /// the outbox (removing the draft) before anything is sent. The engine takes it from there.
    pub fn submit(&self, draft_id: &DraftId, server_id: &str) -> Result<Report> {
        let report = self.store.write(|tx| {
            let draft = drafts::get(tx, draft_id)?.ok_or(Error::DraftNotFound)?;
            let (config, _) = reports::server(tx, server_id)?
                .ok_or_else(|| Error::ServerNotFound(server_id.into()))?;
            let fields = draft.fields.normalized()?;
            let profiles = crate::city::all_profiles(tx)?;
            let profile = profiles.iter().find(|p| p.id == server_id || Some(&p.id) == fields.profile_id.as_ref());
            let problems = crate::city::validate(&fields, profile, &profiles);
            if !problems.is_empty() {
                return Err(Error::InvalidDraft(problems));
            }
            let id = ReportId::new();
            let payload = payload(&fields, &id, &config)?;
            let now = now_ms();
            let mut row = Row {
                id,
                server_id: server_id.into(),
                payload,
                fields,
                state: State::Queued,
                step: Step::Post,
                frozen: false,
                outcome_unknown: false,
                said_duplicate: false,
                attempts: 0,
                next_attempt_at: now,
                attempt_started_at: None,
                token: None,
                request_id: None,
                service_notice: None,
                attention: None,
                last_error: None,
                status: None,
                status_notes: None,
                status_updated_at: None,
                created_at: now,
                updated_at: now,
            };
            reports::insert(tx, &row)?;
            reports::add_history(
                tx,
                &id,
                "submitted",
                "Saved on this device, waiting to be sent",
            )?;
            if !row.payload.media.is_empty() && config.quirks.media != MediaUpload::Multipart {
                // Say so rather than drop them silently: this server takes only hosted media_url.
                let note = "This city's server takes no photo uploads; the report is sent without its photos";
                reports::add_history(tx, &id, "photos_not_sent", note)?;
            }
            drafts::delete(tx, draft_id)?;
            reports::update(tx, &mut row)?;
            Ok(row.to_report())
        })?;
        self.engine.changed(report.clone());
        self.engine.wake();
        Ok(report)
    }

    /// Every submitted report, newest first.
    pub fn reports(&self) -> Result<Vec<Report>> {
        Ok(self
            .store
            .read(reports::list)?
            .iter()
            .map(Row::to_report)
            .collect())
    }

    /// One report and its history (Curbside's steps and the city's updates), oldest first.
    pub fn report(&self, id: &ReportId) -> Result<(Report, Vec<HistoryEntry>)> {
        self.store.read(|conn| {
            let row = reports::get(conn, id)?.ok_or(Error::ReportNotFound)?;
            Ok((row.to_report(), reports::history(conn, id)?))
        })
    }

    /// Withdraws a report that has not left the phone.
    pub fn cancel_report(&self, id: &ReportId) -> Result<Report> {
        let report = self.store.write(|tx| {
            let mut row = reports::get(tx, id)?.ok_or(Error::ReportNotFound)?;
            if !editable(&row) {
                return Err(Error::ReportLocked("cancelled"));
            }
            row.state = State::Cancelled;
            reports::update(tx, &mut row)?;
            reports::add_history(tx, id, "cancelled", "Withdrawn before it was sent")?;
            Ok(row.to_report())
        })?;
        self.engine.changed(report.clone());
        Ok(report)
    }

    /// Turns a report that has not reached the city (never sent, or refused by it) back into
    /// a draft to edit and submit again; the report itself is removed.
    pub fn edit_report(&self, id: &ReportId) -> Result<Draft> {
        let (draft, report) = self.store.write(|tx| {
            let mut row = reports::get(tx, id)?.ok_or(Error::ReportNotFound)?;
            if !editable(&row) {
                return Err(Error::ReportLocked("edited"));
            }
            let draft = Draft::new(DraftId::new(), row.fields.clone(), chrono::Utc::now());
            drafts::insert(tx, &draft)?;
            row.state = State::Cancelled;
            let report = row.to_report();
            reports::delete(tx, id)?;
            Ok((draft, report))
        })?;
        self.engine.changed(report);
        Ok(draft)
    }

    /// Sends a report that needs attention again: after settings were fixed, or, for a
    /// possible duplicate, because the user confirmed the city does not have it.
    pub fn retry_report(&self, id: &ReportId) -> Result<Report> {
        let report = self.store.write(|tx| {
            let mut row = reports::get(tx, id)?.ok_or(Error::ReportNotFound)?;
            if row.state != State::NeedsAttention {
                return Ok(row.to_report());
            }
            if row
                .attention
                .as_ref()
                .is_some_and(|a| a.action == AttentionAction::ConfirmPossibleDuplicate)
            {
                row.outcome_unknown = false;
                row.said_duplicate = false;
                row.step = if row.token.is_some() {
                    Step::ResolveToken
                } else {
                    Step::Post
                };
            }
            row.state = State::Queued;
            row.attention = None;
            row.next_attempt_at = now_ms();
            reports::update(tx, &mut row)?;
            reports::add_history(tx, id, "retry", "Sending again, as asked")?;
            Ok(row.to_report())
        })?;
        self.engine.changed(report.clone());
        self.engine.wake();
        Ok(report)
    }
}

/// A report can change until a POST of it may have reached the city, and again once the city
/// has refused it (nothing was created).
fn editable(row: &Row) -> bool {
    let refused = row.state == State::NeedsAttention
        && !row.outcome_unknown
        && row.request_id.is_none()
        && row.token.is_none()
        && row
            .attention
            .as_ref()
            .is_some_and(|a| a.action != AttentionAction::ConfirmPossibleDuplicate);
    match row.state {
        State::Queued => !row.frozen,
        State::NeedsAttention => refused,
        _ => false,
    }
}

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
