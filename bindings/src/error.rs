//! The one error type apps see, converted from the core's rich error in one place.

use curbside_core::Error;

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
            // The path is the app's own; the OS reason is what helps (permission, not a directory).
            Error::DataDir { source, .. } => ApiError::Storage {
                reason: format!("cannot use the data directory: {source}"),
            },
            ref e if e.is_disk_full() => ApiError::Storage {
                reason: "the disk is full; free some space and try again".into(),
            },
            Error::SchemaTooNew { .. } | Error::Database(_) | Error::CorruptData(_) => {
                ApiError::Storage { reason }
            }
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
