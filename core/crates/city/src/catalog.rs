//! The service catalog, offline: service lists and definitions cached per server with a time
//! limit; served from the cache when the server cannot be reached (marked stale), refreshed
//! when online.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use curbside_open311::{Open311Client, Open311Error, Service, ServiceDefinition};
use curbside_store::{catalog, drafts, reports::now_ms};
use curbside_types::{Draft, DraftId, Error, Result};

use crate::Cities;

/// A value from the server, or from the cache when the server could not be reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cached<T> {
    /// The value.
    pub value: T,
    /// When it was fetched from the server.
    pub fetched_at: DateTime<Utc>,
    /// True when it comes from the cache because a refresh failed, or is older than the
    /// profile's limit: show it, and say it may be out of date.
    pub stale: bool,
}

impl Cities {
    /// The services of a profile's city: from the cache while fresh, else from the server;
    /// from the cache (stale) when the server cannot be reached. `refresh` skips a fresh cache.
    pub async fn catalog_services(
        &self,
        client: &Open311Client,
        profile_id: &str,
        refresh: bool,
    ) -> Result<Cached<Vec<Service>>> {
        self.cached(profile_id, "services", refresh, async {
            client.services().await
        })
        .await
    }

    /// A service's definition (its questions), cached like the service list.
    pub async fn catalog_definition(
        &self,
        client: &Open311Client,
        profile_id: &str,
        service_code: &str,
        refresh: bool,
    ) -> Result<Cached<ServiceDefinition>> {
        let key = format!("definition:{service_code}");
        self.cached(profile_id, &key, refresh, async {
            client.service_definition(service_code).await
        })
        .await
    }

    /// Starts (or switches) the form of a draft for a service of a profile's city: sets the
    /// draft's city and service, and keeps a copy of the definition it is filled against
    /// (so it validates offline, and the same way, even if the city changes it later).
    pub async fn service_form(
        &self,
        client: &Open311Client,
        draft_id: &DraftId,
        profile_id: &str,
        service_code: &str,
    ) -> Result<(Draft, ServiceDefinition)> {
        let services = self.catalog_services(client, profile_id, false).await?;
        let service = services
            .value
            .iter()
            .find(|s| s.code == service_code)
            .ok_or_else(|| Error::invalid("service_code", "is not a service of this city"))?;
        let definition = if service.metadata {
            self.catalog_definition(client, profile_id, service_code, false)
                .await?
                .value
        } else {
            ServiceDefinition {
                service_code: service_code.into(),
                attributes: vec![],
            }
        };
        let draft = self
            .store
            .write(|tx| attach_form(tx, draft_id, profile_id, service_code, definition.clone()))?;
        Ok((draft, definition))
    }

    /// Gives a draft its service's form from the cached catalog alone, however old, with no
    /// network call (saving a report never waits for one): false when the catalog holds no
    /// answer for it (its answers are then checked by the city).
    pub fn offline_form(
        &self,
        draft_id: &DraftId,
        profile_id: &str,
        service_code: &str,
    ) -> Result<bool> {
        self.store.write(|tx| {
            let cached = |key: &str| -> Result<Option<String>> {
                Ok(catalog::get(tx, profile_id, key)?.map(|(body, _)| body))
            };
            let services: Vec<Service> = match cached("services")? {
                Some(body) => {
                    serde_json::from_str(&body).map_err(|_| Error::CorruptData("catalog".into()))?
                }
                None => return Ok(false),
            };
            let Some(service) = services.iter().find(|s| s.code == service_code) else {
                return Ok(false);
            };
            let definition = match service.metadata {
                false => ServiceDefinition {
                    service_code: service_code.into(),
                    attributes: vec![],
                },
                true => match cached(&format!("definition:{service_code}"))? {
                    Some(body) => serde_json::from_str(&body)
                        .map_err(|_| Error::CorruptData("catalog".into()))?,
                    None => return Ok(false),
                },
            };
            attach_form(tx, draft_id, profile_id, service_code, definition)?;
            Ok(true)
        })
    }

    /// The catalog's changeset as the discovery document at `url` says now; `None` without a
    /// discovery URL, a changeset, or an answer.
    async fn current_changeset(url: Option<&str>) -> Option<String> {
        Open311Client::discover(url?, None)
            .await
            .ok()
            .and_then(|d| d.changeset)
    }

    /// Marks a cached entry as checked now; returns the new time.
    fn touch(&self, profile_id: &str, key: &str) -> Result<i64> {
        let now = now_ms();
        self.store
            .write(|tx| catalog::touch(tx, profile_id, key, now))?;
        Ok(now)
    }

    /// A catalog entry: the cached one while fresh; past its age, the cached one when the
    /// discovery changeset is still the one it was fetched under; else fetched, and recorded
    /// with the changeset asked before the fetch (one discovery call at most). A failed fetch
    /// records nothing: what was stale stays stale.
    async fn cached<T: Serialize + DeserializeOwned>(
        &self,
        profile_id: &str,
        key: &str,
        refresh: bool,
        fetch: impl std::future::Future<Output = std::result::Result<T, Open311Error>>,
    ) -> Result<Cached<T>> {
        let profile = self.profile(profile_id)?;
        let max_age_ms = (profile.catalog_max_age_hours * 3_600_000.0) as i64;
        let changeset_key = format!("changeset:{key}");
        let (row, fetched_under) = self.store.read(|conn| {
            Ok((
                catalog::get(conn, profile_id, key)?,
                catalog::get(conn, profile_id, &changeset_key)?.map(|(c, _)| c),
            ))
        })?;
        let time = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or_default();
        let mut cached = row
            .map(|(body, at)| serde_json::from_str::<T>(&body).map(|v| (v, at)))
            .transpose()
            .map_err(|_| Error::CorruptData("catalog".into()))?;
        if let Some((_, at)) = &cached {
            if !refresh && now_ms() - at < max_age_ms {
                let (value, at) = cached.unwrap();
                return Ok(Cached {
                    value,
                    fetched_at: time(at),
                    stale: false,
                });
            }
        }
        let current = Self::current_changeset(profile.discovery_url.as_deref()).await;
        let unchanged = current.is_some() && current == fetched_under;
        if let Some((value, _)) = cached.take_if(|_| !refresh && unchanged) {
            let at = self.touch(profile_id, key)?;
            return Ok(Cached {
                value,
                fetched_at: time(at),
                stale: false,
            });
        }
        match fetch.await {
            Ok(value) => {
                let now = now_ms();
                let body = serde_json::to_string(&value).expect("serializable");
                self.store.write(|tx| {
                    catalog::put(tx, profile_id, key, &body, now)?;
                    match &current {
                        Some(c) => catalog::put(tx, profile_id, &changeset_key, c, now),
                        None => catalog::remove(tx, profile_id, &changeset_key),
                    }
                })?;
                Ok(Cached {
                    value,
                    fetched_at: time(now),
                    stale: false,
                })
            }
            Err(error) => match cached {
                Some((value, at)) => Ok(Cached {
                    value,
                    fetched_at: time(at),
                    stale: true,
                }),
                None => Err(error.into()),
            },
        }
    }
}

/// Sets a draft's city and service, with the definition it is filled against.
fn attach_form(
    tx: &curbside_store::Transaction<'_>,
    draft_id: &DraftId,
    profile_id: &str,
    service_code: &str,
    definition: ServiceDefinition,
) -> Result<Draft> {
    let mut draft = drafts::get(tx, draft_id)?.ok_or(Error::DraftNotFound)?;
    draft.fields.service_code = Some(service_code.into());
    draft.fields.profile_id = Some(profile_id.into());
    draft.fields.definition = Some(definition);
    draft.updated_at = curbside_types::to_millis(Utc::now());
    drafts::update(tx, &draft)?;
    Ok(draft)
}
