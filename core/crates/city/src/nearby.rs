//! Requests near a place: "is this the same problem?" suggestions before submitting, and open
//! data for maps; exported as GeoJSON.
//!
//! A real city lists thousands of requests a day, so the newest few hundred of the whole city
//! say nothing about one street. The area is asked of the server: with its own position
//! filter where it has one (the profile's `position_filter`: `bbox`, or `lat`/`long`/`radius`),
//! else by paging through the requests of the profile's window (`open_data_days`), at most
//! [`MAX_PAGES`] pages per call. Everything fetched is cached; the answer is always read from
//! the cache through its position index, so it is the same offline (then marked stale, with
//! the time of the last fetch). A server that refuses the query is an error, not "offline".

use chrono::{DateTime, Utc};
use geo::{Distance, Haversine, Point};

use curbside_open311::{Area, Open311Client, RequestQuery, ServiceRequest};
use curbside_store::{reports::now_ms, requests_cache};
use curbside_types::{Error, NearbyRequest, Result};

use crate::{Cached, Cities};

/// Requests per page asked of a server.
const PAGE_SIZE: u32 = 200;
/// Pages read per call at most, when the server cannot filter by position.
pub const MAX_PAGES: u32 = 10;

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
    ) -> Result<Cached<Vec<NearbyRequest>>> {
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
        let (found, fetched_at, stale) = self
            .fetch_area(client, profile_id, area, service_code, open_only)
            .await?;
        let here = Point::new(longitude, latitude);
        let mut near: Vec<NearbyRequest> = found
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
        Ok(Cached {
            value: near,
            fetched_at,
            stale,
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
    ) -> Result<Cached<Vec<ServiceRequest>>> {
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
        let (mut inside, fetched_at, stale) = self
            .fetch_area(client, profile_id, area, None, false)
            .await?;
        inside.sort_by_key(|r| std::cmp::Reverse(r.requested_at));
        Ok(Cached {
            value: inside,
            fetched_at,
            stale,
        })
    }

    /// Refreshes the cache for `area` from the server, then reads the area from the cache:
    /// the requests, when they were fetched, and whether the server could not be reached.
    async fn fetch_area(
        &self,
        client: &Open311Client,
        profile_id: &str,
        area: Area,
        service_code: Option<&str>,
        open_only: bool,
    ) -> Result<(Vec<ServiceRequest>, DateTime<Utc>, bool)> {
        let days = self.profile(profile_id)?.open_data_days;
        let mut query = RequestQuery {
            service_codes: service_code
                .map(|c| vec![c.to_string()])
                .unwrap_or_default(),
            statuses: if open_only {
                vec!["open".into()]
            } else {
                vec![]
            },
            start: Some(Utc::now() - chrono::Duration::days(days.into())),
            page_size: Some(PAGE_SIZE),
            area: Some(area),
            ..Default::default()
        };
        let mut reached = false;
        for _ in 0..MAX_PAGES {
            match client.requests(&query).await {
                Ok(page) => {
                    reached = true;
                    let now = now_ms();
                    let kept_since = now - i64::from(days) * 86_400_000;
                    self.store.write(|tx| {
                        requests_cache::put(tx, profile_id, &page.requests, now)?;
                        requests_cache::prune(tx, profile_id, kept_since)
                    })?;
                    match page.next_page {
                        Some(next) => query.page = Some(next),
                        None => break,
                    }
                }
                // No network, a timeout, a busy server: the cache answers.
                Err(e) if e.is_transient() => break,
                // A refusal, refused credentials, a wrong endpoint: said as what it is.
                Err(e) => return Err(e.into()),
            }
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
        Ok((found, fetched_at, !reached))
    }
}

/// Requests as a GeoJSON FeatureCollection of points (those without a position are left out).
pub fn to_geojson(requests: &[ServiceRequest]) -> String {
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
    serde_json::json!({ "type": "FeatureCollection", "features": features }).to_string()
}
