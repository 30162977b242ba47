//! City profiles, the offline catalog, validation and nearby requests, for Kotlin and Swift.

use std::time::SystemTime;

use curbside_core::city as core;

use crate::{Draft, PhotoProfile, Service, ServiceDefinition, ServiceRequest};

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

/// One thing to fix before submitting, for the field it concerns (`location`,
/// `attributes.DEPTH`, `contact.email`, ...).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FieldError {
    /// The field.
    pub field: String,
    /// What to change, in words for the user.
    pub message: String,
}

/// A request near a place.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NearbyRequest {
    /// The request as the city reports it.
    pub request: ServiceRequest,
    /// Distance from the place, in metres.
    pub distance_m: f64,
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
            photos: PhotoProfile {
                max_edge: p.photos.max_edge,
                quality: p.photos.quality,
                budget_bytes: p.photos.budget_bytes as u64,
                quality_floor: p.photos.quality_floor,
                max_photos: p.photos.max_photos as u32,
            },
        }
    }
}

impl From<core::FieldError> for FieldError {
    fn from(e: core::FieldError) -> Self {
        Self {
            field: e.field,
            message: e.message,
        }
    }
}

impl From<core::Cached<Vec<core::NearbyRequest>>> for NearbyRequests {
    fn from(c: core::Cached<Vec<core::NearbyRequest>>) -> Self {
        Self {
            requests: c
                .value
                .into_iter()
                .map(|n| NearbyRequest {
                    request: n.request.into(),
                    distance_m: n.distance_m,
                })
                .collect(),
            stale: c.stale,
        }
    }
}
