//! A problem with one field of a draft, found before it is submitted: a code with arguments,
//! which apps word in the user's language.

use serde::{Deserialize, Serialize};

/// One problem, for the field it concerns: `service_code`, `location`, `location.accuracy_m`,
/// `description`, `contact.email`, `attributes.DEPTH`, ...
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FieldError {
    /// The field.
    pub field: String,
    /// What to change.
    pub issue: FieldIssue,
}

/// What is wrong with a field, as a code with arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum FieldIssue {
    /// No service chosen yet.
    ChooseService,
    /// Neither a position nor an address.
    PlaceOrAddress,
    /// The position is 0, 0 (usually a missing fix): place the pin, or confirm it.
    NullIsland,
    /// The fix is less precise than the city accepts.
    NotPreciseEnough {
        /// The fix's accuracy, in metres.
        accuracy_m: f64,
        /// What the city accepts, in metres.
        limit_m: f64,
    },
    /// The place is outside the city's service area (and, when known, inside another's).
    OutsideServiceArea {
        /// The city's name.
        city: String,
        /// The name of the city whose area has it, if a loaded profile's does.
        other_city: Option<String>,
        /// That city's profile id.
        other_profile_id: Option<String>,
    },
    /// The city requires this contact detail.
    ContactRequired {
        /// The city's name.
        city: String,
    },
    /// Not an e-mail address.
    NotAnEmail,
    /// Not a phone number.
    NotAPhone,
    /// An answer to a question this service does not ask.
    NotAQuestion,
    /// A required question has no answer.
    AnswerRequired {
        /// The question, in the city's words.
        question: String,
    },
    /// Exactly one answer is needed.
    ChooseOne,
    /// Answers must come from the listed ones.
    ChooseFromList,
    /// A number is needed.
    EnterNumber,
    /// A date and time is needed.
    EnterDateTime,
    /// One line of text is needed.
    EnterOneLine,
    /// One answer is needed.
    EnterOneAnswer,
}
