//! The vocabulary every Curbside layer shares: ids, locations, drafts, submitted reports and
//! their persisted phases, validation problems, and the one error type (with its `Result`).
//!
//! Plain data and its own rules (normalisation, range checks); no storage, no network.

mod draft;
mod error;
mod field_error;
mod last_error;
mod location;
mod nearby;
pub mod phase;
pub mod report;

pub use curbside_open311::Timestamp;
pub use draft::{
    clean_text, to_millis, Contact, Draft, DraftEdit, DraftFields, DraftId, MAX_ANSWERS,
    MAX_DESCRIPTION_CHARS, MAX_LINE_CHARS, MAX_NAME_CHARS,
};
pub use error::{Error, ErrorCode, ReportPolicy, Result};
pub use field_error::{FieldError, FieldIssue};
pub use last_error::{LastError, LastErrorCode};
pub use location::{Location, LocationSource};
pub use nearby::{Coverage, LearntQuirk, NearbyRequest};

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

#[cfg(feature = "uniffi")]
uniffi::use_remote_type!(curbside_open311::Timestamp);
