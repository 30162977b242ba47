//! The one error type apps see, converted from the core's rich error in one place.

use curbside_core::Error;
use curbside_open311::{Open311Error, ServerMessage};

/// What went wrong, grouped by what an app can do about it.
///
/// Messages never contain report content, contact details, coordinates or secrets.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ApiError {
    /// A value the app passed is not acceptable: show `reason` beside the field named by `field`
    /// (dotted, such as `location.latitude`).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field that is wrong.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The draft is not ready to submit: show each message beside its field.
    #[error("the report is not complete")]
    InvalidDraft {
        /// One entry per field to fix.
        errors: Vec<curbside_types::FieldError>,
    },
    /// The draft (or other item) does not exist, or no longer does: refresh the list.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for, such as `draft`.
        what: String,
    },
    /// Local storage failed: the data directory is unusable, the disk is full, or the database
    /// belongs to a newer app version. Nothing was changed; `reason` says which.
    #[error("storage: {reason}")]
    Storage {
        /// What failed, for logs and support.
        reason: String,
    },
    /// The city's server could not be reached or did not answer properly (no network, a
    /// timeout, a 5xx, a Wi-Fi login page): try again later, after `retry_after` if given.
    #[error("temporary failure: {reason}")]
    Temporary {
        /// What happened.
        reason: String,
        /// How long the server asked to wait.
        retry_after: Option<std::time::Duration>,
    },
    /// The server refused the request as it is: show `messages` (beside their fields where
    /// they name one) so the user can change it.
    #[error("rejected by the server")]
    Rejected {
        /// The server's messages.
        messages: Vec<ServerMessage>,
    },
    /// The server refused the app's credentials: check the api_key in the city's settings.
    #[error("not authorised: {reason}")]
    Unauthorized {
        /// What the server said.
        reason: String,
    },
    /// The city may already have received this report (the answer was lost, or the server
    /// calls it a duplicate): do not send it again before checking.
    #[error("the city may already have this report: {reason}")]
    MaybeReceived {
        /// What happened.
        reason: String,
    },
    /// A bug in Curbside; please report it with `reason`.
    #[error("internal error: {reason}")]
    Internal {
        /// What failed, for logs and support.
        reason: String,
    },
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let reason = error.to_string();
        match error {
            Error::InvalidInput { field, reason } => ApiError::InvalidInput {
                field: field.to_string(),
                reason,
            },
            Error::DraftNotFound => ApiError::NotFound {
                what: "draft".into(),
            },
            Error::ReportNotFound => ApiError::NotFound {
                what: "report".into(),
            },
            Error::ServerNotFound(_) => ApiError::NotFound {
                what: "server".into(),
            },
            Error::ReportLocked(_) => ApiError::InvalidInput {
                field: "report".into(),
                reason,
            },
            // The path is the app's own; the OS reason is what helps (permission, not a directory).
            Error::DataDir { source, .. } => ApiError::Storage {
                reason: format!("cannot use the data directory: {source}"),
            },
            ref e if e.is_disk_full() => ApiError::Storage {
                reason: "the disk is full; free some space and try again".into(),
            },
            Error::DiskFull => ApiError::Storage {
                reason: "the disk is full; free some space and try again".into(),
            },
            Error::SchemaTooNew { .. } | Error::Database(_) | Error::CorruptData(_) => {
                ApiError::Storage { reason }
            }
            Error::InvalidProfile { field, reason } => ApiError::InvalidInput {
                field: format!("profile.{field}"),
                reason,
            },
            Error::InvalidDraft(errors) => ApiError::InvalidDraft { errors },
            Error::Photo(e) => ApiError::InvalidInput {
                field: "photo".into(),
                reason: e.to_string(),
            },
            Error::Open311(e) => match e {
                Open311Error::Config { reason } => ApiError::InvalidInput {
                    field: "server".into(),
                    reason,
                },
                Open311Error::Transient {
                    reason,
                    retry_after,
                } => ApiError::Temporary {
                    reason,
                    retry_after,
                },
                Open311Error::Unreachable { reason } => ApiError::Temporary {
                    reason,
                    retry_after: None,
                },
                Open311Error::Rejected { messages, .. } => ApiError::Rejected { messages },
                Open311Error::Auth { .. } => ApiError::Unauthorized { reason },
                Open311Error::NotFound { .. } => ApiError::NotFound { what: reason },
                Open311Error::Duplicate { .. }
                | Open311Error::UnknownOutcome { .. }
                | Open311Error::ServerFailed { .. } => ApiError::MaybeReceived { reason },
            },
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(error: tokio::task::JoinError) -> Self {
        ApiError::Internal {
            reason: format!("background task failed: {error}"),
        }
    }
}
