//! Views of the city layer for Kotlin and Swift: a profile as an app may show it (never its
//! server's key), and the core's generic `Cached<T>` as one record per use.

use std::time::SystemTime;

use curbside_core::city as core;
use curbside_open311::{Service, ServiceDefinition};
use curbside_photo::PhotoProfile;
use curbside_types::{Draft, NearbyRequest};

/// A loaded city profile, as an app shows and uses it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CityProfile {
    /// Stable id; reports are submitted to it.
    pub id: String,
    /// The city's name.
    pub name: String,
    /// Contact fields the city requires: `first_name`, `last_name`, `email`, `phone`.
    pub required_contact: Vec<String>,
    /// Reports are anonymous unless the user opts in.
    pub anonymous_by_default: bool,
    /// The least precise GPS or network fix accepted, in metres.
    pub max_accuracy_m: Option<f64>,
    /// True when the profile has a service area to check positions against.
    pub has_service_area: bool,
    /// The city's photo limits.
    pub photos: PhotoProfile,
}

/// The service list, from the server or (stale) from the cache.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CachedServices {
    /// The services.
    pub services: Vec<Service>,
    /// When they were fetched.
    pub fetched_at: SystemTime,
    /// True when the server could not be reached (or the cache is old): say it may be out of date.
    pub stale: bool,
}

/// A service definition, from the server or (stale) from the cache.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CachedDefinition {
    /// The definition.
    pub definition: ServiceDefinition,
    /// When it was fetched.
    pub fetched_at: SystemTime,
    /// True when served from an old or offline cache.
    pub stale: bool,
}

/// A draft set up for a service, with the questions to show.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ServiceForm {
    /// The draft, now for this city and service.
    pub draft: Draft,
    /// The questions, in display order.
    pub definition: ServiceDefinition,
}

/// Requests near a place, nearest first.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NearbyRequests {
    /// The requests.
    pub requests: Vec<NearbyRequest>,
    /// True when the server could not be reached and the cache answered.
    pub stale: bool,
}

impl From<core::CityProfile> for CityProfile {
    fn from(p: core::CityProfile) -> Self {
        Self {
            has_service_area: p.service_area.is_some(),
            required_contact: p
                .required_contact
                .iter()
                .map(|c| {
                    serde_json::to_value(c)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                })
                .collect(),
            id: p.id,
            name: p.name,
            anonymous_by_default: p.anonymous_by_default,
            max_accuracy_m: p.max_accuracy_m,
            photos: p.photos,
        }
    }
}

impl From<core::Cached<Vec<core::NearbyRequest>>> for NearbyRequests {
    fn from(c: core::Cached<Vec<core::NearbyRequest>>) -> Self {
        Self {
            requests: c.value,
            stale: c.stale,
        }
    }
}
