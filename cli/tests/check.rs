//! `curbside check URL` against the sandbox in each of its modes: no `pass` that the answers
//! did not prove (asserted per mode), the quirks each mode must show, and the profile it
//! recommends, completed with the key only, sending a report whose photo arrives.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use curbside_sandbox::{Mode, Sandbox, SandboxConfig};
use serde_json::{json, Value};

/// Each check's verdict and detail, by name.
type Verdicts = HashMap<String, (String, String)>;

/// Runs `curbside --json check` and returns the verdicts and the recommended profile.
fn check(url: &str, extra: &[&str]) -> (Verdicts, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_curbside"))
        .args(["--json", "check", url, "--api-key", "sandbox-key"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                (
                    c["verdict"].as_str().unwrap().to_string(),
                    c["detail"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    (verdicts, report["recommended"].clone())
}

fn curbside(data_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_curbside"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn verdict<'a>(verdicts: &'a Verdicts, name: &str) -> &'a str {
    &verdicts
        .get(name)
        .unwrap_or_else(|| panic!("no line {name}: {verdicts:#?}"))
        .0
}

/// One sandbox mode (or set of modes) and what `check` must say of it.
struct Case {
    modes: Vec<Mode>,
    /// `--format xml` and such.
    args: &'static [&'static str],
    /// Lines that must not pass there: the mode breaks them.
    not_pass: &'static [&'static str],
    /// Lines with the verdict they must have.
    verdicts: &'static [(&'static str, &'static str)],
    /// Quirks the recommended profile must hold (a JSON pointer under `server.quirks`).
    quirks: &'static [(&'static str, &'static str)],
}

fn cases() -> Vec<Case> {
    const FILTERS: &[&str] = &[
        "filter service_code",
        "filter status=open",
        "filter status=closed",
        "filter start_date/end_date",
        "filter service_request_id",
    ];
    vec![
        Case {
            modes: vec![Mode::ContentLengthOnly],
            args: &[],
            not_pass: &[],
            verdicts: &[
                ("filter service_code", "pass"),
                ("filter status=open", "pass"),
                ("filter status=closed", "pass"),
                ("filter start_date/end_date", "pass"),
                ("filter service_request_id", "pass"),
                ("statuses", "pass"),
                ("statuses by id", "pass"),
                ("paging (page, page_size)", "pass"),
                ("position filter", "pass"),
                ("tokens", "pass"),
                ("wrong api_key", "pass"),
                ("POST requests", "pass"),
                ("photos (multipart)", "pass"),
                ("new request listed", "pass"),
            ],
            quirks: &[("/media", "multipart"), ("/position_filter", "bbox")],
        },
        Case {
            modes: vec![Mode::StrictParams, Mode::NoPositions, Mode::KeyAs400],
            args: &["--format", "xml"],
            not_pass: &[
                "paging (page, page_size)",
                "extensions",
                "position filter",
                "positions in lists",
                "wrong api_key",
            ],
            verdicts: &[
                ("filter service_code", "pass"),
                ("positions in lists", "quirk"),
                ("wrong api_key", "quirk"),
            ],
            quirks: &[("/pagination/style", "none"), ("/media", "multipart")],
        },
        Case {
            modes: vec![Mode::SpecOnly],
            args: &[],
            not_pass: &["paging (page, page_size)", "extensions", "position filter"],
            verdicts: &[("filter start_date/end_date", "pass")],
            quirks: &[("/pagination/style", "none")],
        },
        Case {
            modes: vec![Mode::IgnoreFilters { cap: 10 }, Mode::BareErrors],
            args: &[],
            not_pass: &[
                "filter service_code",
                "filter status=open",
                "filter status=closed",
                "filter start_date/end_date",
                "filter service_request_id",
                "paging (page, page_size)",
                "position filter",
            ],
            verdicts: &[("error format", "pass")],
            quirks: &[("/pagination/style", "none")],
        },
        Case {
            modes: vec![Mode::BackwardsDates],
            args: &[],
            not_pass: &["filter start_date/end_date"],
            verdicts: &[("filter start_date/end_date", "quirk")],
            quirks: &[],
        },
        Case {
            modes: vec![Mode::LocalAsZ { hours: -5 }],
            args: &[],
            not_pass: &["filter start_date/end_date"],
            verdicts: &[],
            quirks: &[],
        },
        Case {
            modes: vec![Mode::StatusIds],
            args: &[],
            not_pass: &["statuses", "filter status=open", "filter status=closed"],
            verdicts: &[("statuses", "quirk")],
            quirks: &[("/status_map/3", "open"), ("/status_map/7", "closed")],
        },
        Case {
            modes: vec![Mode::SingleStatusIds],
            args: &[],
            not_pass: &["statuses by id"],
            verdicts: &[("statuses by id", "quirk")],
            quirks: &[("/status_map/3", "open"), ("/status_map/7", "closed")],
        },
        Case {
            modes: vec![Mode::RequiresReference],
            args: &[],
            not_pass: &[],
            verdicts: &[("client reference", "quirk"), ("POST requests", "pass")],
            quirks: &[("/client_reference_attribute", "curbside_id")],
        },
        Case {
            modes: vec![Mode::ServiceRequestXml],
            args: &["--format", "xml"],
            not_pass: &[],
            verdicts: &[("request list (xml)", "pass"), ("request by id", "pass")],
            quirks: &[],
        },
        Case {
            modes: vec![Mode::SearchLag { millis: 30_000 }],
            args: &[],
            not_pass: &["new request listed"],
            verdicts: &[("new request listed", "quirk")],
            quirks: &[],
        },
    ]
    .into_iter()
    .inspect(|c| assert!(c.not_pass.iter().all(|n| !n.is_empty()) && FILTERS.len() == 5))
    .collect()
}

/// Every mode: no unproven pass, the quirks it must show, and the recommended profile,
/// completed with the key alone, sending a report whose photo arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_verdict_is_proven_and_every_snippet_works_as_is() {
    let photo_dir = tempfile::tempdir().unwrap();
    let photo = photo_dir.path().join("pothole.jpg");
    image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    })
    .save_with_format(&photo, image::ImageFormat::Jpeg)
    .unwrap();
    for case in cases() {
        let sandbox = Sandbox::start(
            SandboxConfig {
                modes: case.modes.clone(),
                ..Default::default()
            },
            0,
        )
        .await
        .unwrap();
        sandbox.seed(12);
        let url = sandbox.endpoint();
        let args = case.args;
        let (verdicts, recommended) =
            tokio::task::spawn_blocking(move || check(&url, &[&["--write"], args].concat()))
                .await
                .unwrap();
        let modes = &case.modes;
        for name in case.not_pass {
            let (v, detail) = verdicts
                .get(*name)
                .unwrap_or_else(|| panic!("{modes:?}: no line {name}: {verdicts:#?}"));
            assert_ne!(v, "pass", "{modes:?}: {name} passed unproven: {detail}");
        }
        for (name, expected) in case.verdicts {
            assert_eq!(
                verdict(&verdicts, name),
                *expected,
                "{modes:?}: {name}: {:?}",
                verdicts[*name].1
            );
        }
        for (name, (v, detail)) in &verdicts {
            assert_ne!(v, "fail", "{modes:?}: {name}: {detail}");
        }
        let quirks = &recommended["server"]["quirks"];
        for (pointer, expected) in case.quirks {
            assert_eq!(
                quirks.pointer(pointer),
                Some(&json!(expected)),
                "{modes:?}: {pointer} in {quirks}"
            );
        }

        // The snippet, with the key added and nothing else, sends a report with its photo.
        let mut profile = recommended.clone();
        profile["server"]["api_key"] = json!("sandbox-key");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("city.json");
        std::fs::write(&file, profile.to_string()).unwrap();
        let description = format!("snippet of {modes:?}");
        let (d, f, p, words) = (
            dir.path().to_path_buf(),
            file.display().to_string(),
            photo.display().to_string(),
            description.clone(),
        );
        tokio::task::spawn_blocking(move || {
            curbside(
                &d,
                &[
                    "--profile",
                    &f,
                    "report",
                    "--service",
                    "graffiti",
                    "--lat",
                    "38.8893",
                    "--long",
                    "-77.0502",
                    "--description",
                    &words,
                    "--photo",
                    &p,
                ],
            );
            curbside(&d, &["--profile", &f, "sync"]);
        })
        .await
        .unwrap();
        let sent: Vec<_> = sandbox
            .requests()
            .into_iter()
            .filter(|r| r.field("description") == Some(description.as_str()))
            .collect();
        assert_eq!(sent.len(), 1, "{modes:?}: sent once with the snippet as is");
        assert_eq!(
            sent[0].media_urls.len(),
            1,
            "{modes:?}: its photo arrived ({profile})"
        );
    }
}

/// Without `--write`, nothing is posted, and photos are said to be untried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_write_nothing_is_posted() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    sandbox.seed(5);
    let url = sandbox.endpoint();
    let (verdicts, recommended) = tokio::task::spawn_blocking(move || check(&url, &[]))
        .await
        .unwrap();
    assert!(!verdicts.contains_key("POST requests"));
    assert_eq!(verdict(&verdicts, "photos"), "untried");
    assert!(recommended["server"]["quirks"].get("media").is_none());
    assert_eq!(sandbox.requests().len(), 5);
}
