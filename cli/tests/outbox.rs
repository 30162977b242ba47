//! `curbside report`, `outbox`, `sync` and `status` as a script uses them, against the
//! sandbox on loopback; and the kill -9 harness: `curbside sync` killed at random moments.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use curbside_sandbox::{Fault, Sandbox, SandboxConfig, Scope};
use serde_json::Value;

fn curbside(data_dir: &Path, server: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_curbside"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--json", "--server", server, "--api-key", "sandbox-key"])
        // A POST's deadline of 2 s: "not found" is concluded only after it.
        .args(["--post-timeout", "2"])
        .args(args);
    command
}

fn run(data_dir: &Path, server: &str, args: &[&str]) -> Value {
    let out: Output = curbside(data_dir, server, args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn report(data_dir: &Path, server: &str, description: &str) -> String {
    let args = [
        "report",
        "--service",
        "pothole",
        "--lat",
        "38.8893",
        "--long",
        "-77.0502",
        "--accuracy",
        "5",
        "--description",
        description,
        "--attr",
        "WHERE=road",
        "--attr",
        "DEPTH=4",
        "--attr",
        "HAZARDS=water",
        "--attr",
        "HAZARDS=glass",
    ];
    run(data_dir, server, &args)["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Backoffs at their floor and a short confirmation: a sync that finishes in seconds.
const FAST_RETRIES: [&str; 6] = [
    "--retry-initial",
    "1",
    "--retry-max",
    "1",
    "--confirm-wait",
    "0.2",
];

/// `sync --deadline SECS` with [`FAST_RETRIES`].
fn fast_sync(deadline: &str) -> Vec<&str> {
    let mut args = vec!["sync", "--deadline", deadline];
    args.extend(FAST_RETRIES);
    args
}

/// The kinds of a `status ID --json` answer's history entries, oldest first.
fn history_kinds(status: &Value) -> Vec<String> {
    status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"]["kind"].as_str().unwrap().to_string())
        .collect()
}

fn on_server(sandbox: &Sandbox, description: &str) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.field("description") == Some(description))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_outbox_sync_and_status() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = sandbox.endpoint();
    let d = dir.path().to_path_buf();
    let id = tokio::task::spawn_blocking({
        let (d, server) = (d.clone(), server.clone());
        move || {
            let id = report(&d, &server, "from the CLI");
            let outbox = run(&d, &server, &["outbox"]);
            assert_eq!(outbox[0]["id"], id.as_str());
            assert_eq!(outbox[0]["state"]["state"], "queued");
            let summary = run(&d, &server, &["sync", "--deadline", "20"]);
            assert_eq!(summary["sent"], 1);
            id
        }
    })
    .await
    .unwrap();
    let stored = sandbox
        .requests()
        .into_iter()
        .find(|r| r.field("description") == Some("from the CLI"))
        .unwrap();
    assert_eq!(stored.all("attribute[HAZARDS][]"), ["water", "glass"]);
    sandbox.set_status(&stored.id, "closed", "Done").unwrap();

    let status = tokio::task::spawn_blocking(move || {
        run(&d, &server, &["sync"]);
        run(&d, &server, &["status", &id])
    })
    .await
    .unwrap();
    assert_eq!(status["report"]["state"]["state"], "sent");
    assert_eq!(status["report"]["status"], "closed");
    let kinds = history_kinds(&status);
    assert!(kinds.contains(&"status_changed".to_string()), "{kinds:?}");
}

/// A child `curbside sync` is killed (SIGKILL) at random moments while the sandbox drops,
/// stalls and refuses answers. After every round the database is sound, every report is still
/// there, and the server holds no duplicate; at the end every report is there exactly once.
/// Rounds: CURBSIDE_CRASH_ROUNDS (default 12; set it to hundreds for a long run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_loses_nothing_and_duplicates_nothing() {
    let rounds: u32 = std::env::var("CURBSIDE_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(12);
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let server = sandbox.endpoint();
    let n = 24;
    let descriptions: Vec<String> = (0..n).map(|i| format!("crash report {i}")).collect();
    {
        let (d, server, descriptions) = (d.clone(), server.clone(), descriptions.clone());
        tokio::task::spawn_blocking(move || {
            descriptions
                .iter()
                .for_each(|desc| drop(report(&d, &server, desc)))
        })
        .await
        .unwrap();
    }
    let mut seed = 0x9E3779B97F4A7C15u64;
    let mut next = move |modulo: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % modulo
    };
    for round in 0..rounds {
        for _ in 0..6 {
            let fault = match next(4) {
                0 => Fault::CommitThenDrop,
                1 => Fault::Stall(Duration::from_millis(300)),
                2 => Fault::ServerError(503),
                _ => Fault::ResetMidBody,
            };
            sandbox.faults().next(Scope::Post, fault);
        }
        let mut child = curbside(&d, &server, &fast_sync("10"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20 + next(400))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let conn = rusqlite::Connection::open(d.join("curbside.sqlite3")).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "round {round}");
        let count: u32 = conn
            .query_row("SELECT COUNT(*) FROM reports", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, n, "round {round}: a report was lost");
        for desc in &descriptions {
            assert!(
                on_server(&sandbox, desc) <= 1,
                "round {round}: {desc} is on the server twice"
            );
        }
    }
    sandbox.faults().clear();
    let until = std::time::Instant::now() + Duration::from_secs(120);
    while std::time::Instant::now() < until {
        let (d2, server) = (d.clone(), server.clone());
        let summary = tokio::task::spawn_blocking(move || run(&d2, &server, &fast_sync("20")))
            .await
            .unwrap();
        if summary["waiting"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outbox = {
        let (d, server) = (d.clone(), server.clone());
        tokio::task::spawn_blocking(move || run(&d, &server, &["outbox"]))
            .await
            .unwrap()
    };
    for desc in &descriptions {
        assert_eq!(
            on_server(&sandbox, desc),
            1,
            "{desc}: exactly once in the end; outbox: {outbox:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_what_the_city_said() {
    // A city that answers a bad key with 400, as Helsinki's does; the sandbox expects another.
    let sandbox = Sandbox::start(
        SandboxConfig {
            api_key: Some("the-city-key".into()),
            modes: vec![curbside_sandbox::Mode::KeyAs400],
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let server = sandbox.endpoint();
    tokio::task::spawn_blocking(move || {
        let id = report(&d, &server, "words of the city");
        for _ in 0..3 {
            run(&d, &server, &["sync", "--deadline", "5"]);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_curbside"))
            .arg("--data-dir")
            .arg(&d)
            .args(["status", &id])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("needs attention: settings_refused (check_settings)"),
            "{text}"
        );
        assert!(text.contains("the city says: Invalid API key"), "{text}");
    })
    .await
    .unwrap();
    assert_eq!(
        sandbox.posts(),
        1,
        "three syncs with the same settings: one refused POST"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_deadline_bounds_the_whole_run_status_refresh_included() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let server = sandbox.endpoint();
    let d2 = d.clone();
    let s2 = server.clone();
    tokio::task::spawn_blocking(move || {
        report(&d2, &s2, "deadline");
        run(&d2, &s2, &["sync", "--deadline", "10"]);
    })
    .await
    .unwrap();
    // Now the server trickles every answer: the status refresh could take minutes.
    sandbox
        .faults()
        .always(Some(Fault::Trickle { bytes_per_sec: 5 }));
    let started = std::time::Instant::now();
    let summary =
        tokio::task::spawn_blocking(move || run(&d, &server, &["sync", "--deadline", "3"]))
            .await
            .unwrap();
    sandbox.faults().clear();
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "sync --deadline 3 took {:?}",
        started.elapsed()
    );
    assert!(
        summary["status_error"]
            .as_str()
            .unwrap_or("")
            .contains("deadline"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_io_errors_while_sending_lose_and_duplicate_nothing() {
    // libfiu makes 3% of the database's writes and syncs fail (pwrite, fsync, fdatasync)
    // inside `curbside sync`, round after round; sockets are left alone.
    let Ok(fiu) = which("fiu-run") else {
        curbside_sandbox::skipped(
            "no fiu-run (Debian fiu-utils) to inject I/O errors; tests/run installs it",
        );
        return;
    };
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let server = sandbox.endpoint();
    let n = 20;
    let (d2, s2) = (d.clone(), server.clone());
    let failed_rounds = tokio::task::spawn_blocking(move || {
        for i in 0..n {
            report(&d2, &s2, &format!("io errors {i}"));
        }
        let mut failed = 0;
        for _ in 0..30 {
            let out = Command::new(&fiu)
                .args([
                    "-x",
                    "-c",
                    "enable_random name=posix/io/rw/pwrite,probability=0.03",
                    "-c",
                    "enable_random name=posix/io/sync/*,probability=0.03",
                ])
                .arg(env!("CARGO_BIN_EXE_curbside"))
                .arg("--data-dir")
                .arg(&d2)
                .args([
                    "--json",
                    "--server",
                    &s2,
                    "--api-key",
                    "sandbox-key",
                    "--post-timeout",
                    "2",
                    "sync",
                    "--deadline",
                    "5",
                ])
                .args(FAST_RETRIES)
                .output()
                .unwrap();
            failed += usize::from(!out.status.success());
        }
        failed
    })
    .await
    .unwrap();
    let sent_under_errors = sandbox.requests().len();
    let (d3, s3) = (d.clone(), server.clone());
    let waiting = tokio::task::spawn_blocking(move || {
        let until = std::time::Instant::now() + Duration::from_secs(120);
        let mut waiting = Value::Null;
        while std::time::Instant::now() < until {
            let summary = run(&d3, &s3, &fast_sync("10"));
            waiting = summary["waiting"].clone();
            if waiting == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        waiting
    })
    .await
    .unwrap();
    assert_eq!(waiting, 0, "everything went out once the errors stopped");
    println!(
        "I/O errors: {failed_rounds} of 30 sync rounds failed; {sent_under_errors} of {n} reports reached the city meanwhile"
    );
    assert!(
        failed_rounds > 0,
        "the injected errors reached the database"
    );
    let files: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        sent_under_errors > 0,
        "some rounds got as far as sending {files:?}"
    );
    let outbox = run(&d, &server, &["outbox"]);
    for i in 0..n {
        assert_eq!(
            on_server(&sandbox, &format!("io errors {i}")),
            1,
            "io errors {i}: {outbox:#}"
        );
    }
}

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(program))
                .find(|p| p.is_file())
        })
        .ok_or(())
}

/// Saving never waits for the network: beside a server that answers after a minute,
/// `report` returns at once with the report queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_saves_at_once_beside_a_stalling_server() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = sandbox
        .endpoint()
        .replace("/open311/v2/", "/mode/slow:60000/open311/v2/");
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let id = report(&d, &server, "saved first");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(10), "report waited {took:?}");
        let outbox = run(&d, &server, &["outbox"]);
        assert_eq!(outbox[0]["id"], id.as_str());
        assert_eq!(outbox[0]["state"]["state"], "queued");
    })
    .await
    .unwrap();
}

/// A profile is the truth for its city: `sync --profile` sends with the profile's key, and a
/// key given apart (`--api-key`, `CURBSIDE_API_KEY`) replaces the document's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_with_a_profile_sends_with_its_key_and_a_key_given_apart_overrides_it() {
    let sandbox = Sandbox::start(SandboxConfig::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let write = |name: &str, key: &str| {
        let path = d.join(name);
        let profile = serde_json::json!({
            "id": "springfield", "name": "Springfield",
            "server": { "endpoint": sandbox.endpoint(), "api_key": key },
        });
        std::fs::write(&path, profile.to_string()).unwrap();
        path.display().to_string()
    };
    let good = write("good.json", "sandbox-key");
    let stale = write("stale.json", "revoked-key");
    let endpoint = sandbox.endpoint();
    tokio::task::spawn_blocking(move || {
        let cli = |profile: &str, key: Option<&str>, args: &[&str]| -> Value {
            let mut command = Command::new(env!("CARGO_BIN_EXE_curbside"));
            command
                .arg("--data-dir")
                .arg(&d)
                .args(["--json", "--profile", profile])
                .env_remove("CURBSIDE_API_KEY")
                .env_remove("CURBSIDE_SERVER");
            if let Some(key) = key {
                command.args(["--api-key", key]);
            }
            let out = command.args(args).output().unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).unwrap()
        };
        let report = |profile: &str, description: &str| {
            cli(
                profile,
                None,
                &[
                    "report",
                    "--service",
                    "graffiti",
                    "--lat",
                    "38.9",
                    "--long",
                    "-77.05",
                    "--description",
                    description,
                ],
            )
        };
        report(&good, "sent with the profile's key");
        let summary = cli(&good, None, &["sync", "--deadline", "20"]);
        assert_eq!(summary["sent"], 1, "{summary}");
        report(&stale, "sent with the key given apart");
        let summary = cli(&stale, Some("sandbox-key"), &["sync", "--deadline", "20"]);
        assert_eq!(summary["sent"], 1, "{summary}");
        let outbox = cli(&good, None, &["outbox"]);
        assert!(
            outbox
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["state"]["state"] == "sent"),
            "{outbox}"
        );
        let _ = endpoint;
    })
    .await
    .unwrap();
    assert_eq!(sandbox.requests().len(), 2);
}

/// `withdraw`, `confirm --request-id` and `forget-everything` as a script uses them: a report
/// stopped on a possible duplicate is withdrawn (never posted again), another confirmed with
/// the city's id; forgetting names the unsent report first, then removes everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdraw_confirm_and_forget_everything() {
    let config = SandboxConfig {
        modes: vec![curbside_sandbox::Mode::NeighbourTwin],
        ..Default::default()
    };
    let sandbox = Sandbox::start(config, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = sandbox.endpoint();
    let d = dir.path().to_path_buf();
    let mut ids = Vec::new();
    for words in ["first twin", "second twin"] {
        sandbox.faults().next(Scope::Post, Fault::CommitThenDrop);
        let (d, server) = (d.clone(), server.clone());
        let id = tokio::task::spawn_blocking(move || {
            let id = report(&d, &server, words);
            run(&d, &server, &fast_sync("20"));
            id
        })
        .await
        .unwrap();
        ids.push(id);
    }
    let theirs = sandbox.requests().last().unwrap().id.clone();
    let posts = sandbox.posts();
    let (d2, server2, ids2) = (d.clone(), server.clone(), ids.clone());
    let (withdrawn, confirmed, status) = tokio::task::spawn_blocking(move || {
        let withdrawn = run(&d2, &server2, &["withdraw", &ids2[0]]);
        let confirmed = run(
            &d2,
            &server2,
            &["confirm", &ids2[1], "--request-id", &theirs],
        );
        run(&d2, &server2, &fast_sync("10"));
        (
            withdrawn,
            confirmed,
            run(&d2, &server2, &["status", &ids2[0]]),
        )
    })
    .await
    .unwrap();
    assert_eq!(withdrawn["state"]["state"], "cancelled");
    assert_eq!(confirmed["state"]["state"], "sent");
    assert_eq!(
        sandbox.posts(),
        posts,
        "the withdrawn one is never posted again"
    );
    let kinds = history_kinds(&status);
    assert!(kinds.contains(&"withdrawn".to_string()), "{kinds:?}");

    let (refused, unsent, done) = tokio::task::spawn_blocking(move || {
        let unsent = report(&d, &server, "never sent");
        let refused = curbside(&d, &server, &["forget-everything"])
            .output()
            .unwrap();
        let done = run(&d, &server, &["forget-everything", "--including-unsent"]);
        (refused, unsent, done)
    })
    .await
    .unwrap();
    assert!(!refused.status.success(), "unsent reports stop it");
    let named: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(named["unsent"][0]["id"], unsent.as_str());
    assert_eq!(done["done"], true);
    assert_eq!(done["reports"], 3);
}
