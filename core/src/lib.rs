//! Curbside's core: everything a 311 reporting app needs that is not UI.
//!
//! This crate is the facade: the only place that owns the store, the outbox and the cities
//! of one data directory and ties them together. The layers under it are crates of their
//! own (see ARCHITECTURE.md): `curbside-types` (the shared vocabulary), `curbside-open311`
//! (the protocol), `curbside-photo` (the pipeline), `curbside-store` (SQLite, the only SQL),
//! `curbside-outbox` (the durable outbox and its engine) and `curbside-city` (profiles,
//! catalog, validation, nearby). The public entry point is [`Curbside`]; the `curbside-ffi`
//! crate puts it behind uniffi (Kotlin and Swift) and the `curbside` CLI drives it directly.

mod cities;
mod drafts;
mod outbox_calls;
mod photos;
mod retention;

pub use curbside_open311 as open311;
pub use curbside_photo as photo;
pub use curbside_store::salvage::Salvage;
pub use curbside_types::{
    Contact, Draft, DraftEdit, DraftFields, DraftId, Error, ErrorCode, Location, LocationSource,
    ReportPolicy, Result, MAX_DESCRIPTION_CHARS,
};
pub use retention::{Forgotten, Pruned, Retention};

/// Submitted reports: their states, events, history and the retry policy.
pub mod outbox {
    pub use curbside_outbox::{Timing, CLOCK_SKEW, MAX_REPOSTS, MAX_SERVER_FAILURES};
    pub use curbside_types::report::*;
    pub use curbside_types::{LastError, LastErrorCode};
}

/// City profiles: the white-label configuration, catalog, validation and nearby requests.
pub mod city {
    pub use curbside_city::{
        to_geojson, Cached, CityProfile, ContactField, OpenData, ServiceArea, LIST_CAP, MAX_PAGES,
        MAX_WALK_QUERIES,
    };
    pub use curbside_types::{Coverage, FieldError, FieldIssue, LearntQuirk, NearbyRequest};
}

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use curbside_city::Cities;
use curbside_outbox::Outbox;
use curbside_servers::Servers;
use curbside_store::Store;

/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "curbside.sqlite3";

/// A damaged database, moved aside and salvaged when it was opened.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DatabaseRecovery {
    /// Where the damaged file now is (kept, never deleted).
    pub moved_to: PathBuf,
    /// What was read back from it.
    pub salvage: Salvage,
}

/// One Curbside instance over one data directory.
///
/// Cheap to share across threads (`Sync`); every call is a short blocking SQLite transaction.
pub struct Curbside {
    data_dir: PathBuf,
    store: Arc<Store>,
    servers: Arc<Servers>,
    outbox: Arc<Outbox>,
    cities: Cities,
    recovery: Option<DatabaseRecovery>,
    photo_profile: Mutex<photo::PhotoProfile>,
    retention: Mutex<Retention>,
}

impl Curbside {
    /// Opens (creating if needed) the data directory and its database, migrating the schema.
    /// A damaged database is moved aside and salvaged into a fresh one
    /// ([`Curbside::database_recovery`]).
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self> {
        let data_dir = data_dir.as_ref().to_path_buf();
        ensure_writable(&data_dir)?;
        let (store, recovered) = curbside_store::open_recovering(&data_dir.join(DATABASE_FILE))?;
        let store = Arc::new(store);
        let servers = Arc::new(Servers::new(Arc::clone(&store)));
        Ok(Self {
            data_dir,
            outbox: Arc::new(Outbox::new(Arc::clone(&store), Arc::clone(&servers))),
            cities: Cities::new(Arc::clone(&store), Arc::clone(&servers)),
            servers,
            store,
            recovery: recovered.map(|(moved_to, salvage)| DatabaseRecovery { moved_to, salvage }),
            photo_profile: Default::default(),
            retention: Default::default(),
        })
    }

    /// Interrupts the database query running now, if any (it fails as interrupted): for a
    /// shutdown that must not wait. Later calls work.
    pub fn interrupt(&self) {
        self.store.interrupt();
    }

    /// Where a damaged database found at open was moved (a fresh one replaced it), if that
    /// happened.
    pub fn moved_aside_database(&self) -> Option<&Path> {
        self.recovery.as_ref().map(|r| r.moved_to.as_path())
    }

    /// What happened to a damaged database found at open: where it was moved and what was
    /// recovered from it into the fresh one. The app should tell the user.
    pub fn database_recovery(&self) -> Option<&DatabaseRecovery> {
        self.recovery.as_ref()
    }

    /// Writes a file for support about the damaged database found at open, to `dest`: what
    /// could be read of it, without contact details or keys. Invalid when no damaged database
    /// was found.
    pub fn export_for_support(&self, dest: &Path) -> Result<Salvage> {
        let recovery = self.recovery.as_ref().ok_or(Error::invalid(
            "database",
            "no damaged database was found when Curbside opened",
        ))?;
        curbside_store::salvage::export_for_support(&recovery.moved_to, dest)
    }

    /// The data directory this instance was opened on.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

/// Creates `dir` (and its missing parents) readable by this user only (0700); an existing
/// data directory is made so too: it holds reports with locations and contact details.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Creates `dir` if needed and proves that files can be created in it, so an unusable
/// directory is reported as such rather than as an obscure SQLite failure later.
fn ensure_writable(dir: &Path) -> Result<()> {
    // A name of its own, so processes opening one directory at once never race on it.
    let probe = dir.join(format!(
        ".curbside-write-check-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    create_private_dir(dir)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|source| Error::DataDir {
            path: dir.to_path_buf(),
            source,
        })
}
