//! A stored row as apps see it: the phase becomes a `ReportState`, times become dates. The
//! network hint is memory, never a row: while it says the network is gone, a report that
//! would go out next (queued, to be checked, waiting for its id) is shown waiting for it.

use chrono::{DateTime, Utc};

use curbside_store::reports::{Listed, Row};
use curbside_types::phase::Phase;
use curbside_types::report::{
    Attention, AttentionAction, AttentionKind, Report, ReportState, SendStep,
};

/// The report as apps see it.
pub(crate) trait Present {
    /// The report as apps see it, with the platform's network hint as it is now.
    fn to_report(&self, online: bool) -> Report;
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Where a report is, as apps see it.
fn state(phase: Phase, attention: Option<&Attention>, online: bool) -> ReportState {
    match phase {
        phase if phase.is_active() && !online => ReportState::WaitingForNetwork,
        Phase::Queued => ReportState::Queued,
        Phase::Offline(_) => ReportState::WaitingForNetwork,
        Phase::InFlight => ReportState::Sending {
            step: SendStep::Posting,
        },
        Phase::Checking => ReportState::Sending {
            step: SendStep::Checking,
        },
        Phase::WaitingForId => ReportState::Sending {
            step: SendStep::WaitingForId,
        },
        Phase::Sent => ReportState::Sent,
        Phase::NeedsUser => ReportState::NeedsAttention {
            attention: attention.cloned().unwrap_or_else(|| Attention {
                kind: AttentionKind::Other,
                count: None,
                action: AttentionAction::ConfirmPossibleDuplicate,
                messages: vec![],
            }),
        },
        Phase::Cancelled => ReportState::Cancelled,
    }
}

impl Present for Row {
    fn to_report(&self, online: bool) -> Report {
        let p = &self.progress;
        Report {
            id: self.id,
            version: self.version.max(0) as u64,
            server_id: self.server_id.clone(),
            service_code: self.payload.service_code.clone(),
            description: self.payload.description.clone().unwrap_or_default(),
            next_attempt_at: p.phase.is_active().then(|| time(p.next_at)),
            state: state(p.phase, p.attention.as_ref(), online),
            withdrawable: p.phase.withdrawable(),
            request_id: self.request_id.clone(),
            service_notice: self.service_notice.clone(),
            status: self.status.clone(),
            status_notes: self.status_notes.clone(),
            attempts: p.attempts,
            last_error: self.last_error.clone(),
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
        }
    }
}

impl Present for Listed {
    fn to_report(&self, online: bool) -> Report {
        Report {
            id: self.id,
            version: self.version.max(0) as u64,
            server_id: self.server_id.clone(),
            service_code: self.service_code.clone(),
            description: self.description.clone(),
            next_attempt_at: self.phase.is_active().then(|| time(self.next_at)),
            state: state(self.phase, self.attention.as_ref(), online),
            withdrawable: self.phase.withdrawable(),
            request_id: self.request_id.clone(),
            service_notice: self.service_notice.clone(),
            status: self.status.clone(),
            status_notes: self.status_notes.clone(),
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            created_at: time(self.created_at),
            updated_at: time(self.updated_at),
        }
    }
}
