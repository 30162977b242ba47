//! The one error type apps see, converted from the core's rich error in one place.

use curbside_core::{Error, ErrorCode, ReportPolicy};
use curbside_open311::{Open311Error, ServerMessage};

/// What went wrong, grouped by what an app can do about it: seven kinds, each with one
/// thing to do.
///
/// Messages never contain report content, contact details, coordinates or secrets; the
/// `reason`s are for logs and support, not for users (show the codes in your own words).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ApiError {
    /// A value the app passed is not acceptable (a programming error, or a field to fix):
    /// `field` names it (dotted, such as `location.latitude`).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field that is wrong.
        field: String,
        /// What is wrong with it, for the developer.
        reason: String,
    },
    /// The draft is not ready to submit: show each issue beside its field.
    #[error("the report is not complete")]
    NotReady {
        /// One issue code per field to fix.
        issues: Vec<curbside_types::FieldError>,
    },
    /// The draft, report or city does not exist, or no longer does: refresh the screen.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for, such as `draft`.
        what: String,
    },
    /// Local storage failed: the data directory is unusable, the disk is full, the database
    /// belongs to a newer app version or is damaged. Nothing was changed; `code` says which
    /// (show it in your own words), `reason` is for logs and support.
    #[error("storage: {reason}")]
    Storage {
        /// Which failure: `DiskFull`, `SchemaTooNew`, `DataDir`, `DatabaseBusy`, `Damaged` or
        /// `Storage`.
        code: ErrorCode,
        /// What failed, for logs and support.
        reason: String,
    },
    /// The city's server could not be reached or did not answer properly (no network, a
    /// timeout, a 5xx, a Wi-Fi login page): try again later, after `retry_after` if given.
    #[error("server unavailable: {reason}")]
    Unavailable {
        /// What happened, for logs.
        reason: String,
        /// How long the server asked to wait.
        retry_after: Option<std::time::Duration>,
    },
    /// The city's server refused the request (bad input, or the app's key): show `messages`,
    /// and check the city's settings if it persists.
    #[error("refused by the server")]
    ServerRefused {
        /// The server's own messages.
        messages: Vec<ServerMessage>,
    },
    /// A bug in Curbside, or a call after `shutdown()`; please report it with `reason`.
    #[error("internal error: {reason}")]
    Internal {
        /// What failed, for logs and support.
        reason: String,
    },
}

impl From<Error> for ApiError {
    /// The one place core errors become an app's: logged once here, by their policy (expected
    /// ones as warnings, the rest as errors worth reporting), with their code.
    fn from(error: Error) -> Self {
        let reason = error.to_string();
        let code = error.code();
        match error.policy() {
            ReportPolicy::Warn => {
                tracing::warn!(target: "curbside::api", ?code, %reason, "call failed")
            }
            ReportPolicy::Report => {
                tracing::error!(target: "curbside::api", ?code, %reason, "call failed: please report")
            }
        }
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
                what: "city".into(),
            },
            Error::ReportLocked(_) => ApiError::InvalidInput {
                field: "report".into(),
                reason,
            },
            // The path is the app's own; the OS reason is what helps (permission, not a directory).
            Error::DataDir { source, .. } => ApiError::Storage {
                code,
                reason: format!("cannot use the data directory: {source}"),
            },
            _ if code == ErrorCode::DiskFull => ApiError::Storage {
                code,
                reason: "the disk is full; free some space and try again".into(),
            },
            Error::DiskFull
            | Error::SchemaTooNew { .. }
            | Error::Database(_)
            | Error::CorruptData(_) => ApiError::Storage { code, reason },
            Error::InvalidProfile { field, reason } => ApiError::InvalidInput {
                field: format!("profile.{field}"),
                reason,
            },
            Error::InvalidDraft(issues) => ApiError::NotReady { issues },
            Error::Photo(e) => ApiError::InvalidInput {
                field: "photo".into(),
                reason: e.to_string(),
            },
            Error::Open311(e) => match e {
                Open311Error::Config { reason } => ApiError::InvalidInput {
                    field: "server".into(),
                    reason,
                },
                Open311Error::Transient { retry_after, .. } => ApiError::Unavailable {
                    reason,
                    retry_after,
                },
                Open311Error::Rejected { messages, .. } | Open311Error::Auth { messages, .. } => {
                    ApiError::ServerRefused { messages }
                }
                Open311Error::NotFound { .. } => ApiError::NotFound {
                    what: "on the city's server".into(),
                },
                // Only reads reach a server from the app's calls (the outbox's worker sends):
                // whatever else went wrong, trying later is what helps.
                Open311Error::Unreachable { .. }
                | Open311Error::Duplicate { .. }
                | Open311Error::UnknownOutcome { .. }
                | Open311Error::ServerFailed { .. } => ApiError::Unavailable {
                    reason,
                    retry_after: None,
                },
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
