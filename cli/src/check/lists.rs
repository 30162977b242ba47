//! The checks of what the server lists: the formats that work for services and lists, the
//! filters of `GET requests` (each judged by what its answer shows against the unfiltered
//! list), statuses in lists and by id, tokens and the error format.

use super::*;

/// The format to use: the one asked for when both its service list and its request list
/// work, else the other. The services and the (unfiltered) request list in that format.
pub(super) async fn formats(
    config: &mut ServerConfig,
    report: &mut Report,
) -> Option<(Vec<Service>, Vec<ServiceRequest>)> {
    let asked = config.format;
    let mut chosen = None;
    for format in [asked, other(asked)] {
        let mut c = config.clone();
        c.format = format;
        let c = client(&c);
        let suffix = format.suffix();
        let services = match c.services().await {
            Ok(list) if !list.is_empty() => {
                report.line(
                    &format!("services ({suffix})"),
                    Verdict::Pass,
                    format!("{} services", list.len()),
                );
                list
            }
            Ok(_) => {
                report.line(
                    &format!("services ({suffix})"),
                    Verdict::Fail,
                    "an empty list",
                );
                continue;
            }
            Err(e) => {
                report.line(
                    &format!("services ({suffix})"),
                    Verdict::Fail,
                    e.to_string(),
                );
                continue;
            }
        };
        match c.requests(&RequestQuery::default()).await {
            Ok(page) => {
                report.line(
                    &format!("request list ({suffix})"),
                    Verdict::Pass,
                    format!("{} requests", page.requests.len()),
                );
                if chosen.is_none() {
                    config.format = format;
                    chosen = Some((services, page.requests));
                }
            }
            Err(e) => report.line(
                &format!("request list ({suffix})"),
                Verdict::Fail,
                e.to_string(),
            ),
        }
    }
    if chosen.is_some() && config.format != asked {
        report.line(
            "format",
            Verdict::Quirk,
            format!(
                "{} does not work for lists; use {}",
                asked.suffix(),
                config.format.suffix()
            ),
        );
    }
    chosen
}

/// Whether lists carry positions (a lost answer is matched on them).
pub(super) fn positions(all: &[ServiceRequest], report: &mut Report) {
    let name = "positions in lists";
    if all.is_empty() {
        report.line(name, Verdict::Untried, "no request listed");
    } else if all.iter().all(|r| r.lat.is_none() && r.address.is_none()) {
        report.line(
            name,
            Verdict::Quirk,
            "requests carry no position or address: a lost answer is matched on its words",
        );
    } else {
        report.line(name, Verdict::Pass, "listed");
    }
}

/// What one filter's answer shows, against the unfiltered list `all`; `keeps` says which
/// requests the filter should keep.
fn judge(
    name: &str,
    all: &[ServiceRequest],
    keeps: impl Fn(&ServiceRequest) -> bool,
    result: Result<RequestPage, Open311Error>,
    report: &mut Report,
) -> Option<RequestPage> {
    let page = match result {
        Ok(page) => page,
        Err(e) => {
            report.line(name, Verdict::Fail, e.to_string());
            return None;
        }
    };
    let listed = page.listed_ids.len();
    let kept = page.requests.len();
    let matching = all.iter().filter(|r| keeps(r)).count();
    let excluded = all.len() - matching;
    if page.contradicted && listed > kept {
        let why = match page.dates_only {
            true => "applied wrongly: requests outside the window listed (times in another zone, or compared backwards)",
            false => "ignored",
        };
        report.line(
            name,
            Verdict::Quirk,
            format!(
                "{why}: {} of {listed} listed requests do not match (filtered on the device)",
                listed - kept
            ),
        );
    } else if kept == 0 && matching > 0 {
        report.line(
            name,
            Verdict::Quirk,
            format!(
                "applied wrongly (backwards?): answered none, though {matching} listed requests match"
            ),
        );
    } else if matching == 0 {
        report.line(
            name,
            Verdict::Untried,
            "no listed request matches it: could not be tried",
        );
    } else if excluded == 0 {
        report.line(
            name,
            Verdict::Untried,
            format!("all {matching} listed requests match it: nothing to leave out"),
        );
    } else {
        report.line(
            name,
            Verdict::Pass,
            format!("{kept} requests, leaving out the {excluded} listed ones it excludes"),
        );
    }
    Some(page)
}

/// Every filter of `GET requests`, statuses in lists and by id, and a request by id; the
/// service code the filters were tried with.
pub(super) async fn filters(
    c: &Open311Client,
    all: &[ServiceRequest],
    services: &[Service],
    report: &mut Report,
    quirks: &mut Quirks,
) -> String {
    // The service listed most often, so that the others show what it leaves out.
    let mut codes: Vec<&String> = all.iter().filter_map(|r| r.service_code.as_ref()).collect();
    codes.sort();
    let code = codes
        .chunk_by(|a, b| a == b)
        .max_by_key(|run| run.len())
        .map(|run| run[0].clone())
        .unwrap_or_else(|| services[0].code.clone());
    let query = RequestQuery {
        service_codes: vec![code.clone()],
        ..Default::default()
    };
    judge(
        "filter service_code",
        all,
        |r| r.service_code.as_ref() == Some(&code),
        c.requests(&query).await,
        report,
    );

    let mut by_status = Vec::new();
    for status in ["open", "closed"] {
        let query = RequestQuery {
            statuses: vec![status.into()],
            ..Default::default()
        };
        let page = judge(
            &format!("filter status={status}"),
            all,
            |r| r.status.as_deref() == Some(status),
            c.requests(&query).await,
            report,
        );
        by_status.push((status, page));
    }

    dates(c, all, report, quirks).await;

    let known = all.iter().find(|r| r.id.is_some());
    match known.and_then(|r| r.id.clone()) {
        Some(id) => {
            let query = RequestQuery {
                ids: vec![id.clone()],
                ..Default::default()
            };
            judge(
                "filter service_request_id",
                all,
                |r| r.id.as_ref() == Some(&id),
                c.requests(&query).await,
                report,
            );
        }
        None => report.line(
            "filter service_request_id",
            Verdict::Untried,
            "no request listed to try it with",
        ),
    }
    // By id: a listed open request and a listed closed one, to compare their statuses.
    let mut singles = Vec::new();
    for status in ["open", "closed"] {
        let listed = all
            .iter()
            .find(|r| r.id.is_some() && r.status.as_deref() == Some(status))
            .or(known.filter(|_| status == "open"));
        let Some(listed) = listed else { continue };
        let id = listed.id.clone().unwrap_or_default();
        if singles
            .iter()
            .any(|(l, _): &(&ServiceRequest, _)| l.id == listed.id)
        {
            continue;
        }
        match c.request(&id).await {
            Ok(r) if r.id.as_ref() == Some(&id) => singles.push((listed, r)),
            Ok(_) => report.line("request by id", Verdict::Fail, "another request came back"),
            Err(e) => report.line("request by id", Verdict::Fail, e.to_string()),
        }
    }
    match singles.first() {
        Some((_, r)) => report.line(
            "request by id",
            Verdict::Pass,
            format!("requests/{}", r.id.as_deref().unwrap_or_default()),
        ),
        None if known.is_none() => report.line(
            "request by id",
            Verdict::Untried,
            "no request listed to ask for",
        ),
        None => {}
    }
    statuses(all, &singles, &by_status, report, quirks);
    code
}

/// The date filters, with a window that holds the newest listed requests only; a refusal of
/// times with a zone is tried again without one.
async fn dates(
    c: &Open311Client,
    all: &[ServiceRequest],
    report: &mut Report,
    quirks: &mut Quirks,
) {
    let newest = all.iter().filter_map(|r| r.requested_at).max();
    let start = newest.map_or(Utc::now() - Duration::days(30), |t| {
        t - Duration::minutes(1)
    });
    let end = Utc::now() + Duration::minutes(10);
    let query = RequestQuery {
        start: Some(start),
        end: Some(end),
        ..Default::default()
    };
    let inside = |r: &ServiceRequest| r.requested_at.is_some_and(|t| t >= start && t <= end);
    let name = "filter start_date/end_date";
    let dates_wrong = |report: &Report| {
        report
            .checks
            .last()
            .is_some_and(|l| l.check == name && l.verdict == Verdict::Quirk)
    };
    match c.requests(&query).await {
        Err(Open311Error::Rejected { .. }) => {
            let mut zoneless = c.config().clone();
            zoneless.quirks.omit_timezone_in_queries = true;
            let result = client(&zoneless).requests(&query).await;
            if result.is_ok() {
                report.line(
                    "dates with a zone",
                    Verdict::Quirk,
                    "refused; taken without one",
                );
                quirks.insert("omit_timezone_in_queries".into(), json!(true));
            }
            judge(name, all, inside, result, report);
        }
        result => {
            judge(name, all, inside, result, report);
        }
    }
    report.dates_wrong = dates_wrong(report);
}

/// Statuses: the values lists show, what a request shows by id, and what the status filters
/// gave. A mapping is recommended only where the answers prove it (the same request `open` in
/// a list and `3` by id; only `3` under `status=open`); other values of the city's own are
/// listed as placeholders that keep the value as sent, and said to be such.
fn statuses(
    all: &[ServiceRequest],
    singles: &[(&ServiceRequest, ServiceRequest)],
    by_status: &[(&str, Option<RequestPage>)],
    report: &mut Report,
    quirks: &mut Quirks,
) {
    let spec = |s: &str| s == "open" || s == "closed";
    let mut map = Map::new();
    // The same requests, by list and by id.
    let mut agree = Vec::new();
    for (listed, single) in singles {
        if let (Some(a), Some(b)) = (&listed.status, &single.status) {
            if a != b && spec(a) && !spec(b) {
                map.insert(b.clone(), json!(a));
            } else if a == b {
                agree.push(a.clone());
            }
        }
    }
    if !map.is_empty() {
        let pairs: Vec<String> = map
            .iter()
            .map(|(k, v)| format!("{} by id is {k}", v.as_str().unwrap_or_default()))
            .collect();
        report.line(
            "statuses by id",
            Verdict::Quirk,
            format!("the city's own values by id ({}): mapped", pairs.join(", ")),
        );
    } else if !agree.is_empty() {
        report.line(
            "statuses by id",
            Verdict::Pass,
            format!("the same as listed ({})", agree.join(", ")),
        );
    } else {
        report.line("statuses by id", Verdict::Untried, "no request to ask for");
    }
    // Values that only one status filter's answer holds.
    let mut own: Vec<String> = all
        .iter()
        .filter_map(|r| r.status.clone())
        .filter(|s| !spec(s))
        .collect();
    own.sort();
    own.dedup();
    for (status, page) in by_status {
        let Some(page) = page.as_ref().filter(|p| !p.contradicted) else {
            continue;
        };
        let mut seen: Vec<&str> = page
            .requests
            .iter()
            .filter_map(|r| r.status.as_deref())
            .collect();
        seen.sort();
        seen.dedup();
        if let [value] = seen[..] {
            if !spec(value) && own.len() > 1 {
                map.insert(value.to_string(), json!(status));
            }
        }
    }
    let placeholders: Vec<&String> = own.iter().filter(|s| !map.contains_key(*s)).collect();
    match (own.is_empty(), all.is_empty()) {
        (_, true) => report.line("statuses", Verdict::Untried, "no request listed"),
        (true, _) => report.line(
            "statuses",
            Verdict::Pass,
            "only the spec's values listed (open, closed)",
        ),
        (false, _) => {
            let proven: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k} = {}", v.as_str().unwrap_or_default()))
                .collect();
            let mut detail = format!("the city's own values {}", own.join(", "));
            if !proven.is_empty() {
                detail += &format!("; shown by the filters: {}", proven.join(", "));
            }
            if !placeholders.is_empty() {
                let names: Vec<&str> = placeholders.iter().map(|s| s.as_str()).collect();
                detail += &format!(
                    "; placeholders in status_map (kept as sent): map {} to open or closed",
                    names.join(", ")
                );
            }
            report.line("statuses", Verdict::Quirk, detail);
        }
    }
    for value in placeholders {
        map.insert(value.clone(), json!(value));
    }
    if !map.is_empty() {
        quirks.insert("status_map".into(), Value::Object(map));
    }
}

/// Tokens and errors, with names that cannot exist.
pub(super) async fn tokens_and_errors(c: &Open311Client, report: &mut Report) {
    match c.resolve_token("curbside-check-no-such-token").await {
        Err(Open311Error::NotFound { messages }) if !messages.is_empty() => report.line(
            "tokens",
            Verdict::Pass,
            format!("an unknown token is a 404 in Open311's words: {}", messages[0].description),
        ),
        Err(Open311Error::NotFound { .. }) => report.line(
            "tokens",
            Verdict::Quirk,
            "an unknown token is a 404 without Open311's errors: the route may not exist (batch services cannot be followed)",
        ),
        Ok(_) => report.line(
            "tokens",
            Verdict::Quirk,
            "an unknown token is answered as pending",
        ),
        Err(e) => report.line("tokens", Verdict::Quirk, format!("an unknown token: {e}")),
    }
    match c.service_definition("curbside-check-no-such-service").await {
        Err(Open311Error::NotFound { messages }) if !messages.is_empty() => report.line(
            "error format",
            Verdict::Pass,
            format!("404 with a readable message: {}", messages[0].description),
        ),
        Err(Open311Error::NotFound { .. }) => report.line(
            "error format",
            Verdict::Quirk,
            "404 without a readable message",
        ),
        Err(e) => report.line(
            "error format",
            Verdict::Quirk,
            format!("an unknown service: {e}"),
        ),
        Ok(_) => report.line(
            "error format",
            Verdict::Fail,
            "an unknown service has a definition",
        ),
    }
}
