//! The core's error type: rich enough to log and test against.
//! Every layer returns it; front ends map it to their own few, actionable kinds (see
//! `curbside-ffi`'s `ApiError`).

use std::path::PathBuf;

/// Result with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core.
///
/// Messages never contain report content, contact details or coordinates.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value given by the app or user is not acceptable; `field` names it (`location.latitude`).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Dotted name of the offending field.
        field: &'static str,
        /// What is wrong with it, in words a developer can act on.
        reason: String,
    },
    /// A city profile document is malformed; `field` is the path of the first bad field.
    #[error("invalid profile field {field}: {reason}")]
    InvalidProfile {
        /// Dotted path, such as `server.endpoint`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The draft cannot be submitted yet: one entry per field to fix.
    #[error("the report is not complete: {}", .0.iter().map(|e| e.field.as_str()).collect::<Vec<_>>().join(", "))]
    InvalidDraft(Vec<crate::FieldError>),
    /// No draft has the given id (never created, or deleted).
    #[error("no such draft")]
    DraftNotFound,
    /// No submitted report has the given id.
    #[error("no such report")]
    ReportNotFound,
    /// No server has been set up under the given id.
    #[error("no server is set up as {0:?}")]
    ServerNotFound(String),
    /// The report may already have reached the city, so it can no longer be changed or withdrawn.
    #[error("the report has already been sent (or may have been), so it can no longer be {0}")]
    ReportLocked(&'static str),
    /// The data directory cannot be created or used.
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        /// The directory the app asked for.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The database was written by a newer Curbside; opening it would risk losing data.
    #[error("database schema version {found} is newer than this Curbside supports ({supported})")]
    SchemaTooNew {
        /// Version found in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// A stored row could not be read back (written by a buggy or tampered build).
    #[error("stored data is unreadable: {0}")]
    CorruptData(String),
    /// SQLite failed (I/O error, locked, ...).
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The disk is full: nothing was saved (the transaction was rolled back, nothing lost);
    /// freeing space fixes it.
    #[error("the disk is full: nothing was saved; free some space and try again")]
    DiskFull,
    /// A photo could not be used (not an image, damaged, too large).
    #[error(transparent)]
    Photo(#[from] curbside_photo::PhotoError),
    /// An exchange with an Open311 server failed.
    #[error(transparent)]
    Open311(#[from] curbside_open311::Open311Error),
}

impl Error {
    /// An [`Error::InvalidInput`] for `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field,
            reason: reason.into(),
        }
    }

    /// True when the failure is the disk being full: nothing was written, and freeing space fixes it.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Error::DiskFull)
            || matches!(self, Error::Database(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::DiskFull)
    }
}
