//! Cities as the app calls them: profiles (each sets up its server in the outbox, in the
//! same transaction), the catalog, forms, validation and nearby requests. The city layer does
//! the work; this module hands it the server's client (`curbside-servers`).

use curbside_city::{put_profile, Cached, CityProfile, OpenData};

use crate::city::{FieldError, NearbyRequest};
use crate::open311::{Service, ServiceDefinition, ServiceRequest};
use crate::{Curbside, Draft, DraftId, Result};

impl Curbside {
    /// Loads (or replaces) a city profile from its JSON document, and sets up its server
    /// under the profile's id (as [`Curbside::set_server`] does, with the same re-queueing).
    /// The document's api_key, if any, is kept in memory only, like every key.
    pub fn add_profile(&self, json: &str) -> Result<CityProfile> {
        self.add_profile_with(json, |_| None, None)
    }

    /// [`Curbside::add_profile`] with what an app gives apart from the document: the
    /// server's key by profile id (from its build config, the Keystore or the Keychain), which
    /// replaces the document's, and the app's name for the User-Agent.
    pub fn add_profile_with(
        &self,
        json: &str,
        api_key: impl FnOnce(&str) -> Option<crate::open311::ApiKey>,
        app_name: Option<String>,
    ) -> Result<CityProfile> {
        let mut profile = CityProfile::parse(json)?;
        let api_key = api_key(&profile.id);
        if api_key.is_some() {
            profile.server.api_key = api_key;
        }
        if app_name.is_some() {
            profile.server.app_name = app_name;
        }
        let changed = self.outbox.commit(|tx, events| {
            put_profile(tx, &profile)?;
            self.outbox
                .put_server(tx, &profile.id, &profile.server, events)
        })?;
        if changed {
            self.outbox.wake();
        }
        Ok(profile)
    }

    /// Every loaded profile, by id.
    pub fn profiles(&self) -> Result<Vec<CityProfile>> {
        self.cities.profiles()
    }

    /// One loaded profile.
    pub fn profile(&self, id: &str) -> Result<CityProfile> {
        self.cities.profile(id)
    }

    /// The services of a profile's city: from the cache while fresh, else from the server;
    /// from the cache (stale) when the server cannot be reached. `refresh` skips a fresh cache.
    pub async fn catalog_services(
        &self,
        profile_id: &str,
        refresh: bool,
    ) -> Result<Cached<Vec<Service>>> {
        let client = self.servers.client(profile_id)?;
        self.cities
            .catalog_services(&client, profile_id, refresh)
            .await
    }

    /// A service's definition (its questions), cached like the service list.
    pub async fn catalog_definition(
        &self,
        profile_id: &str,
        service_code: &str,
        refresh: bool,
    ) -> Result<Cached<ServiceDefinition>> {
        let client = self.servers.client(profile_id)?;
        self.cities
            .catalog_definition(&client, profile_id, service_code, refresh)
            .await
    }

    /// Starts (or switches) the form of a draft for a service of a profile's city: sets the
    /// draft's city and service, and keeps a copy of the definition it is filled against.
    pub async fn service_form(
        &self,
        draft_id: &DraftId,
        profile_id: &str,
        service_code: &str,
    ) -> Result<(Draft, ServiceDefinition)> {
        let client = self.servers.client(profile_id)?;
        self.cities
            .service_form(&client, draft_id, profile_id, service_code)
            .await
    }

    /// Gives a draft its service's form from the cached catalog alone (no network call):
    /// false when the catalog does not hold it.
    pub fn offline_form(
        &self,
        draft_id: &DraftId,
        profile_id: &str,
        service_code: &str,
    ) -> Result<bool> {
        self.cities.offline_form(draft_id, profile_id, service_code)
    }

    /// Everything that must change before the draft can be submitted (empty when ready).
    pub fn validate_draft(&self, draft_id: &DraftId) -> Result<Vec<FieldError>> {
        self.cities.validate_draft(draft_id)
    }

    /// Requests within `radius_m` of a place, nearest first: with `service_code` and
    /// `open_only`, the "already reported?" suggestions; without, open data for a map.
    /// Served from the cache (`stale`) when the server cannot be reached.
    pub async fn nearby_requests(
        &self,
        profile_id: &str,
        latitude: f64,
        longitude: f64,
        radius_m: f64,
        service_code: Option<&str>,
        open_only: bool,
    ) -> Result<OpenData<Vec<NearbyRequest>>> {
        let client = self.servers.client(profile_id)?;
        let found = self
            .cities
            .nearby_requests(
                &client,
                profile_id,
                latitude,
                longitude,
                radius_m,
                service_code,
                open_only,
            )
            .await;
        self.servers.remember_refusals(profile_id, &client)?;
        found
    }

    /// Requests inside a bounding box (a map's viewport), newest first; cached like
    /// [`Curbside::nearby_requests`].
    pub async fn requests_in_box(
        &self,
        profile_id: &str,
        south: f64,
        west: f64,
        north: f64,
        east: f64,
    ) -> Result<OpenData<Vec<ServiceRequest>>> {
        let client = self.servers.client(profile_id)?;
        let found = self
            .cities
            .requests_in_box(&client, profile_id, south, west, north, east)
            .await;
        self.servers.remember_refusals(profile_id, &client)?;
        found
    }
}
