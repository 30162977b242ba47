//! Reconciliation: looking for an unanswered POST on the city's server before anything is
//! posted again. Time is evidence, never an assumption: servers' clocks and zones are off,
//! their search indexes lag, some apply date filters backwards. The rules:
//!
//! 1. A token from the first answer is resolved instead of searching; an id that reached a
//!    sender after it lost its lease (`late_request_id`) is the answer, with no search.
//! 2. **Dated search.** `GET requests` for the service, in a window of the *server's* time:
//!    from the attempt's start to now, each shifted by the server's clock offset (measured
//!    from its `Date` headers and kept per server) and widened by [`CLOCK_SKEW`] plus the
//!    offset's uncertainty, up to [`RECONCILE_PAGES`] pages. An answer whose `Date` shows a
//!    clock further off than the window allows is asked again with the measured offset.
//! 3. **Undated search.** Then the service's list without dates (the same pages): it confirms
//!    an empty dated window in the search that can conclude "not found" (the second, past
//!    the POST's deadline), and it is the only search on a server whose dates were found
//!    unreliable. When it finds what the dated search did not, or a dated answer lists rows
//!    outside its own window while obeying every other filter, the server's dates are learnt
//!    unreliable (remembered with the time) and later searches go without them.
//! 4. "Not found" must be earned: an answer that contradicts its own non-date filters
//!    (another service, more rows than asked, the same page twice) means the server cannot be
//!    searched (`Unsearchable`), never that the report is absent; so does an undated list
//!    longer than the pages searched when no dated search could vouch for the window.
//! 5. Candidates: listed requests whose id no other local report holds.
//! 6. The client reference first: where the server lists the profile's reference attribute,
//!    the report's UUID there is proof, and another value rules a candidate out.
//! 7. Otherwise a candidate must have the same service and description (whitespace and case
//!    aside) and, where the server lists a position, be within about 200 m (servers round and
//!    snap); what the server does not list is unknown, not a mismatch.
//! 8. One candidate with some evidence (a non-empty description, a position within about
//!    11 m, the same address) is the report: sent, with that id. Several candidates, or one
//!    that matched on nothing but service and time, make the report wait for the user as a
//!    possible duplicate (`AmbiguousMatch`): never posted again silently, never marked sent on
//!    a guess.
//! 9. No candidate (`NotFound`) is only the first half of "not found": the state machine
//!    searches once more, after a wait longer than the server's observed search lag and past
//!    the attempt's own deadline (so no earlier POST can still arrive), before it posts again.
//!    The lag is observed on this device's own reports: a complete list read at `t` that lacks
//!    one whose id was known at `s < t` shows a lag of at least `t - s`; it is kept per server,
//!    and a search that learns a longer lag pushes the confirmation further out;
//!    re-posts are bounded ([`MAX_REPOSTS`](crate::machine::MAX_REPOSTS)), and the city's
//!    "duplicate" or [`MAX_SERVER_FAILURES`](crate::MAX_SERVER_FAILURES) application errors
//!    stop the report for the user. Gateway answers (502, 503, 504) say nothing about the
//!    report and are not counted.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use curbside_open311::{NewRequest, Open311Client, Open311Error, RequestQuery, ServiceRequest};
use curbside_servers::Learnt;
use curbside_store::reports::{self, now_ms, Row};
use curbside_types::{LastError, LastErrorCode, Result};

use crate::engine::not_now;
use crate::machine::Event;
use crate::Outbox;

/// Pages searched when looking for an unanswered POST on the server.
const RECONCILE_PAGES: u32 = 10;
/// Rows asked per page when looking for an unanswered POST.
const RECONCILE_PAGE_SIZE: u32 = 100;
/// How far the server's clock may be from the phone's beyond what was measured: the search
/// window opens this long before the attempt started and closes this long after now.
pub const CLOCK_SKEW: Duration = Duration::from_secs(10 * 60);
/// The uncertainty of an offset read from a `Date` header (whole seconds, and the time the
/// answer took to come).
const DATE_UNCERTAINTY_MS: i64 = 2_000;

impl Outbox {
    /// Looks for an unanswered POST on the server (the rules are in `reconcile.rs`). What
    /// the search learnt of the server is kept with the result.
    pub(crate) async fn search(
        &self,
        client: &Open311Client,
        mut row: Row,
    ) -> Result<(Row, Event, Option<Learnt>)> {
        // An answer that reached a paused sender is the answer: no search.
        if let Some(id) = row.late_request_id.clone() {
            row.request_id = Some(id.clone());
            row.last_error = None;
            return Ok((row, Event::AnsweredLate { id }, None));
        }
        let started = row.progress.attempt_started_at.unwrap_or(row.created_at);
        let since = started - 2 * CLOCK_SKEW.as_millis() as i64;
        let (others, recent, before) = self.store.read(|c| {
            Ok((
                reports::request_ids_except(c, &row.id)?,
                reports::sent_since(c, &row.server_id, &row.payload.service_code, since)?,
                self.servers.learnt(c, &row.server_id)?,
            ))
        })?;
        let mut learnt = before.clone();
        let searched_at = now_ms();
        // The search that can conclude "not found": the second, past the POST's deadline.
        let confirming =
            row.progress.not_found > 0 && now_ms() >= row.progress.post_deadline.unwrap_or(0);
        let searcher = Searcher {
            client,
            payload: &row.payload,
            reference: client
                .config()
                .quirks
                .client_reference_attribute
                .as_deref()
                .map(|code| (code, row.id.to_string())),
            others: &others,
            recent: &recent,
        };
        let search = searcher.find(started, &mut learnt, confirming).await;
        learnt.refuse(&client.refused_params(), now_ms());
        let event = match search {
            Ok(Search::Found(found)) => {
                let found = *found;
                row.request_id = found.id.clone();
                row.status = found.status;
                row.last_error = None;
                Event::Found {
                    id: found.id.unwrap_or_default(),
                }
            }
            Ok(Search::NotFound) => {
                row.last_error = None;
                let lag = Duration::from_millis(learnt.search_lag_ms.max(0) as u64);
                // Never longer than the policy's longest wait (an app that retries within
                // a second confirms within one), never shorter than twice the lag seen.
                let wait = self
                    .engine
                    .timing()
                    .confirm_wait
                    .min(self.engine.policy().max);
                Event::NotFound {
                    confirm_after: wait.max(lag * 2),
                    searched_at,
                }
            }
            Ok(Search::Ambiguous(count)) => Event::Ambiguous { count },
            Ok(Search::Unsearchable(why)) => {
                row.last_error = Some(LastError::new(LastErrorCode::Unsearchable, why.clone()));
                Event::Unsearchable { why }
            }
            Err(e) => not_now(&mut row, e).unwrap_or_else(|e| {
                let error = LastError {
                    code: LastErrorCode::Unsearchable,
                    ..LastError::from(&e)
                };
                let why = error.detail.clone();
                row.last_error = Some(error);
                Event::Unsearchable { why }
            }),
        };
        Ok((row, event, (learnt != before).then_some(learnt)))
    }
}

/// What a search of the server for an unanswered POST found.
pub enum Search {
    /// The report, on proof or on evidence with no rival.
    Found(Box<ServiceRequest>),
    /// Nothing that can be the report, in answers that obeyed their filters.
    NotFound,
    /// This many candidates, or one on weak evidence only (`1`).
    Ambiguous(usize),
    /// The answers cannot prove absence; why.
    Unsearchable(String),
}

/// One search's pass over the pages of one query.
enum Pass {
    /// The candidates, whether every page was seen, and whether a page listed rows outside
    /// its dates while obeying every other filter.
    Done {
        candidates: Vec<(ServiceRequest, bool)>,
        complete: bool,
        dates_contradicted: bool,
    },
    /// The proof (the client reference).
    Proof(Box<ServiceRequest>),
    /// Why the server cannot be searched.
    Unsearchable(String),
}

impl Searcher<'_> {
    /// Searches `GET requests` for the report, by the rules in the module doc. `learnt` is
    /// what is known of the server; what this search learns is written back into it. Only a
    /// `confirming` search (the one that can conclude "not found") reads the undated list
    /// after an empty dated window: an earlier one's "nothing" is only the first half anyway.
    async fn find(
        &self,
        started_ms: i64,
        learnt: &mut Learnt,
        confirming: bool,
    ) -> Result<Search, Open311Error> {
        let started = DateTime::<Utc>::from_timestamp_millis(started_ms).unwrap_or_else(Utc::now);
        let undated = RequestQuery {
            service_codes: vec![self.payload.service_code.clone()],
            page_size: Some(RECONCILE_PAGE_SIZE),
            ..Default::default()
        };
        let mut dated_clean = false;
        if !learnt.dates_unreliable(Utc::now().timestamp_millis()) {
            let mut offset = learnt.clock_offset_ms;
            for _ in 0..2 {
                let window = window(started, offset);
                let query = RequestQuery {
                    start: Some(window.0),
                    end: Some(window.1),
                    ..undated.clone()
                };
                let (pass, measured) = self.pass(query, learnt).await?;
                let pass = match pass {
                    Pass::Proof(found) => return Ok(Search::Found(found)),
                    other => other,
                };
                if let Some(measured) = measured {
                    learnt.clock_offset_ms = Some(measured);
                }
                // A clock further off than the window allowed for: ask again in its time.
                let assumed = offset.unwrap_or(0);
                if let Some(measured) = measured.filter(|m| (m - assumed).abs() > skew_ms() / 2) {
                    if offset != Some(measured) {
                        offset = Some(measured);
                        continue;
                    }
                }
                match pass {
                    Pass::Proof(_) => unreachable!("returned above"),
                    Pass::Unsearchable(why) => return Ok(Search::Unsearchable(why)),
                    Pass::Done {
                        dates_contradicted: true,
                        ..
                    } => learnt.dates_unreliable_since = Some(Utc::now().timestamp_millis()),
                    Pass::Done {
                        candidates,
                        complete,
                        ..
                    } => {
                        if !candidates.is_empty() {
                            return Ok(verdict(candidates));
                        }
                        if !complete {
                            return Ok(Search::Unsearchable(too_many()));
                        }
                        dated_clean = true;
                    }
                }
                break;
            }
        }
        if dated_clean && !confirming {
            return Ok(Search::NotFound);
        }
        match self.pass(undated, learnt).await?.0 {
            Pass::Proof(found) => {
                if dated_clean {
                    learnt.dates_unreliable_since = Some(Utc::now().timestamp_millis());
                }
                Ok(Search::Found(found))
            }
            // Filters the dated search obeyed, ignored without dates: the dated answer vouches.
            Pass::Unsearchable(_) if dated_clean => Ok(Search::NotFound),
            Pass::Unsearchable(why) => Ok(Search::Unsearchable(why)),
            Pass::Done {
                candidates,
                complete,
                ..
            } => {
                if !candidates.is_empty() {
                    if dated_clean {
                        learnt.dates_unreliable_since = Some(Utc::now().timestamp_millis());
                    }
                    return Ok(verdict(candidates));
                }
                match complete || dated_clean {
                    true => Ok(Search::NotFound),
                    false => Ok(Search::Unsearchable(too_many())),
                }
            }
        }
    }
}

fn skew_ms() -> i64 {
    CLOCK_SKEW.as_millis() as i64
}

/// The search window in the server's time: the attempt's start to now, shifted by the
/// server's measured offset and widened by what is not known of it.
fn window(started: DateTime<Utc>, offset_ms: Option<i64>) -> (DateTime<Utc>, DateTime<Utc>) {
    let margin =
        chrono::Duration::milliseconds(skew_ms() + offset_ms.map_or(0, |_| DATE_UNCERTAINTY_MS));
    let offset = chrono::Duration::milliseconds(offset_ms.unwrap_or(0));
    (started + offset - margin, Utc::now() + offset + margin)
}

fn too_many() -> String {
    format!(
        "more than {} requests to search on the city's server",
        RECONCILE_PAGES * RECONCILE_PAGE_SIZE
    )
}

/// The verdict on the candidates of a search: one with evidence is the report.
fn verdict(mut candidates: Vec<(ServiceRequest, bool)>) -> Search {
    match candidates.len() {
        1 if candidates[0].1 => Search::Found(Box::new(candidates.remove(0).0)),
        n => Search::Ambiguous(n),
    }
}

/// What a search compares listed requests with.
struct Searcher<'a> {
    client: &'a Open311Client,
    payload: &'a NewRequest,
    /// The client reference attribute's code and this report's value there.
    reference: Option<(&'a str, String)>,
    /// Ids other local reports hold.
    others: &'a HashSet<String>,
    /// This device's reports of the service sent lately: their ids and when each was known.
    recent: &'a [(String, i64)],
}

impl Searcher<'_> {
    /// Walks the pages of `query`; with the pass, the server's clock offset its first answer
    /// showed (milliseconds), if it sent a `Date`. A complete list that lacks one of this
    /// device's reports sent before it was asked shows that the server's search lags at
    /// least that long: learnt.
    async fn pass(
        &self,
        mut query: RequestQuery,
        learnt: &mut Learnt,
    ) -> Result<(Pass, Option<i64>), Open311Error> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut candidates = Vec::new();
        let mut offset = None;
        let mut dates_contradicted = false;
        let began = Utc::now().timestamp_millis();
        for _ in 0..RECONCILE_PAGES {
            let asked = Utc::now();
            let page = self.client.requests(&query).await?;
            let answered = Utc::now();
            if offset.is_none() {
                // Midway between asking and hearing: the server's "now" was about then.
                let here = asked + (answered - asked) / 2;
                offset = page.server_time.map(|t| (t - here).num_milliseconds());
            }
            if page.contradicted && !page.dates_only {
                return Ok((
                    Pass::Unsearchable(
                        "the city's server ignores the filters of its request list".into(),
                    ),
                    offset,
                ));
            }
            dates_contradicted |= page.contradicted;
            if !page.listed_ids.is_empty() && page.listed_ids.iter().all(|id| seen.contains(id)) {
                return Ok((
                    Pass::Unsearchable(
                        "the city's server lists the same requests on every page".into(),
                    ),
                    offset,
                ));
            }
            seen.extend(page.listed_ids);
            for remote in page.requests {
                let Some(id) = remote.id.as_ref() else {
                    continue;
                };
                if self.others.contains(id) {
                    continue;
                }
                if let Some((code, value)) = &self.reference {
                    match remote.attributes.iter().find(|a| &a.code == code) {
                        Some(listed) if &listed.value == value => {
                            return Ok((Pass::Proof(Box::new(remote)), offset))
                        }
                        Some(_) => continue,
                        None => {}
                    }
                }
                if let Some(evidence) = evidence(self.payload, &remote) {
                    candidates.push((remote, evidence));
                }
            }
            match page.next_page {
                Some(next) => query.page = Some(next),
                None => {
                    self.learn_lag(&query, &seen, began, offset, learnt);
                    return Ok((
                        Pass::Done {
                            candidates,
                            complete: true,
                            dates_contradicted,
                        },
                        offset,
                    ));
                }
            }
        }
        Ok((
            Pass::Done {
                candidates,
                complete: false,
                dates_contradicted,
            },
            offset,
        ))
    }
}

impl Searcher<'_> {
    /// After a complete list read from `began`: this device's reports known sent before then
    /// (and inside the query's window) that it lacks show the least lag of the server's
    /// search.
    fn learn_lag(
        &self,
        query: &RequestQuery,
        seen: &HashSet<String>,
        began: i64,
        offset: Option<i64>,
        learnt: &mut Learnt,
    ) {
        let offset = offset.unwrap_or(0);
        let inside = |sent: i64| {
            let at = DateTime::<Utc>::from_timestamp_millis(sent + offset);
            query.start.zip(at).is_none_or(|(start, at)| at >= start)
        };
        let lag = self
            .recent
            .iter()
            .filter(|(id, sent)| *sent < began && !seen.contains(id) && inside(*sent))
            .map(|(_, sent)| began - sent)
            .max()
            .unwrap_or(0)
            .min(MAX_SEARCH_LAG_MS);
        learnt.search_lag_ms = learnt.search_lag_ms.max(lag);
    }
}

/// The longest search lag believed (a server "lagging" more is not searchable in practice).
const MAX_SEARCH_LAG_MS: i64 = 3_600_000;

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
