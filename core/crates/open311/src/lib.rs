//! The Open311 GeoReport v2 client: the whole protocol, in JSON and XML, tolerant of what
//! real city servers send, over a transport that is safe by default.

mod answer;
mod client;
mod config;
mod error;
mod model;
pub mod parse;
mod transport;
mod tree;
mod zone;

pub use client::Open311Client;
pub use config::{
    ApiKey, Limits, MediaUpload, MultiValueStyle, Pagination, PositionFilter, Quirks, ServerConfig,
};
pub use error::{Open311Error, ServerMessage, Unusable};
pub use model::*;
pub use zone::ServerZone;

/// A moment in UTC. Crosses the FFI as `java.time.Instant` (Kotlin) and `Date` (Swift).
pub type Timestamp = chrono::DateTime<chrono::Utc>;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

#[cfg(feature = "uniffi")]
uniffi::custom_type!(Timestamp, std::time::SystemTime, { remote });
