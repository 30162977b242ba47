//! SQLite storage: a writer connection, opened with durable settings and used in short
//! IMMEDIATE transactions, and a reader beside it. In WAL mode the reader never waits behind a
//! commit (a screen's list while the engine fsyncs a batch), and sees what is committed.
//! Both can be interrupted ([`Store::interrupt`]) so that a shutdown does not wait for a
//! long query.

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
    /// Every read ([`Store::read`]). Declared first, so closed first: the writer, closing
    /// last, folds the write-ahead log into the file and deletes it (a read-only connection
    /// cannot), leaving no old page (a finished report's contact details) in it.
    reader: Mutex<Connection>,
    /// Every write, and the checks and repairs.
    conn: Mutex<Connection>,
    /// Stops what either connection runs now.
    interrupts: [rusqlite::InterruptHandle; 2],
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
        let reader = open_reader(path, "")?;
        Ok(Store::of(conn, reader, path))
    }

    fn of(conn: Connection, reader: Connection, path: &Path) -> Self {
        Store {
            interrupts: [conn.get_interrupt_handle(), reader.get_interrupt_handle()],
            conn: Mutex::new(conn),
            reader: Mutex::new(reader),
            path: path.to_path_buf(),
        }
    }

    /// Stops the query either connection runs now (it fails as interrupted): for a shutdown
    /// that must not wait. Later calls work as before.
    pub fn interrupt(&self) {
        for handle in &self.interrupts {
            handle.interrupt();
        }
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

    /// SQLite often reports a full disk as a plain I/O error (WAL appends), and a database
    /// opened read-only on a full disk as read-only: when the disk has no room left, say
    /// so, so the user knows what to do.
    fn classify(&self, error: curbside_types::Error) -> curbside_types::Error {
        let error = self.notice_damage(error);
        if is_full(&self.path, &error) {
            return curbside_types::Error::DiskFull;
        }
        error
    }

    /// Opens the database at `path` for reading only (a full disk: nothing can be written,
    /// and what is there can still be listed). Every write fails as `DiskFull`.
    fn open_read_only(path: &Path) -> Result<Self> {
        // With no log to fold in, the file is read as it is: no shared-memory file is made
        // (there is no room for one). With a log, SQLite reads it beside the file.
        let wal = std::fs::metadata(format!("{}-wal", path.display())).is_ok_and(|m| m.len() > 0);
        let query = if wal { "" } else { "?immutable=1" };
        let conn = open_reader(path, query)?;
        let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version != schema::VERSION {
            // An older file needs its upgrade written first: not on a full disk.
            return Err(curbside_types::Error::DiskFull);
        }
        Ok(Store::of(conn, open_reader(path, query)?, path))
    }

    /// Whether the file is sound, repairing what can be repaired in place: SQLite's
    /// structure (`PRAGMA quick_check`), then the outbox's tables against their indexes
    /// (`PRAGMA integrity_check` of each: `quick_check` does not compare an index with its
    /// table, and one changed byte in `reports_due` hides every queued report), then what
    /// the outbox's rows must hold. An index that disagrees with its table is rebuilt
    /// (`REINDEX`). False only for damage: a check that cannot run now (the database busy
    /// with other processes) is no reason to move a file aside, and the next open checks
    /// again.
    pub fn is_sound(&self) -> bool {
        // Read on the reader: writes go on meanwhile.
        let verdict = check(&self.reader());
        match verdict {
            Ok(Verdict::Sound) => true,
            Ok(Verdict::Indexes(indexes)) => {
                tracing::warn!(target: "curbside::store", ?indexes, "an index disagrees with its table: rebuilt");
                let conn = self.lock();
                let rebuilt = indexes
                    .iter()
                    .try_for_each(|index| conn.execute_batch(&format!("REINDEX \"{index}\"")));
                rebuilt.is_ok() && matches!(check(&conn), Ok(Verdict::Sound))
            }
            Ok(Verdict::Damaged(why)) => {
                tracing::warn!(target: "curbside::store", %why, "the database is damaged");
                false
            }
            Err(e) => {
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

    /// Rebuilds the file without its free pages and empties the write-ahead log: after
    /// everything personal was removed, nothing of it stays in either file.
    pub fn vacuum(&self) -> Result<()> {
        let conn = self.lock();
        conn.execute_batch("VACUUM")?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Runs `f` on the reader: what is committed, without waiting for a write under way.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut reader = self.reader();
        // One snapshot for all of `f`'s statements (a page and its count agree).
        let read = (|| {
            let snapshot = reader.transaction()?;
            let value = f(&snapshot)?;
            snapshot.finish()?;
            Ok(value)
        })();
        read.map_err(|e| self.notice_damage(e))
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        self.reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Damage met while in use (a page SQLite finds corrupt) is marked for the next open,
    /// which deals with it; the error goes on to the caller.
    fn notice_damage(&self, error: curbside_types::Error) -> curbside_types::Error {
        if is_corruption(&error) || matches!(error, curbside_types::Error::CorruptData(_)) {
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

/// The outbox's tables, checked against their indexes at every check.
const CHECKED_TABLES: &[&str] = &["reports", "report_history", "servers", "lease", "drafts"];

/// What a check found.
enum Verdict {
    /// Nothing wrong.
    Sound,
    /// Only these indexes disagree with their tables: rebuilt, nothing is lost.
    Indexes(Vec<String>),
    /// Damage that only a salvage can deal with; why.
    Damaged(String),
}

/// Checks the database on `conn` (the rules are on [`Store::is_sound`]).
fn check(conn: &Connection) -> Result<Verdict> {
    let verdict: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
    if verdict != "ok" {
        return Ok(Verdict::Damaged(verdict));
    }
    let mut indexes = Vec::new();
    for table in CHECKED_TABLES {
        let mut stmt = conn.prepare(&format!("PRAGMA integrity_check(\"{table}\")"))?;
        let lines = stmt.query_map([], |r| r.get::<_, String>(0))?;
        for line in lines {
            let line = line?;
            if line == "ok" {
                continue;
            }
            // "row 3 missing from index reports_due", "wrong # of entries in index ...",
            // "non-unique entry in index ...": the table is whole, the index is not.
            match line.split_once(" index ").map(|(_, index)| index) {
                Some(index) => {
                    let index = index.trim().to_string();
                    if !indexes.contains(&index) {
                        indexes.push(index);
                    }
                }
                None => return Ok(Verdict::Damaged(line)),
            }
        }
    }
    if !indexes.is_empty() {
        return Ok(Verdict::Indexes(indexes));
    }
    // Rows SQLite reads whole but the outbox cannot: damage inside a row.
    let unreadable: i64 = conn.query_row(
        &format!(
            "SELECT count(*) FROM reports WHERE NOT ({})",
            reports::READABLE
        ),
        [],
        |r| r.get(0),
    )?;
    Ok(match unreadable {
        0 => Verdict::Sound,
        n => Verdict::Damaged(format!("{n} reports cannot be read")),
    })
}

/// True when the file is shorter than its own header says (cut short: a copy or a disk
/// that lost its tail). The header's size counts only when SQLite marks it valid, and not
/// beside a write-ahead log with content: a checkpoint cut off by an I/O error leaves the
/// header written and later pages still only in the log, which completes them.
fn cut_short(path: &Path) -> bool {
    use std::io::Read;
    if std::fs::metadata(format!("{}-wal", path.display())).is_ok_and(|m| m.len() > 0) {
        return false;
    }
    let mut head = [0u8; 100];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head));
    let Ok(len) = std::fs::metadata(path).map(|m| m.len()) else {
        return false;
    };
    if read.is_err() || &head[..16] != salvage::MAGIC || head[24..28] != head[92..96] {
        return false;
    }
    let Some((page_size, pages)) = salvage::stated_size(&head) else {
        return false;
    };
    len < pages * page_size || len % page_size != 0
}

/// Databases up to this size are checked for damage ([`Store::is_sound`], about 3 ms a
/// megabyte) before the open returns; a bigger one is checked in the background, so that
/// the first screen does not wait for it, and damage found there is dealt with at the next
/// open (a marker file beside the database says so). A year of one citizen's use is about
/// 200 KiB.
const CHECK_AT_OPEN_BYTES: u64 = 1024 * 1024;

/// Opens the database at `path`; a damaged one is moved aside (never deleted: it may hold
/// unsent reports), a fresh one takes its place, and what can be read is brought back. The
/// second value says where the damaged file went and what was salvaged.
pub fn open_recovering(
    path: &Path,
) -> Result<(Store, Option<(std::path::PathBuf, salvage::Salvage)>)> {
    let metadata = std::fs::metadata(path).ok();
    // An existing file of zero bytes, untouched for a minute, held something once: damaged,
    // not new. (A file another process is creating right now is zero bytes for a moment.)
    // An existing file of zero bytes held something once: damaged, not new, when it is
    // untouched for a minute, marked damaged, or beside a write-ahead log with content. (A
    // file another process is creating right now is zero bytes for a moment.)
    let marker = damage_marker(path);
    let wal = std::fs::metadata(format!("{}-wal", path.display())).is_ok_and(|m| m.len() > 0);
    let emptied = metadata.as_ref().is_some_and(|m| {
        m.len() == 0
            && (marker.exists()
                || wal
                || m.modified()
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > Duration::from_secs(60)))
    });
    let damaged = emptied || cut_short(path);
    let check_now = marker.exists()
        || metadata
            .as_ref()
            .is_none_or(|m| m.len() <= CHECK_AT_OPEN_BYTES);
    match Store::open(path) {
        Ok(store) if !damaged && !check_now => {
            check_in_background(path.to_path_buf());
            return Ok((store, None));
        }
        Ok(store) if !damaged && store.is_sound() => {
            let _ = std::fs::remove_file(&marker);
            return Ok((store, None));
        }
        Ok(_) => {}
        Err(e) if is_corruption(&e) => {}
        // A full disk: what is there can still be read.
        Err(e) if metadata.is_some() && is_full(path, &e) => {
            tracing::warn!(target: "curbside::store", "the disk is full: the database is opened for reading only");
            return Ok((Store::open_read_only(path)?, None));
        }
        Err(e) if is_full(path, &e) => return Err(curbside_types::Error::DiskFull),
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

/// Whether the database at `path` is damaged, by the check of [`Store::is_sound`] on a
/// read-only connection of its own (WAL lets it read beside a writer); `None` when it
/// cannot be opened to check. An index to rebuild counts as damage here: rebuilding needs
/// a writer, so the next open does it. (Also what `tests/bench` times.)
pub fn found_damage(path: &Path) -> Option<bool> {
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).ok()?;
    let _ = conn.busy_timeout(BUSY_TIMEOUT);
    Some(match check(&conn) {
        Ok(verdict) => !matches!(verdict, Verdict::Sound),
        Err(e) => is_corruption(&e),
    })
}

/// Checks the database at `path` on a thread of its own, on a read-only connection of its own
/// (WAL lets it read beside the store), `CHECK_DELAY` after the open; damage leaves the marker
/// for the next open. (A process that ends sooner skips it; damage it meets is marked anyway.)
fn check_in_background(path: std::path::PathBuf) {
    let check = move || {
        std::thread::sleep(CHECK_DELAY);
        if found_damage(&path) == Some(true) {
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

/// Whether `error`, met on the database at `path`, is a full disk.
fn is_full(path: &Path, error: &curbside_types::Error) -> bool {
    let io = matches!(error, curbside_types::Error::Database(rusqlite::Error::SqliteFailure(e, _))
        if matches!(e.code, rusqlite::ErrorCode::SystemIoFailure | rusqlite::ErrorCode::DiskFull
            | rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen));
    let dir = path.parent().unwrap_or(Path::new("."));
    error.is_disk_full() || io && free_bytes(dir).is_some_and(|free| free < 1024 * 1024)
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

/// A read-only connection to the database at `path` (`query`: URI parameters such as
/// `?immutable=1`).
fn open_reader(path: &Path, query: &str) -> Result<Connection> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
        | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    let mut uri = String::from("file:");
    for c in path.display().to_string().chars() {
        match c {
            '?' | '#' | '%' => uri.push_str(&format!("%{:02X}", c as u32)),
            c => uri.push(c),
        }
    }
    uri.push_str(query);
    let conn = Connection::open_with_flags(uri, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
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
