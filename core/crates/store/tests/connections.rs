//! The reader and the writer: a read never waits behind a write under way (a screen's list
//! while the engine commits), sees only what is committed, and a shutdown can interrupt a
//! long query.

use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use curbside_store::Store;

fn leases(store: &Store) -> i64 {
    store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM lease", [], |r| r.get(0))?))
        .unwrap()
}

#[test]
fn a_read_never_waits_behind_a_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("curbside.sqlite3")).unwrap());
    let (inside, is_inside) = mpsc::channel();
    let (read_done, was_read) = mpsc::channel::<()>();
    let writer = std::thread::spawn({
        let store = Arc::clone(&store);
        move || {
            store.write(|tx| {
                tx.execute(
                    "INSERT INTO lease (name, holder, until) VALUES ('sender', 'test', 0)",
                    [],
                )?;
                inside.send(()).unwrap();
                // Held open until the read is done: a read that waited for it would never be.
                Ok(was_read.recv_timeout(Duration::from_secs(20)).is_ok())
            })
        }
    });
    is_inside.recv().unwrap();
    let seen = leases(&store);
    read_done.send(()).unwrap();
    assert!(
        writer.join().unwrap().unwrap(),
        "the read waited for the write to end"
    );
    assert_eq!(seen, 0, "a write under way is not seen");
    assert_eq!(leases(&store), 1, "its commit is");
}

#[test]
fn a_long_read_is_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("curbside.sqlite3")).unwrap());
    let reader = std::thread::spawn({
        let store = Arc::clone(&store);
        move || {
            store.read(|c| {
                let n: i64 = c.query_row(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
                    [],
                    |r| r.get(0),
                )?;
                Ok(n)
            })
        }
    });
    let until = Instant::now() + Duration::from_secs(30);
    while !reader.is_finished() && Instant::now() < until {
        store.interrupt();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        reader.is_finished(),
        "the endless query was not interrupted"
    );
    assert!(reader.join().unwrap().is_err(), "it ends as interrupted");
    assert_eq!(leases(&store), 0, "and the store works after it");
}
