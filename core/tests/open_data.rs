//! Open data on servers of the spec only (no paging, no position filter: the newest 1,000
//! requests of a date window), walked by date; and every answer saying how far it can be
//! trusted (partial, contradicted, dates unreliable).

use chrono::Utc;
use curbside_core::city::{Coverage, LIST_CAP, MAX_WALK_QUERIES};
use curbside_core::Curbside;
use curbside_sandbox::{Mode, Sandbox, SandboxConfig};
use serde_json::json;

const HERE: (f64, f64) = (38.8893, -77.0502);

/// A city of `count` requests over the past 80 days, all but three 1 to 20 km away; the
/// three within 20 m of the citizen are 70 days old, so never among the newest 1,000.
fn city(sandbox: &Sandbox, count: usize) {
    let (lat, long) = HERE;
    let now = Utc::now();
    let span = chrono::Duration::days(80).num_seconds();
    for i in 0..count - 3 {
        let at = now - chrono::Duration::seconds(span * (count - i) as i64 / count as i64);
        let far = 0.01 + (i % 400) as f64 * 0.0005;
        sandbox.seed_at(
            "pothole",
            lat + far,
            long - far,
            &format!("elsewhere {i}"),
            at,
        );
    }
    for (n, (dlat, dlong)) in [(0.0001, 0.0), (-0.0001, 0.0001), (0.0, -0.0002)]
        .into_iter()
        .enumerate()
    {
        let at = now - chrono::Duration::days(70) + chrono::Duration::minutes(n as i64);
        sandbox.seed_at(
            "pothole",
            lat + dlat,
            long + dlong,
            &format!("neighbour {n}"),
            at,
        );
    }
}

async fn sandbox(modes: Vec<Mode>) -> Sandbox {
    let config = SandboxConfig {
        modes,
        ..Default::default()
    };
    Sandbox::start(config, 0).await.unwrap()
}

fn open(sandbox: &Sandbox, dir: &std::path::Path) -> Curbside {
    let curbside = Curbside::open(dir).unwrap();
    let profile = json!({
        "id": "springfield", "name": "Springfield",
        "server": { "endpoint": sandbox.endpoint(), "api_key": "sandbox-key" },
    });
    curbside.add_profile(&profile.to_string()).unwrap();
    curbside
}

async fn near(curbside: &Curbside) -> (Vec<String>, Coverage) {
    let found = curbside
        .nearby_requests("springfield", HERE.0, HERE.1, 20.0, None, false)
        .await
        .unwrap();
    assert!(!found.stale);
    let mut names: Vec<String> = found
        .value
        .iter()
        .map(|n| n.request.description.clone().unwrap_or_default())
        .collect();
    names.sort();
    (names, found.coverage)
}

/// 1,203 requests on a server of the spec only: the first answer (page_size ignored) is the
/// newest 1,000, which do not hold the three neighbours; it is read again in halves by date,
/// each under the cap, and the three are found. The ignored paging is remembered: the next
/// call asks by date only.
#[tokio::test]
async fn a_spec_only_server_is_walked_by_date_and_finds_the_neighbours() {
    let sandbox = sandbox(vec![Mode::SpecOnly]).await;
    city(&sandbox, 1203);
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(&sandbox, dir.path());

    let (found, coverage) = near(&curbside).await;
    assert_eq!(found, ["neighbour 0", "neighbour 1", "neighbour 2"]);
    assert!(!coverage.partial && !coverage.contradicted, "{coverage:?}");
    assert_eq!(coverage.queries, 3, "the whole window, then its two halves");

    let before = sandbox.log().len();
    let (found, coverage) = near(&curbside).await;
    assert_eq!(found.len(), 3);
    assert_eq!(coverage.queries, 3, "the window and its halves, by date");
    let asked = &sandbox.log()[before..];
    assert!(
        asked.iter().all(|q| !q.contains("page")),
        "paging, seen ignored, is not asked for again: {asked:?}"
    );

    // A new process (the same database) remembers it too.
    drop(curbside);
    let curbside = Curbside::open(dir.path()).unwrap();
    let before = sandbox.log().len();
    assert_eq!(near(&curbside).await.0.len(), 3);
    assert!(sandbox.log()[before..].iter().all(|q| !q.contains("page")));
    let quirks = curbside.learnt_quirks().unwrap();
    assert!(
        quirks
            .iter()
            .any(|q| q.quirk.contains("`page`") && q.since_ms > 0),
        "{quirks:?}"
    );

    // A week later the server is tried the spec's way again (servers get upgraded): once.
    drop(curbside);
    let week_ago = Utc::now().timestamp_millis() - 8 * 86_400_000;
    let db = rusqlite::Connection::open(dir.path().join(curbside_core::DATABASE_FILE)).unwrap();
    db.execute(
        "UPDATE servers SET learnt = json_set(learnt, '$.refused.page', ?1, '$.refused.page_size', ?1)",
        [week_ago],
    )
    .unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    let before = sandbox.log().len();
    assert_eq!(near(&curbside).await.0.len(), 3);
    let paged = sandbox.log()[before..]
        .iter()
        .filter(|q| q.contains("page_size"))
        .count();
    assert_eq!(paged, 1, "re-tested once, and learnt again");
    let before = sandbox.log().len();
    assert_eq!(near(&curbside).await.0.len(), 3);
    assert!(sandbox.log()[before..].iter().all(|q| !q.contains("page")));
}

/// 5,000 requests: the walk splits until every window is under the cap, within its bound of
/// queries, and says how many it made.
#[tokio::test]
async fn five_thousand_requests_are_walked_within_the_bound() {
    let sandbox = sandbox(vec![Mode::SpecOnly]).await;
    city(&sandbox, 5000);
    let dir = tempfile::tempdir().unwrap();
    let curbside = open(&sandbox, dir.path());
    let (found, coverage) = near(&curbside).await;
    assert_eq!(found, ["neighbour 0", "neighbour 1", "neighbour 2"]);
    assert!(!coverage.partial, "{coverage:?}");
    assert!(coverage.queries <= MAX_WALK_QUERIES, "{coverage:?}");
    assert!(
        coverage.listed as usize >= 5000,
        "every request was listed at least once: {coverage:?}"
    );
    println!(
        "5,000 requests on a spec-only server: {} queries, {} rows listed",
        coverage.queries, coverage.listed
    );
}

/// Where the walk cannot be trusted, the answer says so: a server whose date filter is
/// applied backwards gives only its newest requests (partial, dates unreliable); so does a
/// server that ignores every filter and lists its oldest 1,000 whatever the window.
#[tokio::test]
async fn an_answer_that_cannot_be_complete_says_so() {
    for (modes, check) in [
        (
            vec![Mode::SpecOnly, Mode::BackwardsDates],
            (|c: &Coverage| c.partial && c.dates_unreliable) as fn(&Coverage) -> bool,
        ),
        // Its rows outside every window it is asked for: its dates (and more) ignored.
        (vec![Mode::IgnoreFilters { cap: LIST_CAP }], |c| {
            c.partial && (c.contradicted || c.dates_unreliable)
        }),
    ] {
        let sandbox = sandbox(modes.clone()).await;
        city(&sandbox, 1203);
        let dir = tempfile::tempdir().unwrap();
        let curbside = open(&sandbox, dir.path());
        let (_, coverage) = near(&curbside).await;
        assert!(check(&coverage), "{modes:?}: {coverage:?}");
    }
}
