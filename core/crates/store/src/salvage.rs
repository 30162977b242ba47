//! Salvage: what can still be read from a damaged database, copied into the fresh one that
//! replaced it. The damaged file itself is never changed or deleted (it stays moved aside
//! for support); the work is done on a copy whose header is repaired if it was overwritten.
//!
//! Rows are read one by one by rowid, so a damaged page loses only the rows on it: the
//! drafts, the outbox (servers, profiles, reports and their history) come back as far as
//! SQLite can read them.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

/// What a salvage brought back.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Salvage {
    /// Drafts recovered.
    pub drafts: u32,
    /// Submitted reports recovered (with whatever history could be read).
    pub reports: u32,
    /// Rows that were there but could not be read.
    pub unreadable: u32,
    /// Why nothing at all could be read, when that is the case.
    pub failure: Option<String>,
}

/// Tables copied, parents first.
const TABLES: &[&str] = &["servers", "profiles", "drafts", "reports", "report_history"];
/// The SQLite file header's first 16 bytes.
pub(crate) const MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Rowids tried at most when a table's size cannot be read.
const BLIND_ROWS: i64 = 100_000;
/// The highest rowid probed (this app writes rowids one by one; ten million is years of use).
const MAX_ROWID: i64 = 10_000_000;
/// Rowids in a row that give nothing before a blind search stops.
const BLIND_GAP: u32 = 1_000;

/// What leaves the device in a support export: personal data and keys are removed from every
/// copied row (descriptions and positions stay: they are what the city got anyway).
const SCRUB: &str = "
UPDATE reports SET payload = json_remove(payload, '$.email', '$.first_name', '$.last_name', '$.phone'),
                   fields = json_remove(fields, '$.contact');
UPDATE drafts SET details = json_remove(details, '$.contact');
UPDATE servers SET config = json_remove(config, '$.api_key', '$.key_fingerprint');
UPDATE profiles SET profile = json_remove(profile, '$.server.api_key');
";

/// Makes a file for support from the damaged database at `aside`: what can be read of it,
/// salvaged into a fresh database at `dest` (schema as code), without contact details or keys.
pub fn export_for_support(aside: &Path, dest: &Path) -> curbside_types::Result<Salvage> {
    let mut target = Connection::open(dest)?;
    crate::schema::migrate(&mut target)?;
    let salvage = salvage(aside, &mut target);
    target.execute_batch(SCRUB)?;
    target.execute_batch("VACUUM")?;
    Ok(salvage)
}

/// Copies what can be read from the damaged database at `aside` into `target`.
pub fn salvage(aside: &Path, target: &mut Connection) -> Salvage {
    let copy = aside.with_extension("salvage-copy");
    let result = (|| -> Result<Salvage, String> {
        copy_with_sides(aside, &copy).map_err(|e| format!("cannot copy the damaged file: {e}"))?;
        repair_header(&copy).map_err(|e| format!("cannot read the damaged file: {e}"))?;
        let source = Connection::open_with_flags(
            &copy,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| format!("not readable as a database: {e}"))?;
        // Some damage hides the schema itself: then nothing can be read.
        source
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(|e| format!("its table list is unreadable: {e}"))?;
        copy_tables(&source, target)
    })();
    for side in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", copy.display()));
    }
    result.unwrap_or_else(|failure| Salvage {
        failure: Some(failure),
        ..Salvage::default()
    })
}

fn copy_with_sides(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::copy(from, to)?;
    for side in ["-wal", "-shm"] {
        let source = format!("{}{side}", from.display());
        if Path::new(&source).exists() {
            std::fs::copy(&source, format!("{}{side}", to.display()))?;
        }
    }
    Ok(())
}

/// Repairs what keeps SQLite from reading the rest: an overwritten magic string, a header
/// overwritten whole (every page size SQLite allows is tried, each with a sane header,
/// until the table list reads), and a file cut short (extended with empty pages to the size
/// its header states, so the schema loads and only the rows on the missing pages are lost).
fn repair_header(path: &Path) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let mut head = [0u8; 100];
    if file.read(&mut head)? < 100 {
        return Ok(());
    }
    if &head[..16] != MAGIC {
        file.seek(SeekFrom::Start(0))?;
        file.write_all(MAGIC)?;
    }
    let Some((page_size, pages)) = stated_size(&head) else {
        drop(file);
        return guess_page_size(path);
    };
    let stated = pages.saturating_mul(page_size);
    // At most 1 GiB: a header that lies must not fill the disk.
    if stated > file.metadata()?.len() && stated <= 1 << 30 {
        file.set_len(stated)?;
    }
    Ok(())
}

/// The page size and the page count a database header states (the count as written, valid
/// or not); `None` when the page size is not one SQLite allows.
pub(crate) fn stated_size(head: &[u8; 100]) -> Option<(u64, u64)> {
    let page_size = match u16::from_be_bytes([head[16], head[17]]) {
        1 => 65_536,
        n if n >= 512 && n.is_power_of_two() => u64::from(n),
        _ => return None,
    };
    let pages = u64::from(u32::from_be_bytes([head[28], head[29], head[30], head[31]]));
    Some((page_size, pages))
}

/// A header overwritten whole: writes a sane one for each page size SQLite allows (the
/// likeliest first) until the table list can be read with it.
fn guess_page_size(path: &Path) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let len = std::fs::metadata(path)?.len();
    let wal = Path::new(&format!("{}-wal", path.display())).exists();
    let mut sizes: Vec<u32> = (9..=16).map(|p| 1u32 << p).collect();
    sizes.sort_by_key(|&size| (size != 4096, len % u64::from(size) != 0));
    for size in sizes {
        let mut head = [0u8; 100];
        head[..16].copy_from_slice(MAGIC);
        let field = if size == 65_536 { 1 } else { size as u16 };
        head[16..18].copy_from_slice(&field.to_be_bytes());
        // File format versions: 2 (WAL) when a log is beside it, so it is read too.
        let version = if wal { 2 } else { 1 };
        head[18] = version;
        head[19] = version;
        head[21] = 64; // payload fractions, fixed by the file format
        head[22] = 32;
        head[23] = 32;
        head[24..28].copy_from_slice(&1u32.to_be_bytes()); // change counter
        let pages = (len / u64::from(size)).max(1) as u32;
        head[28..32].copy_from_slice(&pages.to_be_bytes());
        head[40..44].copy_from_slice(&1u32.to_be_bytes()); // schema cookie
        head[44..48].copy_from_slice(&4u32.to_be_bytes()); // schema format
        head[56..60].copy_from_slice(&1u32.to_be_bytes()); // UTF-8
        head[92..96].copy_from_slice(&1u32.to_be_bytes()); // the size above is valid
        head[96..100].copy_from_slice(&3_045_000u32.to_be_bytes());
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&head)?;
        drop(file);
        let readable = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| {
                c.query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE name = 'reports'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
            })
            .is_ok_and(|n| n == 1);
        if readable {
            return Ok(());
        }
    }
    Ok(())
}

/// Copies every readable row of [`TABLES`], the columns both databases have.
fn copy_tables(source: &Connection, target: &mut Connection) -> Result<Salvage, String> {
    let mut salvage = Salvage::default();
    target
        .pragma_update(None, "foreign_keys", false)
        .map_err(|e| e.to_string())?;
    let copied = (|| -> rusqlite::Result<()> {
        let tx = target.transaction()?;
        for table in TABLES {
            let columns = shared_columns(source, &tx, table);
            if columns.is_empty() {
                continue;
            }
            let list = columns.join(", ");
            let marks = vec!["?"; columns.len()].join(", ");
            let mut insert = tx.prepare(&format!(
                "INSERT OR IGNORE INTO {table} ({list}) VALUES ({marks})"
            ))?;
            let (rows, unreadable) = readable_rows(source, table, &list);
            salvage.unreadable += unreadable;
            for row in rows {
                if insert.execute(rusqlite::params_from_iter(row))? > 0 {
                    match *table {
                        "drafts" => salvage.drafts += 1,
                        "reports" => salvage.reports += 1,
                        _ => {}
                    }
                }
            }
        }
        // A damaged file from before version 5 has no list columns: fill them as the upgrade does.
        tx.execute_batch(
            "UPDATE reports SET service_code = coalesce(json_extract(payload, '$.service_code'), ''),
                                description = coalesce(json_extract(payload, '$.description'), '')
             WHERE service_code = ''",
        )?;
        tx.commit()
    })();
    let _ = target.pragma_update(None, "foreign_keys", true);
    copied.map_err(|e| e.to_string())?;
    Ok(salvage)
}

/// The columns of `table` in both databases (the damaged one may be older).
fn shared_columns(source: &Connection, target: &Connection, table: &str) -> Vec<String> {
    let names = |conn: &Connection| -> Vec<String> {
        conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap_or_default()
    };
    let theirs = names(source);
    names(target)
        .into_iter()
        .filter(|c| theirs.contains(c))
        .collect()
}

/// Every row of `table` that can be read, one rowid at a time, and how many could not be.
/// When the table's size itself is unreadable, rowids are tried until [`BLIND_GAP`] in a
/// row give nothing, and the unreadable part counts as one.
fn readable_rows(source: &Connection, table: &str, columns: &str) -> (Vec<Vec<Value>>, u32) {
    let size = source.query_row(&format!("SELECT max(rowid) FROM {table}"), [], |r| {
        r.get::<_, Option<i64>>(0)
    });
    let (last, blind) = match size {
        // A damaged page can state any rowid: the probes stay bounded in time.
        Ok(last) => (last.unwrap_or(0).min(MAX_ROWID), false),
        Err(_) => (BLIND_ROWS, true),
    };
    // A report the outbox cannot read (a damaged page SQLite reads as zeros) is not
    // brought back to fail every call: it counts as unreadable.
    let whole = match table {
        "reports" => format!(" AND {}", crate::reports::READABLE),
        _ => String::new(),
    };
    let Ok(mut select) = source.prepare(&format!(
        "SELECT {columns} FROM {table} WHERE rowid = ?1{whole}"
    )) else {
        return (Vec::new(), 1);
    };
    let width = columns.split(',').count();
    let (mut rows, mut unreadable, mut gap) = (Vec::new(), 0, 0);
    for rowid in 1..=last {
        match select.query_row([rowid], |r| {
            (0..width)
                .map(|i| r.get::<_, Value>(i))
                .collect::<rusqlite::Result<Vec<_>>>()
        }) {
            Ok(row) => {
                rows.push(row);
                gap = 0;
            }
            Err(rusqlite::Error::QueryReturnedNoRows) => gap += 1,
            Err(_) if blind => gap += 1,
            Err(_) => unreadable += 1,
        }
        if blind && gap >= BLIND_GAP {
            break;
        }
    }
    // Rows an index still counts but no page holds any more (a file cut short): unreadable
    // too, so that the user is told of every report, not only of those that came back.
    let counted = source
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
    let read = rows.len() as u32;
    let seen = read + unreadable + u32::from(blind);
    (rows, seen.max(counted) - read)
}
