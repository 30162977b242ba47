//! The draft scenario every front end repeats (Kotlin and Swift suites mirror it):
//! create, reopen, list, update, delete, and each error case, on a real SQLite file.

use chrono::{TimeZone, Utc};
use curbside_core::open311::AttributeAnswer;
use curbside_core::{Contact, Curbside, DraftFields, DraftId, Error, Location, LocationSource};

fn pothole() -> DraftFields {
    DraftFields {
        service_code: Some("pothole".into()),
        location: Some(Location {
            latitude: 38.8895,
            longitude: -77.0353,
            accuracy_m: Some(4.5),
            source: LocationSource::Gps,
            captured_at: Utc.with_ymd_and_hms(2026, 11, 27, 8, 30, 0).unwrap(),
        }),
        description: "Deep pothole in the bike lane".into(),
        attributes: vec![AttributeAnswer {
            code: "HAZARDS".into(),
            values: vec!["water".into(), "glass".into()],
            multiple: true,
        }],
        contact: Contact {
            email: Some("ada@example.org".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn drafts_survive_reopening_and_can_be_updated_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let created = {
        let curbside = Curbside::open(dir.path()).unwrap();
        let first = curbside.create_draft(pothole()).unwrap();
        curbside
            .create_draft(DraftFields {
                description: "Street light out".into(),
                ..Default::default()
            })
            .unwrap();
        first
    };

    let curbside = Curbside::open(dir.path()).unwrap();
    let with_a_path = DraftFields {
        photos: vec!["/sdcard/DCIM/IMG_0001.jpg".into()],
        ..pothole()
    };
    assert!(
        matches!(
            curbside.create_draft(with_a_path),
            Err(Error::InvalidInput {
                field: "photos",
                ..
            })
        ),
        "photos come only through the pipeline"
    );
    let listed = curbside.list_drafts().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1], created, "oldest last, and read back exactly");
    assert_eq!(listed[0].fields.description, "Street light out");
    assert_eq!(listed[0].fields.location, None);

    let mut changed = pothole();
    changed.description = "Pothole, now two of them".into();
    changed.location.as_mut().unwrap().source = LocationSource::ManualPin;
    changed.location.as_mut().unwrap().accuracy_m = None;
    let updated = curbside.update_draft(&created.id, changed.clone()).unwrap();
    assert_eq!(updated.fields, changed);
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at >= created.updated_at);
    drop(curbside);

    let curbside = Curbside::open(dir.path()).unwrap();
    assert_eq!(curbside.get_draft(&created.id).unwrap(), updated);
    curbside.delete_draft(&created.id).unwrap();
    assert_eq!(curbside.list_drafts().unwrap().len(), 1);
    drop(curbside);
    assert_eq!(
        Curbside::open(dir.path())
            .unwrap()
            .list_drafts()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn invalid_input_is_refused_with_the_field_named_and_nothing_saved() {
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    let saved = curbside.create_draft(pothole()).unwrap();

    for (latitude, longitude, field) in [
        (200.0, 0.0, "location.latitude"),
        (f64::NAN, 0.0, "location.latitude"),
        (0.0, f64::NAN, "location.longitude"),
    ] {
        let mut bad = pothole();
        let location = bad.location.as_mut().unwrap();
        location.latitude = latitude;
        location.longitude = longitude;
        match curbside.create_draft(bad.clone()) {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected InvalidInput for {field}, got {other:?}"),
        }
        assert!(matches!(
            curbside.update_draft(&saved.id, bad),
            Err(Error::InvalidInput { .. })
        ));
    }
    assert_eq!(curbside.list_drafts().unwrap(), vec![saved.clone()]);
}

#[test]
fn unknown_draft_ids_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    let saved = curbside.create_draft(pothole()).unwrap();
    curbside.delete_draft(&saved.id).unwrap();

    assert!(matches!(
        curbside.get_draft(&saved.id),
        Err(Error::DraftNotFound)
    ));
    assert!(matches!(
        curbside.update_draft(&saved.id, pothole()),
        Err(Error::DraftNotFound)
    ));
    assert!(matches!(
        curbside.delete_draft(&saved.id),
        Err(Error::DraftNotFound)
    ));
    assert!(matches!(
        DraftId::parse("42"),
        Err(Error::InvalidInput { field: "id", .. })
    ));
}

#[test]
fn an_unusable_data_directory_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    match Curbside::open(file.join("data")) {
        Err(Error::DataDir { path, .. }) => assert_eq!(path, file.join("data")),
        other => panic!("expected DataDir, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_database_from_a_newer_build_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    let saved = curbside.create_draft(pothole()).unwrap();
    drop(curbside);
    let db = dir.path().join(curbside_core::DATABASE_FILE);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);

    assert!(matches!(
        Curbside::open(dir.path()),
        Err(Error::SchemaTooNew { found: 99, .. })
    ));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let description: String = conn
        .query_row(
            "SELECT description FROM drafts WHERE id = ?1",
            [saved.id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(description, saved.fields.description);
}

#[test]
fn a_corrupt_database_is_moved_aside_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(curbside_core::DATABASE_FILE);
    let garbage = b"this is not a database, but it may be all the user has".repeat(100);
    std::fs::write(&db, &garbage).unwrap();
    let curbside = Curbside::open(dir.path()).unwrap();
    let aside = curbside
        .moved_aside_database()
        .expect("reported")
        .to_path_buf();
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        garbage,
        "kept byte for byte"
    );
    assert!(curbside.list_drafts().unwrap().is_empty());
    curbside.create_draft(pothole()).unwrap();
    drop(curbside);
    assert_eq!(
        Curbside::open(dir.path()).unwrap().moved_aside_database(),
        None
    );
}

#[test]
fn many_processes_opening_one_directory_at_once_all_succeed() {
    // Each open proves the directory writable with a probe file: one name per process and
    // call, so concurrent opens never race on it (8 of 400 concurrent `report` runs failed
    // when they shared one name).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let handles: Vec<_> = (0..32)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| curbside_core::Curbside::open(&path).map(drop))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for handle in handles {
        for result in handle.join().unwrap() {
            result.expect("a concurrent open failed");
        }
    }
    let leftovers = std::fs::read_dir(&path)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("write-check")
        })
        .count();
    assert_eq!(leftovers, 0, "no probe left behind");
}

/// Opening a database that is already current writes nothing: it opens while another process
/// holds the write lock (the CLI syncing, an app's worker), instead of waiting for it and
/// failing with "database is locked".
#[test]
fn opening_a_current_database_waits_for_no_writer() {
    let dir = tempfile::tempdir().unwrap();
    Curbside::open(dir.path())
        .unwrap()
        .create_draft(pothole())
        .unwrap();
    let writer = rusqlite::Connection::open(dir.path().join(curbside_core::DATABASE_FILE)).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let curbside = Curbside::open(dir.path()).expect("opens beside a writer");
    assert_eq!(curbside.list_drafts().unwrap().len(), 1);
    writer.execute_batch("ROLLBACK").unwrap();
}
