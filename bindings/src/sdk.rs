//! The state every part of the API shares: the core and the SDK's one runtime, until
//! `shutdown`. Every call that touches disk or network runs on that runtime; the caller's
//! thread only awaits the result.

use std::sync::{Arc, RwLock};

use curbside_core::Curbside;

use crate::ApiError;

/// The core and the runtime's handle, shared by the object and its parts.
pub(crate) struct Sdk {
    open: RwLock<Option<(Arc<Curbside>, tokio::runtime::Handle)>>,
}

impl Sdk {
    pub(crate) fn new(core: Arc<Curbside>, handle: tokio::runtime::Handle) -> Arc<Self> {
        Arc::new(Sdk {
            open: RwLock::new(Some((core, handle))),
        })
    }

    /// The core and the runtime, while open.
    pub(crate) fn get(&self) -> Result<(Arc<Curbside>, tokio::runtime::Handle), ApiError> {
        self.open
            .read()
            .unwrap()
            .clone()
            .ok_or_else(|| ApiError::Internal {
                reason: "Curbside was shut down".into(),
            })
    }

    /// The core, for calls that only read memory.
    pub(crate) fn core(&self) -> Result<Arc<Curbside>, ApiError> {
        Ok(self.get()?.0)
    }

    /// Closes: later calls fail; a database query in progress is interrupted (it fails), so
    /// that the shutdown does not wait for it.
    pub(crate) fn close(&self) {
        if let Some((core, _)) = self.open.write().unwrap().take() {
            core.interrupt();
        }
    }

    /// Runs blocking core work (SQLite, the photo pipeline) on the runtime's blocking pool.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Curbside) -> curbside_core::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (core, handle) = self.get()?;
        Ok(handle.spawn_blocking(move || work(&core)).await??)
    }

    /// Runs an async core call (one that reaches a server, and writes what it learns) on the
    /// runtime.
    pub(crate) async fn run_async<T, F>(
        &self,
        work: impl FnOnce(Arc<Curbside>) -> F,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: std::future::Future<Output = curbside_core::Result<T>> + Send + 'static,
    {
        let (core, handle) = self.get()?;
        Ok(handle.spawn(work(core)).await??)
    }
}
