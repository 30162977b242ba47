//! `CurbsideCore`: the object an app holds for the lifetime of its process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use curbside_core::outbox::{OutboxEvent, Report, ReportId, RetryPolicy, RunSummary};
use curbside_core::photo::PhotoProfile;
use curbside_core::{
    city::FieldError, open311::ServiceRequest, Curbside, Draft, DraftFields, DraftId, Retention,
};
use tokio::sync::broadcast::error::RecvError;

use crate::outbox::{DatabaseRecovery, ReportDetail, ReportListener, Subscription};
use crate::{
    AddedPhoto, ApiError, CachedDefinition, CachedServices, CityProfile, NearbyRequests,
    ServerConfig, ServiceForm,
};

/// Curbside on one data directory. Create one per process and keep it; `close()` it (Kotlin)
/// or let it go (Swift) when the process ends.
///
/// Every method that touches storage or the network is `suspend` (Kotlin) / `async` (Swift)
/// and runs on the SDK's own threads (one runtime, owned by this object): the caller's thread
/// only waits, so it is safe to call from the UI. A background worker sends submitted reports
/// as soon as the network allows.
#[derive(uniffi::Object)]
pub struct CurbsideCore {
    inner: Arc<Curbside>,
    /// The SDK's one runtime: the sending worker, listener forwarding, and every call that
    /// touches disk or network; shut down with this object.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for CurbsideCore {
    /// Stops the worker and closes the database before returning, so that after `close()`
    /// the app can move or delete the data directory. (Inside an async runtime, where blocking
    /// is not allowed, the worker is stopped in the background instead.)
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                runtime.shutdown_background();
            } else {
                runtime.shutdown_timeout(Duration::from_secs(5));
            }
        }
    }
}

#[uniffi::export]
impl CurbsideCore {
    /// Opens Curbside on `data_dir` (a directory the app owns, such as `filesDir` on Android or
    /// Application Support on iOS), creating it and its database if needed, and starts the
    /// background worker.
    #[uniffi::constructor]
    pub fn new(data_dir: String) -> Result<Arc<Self>, ApiError> {
        let inner = Arc::new(Curbside::open(data_dir)?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("curbside")
            .enable_all()
            .build()
            .map_err(|e| ApiError::Internal {
                reason: format!("cannot start the worker: {e}"),
            })?;
        runtime.spawn(Arc::clone(&inner).run_worker());
        Ok(Arc::new(Self {
            inner,
            runtime: Some(runtime),
        }))
    }

    /// The path a corrupt database was moved to when this instance opened (a fresh one
    /// replaced it), if that happened: tell the user, and offer to send it to support.
    pub fn moved_aside_database(&self) -> Option<String> {
        self.inner
            .moved_aside_database()
            .map(|p| p.display().to_string())
    }

    /// What was recovered from a damaged database found at open, if one was: tell the user
    /// how many reports and drafts came back, and whether anything could not be read.
    pub fn database_recovery(&self) -> Option<DatabaseRecovery> {
        self.inner.database_recovery().map(|r| DatabaseRecovery {
            moved_to: r.moved_to.display().to_string(),
            reports: r.salvage.reports,
            drafts: r.salvage.drafts,
            unreadable: r.salvage.unreadable,
            failure: r.salvage.failure.clone(),
        })
    }

    /// Saves a new draft. Fields may be incomplete; what is given must be valid.
    pub async fn create_draft(&self, fields: DraftFields) -> Result<Draft, ApiError> {
        self.run(move |c| c.create_draft(fields)).await
    }

    /// All drafts, newest first.
    pub async fn list_drafts(&self) -> Result<Vec<Draft>, ApiError> {
        self.run(|c| c.list_drafts()).await
    }

    /// One draft by id.
    pub async fn get_draft(&self, id: String) -> Result<Draft, ApiError> {
        self.run(move |c| c.get_draft(&DraftId::parse(&id)?)).await
    }

    /// Replaces a draft's fields with `fields` (send the whole form, as on autosave).
    pub async fn update_draft(&self, id: String, fields: DraftFields) -> Result<Draft, ApiError> {
        self.run(move |c| c.update_draft(&DraftId::parse(&id)?, fields))
            .await
    }

    /// Deletes a draft.
    pub async fn delete_draft(&self, id: String) -> Result<(), ApiError> {
        self.run(move |c| c.delete_draft(&DraftId::parse(&id)?))
            .await
    }

    /// Runs the photo at `path` (JPEG, PNG or WebP; convert HEIC on the platform first) through
    /// the photo pipeline and adds the result to the draft. The original file is untouched.
    pub async fn add_photo(&self, draft_id: String, path: String) -> Result<AddedPhoto, ApiError> {
        let (draft, photo) = self
            .run(move |c| c.add_photo(&DraftId::parse(&draft_id)?, std::path::Path::new(&path)))
            .await?;
        Ok(AddedPhoto::new(draft, photo))
    }

    /// Removes a photo from a draft (deleting the processed file when nothing else uses it).
    pub async fn remove_photo(&self, draft_id: String, path: String) -> Result<Draft, ApiError> {
        self.run(move |c| c.remove_photo(&DraftId::parse(&draft_id)?, &path))
            .await
    }

    /// Sets the photo limits (a city's profile may ask for smaller photos).
    pub fn set_photo_profile(&self, profile: PhotoProfile) {
        self.inner.set_photo_profile(profile);
    }

    /// Loads (or replaces) a city profile from its JSON document; its server is set up under
    /// the profile's id. A malformed profile is `InvalidInput` naming the field
    /// (`profile.server.endpoint`).
    pub async fn add_profile(&self, json: String) -> Result<CityProfile, ApiError> {
        self.run(move |c| c.add_profile(&json))
            .await
            .map(Into::into)
    }

    /// Every loaded profile.
    pub async fn profiles(&self) -> Result<Vec<CityProfile>, ApiError> {
        Ok(self
            .run(|c| c.profiles())
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// A city's services: cached, refreshed when old or when `refresh`, and from the cache
    /// (`stale`) when offline.
    pub async fn catalog_services(
        &self,
        profile_id: String,
        refresh: bool,
    ) -> Result<CachedServices, ApiError> {
        let cached = self
            .run_async(move |c| async move { c.catalog_services(&profile_id, refresh).await })
            .await?;
        Ok(CachedServices {
            services: cached.value,
            fetched_at: cached.fetched_at.into(),
            stale: cached.stale,
        })
    }

    /// A service's questions, cached like the service list.
    pub async fn catalog_definition(
        &self,
        profile_id: String,
        service_code: String,
        refresh: bool,
    ) -> Result<CachedDefinition, ApiError> {
        let cached = self
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
        draft_id: String,
        profile_id: String,
        service_code: String,
    ) -> Result<ServiceForm, ApiError> {
        let (draft, definition) = self
            .run_async(move |c| async move {
                c.service_form(&DraftId::parse(&draft_id)?, &profile_id, &service_code)
                    .await
            })
            .await?;
        Ok(ServiceForm { draft, definition })
    }

    /// What must change before the draft can be submitted (empty when ready), checked offline.
    pub async fn validate_draft(&self, draft_id: String) -> Result<Vec<FieldError>, ApiError> {
        self.run(move |c| c.validate_draft(&DraftId::parse(&draft_id)?))
            .await
    }

    /// Requests within `radius_m` of a place, nearest first: with a service code and
    /// `open_only`, the "already reported?" suggestions (use 50 m); without, a map's open data.
    pub async fn nearby_requests(
        &self,
        profile_id: String,
        latitude: f64,
        longitude: f64,
        radius_m: f64,
        service_code: Option<String>,
        open_only: bool,
    ) -> Result<NearbyRequests, ApiError> {
        let found = self
            .run_async(move |c| async move {
                c.nearby_requests(
                    &profile_id,
                    latitude,
                    longitude,
                    radius_m,
                    service_code.as_deref(),
                    open_only,
                )
                .await
            })
            .await?;
        Ok(found.into())
    }

    /// Requests inside a map's viewport (south, west, north, east), newest first; from the
    /// cache when offline.
    pub async fn requests_in_box(
        &self,
        profile_id: String,
        south: f64,
        west: f64,
        north: f64,
        east: f64,
    ) -> Result<Vec<ServiceRequest>, ApiError> {
        let found = self
            .run_async(move |c| async move {
                c.requests_in_box(&profile_id, south, west, north, east)
                    .await
            })
            .await?;
        Ok(found.value)
    }

    /// Requests within `radius_m` of a place as a GeoJSON FeatureCollection, for a map layer.
    pub async fn requests_geojson(
        &self,
        profile_id: String,
        latitude: f64,
        longitude: f64,
        radius_m: f64,
    ) -> Result<String, ApiError> {
        let found = self
            .run_async(move |c| async move {
                c.nearby_requests(&profile_id, latitude, longitude, radius_m, None, false)
                    .await
            })
            .await?;
        let requests: Vec<_> = found.value.into_iter().map(|n| n.request).collect();
        Ok(curbside_core::city::to_geojson(&requests))
    }

    /// Sets up (or changes) a server that reports can be sent to. Changing it lifts a pause
    /// caused by refused credentials.
    pub async fn set_server(
        &self,
        server_id: String,
        config: ServerConfig,
    ) -> Result<(), ApiError> {
        self.run(move |c| c.set_server(&server_id, config.into()))
            .await
    }

    /// Submits a draft to a server: checks it, saves it in the outbox (the draft becomes the
    /// report), and lets the worker send it. Nothing is lost from here on.
    pub async fn submit(&self, draft_id: String, server_id: String) -> Result<Report, ApiError> {
        self.run(move |c| c.submit(&DraftId::parse(&draft_id)?, &server_id))
            .await
    }

    /// Every submitted report, newest first.
    pub async fn reports(&self) -> Result<Vec<Report>, ApiError> {
        self.run(|c| c.reports()).await
    }

    /// One report with its history.
    pub async fn report(&self, id: String) -> Result<ReportDetail, ApiError> {
        let (report, history) = self.run(move |c| c.report(&ReportId::parse(&id)?)).await?;
        Ok(ReportDetail { report, history })
    }

    /// Withdraws a report that has not left the phone.
    pub async fn cancel_report(&self, id: String) -> Result<Report, ApiError> {
        self.run(move |c| c.cancel_report(&ReportId::parse(&id)?))
            .await
    }

    /// Turns a report that has not reached the city back into a draft to edit.
    pub async fn edit_report(&self, id: String) -> Result<Draft, ApiError> {
        self.run(move |c| c.edit_report(&ReportId::parse(&id)?))
            .await
    }

    /// Sends a report that needs attention again (after the user acted on it).
    pub async fn retry_report(&self, id: String) -> Result<Report, ApiError> {
        self.run(move |c| c.retry_report(&ReportId::parse(&id)?))
            .await
    }

    /// Sends what it can within `seconds` and returns: call it from WorkManager (Android) or a
    /// BGTask (iOS) with a little less than the time the system gives.
    pub async fn run_pending(&self, seconds: f64) -> Result<RunSummary, ApiError> {
        let deadline = Instant::now()
            + Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::ZERO);
        self.run_async(move |c| async move { c.run_pending(deadline).await })
            .await
    }

    /// Pull-to-refresh: sends everything due and refreshes the city's status of sent reports.
    pub async fn sync_now(&self) -> Result<RunSummary, ApiError> {
        self.run_async(|c| async move { c.sync_now().await }).await
    }

    /// The platform's network hint: `true` when connectivity returns (the worker tries at
    /// once), `false` when it goes (the worker stops trying).
    pub fn set_network_available(&self, available: bool) {
        self.inner.set_network_available(available);
    }

    /// Retry timing in seconds: first wait, longest wait, and token polling interval
    /// (defaults 30 s, 5 h, 10 s).
    pub fn set_retry_policy(
        &self,
        initial_seconds: f64,
        max_seconds: f64,
        token_poll_seconds: f64,
    ) {
        let secs = |s: f64| Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::ZERO);
        self.inner.set_retry_policy(RetryPolicy {
            initial: secs(initial_seconds),
            max: secs(max_seconds),
            token_poll: secs(token_poll_seconds),
            ..RetryPolicy::default()
        });
    }

    /// How long sent and withdrawn reports (with their history) are kept: `finished_days`
    /// after they last changed, and only the newest `max_finished_reports`, each with at most
    /// `history_per_report` history entries (defaults 90, 200, 50). A finished report's photos
    /// are never kept. Every sending run and the daily worker apply it.
    pub fn set_retention(
        &self,
        finished_days: u32,
        max_finished_reports: u32,
        history_per_report: u32,
    ) {
        self.inner.set_retention(Retention {
            finished_reports: Duration::from_secs(u64::from(finished_days) * 86_400),
            max_finished_reports,
            history_per_report,
        });
    }

    /// Registers a listener: it gets every report now, then each change and removal in commit
    /// order, each with the report's version. Keep the returned subscription; cancel it (or
    /// drop it) to stop.
    pub fn subscribe(
        &self,
        listener: Arc<dyn ReportListener>,
    ) -> Result<Arc<Subscription>, ApiError> {
        let (snapshot, mut changes) = self.inner.subscribe()?;
        let recovery = self.database_recovery();
        let inner = Arc::clone(&self.inner);
        let task = self.handle()?.spawn(async move {
            listener.on_reports(snapshot);
            if let Some(recovery) = recovery {
                listener.on_database_recovered(recovery);
            }
            loop {
                match changes.recv().await {
                    Ok(OutboxEvent::Changed(report)) => listener.on_report_changed(report),
                    Ok(OutboxEvent::Removed { id, version }) => {
                        listener.on_report_removed(id, version)
                    }
                    Err(RecvError::Lagged(_)) => {
                        if let Ok(all) = inner.reports() {
                            listener.on_reports(all);
                        }
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
        Ok(Subscription::new(task.abort_handle()))
    }
}

impl CurbsideCore {
    /// The SDK's runtime, while this object is open.
    fn handle(&self) -> Result<tokio::runtime::Handle, ApiError> {
        self.runtime
            .as_ref()
            .map(|r| r.handle().clone())
            .ok_or(ApiError::Internal {
                reason: "closed".into(),
            })
    }

    /// Runs blocking core work (SQLite, the photo pipeline) on the SDK's blocking pool; the
    /// caller's thread only waits for the result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Curbside) -> curbside_core::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let inner = Arc::clone(&self.inner);
        Ok(self
            .handle()?
            .spawn_blocking(move || work(&inner))
            .await??)
    }

    /// Runs an async core call (one that reaches a server, and writes what it learns) on the
    /// SDK's runtime; the caller's thread only waits for the result.
    async fn run_async<T, F>(&self, work: impl FnOnce(Arc<Curbside>) -> F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: std::future::Future<Output = curbside_core::Result<T>> + Send + 'static,
    {
        let future = work(Arc::clone(&self.inner));
        Ok(self.handle()?.spawn(future).await??)
    }
}
