//! The URLs the client builds for each quirk, and how it reads paging signals.

use super::*;

fn client(quirks: Quirks) -> Open311Client {
    let mut config = ServerConfig::new("https://311.city.example/open311/v2");
    config.jurisdiction_id = Some("city.example".into());
    config.api_key = Some(ApiKey::new("k"));
    config.quirks = quirks;
    Open311Client::new(config).unwrap()
}

fn requests_url(client: &Open311Client, query: &RequestQuery) -> String {
    let page = query.page.unwrap_or(0);
    client
        .get_url(&["requests"], |q| client.query_pairs(q, query, page))
        .unwrap()
        .to_string()
}

#[test]
fn request_filters_in_the_url() {
    let c = client(Quirks::default());
    let query = RequestQuery {
        ids: vec!["1".into(), "2".into()],
        service_codes: vec!["pothole".into()],
        statuses: vec!["open".into(), "closed".into()],
        start: Some(
            DateTime::parse_from_rfc3339("2026-11-01T10:00:00+01:00")
                .unwrap()
                .into(),
        ),
        extensions: true,
        page: Some(2),
        page_size: Some(100),
        ..Default::default()
    };
    assert_eq!(
        requests_url(&c, &query),
        "https://311.city.example/open311/v2/requests.json?jurisdiction_id=city.example&service_request_id=1%2C2\
         &service_code=pothole&start_date=2026-11-01T09%3A00%3A00Z&status=open%2Cclosed&extensions=true&page=2&page_size=100"
    );
    assert!(
        !requests_url(&c, &query).contains("api_key"),
        "the spec needs the key only on POST"
    );
}

#[test]
fn limit_offset_zone_less_dates_and_key_on_get() {
    let c = client(Quirks {
        pagination: Pagination::LimitOffset,
        omit_timezone_in_queries: true,
        utc_offset_seconds: -6 * 3600,
        api_key_on_get: true,
        ..Default::default()
    });
    let query = RequestQuery {
        end: Some(
            DateTime::parse_from_rfc3339("2026-11-01T12:00:00Z")
                .unwrap()
                .into(),
        ),
        page: Some(3),
        page_size: Some(50),
        ..Default::default()
    };
    let url = requests_url(&c, &query);
    assert!(url.contains("api_key=k"), "{url}");
    assert!(
        url.contains("end_date=2026-11-01T06%3A00%3A00&"),
        "local time without zone: {url}"
    );
    assert!(url.ends_with("limit=50&offset=150"), "{url}");
}

/// A profile of the old kind (a fixed offset) still loads; a named zone follows
/// daylight saving, so a window across the change keeps both ends right.
#[test]
fn a_query_window_across_daylight_saving_is_in_each_days_zone() {
    let c = client(Quirks {
        omit_timezone_in_queries: true,
        time_zone: Some("America/Chicago".into()),
        ..Default::default()
    });
    let at = |t: &str| Some(DateTime::parse_from_rfc3339(t).unwrap().into());
    let query = RequestQuery {
        start: at("2026-03-07T12:00:00Z"),
        end: at("2026-03-09T12:00:00Z"),
        ..Default::default()
    };
    let url = requests_url(&c, &query);
    assert!(
        url.contains("start_date=2026-03-07T06%3A00%3A00&end_date=2026-03-09T07%3A00%3A00"),
        "CST before the change, CDT after: {url}"
    );
    let old: Quirks = serde_json::from_str(r#"{"utc_offset_seconds": -21600}"#).unwrap();
    assert_eq!(old.time_zone, None);
    assert!(matches!(old.zone(), Ok(ServerZone::Fixed(_))));
    let wrong = Quirks {
        time_zone: Some("Central".into()),
        ..Default::default()
    };
    let mut config = ServerConfig::new("https://311.city.example/open311/v2");
    config.quirks = wrong;
    assert!(matches!(
        Open311Client::new(config),
        Err(Open311Error::Config { .. })
    ));
}

#[test]
fn a_parameter_is_named_only_as_a_word() {
    assert!(mentions(
        "found unexpected entries: extensions",
        "extensions"
    ));
    assert!(mentions("Invalid parameters: page, page_size", "page"));
    assert!(!mentions("unexpected: page_size", "page"));
    assert!(!mentions("the homepage is down", "page"));
}

#[test]
fn service_codes_are_one_path_segment() {
    let c = client(Quirks::default());
    let url = c
        .get_url(&["services", "ServiceRequest/Animals/Dead Animal"], |_| {})
        .unwrap();
    assert_eq!(
        url.as_str(),
        "https://311.city.example/open311/v2/services/ServiceRequest%2FAnimals%2FDead%20Animal.json?jurisdiction_id=city.example"
    );
}

#[test]
fn next_page_from_every_signal() {
    let none = HeaderMap::new();
    let page_size = Pagination::PageSize { first_page: 1 };
    let mut headers = HeaderMap::new();
    headers.insert("x-page-count", "3".parse().unwrap());
    assert_eq!(
        next_page(page_size, 2, None, 10, &headers, &Value::Null),
        Some(3)
    );
    assert_eq!(
        next_page(page_size, 3, None, 10, &headers, &Value::Null),
        None
    );
    let meta = serde_json::json!({"meta": {"total": 5, "limit": 2, "offset": 4}});
    assert_eq!(
        next_page(Pagination::LimitOffset, 2, Some(2), 1, &none, &meta),
        None
    );
    let meta = serde_json::json!({"meta": {"total": 5, "limit": 2, "offset": 2}});
    assert_eq!(
        next_page(Pagination::LimitOffset, 1, Some(2), 2, &none, &meta),
        Some(2)
    );
    assert_eq!(
        next_page(page_size, 1, Some(50), 50, &none, &Value::Null),
        Some(2),
        "a full page suggests more"
    );
    assert_eq!(
        next_page(page_size, 1, Some(50), 49, &none, &Value::Null),
        None
    );
    assert_eq!(
        next_page(Pagination::None, 1, Some(1), 1, &none, &Value::Null),
        None
    );
}
