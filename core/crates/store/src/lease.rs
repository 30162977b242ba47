//! The `lease` table: which instance of which process is the sender for this database.

use rusqlite::{params, Connection, OptionalExtension};

use curbside_types::Result;

/// Takes or renews the named lease for `holder` (`PID:instance`) until `until`. It is free
/// when unheld, expired, or held by a process that no longer exists (killed mid-send), so a
/// crash never blocks sending; a live holder, in this process or another, keeps it.
pub fn acquire(conn: &Connection, name: &str, holder: &str, now: i64, until: i64) -> Result<bool> {
    let current: Option<(String, i64)> = conn
        .query_row(
            "SELECT holder, until FROM lease WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let free = match &current {
        None => true,
        Some((held_by, held_until)) => {
            held_by == holder || *held_until < now || holder_is_gone(held_by)
        }
    };
    if free {
        conn.execute(
            "INSERT INTO lease (name, holder, until) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until",
            params![name, holder, until],
        )?;
    }
    Ok(free)
}

/// True when the holder's process has ended (`kill(pid, 0)` finds no such process).
fn holder_is_gone(holder: &str) -> bool {
    let Some(pid) = holder.split(':').next().and_then(|p| p.parse::<i32>().ok()) else {
        return true;
    };
    if pid == std::process::id() as i32 {
        return false;
    }
    #[cfg(unix)]
    {
        // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        !alive && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Gives up the named lease if `holder` has it.
pub fn release(conn: &Connection, name: &str, holder: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM lease WHERE name = ?1 AND holder = ?2",
        params![name, holder],
    )?;
    Ok(())
}
