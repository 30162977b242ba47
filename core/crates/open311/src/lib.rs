//! The Open311 GeoReport v2 client: the whole protocol, in JSON and XML, tolerant of what
//! real city servers send, over a transport that is safe by default.

mod client;
mod config;
mod error;
mod model;
pub mod parse;
mod transport;
mod tree;

pub use client::Open311Client;
pub use config::{ApiKey, Limits, MediaUpload, MultiValueStyle, Pagination, Quirks, ServerConfig};
pub use error::{Open311Error, ServerMessage};
pub use model::*;
