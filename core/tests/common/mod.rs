//! Helpers shared by the outbox tests: a sandbox server config, fast retries, a report
//! draft, draining the outbox.
#![allow(dead_code)] // each test file uses its own part

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use curbside_core::open311::{ApiKey, AttributeAnswer, ServerConfig};
use curbside_core::outbox::{Report, ReportState, RetryPolicy, Timing};
use curbside_core::{Curbside, DraftFields, Location, LocationSource};
use curbside_sandbox::Sandbox;

pub const SERVER: &str = "sandbox";

pub fn fast() -> RetryPolicy {
    RetryPolicy {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
        token_poll: Duration::from_millis(10),
        max_checks: 12,
    }
}

pub fn server(sandbox: &Sandbox) -> ServerConfig {
    let mut config = ServerConfig::new(sandbox.endpoint());
    config.api_key = Some(ApiKey::new("sandbox-key"));
    config.limits.read_timeout = Duration::from_millis(500);
    // A POST's deadline: "not found" is concluded only after it.
    config.limits.upload_timeout = Duration::from_secs(2);
    config
}

/// The engine's clocks, shortened: a 5 s lease, "not found" confirmed after 300 ms.
pub fn quick() -> Timing {
    Timing {
        lease: Duration::from_secs(5),
        confirm_wait: Duration::from_millis(300),
    }
}

pub fn open(dir: &Path, sandbox: &Sandbox) -> Curbside {
    let curbside = Curbside::open(dir).unwrap();
    curbside.set_server(SERVER, server(sandbox)).unwrap();
    curbside.set_retry_policy(fast());
    curbside.set_timing(quick());
    curbside
}

pub fn pothole(description: &str) -> DraftFields {
    DraftFields {
        service_code: Some("pothole".into()),
        location: Some(Location {
            latitude: 38.8893,
            longitude: -77.0502,
            accuracy_m: Some(5.0),
            source: LocationSource::Gps,
            captured_at: Utc::now(),
        }),
        description: description.into(),
        attributes: vec![
            AttributeAnswer {
                code: "WHERE".into(),
                values: vec!["road".into()],
                multiple: false,
            },
            AttributeAnswer {
                code: "DEPTH".into(),
                values: vec!["7".into()],
                multiple: false,
            },
        ],
        ..Default::default()
    }
}

pub fn submit(curbside: &Curbside, fields: DraftFields) -> Report {
    let draft = curbside.create_draft(fields).unwrap();
    curbside.submit(&draft.id, SERVER).unwrap()
}

pub async fn drain(curbside: &Curbside) {
    let until = Instant::now() + Duration::from_secs(600);
    while Instant::now() < until {
        curbside
            .run_pending(Instant::now() + Duration::from_secs(30))
            .await
            .unwrap();
        if curbside
            .reports()
            .unwrap()
            .iter()
            .all(|r| !matches!(r.state, ReportState::Queued | ReportState::Sending { .. }))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("not drained: {:#?}", curbside.reports().unwrap());
}

/// How many times the server holds a report with this description.
pub fn on_server(sandbox: &Sandbox, description: &str) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.field("description") == Some(description))
        .count()
}

/// A reproducible die with 100 faces (xorshift from `seed`), for fault matrices.
pub fn percent_dice(seed: u64) -> impl FnMut() -> u64 {
    let mut rng = seed;
    move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % 100
    }
}

/// Every byte of the data directory's files (the database, its WAL, salvage copies).
pub fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    bytes
}

/// Whether `needle` occurs in `haystack`.
pub fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Each pass of the worker as it starts ("worker pass" in the log), with what the network hint
/// said then (what the pass goes by): a test waits for a pass instead of sleeping. Installed for the calling thread, so
/// the worker must run on it (a current-thread runtime); keep the guard.
pub fn worker_passes() -> (
    tokio::sync::mpsc::UnboundedReceiver<bool>,
    tracing::subscriber::DefaultGuard,
) {
    use tracing_subscriber::layer::SubscriberExt;
    let (sender, passes) = tokio::sync::mpsc::unbounded_channel();
    let subscriber = tracing_subscriber::registry().with(Passes(sender));
    (passes, tracing::subscriber::set_default(subscriber))
}

struct Passes(tokio::sync::mpsc::UnboundedSender<bool>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Passes {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        #[derive(Default)]
        struct Fields {
            idle: bool,
            online: Option<bool>,
        }
        impl tracing::field::Visit for Fields {
            fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
                if field.name() == "online" {
                    self.online = Some(value);
                }
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.idle = format!("{value:?}") == "worker pass";
                }
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let (true, Some(online)) = (fields.idle, fields.online) {
            let _ = self.0.send(online);
        }
    }
}
