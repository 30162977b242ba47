//! The vocabulary every Curbside layer shares: ids, locations, drafts, submitted reports and
//! their persisted phases, validation problems, and the one error type (with its `Result`).
//!
//! Plain data and its own rules (normalisation, range checks); no storage, no network.

mod draft;
mod error;
mod field_error;
mod location;
pub mod phase;
pub mod report;

pub use draft::{
    clean_text, to_millis, Contact, Draft, DraftFields, DraftId, MAX_ANSWERS,
    MAX_DESCRIPTION_CHARS, MAX_LINE_CHARS, MAX_NAME_CHARS,
};
pub use error::{Error, Result};
pub use field_error::FieldError;
pub use location::{Location, LocationSource};
