//! A problem with one field of a draft, found before it is submitted.

use serde::{Deserialize, Serialize};

/// One problem, for the field it concerns: `service_code`, `location`, `location.accuracy_m`,
/// `description`, `contact.email`, `attributes.DEPTH`, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FieldError {
    /// The field.
    pub field: String,
    /// What to change, in words for the user.
    pub message: String,
}
