//! The commands that talk to an Open311 server, and `curbside sandbox`.

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use curbside_core::city::{to_geojson, CityProfile, Coverage, OpenData};
use curbside_core::open311::{
    ApiKey, Format, Open311Client, Open311Error, RequestQuery, ServerConfig,
};
use curbside_sandbox::{Fault, Mode, Sandbox, SandboxConfig};

use crate::output::Output;
use crate::Command;

/// Which server to talk to, on every command that talks to one.
#[derive(Args)]
pub(crate) struct ServerArgs {
    /// The GeoReport v2 endpoint, such as https://311.city.gov/open311/v2/.
    #[arg(long, global = true, value_name = "URL", env = "CURBSIDE_SERVER")]
    server: Option<String>,
    /// Response format the server is asked for.
    #[arg(long, global = true, value_enum, default_value = "json")]
    format: WireFormat,
    /// The city's api_key for this app (or set CURBSIDE_API_KEY).
    #[arg(
        long,
        global = true,
        value_name = "KEY",
        env = "CURBSIDE_API_KEY",
        hide_env_values = true
    )]
    api_key: Option<String>,
    /// jurisdiction_id, for endpoints that serve several.
    #[arg(long, global = true, value_name = "ID")]
    jurisdiction: Option<String>,
    /// Allow plain http to a host other than loopback (development servers only).
    #[arg(long, global = true)]
    insecure_http: bool,
    /// The server takes photos as multipart `media` parts in the POST.
    #[arg(long, global = true)]
    multipart_media: bool,
    /// Attribute code in which the server keeps the app's own report id.
    #[arg(long, global = true, value_name = "CODE")]
    client_reference: Option<String>,
    /// The longest a POST may take, in seconds (300 by default): until then a POST whose
    /// answer was lost may still arrive, so it is not searched for as absent before.
    #[arg(long, global = true, value_name = "SECS", value_parser = crate::numbers::post_timeout)]
    post_timeout: Option<f64>,
    /// A city profile (JSON), instead of --server and the options above.
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "server")]
    profile: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum WireFormat {
    Json,
    Xml,
}

impl ServerArgs {
    pub(crate) fn client(&self) -> curbside_core::Result<Open311Client> {
        Ok(Open311Client::new(self.config()?)?)
    }

    /// The server settings these options give.
    /// The city profile given with --profile, parsed and checked.
    pub(crate) fn city(&self) -> curbside_core::Result<Option<CityProfile>> {
        let Some(path) = &self.profile else {
            return Ok(None);
        };
        let json = read_profile(path).map_err(|reason| curbside_core::Error::InvalidProfile {
            field: "profile".into(),
            reason: format!("cannot read {}: {reason}", path.display()),
        })?;
        let mut city = CityProfile::parse(&json)?;
        // Given apart (an option or CURBSIDE_API_KEY), the key replaces the document's.
        if let Some(key) = &self.api_key {
            city.server.api_key = Some(ApiKey::new(key.clone()));
        }
        if let Some(secs) = self.post_timeout {
            city.server.limits.upload_timeout = std::time::Duration::from_secs_f64(secs);
        }
        Ok(Some(city))
    }

    /// Whether these options name a server (`--server`, `CURBSIDE_SERVER` or `--profile`).
    pub(crate) fn named(&self) -> bool {
        self.server.is_some() || self.profile.is_some()
    }

    /// Registers the server these options name in `curbside` (the profile's, under its id;
    /// else the endpoint's, under the endpoint), with its key for this process; its id. The
    /// one way `report` and `sync` set a server up, so that a report is sent with the key of
    /// the city it belongs to.
    pub(crate) fn register(
        &self,
        curbside: &curbside_core::Curbside,
    ) -> curbside_core::Result<String> {
        if self.city()?.is_some() {
            return Ok(self.load_city(curbside)?.id);
        }
        let config = self.config()?;
        let id = config.endpoint.clone();
        curbside.set_server(&id, config)?;
        Ok(id)
    }

    /// The profile to use: --profile's, or one made from --server and its options (id
    /// `server`), loaded into `curbside`'s data directory.
    pub(crate) fn load_city(
        &self,
        curbside: &curbside_core::Curbside,
    ) -> curbside_core::Result<CityProfile> {
        // A key is never serialised: it goes beside the document.
        let (json, key) = match self.city()? {
            Some(city) => (
                serde_json::to_string(&city).expect("serializable"),
                city.server.api_key,
            ),
            None => {
                let config = self.config()?;
                let json =
                    serde_json::json!({ "id": "server", "name": "Server", "server": config });
                (json.to_string(), config.api_key)
            }
        };
        curbside.add_profile_with(&json, |_| key, None)
    }

    pub(crate) fn config(&self) -> curbside_core::Result<ServerConfig> {
        if let Some(city) = self.city()? {
            return Ok(city.server);
        }
        let endpoint = self.server.clone().ok_or(Open311Error::Config {
            reason: "no server: give --server URL or --profile FILE (or set CURBSIDE_SERVER)"
                .into(),
        })?;
        self.config_for(&endpoint)
    }

    /// The settings these options give for the server at `endpoint`.
    pub(crate) fn config_for(&self, endpoint: &str) -> curbside_core::Result<ServerConfig> {
        let mut config = ServerConfig::new(endpoint);
        config.format = match self.format {
            WireFormat::Json => Format::Json,
            WireFormat::Xml => Format::Xml,
        };
        config.api_key = self.api_key.clone().map(ApiKey::new);
        config.jurisdiction_id = self.jurisdiction.clone();
        config.allow_insecure_http = self.insecure_http;
        config.app_name = Some(format!("curbside-cli/{}", env!("CARGO_PKG_VERSION")));
        if self.multipart_media {
            config.quirks.media = curbside_core::open311::MediaUpload::Multipart;
        }
        config.quirks.client_reference_attribute = self.client_reference.clone();
        if let Some(secs) = self.post_timeout {
            config.limits.upload_timeout = std::time::Duration::from_secs_f64(secs);
        }
        Ok(config)
    }
}

/// The largest profile document read (a real one, with a detailed service area, is tens of KB).
const MAX_PROFILE_BYTES: u64 = 1024 * 1024;

/// Reads a profile: a regular file of at most [`MAX_PROFILE_BYTES`], counted while reading.
fn read_profile(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    if !std::fs::metadata(path)
        .map_err(|e| e.to_string())?
        .is_file()
    {
        return Err("not a regular file".into());
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(|e| e.to_string())?
        .take(MAX_PROFILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_PROFILE_BYTES {
        return Err(format!("larger than {} KiB", MAX_PROFILE_BYTES / 1024));
    }
    Ok(text)
}

/// Filters of `curbside requests`.
#[derive(Args)]
pub(crate) struct RequestsArgs {
    /// Only these ids (repeatable); overrides every other filter.
    #[arg(long = "id", value_name = "ID")]
    ids: Vec<String>,
    /// Only these services (repeatable).
    #[arg(long = "service", value_name = "CODE")]
    services: Vec<String>,
    /// Only these statuses: open, closed (repeatable).
    #[arg(long = "status", value_name = "STATUS")]
    statuses: Vec<String>,
    /// Reported at or after (RFC 3339).
    #[arg(long, value_name = "TIME")]
    start: Option<DateTime<Utc>>,
    /// Reported at or before (RFC 3339).
    #[arg(long, value_name = "TIME")]
    end: Option<DateTime<Utc>>,
    /// Page to fetch.
    #[arg(long)]
    page: Option<u32>,
    /// Requests per page.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    page_size: Option<u32>,
    /// Include notes and extended attributes (extensions=true).
    #[arg(long)]
    extensions: bool,
    /// Only requests near a place, LAT,LONG (nearest first; cached for offline use).
    #[arg(long, value_name = "LAT,LONG", allow_hyphen_values = true, value_parser = crate::numbers::position)]
    pub(crate) near: Option<String>,
    /// Radius around --near, in metres.
    #[arg(long, default_value_t = 50.0, requires = "near", allow_negative_numbers = true, value_parser = crate::numbers::radius)]
    pub(crate) radius: f64,
    /// Only requests inside a map's viewport, SOUTH,WEST,NORTH,EAST (cached for offline use).
    #[arg(
        long,
        value_name = "S,W,N,E",
        allow_hyphen_values = true,
        conflicts_with = "near",
        value_parser = crate::numbers::bbox
    )]
    pub(crate) bbox: Option<String>,
    /// Print the requests as a GeoJSON FeatureCollection.
    #[arg(long)]
    pub(crate) geojson: bool,
}

impl RequestsArgs {
    /// The one service filter, for --near.
    pub(crate) fn service(&self) -> Option<&str> {
        self.services.first().map(String::as_str)
    }

    /// True when only open requests are wanted.
    pub(crate) fn open_only(&self) -> bool {
        self.statuses.iter().any(|s| s == "open") && !self.statuses.iter().any(|s| s == "closed")
    }
}

/// Options of `curbside sandbox`.
#[derive(Args)]
pub(crate) struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one; the first line printed says which).
    #[arg(long, default_value_t = 8311)]
    port: u16,
    /// Keep requests in this SQLite file instead of in memory.
    #[arg(long, value_name = "FILE")]
    database: Option<std::path::PathBuf>,
    /// The api_key POSTs must carry.
    #[arg(long = "sandbox-key", default_value = "sandbox-key")]
    key: String,
    /// A fault on every request: commit_then_drop, commit_then_504, 503, 429[:SECS],
    /// stall[:MS], reset, captive_portal, trickle[:BYTES_PER_SEC].
    #[arg(long)]
    fault: Option<String>,
    /// Behave as a real server does (repeatable, or comma-separated): content_length_only,
    /// no_positions, strict_params, ignore_filters[:CAP], status_ids, key_400, refuse_500,
    /// neighbour_twin, bare_errors.
    #[arg(long = "mode", value_name = "MODE")]
    modes: Vec<String>,
}

/// A tokio runtime for the commands that talk to servers.
pub(crate) fn runtime() -> curbside_core::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .build()
        .map_err(|e| {
            Open311Error::Config {
                reason: format!("cannot start the runtime: {e}"),
            }
            .into()
        })
}

pub(crate) fn run(
    command: Command,
    server: &ServerArgs,
    out: &Output,
) -> curbside_core::Result<()> {
    runtime()?.block_on(async {
        match command {
            Command::Discover { url } => {
                out.print(&Open311Client::discover(&url, None).await?, |d| {
                    for e in &d.endpoints {
                        println!(
                            "{}  {}  [{}]  {}",
                            e.url,
                            e.kind.as_deref().unwrap_or("-"),
                            e.formats.join(", "),
                            e.specification
                        );
                    }
                })
            }
            Command::Services => out.print(&server.client()?.services().await?, |services| {
                for s in services {
                    let questions = if s.metadata { " (has questions)" } else { "" };
                    println!("{:<24} {}{questions}", s.code, s.name);
                }
            }),
            Command::Service { code } => {
                out.print(&server.client()?.service_definition(&code).await?, |d| {
                    for a in &d.attributes {
                        let required = if a.required { "*" } else { " " };
                        println!(
                            "{required}{:<12} {:?}  {}",
                            a.code, a.datatype, a.description
                        );
                        for v in &a.values {
                            println!("               {} = {}", v.key, v.name);
                        }
                    }
                })
            }
            Command::Requests(args) => {
                let query = RequestQuery {
                    ids: args.ids,
                    service_codes: args.services,
                    statuses: args.statuses,
                    start: args.start,
                    end: args.end,
                    extensions: args.extensions,
                    page: args.page,
                    page_size: args.page_size,
                    area: None,
                };
                let page = server.client()?.requests(&query).await?;
                let about = OpenData {
                    value: (),
                    fetched_at: Utc::now(),
                    stale: false,
                    coverage: Coverage {
                        queries: 1,
                        listed: page.listed_ids.len() as u32,
                        partial: page.next_page.is_some(),
                        contradicted: page.contradicted && !page.dates_only,
                        dates_unreliable: page.dates_only,
                    },
                };
                if args.geojson {
                    println!("{}", to_geojson(&about, &page.requests));
                    return Ok(());
                }
                out.print(&page, |page| {
                    if page.contradicted {
                        println!(
                            "(the server listed {} requests its answer should not have held: {}; filtered here)",
                            page.listed_ids.len() - page.requests.len(),
                            match page.dates_only {
                                true => "its dates disagree with the window",
                                false => "it ignored a filter or the page size",
                            }
                        );
                    }
                    for r in &page.requests {
                        println!(
                            "{:<14} {:<7} {:<20} {}",
                            r.id.as_deref().or(r.token.as_deref()).unwrap_or("-"),
                            r.status.as_deref().unwrap_or("-"),
                            r.service_code.as_deref().unwrap_or("-"),
                            r.description.as_deref().unwrap_or("")
                        );
                    }
                    if let Some(next) = page.next_page {
                        println!("(more: --page {next})");
                    }
                })
            }
            Command::Request { id } => out.print(&server.client()?.request(&id).await?, |r| {
                println!("{}", serde_json::to_string_pretty(r).unwrap_or_default())
            }),
            Command::Token { token } => out.print(
                &server.client()?.resolve_token(&token).await?,
                |id| match id {
                    Some(id) => println!("{id}"),
                    None => println!("(not processed yet)"),
                },
            ),
            Command::Sandbox(args) => {
                let mut modes = Vec::new();
                for list in &args.modes {
                    modes.extend(
                        Mode::parse_list(list).map_err(|reason| Open311Error::Config { reason })?,
                    );
                }
                let config = SandboxConfig {
                    api_key: Some(args.key.clone()),
                    database: args.database,
                    modes,
                    ..Default::default()
                };
                let sandbox =
                    Sandbox::start(config, args.port)
                        .await
                        .map_err(|e| Open311Error::Config {
                            reason: format!("cannot listen on port {}: {e}", args.port),
                        })?;
                if let Some(fault) = args.fault {
                    sandbox.faults().always(Some(
                        Fault::parse(&fault).map_err(|reason| Open311Error::Config { reason })?,
                    ));
                }
                // The first line is the endpoint, for scripts that start it with --port 0.
                println!("{}", sandbox.endpoint());
                eprintln!(
                    "Curbside sandbox: endpoint {} (api_key {}), discovery {}",
                    sandbox.endpoint(),
                    args.key,
                    sandbox.discovery_url()
                );
                sandbox.run_forever().await;
            }
            _ => unreachable!("drafts and the outbox are handled in main"),
        }
        Ok(())
    })
}
