//! City profiles, the offline catalog, draft validation, location checks and geo, against the
//! sandbox on loopback.
//!
//! Longer than 600 lines on purpose: each test is one city-level promise (a catalog that
//! stays right, a form checked offline, neighbours found at city scale) over the profile
//! builders at the top; split, each part would repeat them.

use std::time::Duration;

use chrono::Utc;
use curbside_core::city::{to_geojson, CityProfile, FieldIssue};
use curbside_core::open311::{
    ApiKey, AttributeAnswer, NewRequest, Open311Client, ServerConfig, Submission,
};
use curbside_core::{Contact, Curbside, DraftFields, Error, Location, LocationSource};
use curbside_sandbox::{Sandbox, SandboxConfig};
use serde_json::json;

/// Springfield: an irregular outline (about 38.84..38.96 N, 77.12..77.00 W) with a lake (an
/// irregular hole) in it.
fn springfield(endpoint: &str) -> serde_json::Value {
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
fn shelbyville(endpoint: &str) -> serde_json::Value {
    json!({
        "id": "shelbyville", "name": "Shelbyville", "server": { "endpoint": endpoint },
        "service_area": { "type": "Feature", "properties": {}, "geometry": { "type": "MultiPolygon", "coordinates": [
            [[[-77.00, 38.85], [-76.90, 38.85], [-76.90, 38.95], [-77.00, 38.95], [-77.00, 38.85]]]
        ]}}
    })
}

fn at(latitude: f64, longitude: f64, accuracy_m: Option<f64>) -> Location {
    Location {
        latitude,
        longitude,
        accuracy_m,
        source: LocationSource::Gps,
        captured_at: Utc::now(),
    }
}

fn field_error(json: serde_json::Value) -> (String, String) {
    match CityProfile::parse(&json.to_string()) {
        Err(Error::InvalidProfile { field, reason }) => (field, reason),
        other => panic!("expected InvalidProfile, got {other:?}"),
    }
}

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
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refreshed = curbside
        .catalog_services("springfield", true)
        .await
        .unwrap();
    assert!(!refreshed.stale);
    assert!(refreshed.fetched_at > online.fetched_at);
}

/// Springfield with the sandbox's discovery document and a catalog that is old at once.
fn with_discovery(curbside: &Curbside, sandbox: &Sandbox) -> serde_json::Value {
    let mut profile = springfield(&sandbox.endpoint());
    profile["catalog_max_age_hours"] = json!(0.0000001);
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
    tokio::time::sleep(Duration::from_millis(20)).await;
    let kept = curbside
        .catalog_services("springfield", false)
        .await
        .unwrap();
    assert!(
        !kept.stale,
        "the changeset says nothing changed: the cache is current"
    );
    assert_eq!(kept.value, first.value);
    assert!(kept.fetched_at > first.fetched_at, "checked again now");

    profile.as_object_mut().unwrap().remove("discovery_url");
    curbside.add_profile(&profile.to_string()).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
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
        tokio::time::sleep(Duration::from_millis(20)).await;
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
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !curbside
            .catalog_services("springfield", false)
            .await
            .unwrap()
            .stale
    );
    serve(&curbside, &mut profile, &sandbox, false);
    tokio::time::sleep(Duration::from_millis(20)).await;
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

#[tokio::test]
async fn nearby_reports_are_ranked_cached_and_exported() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let mut config = ServerConfig::new(sandbox.endpoint());
    config.api_key = Some(ApiKey::new("sandbox-key"));
    let client = Open311Client::new(config).unwrap();
    let post = |service: &'static str, lat: f64, long: f64, text: &'static str| {
        let client = &client;
        async move {
            let request = NewRequest {
                service_code: service.into(),
                position: Some((lat, long)),
                description: Some(text.into()),
                attributes: if service == "pothole" {
                    vec![
                        AttributeAnswer {
                            code: "WHERE".into(),
                            values: vec!["road".into()],
                            multiple: false,
                        },
                        AttributeAnswer {
                            code: "DEPTH".into(),
                            values: vec!["5".into()],
                            multiple: false,
                        },
                    ]
                } else {
                    vec![]
                },
                ..Default::default()
            };
            match client.submit(&request).await.unwrap() {
                Submission::Created { id, .. } => id,
                other => panic!("{other:?}"),
            }
        }
    };
    // 38.8700 degrees north: 0.0001 degree of latitude is about 11 m.
    let far = post("pothole", 38.8710, -77.0800, "110 m away").await;
    let near = post("pothole", 38.8702, -77.0800, "22 m away").await;
    let nearest = post("pothole", 38.87005, -77.0800, "5 m away").await;
    let closed = post("pothole", 38.8701, -77.0800, "closed one").await;
    post("graffiti", 38.8701, -77.0800, "other service").await;
    sandbox.set_status(&closed, "closed", "Fixed");

    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    curbside
        .add_profile(&springfield(&sandbox.endpoint()).to_string())
        .unwrap();
    let found = curbside
        .nearby_requests(
            "springfield",
            38.8700,
            -77.0800,
            50.0,
            Some("pothole"),
            true,
        )
        .await
        .unwrap();
    let ids: Vec<_> = found
        .value
        .iter()
        .map(|n| n.request.id.clone().unwrap())
        .collect();
    assert_eq!(
        ids,
        [nearest.clone(), near.clone()],
        "nearest first; far, closed and other services left out"
    );
    assert!(
        (found.value[0].distance_m - 5.6).abs() < 1.0,
        "{}",
        found.value[0].distance_m
    );
    assert!(!found.stale);

    let map = curbside
        .nearby_requests("springfield", 38.8700, -77.0800, 200.0, None, false)
        .await
        .unwrap();
    assert_eq!(map.value.len(), 5);
    drop(sandbox);
    let offline = curbside
        .nearby_requests("springfield", 38.8700, -77.0800, 200.0, None, false)
        .await
        .unwrap();
    assert!(offline.stale, "from the cache");
    assert_eq!(offline.value.len(), 5);
    assert!(offline
        .value
        .iter()
        .any(|n| n.request.id.as_deref() == Some(far.as_str())));

    let viewport = curbside
        .requests_in_box("springfield", 38.8699, -77.0801, 38.8703, -77.0799)
        .await
        .unwrap();
    assert!(viewport.stale, "offline: from the cache");
    let mut in_box: Vec<_> = viewport
        .value
        .iter()
        .map(|r| r.id.clone().unwrap())
        .collect();
    in_box.sort();
    assert_eq!(in_box.len(), 4, "all but the one 110 m north: {in_box:?}");
    assert!(!in_box.contains(&far));
    assert!(
        curbside
            .requests_in_box("springfield", 39.0, -77.0, 38.0, -76.0)
            .await
            .is_err(),
        "south above north"
    );

    let requests: Vec<_> = offline.value.iter().map(|n| n.request.clone()).collect();
    let text = to_geojson(&offline, &requests);
    let geojson: geojson::GeoJson = text.parse().unwrap();
    let geojson::GeoJson::FeatureCollection(collection) = geojson else {
        panic!("not a FeatureCollection")
    };
    let about: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(about["curbside"]["stale"], true, "offline, and said so");
    assert!(about["curbside"]["coverage"]["partial"].is_boolean());
    assert_eq!(collection.features.len(), 5);
    let first = &collection.features[0];
    let geojson::GeometryValue::Point { coordinates } = &first.geometry.as_ref().unwrap().value
    else {
        panic!()
    };
    assert!((coordinates[0] + 77.08).abs() < 1e-9, "[long, lat] order");
    assert!(first.properties.as_ref().unwrap().contains_key("status"));
}

/// A city of 20,000 requests, nearly all far away and all newer than the three within 50 m
/// of the citizen: a server with a position filter is asked for the area, and answers with
/// the three (the newest 200 of the city would hold none of them). Offline, the cache
/// answers the same, read through its position index, and says how old it is; the device
/// never held the city's 20,000.
#[tokio::test]
async fn nearby_finds_the_neighbours_in_a_city_of_twenty_thousand() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let (lat, long) = (38.8893, -77.0502);
    let long_ago = Utc::now() - chrono::Duration::days(20);
    let neighbours = [(0.0001, 0.0), (-0.0002, 0.0001), (0.0, -0.0003)];
    for i in 0..20_000 {
        if i == 10_000 {
            // Listed in the middle of the city's 20,000 (by id), older than all of them.
            for (n, (dlat, dlong)) in neighbours.into_iter().enumerate() {
                let description = format!("neighbour {n}");
                sandbox.seed_at("pothole", lat + dlat, long + dlong, &description, long_ago);
            }
        }
        let at = Utc::now() - chrono::Duration::seconds(20_000 - i);
        let far = 0.01 + (i % 400) as f64 * 0.0005; // 1 to 20 km away
        let description = format!("elsewhere {i}");
        sandbox.seed_at("pothole", lat + far, long - far, &description, at);
    }
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    let mut profile = springfield(&sandbox.endpoint());
    profile["server"]["quirks"]["position_filter"] = json!("bbox");
    curbside.add_profile(&profile.to_string()).unwrap();

    let online = curbside
        .nearby_requests("springfield", lat, long, 50.0, Some("pothole"), false)
        .await
        .unwrap();
    let mut found: Vec<_> = online
        .value
        .iter()
        .map(|n| n.request.description.clone().unwrap())
        .collect();
    found.sort();
    assert_eq!(found, ["neighbour 0", "neighbour 1", "neighbour 2"]);
    assert!(!online.stale);

    sandbox.set_reachable(false).await.unwrap();
    let offline = curbside
        .nearby_requests("springfield", lat, long, 50.0, Some("pothole"), false)
        .await
        .unwrap();
    assert!(offline.stale, "from the cache, and said so");
    assert_eq!(offline.value.len(), 3);
    assert_eq!(
        offline.fetched_at, online.fetched_at,
        "as old as the last fetch"
    );

    let cached: i64 = rusqlite::Connection::open(dir.path().join(curbside_core::DATABASE_FILE))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM requests_cache", [], |r| r.get(0))
        .unwrap();
    assert_eq!(cached, 3, "only the area was fetched and kept");
}

/// Without a position filter, the requests of the profile's window are paged through (at
/// most a bounded number of pages per call), cached, and read back by area; older requests
/// are not asked for, and a server that refuses the query is an error, not "offline".
#[tokio::test]
async fn without_a_position_filter_the_window_is_paged_and_errors_are_errors() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let (lat, long) = (38.8893, -77.0502);
    for i in 0..3_000 {
        // Outside the window: never asked for.
        let at = Utc::now() - chrono::Duration::days(400) + chrono::Duration::seconds(i);
        sandbox.seed_at("pothole", lat, long, &format!("last year {i}"), at);
    }
    for i in 0..450 {
        let at = Utc::now() - chrono::Duration::hours(450 - i);
        let (dlat, description) = match i {
            7 => (0.0002, "the one nearby".to_string()),
            _ => (0.05, format!("elsewhere {i}")),
        };
        sandbox.seed_at("graffiti", lat + dlat, long, &description, at);
    }
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    let mut profile = springfield(&sandbox.endpoint());
    profile["open_data_days"] = json!(30);
    curbside.add_profile(&profile.to_string()).unwrap();
    let near = curbside
        .nearby_requests("springfield", lat, long, 50.0, None, false)
        .await
        .unwrap();
    let found: Vec<_> = near
        .value
        .iter()
        .map(|n| n.request.description.clone().unwrap())
        .collect();
    assert_eq!(found, ["the one nearby"]);
    let cached: i64 = rusqlite::Connection::open(dir.path().join(curbside_core::DATABASE_FILE))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM requests_cache", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        cached, 1,
        "the window's 450 were paged through (3 pages, within MAX_PAGES), and only the area kept"
    );
    assert!(450 <= curbside_core::city::MAX_PAGES as i64 * 200);

    let mut wrong = shelbyville(&sandbox.endpoint().replace("/open311/v2/", "/no-such-api/"));
    wrong["id"] = json!("wrong");
    curbside.add_profile(&wrong.to_string()).unwrap();
    let refused = curbside
        .nearby_requests("wrong", lat, long, 50.0, None, false)
        .await;
    assert!(
        matches!(refused, Err(Error::Open311(_))),
        "the server's answer, not an empty 'offline' list: {refused:?}"
    );
}
