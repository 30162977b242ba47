//! Checking a draft before it is submitted, offline, against its city's profile and the
//! service definition it was filled against: field-level errors an app shows beside each field.

use chrono::DateTime;

use curbside_open311::{Datatype, ServiceDefinition};
use curbside_store::drafts;
use curbside_types::{DraftFields, DraftId, Error, FieldError, FieldIssue, LocationSource, Result};

use crate::{Cities, CityProfile, ContactField};

impl Cities {
    /// Everything that must change before the draft can be submitted (empty when ready).
    pub fn validate_draft(&self, draft_id: &DraftId) -> Result<Vec<FieldError>> {
        let draft = self
            .store
            .read(|conn| drafts::get(conn, draft_id))?
            .ok_or(Error::DraftNotFound)?;
        let profiles = self.profiles()?;
        let profile = draft
            .fields
            .profile_id
            .as_ref()
            .and_then(|id| profiles.iter().find(|p| &p.id == id));
        Ok(validate(&draft.fields, profile, &profiles))
    }
}

/// Checks `fields` against `profile` (if any) and the draft's own definition (if any).
pub fn validate(
    fields: &DraftFields,
    profile: Option<&CityProfile>,
    all: &[CityProfile],
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut error = |field: &str, issue: FieldIssue| {
        errors.push(FieldError {
            field: field.into(),
            issue,
        })
    };
    if fields.service_code.is_none() {
        error("service_code", FieldIssue::ChooseService);
    }
    match &fields.location {
        None if fields
            .address_string
            .as_deref()
            .is_none_or(|a| a.trim().is_empty()) =>
        {
            error("location", FieldIssue::PlaceOrAddress)
        }
        None => {}
        Some(location) => {
            // By distance, not by bit pattern: 4e-320 or 1e-7 is the same missing fix. Null
            // Island is about 11 m across at this threshold (1e-4 degrees).
            let null_island = location.latitude.abs() < 1e-4 && location.longitude.abs() < 1e-4;
            if null_island && !fields.location_confirmed {
                error("location", FieldIssue::NullIsland);
            }
            let measured = matches!(
                location.source,
                LocationSource::Gps | LocationSource::Network
            );
            if let (Some(limit), Some(accuracy), true) = (
                profile.and_then(|p| p.max_accuracy_m),
                location.accuracy_m,
                measured,
            ) {
                if accuracy > limit {
                    error(
                        "location.accuracy_m",
                        FieldIssue::NotPreciseEnough {
                            accuracy_m: accuracy,
                            limit_m: limit,
                        },
                    );
                }
            }
            if let Some(p) = profile {
                if let Ok(Some(area)) = p.area() {
                    if !area.contains(location.latitude, location.longitude) {
                        let elsewhere = all.iter().find(|o| {
                            o.id != p.id
                                && o.area().ok().flatten().is_some_and(|a| {
                                    a.contains(location.latitude, location.longitude)
                                })
                        });
                        error(
                            "location",
                            FieldIssue::OutsideServiceArea {
                                city: p.name.clone(),
                                other_city: elsewhere.map(|o| o.name.clone()),
                                other_profile_id: elsewhere.map(|o| o.id.clone()),
                            },
                        );
                    }
                }
            }
        }
    }
    if let Some(p) = profile {
        let contact = &fields.contact;
        for required in &p.required_contact {
            let (field, value) = match required {
                ContactField::FirstName => ("contact.first_name", &contact.first_name),
                ContactField::LastName => ("contact.last_name", &contact.last_name),
                ContactField::Email => ("contact.email", &contact.email),
                ContactField::Phone => ("contact.phone", &contact.phone),
            };
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                error(
                    field,
                    FieldIssue::ContactRequired {
                        city: p.name.clone(),
                    },
                );
            }
        }
    }
    if let Some(email) = fields.contact.email.as_deref().filter(|e| !e.is_empty()) {
        let plausible = email.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !email.contains(char::is_whitespace)
        });
        if !plausible {
            error("contact.email", FieldIssue::NotAnEmail);
        }
    }
    if let Some(phone) = fields.contact.phone.as_deref().filter(|p| !p.is_empty()) {
        if phone.chars().filter(char::is_ascii_digit).count() < 5
            || phone
                .chars()
                .any(|c| !(c.is_ascii_digit() || " +-().".contains(c)))
        {
            error("contact.phone", FieldIssue::NotAPhone);
        }
    }
    if let Some(definition) = &fields.definition {
        check_answers(fields, definition, profile, &mut error);
    }
    errors
}

fn check_answers(
    fields: &DraftFields,
    definition: &ServiceDefinition,
    profile: Option<&CityProfile>,
    error: &mut impl FnMut(&str, FieldIssue),
) {
    let reference = profile.and_then(|p| p.server.quirks.client_reference_attribute.as_deref());
    for answer in &fields.attributes {
        if !definition
            .attributes
            .iter()
            .any(|a| a.code == answer.code && a.variable)
            && Some(answer.code.as_str()) != reference
        {
            error(
                &format!("attributes.{}", answer.code),
                FieldIssue::NotAQuestion,
            );
        }
    }
    for attribute in definition.attributes.iter().filter(|a| a.variable) {
        let field = format!("attributes.{}", attribute.code);
        let values: Vec<&str> = fields
            .attributes
            .iter()
            .filter(|a| a.code == attribute.code)
            .flat_map(|a| a.values.iter().map(|v| v.trim()))
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            if attribute.required {
                error(
                    &field,
                    FieldIssue::AnswerRequired {
                        question: attribute.description.clone(),
                    },
                );
            }
            continue;
        }
        let is_key = |v: &&str| attribute.values.iter().any(|k| k.key == *v);
        let problem = match attribute.datatype {
            Datatype::SingleValueList if values.len() != 1 => Some(FieldIssue::ChooseOne),
            Datatype::SingleValueList | Datatype::MultiValueList if !values.iter().all(is_key) => {
                Some(FieldIssue::ChooseFromList)
            }
            Datatype::Number
                if values.len() != 1
                    || values[0].parse::<f64>().map_or(true, |n| !n.is_finite()) =>
            {
                Some(FieldIssue::EnterNumber)
            }
            Datatype::Datetime
                if values.len() != 1 || DateTime::parse_from_rfc3339(values[0]).is_err() =>
            {
                Some(FieldIssue::EnterDateTime)
            }
            Datatype::String if values.len() != 1 || values[0].contains('\n') => {
                Some(FieldIssue::EnterOneLine)
            }
            Datatype::Text if values.len() != 1 => Some(FieldIssue::EnterOneAnswer),
            _ => None,
        };
        if let Some(issue) = problem {
            error(&field, issue);
        }
    }
}
