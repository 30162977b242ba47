//! What can go wrong talking to an Open311 server, grouped by what the outbox does next.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One message from a server's error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ServerMessage {
    /// The server's own code (not necessarily an HTTP status).
    pub code: Option<String>,
    /// The form field it concerns, when the server says.
    pub field: Option<String>,
    /// The message, as the server wrote it (secrets removed).
    pub description: String,
}

/// What came back to a POST instead of a usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// Nothing whole: a timeout, a reset, a stalled upload. The POST may still arrive.
    CutOff,
    /// A whole answer that is not Open311 (a Wi-Fi login page, a proxy's page, a redirect):
    /// the network's words, not the city's. Nothing of this POST arrives after it.
    Page,
    /// An Open311 document that lists no request (`[]`, `[{}]`): the city's server answered,
    /// without an id. Nothing of this POST arrives after it.
    Document,
}

/// A failed exchange with an Open311 server.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Open311Error {
    /// The server configuration cannot work (bad URL, plain http to a remote host).
    #[error("server configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// No connection could be made: no route, a DNS failure, refused, a connect or TLS
    /// handshake timeout. Nothing reached the server; the network may be absent.
    #[error("cannot reach the server: {reason}")]
    Unreachable {
        /// What happened.
        reason: String,
    },
    /// Try again later: a server's "not now" (429, 408, a GET's 5xx) or an answer to a GET
    /// that is not the protocol (such as a Wi-Fi login page).
    #[error("temporary failure: {reason}")]
    Transient {
        /// What happened.
        reason: String,
        /// How long the server asked us to wait (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// The server refused the request as it is (400): the user must change something.
    #[error("rejected by the server (HTTP {status}): {}", summary(messages))]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The server's messages, per field where it gives them.
        messages: Vec<ServerMessage>,
    },
    /// The api_key is missing, wrong or revoked (401/403): check the app's settings.
    #[error("not authorised (HTTP {status}): {}", summary(messages))]
    Auth {
        /// The HTTP status.
        status: u16,
        /// The server's messages.
        messages: Vec<ServerMessage>,
    },
    /// The service, request, token or jurisdiction does not exist (404).
    #[error("not found: {}", summary(messages))]
    NotFound {
        /// The server's messages.
        messages: Vec<ServerMessage>,
    },
    /// The server says this request duplicates one it already has: it may have been received.
    #[error("the server reports a duplicate: {}", summary(messages))]
    Duplicate {
        /// The server's messages.
        messages: Vec<ServerMessage>,
    },
    /// The request was sent and no usable answer came: the server may or may not have acted
    /// on it. Never repeat a POST blindly after this; reconcile first.
    #[error("outcome unknown: {reason}")]
    UnknownOutcome {
        /// What happened.
        reason: String,
        /// What came back instead of a usable answer.
        answer: Unusable,
    },
    /// A POST was answered with a server error (5xx, gateways included): the backend may have
    /// stored it before failing, so this is an unknown outcome too, but the server did answer,
    /// and its words are kept.
    #[error("the server failed (HTTP {status}): {}", summary(messages))]
    ServerFailed {
        /// The HTTP status.
        status: u16,
        /// The server's messages (an HTML page reduced to its title and heading).
        messages: Vec<ServerMessage>,
    },
}

impl Open311Error {
    /// True when the same request may simply be tried again later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Open311Error::Transient { .. } | Open311Error::Unreachable { .. }
        )
    }

    /// True when a POST may have been stored although no usable answer came: reconcile
    /// before posting again.
    pub fn is_unknown_outcome(&self) -> bool {
        matches!(
            self,
            Open311Error::UnknownOutcome { .. } | Open311Error::ServerFailed { .. }
        )
    }

    /// The server's messages, for the variants that carry them.
    pub fn messages(&self) -> &[ServerMessage] {
        match self {
            Open311Error::Rejected { messages, .. }
            | Open311Error::Auth { messages, .. }
            | Open311Error::NotFound { messages }
            | Open311Error::Duplicate { messages }
            | Open311Error::ServerFailed { messages, .. } => messages,
            _ => &[],
        }
    }
}

fn summary(messages: &[ServerMessage]) -> String {
    if messages.is_empty() {
        return "no message".into();
    }
    messages
        .iter()
        .map(|m| match &m.field {
            Some(field) => format!("{field}: {}", m.description),
            None => m.description.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}
