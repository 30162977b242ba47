//! `CurbsideCore`: the object an app holds for the lifetime of its process.

use std::sync::Arc;

use curbside_core::{Curbside, DraftId};

use crate::{ApiError, Draft, DraftFields};

/// Curbside on one data directory. Create one per process and keep it.
///
/// Every method that touches storage is `suspend` (Kotlin) / `async` (Swift) and runs off
/// the caller's thread, so it is safe to call from the UI.
#[derive(uniffi::Object)]
pub struct CurbsideCore {
    inner: Arc<Curbside>,
}

#[uniffi::export(async_runtime = "tokio")]
impl CurbsideCore {
    /// Opens Curbside on `data_dir` (a directory the app owns, such as `filesDir` on Android or
    /// Application Support on iOS), creating it and its database if needed.
    #[uniffi::constructor]
    pub fn new(data_dir: String) -> Result<Arc<Self>, ApiError> {
        Ok(Arc::new(Self {
            inner: Arc::new(Curbside::open(data_dir)?),
        }))
    }

    /// Saves a new draft. Fields may be incomplete; what is given must be valid.
    pub async fn create_draft(&self, fields: DraftFields) -> Result<Draft, ApiError> {
        self.run(move |c| c.create_draft(fields.into()))
            .await
            .map(Into::into)
    }

    /// All drafts, newest first.
    pub async fn list_drafts(&self) -> Result<Vec<Draft>, ApiError> {
        let drafts = self.run(|c| c.list_drafts()).await?;
        Ok(drafts.into_iter().map(Into::into).collect())
    }

    /// One draft by id.
    pub async fn get_draft(&self, id: String) -> Result<Draft, ApiError> {
        self.run(move |c| c.get_draft(&DraftId::parse(&id)?))
            .await
            .map(Into::into)
    }

    /// Replaces a draft's fields with `fields` (send the whole form, as on autosave).
    pub async fn update_draft(&self, id: String, fields: DraftFields) -> Result<Draft, ApiError> {
        self.run(move |c| c.update_draft(&DraftId::parse(&id)?, fields.into()))
            .await
            .map(Into::into)
    }

    /// Deletes a draft.
    pub async fn delete_draft(&self, id: String) -> Result<(), ApiError> {
        self.run(move |c| c.delete_draft(&DraftId::parse(&id)?))
            .await
    }
}

impl CurbsideCore {
    /// Runs blocking core work on tokio's blocking pool, converting its error.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Curbside) -> curbside_core::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let inner = Arc::clone(&self.inner);
        Ok(tokio::task::spawn_blocking(move || work(&inner)).await??)
    }
}
