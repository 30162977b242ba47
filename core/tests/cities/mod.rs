//! The cities the city tests use: Springfield (an irregular outline with a lake), Shelbyville
//! beside it, a position maker and a profile error reader.
#![allow(dead_code)] // each test file uses its own part

use chrono::Utc;
use curbside_core::city::CityProfile;
use curbside_core::{Error, Location, LocationSource};
use serde_json::json;

/// Springfield: an irregular outline (about 38.84..38.96 N, 77.12..77.00 W) with a lake (an
/// irregular hole) in it.
pub fn springfield(endpoint: &str) -> serde_json::Value {
    json!({
        "id": "springfield",
        "name": "Springfield",
        "server": { "endpoint": endpoint, "format": "json", "api_key": "sandbox-key",
                    "quirks": { "multivalue": "brackets", "pagination": { "style": "page_size", "first_page": 1 } } },
        "photos": { "max_edge": 1600, "budget_bytes": 500000, "max_photos": 2 },
        "required_contact": ["email"],
        "anonymous_by_default": true,
        "service_area": { "type": "Polygon", "coordinates": [
            [[-77.10, 38.85], [-77.03, 38.84], [-77.00, 38.86], [-77.005, 38.91], [-77.00, 38.95],
             [-77.06, 38.96], [-77.11, 38.93], [-77.12, 38.89], [-77.10, 38.85]],
            [[-77.06, 38.89], [-77.045, 38.885], [-77.035, 38.895], [-77.04, 38.91], [-77.055, 38.915],
             [-77.065, 38.905], [-77.06, 38.89]]
        ]},
        "max_accuracy_m": 50,
        "catalog_max_age_hours": 24
    })
}

/// Shelbyville, just east of Springfield.
pub fn shelbyville(endpoint: &str) -> serde_json::Value {
    json!({
        "id": "shelbyville", "name": "Shelbyville", "server": { "endpoint": endpoint },
        "service_area": { "type": "Feature", "properties": {}, "geometry": { "type": "MultiPolygon", "coordinates": [
            [[[-77.00, 38.85], [-76.90, 38.85], [-76.90, 38.95], [-77.00, 38.95], [-77.00, 38.85]]]
        ]}}
    })
}

pub fn at(latitude: f64, longitude: f64, accuracy_m: Option<f64>) -> Location {
    Location {
        latitude,
        longitude,
        accuracy_m,
        source: LocationSource::Gps,
        captured_at: Utc::now(),
    }
}

pub fn field_error(json: serde_json::Value) -> (String, String) {
    match CityProfile::parse(&json.to_string()) {
        Err(Error::InvalidProfile { field, reason }) => (field, reason),
        other => panic!("expected InvalidProfile, got {other:?}"),
    }
}
