//! Reconciliation: looking for an unanswered POST on the city's server before anything is
//! posted again. The rules:
//!
//! 1. A token from the first answer is resolved instead of searching.
//! 2. `GET requests` for the service, from the attempt's start minus [`CLOCK_SKEW`] to now
//!    plus [`CLOCK_SKEW`], up to [`RECONCILE_PAGES`] pages.
//! 3. "Not found" must be earned: an answer that contradicts its own filters (another
//!    service, a date outside the window, more rows than asked, the same page twice) or
//!    that has more pages than are searched means the server cannot be searched, never that
//!    the report is absent: the report waits for the user (`Unsearchable`).
//! 4. Candidates: listed requests whose id no other local report holds.
//! 5. The client reference first: where the server lists the profile's reference attribute,
//!    the report's UUID there is proof, and another value rules a candidate out.
//! 6. Otherwise a candidate must have the same service and description (whitespace and case
//!    aside) and, where the server lists a position, be within about 200 m (servers round and
//!    snap); what the server does not list is unknown, not a mismatch.
//! 7. One candidate with some evidence (a non-empty description, a position within about
//!    11 m, the same address) is the report: sent, with that id. Several candidates, or one that matched on
//!    nothing but service and time, make the report wait for the user as a possible duplicate
//!    (`AmbiguousMatch`): never posted again silently, never marked sent on a guess.
//! 8. No candidate: posted again after the usual backoff, unless the city called it a
//!    duplicate (`SaidDuplicate`) or has answered [`MAX_SERVER_FAILURES`](super::phase::MAX_SERVER_FAILURES) POSTs of it with an
//!    application error, 500 and the like (`ServerKeepsFailing`, with the server's words).
//!    Gateway answers (502, 503, 504) say nothing about the report and are not counted.
//!

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use curbside_open311::{NewRequest, Open311Client, Open311Error, RequestQuery, ServiceRequest};
use curbside_types::report::ReportId;

/// Pages searched when looking for an unanswered POST on the server.
const RECONCILE_PAGES: u32 = 10;
/// Rows asked per page when looking for an unanswered POST.
const RECONCILE_PAGE_SIZE: u32 = 100;
/// How far the server's clock may be from the phone's: the search window opens this long
/// before the attempt started and closes this long after now.
pub const CLOCK_SKEW: Duration = Duration::from_secs(10 * 60);

/// What a search of the server for an unanswered POST found.
pub enum Search {
    /// The report, on proof or on evidence with no rival.
    Found(Box<ServiceRequest>),
    /// Nothing that can be the report, in an answer that obeyed its filters.
    NotFound,
    /// This many candidates, or one on weak evidence only (`1`).
    Ambiguous(usize),
    /// The answers cannot prove absence; why.
    Unsearchable(String),
}

/// Searches `GET requests` for the report, by the rules in the module doc.
pub async fn find_on_server(
    client: &Open311Client,
    payload: &NewRequest,
    report: &ReportId,
    started_ms: i64,
    others: &HashSet<String>,
) -> Result<Search, Open311Error> {
    let skew = chrono::Duration::from_std(CLOCK_SKEW).unwrap_or_default();
    let started = DateTime::<Utc>::from_timestamp_millis(started_ms).unwrap_or_else(Utc::now);
    let mut query = RequestQuery {
        service_codes: vec![payload.service_code.clone()],
        start: Some(started - skew),
        end: Some(Utc::now() + skew),
        page_size: Some(RECONCILE_PAGE_SIZE),
        ..Default::default()
    };
    let reference = client
        .config()
        .quirks
        .client_reference_attribute
        .as_deref()
        .map(|code| (code, report.to_string()));
    let mut seen: HashSet<String> = HashSet::new();
    let mut candidates: Vec<(ServiceRequest, bool)> = Vec::new();
    for _ in 0..RECONCILE_PAGES {
        let page = client.requests(&query).await?;
        if page.contradicted {
            return Ok(Search::Unsearchable(
                "the city's server ignores the filters of its request list".into(),
            ));
        }
        if !page.listed_ids.is_empty() && page.listed_ids.iter().all(|id| seen.contains(id)) {
            return Ok(Search::Unsearchable(
                "the city's server lists the same requests on every page".into(),
            ));
        }
        seen.extend(page.listed_ids);
        for remote in page.requests {
            let Some(id) = remote.id.as_ref() else {
                continue;
            };
            if others.contains(id) {
                continue;
            }
            if let Some((code, value)) = &reference {
                match remote.attributes.iter().find(|a| &a.code == code) {
                    Some(listed) if &listed.value == value => {
                        return Ok(Search::Found(Box::new(remote)))
                    }
                    Some(_) => continue,
                    None => {}
                }
            }
            if let Some(evidence) = evidence(payload, &remote) {
                candidates.push((remote, evidence));
            }
        }
        match page.next_page {
            Some(next) => query.page = Some(next),
            None => {
                return Ok(match candidates.len() {
                    0 => Search::NotFound,
                    1 if candidates[0].1 => Search::Found(Box::new(candidates.remove(0).0)),
                    n => Search::Ambiguous(n),
                })
            }
        }
    }
    Ok(Search::Unsearchable(format!(
        "more than {} requests to search on the city's server",
        RECONCILE_PAGES * RECONCILE_PAGE_SIZE
    )))
}

/// Whether `remote` can be the report: `None` when something it lists differs; otherwise
/// whether anything beyond service and time matched (a description, a position, an address).
fn evidence(payload: &NewRequest, remote: &ServiceRequest) -> Option<bool> {
    let norm = |s: Option<&str>| {
        s.unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    if remote
        .service_code
        .as_deref()
        .is_some_and(|c| c != payload.service_code)
    {
        return None;
    }
    let description = norm(payload.description.as_deref());
    if description != norm(remote.description.as_deref()) {
        return None;
    }
    let mut evidence = !description.is_empty();
    // Servers round or snap positions and rewrite addresses: only a position far off rules a
    // candidate out; an address that differs proves nothing either way.
    if let (Some((lat, long)), Some((rlat, rlong))) =
        (payload.position, remote.lat.zip(remote.long))
    {
        let off = (lat - rlat).abs().max((long - rlong).abs());
        if off > 2e-3 {
            return None;
        }
        evidence |= off <= 1e-4;
    }
    let address = norm(payload.address_string.as_deref());
    evidence |= !address.is_empty() && address == norm(remote.address.as_deref());
    Some(evidence)
}
