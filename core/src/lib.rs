//! Curbside's core: everything a 311 reporting app needs that is not UI.
//!
//! The public entry point is [`Curbside`], opened on a data directory that the app owns.
//! Everything here is plain Rust with blocking calls; the `curbside-ffi` crate puts it behind
//! uniffi (Kotlin and Swift) and off the UI thread, and the `curbside` CLI drives it directly.

pub mod city;
mod draft;
mod error;
mod location;
pub mod open311;
pub mod outbox;
pub mod photo;
mod store;

pub use draft::{Contact, Draft, DraftFields, DraftId, MAX_DESCRIPTION_CHARS};
pub use error::{Error, Result};
pub use location::{Location, LocationSource};
pub use store::salvage::Salvage;

use std::path::{Path, PathBuf};

/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "curbside.sqlite3";

/// A damaged database, moved aside and salvaged when it was opened.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DatabaseRecovery {
    /// Where the damaged file now is (kept, never deleted).
    pub moved_to: PathBuf,
    /// What was read back from it.
    pub salvage: store::salvage::Salvage,
}

/// One Curbside instance over one data directory.
///
/// Cheap to share across threads (`Sync`); every call is a short blocking SQLite transaction.
pub struct Curbside {
    data_dir: PathBuf,
    store: store::Store,
    engine: outbox::engine::Engine,
    recovery: Option<DatabaseRecovery>,
    photo_profile: std::sync::Mutex<photo::PhotoProfile>,
}

impl Curbside {
    /// Opens (creating if needed) the data directory and its database, migrating the schema.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self> {
        let data_dir = data_dir.as_ref().to_path_buf();
        ensure_writable(&data_dir)?;
        let path = data_dir.join(DATABASE_FILE);
        // An existing file of zero bytes, untouched for a minute, held something once: damaged,
        // not new. (A file another process is creating right now is zero bytes for a moment.)
        let emptied = std::fs::metadata(&path).is_ok_and(|m| {
            m.len() == 0
                && m.modified()
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > std::time::Duration::from_secs(60))
        });
        let sound = match store::Store::open(&path) {
            Ok(store) if !emptied && store.is_sound() => Some(store),
            Ok(_) => None,
            Err(e) if store::is_corruption(&e) => None,
            Err(e) => return Err(e),
        };
        let (store, recovery) = match sound {
            Some(store) => (store, None),
            None => {
                // Never delete what may hold unsent reports: move it aside for support, start
                // a fresh database so the app keeps working, and bring back what can be read.
                let aside = store::move_aside(&path)?;
                let store = store::Store::open(&path)?;
                let salvage = store.salvage_from(&aside);
                (
                    store,
                    Some(DatabaseRecovery {
                        moved_to: aside,
                        salvage,
                    }),
                )
            }
        };
        Ok(Self {
            data_dir,
            store,
            engine: outbox::engine::Engine::new(),
            recovery,
            photo_profile: Default::default(),
        })
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

    /// The data directory this instance was opened on.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Validates `fields` and saves them as a new draft.
    pub fn create_draft(&self, fields: DraftFields) -> Result<Draft> {
        let draft = Draft::new(DraftId::new(), fields.normalized()?, chrono::Utc::now());
        self.store.write(|tx| store::drafts::insert(tx, &draft))?;
        Ok(draft)
    }

    /// All drafts, newest first.
    pub fn list_drafts(&self) -> Result<Vec<Draft>> {
        self.store.read(store::drafts::list)
    }

    /// One draft by id.
    pub fn get_draft(&self, id: &DraftId) -> Result<Draft> {
        self.store
            .read(|conn| store::drafts::get(conn, id))?
            .ok_or(Error::DraftNotFound)
    }

    /// Replaces the editable fields of a draft (the app sends the whole form, as on autosave).
    pub fn update_draft(&self, id: &DraftId, fields: DraftFields) -> Result<Draft> {
        let mut fields = fields.normalized()?;
        self.store.write(|tx| {
            let mut draft = store::drafts::get(tx, id)?.ok_or(Error::DraftNotFound)?;
            // Apps send the form back without the definition it was filled against: keep it.
            if fields.definition.is_none() && fields.service_code == draft.fields.service_code {
                fields.definition = draft.fields.definition.take();
            }
            draft.fields = fields;
            draft.updated_at = draft::to_millis(chrono::Utc::now());
            store::drafts::update(tx, &draft)?;
            Ok(draft)
        })
    }

    /// Deletes a draft; an unknown id is an error, so a UI never believes it deleted something.
    pub fn delete_draft(&self, id: &DraftId) -> Result<()> {
        self.store.write(|tx| match store::drafts::delete(tx, id)? {
            true => Ok(()),
            false => Err(Error::DraftNotFound),
        })
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
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&probe, b""))
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|source| Error::DataDir {
            path: dir.to_path_buf(),
            source,
        })
}
