//! Cities: the profiles loaded at open, the offline catalog, forms, and requests nearby and
//! on a map; with views for Kotlin and Swift: a profile as an app may show it (never its
//! server's key), and the core's generic `Cached<T>` as one record per use.

use std::sync::Arc;
use std::time::SystemTime;

use curbside_core::city as core;
use curbside_open311::{Service, ServiceDefinition, ServiceRequest};
use curbside_photo::PhotoProfile;
use curbside_types::{Coverage, Draft, DraftId, NearbyRequest};

use crate::sdk::Sdk;
use crate::ApiError;

/// The cities this app serves (configured at open), and what their servers publish.
#[derive(uniffi::Object)]
pub struct Cities {
    sdk: Arc<Sdk>,
}

impl Cities {
    pub(crate) fn new(sdk: Arc<Sdk>) -> Arc<Self> {
        Arc::new(Cities { sdk })
    }
}

#[uniffi::export]
impl Cities {
    /// Every city loaded at open.
    pub async fn profiles(&self) -> Result<Vec<CityProfile>, ApiError> {
        let profiles = self.sdk.run(|c| c.profiles()).await?;
        Ok(profiles.into_iter().map(Into::into).collect())
    }

    /// A city's services: cached, refreshed when old or when `refresh`, and from the cache
    /// (`stale`) when offline.
    pub async fn services(
        &self,
        profile_id: String,
        refresh: bool,
    ) -> Result<CachedServices, ApiError> {
        let cached = self
            .sdk
            .run_async(move |c| async move { c.catalog_services(&profile_id, refresh).await })
            .await?;
        Ok(CachedServices {
            services: cached.value,
            fetched_at: cached.fetched_at.into(),
            stale: cached.stale,
        })
    }

    /// A service's questions, cached like the services.
    pub async fn definition(
        &self,
        profile_id: String,
        service_code: String,
        refresh: bool,
    ) -> Result<CachedDefinition, ApiError> {
        let cached = self
            .sdk
            .run_async(move |c| async move {
                c.catalog_definition(&profile_id, &service_code, refresh)
                    .await
            })
            .await?;
        Ok(CachedDefinition {
            definition: cached.value,
            fetched_at: cached.fetched_at.into(),
            stale: cached.stale,
        })
    }

    /// Sets a draft up for a city's service and returns the questions to show; the draft keeps
    /// the definition, so it validates offline.
    pub async fn service_form(
        &self,
        draft_id: DraftId,
        profile_id: String,
        service_code: String,
    ) -> Result<ServiceForm, ApiError> {
        let (draft, definition) = self
            .sdk
            .run_async(move |c| async move {
                c.service_form(&draft_id, &profile_id, &service_code).await
            })
            .await?;
        Ok(ServiceForm { draft, definition })
    }

    /// Requests near a place, nearest first: with a service code and `open_only`, the
    /// "already reported?" suggestions (use 50 m); without, a map's open data. From the cache
    /// (`stale`) when offline; `coverage` says whether the server's answer was complete.
    pub async fn nearby(&self, query: NearbyQuery) -> Result<NearbyRequests, ApiError> {
        Ok(self.fetch_nearby(query).await?.into())
    }

    /// The same requests as `nearby`, as a GeoJSON FeatureCollection for a map layer (with
    /// how they were fetched as its `curbside` member).
    pub async fn nearby_geojson(&self, query: NearbyQuery) -> Result<String, ApiError> {
        let found = self.fetch_nearby(query).await?;
        let requests: Vec<_> = found.value.iter().map(|n| n.request.clone()).collect();
        Ok(core::to_geojson(&found, &requests))
    }

    /// Requests inside a map's viewport, newest first; from the cache when offline.
    pub async fn in_box(
        &self,
        profile_id: String,
        viewport: MapBox,
    ) -> Result<MapRequests, ApiError> {
        let found = self
            .sdk
            .run_async(move |c| async move {
                let MapBox {
                    south,
                    west,
                    north,
                    east,
                } = viewport;
                c.requests_in_box(&profile_id, south, west, north, east)
                    .await
            })
            .await?;
        Ok(MapRequests {
            requests: found.value,
            stale: found.stale,
            coverage: found.coverage,
        })
    }
}

impl Cities {
    async fn fetch_nearby(
        &self,
        query: NearbyQuery,
    ) -> Result<core::OpenData<Vec<NearbyRequest>>, ApiError> {
        self.sdk
            .run_async(move |c| async move {
                c.nearby_requests(
                    &query.profile_id,
                    query.latitude,
                    query.longitude,
                    query.radius_m,
                    query.service_code.as_deref(),
                    query.open_only,
                )
                .await
            })
            .await
    }
}

/// Where to look for requests near a place.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NearbyQuery {
    /// The city.
    pub profile_id: String,
    /// The place, degrees north.
    pub latitude: f64,
    /// The place, degrees east.
    pub longitude: f64,
    /// How far, in metres.
    pub radius_m: f64,
    /// Only this service; `null`/`nil` for all.
    #[uniffi(default = None)]
    pub service_code: Option<String>,
    /// Only requests the city has not closed.
    #[uniffi(default = false)]
    pub open_only: bool,
}

/// A map's viewport, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct MapBox {
    /// Southern edge.
    pub south: f64,
    /// Western edge.
    pub west: f64,
    /// Northern edge.
    pub north: f64,
    /// Eastern edge.
    pub east: f64,
}

/// A loaded city profile, as an app shows and uses it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CityProfile {
    /// Stable id; reports are submitted to it.
    pub id: String,
    /// The city's name.
    pub name: String,
    /// Contact fields the city requires: `first_name`, `last_name`, `email`, `phone`.
    pub required_contact: Vec<String>,
    /// Reports are anonymous unless the user opts in.
    pub anonymous_by_default: bool,
    /// The least precise GPS or network fix accepted, in metres.
    pub max_accuracy_m: Option<f64>,
    /// True when the profile has a service area to check positions against.
    pub has_service_area: bool,
    /// The city's photo limits.
    pub photos: PhotoProfile,
}

/// The service list, from the server or (stale) from the cache.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CachedServices {
    /// The services.
    pub services: Vec<Service>,
    /// When they were fetched.
    pub fetched_at: SystemTime,
    /// True when the server could not be reached (or the cache is old): say it may be out of date.
    pub stale: bool,
}

/// A service definition, from the server or (stale) from the cache.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CachedDefinition {
    /// The definition.
    pub definition: ServiceDefinition,
    /// When it was fetched.
    pub fetched_at: SystemTime,
    /// True when served from an old or offline cache.
    pub stale: bool,
}

/// A draft set up for a service, with the questions to show.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ServiceForm {
    /// The draft, now for this city and service.
    pub draft: Draft,
    /// The questions, in display order.
    pub definition: ServiceDefinition,
}

/// Requests near a place, nearest first.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NearbyRequests {
    /// The requests.
    pub requests: Vec<NearbyRequest>,
    /// True when the server could not be reached and the cache answered.
    pub stale: bool,
    /// How much of the server's open data was read, and how far it can be trusted.
    pub coverage: Coverage,
}

/// Requests inside a map's viewport, newest first.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MapRequests {
    /// The requests.
    pub requests: Vec<ServiceRequest>,
    /// True when the server could not be reached and the cache answered.
    pub stale: bool,
    /// How much of the server's open data was read, and how far it can be trusted.
    pub coverage: Coverage,
}

impl From<core::CityProfile> for CityProfile {
    fn from(p: core::CityProfile) -> Self {
        Self {
            has_service_area: p.service_area.is_some(),
            required_contact: p
                .required_contact
                .iter()
                .map(|c| {
                    serde_json::to_value(c)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                })
                .collect(),
            id: p.id,
            name: p.name,
            anonymous_by_default: p.anonymous_by_default,
            max_accuracy_m: p.max_accuracy_m,
            photos: p.photos,
        }
    }
}

impl From<core::OpenData<Vec<core::NearbyRequest>>> for NearbyRequests {
    fn from(c: core::OpenData<Vec<core::NearbyRequest>>) -> Self {
        Self {
            requests: c.value,
            stale: c.stale,
            coverage: c.coverage,
        }
    }
}
