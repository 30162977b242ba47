//! `CurbsideCore`: the entry point an app opens once per process, and its four parts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use curbside_core::open311::ApiKey;
use curbside_core::Curbside;

use crate::sdk::Sdk;
use crate::{ApiError, Cities, CurbsideConfig, DatabaseRecovery, Drafts, Outbox, Photos};

/// Curbside on one data directory: open it once per process (`CurbsideCore.open(config)`)
/// and keep it; `shutdown()` it when the process ends.
///
/// The API is by concern: `drafts()`, `photos()`, `outbox()` and `cities()`. Every call that
/// touches storage or the network is `suspend` (Kotlin) / `async` (Swift) and runs on the
/// SDK's own threads: the caller's thread only waits, so it is safe to call from the UI.
/// A background worker sends submitted reports as soon as the network allows.
#[derive(uniffi::Object)]
pub struct CurbsideCore {
    sdk: Arc<Sdk>,
    /// The SDK's one runtime: the sending worker, listener forwarding, and every call that
    /// touches disk or network; shut down by `shutdown()` (or, without it, when dropped).
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
}

impl Drop for CurbsideCore {
    /// Never blocks the dropping thread: the runtime is shut down on a thread of its own.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.lock().unwrap().take() {
            stop_in_background(runtime);
        }
    }
}

#[uniffi::export]
impl CurbsideCore {
    /// Opens Curbside as `config` says: creates the data directory and its database if needed
    /// (upgrading an older one, salvaging a damaged one), loads the cities, and starts the
    /// background worker. All of that runs off the caller's thread.
    #[uniffi::constructor]
    pub async fn open(config: CurbsideConfig) -> Result<Arc<Self>, ApiError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("curbside")
            // Curbside's log on its own threads only: no process-wide subscriber.
            .on_thread_start(crate::log::enter)
            .on_thread_stop(crate::log::leave)
            .enable_all()
            .build()
            .map_err(|e| ApiError::Internal {
                reason: format!("cannot start the SDK's threads: {e}"),
            })?;
        let opened = runtime.spawn_blocking(move || open_core(config)).await;
        let core = match opened {
            Ok(Ok(core)) => Arc::new(core),
            Ok(Err(e)) => {
                stop_in_background(runtime);
                return Err(e.into());
            }
            Err(e) => {
                stop_in_background(runtime);
                return Err(e.into());
            }
        };
        runtime.spawn(Arc::clone(&core).run_worker());
        Ok(Arc::new(Self {
            sdk: Sdk::new(core, runtime.handle().clone()),
            runtime: Mutex::new(Some(runtime)),
        }))
    }

    /// Drafts: what the user is still writing, saved field by field.
    pub fn drafts(&self) -> Arc<Drafts> {
        Drafts::new(Arc::clone(&self.sdk))
    }

    /// Photos: added to drafts through the photo pipeline.
    pub fn photos(&self) -> Arc<Photos> {
        Photos::new(Arc::clone(&self.sdk))
    }

    /// The outbox: submitted reports, their states and history, and sending.
    pub fn outbox(&self) -> Arc<Outbox> {
        Outbox::new(Arc::clone(&self.sdk))
    }

    /// Cities: profiles, the catalog, forms, and requests nearby and on a map.
    pub fn cities(&self) -> Arc<Cities> {
        Cities::new(Arc::clone(&self.sdk))
    }

    /// What was recovered from a damaged database found at open, if one was: tell the user
    /// how many reports and drafts came back, and whether anything could not be read.
    pub fn database_recovery(&self) -> Option<DatabaseRecovery> {
        let core = self.sdk.core().ok()?;
        core.database_recovery().map(Into::into)
    }

    /// Writes a file for support about the damaged database found at open, at `path`: what
    /// could be read of it, without contact details or keys. (The damaged file itself holds
    /// everyone's contact details: never send it.) `InvalidInput` when none was found.
    pub async fn export_for_support(&self, path: String) -> Result<DatabaseRecovery, ApiError> {
        self.sdk
            .run(move |c| {
                let salvage = c.export_for_support(std::path::Path::new(&path))?;
                Ok(DatabaseRecovery::from_salvage(path, &salvage))
            })
            .await
    }

    /// The person's way out: every report, draft, photo and cached request removed from the
    /// device (nothing of them left in the database's free pages or log). Unsent reports would
    /// never reach the city: unless `including_unsent`, they stop it (`done` false, nothing
    /// removed) and are returned, for the app to name them and ask again.
    pub async fn forget_everything(&self, including_unsent: bool) -> Result<Forgotten, ApiError> {
        let forgotten = self
            .sdk
            .run(move |c| c.forget_everything(including_unsent))
            .await?;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Forgotten {
            done: forgotten.done,
            unsent: forgotten.unsent,
            reports: count(forgotten.reports),
            drafts: count(forgotten.drafts),
            photos: count(forgotten.photos),
            cached_requests: count(forgotten.cached_requests),
        })
    }

    /// Stops the worker and closes the database, without blocking the caller; returns once
    /// done (the data directory can then be moved or deleted). Later calls fail.
    pub async fn shutdown(&self) {
        self.sdk.close();
        let runtime = self.runtime.lock().unwrap().take();
        if let Some(runtime) = runtime {
            let (done, stopped) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                runtime.shutdown_timeout(Duration::from_secs(5));
                let _ = done.send(());
            });
            let _ = stopped.await;
        }
    }
}

/// Opens the core and applies the configuration (on the SDK's blocking pool).
fn open_core(config: CurbsideConfig) -> curbside_core::Result<Curbside> {
    let core = Curbside::open(&config.data_dir)?;
    core.set_keep_contact(config.keep_contact_after_send);
    if let Some(photos) = config.photos {
        core.set_photo_profile(photos);
    }
    if let Some(retry) = config.retry {
        core.set_retry_policy(retry);
    }
    if let Some(retention) = config.retention {
        core.set_retention(retention);
    }
    for json in &config.profiles {
        let key = |id: &str| config.api_keys.get(id).map(ApiKey::new);
        core.add_profile_with(json, key, config.app_name.clone())?;
    }
    Ok(core)
}

/// Shuts a runtime down on a thread of its own, so no caller's thread ever waits for it.
fn stop_in_background(runtime: tokio::runtime::Runtime) {
    std::thread::spawn(move || runtime.shutdown_timeout(Duration::from_secs(5)));
}

/// What `forget_everything` removed, or the unsent reports that stopped it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Forgotten {
    /// True when everything was removed; false when unsent reports stopped it.
    pub done: bool,
    /// The reports not sent yet, when they stopped it.
    pub unsent: Vec<curbside_core::outbox::Report>,
    /// Reports removed, with their history.
    pub reports: u32,
    /// Drafts removed.
    pub drafts: u32,
    /// Photo files removed.
    pub photos: u32,
    /// Other people's requests removed from the cache.
    pub cached_requests: u32,
}
