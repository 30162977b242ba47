//! `curbside check URL`: a conformance report for a live GeoReport v2 endpoint, one line per
//! spec point, ending with a city profile that holds every quirk found, ready to use once the
//! city's api_key is added.
//!
//! A line says only what an answer proved: `pass` when the answer shows the point works (a
//! filter that left out listed requests it excludes, a status seen both in lists and by id),
//! `quirk` when it works differently (ignored, applied backwards, refused by name), `FAIL`
//! when Curbside cannot work with it, and `untried` when nothing listed could show it (no
//! request of another status to leave out, no request at all). Reads only, unless `--write`
//! allows probe POSTs: one with a wrong key (refused, whatever the status) and one real
//! request with a photo, marked as a probe, sent again without the photo or with the
//! attribute a refusal names when the server asks for that.

use chrono::{Duration, Utc};
use clap::Args;
use curbside_core::open311::{
    ApiKey, Area, AttributeAnswer, Datatype, Format, MediaFile, MediaUpload, NewRequest,
    Open311Client, Open311Error, Pagination, PositionFilter, RequestPage, RequestQuery,
    ServerConfig, Service, ServiceRequest, Submission,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

mod extensions;
mod lists;
mod write;

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
    /// Also POST: a request with a wrong key (refused) and one probe request with a photo.
    #[arg(long)]
    write: bool,
}

/// How one spec point went.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    /// As the spec says, and the answer proved it.
    Pass,
    /// Broken: Curbside cannot work with this part.
    Fail,
    /// Works, differently from the spec: a profile quirk handles it.
    Quirk,
    /// Nothing the server listed could show whether it works.
    Untried,
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
    /// A city profile with every quirk found: `{"id", "name", "server": {...}}`, complete
    /// once the city's `api_key` is added to `server`.
    recommended: Value,
    /// What this device learnt of the server from earlier answers, with when.
    learnt: Vec<curbside_core::city::LearntQuirk>,
    /// The date filters were seen applied wrongly: later searches go without dates.
    #[serde(skip)]
    dates_wrong: bool,
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

/// The quirks found so far, as profile settings.
type Quirks = Map<String, Value>;

/// Runs the checks and prints the report.
pub(crate) fn run(
    args: CheckArgs,
    data_dir: std::path::PathBuf,
    server: &ServerArgs,
    out: &Output,
) -> curbside_core::Result<()> {
    let mut config = server.config_for(&args.url)?;
    Open311Client::new(config.clone())?; // a URL that can work, and secure
    let mut report = runtime()?.block_on(check(&args, &mut config));
    report.learnt = learnt(data_dir, &config.endpoint)?;
    out.print(&report, |r| {
        println!("Open311 conformance of {}", r.endpoint);
        for line in &r.checks {
            let verdict = match line.verdict {
                Verdict::Pass => "pass   ",
                Verdict::Fail => "FAIL   ",
                Verdict::Quirk => "quirk  ",
                Verdict::Untried => "untried",
            };
            println!("  {verdict}  {:<28} {}", line.check, line.detail);
        }
        crate::outbox::print_learnt(&r.learnt);
        println!("\nRecommended profile (add the city's \"api_key\" to \"server\"):");
        println!(
            "{}",
            serde_json::to_string_pretty(&r.recommended).unwrap_or_default()
        );
    });
    Ok(())
}

/// What this device learnt of the server at `endpoint` (under its endpoint or a profile of
/// it), if it has a database at all: `check` never creates one.
fn learnt(
    data_dir: std::path::PathBuf,
    endpoint: &str,
) -> curbside_core::Result<Vec<curbside_core::city::LearntQuirk>> {
    if !data_dir.join(curbside_core::DATABASE_FILE).exists() {
        return Ok(Vec::new());
    }
    let curbside = crate::output::open(data_dir)?;
    let same = |e: &str| e.trim_end_matches('/') == endpoint.trim_end_matches('/');
    let ids: Vec<String> = curbside
        .profiles()?
        .into_iter()
        .filter(|p| same(&p.server.endpoint))
        .map(|p| p.id)
        .chain([endpoint.to_string()])
        .collect();
    Ok(curbside
        .learnt_quirks()?
        .into_iter()
        .filter(|q| ids.contains(&q.server_id))
        .collect())
}

async fn check(args: &CheckArgs, config: &mut ServerConfig) -> Report {
    let mut report = Report {
        endpoint: config.endpoint.clone(),
        ..Default::default()
    };
    let mut quirks = Quirks::new();
    let Some((services, all)) = lists::formats(config, &mut report).await else {
        report.recommended = profile(config, Quirks::new());
        return report;
    };
    let c = client(config);
    discovery(config, &mut report).await;
    let chosen = definition(&c, &services, args.service.as_deref(), &mut report).await;
    lists::positions(&all, &mut report);
    let code = lists::filters(&c, &all, &services, &mut report, &mut quirks).await;
    extensions::paging(&c, all.len(), &mut report, &mut quirks).await;
    extensions::extensions(config, &mut report, &mut quirks).await;
    extensions::position_filter(config, &all, &mut report, &mut quirks).await;
    lists::tokens_and_errors(&c, &mut report).await;

    if let Some(reference) = &config.quirks.client_reference_attribute {
        quirks.insert("client_reference_attribute".into(), json!(reference));
    }
    if args.write {
        let code = chosen.unwrap_or(code);
        write::probes(config, code, &all, &mut report, &mut quirks).await;
    } else {
        report.line(
            "photos",
            Verdict::Untried,
            "a probe POST is needed (--write): the profile sends media_url only",
        );
    }
    report.recommended = profile(config, quirks);
    report
}

/// The profile recommended: an id and a name from the host, and the server with its quirks.
fn profile(config: &ServerConfig, quirks: Quirks) -> Value {
    let host = url_host(&config.endpoint);
    let id: String = host
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_lowercase(),
            false => '-',
        })
        .collect();
    let mut server = json!({
        "endpoint": config.endpoint,
        "format": config.format.suffix(),
        "quirks": quirks,
    });
    if let Some(jurisdiction) = &config.jurisdiction_id {
        server["jurisdiction_id"] = json!(jurisdiction);
    }
    if config.allow_insecure_http {
        server["allow_insecure_http"] = json!(true);
    }
    json!({ "id": id, "name": host, "server": server })
}

fn url_host(endpoint: &str) -> String {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

/// A service's questions: the one asked for, or the first with questions. A service without
/// them (`metadata=false`) needs no definition.
async fn definition(
    c: &Open311Client,
    services: &[Service],
    asked: Option<&str>,
    report: &mut Report,
) -> Option<String> {
    let chosen = match asked {
        Some(code) => services.iter().find(|s| s.code == code),
        None => services.iter().find(|s| s.metadata),
    };
    let name = "service definition";
    match chosen {
        Some(s) if !s.metadata => report.line(
            name,
            Verdict::Pass,
            format!("{}: no questions (metadata=false), none needed", s.code),
        ),
        Some(s) => match c.service_definition(&s.code).await {
            Ok(d) => report.line(
                name,
                Verdict::Pass,
                format!("{}: {} questions", s.code, d.attributes.len()),
            ),
            Err(e) => report.line(name, Verdict::Fail, format!("{}: {e}", s.code)),
        },
        None if asked.is_some() => report.line(
            name,
            Verdict::Fail,
            format!("{} is not in the service list", asked.unwrap_or_default()),
        ),
        None => report.line(name, Verdict::Untried, "no service has questions"),
    }
    chosen.map(|s| s.code.clone())
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

fn client(config: &ServerConfig) -> Open311Client {
    Open311Client::new(config.clone()).expect("checked before")
}

fn other(format: Format) -> Format {
    match format {
        Format::Json => Format::Xml,
        Format::Xml => Format::Json,
    }
}
