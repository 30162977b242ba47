//! Requests near a place: "is this the same problem?" suggestions before submitting, and open
//! data for maps; exported as GeoJSON.
//!
//! A real city lists thousands of requests a day, so the newest few hundred of the whole city
//! say nothing about one street. The area is asked of the server: with its own position
//! filter where it has one (the profile's `position_filter`: `bbox`, or `lat`/`long`/`radius`),
//! else by paging through the requests of the profile's window (`open_data_days`), at most
//! [`MAX_PAGES`] pages per call. A server of the spec only has neither: it lists the newest
//! [`LIST_CAP`] requests of a date window. There the window is walked by date: a window whose
//! answer reaches the cap is split in halves until each part is under it, at most
//! [`MAX_WALK_QUERIES`] queries per call. A server found not to page (page_size ignored or
//! refused) is remembered as such by the caller ([`Open311Client::refused_params`]).
//!
//! Every answer says how far it can be trusted ([`Coverage`]): partial (a bound reached, a
//! window still at the cap), contradicted (filters or pages ignored), dates unreliable (then
//! the window cannot be walked, and the newest requests are all there is). Everything fetched
//! is cached; the answer is always read from the cache through its position index, so it is
//! the same offline (then marked stale, with the time of the last fetch). A server that
//! refuses the query is an error, not "offline".

use chrono::{DateTime, Utc};
use geo::{Distance, Haversine, Point};

use serde::{Deserialize, Serialize};

use curbside_open311::{
    Area, Open311Client, Pagination, PositionFilter, RequestPage, RequestQuery, ServiceRequest,
};
use curbside_store::{reports::now_ms, requests_cache};
use curbside_types::{Coverage, Error, NearbyRequest, Result};

use crate::Cities;

/// Requests per page asked of a server.
const PAGE_SIZE: u32 = 200;
/// Pages read per call at most, when the server cannot filter by position.
pub const MAX_PAGES: u32 = 10;
/// The most requests a list holds by the spec: an answer this long is taken as cut short.
pub const LIST_CAP: usize = 1000;
/// Queries per call at most when a window is walked by date.
pub const MAX_WALK_QUERIES: u32 = 32;
/// How far past the device's "now" a window reaches: a server's clock ahead, or its times
/// labelled in another zone.
const CLOCK_SLACK: chrono::Duration = chrono::Duration::days(1);
/// The narrowest window split further.
const MIN_WINDOW: chrono::Duration = chrono::Duration::minutes(1);

impl Cities {
    /// Requests within `radius_m` of a place, nearest first (newest first at equal distance):
    /// with `service_code` and `open_only`, the "already reported?" suggestions (default 50 m);
    /// without, open data for a map.
    #[allow(clippy::too_many_arguments)] // a place, a radius and two filters; a query record is the SDK API issue's
    pub async fn nearby_requests(
        &self,
        client: &Open311Client,
        profile_id: &str,
        latitude: f64,
        longitude: f64,
        radius_m: f64,
        service_code: Option<&str>,
        open_only: bool,
    ) -> Result<OpenData<Vec<NearbyRequest>>> {
        if !(latitude.is_finite()
            && longitude.is_finite()
            && (-90.0..=90.0).contains(&latitude)
            && (-180.0..=180.0).contains(&longitude)
            && radius_m.is_finite()
            && radius_m > 0.0
            && radius_m <= 50_000.0)
        {
            return Err(Error::invalid(
                "location",
                "needs a real position and a radius of up to 50 km",
            ));
        }
        let area = Area::around(latitude, longitude, radius_m);
        let fetched = self
            .fetch_area(client, profile_id, area, service_code, open_only)
            .await?;
        let here = Point::new(longitude, latitude);
        let OpenData {
            value,
            fetched_at,
            stale,
            coverage,
        } = fetched;
        let mut near: Vec<NearbyRequest> = value
            .into_iter()
            .filter_map(|r| {
                let distance_m = Haversine.distance(here, Point::new(r.long?, r.lat?));
                (distance_m <= radius_m).then_some(NearbyRequest {
                    request: r,
                    distance_m,
                })
            })
            .collect();
        near.sort_by(|a, b| {
            a.distance_m
                .total_cmp(&b.distance_m)
                .then(b.request.requested_at.cmp(&a.request.requested_at))
        });
        Ok(OpenData {
            value: near,
            fetched_at,
            stale,
            coverage,
        })
    }

    /// Requests inside a bounding box (a map's viewport), newest first; fetched and cached
    /// like [`Cities::nearby_requests`].
    pub async fn requests_in_box(
        &self,
        client: &Open311Client,
        profile_id: &str,
        south: f64,
        west: f64,
        north: f64,
        east: f64,
    ) -> Result<OpenData<Vec<ServiceRequest>>> {
        if ![south, west, north, east].iter().all(|v| v.is_finite()) || south > north || west > east
        {
            return Err(Error::invalid(
                "bbox",
                "needs south <= north and west <= east",
            ));
        }
        let area = Area {
            south,
            west,
            north,
            east,
        };
        let mut inside = self
            .fetch_area(client, profile_id, area, None, false)
            .await?;
        inside
            .value
            .sort_by_key(|r| std::cmp::Reverse(r.requested_at));
        Ok(inside)
    }

    /// Refreshes the cache for `area` from the server, then reads the area from the cache:
    /// the requests, when they were fetched, whether the server could not be reached, and
    /// how much of its window this fetch read.
    async fn fetch_area(
        &self,
        client: &Open311Client,
        profile_id: &str,
        area: Area,
        service_code: Option<&str>,
        open_only: bool,
    ) -> Result<OpenData<Vec<ServiceRequest>>> {
        let days = self.profile(profile_id)?.open_data_days;
        let start = Utc::now() - chrono::Duration::days(days.into());
        // A server's clock may be ahead of the device's (or its times labelled in another
        // zone): its newest requests would fall after a window ending now.
        let end = Utc::now() + CLOCK_SLACK;
        let by_position = client.config().quirks.position_filter != PositionFilter::None
            && !client
                .refused_params()
                .iter()
                .any(|p| p == "bbox" || p == "radius");
        let query = RequestQuery {
            service_codes: service_code
                .map(|c| vec![c.to_string()])
                .unwrap_or_default(),
            statuses: if open_only {
                vec!["open".into()]
            } else {
                vec![]
            },
            start: Some(start),
            area: by_position.then_some(area),
            ..Default::default()
        };
        let mut fetch = Fetch {
            cities: self,
            client,
            profile_id,
            area,
            coverage: Coverage::default(),
            reached: false,
        };
        let pages = !matches!(client.config().quirks.pagination, Pagination::None)
            && !client.refused_params().iter().any(|p| p == "page");
        let capped = match pages {
            true => fetch.page_through(query.clone()).await?,
            false => None,
        };
        if !by_position && (!pages || capped.is_some()) {
            let dates_unreliable = self
                .store
                .read(|c| self.servers.learnt(c, profile_id))?
                .dates_unreliable(now_ms());
            let windows = match capped {
                // The whole window is at the cap: read it again in halves.
                Some(true) => halves(start, end),
                Some(false) => vec![],
                None => vec![(start, end)],
            };
            match dates_unreliable {
                true => fetch.undated(query.clone(), capped.is_none()).await?,
                false => fetch.walk(query.clone(), windows).await?,
            }
        }
        if fetch.reached && fetch.coverage.listed == 0 && !fetch.coverage.dates_unreliable {
            fetch.confirm_empty(query, start).await?;
        }
        let Fetch {
            coverage, reached, ..
        } = fetch;
        if reached {
            // Open data goes stale, and a city's history is not this device's to keep.
            let kept_since = now_ms() - i64::from(days) * 86_400_000;
            self.store
                .write(|tx| requests_cache::prune(tx, profile_id, kept_since))?;
        }
        let (found, last) = self.store.read(|conn| {
            Ok((
                requests_cache::in_box(
                    conn, profile_id, area.south, area.west, area.north, area.east,
                )?,
                requests_cache::last_fetched(conn, profile_id)?,
            ))
        })?;
        let found = found
            .into_iter()
            .filter(|r| service_code.is_none_or(|c| r.service_code.as_deref() == Some(c)))
            .filter(|r| !open_only || r.status.as_deref() == Some("open"))
            .collect();
        let fetched_at = last
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or_default();
        Ok(OpenData {
            value: found,
            fetched_at,
            stale: !reached,
            coverage,
        })
    }
}

/// Open data for an area: the requests, when they were fetched, whether the server could not
/// be reached (`stale`: the cache answered), and how complete the fetch was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenData<T> {
    /// The requests.
    pub value: T,
    /// When the server's requests were last fetched.
    pub fetched_at: DateTime<Utc>,
    /// True when the server could not be reached and the cache answered.
    pub stale: bool,
    /// What this fetch read, and how far the server's answers can be trusted.
    pub coverage: Coverage,
}

/// One fetch of a profile's open data: the queries made and what they showed.
struct Fetch<'a> {
    cities: &'a Cities,
    client: &'a Open311Client,
    profile_id: &'a str,
    /// The area asked about: the only requests kept.
    area: Area,
    coverage: Coverage,
    /// Whether any answer came.
    reached: bool,
}

impl Fetch<'_> {
    /// One query; `None` when the server cannot be reached now (no network, a timeout, a
    /// busy server: the cache answers). A refusal is an error, said as what it is.
    async fn ask(&mut self, query: &RequestQuery) -> Result<Option<RequestPage>> {
        match self.client.requests(query).await {
            Ok(page) => {
                self.reached = true;
                self.coverage.queries += 1;
                self.coverage.listed += page.listed_ids.len() as u32;
                // Rows its filters exclude, by more than their dates (an oversized page is
                // paging ignored, handled by the caller): learnt, with when.
                let contradicted = page.requests.len() < page.listed_ids.len() && !page.dates_only;
                if contradicted && !self.coverage.contradicted {
                    self.coverage.contradicted = true;
                    self.cities.servers.learn(self.profile_id, |learnt| {
                        learnt.filters_ignored_since = Some(now_ms())
                    })?;
                }
                // Only the area is kept: a city's history is not this device's to keep.
                let inside: Vec<ServiceRequest> = page
                    .requests
                    .iter()
                    .filter(|r| {
                        r.lat
                            .zip(r.long)
                            .is_some_and(|(lat, long)| self.area.contains(lat, long))
                    })
                    .cloned()
                    .collect();
                if !inside.is_empty() {
                    self.cities
                        .store
                        .write(|tx| requests_cache::put(tx, self.profile_id, &inside, now_ms()))?;
                }
                Ok(Some(page))
            }
            Err(e) if e.is_transient() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Pages through the window, at most [`MAX_PAGES`] pages. `Some(capped)` when the server
    /// turned out not to page (page_size ignored, or paging refused): its one answer holds
    /// everything it gives, and `capped` says whether that is the list's cap.
    async fn page_through(&mut self, mut query: RequestQuery) -> Result<Option<bool>> {
        query.page_size = Some(PAGE_SIZE);
        let mut previous: Vec<String> = Vec::new();
        for n in 0..MAX_PAGES {
            let Some(page) = self.ask(&query).await? else {
                return Ok(None);
            };
            let listed = page.listed_ids.len();
            let unpaged = listed > PAGE_SIZE as usize
                || self.client.refused_params().iter().any(|p| p == "page");
            if unpaged {
                // A server that does not page: never asked to again (until re-tested).
                self.client.assume_refused(["page", "page_size"]);
                return Ok(Some(listed >= LIST_CAP));
            }
            if !previous.is_empty() && previous == page.listed_ids {
                self.coverage.contradicted = true; // the same rows on every page
                return Ok(None);
            }
            previous = page.listed_ids;
            match page.next_page {
                Some(next) if n + 1 < MAX_PAGES => query.page = Some(next),
                Some(_) => self.coverage.partial = true,
                None => break,
            }
        }
        Ok(None)
    }

    /// Walks `windows` by date, newest first: a window whose answer reaches the list's cap is
    /// split in halves until each is under it, at most [`MAX_WALK_QUERIES`] queries.
    async fn walk(
        &mut self,
        query: RequestQuery,
        mut windows: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Result<()> {
        while let Some((start, end)) = windows.pop() {
            if self.coverage.queries >= MAX_WALK_QUERIES {
                self.coverage.partial = true;
                break;
            }
            let window = one_answer(query.clone(), Some((start, end)));
            let Some(page) = self.ask(&window).await? else {
                self.coverage.partial = true;
                break;
            };
            if page.dates_only {
                // Rows outside their own window: the server's dates cannot be walked.
                self.learn_dates_unreliable()?;
                self.coverage.partial = true;
                break;
            }
            if page.listed_ids.len() >= LIST_CAP {
                match end - start > MIN_WINDOW {
                    true => windows.extend(halves(start, end)),
                    false => self.coverage.partial = true,
                }
            }
        }
        Ok(())
    }

    /// An empty window, confirmed once without dates: a server that lists requests of the
    /// window there applies its date filter wrongly (backwards, in another zone). Learnt, and
    /// the answer says its dates are unreliable.
    async fn confirm_empty(&mut self, query: RequestQuery, start: DateTime<Utc>) -> Result<()> {
        let Some(page) = self.ask(&one_answer(query, None)).await? else {
            return Ok(());
        };
        if page
            .requests
            .iter()
            .any(|r| r.requested_at.is_some_and(|at| at >= start))
        {
            self.learn_dates_unreliable()?;
            self.coverage.partial |= page.listed_ids.len() >= LIST_CAP;
        }
        Ok(())
    }

    /// The server's dates cannot be trusted: said in this answer, and kept for the outbox's
    /// searches and the next fetch (until re-tested).
    fn learn_dates_unreliable(&mut self) -> Result<()> {
        self.coverage.dates_unreliable = true;
        self.cities.servers.learn(self.profile_id, |learnt| {
            learnt.dates_unreliable_since = Some(now_ms())
        })
    }

    /// Where dates are unreliable: one answer without dates (unless one came already), and
    /// "partial" when it is at the list's cap, since the rest cannot be reached.
    async fn undated(&mut self, query: RequestQuery, ask: bool) -> Result<()> {
        self.coverage.dates_unreliable = true;
        if ask {
            if let Some(page) = self.ask(&one_answer(query, None)).await? {
                self.coverage.partial |= page.listed_ids.len() >= LIST_CAP;
            }
        } else {
            self.coverage.partial = true;
        }
        Ok(())
    }
}

/// `query` as one answer of a server that does not page: no page, no area (it has no
/// position filter), and the dates of `window` (none: its default window).
fn one_answer(query: RequestQuery, window: Option<(DateTime<Utc>, DateTime<Utc>)>) -> RequestQuery {
    RequestQuery {
        start: window.map(|w| w.0),
        end: window.map(|w| w.1),
        page: None,
        page_size: None,
        area: None,
        ..query
    }
}

/// A window's two halves, the newer last (walked first).
fn halves(start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let middle = start + (end - start) / 2;
    vec![(start, middle), (middle, end)]
}

/// Requests as a GeoJSON FeatureCollection of points (those without a position are left
/// out), with how they were fetched as a foreign member `curbside` (RFC 7946 §6.1): when,
/// whether from the cache only, and the fetch's [`Coverage`].
pub fn to_geojson<T>(found: &OpenData<T>, requests: &[ServiceRequest]) -> String {
    let features: Vec<serde_json::Value> = requests
        .iter()
        .filter_map(|r| {
            let (lat, long) = (r.lat?, r.long?);
            Some(serde_json::json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [long, lat] },
                "properties": {
                    "service_request_id": r.id, "service_code": r.service_code, "service_name": r.service_name,
                    "status": r.status, "description": r.description, "requested_datetime": r.requested_at,
                    "address": r.address,
                }
            }))
        })
        .collect();
    serde_json::json!({
        "type": "FeatureCollection",
        "features": features,
        "curbside": {
            "fetched_at": found.fetched_at,
            "stale": found.stale,
            "coverage": found.coverage,
        },
    })
    .to_string()
}
