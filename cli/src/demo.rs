//! `curbside demo`: a report with a photo, from a dead zone to confirmed by the city, against
//! a sandbox Open311 server on loopback, printing each state as it changes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use curbside_core::open311::{ApiKey, AttributeAnswer, MediaUpload, ServerConfig};
use curbside_core::outbox::{OutboxEvent, ReportState, RetryPolicy};
use curbside_core::{Curbside, DraftFields, Location, LocationSource};
use curbside_sandbox::{Fault, Sandbox, SandboxConfig, Scope};

use crate::outbox::state_line;
use crate::server::runtime;

pub(crate) fn run(data_dir: Option<PathBuf>) -> curbside_core::Result<()> {
    let start = Instant::now();
    let log =
        move |message: String| println!("[{:>5.2}s] {message}", start.elapsed().as_secs_f64());
    let dir = data_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("curbside-demo-{}", std::process::id()))
    });
    runtime()?.block_on(async move {
        let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.map_err(|e| demo_error(format!("sandbox: {e}")))?;
        log(format!("sandbox city listening at {}", sandbox.endpoint()));
        let curbside = Arc::new(Curbside::open(&dir)?);
        log(format!("Curbside data in {}", dir.display()));
        curbside.set_retry_policy(RetryPolicy {
            initial: Duration::from_millis(300),
            max: Duration::from_secs(3),
            token_poll: Duration::from_millis(300),
            ..RetryPolicy::default()
        });
        let mut config = ServerConfig::new(sandbox.endpoint());
        config.api_key = Some(ApiKey::new("sandbox-key"));
        config.quirks.media = MediaUpload::Multipart;
        config.app_name = Some("curbside-demo".into());
        curbside.set_server("sandbox-city", config)?;

        let camera = dir.join("camera-pothole.jpg");
        crate::photo::write_sample(&camera, 4032, 3024, Some((38.889_31, -77.050_22)), 6).map_err(demo_error)?;
        log(format!("took a 12 MP photo, held upright (EXIF orientation 6, GPS): {} KB", std::fs::metadata(&camera).map(|m| m.len() / 1024).unwrap_or(0)));

        curbside.set_network_available(false);
        log("network OFF: the citizen is in a dead zone".into());
        let worker = tokio::spawn(Arc::clone(&curbside).run_worker());
        let (_, mut changes) = curbside.subscribe()?;
        let printer = tokio::spawn(async move {
            while let Ok(event) = changes.recv().await {
                let OutboxEvent::Changed(report) = event else { continue };
                let city = report.status.as_deref().map(|s| format!("; city status: {s}")).unwrap_or_default();
                log(format!("report {}: {}{city}", &report.id.to_string()[..8], state_line(&report)));
            }
        });

        let draft = curbside.create_draft(DraftFields {
            service_code: Some("pothole".into()),
            location: Some(Location { latitude: 38.8893, longitude: -77.0502, accuracy_m: Some(4.5), source: LocationSource::Gps, captured_at: Utc::now() }),
            description: "Deep pothole in the bike lane, northbound".into(),
            attributes: vec![
                AttributeAnswer { code: "WHERE".into(), values: vec!["bike".into()], multiple: false },
                AttributeAnswer { code: "DEPTH".into(), values: vec!["12".into()], multiple: false },
                AttributeAnswer { code: "HAZARDS".into(), values: vec!["water".into(), "traffic".into()], multiple: true },
            ],
            ..Default::default()
        })?;
        let (draft, photo) = curbside.add_photo(&draft.id, &camera)?;
        log(format!(
            "photo ready to travel: {}x{}, {} KB at quality {}, no metadata; EXIF position offered: {}",
            photo.width, photo.height, photo.bytes / 1024, photo.quality,
            photo.location.as_ref().map(|l| format!("{:.5}, {:.5}", l.latitude, l.longitude)).unwrap_or("none".into())
        ));
        let report = curbside.submit(&draft.id, "sandbox-city")?;
        log(format!("submitted: report {} is saved on the phone before anything is sent", report.id));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        log(format!("still in the dead zone; the city has {} reports, the phone keeps ours", sandbox.requests().len()));

        sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
        log("the city's answer to the first POST will be lost on the way back (a real weak-signal failure)".into());
        curbside.set_network_available(true);
        log("network ON".into());

        let deadline = Instant::now() + Duration::from_secs(30);
        let sent = loop {
            let (now, _) = curbside.report(&report.id)?;
            if now.state == ReportState::Sent || Instant::now() > deadline {
                break now;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let copies = sandbox.requests().iter().filter(|r| r.field("description") == Some(sent.description.as_str())).count();
        let stored = sandbox.requests().into_iter().find(|r| Some(&r.id) == sent.request_id.as_ref());
        log(format!(
            "the city holds {copies} copy of the report (request #{}), with {} photo(s): {}",
            sent.request_id.as_deref().unwrap_or("?"),
            stored.as_ref().map_or(0, |s| s.media_urls.len()),
            stored.as_ref().and_then(|s| s.media_urls.first().cloned()).unwrap_or_default()
        ));

        if let Some(id) = &sent.request_id {
            sandbox.set_status(id, "closed", "Filled with hot asphalt");
            log("the city crew fixes it and closes the request".into());
            curbside.refresh_statuses().await?;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (_, history) = curbside.report(&report.id)?;
        println!("\nHistory of report {}:", report.id);
        for h in history {
            println!("  {}  {:<18} {}", h.at.format("%H:%M:%S%.3f"), h.event.code(), crate::texts::history(&h.event));
        }
        worker.abort();
        printer.abort();
        Ok::<_, curbside_core::Error>(())
    })
}

fn demo_error(reason: String) -> curbside_core::Error {
    curbside_core::open311::Open311Error::Config { reason }.into()
}
