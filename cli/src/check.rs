//! `curbside check URL`: a conformance report for a live GeoReport v2 endpoint, one line per
//! spec point (pass, fail, or a quirk seen), ending with the profile quirks it recommends as
//! a ready profile snippet. Reads only, unless `--write` allows two probe POSTs: one with a
//! wrong key (refused, whatever the status) and one real request, marked as a probe.

use chrono::{Duration, Utc};
use clap::Args;
use curbside_core::open311::{
    ApiKey, Area, AttributeAnswer, Datatype, Format, NewRequest, Open311Client, Open311Error,
    Pagination, PositionFilter, RequestPage, RequestQuery, ServerConfig, ServiceRequest,
    Submission,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

mod extensions;
use extensions::{extensions, paging, position_filter};

use crate::output::Output;
use crate::server::{runtime, ServerArgs};

/// Options of `curbside check`.
#[derive(Args)]
pub(crate) struct CheckArgs {
    /// The GeoReport v2 endpoint, such as https://311.city.gov/open311/v2/.
    url: String,
    /// The service to read the definition of (and to probe with --write).
    #[arg(long = "service", value_name = "CODE")]
    service: Option<String>,
    /// Also POST: a request with a wrong key (refused) and one probe request.
    #[arg(long)]
    write: bool,
}

/// How one spec point went.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    /// As the spec says.
    Pass,
    /// Broken: Curbside cannot work with this part.
    Fail,
    /// Works, differently from the spec: a profile quirk handles it.
    Quirk,
}

/// One line of the report.
#[derive(Debug, Serialize)]
struct Line {
    check: String,
    verdict: Verdict,
    detail: String,
}

/// The report as it is built.
#[derive(Default, Serialize)]
struct Report {
    endpoint: String,
    checks: Vec<Line>,
    /// The profile snippet: `{"server": {"endpoint", "format", "quirks": {...}}}`.
    recommended: Value,
}

impl Report {
    fn line(&mut self, check: &str, verdict: Verdict, detail: impl Into<String>) {
        self.checks.push(Line {
            check: check.into(),
            verdict,
            detail: detail.into(),
        });
    }
}

/// Runs the checks and prints the report.
pub(crate) fn run(args: CheckArgs, server: &ServerArgs, out: &Output) -> curbside_core::Result<()> {
    let mut config = server.config_for(&args.url)?;
    Open311Client::new(config.clone())?; // a URL that can work, and secure
    let report = runtime()?.block_on(check(&args, &mut config));
    out.print(&report, |r| {
        println!("Open311 conformance of {}", r.endpoint);
        for line in &r.checks {
            let verdict = match line.verdict {
                Verdict::Pass => "pass ",
                Verdict::Fail => "FAIL ",
                Verdict::Quirk => "quirk",
            };
            println!("  {verdict}  {:<28} {}", line.check, line.detail);
        }
        println!("\nRecommended profile settings:");
        println!(
            "{}",
            serde_json::to_string_pretty(&r.recommended).unwrap_or_default()
        );
    });
    Ok(())
}

async fn check(args: &CheckArgs, config: &mut ServerConfig) -> Report {
    let mut report = Report {
        endpoint: config.endpoint.clone(),
        ..Default::default()
    };
    let mut quirks = Map::new();

    // Both formats; the one asked for is preferred when it works.
    let asked = config.format;
    let mut services = None;
    for format in [asked, other(asked)] {
        let mut c = config.clone();
        c.format = format;
        let name = format!("services ({})", format.suffix());
        match client(&c).services().await {
            Ok(list) if !list.is_empty() => {
                report.line(&name, Verdict::Pass, format!("{} services", list.len()));
                if services.is_none() {
                    config.format = format;
                    services = Some(list);
                }
            }
            Ok(_) => report.line(&name, Verdict::Fail, "an empty service list"),
            Err(e) => report.line(&name, Verdict::Fail, e.to_string()),
        }
    }
    let format = config.format;
    let Some(services) = services else {
        report.recommended = json!({"server": {"endpoint": config.endpoint}});
        return report;
    };
    if format != asked {
        report.line(
            "format",
            Verdict::Quirk,
            format!("{} does not work; use {}", asked.suffix(), format.suffix()),
        );
    }
    let c = client(config);

    discovery(config, &mut report).await;

    // A service's questions.
    let chosen = args
        .service
        .clone()
        .or_else(|| services.iter().find(|s| s.metadata).map(|s| s.code.clone()));
    match &chosen {
        Some(code) => match c.service_definition(code).await {
            Ok(d) => report.line(
                "service definition",
                Verdict::Pass,
                format!("{code}: {} questions", d.attributes.len()),
            ),
            Err(e) => report.line("service definition", Verdict::Fail, format!("{code}: {e}")),
        },
        None => report.line(
            "service definition",
            Verdict::Pass,
            "no service has questions",
        ),
    }

    // The request list and what it carries.
    let all = match c.requests(&RequestQuery::default()).await {
        Ok(page) => {
            report.line(
                "request list",
                Verdict::Pass,
                format!("{} requests", page.requests.len()),
            );
            page.requests
        }
        Err(e) => {
            report.line("request list", Verdict::Fail, e.to_string());
            Vec::new()
        }
    };
    if !all.is_empty() {
        if all.iter().all(|r| r.lat.is_none() && r.address.is_none()) {
            report.line(
                "positions in lists",
                Verdict::Quirk,
                "requests carry no position or address: a lost answer is matched on its words",
            );
        } else {
            report.line("positions in lists", Verdict::Pass, "listed");
        }
        let mut own: Vec<String> = all
            .iter()
            .filter_map(|r| r.status.clone())
            .filter(|s| s != "open" && s != "closed")
            .collect();
        own.sort();
        own.dedup();
        if own.is_empty() {
            report.line("statuses", Verdict::Pass, "open and closed");
        } else {
            report.line(
                "statuses",
                Verdict::Quirk,
                format!(
                    "the city's own values {}: map them in status_map",
                    own.join(", ")
                ),
            );
            quirks.insert(
                "status_map".into(),
                own.iter()
                    .map(|s| (s.clone(), json!("open or closed?")))
                    .collect(),
            );
        }
    }

    // Each filter: an answer that contradicts it means the server ignores it.
    let code = all
        .iter()
        .find_map(|r| r.service_code.clone())
        .unwrap_or_else(|| services[0].code.clone());
    let filter =
        |name: &str, result: Result<RequestPage, Open311Error>, report: &mut Report| match result {
            Ok(page) if page.contradicted => report.line(
                name,
                Verdict::Quirk,
                "ignored: the answer contradicts it (filtered on the device)",
            ),
            Ok(page) => report.line(
                name,
                Verdict::Pass,
                format!("{} requests", page.requests.len()),
            ),
            Err(e) => report.line(name, Verdict::Fail, e.to_string()),
        };
    let by_service = RequestQuery {
        service_codes: vec![code.clone()],
        ..Default::default()
    };
    filter(
        "filter service_code",
        c.requests(&by_service).await,
        &mut report,
    );
    let by_status = RequestQuery {
        statuses: vec!["open".into()],
        ..Default::default()
    };
    filter("filter status", c.requests(&by_status).await, &mut report);
    // A window that leaves out all but the newest listed requests, so that a server that
    // ignores it shows it.
    let newest = all.iter().filter_map(|r| r.requested_at).max();
    let by_date = RequestQuery {
        start: Some(newest.map_or(Utc::now() - Duration::days(30), |t| {
            t - Duration::minutes(1)
        })),
        end: Some(Utc::now() + Duration::minutes(10)),
        ..Default::default()
    };
    match c.requests(&by_date).await {
        Err(Open311Error::Rejected { .. }) => {
            let mut zoneless = config.clone();
            zoneless.quirks.omit_timezone_in_queries = true;
            match client(&zoneless).requests(&by_date).await {
                Ok(_) => {
                    report.line(
                        "filter start_date/end_date",
                        Verdict::Quirk,
                        "dates with a zone refused; taken without one",
                    );
                    quirks.insert("omit_timezone_in_queries".into(), json!(true));
                }
                Err(e) => report.line("filter start_date/end_date", Verdict::Fail, e.to_string()),
            }
        }
        result => filter("filter start_date/end_date", result, &mut report),
    }
    let known_id = all.iter().find_map(|r| r.id.clone());
    if let Some(id) = &known_id {
        let by_id = RequestQuery {
            ids: vec![id.clone()],
            ..Default::default()
        };
        filter(
            "filter service_request_id",
            c.requests(&by_id).await,
            &mut report,
        );
        match c.request(id).await {
            Ok(r) if r.id.as_ref() == Some(id) => {
                report.line("request by id", Verdict::Pass, format!("requests/{id}"))
            }
            Ok(_) => report.line("request by id", Verdict::Fail, "another request came back"),
            Err(e) => report.line("request by id", Verdict::Fail, e.to_string()),
        }
    } else {
        report.line(
            "filter service_request_id",
            Verdict::Quirk,
            "no request listed to try it with",
        );
    }

    paging(&c, all.len(), &mut report, &mut quirks).await;
    extensions(config, &mut report, &mut quirks).await;
    position_filter(config, &all, &mut report, &mut quirks).await;

    // Tokens and errors, with names that cannot exist.
    match c.resolve_token("curbside-check-no-such-token").await {
        Err(Open311Error::NotFound { .. }) => {
            report.line("tokens", Verdict::Pass, "an unknown token is a 404")
        }
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

    if args.write {
        write_probes(config, chosen.unwrap_or(code), &all, &mut report).await;
    }

    let pagination = quirks.remove("pagination");
    report.recommended = json!({"server": {
        "endpoint": config.endpoint,
        "format": format.suffix(),
        "quirks": Value::Object({
            let mut q = quirks;
            if let Some(p) = pagination { q.insert("pagination".into(), p); }
            q
        }),
    }});
    report
}

/// The discovery document, next to the endpoint or at the server's root.
async fn discovery(config: &ServerConfig, report: &mut Report) {
    let file = format!("discovery.{}", config.format.suffix());
    let endpoint = config.endpoint.trim_end_matches('/');
    let root = match endpoint.find("://") {
        Some(at) => {
            let host_end = endpoint[at + 3..]
                .find('/')
                .map_or(endpoint.len(), |i| at + 3 + i);
            &endpoint[..host_end]
        }
        None => endpoint,
    };
    for url in [format!("{endpoint}/{file}"), format!("{root}/{file}")] {
        if let Ok(d) = Open311Client::discover(&url, None).await {
            let detail = format!(
                "{url} (changeset {})",
                d.changeset.as_deref().unwrap_or("none")
            );
            report.line("discovery", Verdict::Pass, detail);
            return;
        }
    }
    report.line(
        "discovery",
        Verdict::Quirk,
        "no discovery document next to the endpoint or at its root",
    );
}

/// With `--write`: a POST with a wrong key, then one probe request, looked for at once.
async fn write_probes(
    config: &ServerConfig,
    code: String,
    listed: &[ServiceRequest],
    report: &mut Report,
) {
    let position = listed
        .iter()
        .find_map(|r| r.lat.zip(r.long))
        .or(Some((38.8893, -77.0502)));
    let c = client(config);
    // The service's required questions, answered with the first allowed value.
    let attributes = match c.service_definition(&code).await {
        Ok(definition) => definition
            .attributes
            .iter()
            .filter(|a| a.variable && a.required)
            .map(|a| AttributeAnswer {
                code: a.code.clone(),
                values: vec![match a.datatype {
                    Datatype::SingleValueList | Datatype::MultiValueList => {
                        a.values.first().map(|v| v.key.clone()).unwrap_or_default()
                    }
                    Datatype::Number => "1".into(),
                    Datatype::Datetime => Utc::now().to_rfc3339(),
                    _ => "probe".into(),
                }],
                multiple: a.datatype == Datatype::MultiValueList,
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let probe = NewRequest {
        service_code: code.clone(),
        position,
        attributes,
        description: Some(format!(
            "Curbside conformance probe {}: please ignore or close",
            Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        )),
        ..Default::default()
    };
    let mut wrong = config.clone();
    wrong.api_key = Some(ApiKey::new("curbside-check-wrong-key"));
    match client(&wrong).submit(&probe).await {
        Err(Open311Error::Auth {
            status: 401 | 403, ..
        }) => report.line("wrong api_key", Verdict::Pass, "refused with 401/403"),
        Err(Open311Error::Auth { status, messages }) => report.line(
            "wrong api_key",
            Verdict::Quirk,
            format!(
                "refused with HTTP {status} ({}): Curbside reads it as a key problem",
                messages.first().map_or("", |m| m.description.as_str())
            ),
        ),
        Ok(_) => report.line(
            "wrong api_key",
            Verdict::Fail,
            "a wrong key was accepted (a probe request was created)",
        ),
        Err(e) => report.line(
            "wrong api_key",
            Verdict::Fail,
            format!("not recognisable as a key problem: {e}"),
        ),
    }
    let started = Utc::now() - Duration::minutes(10);
    let id = match c.submit(&probe).await {
        Ok(Submission::Created { id, .. }) => {
            report.line("POST requests", Verdict::Pass, format!("created {id}"));
            Some(id)
        }
        Ok(Submission::Queued { token, .. }) => {
            report.line(
                "POST requests",
                Verdict::Pass,
                format!("queued with token {token}"),
            );
            None
        }
        Ok(Submission::Accepted { .. }) => {
            report.line(
                "POST requests",
                Verdict::Quirk,
                "accepted without an id or a token",
            );
            None
        }
        Err(e) => {
            report.line("POST requests", Verdict::Fail, e.to_string());
            None
        }
    };
    if let Some(id) = id {
        let query = RequestQuery {
            service_codes: vec![code],
            start: Some(started),
            ..Default::default()
        };
        match c.requests(&query).await {
            Ok(page) if page.requests.iter().any(|r| r.id.as_ref() == Some(&id)) => report.line(
                "new request listed",
                Verdict::Pass,
                "found at once by service and time",
            ),
            Ok(_) => report.line(
                "new request listed",
                Verdict::Quirk,
                "not listed at once (a cached list?): a lost answer cannot be checked there",
            ),
            Err(e) => report.line("new request listed", Verdict::Fail, e.to_string()),
        }
    }
}

fn client(config: &ServerConfig) -> Open311Client {
    Open311Client::new(config.clone()).expect("checked before")
}

fn other(format: Format) -> Format {
    match format {
        Format::Json => Format::Xml,
        Format::Xml => Format::Json,
    }
}
