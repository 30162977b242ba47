//! `GET requests`: filters, paging, position filters, and the modes that change them (strict
//! parameters, filters ignored, the spec only, dates backwards, a lagging index, ...).

use super::*;

/// Under [`Mode::StrictParams`], a 400 naming every parameter outside the spec.
pub(super) fn strict(modes: &Active, q: &[(String, String)], format: Format) -> Option<Answer> {
    if !modes.has(Mode::StrictParams) {
        return None;
    }
    let unexpected: Vec<&str> = q
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !SPEC_PARAMS.contains(k))
        .collect();
    (!unexpected.is_empty()).then(|| {
        Answer::errors(
            format,
            StatusCode::BAD_REQUEST,
            &[format!(
                "Invalid parameters: found unexpected entries: {}",
                unexpected.join(", ")
            )],
            modes,
        )
    })
}

/// The element name of a listed request in XML.
pub(super) fn item_name(modes: &Active) -> &'static str {
    match modes.has(Mode::ServiceRequestXml) {
        true => "service_request",
        false => "request",
    }
}

/// The spec's parameters of `GET requests`, the only ones [`Mode::SpecOnly`] hears.
const SPEC_PARAMS: &[&str] = &[
    "jurisdiction_id",
    "api_key",
    "service_request_id",
    "service_code",
    "start_date",
    "end_date",
    "status",
];

/// The most requests a list holds, and its window when no start is given (the spec's).
const SPEC_CAP: usize = 1000;
const SPEC_DAYS: i64 = 90;

pub(super) fn get_requests(
    state: &State,
    req: &Request<Incoming>,
    format: Format,
    modes: &Active,
) -> Answer {
    if modes.has(Mode::ListsRefused) {
        return Answer::errors(
            format,
            StatusCode::FORBIDDEN,
            &["Listing service requests is not allowed".into()],
            modes,
        );
    }
    let mut q = query_pairs(req);
    let spec_only = modes.has(Mode::SpecOnly);
    if spec_only {
        q.retain(|(k, _)| SPEC_PARAMS.contains(&k.as_str()));
    }
    if let Some(refused) = strict(modes, &q, format) {
        return refused;
    }
    let view = modes.view();
    let extensions = param(&q, "extensions") == Some("true");
    let doc = |rows: &[crate::StoredRequest]| {
        let shown: Vec<Value> = rows
            .iter()
            .map(|r| r.to_json(&service_name(&r.service_code), extensions, &view))
            .collect();
        Answer::doc(
            format,
            StatusCode::OK,
            "service_requests",
            item_name(modes),
            &Value::Array(shown),
        )
    };
    if let Some(cap) = modes.row_cap() {
        // Every filter and page ignored: the oldest rows, the same on every page.
        let all = state.store.list(&Filter::default());
        return doc(&all[..all.len().min(cap)]);
    }
    let time = |name: &str| {
        param(&q, name)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let status_filter = list(&q, "status")
        .into_iter()
        .map(|s| match (view.status_ids, s.as_str()) {
            (true, "3") => "open".to_string(),
            (true, "7") => "closed".to_string(),
            _ => s,
        })
        .collect();
    let filter = Filter {
        ids: list(&q, "service_request_id"),
        service_codes: list(&q, "service_code"),
        statuses: status_filter,
        start: time("start_date"),
        end: time("end_date"),
    };
    for name in ["start_date", "end_date"] {
        if param(&q, name).is_some() && time(name).is_none() {
            return Answer::errors(
                format,
                StatusCode::BAD_REQUEST,
                &[format!("{name} must be a W3C datetime with a zone")],
                modes,
            );
        }
    }
    let backwards = modes.has(Mode::BackwardsDates);
    let (start, end) = (filter.start, filter.end);
    let filter = match backwards {
        true => Filter {
            start: None,
            end: None,
            ..filter
        },
        false => filter,
    };
    let mut all = state.store.list(&filter);
    if backwards {
        // The comparison the wrong way round: a window lists what lies outside it at both ends.
        all.retain(|r| {
            start.is_none_or(|s| r.requested_at <= s) && end.is_none_or(|e| r.requested_at >= e)
        });
    }
    // Stored times are in the server's clock; the index sees a request `lag` after it.
    let seen_by = Utc::now() - modes.search_lag() + modes.skew();
    all.retain(|r| r.requested_at <= seen_by);
    match near(&q) {
        Ok(Some(inside)) => all.retain(|r| {
            let position = |key: &str| r.field(key).and_then(|v| v.parse::<f64>().ok());
            position("lat")
                .zip(position("long"))
                .is_some_and(|(lat, long)| inside(lat, long))
        }),
        Ok(None) => {}
        Err(problem) => return Answer::errors(format, StatusCode::BAD_REQUEST, &[problem], modes),
    }
    if modes.has(Mode::StrictParams) {
        return doc(&all); // no paging on such servers: every match
    }
    if spec_only {
        // The newest 1,000 of the window; 90 days back when no start is given.
        let end = end.unwrap_or(seen_by);
        let start = start.unwrap_or(end - chrono::Duration::days(SPEC_DAYS));
        all.retain(|r| r.requested_at >= start && r.requested_at <= end);
        all.sort_by_key(|r| std::cmp::Reverse(r.requested_at));
        all.truncate(SPEC_CAP);
        return doc(&all);
    }
    let page_size = param(&q, "page_size")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 500);
    let page = param(&q, "page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let pages = all.len().div_ceil(page_size).max(1);
    let shown: Vec<crate::StoredRequest> = all
        .iter()
        .skip((page - 1) * page_size)
        .take(page_size)
        .cloned()
        .collect();
    let mut answer = doc(&shown);
    answer
        .headers
        .push(("x-result-count", all.len().to_string()));
    answer.headers.push(("x-page-count", pages.to_string()));
    answer.headers.push(("x-page-size", page_size.to_string()));
    if page < pages {
        answer.headers.push((
            "x-next-page-url",
            format!(
                "http://{}{}requests.json?page={}&page_size={page_size}",
                state.addr,
                PREFIX,
                page + 1
            ),
        ));
    }
    answer
}

/// The position filters some servers take on `GET requests` (extensions; uReport and
/// Mark-a-Spot list a `bbox`): here `bbox=west,south,east,north` in degrees, or `lat`, `long`
/// and `radius` in metres. A test of whether a request's position is inside, or what is wrong
/// with the parameters.
#[allow(clippy::type_complexity)]
fn near(q: &[(String, String)]) -> Result<Option<Box<dyn Fn(f64, f64) -> bool>>, String> {
    let numbers = |text: &str| -> Option<Vec<f64>> {
        text.split(',')
            .map(|n| n.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect()
    };
    if let Some(bbox) = param(q, "bbox") {
        return match numbers(bbox).as_deref() {
            Some(&[west, south, east, north]) if south <= north && west <= east => {
                Ok(Some(Box::new(move |lat, long| {
                    (south..=north).contains(&lat) && (west..=east).contains(&long)
                })))
            }
            _ => Err("bbox must be west,south,east,north in degrees".into()),
        };
    }
    let (Some(lat), Some(long), Some(radius)) =
        (param(q, "lat"), param(q, "long"), param(q, "radius"))
    else {
        return Ok(None);
    };
    match (
        numbers(lat).as_deref(),
        numbers(long).as_deref(),
        numbers(radius).as_deref(),
    ) {
        (Some(&[lat0]), Some(&[long0]), Some(&[radius])) if radius > 0.0 => {
            Ok(Some(Box::new(move |lat, long| {
                let dlat = (lat - lat0) * 111_320.0;
                let dlon = (long - long0) * 111_320.0 * lat0.to_radians().cos();
                (dlat * dlat + dlon * dlon).sqrt() <= radius
            })))
        }
        _ => Err("lat, long and radius (metres) must be numbers".into()),
    }
}
