//! Cities as data: a white-label app brands itself with a profile document (JSON), not a
//! fork. Several profiles can be loaded at once (a commuter reports in two cities); each one's
//! server is set up under the profile's id, so reports are submitted "to" a profile.

mod catalog;
mod geo_area;
mod nearby;
mod validate;

pub use catalog::Cached;
pub use geo_area::ServiceArea;
pub use nearby::{to_geojson, OpenData, LIST_CAP, MAX_PAGES, MAX_WALK_QUERIES};
pub use validate::validate;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use curbside_open311::ServerConfig;
use curbside_photo::PhotoProfile;
use curbside_servers::Servers;
use curbside_store::{profiles, Connection, Store};
use curbside_types::{Error, Result};

/// A contact field a city can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactField {
    /// First name.
    FirstName,
    /// Last name.
    LastName,
    /// E-mail address.
    Email,
    /// Phone number.
    Phone,
}

/// One city's white-label settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityProfile {
    /// Stable id, such as `springfield`; reports are submitted to it.
    pub id: String,
    /// The name shown to people.
    pub name: String,
    /// The Open311 server: endpoint, format, jurisdiction_id, api_key and quirks.
    pub server: ServerConfig,
    /// Photo limits.
    #[serde(default)]
    pub photos: PhotoProfile,
    /// Contact fields the city requires on every report.
    #[serde(default)]
    pub required_contact: Vec<ContactField>,
    /// Reports are anonymous unless the user opts in to sharing contact details.
    #[serde(default = "yes")]
    pub anonymous_by_default: bool,
    /// The area the city serves: a GeoJSON Polygon or MultiPolygon (holes allowed), or a
    /// Feature / FeatureCollection of them.
    #[serde(default)]
    pub service_area: Option<serde_json::Value>,
    /// The least precise GPS or network fix accepted, in metres.
    #[serde(default)]
    pub max_accuracy_m: Option<f64>,
    /// How long a cached service list or definition is fresh, in hours.
    #[serde(default = "day")]
    pub catalog_max_age_hours: f64,
    /// The server's discovery document (`.../discovery.json`): when the cache is old, an
    /// unchanged `changeset` there keeps it without downloading the catalog again.
    #[serde(default)]
    pub discovery_url: Option<String>,
    /// How far back requests near a place are looked for, in days (the spec's longest window
    /// is 90); also how long fetched requests are kept on the device.
    #[serde(default = "ninety")]
    pub open_data_days: u32,
}

fn yes() -> bool {
    true
}

fn day() -> f64 {
    24.0
}

fn ninety() -> u32 {
    90
}

impl CityProfile {
    /// Parses and checks a profile document; a malformed one names the field at fault.
    pub fn parse(json: &str) -> Result<CityProfile> {
        let deserializer = &mut serde_json::Deserializer::from_str(json);
        let profile: CityProfile =
            serde_path_to_error::deserialize(deserializer).map_err(|e| Error::InvalidProfile {
                field: match e.path().to_string().as_str() {
                    "." => "profile".into(),
                    path => path.into(),
                },
                reason: e.inner().to_string(),
            })?;
        let invalid = |field: &str, reason: String| Error::InvalidProfile {
            field: field.into(),
            reason,
        };
        if profile.id.trim().is_empty() || profile.id.contains(char::is_whitespace) {
            return Err(invalid(
                "id",
                "must be a non-empty word such as \"springfield\"".into(),
            ));
        }
        profile
            .server
            .base_url()
            .map_err(|e| invalid("server.endpoint", e.to_string()))?;
        profile
            .server
            .quirks
            .zone()
            .map_err(|e| invalid("server.quirks.time_zone", e.to_string()))?;
        if let Some(accuracy) = profile.max_accuracy_m {
            if !accuracy.is_finite() || accuracy <= 0.0 {
                return Err(invalid(
                    "max_accuracy_m",
                    "must be a positive number of metres".into(),
                ));
            }
        }
        if !(profile.catalog_max_age_hours.is_finite() && profile.catalog_max_age_hours >= 0.0) {
            return Err(invalid("catalog_max_age_hours", "must be 0 or more".into()));
        }
        if !(1..=365).contains(&profile.open_data_days) {
            return Err(invalid("open_data_days", "must be 1 to 365 days".into()));
        }
        profile
            .area()
            .map_err(|reason| invalid("service_area", reason))?;
        profile
            .photos
            .check()
            .map_err(|(field, reason)| invalid(&format!("photos.{field}"), reason))?;
        Ok(profile)
    }

    /// The service area, if the profile has one.
    pub fn area(&self) -> std::result::Result<Option<ServiceArea>, String> {
        self.service_area
            .as_ref()
            .map(ServiceArea::from_geojson)
            .transpose()
    }
}

/// The cities of one database: loaded profiles, their cached catalogs and the requests
/// fetched near the user. Calls that reach a server are given its client.
pub struct Cities {
    store: Arc<Store>,
    servers: Arc<Servers>,
}

impl Cities {
    /// The cities kept in `store`, their servers in `servers`.
    pub fn new(store: Arc<Store>, servers: Arc<Servers>) -> Self {
        Cities { store, servers }
    }

    /// Every loaded profile, by id.
    pub fn profiles(&self) -> Result<Vec<CityProfile>> {
        self.store.read(all_profiles)
    }

    /// One loaded profile.
    pub fn profile(&self, id: &str) -> Result<CityProfile> {
        self.profiles()?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::ServerNotFound(id.into()))
    }
}

/// Stores (or replaces) a profile under its id; its server's key is not serialisable, so it
/// is never stored (keys are given at every open and kept in memory only).
pub fn put_profile(conn: &Connection, profile: &CityProfile) -> Result<()> {
    profiles::put(
        conn,
        &profile.id,
        &serde_json::to_string(profile).expect("serializable"),
    )
}

/// Every stored profile, by id.
pub fn all_profiles(conn: &Connection) -> Result<Vec<CityProfile>> {
    profiles::all(conn)?
        .iter()
        .map(|json| serde_json::from_str(json).map_err(|_| Error::CorruptData("profile".into())))
        .collect()
}
