//! Report drafts: what a citizen is filling in before they submit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Error, Location, Result};
use curbside_open311::AttributeAnswer;

/// Longest description accepted, in characters (Open311 servers commonly cap at 4,000).
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Longest address line.
pub const MAX_LINE_CHARS: usize = 500;
/// Longest name, e-mail address or phone number.
pub const MAX_NAME_CHARS: usize = 200;
/// Most answers to a service's questions.
pub const MAX_ANSWERS: usize = 200;

/// A draft's id: a UUID chosen on the device, stable for the draft's whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DraftId(Uuid);

impl DraftId {
    /// A new, time-ordered id.
    pub fn new() -> Self {
        DraftId(Uuid::now_v7())
    }

    /// Parses an id given by an app or user; a malformed one is [`Error::InvalidInput`].
    pub fn parse(text: &str) -> Result<Self> {
        Uuid::parse_str(text.trim())
            .map(DraftId)
            .map_err(|_| Error::invalid("id", "is not a draft id (expected a UUID)"))
    }
}

impl Default for DraftId {
    /// A new id, as [`DraftId::new`].
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "uniffi")]
uniffi::custom_type!(DraftId, String, {
    lower: |id| id.to_string(),
    try_lift: |text| Ok(DraftId::parse(&text)?),
});

impl std::fmt::Display for DraftId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The parts of a draft the user edits. Any of them may still be missing while drafting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DraftFields {
    /// The city's `service_code` for the kind of problem, once chosen.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub service_code: Option<String>,
    /// Where the problem is, once known.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub location: Option<Location>,
    /// What the citizen wrote.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub description: String,
    /// An address, when there is no position (or to help the crew find it).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub address_string: Option<String>,
    /// Answers to the service definition's questions.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub attributes: Vec<AttributeAnswer>,
    /// Who to contact; empty (anonymous) unless the user chose to share.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub contact: Contact,
    /// The photos to send: each the path of a file the photo pipeline made (compressed,
    /// stripped of metadata) in the app's photo directory. Read-only for apps: photos are
    /// added and removed only through the pipeline's calls.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub photos: Vec<String>,
    /// The city profile the report is for, once chosen.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub profile_id: Option<String>,
    /// The service definition the form is filled against (kept from `service_form`).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub definition: Option<curbside_open311::ServiceDefinition>,
    /// The user confirmed a position that looks wrong (such as 0, 0).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub location_confirmed: bool,
}

/// One change to a draft's fields: apps save each field as the user edits it, so no edit
/// can undo another (photos change only through the photo pipeline).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DraftEdit {
    /// The city the report is for (a loaded profile's id), or none.
    City {
        /// The profile's id.
        profile_id: Option<String>,
    },
    /// The kind of problem (a service code of the city's catalog), or none.
    Service {
        /// The service code.
        service_code: Option<String>,
    },
    /// Where the problem is, or unknown.
    Location {
        /// The position.
        location: Option<Location>,
    },
    /// The user confirms a position that looks wrong (such as 0, 0).
    ConfirmLocation {
        /// True to confirm.
        confirmed: bool,
    },
    /// What the citizen wrote.
    Description {
        /// The text.
        text: String,
    },
    /// An address line.
    Address {
        /// The address.
        address: Option<String>,
    },
    /// The answers to the service's questions (all of them).
    Answers {
        /// The answers.
        answers: Vec<AttributeAnswer>,
    },
    /// Who to contact (empty for anonymous).
    Contact {
        /// The details the user chose to share.
        contact: Contact,
    },
}

impl DraftFields {
    /// Applies one edit. A new service drops the definition the form was filled against.
    pub fn apply(&mut self, edit: DraftEdit) {
        match edit {
            DraftEdit::City { profile_id } => self.profile_id = profile_id,
            DraftEdit::Service { service_code } => {
                if service_code != self.service_code {
                    self.definition = None;
                }
                self.service_code = service_code;
            }
            DraftEdit::Location { location } => self.location = location,
            DraftEdit::ConfirmLocation { confirmed } => self.location_confirmed = confirmed,
            DraftEdit::Description { text } => self.description = text,
            DraftEdit::Address { address } => self.address_string = address,
            DraftEdit::Answers { answers } => self.attributes = answers,
            DraftEdit::Contact { contact } => self.contact = contact,
        }
    }
}

/// The reporter's contact details, each shared only if the user chose to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Contact {
    /// First name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub first_name: Option<String>,
    /// Last name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub last_name: Option<String>,
    /// E-mail address.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub email: Option<String>,
    /// Phone number.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub phone: Option<String>,
}

impl DraftFields {
    /// Checks what can be checked without the city's service definition, and returns the
    /// fields as they will be stored: service code trimmed, times at millisecond precision.
    pub fn normalized(mut self) -> Result<Self> {
        if let Some(code) = &mut self.service_code {
            *code = code.trim().to_string();
            if code.is_empty() {
                return Err(Error::invalid(
                    "service_code",
                    "must not be blank (leave it unset instead)",
                ));
            }
        }
        if let Some(location) = &mut self.location {
            location.validate()?;
            location.captured_at = to_millis(location.captured_at);
        }
        self.description = clean_text(&self.description);
        if self.description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(Error::invalid(
                "description",
                format!("is longer than {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        // Every other text a server will get has a limit too.
        let short = |field: &'static str, value: &Option<String>, limit: usize| match value {
            Some(v) if v.chars().count() > limit => Err(Error::invalid(
                field,
                format!("is longer than {limit} characters"),
            )),
            _ => Ok(()),
        };
        short("address_string", &self.address_string, MAX_LINE_CHARS)?;
        short(
            "contact.first_name",
            &self.contact.first_name,
            MAX_NAME_CHARS,
        )?;
        short("contact.last_name", &self.contact.last_name, MAX_NAME_CHARS)?;
        short("contact.email", &self.contact.email, MAX_NAME_CHARS)?;
        short("contact.phone", &self.contact.phone, MAX_NAME_CHARS)?;
        let too_long = self
            .attributes
            .iter()
            .flat_map(|a| &a.values)
            .any(|v| v.chars().count() > MAX_DESCRIPTION_CHARS);
        if too_long || self.attributes.len() > MAX_ANSWERS {
            return Err(Error::invalid(
                "attributes",
                format!("at most {MAX_ANSWERS} answers of at most {MAX_DESCRIPTION_CHARS} characters each"),
            ));
        }
        Ok(self)
    }
}

/// Text as it is stored and sent: Unicode NFC, control characters removed (line breaks and
/// tabs kept), surrounding whitespace trimmed.
pub fn clean_text(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfc()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect::<String>()
        .trim()
        .to_string()
}

/// `time` cut to the millisecond precision that storage keeps, so what an app gets back from
/// a save equals what it reads later.
pub fn to_millis(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(time.timestamp_millis()).unwrap_or(time)
}

/// A saved draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Draft {
    /// Stable id.
    pub id: DraftId,
    /// What the user entered.
    #[serde(flatten)]
    pub fields: DraftFields,
    /// When the draft was first saved.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Draft {
    /// A draft saved now with `fields`.
    pub fn new(id: DraftId, fields: DraftFields, now: DateTime<Utc>) -> Self {
        Draft {
            id,
            fields,
            created_at: to_millis(now),
            updated_at: to_millis(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = DraftId::new();
        assert_eq!(DraftId::parse(&id.to_string()).unwrap(), id);
        assert!(matches!(
            DraftId::parse("not-an-id"),
            Err(Error::InvalidInput { field: "id", .. })
        ));
    }

    #[test]
    fn blank_service_code_and_long_description_are_refused() {
        let blank = DraftFields {
            service_code: Some("  ".into()),
            ..Default::default()
        };
        assert!(matches!(
            blank.normalized(),
            Err(Error::InvalidInput {
                field: "service_code",
                ..
            })
        ));
        let long = DraftFields {
            description: "é".repeat(MAX_DESCRIPTION_CHARS + 1),
            ..Default::default()
        };
        assert!(matches!(
            long.normalized(),
            Err(Error::InvalidInput {
                field: "description",
                ..
            })
        ));
        let at_limit = DraftFields {
            description: "é".repeat(MAX_DESCRIPTION_CHARS),
            ..Default::default()
        };
        at_limit.normalized().unwrap();
        let address = DraftFields {
            address_string: Some("1 Main St ".repeat(1000)),
            ..Default::default()
        };
        assert!(matches!(
            address.normalized(),
            Err(Error::InvalidInput {
                field: "address_string",
                ..
            })
        ));
        let email = DraftFields {
            contact: Contact {
                email: Some(format!("{}@example.org", "a".repeat(300))),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(matches!(
            email.normalized(),
            Err(Error::InvalidInput {
                field: "contact.email",
                ..
            })
        ));
    }
}
