//! What the benchmarks share: a report draft like a citizen's.
#![allow(dead_code)] // each benchmark uses its own part

use chrono::Utc;
use curbside_core::open311::{AttributeAnswer, ServiceDefinition};
use curbside_core::{DraftFields, Location, LocationSource};

/// A service definition shaped like a real city's pothole form (GeoReport v2 JSON): three
/// questions, one a list of values. Drafts keep it, so every row carries one.
pub fn definition() -> ServiceDefinition {
    let json = serde_json::json!({
        "service_code": "pothole",
        "attributes": [
            {"variable": true, "code": "WHERE", "datatype": "singlevaluelist", "required": true,
             "datatype_description": "Where on the street is it?", "order": 1,
             "description": "Where is the pothole?",
             "values": [{"key": "road", "name": "In the road"}, {"key": "bike", "name": "In the bike lane"},
                        {"key": "sidewalk", "name": "On the sidewalk"}, {"key": "crossing", "name": "In a crossing"}]},
            {"variable": true, "code": "DEPTH", "datatype": "number", "required": false,
             "datatype_description": "Depth in centimetres", "order": 2,
             "description": "About how deep is it?"},
            {"variable": false, "code": "NOTICE", "datatype": "text", "required": false,
             "datatype_description": null, "order": 3,
             "description": "Potholes are usually filled within five working days. Call 311 for a hazard that cannot wait."}
        ]
    });
    curbside_core::open311::parse::definition(&json, "pothole").expect("a valid definition")
}

/// The `i`-th benchmark pothole: a position, a description, two answers and the service
/// definition they answer.
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
        definition: Some(definition()),
        ..Default::default()
    }
}
