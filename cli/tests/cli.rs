//! The CLI's contract, run as a script would: the draft scenario through `curbside --json`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn curbside(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_curbside"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--json")
        .args(args)
        .output()
        .expect("runs curbside")
}

fn ok_json(data_dir: &Path, args: &[&str]) -> Value {
    let out = curbside(data_dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn error_json(data_dir: &Path, args: &[&str]) -> Value {
    let out = curbside(data_dir, args);
    assert!(!out.status.success(), "{args:?} should fail");
    serde_json::from_slice::<Value>(&out.stderr).expect("stderr is JSON")["error"].clone()
}

#[test]
fn draft_scenario_as_a_script_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let created = ok_json(
        d,
        &[
            "draft",
            "create",
            "--service",
            "pothole",
            "--lat",
            "38.8895",
            "--lon",
            "-77.0353",
            "--accuracy",
            "4.5",
            "--source",
            "gps",
            "--located-at",
            "2026-11-27T08:30:00Z",
            "--description",
            "Deep pothole",
        ],
    );
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["service_code"], "pothole");
    assert_eq!(created["location"]["latitude"], 38.8895);
    assert_eq!(created["location"]["source"], "gps");
    assert_eq!(created["location"]["captured_at"], "2026-11-27T08:30:00Z");

    let listed = ok_json(d, &["draft", "list"]);
    assert_eq!(listed, Value::Array(vec![created.clone()]));

    let updated = ok_json(
        d,
        &["draft", "update", &id, "--description", "Two potholes"],
    );
    assert_eq!(updated["description"], "Two potholes");
    assert_eq!(
        updated["location"], created["location"],
        "fields not given are kept"
    );
    let cleared = ok_json(d, &["draft", "update", &id, "--clear-location"]);
    assert_eq!(cleared["location"], Value::Null);
    assert_eq!(ok_json(d, &["draft", "show", &id]), cleared);

    assert_eq!(
        ok_json(d, &["draft", "delete", &id])["deleted"],
        id.as_str()
    );
    assert_eq!(ok_json(d, &["draft", "list"]), Value::Array(vec![]));
    assert_eq!(error_json(d, &["draft", "show", &id])["kind"], "not_found");
}

#[test]
fn errors_are_typed_and_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let error = error_json(d, &["draft", "create", "--lat", "200", "--lon", "0"]);
    assert_eq!(error["kind"], "invalid_input");
    assert_eq!(error["field"], "location.latitude");
    let error = error_json(d, &["draft", "create", "--lat", "NaN", "--lon", "0"]);
    assert_eq!(error["field"], "location.latitude");
    assert_eq!(error_json(d, &["draft", "show", "42"])["field"], "id");
    assert_eq!(
        ok_json(d, &["draft", "list"]),
        Value::Array(vec![]),
        "nothing saved"
    );

    let file = d.join("a-file");
    std::fs::write(&file, "x").unwrap();
    assert_eq!(error_json(&file, &["draft", "list"])["kind"], "storage");
}
