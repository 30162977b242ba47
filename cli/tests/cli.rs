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
    assert_eq!(error["field"], "lat");
    let error = error_json(d, &["draft", "create", "--lat", "NaN", "--lon", "0"]);
    assert_eq!(error["field"], "lat");
    assert_eq!(error_json(d, &["draft", "show", "42"])["field"], "id");
    assert_eq!(
        ok_json(d, &["draft", "list"]),
        Value::Array(vec![]),
        "nothing saved"
    );

    let file = d.join("a-file");
    std::fs::write(&file, "x").unwrap();
    assert_eq!(
        error_json(&file, &["draft", "list"])["kind"],
        "data_dir",
        "an unusable directory, not any storage failure"
    );
}

#[test]
fn hostile_inputs_get_clear_errors_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let started = std::time::Instant::now();

    // Argument errors are JSON too under --json, with exit status 2.
    let out = curbside(d, &["draft", "show"]);
    assert_eq!(out.status.code(), Some(2));
    let error: Value = serde_json::from_slice(&out.stderr).expect("an argument error is JSON");
    assert_eq!(error["error"]["kind"], "invalid_input");

    // A profile that is a device is refused before it is read.
    let error = error_json(d, &["--profile", "/dev/zero", "services"]);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not a regular file"),
        "{error}"
    );

    // Absurd sample sizes are refused, not an aborted allocation.
    let sample = d.join("sample.jpg");
    let error = error_json(
        d,
        &[
            "sample-photo",
            sample.to_str().unwrap(),
            "--width",
            "100000",
            "--height",
            "100000",
        ],
    );
    assert_eq!(error["field"], "width");
    ok_json_or_empty(
        d,
        &[
            "sample-photo",
            sample.to_str().unwrap(),
            "--width",
            "640",
            "--height",
            "480",
        ],
    );

    // `photo --out` replaces only a regular file and creates no folder.
    let error = error_json(
        d,
        &["photo", sample.to_str().unwrap(), "--out", "/dev/null"],
    );
    assert_eq!(error["field"], "out");
    let nested = d.join("no/such/folder/out.jpg");
    let error = error_json(
        d,
        &[
            "photo",
            sample.to_str().unwrap(),
            "--out",
            nested.to_str().unwrap(),
        ],
    );
    assert_eq!(error["field"], "out");
    assert!(!d.join("no").exists(), "no folder was created");
    let error = error_json(
        d,
        &[
            "photo",
            sample.to_str().unwrap(),
            "--out",
            d.join("x.jpg").to_str().unwrap(),
            "--quality",
            "0",
        ],
    );
    assert!(
        error["message"].as_str().unwrap().contains("quality"),
        "{error}"
    );

    // A photo that is a device is refused at once.
    let error = error_json(
        d,
        &[
            "photo",
            "/dev/zero",
            "--out",
            d.join("z.jpg").to_str().unwrap(),
        ],
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not a regular file"),
        "{error}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );

    // A closed pipe ends the program quietly: more than a pipe holds (64 KiB), read 10 bytes.
    let long = "pothole ".repeat(490);
    for i in 0..25 {
        ok_json(
            d,
            &["draft", "create", "--description", &format!("{long}{i}")],
        );
    }
    let piped = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' --data-dir '{}' draft list | head -c 10 > /dev/null",
            env!("CARGO_BIN_EXE_curbside"),
            d.display()
        ))
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&piped.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
}

/// Runs a command that must succeed, whatever it prints.
fn ok_json_or_empty(data_dir: &Path, args: &[&str]) {
    let out = curbside(data_dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_damaged_database_is_said_not_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok_json(
        d,
        &["draft", "create", "--description", "before the damage"],
    );
    // Header damage: the file no longer starts as a SQLite database.
    let db = d.join("curbside.sqlite3");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[..16].copy_from_slice(b"not a database!!");
    std::fs::write(&db, bytes).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let out = curbside(d, &["draft", "list"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warning: Value =
        serde_json::from_str(stderr.lines().next().unwrap()).expect("a JSON warning");
    assert_eq!(warning["warning"]["kind"], "database_moved_aside");
    let aside = warning["warning"]["path"].as_str().unwrap();
    assert!(
        Path::new(aside).exists(),
        "the damaged file is kept: {aside}"
    );
}

#[test]
fn absurd_numbers_are_argument_errors_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: &[&[&str]] = &[
        &["sync", "--deadline", "1e19"],
        &["sync", "--deadline", "inf"],
        &["sync", "--deadline", "NaN"],
        &["sync", "--deadline", "0"],
        &["sync", "--deadline", "-5"],
        &["sync", "--retry-initial", "0"],
        &["sync", "--retry-initial", "inf"],
        &["sync", "--retry-initial", "NaN"],
        &["sync", "--retry-max", "1e300"],
        &["draft", "create", "--lat", "NaN", "--lon", "0"],
        &["draft", "create", "--lat", "91", "--lon", "0"],
        &["draft", "create", "--lat", "1", "--lon", "inf"],
        &[
            "draft",
            "create",
            "--lat",
            "1",
            "--lon",
            "1",
            "--accuracy",
            "-3",
        ],
        &[
            "report",
            "--service",
            "pothole",
            "--lat",
            "1e400",
            "--long",
            "0",
        ],
        &["requests", "--near", "NaN,1"],
        &["requests", "--near", "10,200"],
        &["requests", "--near", "1,1", "--radius", "inf"],
        &["requests", "--bbox", "1,2,NaN,4"],
        &["requests", "--bbox", "50,0,40,1"],
        &["requests", "--page-size", "0"],
        &["photo", "in.jpg", "--out", "o.jpg", "--quality", "0"],
        &["photo", "in.jpg", "--out", "o.jpg", "--max-edge", "1e9"],
        &["photo", "in.jpg", "--out", "o.jpg", "--budget", "12"],
        &["sample-photo", "out.jpg", "--orientation", "9"],
        &["sample-photo", "out.jpg", "--width", "0"],
        &["sample-photo", "out.jpg", "--gps", "NaN,0"],
    ];
    for args in cases {
        let out = curbside(d, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let error: Value = serde_json::from_slice(&out.stderr).expect("stderr is JSON");
        assert_eq!(error["error"]["kind"], "invalid_input", "{args:?}");
        let named = args.iter().any(|a| {
            a.strip_prefix("--").is_some_and(|name| {
                Some(name.replace('-', "_").as_str()) == error["error"]["field"].as_str()
            })
        });
        assert!(named, "{args:?}: the field is named: {error}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing ran");
    }
    assert!(
        !d.join("curbside.sqlite3").exists(),
        "no command opened the database"
    );
}
