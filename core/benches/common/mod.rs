//! What the benchmarks share: a report draft like a citizen's.
#![allow(dead_code)] // each benchmark uses its own part

use chrono::Utc;
use curbside_core::open311::AttributeAnswer;
use curbside_core::{DraftFields, Location, LocationSource};

/// The `i`-th benchmark pothole: a position, a description and two answers.
pub fn draft(i: usize) -> DraftFields {
    DraftFields {
        service_code: Some("pothole".into()),
        location: Some(Location {
            latitude: 38.9 + i as f64 * 1e-5,
            longitude: -77.0,
            accuracy_m: Some(5.0),
            source: LocationSource::Gps,
            captured_at: Utc::now(),
        }),
        description: format!(
            "Benchmark pothole number {i}, deep and wide, in the northbound bike lane"
        ),
        attributes: vec![
            AttributeAnswer {
                code: "WHERE".into(),
                values: vec!["bike".into()],
                multiple: false,
            },
            AttributeAnswer {
                code: "DEPTH".into(),
                values: vec!["9".into()],
                multiple: false,
            },
        ],
        ..Default::default()
    }
}
