//! Nearby requests against the sandbox on loopback: ranked, cached and exported, found at
//! city scale, paged without a position filter.

use chrono::Utc;
use curbside_core::city::to_geojson;
use curbside_core::open311::{
    ApiKey, AttributeAnswer, NewRequest, Open311Client, ServerConfig, Submission,
};
use curbside_core::{Curbside, Error};
use curbside_sandbox::{Sandbox, SandboxConfig};
use serde_json::json;

mod cities;
use cities::*;

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
