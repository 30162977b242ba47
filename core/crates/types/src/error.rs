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

/// What went wrong, as one stable code: the classification every front end uses (the SDK's
/// `ApiError` carries it, the CLI prints it as `kind`), so that a full disk, a database from
/// a newer app and an unusable directory never look alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ErrorCode {
    /// A value given is not acceptable.
    InvalidInput,
    /// The draft is not complete.
    Incomplete,
    /// The draft, report or city does not exist.
    NotFound,
    /// The report can no longer be changed that way.
    Locked,
    /// The disk is full: nothing was saved.
    DiskFull,
    /// The database was written by a newer app version.
    SchemaTooNew,
    /// The data directory cannot be created or used.
    DataDir,
    /// Another process holds the database for longer than a call waits.
    DatabaseBusy,
    /// Stored data is damaged.
    Damaged,
    /// Another storage failure (an I/O error).
    Storage,
    /// A photo cannot be used.
    Photo,
    /// The server's settings cannot work (a URL that is not one, plain http).
    Config,
    /// No connection to the server.
    Offline,
    /// The server is busy or failing for now: later.
    Temporary,
    /// The server refused the request as it is.
    Rejected,
    /// The server refused the app's key or jurisdiction.
    Auth,
    /// The server has no such thing.
    NotOnServer,
    /// The server says it is a duplicate.
    Duplicate,
    /// A POST whose outcome is unknown.
    UnknownOutcome,
    /// The server failed to process it.
    ServerFailed,
}

/// What to do with an error where it is converted for an app or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportPolicy {
    /// Expected in the field (no network, a full disk, bad input): a warning in the log.
    Warn,
    /// Should not happen (damaged data, an unexpected SQLite failure): an error in the log,
    /// worth reporting.
    Report,
}

impl Error {
    /// The one classification of this error.
    pub fn code(&self) -> ErrorCode {
        use curbside_open311::Open311Error as O;
        match self {
            Error::InvalidInput { .. } | Error::InvalidProfile { .. } => ErrorCode::InvalidInput,
            Error::InvalidDraft(_) => ErrorCode::Incomplete,
            Error::DraftNotFound | Error::ReportNotFound | Error::ServerNotFound(_) => {
                ErrorCode::NotFound
            }
            Error::ReportLocked(_) => ErrorCode::Locked,
            e if e.is_disk_full() => ErrorCode::DiskFull,
            Error::DataDir { .. } => ErrorCode::DataDir,
            Error::SchemaTooNew { .. } => ErrorCode::SchemaTooNew,
            Error::CorruptData(_) => ErrorCode::Damaged,
            Error::Database(rusqlite::Error::SqliteFailure(e, _)) => match e.code {
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                    ErrorCode::DatabaseBusy
                }
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase => {
                    ErrorCode::Damaged
                }
                _ => ErrorCode::Storage,
            },
            Error::Database(_) => ErrorCode::Storage,
            Error::DiskFull => ErrorCode::DiskFull,
            Error::Photo(_) => ErrorCode::Photo,
            Error::Open311(e) => match e {
                O::Config { .. } => ErrorCode::Config,
                O::Unreachable { .. } => ErrorCode::Offline,
                O::Transient { .. } => ErrorCode::Temporary,
                O::Rejected { .. } => ErrorCode::Rejected,
                O::Auth { .. } => ErrorCode::Auth,
                O::NotFound { .. } => ErrorCode::NotOnServer,
                O::Duplicate { .. } => ErrorCode::Duplicate,
                O::UnknownOutcome { .. } => ErrorCode::UnknownOutcome,
                O::ServerFailed { .. } => ErrorCode::ServerFailed,
            },
        }
    }

    /// Whether this error is expected in the field or worth reporting.
    pub fn policy(&self) -> ReportPolicy {
        match self.code() {
            ErrorCode::Damaged | ErrorCode::Storage => ReportPolicy::Report,
            _ => ReportPolicy::Warn,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: std::ffi::c_int) -> Error {
        Error::Database(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            None,
        ))
    }

    #[test]
    fn storage_failures_that_need_different_actions_have_different_codes() {
        let codes = [
            (sqlite(rusqlite::ffi::SQLITE_FULL), ErrorCode::DiskFull),
            (Error::DiskFull, ErrorCode::DiskFull),
            (
                Error::SchemaTooNew {
                    found: 9,
                    supported: 7,
                },
                ErrorCode::SchemaTooNew,
            ),
            (
                Error::DataDir {
                    path: "/nowhere".into(),
                    source: std::io::Error::other("not a directory"),
                },
                ErrorCode::DataDir,
            ),
            (sqlite(rusqlite::ffi::SQLITE_BUSY), ErrorCode::DatabaseBusy),
            (sqlite(rusqlite::ffi::SQLITE_CORRUPT), ErrorCode::Damaged),
            (Error::CorruptData("payload".into()), ErrorCode::Damaged),
            (sqlite(rusqlite::ffi::SQLITE_IOERR), ErrorCode::Storage),
        ];
        for (error, code) in codes {
            assert_eq!(error.code(), code, "{error}");
        }
        assert_eq!(
            Error::DiskFull.policy(),
            ReportPolicy::Warn,
            "expected in the field"
        );
        assert_eq!(
            Error::CorruptData("x".into()).policy(),
            ReportPolicy::Report,
            "worth reporting"
        );
    }
}
