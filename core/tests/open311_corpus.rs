//! Real responses from Washington DC, Boston, Toronto, Chicago, Giessen, Helsinki and the
//! spec's examples, read from `../shared/open311-samples/` when that folder is present (it is
//! beside CI's clone, not in a user's clone: then it says SKIPPED, which tests/run counts,
//! and under CI that is a failure).
//! The files are never copied into the project.

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use curbside_core::open311::parse::{self, document};
use curbside_core::open311::{Datatype, Format, ServiceType, Submission};
use serde_json::Value;

fn samples() -> Option<PathBuf> {
    let dir = std::env::var_os("CURBSIDE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
        .join("open311-samples");
    if dir.is_dir() {
        Some(dir)
    } else {
        curbside_sandbox::skipped(&format!(
            "{} is not present; the Open311 corpus test needs ../shared beside the clone",
            dir.display()
        ));
        None
    }
}

fn read(dir: &std::path::Path, name: &str) -> String {
    let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    // One fixture is a raw HTTP answer: drop its status line and headers.
    match text.strip_prefix("HTTP/") {
        Some(_) => text
            .split_once("\n\n")
            .or_else(|| text.split_once("\r\n\r\n"))
            .unwrap()
            .1
            .to_string(),
        None => text,
    }
}

fn doc(dir: &std::path::Path, name: &str) -> Value {
    document(&read(dir, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn utc() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(0).unwrap()
}

#[test]
fn every_sample_parses_as_what_it_is() {
    let Some(dir) = samples() else { return };
    let mut checked = 0;
    for folder in std::fs::read_dir(&dir).unwrap() {
        let folder = folder.unwrap().path();
        if !folder.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&folder).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let rel = format!("{}/{name}", folder.file_name().unwrap().to_string_lossy());
            if name.starts_with("cities.") {
                continue; // endpoint lists, not server answers
            }
            let v = doc(&dir, &rel);
            let ok = if name.contains("discovery") {
                parse::discovery(&v).map(|d| !d.endpoints.is_empty())
            } else if name.contains("service_definition") || name.contains("services-S") {
                parse::definition(&v, "?").map(|d| !d.attributes.is_empty())
            } else if (name.starts_with("service") || name.contains("services"))
                && !name.contains("request")
            {
                parse::services(&v).map(|s| !s.is_empty())
            } else if name.contains("err") || name.contains("403") || name.contains("not_found") {
                Ok(!parse::error_messages(&read(&dir, &rel)).is_empty())
            } else {
                parse::requests(&v, utc()).map(|(r, _)| !r.is_empty() || name.contains("empty"))
            };
            assert_eq!(ok, Ok(true), "{rel}");
            checked += 1;
        }
    }
    assert!(checked >= 24, "only {checked} samples checked");
}

#[test]
fn requests_keep_ids_coordinates_and_dates() {
    let Some(dir) = samples() else { return };
    let (r, _) = parse::requests(
        &doc(&dir, "codeforamerica-open311-ruby/get_service_request.xml"),
        utc(),
    )
    .unwrap();
    assert_eq!(r[0].id.as_deref(), Some("638344"));
    assert_eq!(r[0].service_code.as_deref(), Some("006"));
    assert_eq!(r[0].status.as_deref(), Some("closed"));
    assert_eq!(r[0].description, None, "empty elements are absent");
    assert_eq!(
        r[0].requested_at,
        Some(Utc.with_ymd_and_hms(2010, 4, 14, 14, 37, 38).unwrap())
    );
    assert_eq!(r[0].address_id.as_deref(), Some("545483"));
    assert!((r[0].lat.unwrap() - 37.762221).abs() < 1e-5);

    // Toronto: 12-digit ids, <long> before <lat>, empty <updated_datetime/>.
    let (r, _) = parse::requests(
        &doc(&dir, "bensheldon-open311status/requests_single.xml"),
        utc(),
    )
    .unwrap();
    assert_eq!(r[0].id.as_deref(), Some("101005420892"));
    assert_eq!(
        (r[0].lat, r[0].long),
        (Some(43.691104288), Some(-79.272306875))
    );
    assert_eq!(r[0].updated_at, None);
    assert_eq!(
        r[0].expected_at,
        Some(Utc.with_ymd_and_hms(2018, 8, 3, 4, 1, 0).unwrap())
    );
    assert_eq!(r[0].media_urls, Vec::<String>::new());

    // Chicago: string ids, hex service codes, numeric coordinates.
    let (r, _) = parse::requests(
        &doc(&dir, "bensheldon-open311status/service_requests.json"),
        utc(),
    )
    .unwrap();
    let ids: Vec<_> = r.iter().map(|r| r.id.clone().unwrap()).collect();
    assert_eq!(ids, ["14-01100669", "14-01100627"]);
    assert_eq!(
        r[0].service_code.as_deref(),
        Some("4ffa9cad6018277d4000007b")
    );
    assert_eq!(r[1].status_notes.as_deref(), Some("Locked"));

    // Helsinki: one object, not a list; coordinates as strings.
    let (r, _) = parse::requests(
        &doc(&dir, "6aika-issue-reporting/taskful_request.json"),
        utc(),
    )
    .unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].id.as_deref(), Some("3qp16kaphhsc78uc422l"));
    assert_eq!(
        r[0].requested_at,
        Some(Utc.with_ymd_and_hms(2016, 3, 22, 11, 27, 16).unwrap())
    );
    assert!(r[0].lat.is_some() && r[0].long.is_some());

    let (r, _) = parse::requests(
        &doc(&dir, "codeforamerica-node-open311/service-request.xml"),
        utc(),
    )
    .unwrap();
    assert_eq!(
        r[0].media_urls,
        ["http://city.gov.s3.amazonaws.com/requests/media/638344.jpg"]
    );
    let (r, _) = parse::requests(
        &doc(
            &dir,
            "codeforamerica-open311-ruby/service_requests_empty.xml",
        ),
        utc(),
    )
    .unwrap();
    assert!(r.is_empty());
}

#[test]
fn services_and_definitions() {
    let Some(dir) = samples() else { return };
    let boston = parse::services(&doc(&dir, "cityofboston-digital-311/services.json")).unwrap();
    assert_eq!(boston.len(), 118);
    assert_eq!(boston[0].code, "ABNDBIKE");

    let giessen =
        parse::services(&doc(&dir, "bensheldon-open311status/services_giessen.xml")).unwrap();
    assert_eq!(giessen.len(), 8);
    assert_eq!(giessen[0].code, "015", "numeric-looking codes stay strings");
    assert!(!giessen[0].metadata);

    let dc_text = read(&dir, "codeforamerica-node-open311/dc-services.xml");
    let dc = parse::services(&document(&dc_text).unwrap()).unwrap();
    assert_eq!(dc.len(), dc_text.matches("<service_code>").count());
    assert!(dc
        .iter()
        .all(|s| s.kind == ServiceType::Realtime || s.kind == ServiceType::Batch));

    // DC: `<attributes>` wrapper, informational attribute, empty <values />, order gaps.
    let def = parse::definition(
        &doc(&dir, "codeforamerica-node-open311/dc-services-S0301.xml"),
        "S0301",
    )
    .unwrap();
    assert_eq!(def.service_code, "S0301");
    assert_eq!(def.attributes.len(), 6);
    let orders: Vec<_> = def.attributes.iter().map(|a| a.order.unwrap()).collect();
    assert!(
        orders.windows(2).all(|w| w[0] <= w[1]),
        "sorted by order: {orders:?}"
    );
    let info = def
        .attributes
        .iter()
        .find(|a| a.code == "DSITR001")
        .unwrap();
    assert!(!info.variable);
    assert!(info.values.is_empty());
    let hazard = def
        .attributes
        .iter()
        .find(|a| a.code == "ISITHAZA")
        .unwrap();
    assert_eq!(hazard.datatype, Datatype::SingleValueList);
    assert_eq!(
        hazard
            .values
            .iter()
            .map(|v| v.key.as_str())
            .collect::<Vec<_>>(),
        ["NO001", "UNKNOWN", "YES001"]
    );

    // The old layout: <attribute> directly under <service_definition>.
    let old = parse::definition(
        &doc(&dir, "codeforamerica-open311-ruby/service_definition.xml"),
        "DMV66",
    )
    .unwrap();
    assert_eq!(old.attributes[0].code, "WHISHETN");
    assert!(old.attributes[0].required);
    assert_eq!(old.attributes[0].values[1].name, "Chrysler");
}

#[test]
fn posts_tokens_discovery_and_errors() {
    let Some(dir) = samples() else { return };
    match parse::submission(&doc(
        &dir,
        "codeforamerica-open311-ruby/post_service_request.xml",
    ))
    .unwrap()
    {
        Submission::Created { id, service_notice } => {
            assert_eq!(id, "293944");
            assert!(service_notice.unwrap().starts_with("The City will inspect"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse::submission(&doc(
            &dir,
            "codeforamerica-node-open311/boston-submitrequest-token.xml"
        ))
        .unwrap(),
        Submission::Queued {
            token: "503fc045901932078800163c".into(),
            service_notice: None
        }
    );
    assert_eq!(
        parse::token_id(&doc(
            &dir,
            "codeforamerica-open311-ruby/request_id_from_token.xml"
        ))
        .unwrap()
        .as_deref(),
        Some("638344")
    );

    let dc = parse::discovery(&doc(&dir, "codeforamerica-node-open311/discovery-dc.xml")).unwrap();
    let v2 = dc.georeport_v2().unwrap();
    assert_eq!(v2.url, "http://app.311.dc.gov/cwi/Open311/v2");
    assert_eq!(v2.preferred_format(), Format::Xml, "DC serves XML only");
    let boston = parse::discovery(&doc(
        &dir,
        "codeforamerica-node-open311/discovery-boston.json",
    ))
    .unwrap();
    assert_eq!(boston.changeset.as_deref(), Some("2011-09-1 17:35"));
    let v2 = boston.georeport_v2().unwrap();
    assert_eq!(v2.kind.as_deref(), Some("production"));
    assert_eq!(v2.url, "https://mayors24.cityofboston.gov/open311/v2");
    assert_eq!(v2.preferred_format(), Format::Json);

    let dup = parse::error_messages(&read(
        &dir,
        "codeforamerica-node-open311/boston-err-submitrequest-base_is_duplicate.xml",
    ));
    assert_eq!(dup[0].code.as_deref(), Some("400"));
    assert_eq!(
        dup[0].description,
        "Invalid service request: base is a duplicate."
    );
    let forbidden = parse::error_messages(&read(&dir, "codeforamerica-open311-ruby/403.xml"));
    assert_eq!(
        forbidden[0].description,
        "Invalid api_key received -- can't proceed with create_request."
    );
    let missing = parse::error_messages(&read(
        &dir,
        "codeforamerica-open311-ruby/get_service_request_not_found.xml",
    ));
    assert_eq!(missing[0].code.as_deref(), Some("404"));
}
