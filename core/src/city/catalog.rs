//! The service catalog, offline: service lists and definitions cached per server with a time
//! limit; served from the cache when the server cannot be reached (marked stale), refreshed
//! when online.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::open311::{Open311Client, Open311Error, Service, ServiceDefinition};
use crate::store::{drafts, reports::now_ms};
use crate::{Curbside, Draft, DraftId, Error, Result};

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

impl Curbside {
    /// The services of a profile's city: from the cache while fresh, else from the server;
    /// from the cache (stale) when the server cannot be reached. `refresh` skips a fresh cache.
    pub async fn catalog_services(
        &self,
        profile_id: &str,
        refresh: bool,
    ) -> Result<Cached<Vec<Service>>> {
        let client = self.client(profile_id)?;
        self.cached(profile_id, "services", refresh, async {
            client.services().await
        })
        .await
    }

    /// A service's definition (its questions), cached like the service list.
    pub async fn catalog_definition(
        &self,
        profile_id: &str,
        service_code: &str,
        refresh: bool,
    ) -> Result<Cached<ServiceDefinition>> {
        let client = self.client(profile_id)?;
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
        draft_id: &DraftId,
        profile_id: &str,
        service_code: &str,
    ) -> Result<(Draft, ServiceDefinition)> {
        let services = self.catalog_services(profile_id, false).await?;
        let service = services
            .value
            .iter()
            .find(|s| s.code == service_code)
            .ok_or_else(|| Error::invalid("service_code", "is not a service of this city"))?;
        let definition = if service.metadata {
            self.catalog_definition(profile_id, service_code, false)
                .await?
                .value
        } else {
            ServiceDefinition {
                service_code: service_code.into(),
                attributes: vec![],
            }
        };
        let draft = self.store.write(|tx| {
            let mut draft = drafts::get(tx, draft_id)?.ok_or(Error::DraftNotFound)?;
            draft.fields.service_code = Some(service_code.into());
            draft.fields.profile_id = Some(profile_id.into());
            draft.fields.definition = Some(definition.clone());
            draft.updated_at = crate::draft::to_millis(Utc::now());
            drafts::update(tx, &draft)?;
            Ok(draft)
        })?;
        Ok((draft, definition))
    }

    /// True when the profile's discovery document still has the changeset recorded at the last
    /// download (the catalog has not changed); records the current one either way.
    async fn changeset_unchanged(&self, profile_id: &str) -> Result<bool> {
        let Some(url) = self.profile(profile_id)?.discovery_url else {
            return Ok(false);
        };
        let Ok(discovery) = Open311Client::discover(&url, None).await else {
            return Ok(false);
        };
        let Some(current) = discovery.changeset else {
            return Ok(false);
        };
        self.store.write(|tx| {
            let stored: Option<String> = rusqlite::OptionalExtension::optional(tx.query_row(
                "SELECT body FROM catalog WHERE server_id = ?1 AND key = 'changeset'",
                [profile_id],
                |r| r.get(0),
            ))?;
            tx.execute(
                "INSERT INTO catalog (server_id, key, body, fetched_at) VALUES (?1, 'changeset', ?2, ?3)
                 ON CONFLICT (server_id, key) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at",
                (profile_id, &current, now_ms()),
            )?;
            Ok(stored.as_deref() == Some(current.as_str()))
        })
    }

    /// Marks a cached entry as checked now; returns the new time.
    fn touch(&self, profile_id: &str, key: &str) -> Result<i64> {
        let now = now_ms();
        self.store.write(|tx| {
            tx.execute(
                "UPDATE catalog SET fetched_at = ?3 WHERE server_id = ?1 AND key = ?2",
                (profile_id, key, now),
            )?;
            Ok(now)
        })
    }

    async fn cached<T: Serialize + DeserializeOwned>(
        &self,
        profile_id: &str,
        key: &str,
        refresh: bool,
        fetch: impl std::future::Future<Output = std::result::Result<T, Open311Error>>,
    ) -> Result<Cached<T>> {
        let max_age_ms = (self.profile(profile_id)?.catalog_max_age_hours * 3_600_000.0) as i64;
        let row: Option<(String, i64)> = self.store.read(|conn| {
            Ok(rusqlite::OptionalExtension::optional(conn.query_row(
                "SELECT body, fetched_at FROM catalog WHERE server_id = ?1 AND key = ?2",
                (profile_id, key),
                |r| Ok((r.get(0)?, r.get(1)?)),
            ))?)
        })?;
        let time = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or_default();
        let cached = row
            .map(|(body, at)| serde_json::from_str::<T>(&body).map(|v| (v, at)))
            .transpose()
            .map_err(|_| Error::CorruptData("catalog".into()))?;
        if let Some((_, at)) = &cached {
            let fresh = now_ms() - at < max_age_ms;
            if !refresh && (fresh || self.changeset_unchanged(profile_id).await?) {
                let (value, at) = cached.unwrap();
                let at = if fresh {
                    at
                } else {
                    self.touch(profile_id, key)?
                };
                return Ok(Cached {
                    value,
                    fetched_at: time(at),
                    stale: false,
                });
            }
        }
        match fetch.await {
            Ok(value) => {
                self.changeset_unchanged(profile_id).await?; // records the current changeset
                let now = now_ms();
                let body = serde_json::to_string(&value).expect("serializable");
                self.store.write(|tx| {
                    tx.execute(
                        "INSERT INTO catalog (server_id, key, body, fetched_at) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (server_id, key) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at",
                        (profile_id, key, &body, now),
                    )?;
                    Ok(())
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
