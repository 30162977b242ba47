//! A report's last failure as a code with its parameters: apps word it in the user's language
//! (`CurbsideTexts.lastError` in Kotlin, `Texts.lastError` in Swift); the detail is the
//! technical reason in English, for a support screen or a log, never the key or a body.

use serde::{Deserialize, Serialize};

use curbside_open311::Open311Error;

/// What went wrong, one code per cause the user can tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum LastErrorCode {
    /// No connection could be made to the city's server (nothing left the phone).
    Unreachable,
    /// The server said "not now" (busy, rate-limited, a login page in the way).
    Busy,
    /// The report left and no usable answer came back: it is being checked.
    NoAnswer,
    /// The city's server failed (a 5xx).
    ServerFailed,
    /// The city refused the report as it is.
    Refused,
    /// The city said it already has the report.
    Duplicate,
    /// The app's settings for the city do not work (key, jurisdiction, address).
    Settings,
    /// The city's server could not be searched for the report.
    Unsearchable,
    /// The city's id could not be read from its queue token.
    TokenUnreadable,
    /// The city's status of the report could not be refreshed.
    StatusRefresh,
    /// Anything else (and reasons stored by an older version, kept as their detail).
    Other,
}

/// A report's last failure: the code, the HTTP status where one came, and the technical
/// detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LastError {
    /// What went wrong.
    pub code: LastErrorCode,
    /// The HTTP status, where the server answered with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The technical reason, in English (for support; not for the user).
    pub detail: String,
}

impl LastError {
    /// A failure of `code` with its detail.
    pub fn new(code: LastErrorCode, detail: impl Into<String>) -> Self {
        LastError {
            code,
            status: None,
            detail: detail.into(),
        }
    }

    /// As stored in the database (JSON).
    pub fn to_column(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// From the database: JSON, or a plain sentence an older version stored (`other`).
    pub fn from_column(text: String) -> Self {
        serde_json::from_str(&text).unwrap_or(LastError::new(LastErrorCode::Other, text))
    }
}

impl From<&Open311Error> for LastError {
    /// The one classification of a failed exchange with the city's server.
    fn from(error: &Open311Error) -> Self {
        let (code, status) = match error {
            Open311Error::Config { .. } => (LastErrorCode::Settings, None),
            Open311Error::Unreachable { .. } => (LastErrorCode::Unreachable, None),
            Open311Error::Transient { .. } => (LastErrorCode::Busy, None),
            Open311Error::Rejected { status, .. } => (LastErrorCode::Refused, Some(*status)),
            Open311Error::Auth { status, .. } => (LastErrorCode::Settings, Some(*status)),
            Open311Error::NotFound { .. } => (LastErrorCode::Refused, Some(404)),
            Open311Error::Duplicate { .. } => (LastErrorCode::Duplicate, None),
            Open311Error::UnknownOutcome { .. } => (LastErrorCode::NoAnswer, None),
            Open311Error::ServerFailed { status, .. } => {
                (LastErrorCode::ServerFailed, Some(*status))
            }
        };
        LastError {
            code,
            status,
            detail: error.to_string(),
        }
    }
}

impl std::fmt::Display for LastError {
    /// The detail, for logs and the CLI.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_as_json_and_old_sentences_read_as_other() {
        let error = LastError::from(&Open311Error::ServerFailed {
            status: 502,
            messages: vec![],
        });
        assert_eq!(error.code, LastErrorCode::ServerFailed);
        assert_eq!(error.status, Some(502));
        assert_eq!(LastError::from_column(error.to_column()), error);
        let old = LastError::from_column("cannot reach the server: reset".into());
        assert_eq!(old.code, LastErrorCode::Other);
        assert_eq!(old.detail, "cannot reach the server: reset");
    }
}
