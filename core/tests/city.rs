//! City profiles, the offline catalog, draft validation and location checks, against the
//! sandbox on loopback. Nearby requests are in `city_nearby.rs`.

use curbside_core::city::{CityProfile, FieldIssue};
use curbside_core::open311::AttributeAnswer;
use curbside_core::{Contact, Curbside, DraftFields, Location, LocationSource};
use curbside_sandbox::{Sandbox, SandboxConfig};
use serde_json::json;

mod cities;
use cities::*;

#[test]
fn a_malformed_profile_names_the_field() {
    let good = springfield("https://311.springfield.example/open311/v2/");
    CityProfile::parse(&good.to_string()).unwrap();
    let with = |key: &str, value: serde_json::Value| {
        let mut p = good.clone();
        p[key] = value;
        p
    };
    assert_eq!(
        field_error(with(
            "server",
            json!({"endpoint": "http://311.springfield.example/"})
        ))
        .0,
        "server.endpoint"
    );
    assert_eq!(
        field_error(with("server", json!({"endpoint": 5}))).0,
        "server.endpoint"
    );
    assert_eq!(
        field_error(with("max_accuracy_m", json!(-3))).0,
        "max_accuracy_m"
    );
    assert_eq!(
        field_error(with("required_contact", json!(["fax"]))).0,
        "required_contact[0]"
    );
    assert_eq!(
        field_error(with(
            "service_area",
            json!({"type": "Point", "coordinates": [1, 2]})
        ))
        .0,
        "service_area"
    );
    // Found by fuzzing: a position with one number made the GeoJSON conversion panic.
    for area in [
        json!({"type": "Polygon", "coordinates": [[[-77.1, 38.85], [-5], [-77.1, 38.85]]]}),
        json!({"type": "MultiPolygon", "coordinates": [[[[-77.1, 38.85], [], [-77.0, 38.9], [-77.1, 38.85]]]]}),
        json!({"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[1, 2, 3, 4]]]}}),
    ] {
        assert_eq!(
            field_error(with("service_area", area.clone())).0,
            "service_area",
            "{area}"
        );
    }
    assert_eq!(
        field_error(with("photos", json!({"max_edge": "big"}))).0,
        "photos.max_edge"
    );
    // Values that parse but cannot work are refused at load, not later as "damaged".
    for (photos, field) in [
        (json!({"max_edge": 0}), "photos.max_edge"),
        (json!({"quality": 0}), "photos.quality"),
        (
            json!({"quality": 80, "quality_floor": 90}),
            "photos.quality_floor",
        ),
        (json!({"budget_bytes": 10}), "photos.budget_bytes"),
        (json!({"max_photos": 0}), "photos.max_photos"),
    ] {
        assert_eq!(
            field_error(with("photos", photos.clone())).0,
            field,
            "{photos}"
        );
    }
    let (field, reason) = field_error(with("colour", json!("blue")));
    assert!(reason.contains("colour"), "{field}: {reason}");
    assert_eq!(field_error(with("id", json!(""))).0, "id");
}

#[tokio::test]
async fn the_catalog_works_offline_and_refreshes_when_back() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    let mut profile = springfield(&sandbox.endpoint());
    profile["catalog_max_age_hours"] = json!(0.0005); // about 2 s
    curbside.add_profile(&profile.to_string()).unwrap();

    let online = curbside
        .catalog_services("springfield", false)
        .await
        .unwrap();
    assert!(!online.stale);
    assert_eq!(online.value.len(), 5);
    let definition = curbside
        .catalog_definition("springfield", "pothole", false)
        .await
        .unwrap();
    assert_eq!(definition.value.attributes.len(), 7);

    drop(sandbox);
    let offline = curbside
        .catalog_services("springfield", true)
        .await
        .unwrap();
    assert!(offline.stale, "served from the cache, marked stale");
    assert_eq!(offline.value, online.value);
    assert_eq!(offline.fetched_at, online.fetched_at);
    let def_offline = curbside
        .catalog_definition("springfield", "pothole", true)
        .await
        .unwrap();
    assert!(def_offline.stale);
    assert!(
        curbside
            .catalog_definition("springfield", "graffiti", false)
            .await
            .is_err(),
        "never fetched: nothing to serve"
    );

    // The server is back (on another port): an old cache is refreshed.
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    curbside
        .add_profile(&springfield(&sandbox.endpoint()).to_string())
        .unwrap();
    let refreshed = curbside
        .catalog_services("springfield", true)
        .await
        .unwrap();
    assert!(!refreshed.stale);
    assert!(refreshed.fetched_at >= online.fetched_at);
    assert!(
        sandbox
            .log()
            .iter()
            .any(|r| r.starts_with("GET /open311/v2/services")),
        "fetched from the server that is back: {:?}",
        sandbox.log()
    );
}

/// Springfield with the sandbox's discovery document and a catalog that is old at once (a
/// maximum age of 0: checked again on every read, no clock to wait for).
fn with_discovery(curbside: &Curbside, sandbox: &Sandbox) -> serde_json::Value {
    let mut profile = springfield(&sandbox.endpoint());
    profile["catalog_max_age_hours"] = json!(0);
    profile["discovery_url"] = json!(sandbox.discovery_url());
    curbside.add_profile(&profile.to_string()).unwrap();
    profile
}

/// Points the profile's server at the sandbox (`working`), or at the sandbox answering 503
/// to everything but discovery.
fn serve(curbside: &Curbside, profile: &mut serde_json::Value, sandbox: &Sandbox, working: bool) {
    let endpoint = sandbox.endpoint();
    profile["server"]["endpoint"] = json!(match working {
        true => endpoint,
        false => endpoint.replace("/open311/", "/fault/503/open311/"),
    });
    curbside.add_profile(&profile.to_string()).unwrap();
}

#[tokio::test]
async fn an_unchanged_discovery_changeset_keeps_an_old_cache() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    let mut profile = with_discovery(&curbside, &sandbox);
    let first = curbside
        .catalog_services("springfield", false)
        .await
        .unwrap();

    // From now on the service list itself fails; only discovery answers.
    serve(&curbside, &mut profile, &sandbox, false);
    let discoveries = || {
        sandbox
            .log()
            .iter()
            .filter(|r| r.contains("discovery"))
            .count()
    };
    let asked = discoveries();
    let kept = curbside
        .catalog_services("springfield", false)
        .await
        .unwrap();
    assert!(
        !kept.stale,
        "the changeset says nothing changed: the cache is current"
    );
    assert_eq!(kept.value, first.value);
    assert!(kept.fetched_at >= first.fetched_at);
    assert_eq!(
        discoveries(),
        asked + 1,
        "checked again now: {:?}",
        sandbox.log()
    );

    profile.as_object_mut().unwrap().remove("discovery_url");
    curbside.add_profile(&profile.to_string()).unwrap();
    assert!(
        curbside
            .catalog_services("springfield", false)
            .await
            .unwrap()
            .stale,
        "without discovery: a failed refresh, stale"
    );
}

/// A changed catalog is never taken for an unchanged one: the changeset is kept with each
/// cached item, and only once its fetch worked. Changed, then the fetch fails: stale stays
/// stale (it used to be recorded first, so the next check found "unchanged" forever).
#[tokio::test]
async fn a_changed_catalog_whose_fetch_fails_stays_stale() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    let mut profile = with_discovery(&curbside, &sandbox);
    curbside
        .catalog_services("springfield", false)
        .await
        .unwrap();
    curbside
        .catalog_definition("springfield", "pothole", false)
        .await
        .unwrap();

    sandbox.set_changeset("2026-12-01T00:00:00Z");
    serve(&curbside, &mut profile, &sandbox, false);
    for attempt in 0..2 {
        let services = curbside
            .catalog_services("springfield", false)
            .await
            .unwrap();
        assert!(
            services.stale,
            "attempt {attempt}: changed, and not fetched"
        );
    }

    // The service list comes back under the new changeset; the definition, fetched under the
    // old one, is not taken as current because the list is.
    serve(&curbside, &mut profile, &sandbox, true);
    assert!(
        !curbside
            .catalog_services("springfield", false)
            .await
            .unwrap()
            .stale
    );
    serve(&curbside, &mut profile, &sandbox, false);
    assert!(
        curbside
            .catalog_definition("springfield", "pothole", false)
            .await
            .unwrap()
            .stale,
        "the definition's own changeset is the old one"
    );
}

#[tokio::test]
async fn every_datatype_and_field_is_validated_offline() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    curbside
        .add_profile(&springfield(&sandbox.endpoint()).to_string())
        .unwrap();
    let draft = curbside.create_draft(DraftFields::default()).unwrap();
    let (with_form, definition) = curbside
        .service_form(&draft.id, "springfield", "pothole")
        .await
        .unwrap();
    assert_eq!(with_form.fields.service_code.as_deref(), Some("pothole"));
    assert_eq!(definition.attributes.len(), 7);
    drop(sandbox); // everything below is offline

    let answer = |code: &str, values: &[&str]| AttributeAnswer {
        code: code.into(),
        values: values.iter().map(|v| v.to_string()).collect(),
        multiple: values.len() > 1,
    };
    let bad = DraftFields {
        location: Some(at(38.87, -77.08, Some(120.0))),
        description: "Cafe\u{301} corner \u{7}pothole".into(),
        attributes: vec![
            answer("WHERE", &["moon"]),
            answer("DEPTH", &["deep"]),
            answer("SEEN", &["yesterday"]),
            answer("LANE", &["left\nlane"]),
            answer("HAZARDS", &["water", "lava"]),
            answer("COLOUR", &["red"]),
        ],
        contact: Contact {
            email: Some("not-an-address".into()),
            phone: Some("call me".into()),
            ..Default::default()
        },
        ..with_form.fields.clone()
    };
    let saved = curbside.update_draft(&draft.id, bad).unwrap();
    assert_eq!(
        saved.fields.description, "Café corner pothole",
        "NFC, control characters removed"
    );
    assert!(
        saved.fields.definition.is_some(),
        "the definition stays with the draft"
    );
    let mut fields: Vec<String> = curbside
        .validate_draft(&draft.id)
        .unwrap()
        .into_iter()
        .map(|e| e.field)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "attributes.COLOUR",
            "attributes.DEPTH",
            "attributes.HAZARDS",
            "attributes.LANE",
            "attributes.SEEN",
            "attributes.WHERE",
            "contact.email",
            "contact.phone",
            "location.accuracy_m",
        ]
    );

    let missing = DraftFields {
        attributes: vec![],
        contact: Contact::default(),
        location: Some(at(38.87, -77.08, Some(8.0))),
        ..with_form.fields.clone()
    };
    curbside.update_draft(&draft.id, missing).unwrap();
    let mut fields: Vec<String> = curbside
        .validate_draft(&draft.id)
        .unwrap()
        .into_iter()
        .map(|e| e.field)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["attributes.DEPTH", "attributes.WHERE", "contact.email"],
        "required answers and contact"
    );

    let good = DraftFields {
        attributes: vec![
            answer("WHERE", &["bike"]),
            answer("DEPTH", &["7.5"]),
            answer("SEEN", &["2026-11-26T08:00:00-05:00"]),
            answer("HAZARDS", &["water", "glass"]),
        ],
        contact: Contact {
            email: Some("ada@example.org".into()),
            ..Default::default()
        },
        location: Some(at(38.87, -77.08, Some(8.0))),
        ..with_form.fields.clone()
    };
    curbside.update_draft(&draft.id, good).unwrap();
    assert_eq!(curbside.validate_draft(&draft.id).unwrap(), vec![]);
    assert!(
        curbside.submit(&draft.id, "springfield").is_ok(),
        "ready: submitted (sent later)"
    );
}

#[tokio::test]
async fn positions_are_checked_against_the_service_area_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    curbside
        .add_profile(&springfield("https://311.springfield.example/v2/").to_string())
        .unwrap();
    curbside
        .add_profile(&shelbyville("https://311.shelbyville.example/v2/").to_string())
        .unwrap();
    assert_eq!(curbside.profiles().unwrap().len(), 2);
    let errors_at = |location: Location, confirmed: bool| {
        let fields = DraftFields {
            service_code: Some("pothole".into()),
            location: Some(location),
            location_confirmed: confirmed,
            profile_id: Some("springfield".into()),
            contact: Contact {
                email: Some("a@b.example".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let draft = curbside.create_draft(fields).unwrap();
        curbside.validate_draft(&draft.id).unwrap()
    };
    assert_eq!(
        errors_at(at(38.87, -77.08, Some(10.0)), false),
        vec![],
        "inside"
    );
    let lake = errors_at(at(38.90, -77.05, Some(10.0)), false);
    assert_eq!(lake.len(), 1, "{lake:?}");
    assert!(
        matches!(&lake[0].issue, FieldIssue::OutsideServiceArea { city, other_city: None, .. } if city.starts_with("Springfield")),
        "the hole is outside: {lake:?}"
    );
    let east = errors_at(at(38.90, -76.95, Some(10.0)), false);
    assert!(
        matches!(&east[0].issue, FieldIssue::OutsideServiceArea { other_city: Some(name), other_profile_id: Some(id), .. }
            if name.contains("Shelbyville") && id == "shelbyville"),
        "names the right profile: {east:?}"
    );
    // By distance, not by bit pattern: a denormal or a rounding residue is the same missing fix.
    for (lat, long) in [(0.0, 0.0), (4e-320, 0.0), (-0.0, 1e-7), (0.00004, -0.00003)] {
        let null_island = errors_at(at(lat, long, None), false);
        assert!(
            null_island
                .iter()
                .any(|e| e.field == "location" && e.issue == FieldIssue::NullIsland),
            "({lat}, {long}): {null_island:?}"
        );
    }
    assert!(
        !errors_at(at(0.0, 0.0, None), true)
            .iter()
            .any(|e| e.issue == FieldIssue::NullIsland),
        "confirmed by the user"
    );
    let pin = Location {
        source: LocationSource::ManualPin,
        ..at(38.87, -77.08, Some(500.0))
    };
    assert_eq!(
        errors_at(pin, false),
        vec![],
        "a pin's accuracy is the user's choice"
    );
}
