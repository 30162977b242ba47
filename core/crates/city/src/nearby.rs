//! Requests near a place: "is this the same problem?" suggestions before submitting, and open
//! data for maps, from the server and, offline, from the local cache; exported as GeoJSON.

use crate::Cached;
use curbside_open311::{Open311Client, RequestQuery, ServiceRequest};
use curbside_store::{reports::now_ms, requests_cache};
use curbside_types::{Error, NearbyRequest, Result};
use geo::{Distance, Haversine, Point};

use crate::Cities;

impl Cities {
    /// Requests within `radius_m` of a place, nearest first (newest first at equal distance):
    /// with `service_code` and `open_only`, the "already reported?" suggestions (default 50 m);
    /// without, open data for a map. Fetched requests are cached for offline use; when the
    /// server cannot be reached, the cache answers (`stale`).
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
            && radius_m.is_finite()
            && radius_m > 0.0)
        {
            return Err(Error::invalid(
                "location",
                "needs a real position and a positive radius",
            ));
        }
        let query = RequestQuery {
            service_codes: service_code
                .map(|c| vec![c.to_string()])
                .unwrap_or_default(),
            statuses: if open_only {
                vec!["open".into()]
            } else {
                vec![]
            },
            page_size: Some(200),
            ..Default::default()
        };
        let fetched = client.requests(&query).await;
        let stale = fetched.is_err();
        if let Ok(page) = &fetched {
            self.cache_requests(profile_id, &page.requests)?;
        }
        let here = Point::new(longitude, latitude);
        let mut found: Vec<NearbyRequest> = self
            .cached_requests(profile_id)?
            .into_iter()
            .filter(|r| service_code.is_none_or(|c| r.service_code.as_deref() == Some(c)))
            .filter(|r| !open_only || r.status.as_deref() == Some("open"))
            .filter_map(|r| {
                let there = Point::new(r.long?, r.lat?);
                let distance_m = Haversine.distance(here, there);
                (distance_m <= radius_m).then_some(NearbyRequest {
                    request: r,
                    distance_m,
                })
            })
            .collect();
        found.sort_by(|a, b| {
            a.distance_m
                .total_cmp(&b.distance_m)
                .then(b.request.requested_at.cmp(&a.request.requested_at))
        });
        let fetched_at = chrono::Utc::now();
        Ok(Cached {
            value: found,
            fetched_at,
            stale,
        })
    }

    /// Requests inside a bounding box (a map's viewport), newest first; cached like
    /// `nearby_requests` and served from the cache when offline.
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
        let fetched = client
            .requests(&RequestQuery {
                page_size: Some(200),
                ..Default::default()
            })
            .await;
        let stale = fetched.is_err();
        if let Ok(page) = &fetched {
            self.cache_requests(profile_id, &page.requests)?;
        }
        let mut inside: Vec<ServiceRequest> = self
            .cached_requests(profile_id)?
            .into_iter()
            .filter(|r| matches!((r.lat, r.long), (Some(lat), Some(long)) if (south..=north).contains(&lat) && (west..=east).contains(&long)))
            .collect();
        inside.sort_by_key(|r| std::cmp::Reverse(r.requested_at));
        Ok(Cached {
            value: inside,
            fetched_at: chrono::Utc::now(),
            stale,
        })
    }

    fn cache_requests(&self, profile_id: &str, requests: &[ServiceRequest]) -> Result<()> {
        let now = now_ms();
        self.store
            .write(|tx| requests_cache::put(tx, profile_id, requests, now))
    }

    fn cached_requests(&self, profile_id: &str) -> Result<Vec<ServiceRequest>> {
        self.store
            .read(|conn| requests_cache::list(conn, profile_id))
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
