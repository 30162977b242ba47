//! SQLite storage: one connection, opened with durable settings, used in short transactions.

//!
//! The only crate that speaks SQL. Each table has its module; the layers above call them
//! inside the transactions [`Store::write`] and [`Store::read`] give them.

pub mod catalog;
pub mod drafts;
pub mod lease;
pub mod profiles;
pub mod reports;
pub mod requests_cache;
pub mod salvage;
pub mod schema;
pub mod servers;

pub use rusqlite::{Connection, Transaction};

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::TransactionBehavior;

use curbside_types::Result;

/// The database of one data directory.
pub struct Store {
    conn: Mutex<Connection>,
    /// The file: its folder tells a full disk from other I/O errors, and damage met in use
    /// is marked beside it.
    path: std::path::PathBuf,
}

impl Store {
    /// Opens the database file, applies connection settings and brings the schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        make_private(path);
        let mut conn = Connection::open(path)?;
        // Processes opening a new database at once race to turn on WAL and create the schema,
        // and SQLite can refuse one as busy without asking its busy handler (when waiting
        // could deadlock): try again, for as long as the busy timeout.
        let started = std::time::Instant::now();
        loop {
            match configure(&conn).and_then(|()| schema::migrate(&mut conn)) {
                Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                done => break done?,
            }
        }
        Ok(Store {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    /// Runs `f` in an IMMEDIATE transaction, committed only when `f` succeeds.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.write_then(f, |_| {})
    }

    /// Like [`Store::write`], then runs `after` on the result once committed, while the
    /// database is still held: what `after` announces is in commit order.
    pub fn write_then<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
        after: impl FnOnce(&T),
    ) -> Result<T> {
        let mut conn = self.lock();
        let written = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        let value = written.map_err(|e| self.classify(e))?;
        after(&value);
        Ok(value)
    }

    /// SQLite often reports a full disk as a plain I/O error (WAL appends): when the disk
    /// has no room left, say so, so the user knows what to do.
    fn classify(&self, error: curbside_types::Error) -> curbside_types::Error {
        let error = self.notice_damage(error);
        let io = matches!(&error, curbside_types::Error::Database(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, rusqlite::ErrorCode::SystemIoFailure | rusqlite::ErrorCode::DiskFull));
        let dir = self.path.parent().unwrap_or(Path::new("."));
        if io && free_bytes(dir).is_some_and(|free| free < 1024 * 1024) {
            return curbside_types::Error::DiskFull;
        }
        if error.is_disk_full() {
            return curbside_types::Error::DiskFull;
        }
        error
    }

    /// Whether SQLite finds the file sound (`PRAGMA quick_check`): damage in the middle of
    /// the file is found here, at open, rather than by every command that touches it.
    /// False only for damage: a check that cannot run now (the database busy with other
    /// processes) is no reason to move a file aside, and the next open checks again.
    pub fn is_sound(&self) -> bool {
        match self
            .lock()
            .query_row("PRAGMA quick_check(1)", [], |r| r.get::<_, String>(0))
        {
            Ok(verdict) => verdict == "ok",
            Err(e) => {
                let e = curbside_types::Error::from(e);
                if !is_corruption(&e) {
                    tracing::debug!(target: "curbside::store", error = %e, "integrity check skipped");
                }
                !is_corruption(&e)
            }
        }
    }

    /// Copies what can be read of the damaged database moved to `aside` into this one.
    pub fn salvage_from(&self, aside: &Path) -> salvage::Salvage {
        salvage::salvage(aside, &mut self.lock())
    }

    /// Moves the write-ahead log into the database and empties its file (after a prune, so
    /// that the space of what was removed is not held in the log). A busy database is left
    /// for next time.
    pub fn checkpoint(&self) {
        let _ = self
            .lock()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }

    /// Runs `f` on the connection for reading.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.lock()).map_err(|e| self.notice_damage(e))
    }

    /// Damage met while in use (a page SQLite finds corrupt) is marked for the next open,
    /// which deals with it; the error goes on to the caller.
    fn notice_damage(&self, error: curbside_types::Error) -> curbside_types::Error {
        if is_corruption(&error) {
            mark_damaged(&self.path);
        }
        error
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-written transaction behind
        // (it is rolled back on drop), so the connection is still good to use.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Databases up to this size are checked for damage (`PRAGMA quick_check`, about half a
/// millisecond a megabyte) before the open returns; a bigger one is checked in the
/// background, so that the first screen does not wait for it, and damage found there is
/// dealt with at the next open (a marker file beside the database says so).
const CHECK_AT_OPEN_BYTES: u64 = 4 * 1024 * 1024;

/// Opens the database at `path`; a damaged one is moved aside (never deleted: it may hold
/// unsent reports), a fresh one takes its place, and what can be read is brought back. The
/// second value says where the damaged file went and what was salvaged.
pub fn open_recovering(
    path: &Path,
) -> Result<(Store, Option<(std::path::PathBuf, salvage::Salvage)>)> {
    let metadata = std::fs::metadata(path).ok();
    // An existing file of zero bytes, untouched for a minute, held something once: damaged,
    // not new. (A file another process is creating right now is zero bytes for a moment.)
    let emptied = metadata.as_ref().is_some_and(|m| {
        m.len() == 0
            && m.modified()
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(60))
    });
    let marker = damage_marker(path);
    let check_now = marker.exists() || metadata.is_none_or(|m| m.len() <= CHECK_AT_OPEN_BYTES);
    match Store::open(path) {
        Ok(store) if !emptied && !check_now => {
            check_in_background(path.to_path_buf());
            return Ok((store, None));
        }
        Ok(store) if !emptied && store.is_sound() => {
            let _ = std::fs::remove_file(&marker);
            return Ok((store, None));
        }
        Ok(_) => {}
        Err(e) if is_corruption(&e) => {}
        Err(e) => return Err(e),
    }
    let aside = move_aside(path)?;
    let _ = std::fs::remove_file(&marker);
    let store = Store::open(path)?;
    let salvage = store.salvage_from(&aside);
    Ok((store, Some((aside, salvage))))
}

/// The file that says the database at `path` was found damaged after its open (by the
/// background check, or by a call); the next open deals with it.
fn damage_marker(path: &Path) -> std::path::PathBuf {
    path.with_extension("sqlite3.damaged")
}

/// Leaves the marker beside the database at `path`, and says so in the log.
fn mark_damaged(path: &Path) {
    tracing::warn!(target: "curbside::store", "the database is damaged: it is repaired at the next open");
    let _ = std::fs::write(damage_marker(path), b"");
}

/// How long after the open the background check starts: the first seconds of an app (its
/// first screen, the first sending run) come first.
const CHECK_DELAY: Duration = Duration::from_secs(2);

/// Checks the database at `path` on a thread of its own, on a read-only connection of its own
/// (WAL lets it read beside the store), `CHECK_DELAY` after the open; damage leaves the marker
/// for the next open. (A process that ends sooner skips it; damage it meets is marked anyway.)
fn check_in_background(path: std::path::PathBuf) {
    let check = move || {
        std::thread::sleep(CHECK_DELAY);
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let Ok(conn) = Connection::open_with_flags(&path, flags) else {
            return;
        };
        let _ = conn.busy_timeout(BUSY_TIMEOUT);
        let verdict = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get::<_, String>(0));
        let damaged = match verdict {
            Ok(verdict) => verdict != "ok",
            Err(e) => is_corruption(&e.into()),
        };
        if damaged {
            mark_damaged(&path);
        }
    };
    let spawned = std::thread::Builder::new()
        .name("curbside-check".into())
        .spawn(check);
    if let Err(e) = spawned {
        tracing::debug!(target: "curbside::store", error = %e, "no thread for the database check");
    }
}

/// The database at `path` (created empty if missing: an empty file is a new database) and
/// its WAL files readable by this user only (0600). SQLite gives the WAL files the
/// database's permissions, and renaming keeps them, so salvage copies stay private too.
fn make_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path);
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Bytes free for this user on the filesystem holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: a valid C string and a zeroed struct for the kernel to fill.
        if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
            return None;
        }
        Some(stat.f_bavail as u64 * stat.f_frsize as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Settings every connection gets: WAL for concurrent readers (its file kept under 1 MiB),
/// FULL sync so a committed report survives power loss, foreign keys on, and a wait instead
/// of an error when another process holds the write lock briefly. Deleted content is
/// overwritten (`secure_delete`), so contact details removed from a finished report do not
/// linger in free pages.
pub fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Room for every statement the engine repeats (the default 16 would evict some).
    conn.set_prepared_statement_cache_capacity(64);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // The write-ahead log is emptied at each checkpoint; this keeps its file short too.
    conn.pragma_update(None, "journal_size_limit", 1_048_576)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "secure_delete", true)?;
    Ok(())
}

/// How long a call waits for another connection's write to end.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// True when SQLite says another connection holds the lock.
fn is_busy(error: &curbside_types::Error) -> bool {
    matches!(error, curbside_types::Error::Database(rusqlite::Error::SqliteFailure(e, _))
        if e.code == rusqlite::ErrorCode::DatabaseBusy)
}

/// True when SQLite says the file is not a (sound) database.
pub fn is_corruption(error: &curbside_types::Error) -> bool {
    matches!(error, curbside_types::Error::Database(rusqlite::Error::SqliteFailure(e, _))
        if matches!(e.code, rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase))
}

/// Renames a database and its WAL files to `NAME.corrupt-<millis>`, returning the new path.
pub fn move_aside(path: &Path) -> Result<std::path::PathBuf> {
    let stamp = chrono::Utc::now().timestamp_millis();
    let aside = path.with_extension(format!("sqlite3.corrupt-{stamp}"));
    let io = |source| curbside_types::Error::DataDir {
        path: path.to_path_buf(),
        source,
    };
    std::fs::rename(path, &aside).map_err(io)?;
    for suffix in ["-wal", "-shm"] {
        let side = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            std::fs::rename(&side, format!("{}{suffix}", aside.display())).map_err(io)?;
        }
    }
    Ok(aside)
}
