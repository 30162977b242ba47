//! One fixture per quirk of real servers (core/tests/fixtures/open311/, written for this
//! project), read through the same parser the client uses.

use chrono::{FixedOffset, TimeZone, Utc};
use curbside_core::open311::parse::{self, document};
use curbside_core::open311::{Datatype, ServiceType, Submission};
use serde_json::Value;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/open311/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn doc(name: &str) -> Value {
    document(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).unwrap()
}

fn requests(name: &str) -> Vec<curbside_core::open311::ServiceRequest> {
    parse::requests(&doc(name), utc()).unwrap().0
}

#[test]
fn ids_and_codes_sent_as_numbers_are_strings() {
    let r = &requests("ids-as-numbers.json")[0];
    assert_eq!(
        r.id.as_deref(),
        Some("0"),
        "id 0 is a real id (Open311::Endpoint)"
    );
    assert_eq!(r.service_code.as_deref(), Some("12"));
    assert_eq!(r.address_id.as_deref(), Some("545483"));
    assert_eq!(r.zipcode.as_deref(), Some("94122"));
}

#[test]
fn string_booleans_and_comma_keywords() {
    let s = parse::services(&doc("string-booleans-and-coordinates.json")).unwrap();
    assert!(s[0].metadata);
    assert_eq!(s[0].keywords, ["road", "street", "hole"]);
    assert_eq!(s[0].group.as_deref(), Some("Streets"));
    assert!(!s[1].metadata);
    assert_eq!(s[1].kind, ServiceType::Batch);
}

#[test]
fn string_coordinates_are_numbers_and_null_island_is_no_position() {
    let r = requests("string-coordinates.json");
    assert_eq!((r[0].lat, r[0].long), (Some(41.30712), Some(-72.92495)));
    assert_eq!((r[1].lat, r[1].long), (None, None));
}

#[test]
fn every_envelope() {
    let ids = |name: &str| {
        requests(name)
            .into_iter()
            .map(|r| r.id.unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids("requests-with-meta-envelope.json"),
        ["47-2026", "48-2026"]
    );
    assert_eq!(ids("service-requests-envelope.json"), ["A1"]);
    assert_eq!(ids("single-request-object.json"), ["e0d7nidg"]);
    assert_eq!(ids("requests-root.xml"), ["e0d7nidg"]);
    assert_eq!(ids("service-request-elements.xml"), ["638344", "638345"]);
    assert_eq!(
        requests("service-requests-envelope.json")[0]
            .status
            .as_deref(),
        Some("open")
    );
    let s = parse::services(&doc("services-is-array.xml")).unwrap();
    assert_eq!((s[0].code.as_str(), s[0].name.as_str()), ("015", "Müll"));
}

#[test]
fn definitions_with_and_without_wrapper_in_display_order() {
    let d = parse::definition(&doc("definition-without-attributes-wrapper.xml"), "tree").unwrap();
    assert_eq!(
        d.attributes
            .iter()
            .map(|a| a.code.as_str())
            .collect::<Vec<_>>(),
        ["NOTE", "SIZE"]
    );
    assert_eq!(d.attributes[1].values[1].name, "Large");

    let d = parse::definition(&doc("definition-all-datatypes.json"), "pothole").unwrap();
    let shape: Vec<_> = d
        .attributes
        .iter()
        .map(|a| (a.code.as_str(), a.datatype, a.required, a.variable))
        .collect();
    assert_eq!(
        shape,
        [
            ("INFO", Datatype::Text, false, false),
            ("WHERE", Datatype::SingleValueList, true, true),
            ("DEPTH", Datatype::Number, true, true),
            ("SEEN", Datatype::Datetime, false, true),
            ("LANE", Datatype::String, false, true),
            ("HAZARDS", Datatype::MultiValueList, false, true),
            ("NOTES", Datatype::Text, false, true),
        ]
    );
    assert_eq!(
        d.attributes[1].values[0].key, "1",
        "numeric keys are strings"
    );
    assert_eq!(
        d.attributes[2].datatype_description.as_deref(),
        Some("centimetres")
    );
}

#[test]
fn dates_with_and_without_zone_or_fractions() {
    let r = parse::requests(
        &doc("dates-of-every-shape.json"),
        FixedOffset::west_opt(5 * 3600).unwrap(),
    )
    .unwrap()
    .0;
    let at = |i: usize| r[i].requested_at;
    assert_eq!(
        at(0).unwrap().timestamp_micros(),
        Utc.with_ymd_and_hms(2026, 11, 27, 8, 11, 6)
            .unwrap()
            .timestamp_micros()
            + 439_548
    );
    assert_eq!(
        at(1),
        Some(Utc.with_ymd_and_hms(2017, 2, 21, 22, 18, 27).unwrap())
    );
    assert_eq!(
        at(2),
        Some(Utc.with_ymd_and_hms(2014, 7, 12, 15, 58, 43).unwrap()),
        "no zone: the server's zone"
    );
    assert_eq!(
        at(3),
        Some(Utc.with_ymd_and_hms(2014, 7, 12, 8, 58, 43).unwrap())
    );
    assert_eq!(at(4), None, "an unreadable date is absent, not fatal");
}

#[test]
fn list_entries_without_id_or_token_are_dropped() {
    let r = requests("list-with-requests-lacking-ids.json");
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].token.as_deref(), Some("tok-1"));
}

#[test]
fn media_urls_notes_and_agency_objects() {
    let r = &requests("media-url-objects-and-notes.json")[0];
    assert_eq!(r.media_urls, ["https://h.example/m1.jpg"]);
    assert_eq!(r.agency_responsible.as_deref(), Some("Highways, Parks"));
    assert_eq!(r.notes.len(), 2);
    assert_eq!(r.notes[1].kind.as_deref(), Some("closed"));
    assert_eq!(r.notes[1].description.as_deref(), Some("Patched"));
    let helsinki = &requests("single-request-object.json")[0];
    assert_eq!(
        helsinki.media_urls,
        [
            "https://h.example/media/1.jpg",
            "https://h.example/media/2.jpg"
        ]
    );
}

#[test]
fn post_answers() {
    assert_eq!(
        parse::submission(&doc("post-201-whole-request.json")).unwrap(),
        Submission::Created {
            id: "hel-1".into(),
            service_notice: Some("Thank you".into())
        }
    );
    assert_eq!(
        parse::submission(&doc("post-token.xml")).unwrap(),
        Submission::Queued {
            token: "tok-7f3a".into(),
            service_notice: None
        }
    );
    assert_eq!(
        parse::submission(&doc("post-service-request-element.xml")).unwrap(),
        Submission::Created {
            id: "638346".into(),
            service_notice: Some("Your request has been received.".into())
        },
        "items named <service_request>"
    );
    assert_eq!(
        parse::token_id(&doc("token-service-request-element.xml")).unwrap(),
        Some("638347".into())
    );
    assert!(
        parse::submission(&document("[]").unwrap()).is_err(),
        "an empty list says nothing was created: not an answer"
    );
}

#[test]
fn discovery_prefers_production_v2() {
    let d = parse::discovery(&doc("discovery-nonstandard-changeset.json")).unwrap();
    assert_eq!(d.changeset.as_deref(), Some("2026-11-1 17:35"));
    assert_eq!(
        d.georeport_v2().unwrap().url,
        "https://city.example/open311/v2"
    );
}

#[test]
fn error_bodies_of_every_dialect() {
    let m = |name: &str| parse::error_messages(&fixture(name));
    let spec = m("error-spec-list.json");
    assert_eq!(spec.len(), 2);
    assert_eq!(
        (spec[1].code.as_deref(), spec[1].description.as_str()),
        (Some("400"), "lat is required")
    );
    let fields = m("error-code-detail-fields.json");
    let mut by_field: Vec<_> = fields
        .iter()
        .map(|f| (f.field.clone().unwrap(), f.description.clone()))
        .collect();
    by_field.sort();
    assert_eq!(
        by_field,
        [
            ("description".into(), "Too long.".into()),
            ("lat".into(), "This field is required.".into())
        ]
    );
    let list = m("error-code-detail-list.json");
    assert_eq!(
        (list[0].code.as_deref(), list[0].description.as_str()),
        (Some("400"), "Invalid api_key")
    );
    assert_eq!(
        m("error-description-without-code.json")[0].description,
        "clients/unknown"
    );
    assert_eq!(
        m("error-bare.xml")[0].description,
        "Invalid api_key received"
    );
    assert_eq!(m("error-list.xml")[0].code.as_deref(), Some("404"));
    assert_eq!(
        m("error-html-page.html")[0].description,
        "Open311: ERROR: Invalid service code"
    );
    // Django REST framework's XML renderer: `<root>` and `<list-item>`, no spec wrapper.
    let mut drf: Vec<_> = m("error-drf-root.xml")
        .into_iter()
        .map(|e| (e.field.unwrap_or_default(), e.description, e.code))
        .collect();
    drf.sort();
    assert_eq!(
        drf,
        [
            (
                "lat".into(),
                "A valid number is required.".into(),
                Some("400".into())
            ),
            (
                "service_code".into(),
                "This field is required.".into(),
                Some("400".into())
            ),
        ]
    );
    // A wrapper no dialect names: its texts are still the message.
    let unknown = m("error-unknown-wrapper.xml");
    assert!(
        unknown.iter().any(|e| e.description == "Invalid API key"),
        "{unknown:?}"
    );
    // A framework's debug page (here 60 KB) becomes its title, not the page.
    let debug = m("error-django-debug-500.html");
    assert_eq!(debug.len(), 1);
    assert_eq!(
        debug[0].description,
        "ValidationError at /open311/v2/requests.json"
    );
}

#[test]
fn not_the_protocol_is_an_error_not_a_guess() {
    assert!(document(&fixture("captive-portal.html"))
        .unwrap_err()
        .contains("HTML"));
    assert!(document(&fixture("error-html-page.html")).is_err());
    assert!(document(&fixture("billion-laughs.xml"))
        .unwrap_err()
        .contains("entity"));
    assert!(document("").is_err());
    assert!(document("OK").is_err());
    assert!(document("{\"truncated\": [1, 2").is_err());
}
