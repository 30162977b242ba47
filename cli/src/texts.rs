//! The CLI's English words for the core's codes: field issues, reasons a report needs
//! attention, and history events. (The Kotlin and Swift layers ship their own texts, in
//! English and Finnish, from Android string resources and a Swift string catalog.)

use curbside_core::city::FieldIssue;
use curbside_core::open311::ServerMessage;
use curbside_core::outbox::{Attention, AttentionKind, HistoryEvent, LastError, LastErrorCode};

/// What to change in a field.
pub(crate) fn issue(issue: &FieldIssue) -> String {
    match issue {
        FieldIssue::ChooseService => "Choose what kind of problem this is.".into(),
        FieldIssue::PlaceOrAddress => "Place the report on the map, or give an address.".into(),
        FieldIssue::NullIsland => "The position is 0, 0 (in the ocean): usually a missing GPS fix. Place the pin, or confirm it.".into(),
        FieldIssue::NotPreciseEnough { accuracy_m, limit_m } => format!(
            "The position is only known to within {accuracy_m:.0} m; the city needs {limit_m:.0} m. Wait for a better fix or place the pin."
        ),
        FieldIssue::OutsideServiceArea { city, other_city, other_profile_id } => match (other_city, other_profile_id) {
            (Some(other), Some(id)) => format!("This place is outside {city}'s service area; it is in {other} (profile \"{id}\")."),
            _ => format!("This place is outside {city}'s service area."),
        },
        FieldIssue::ContactRequired { city } => format!("{city} needs this to accept a report."),
        FieldIssue::NotAnEmail => "This is not an e-mail address.".into(),
        FieldIssue::NotAPhone => "This is not a phone number.".into(),
        FieldIssue::NotAQuestion => "This is not a question of this service.".into(),
        FieldIssue::AnswerRequired { question } => format!("Required: {question}"),
        FieldIssue::ChooseOne => "Choose one answer.".into(),
        FieldIssue::ChooseFromList => "Choose from the listed answers.".into(),
        FieldIssue::EnterNumber => "Enter a number, such as 12 or 3.5.".into(),
        FieldIssue::EnterDateTime => "Enter a date and time.".into(),
        FieldIssue::EnterOneLine => "Enter one line of text.".into(),
        FieldIssue::EnterOneAnswer => "Enter one answer.".into(),
    }
}

/// Why a report needs the user, and what they can do.
pub(crate) fn attention(attention: &Attention) -> String {
    let count = attention.count.unwrap_or(0);
    let resend_if_sure = "Send it again only if you are sure it did not arrive.";
    match attention.kind {
        AttentionKind::Refused => "The city could not accept this report as it is. Edit it and submit again.".into(),
        AttentionKind::SettingsRefused => "The city's server refused this app's key or jurisdiction. Check the server settings.".into(),
        AttentionKind::BadSettings => "The server settings cannot work. Check them.".into(),
        AttentionKind::ServerKeepsFailing => format!("The city's server failed on this report {count} times, and it is not on the server. Edit it and submit again, or try later."),
        AttentionKind::SaidDuplicate => format!("The city says it already has this report, but it could not be found. {resend_if_sure}"),
        AttentionKind::AmbiguousMatch if count == 1 => format!("A request on the city's server may be this report, but only its service and time matched. {resend_if_sure}"),
        AttentionKind::AmbiguousMatch => format!("{count} requests on the city's server could be this report. {resend_if_sure}"),
        AttentionKind::Unsearchable => format!("The city may already have received this report, and its server cannot be searched to check. {resend_if_sure}"),
        AttentionKind::Other => "This report needs attention.".into(),
    }
}

/// A report's last failure in words.
pub(crate) fn last_error(error: &LastError) -> String {
    match error.code {
        LastErrorCode::Unreachable => "The city's server could not be reached. It is sent when the network is back.".into(),
        LastErrorCode::Busy => "The city's server asked to wait. It is tried again later.".into(),
        LastErrorCode::NoAnswer => "No answer came from the city's server. Curbside checks whether it arrived before sending again.".into(),
        LastErrorCode::ServerFailed => format!("The city's server had an error (HTTP {}). It is checked and tried again.", error.status.unwrap_or(0)),
        LastErrorCode::Refused => "The city did not accept the report as it is.".into(),
        LastErrorCode::Duplicate => "The city says it already has this report.".into(),
        LastErrorCode::Settings => "The app's settings for this city do not work.".into(),
        LastErrorCode::Unsearchable => "The city's server could not be searched for this report.".into(),
        LastErrorCode::TokenUnreadable => "The city's number for this report could not be read.".into(),
        LastErrorCode::StatusRefresh => "The city's status of this report could not be refreshed.".into(),
        LastErrorCode::Other => "Something went wrong with this report.".into(),
    }
}

/// One line of a report's history.
pub(crate) fn history(event: &HistoryEvent) -> String {
    match event {
        HistoryEvent::Submitted => "Saved on this device, waiting to be sent".into(),
        HistoryEvent::PhotosNotSent => {
            "This city's server takes no photo uploads; the report is sent without its photos"
                .into()
        }
        HistoryEvent::Recovered => "Interrupted while sending; checking whether it arrived".into(),
        HistoryEvent::RetryLater {
            asked_seconds: Some(s),
        } => format!(
            "The city's server asked to wait {s} s; waiting at most a day, then trying again"
        ),
        HistoryEvent::RetryLater {
            asked_seconds: None,
        } => "The city's server asked to wait; will try again".into(),
        HistoryEvent::Received {
            request_id: Some(id),
        } => format!("Received by the city as request {id}"),
        HistoryEvent::Received { request_id: None } => {
            "Received by the city (it gives no request id)".into()
        }
        HistoryEvent::QueuedByCity => "The city queued it; waiting for its id".into(),
        HistoryEvent::NoAnswer => {
            "No usable answer from the city; checking whether it arrived".into()
        }
        HistoryEvent::ServerUnavailable { status } => {
            format!("The city's server answered HTTP {status}; checking whether it arrived")
        }
        HistoryEvent::ServerError { status, messages } => format!(
            "The city's server failed with HTTP {status}{}; checking whether it arrived",
            words(messages)
        ),
        HistoryEvent::SaidDuplicate => "The city says it already has this; looking for it".into(),
        HistoryEvent::FoundOnServer { request_id } => {
            format!("Found on the city's server as request {request_id}; not sent again")
        }
        HistoryEvent::NotOnServer => "Not on the city's server; sending again".into(),
        HistoryEvent::NotFoundYet => {
            "Not on the city's server yet; looking again before sending it again".into()
        }
        HistoryEvent::AnsweredLate { request_id } => format!(
            "An earlier attempt's answer arrived late: the city has it as request {request_id}"
        ),
        HistoryEvent::IdFromToken { request_id } => format!("The city gave it the id {request_id}"),
        HistoryEvent::TokenUnreadable => {
            "Received by the city; its id could not be looked up".into()
        }
        HistoryEvent::TokenNeverResolved => {
            "Received by the city, which never gave its id: its status cannot be followed".into()
        }
        HistoryEvent::NeedsAttention { attention: a } => {
            format!("{}{}", attention(a), words(&a.messages))
        }
        HistoryEvent::Cancelled => "Withdrawn before it was sent".into(),
        HistoryEvent::Withdrawn => "Withdrawn: it will not be sent again".into(),
        HistoryEvent::ConfirmedByUser { request_id } => {
            format!("You confirmed the city has it, as #{request_id}")
        }
        HistoryEvent::RetriedByUser => "Sending again, as asked".into(),
        HistoryEvent::SettingsChanged => "Server settings changed; trying again".into(),
        HistoryEvent::StatusChanged { status, notes } => match notes {
            Some(notes) => format!("Status is now {status}: {notes}"),
            None => format!("Status is now {status}"),
        },
        HistoryEvent::FollowedAfterClosing { days } => {
            format!("Closed: followed for {days} more days in case the city reopens it")
        }
        HistoryEvent::CityNote {
            note_kind: Some(kind),
            text,
        } => format!("[{kind}] {text}"),
        HistoryEvent::CityNote {
            note_kind: None,
            text,
        } => text.clone(),
        HistoryEvent::Legacy { text, .. } => text.clone(),
    }
}

/// The server's words: `: "a"; "b"`, or nothing.
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
