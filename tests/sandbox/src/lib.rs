//! A real GeoReport v2 server on loopback: the whole protocol in JSON and XML, realtime and
//! batch (token) services, service definitions with every datatype, multipart media,
//! pagination, SQLite storage, and faults that can be switched on per run or per request.
//!
//! Tests start it in-process (`Sandbox::start`); people run it with `curbside sandbox --port N`.
//! A fault can also ride in the URL: `http://127.0.0.1:PORT/fault/commit_then_drop/open311/v2/`
//! applies it to every request made through that endpoint. Its admin routes switch faults and
//! move requests along:
//! `POST /_sandbox/faults` (`fault=stall:2000&scope=post&mode=next|always|clear`) and
//! `POST /_sandbox/requests/{id}/status` (`status=closed&note=Fixed`).
//!
//! Modes (`modes.rs`) make it as stubborn as real servers: Content-Length only, lists
//! without positions, strict parameters, filters ignored with a row cap, status ids, 400 for
//! a bad key, 500 debug pages, a neighbour's identical report, errors without the wrapper, a
//! slow server, a clock off, local times labelled `Z`, a lagging search index, date filters
//! applied backwards, answers without an id, refusals that echo the request body, a server
//! of the spec only (no paging, no position filter, the newest 1,000 in 90 days), XML items
//! named `<service_request>`, status ids on single requests, a required client reference.
//! On per run (`SandboxConfig::modes`, `POST /_sandbox/modes` with `mode=M&on=true|false`
//! or `mode=clear`) or per request (`/mode/M1,M2/open311/v2/`).

mod catalog;
mod faults;
mod modes;
mod render;
mod server;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use faults::{Fault, Faults, Scope};
pub use modes::{Mode, Modes};
pub use store::StoredRequest;

/// How the sandbox city behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The api_key POSTs must carry; `None` accepts any.
    pub api_key: Option<String>,
    /// Where to keep requests; `None` keeps them in memory.
    pub database: Option<PathBuf>,
    /// Attribute holding a client's own reference; a second POST with the same value is
    /// refused as a duplicate, as real CRMs do.
    pub client_reference_attribute: Option<String>,
    /// Modes on from the start.
    pub modes: Vec<Mode>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            api_key: Some("sandbox-key".into()),
            database: None,
            client_reference_attribute: Some("curbside_id".into()),
            modes: Vec::new(),
        }
    }
}

/// A running sandbox server. It stops when dropped.
pub struct Sandbox {
    addr: SocketAddr,
    state: Arc<server::State>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Sandbox {
    /// Starts serving on `127.0.0.1:port` (0 for any free port) on the current tokio runtime.
    pub async fn start(config: SandboxConfig, port: u16) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let store =
            store::Store::open(config.database.as_deref()).map_err(std::io::Error::other)?;
        let modes = Modes::default();
        for mode in &config.modes {
            modes.on(*mode);
        }
        let state = Arc::new(server::State {
            config,
            store,
            faults: Faults::default(),
            modes,
            addr,
            posts: Default::default(),
            changeset: std::sync::Mutex::new("2026-11-01T00:00:00Z".into()),
            log: Default::default(),
        });
        let task = tokio::spawn(server::serve(listener, Arc::clone(&state)));
        Ok(Sandbox {
            addr,
            state,
            task: std::sync::Mutex::new(Some(task)),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The GeoReport v2 endpoint, such as `http://127.0.0.1:8311/open311/v2/`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/open311/v2/", self.addr)
    }

    /// The discovery document's URL (JSON).
    pub fn discovery_url(&self) -> String {
        format!("http://{}/discovery.json", self.addr)
    }

    /// Changes the catalog's changeset in the discovery document (as a city does when it
    /// edits its services).
    pub fn set_changeset(&self, changeset: &str) {
        *self.state.changeset.lock().unwrap() = changeset.into();
    }

    /// The fault plan.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// How many POSTs of requests reached the server, accepted or not.
    pub fn posts(&self) -> usize {
        self.state.posts.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every protocol request received so far (admin routes aside), as `METHOD path?query`.
    pub fn log(&self) -> Vec<String> {
        self.state.log.lock().unwrap().clone()
    }

    /// The modes on for the whole run.
    pub fn modes(&self) -> &Modes {
        &self.state.modes
    }

    /// Stores `count` requests from other citizens, spread over the past `count` hours and
    /// over every service, a third of them closed, as a city's history (for servers that list
    /// only their oldest rows).
    pub fn seed(&self, count: usize) {
        let codes = ["streetlight", "graffiti", "pothole", "parks/tree trimming"];
        let now = chrono::Utc::now();
        for i in 0..count {
            let at = now - chrono::Duration::hours((count - i) as i64);
            let fields = vec![
                ("description".to_string(), format!("older report {i}")),
                (
                    "lat".to_string(),
                    format!("{:.5}", 38.85 + (i % 97) as f64 * 0.001),
                ),
                (
                    "long".to_string(),
                    format!("{:.5}", -77.09 + (i % 89) as f64 * 0.001),
                ),
            ];
            let stored =
                self.state
                    .store
                    .insert_at(codes[i % codes.len()], false, fields, vec![], at);
            if i % 3 == 2 {
                self.state.store.set_status(&stored.id, "closed", "Done");
            }
        }
    }

    /// Stores one request from another citizen, at a place and a time (open data for the
    /// nearby tests); its id.
    pub fn seed_at(
        &self,
        service_code: &str,
        latitude: f64,
        longitude: f64,
        description: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> String {
        let fields = vec![
            ("description".to_string(), description.to_string()),
            ("lat".to_string(), format!("{latitude:.6}")),
            ("long".to_string(), format!("{longitude:.6}")),
        ];
        self.state
            .store
            .insert_at(service_code, false, fields, vec![], at)
            .id
    }

    /// Every stored request, oldest first.
    pub fn requests(&self) -> Vec<StoredRequest> {
        self.state.store.list(&Default::default())
    }

    /// Changes a request's status as the city would, with a note for its history.
    pub fn set_status(&self, id: &str, status: &str, note: &str) -> Option<StoredRequest> {
        self.state.store.set_status(id, status, note)
    }

    /// A dead zone, as the phone sees it: `false` stops listening and closes every open
    /// connection (a new one is refused); `true` listens again on the same address, with
    /// everything stored kept.
    pub async fn set_reachable(&self, reachable: bool) -> std::io::Result<()> {
        let running = self.task.lock().unwrap().take();
        if let Some(task) = running {
            task.abort();
            let _ = task.await;
        }
        if reachable {
            let listener = tokio::net::TcpListener::bind(self.addr).await?;
            let task = tokio::spawn(server::serve(listener, Arc::clone(&self.state)));
            *self.task.lock().unwrap() = Some(task);
        }
        Ok(())
    }

    /// Serves until the process ends (for `curbside sandbox`).
    pub async fn run_forever(self) {
        let task = self.task.lock().unwrap().take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().unwrap().take() {
            task.abort();
        }
    }
}

/// Says a test could not run: `SKIPPED: reason` on stderr and a line in the file named by
/// `CURBSIDE_SKIP_LOG`, which `tests/run` counts in its summary. Under CI (`CI=true`), where
/// `../shared` and every tool are present, a skip is a failure.
pub fn skipped(reason: &str) {
    eprintln!("SKIPPED: {reason}");
    if let Some(log) = std::env::var_os("CURBSIDE_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            // One write of a whole line: appends from parallel tests never interleave.
            let _ = file.write_all(format!("{reason}\n").as_bytes());
        }
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "SKIPPED under CI, where everything a test needs is present: {reason}"
    );
}
