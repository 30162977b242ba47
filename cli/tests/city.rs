//! `--profile FILE`, `requests --near ... --geojson` and `validate`, as scripts use them.

use std::process::Command;

use curbside_sandbox::{Sandbox, SandboxConfig};
use serde_json::{json, Value};

fn curbside(data_dir: &std::path::Path, args: &[&str]) -> (bool, Value, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_curbside"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let parse = |bytes: &[u8]| serde_json::from_slice(bytes).unwrap_or(Value::Null);
    (out.status.success(), parse(&out.stdout), parse(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_file_stands_in_for_server_options() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let profile = d.join("springfield.json");
    std::fs::write(&profile, json!({
        "id": "springfield", "name": "Springfield",
        "server": { "endpoint": sandbox.endpoint(), "api_key": "sandbox-key" },
        "required_contact": ["email"],
        "service_area": { "type": "Polygon", "coordinates": [[[-77.2, 38.8], [-76.9, 38.8], [-76.9, 39.0], [-77.2, 39.0], [-77.2, 38.8]]] }
    }).to_string()).unwrap();
    let broken = d.join("broken.json");
    std::fs::write(
        &broken,
        json!({"id": "x", "name": "X", "server": {"endpoint": "http://311.remote.example/"}})
            .to_string(),
    )
    .unwrap();
    let p = profile.display().to_string();
    let b = broken.display().to_string();

    tokio::task::spawn_blocking(move || {
        let (ok, services, _) = curbside(&d, &["--profile", &p, "services"]);
        assert!(ok);
        assert_eq!(services.as_array().unwrap().len(), 5);

        let (ok, _, error) = curbside(&d, &["--profile", &b, "services"]);
        assert!(!ok);
        assert_eq!(error["error"]["field"], "profile.server.endpoint");

        for (lat, long) in [("38.88935", "-77.0502"), ("38.8950", "-77.0502")] {
            let (ok, _, e) = curbside(
                &d,
                &[
                    "--profile",
                    &p,
                    "report",
                    "--service",
                    "graffiti",
                    "--lat",
                    lat,
                    "--long",
                    long,
                    "--description",
                    "tag",
                ],
            );
            assert!(!ok, "email is required by Springfield");
            assert_eq!(e["error"]["kind"], "incomplete");
            assert_eq!(e["error"]["fields"][0]["field"], "contact.email");
        }
        let (ok, draft, _) = curbside(
            &d,
            &[
                "--profile",
                &p,
                "draft",
                "create",
                "--service",
                "graffiti",
                "--lat",
                "38.9",
                "--lon",
                "-77.05",
            ],
        );
        assert!(ok);
        let (ok, errors, _) = curbside(&d, &["validate", draft["id"].as_str().unwrap()]);
        assert!(ok);
        assert_eq!(errors[0]["field"], "contact.email");

        // A draft made without its service's questions: they are fetched for the check, as
        // an app's form has them, and the missing answers are named.
        let made = |args: &[&str]| {
            let (ok, draft, _) = curbside(&d, args);
            assert!(ok);
            draft["id"].as_str().unwrap().to_string()
        };
        let id = made(&[
            "--profile",
            &p,
            "draft",
            "create",
            "--service",
            "pothole",
            "--lat",
            "38.9",
            "--lon",
            "-77.05",
        ]);
        let (ok, errors, _) = curbside(&d, &["validate", &id]);
        assert!(ok);
        let fields: Vec<&str> = errors
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&"attributes.WHERE") && fields.contains(&"attributes.DEPTH"),
            "{fields:?}"
        );
        // Without a city, the questions cannot be had: said so, and never "ready".
        let id = made(&[
            "draft",
            "create",
            "--service",
            "pothole",
            "--lat",
            "38.9",
            "--lon",
            "-77.05",
        ]);
        let (ok, _, warning) = curbside(&d, &["validate", &id]);
        assert!(ok);
        assert_eq!(warning["warning"]["kind"], "questions_unchecked");
    })
    .await
    .unwrap();

    // Two requests near the pin, one far away.
    let client = curbside_core::open311::Open311Client::new({
        let mut c = curbside_core::open311::ServerConfig::new(sandbox.endpoint());
        c.api_key = Some(curbside_core::open311::ApiKey::new("sandbox-key"));
        c
    })
    .unwrap();
    for (lat, text) in [(38.88935, "near"), (38.8895, "also near"), (38.95, "far")] {
        let request = curbside_core::open311::NewRequest {
            service_code: "graffiti".into(),
            position: Some((lat, -77.0502)),
            description: Some(text.into()),
            ..Default::default()
        };
        client.submit(&request).await.unwrap();
    }
    let d = dir.path().to_path_buf();
    let p = profile.display().to_string();
    tokio::task::spawn_blocking(move || {
        let (ok, near, _) = curbside(
            &d,
            &[
                "--profile",
                &p,
                "requests",
                "--near",
                "38.8893,-77.0502",
                "--radius",
                "50",
                "--service",
                "graffiti",
            ],
        );
        assert!(ok);
        let descriptions: Vec<_> = near["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["request"]["description"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            descriptions,
            ["near", "also near"],
            "nearest first, the far one left out"
        );

        let out = Command::new(env!("CARGO_BIN_EXE_curbside"))
            .arg("--data-dir")
            .arg(&d)
            .args([
                "--profile",
                &p,
                "requests",
                "--near",
                "38.8893,-77.0502",
                "--radius",
                "50",
                "--geojson",
            ])
            .output()
            .unwrap();
        let geojson: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(geojson["type"], "FeatureCollection");
        let (ok, viewport, _) = curbside(
            &d,
            &[
                "--profile",
                &p,
                "requests",
                "--bbox",
                "38.94,-77.06,38.96,-77.04",
            ],
        );
        assert!(ok);
        assert_eq!(
            viewport["value"].as_array().unwrap().len(),
            1,
            "only the far one is in that box"
        );
        assert_eq!(geojson["features"].as_array().unwrap().len(), 2);
        assert_eq!(
            geojson["features"][0]["geometry"]["coordinates"][0],
            -77.0502
        );
    })
    .await
    .unwrap();
}

/// Runs curbside without `--json`: its text output.
fn curbside_text(data_dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_curbside"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A strict server refuses paging by name: learnt on the first run, kept in the database,
/// and never asked again by the next two runs; `status` shows it with its time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paging_refusal_is_learnt_once_across_runs() {
    let sandbox = Sandbox::start(
        SandboxConfig {
            modes: vec![curbside_sandbox::Mode::StrictParams],
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    sandbox.seed_at(
        "pothole",
        38.8893,
        -77.0502,
        "a neighbour",
        chrono::Utc::now(),
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let endpoint = sandbox.endpoint();
    let d2 = d.clone();
    tokio::task::spawn_blocking(move || {
        for _ in 0..3 {
            let (ok, found, e) = curbside(
                &d2,
                &[
                    "--server",
                    &endpoint,
                    "requests",
                    "--near",
                    "38.8893,-77.0502",
                ],
            );
            assert!(ok, "{e}");
            assert_eq!(found["value"][0]["request"]["description"], "a neighbour");
        }
    })
    .await
    .unwrap();
    let paged: Vec<String> = sandbox
        .log()
        .into_iter()
        .filter(|q| q.contains("page_size"))
        .collect();
    assert_eq!(paged.len(), 1, "refused once, then never asked: {paged:?}");
    let (ok, status) = curbside_text(&d, &["status"]);
    assert!(ok);
    assert!(status.contains("refuses or ignores `page`"), "{status}");
    assert!(
        status.contains("since 20"),
        "with when it was learnt: {status}"
    );
    let url = sandbox.endpoint();
    let (ok, checked) = tokio::task::spawn_blocking(move || curbside_text(&d, &["check", &url]))
        .await
        .unwrap();
    assert!(ok, "{checked}");
    assert!(
        checked.contains("Learnt from the servers' answers") && checked.contains("`page`"),
        "check shows what this device learnt: {checked}"
    );
}

/// 5,000 requests on a server of the spec only (newest 1,000 of a window, no paging, no
/// position filter): `requests --near` finds the three neighbours and prints how many queries
/// and rows it took.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nearby_on_a_spec_only_server_prints_what_it_read() {
    let sandbox = Sandbox::start(
        SandboxConfig {
            modes: vec![curbside_sandbox::Mode::SpecOnly],
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let now = chrono::Utc::now();
    for i in 0..4997 {
        let at = now - chrono::Duration::minutes(23 * (4997 - i));
        let far = 0.01 + (i % 400) as f64 * 0.0005;
        sandbox.seed_at("pothole", 38.8893 + far, -77.0502 - far, "elsewhere", at);
    }
    for n in 0..3 {
        let at = now - chrono::Duration::days(70) + chrono::Duration::minutes(n);
        sandbox.seed_at("pothole", 38.8894, -77.0502, &format!("neighbour {n}"), at);
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let endpoint = sandbox.endpoint();
    let text = tokio::task::spawn_blocking(move || {
        let (ok, text) = curbside_text(
            &d,
            &[
                "--server",
                &endpoint,
                "requests",
                "--near",
                "38.8893,-77.0502",
                "--radius",
                "20",
            ],
        );
        assert!(ok, "{text}");
        text
    })
    .await
    .unwrap();
    println!("{text}");
    for n in 0..3 {
        assert!(text.contains(&format!("neighbour {n}")), "{text}");
    }
    let counts = text.lines().next().unwrap();
    assert!(
        counts.contains("rows listed by the server in") && counts.contains("queries"),
        "{text}"
    );
    assert!(!text.contains("partial"), "{text}");
}
