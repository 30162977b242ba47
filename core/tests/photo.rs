//! The photo pipeline on images the tests make (`made_images`): every EXIF orientation ends
//! upright, metadata stripped with GPS kept as a location candidate, the byte budget, formats
//! and colour profiles, content-hash names, real camera photos, photos in drafts, capture
//! times. Damaged and hostile files are in `photo_hostile.rs`.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use curbside_core::photo::{marker_list, process, CaptureTimeSource, PhotoError, PhotoProfile};
use exif::{Field, In, Tag, Value};

mod made_images;
use made_images::*;

#[test]
fn every_exif_orientation_ends_upright_by_pixels() {
    let dir = tempfile::tempdir().unwrap();
    // Whole 16 px blocks (turned on the JPEG's blocks) and not (turned on the pixels).
    for (w, h) in [(640, 480), (600, 400)] {
        every_orientation_upright(dir.path(), w, h);
    }
}

fn every_orientation_upright(dir: &Path, w: u32, h: u32) {
    let upright = card(w, h);
    for tag in 1..=8u8 {
        // Store the pixels as a camera held that way would: the inverse of the tag's transform.
        let inverse = match tag {
            6 => 8,
            8 => 6,
            other => other,
        };
        let mut stored = image::DynamicImage::ImageRgb8(upright.clone());
        stored.apply_orientation(image::metadata::Orientation::from_exif(inverse).unwrap());
        let jpeg = with_segment(
            &jpeg_bytes(&stored.into_rgb8(), 95),
            &exif_segment(tag as u16, None),
        );
        let input = write(dir, &format!("o{tag}-{w}.jpg"), &jpeg);
        let out = process(&input, &dir.join("out"), &PhotoProfile::default()).unwrap();
        assert_eq!((out.width, out.height), (w, h), "orientation {tag}");
        assert!(
            close(pixel(&out.path, 0.1, 0.1), [230, 20, 20]),
            "orientation {tag}: red not top-left"
        );
        assert!(
            close(pixel(&out.path, 0.9, 0.1), [20, 230, 20]),
            "orientation {tag}: green not top-right"
        );
        assert!(
            close(pixel(&out.path, 0.1, 0.9), [20, 20, 230]),
            "orientation {tag}: blue not bottom-left"
        );
    }
}

#[test]
fn output_has_no_metadata_and_gps_becomes_a_location_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = with_segment(
        &jpeg_bytes(&photo_like(4032, 3024, 12), 92),
        &exif_segment(6, Some((38.889_25, -77.050_18))),
    );
    let input = write(dir.path(), "gps.jpg", &jpeg);
    assert!(
        exif::Reader::new()
            .read_from_container(&mut Cursor::new(&jpeg))
            .is_ok(),
        "the input has EXIF"
    );

    let out = process(&input, &dir.path().join("out"), &PhotoProfile::default()).unwrap();
    assert_eq!(
        (out.width, out.height),
        (1536, 2048),
        "exact target size, rotated upright"
    );
    let bytes = std::fs::read(&out.path).unwrap();
    assert_eq!(bytes.len(), out.bytes);
    assert!(
        exif::Reader::new()
            .read_from_container(&mut Cursor::new(&bytes))
            .is_err(),
        "no EXIF left"
    );
    let markers: Vec<u8> = marker_list(&bytes).into_iter().map(|(m, _)| m).collect();
    assert!(
        markers
            .iter()
            .all(|m| !(0xE1..=0xEF).contains(m) && *m != 0xFE),
        "only JFIF and image tables: {markers:x?}"
    );
    assert!(
        !bytes.windows(9).any(|w| w == b"TestPhone"),
        "maker text gone"
    );

    let location = out.location.expect("a location candidate");
    assert!(
        (location.latitude - 38.889_25).abs() < 1e-5
            && (location.longitude + 77.050_18).abs() < 1e-5,
        "{location:?}"
    );
    assert_eq!(
        location.captured_at.unwrap().to_rfc3339(),
        "2026-11-26T22:45:10+00:00"
    );
    assert_eq!(
        location.captured_at_source,
        Some(CaptureTimeSource::RecordedOffset)
    );
    assert_eq!(out.quality, 80, "under budget at the first try");
    assert!(out.path.starts_with(dir.path().join("out")));
}

#[test]
fn the_byte_budget_is_met_by_quality_then_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let noisy = write(
        dir.path(),
        "noisy.jpg",
        &jpeg_bytes(&photo_like(4000, 3000, 90), 95),
    );
    let profile = PhotoProfile {
        budget_bytes: 450_000,
        ..PhotoProfile::default()
    };
    let out = process(&noisy, &dir.path().join("out"), &profile).unwrap();
    assert!(out.bytes <= 450_000, "{} bytes", out.bytes);
    assert!(
        out.quality >= 55 && out.quality < 80,
        "searched a lower quality: {}",
        out.quality
    );
    assert_eq!(out.width, 2048);

    let tight = PhotoProfile {
        budget_bytes: 150_000,
        ..PhotoProfile::default()
    };
    let out = process(&noisy, &dir.path().join("out"), &tight).unwrap();
    assert!(out.bytes <= 150_000, "{} bytes", out.bytes);
    assert!(
        out.width < 2048,
        "stepped the size down instead of going below the quality floor"
    );
    assert!(out.quality >= 55);
}

#[test]
fn small_photos_png_and_webp_and_a_kept_colour_profile() {
    let dir = tempfile::tempdir().unwrap();
    let small = write(
        dir.path(),
        "small.jpg",
        &jpeg_bytes(&photo_like(800, 600, 8), 90),
    );
    let out = process(&small, &dir.path().join("out"), &PhotoProfile::default()).unwrap();
    assert_eq!((out.width, out.height), (800, 600), "never enlarged");

    let image = photo_like(2600, 1300, 8);
    let png = dir.path().join("screenshot.png");
    image.save(&png).unwrap();
    let out = process(&png, &dir.path().join("out"), &PhotoProfile::default()).unwrap();
    assert_eq!((out.width, out.height), (2048, 1024));
    let webp = dir.path().join("photo.webp");
    image.save(&webp).unwrap();
    assert_eq!(
        process(&webp, &dir.path().join("out"), &PhotoProfile::default())
            .unwrap()
            .width,
        2048
    );

    // An iPhone-style Display P3 photo: the colour profile is carried over, byte for byte.
    let mut icc = b"ICC_PROFILE\0\x01\x01".to_vec();
    icc.extend((0..600u32).map(|i| (i * 37 % 251) as u8));
    let mut segment = vec![0xFF, 0xE2];
    segment.extend_from_slice(&((icc.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(&icc);
    let p3 = write(
        dir.path(),
        "p3.jpg",
        &with_segment(&jpeg_bytes(&photo_like(3000, 2000, 8), 90), &segment),
    );
    let out = process(&p3, &dir.path().join("out"), &PhotoProfile::default()).unwrap();
    assert!(out.color_profile_kept);
    let bytes = std::fs::read(&out.path).unwrap();
    assert!(
        bytes
            .windows(segment.len())
            .any(|w| w == segment.as_slice()),
        "ICC segment carried over"
    );
    assert!(
        image::load_from_memory(&bytes).is_ok(),
        "still a valid JPEG"
    );
}

#[test]
fn the_same_photo_gets_the_same_content_hash_name() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "a.jpg",
        &jpeg_bytes(&photo_like(3000, 2000, 8), 90),
    );
    let first = process(&input, &dir.path().join("out"), &PhotoProfile::default()).unwrap();
    let second = process(&input, &dir.path().join("out"), &PhotoProfile::default()).unwrap();
    assert_eq!(first.path, second.path);
    assert_eq!(
        std::fs::read_dir(dir.path().join("out")).unwrap().count(),
        1
    );
}

#[test]
fn real_camera_photos_when_present() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/photos");
    if !shared.is_dir() {
        curbside_sandbox::skipped(&format!(
            "{} is not present (real camera photos live beside CI's clone)",
            shared.display()
        ));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, size) in [
        ("p12_s7edge_o6.jpg", (1536, 2048)),
        ("p13_oppo_r7plus_gps.jpg", (1536, 2048)),
        ("p8_iphone5_o3_gps.jpg", (2048, 1536)),
    ] {
        let out = process(&shared.join(name), dir.path(), &PhotoProfile::default()).unwrap();
        assert_eq!((out.width, out.height), size, "{name}");
        assert!(out.bytes <= 800_000, "{name}");
        let bytes = std::fs::read(&out.path).unwrap();
        assert!(
            exif::Reader::new()
                .read_from_container(&mut Cursor::new(&bytes))
                .is_err(),
            "{name}: EXIF left"
        );
        if name.contains("gps") {
            assert!(out.location.is_some(), "{name}: GPS read");
        }
    }
}

#[test]
fn photos_join_drafts_and_leave_them_cleanly() {
    use curbside_core::{Curbside, DraftFields, Error};
    let dir = tempfile::tempdir().unwrap();
    let curbside = Curbside::open(dir.path().join("data")).unwrap();
    curbside.set_photo_profile(PhotoProfile {
        max_photos: 2,
        ..PhotoProfile::default()
    });
    let draft = curbside.create_draft(DraftFields::default()).unwrap();
    let camera = write(
        dir.path(),
        "camera.jpg",
        &with_segment(
            &jpeg_bytes(&photo_like(3000, 2000, 8), 90),
            &exif_segment(1, Some((40.0, -3.7))),
        ),
    );

    let (with_photo, photo) = curbside.add_photo(&draft.id, &camera).unwrap();
    assert_eq!(with_photo.fields.photos, [photo.path.display().to_string()]);
    assert!(photo.path.starts_with(curbside.photo_dir()));
    assert!((photo.location.as_ref().unwrap().latitude - 40.0).abs() < 1e-6);
    assert!(camera.exists(), "the app's original is left alone");

    assert!(matches!(
        curbside.add_photo(&draft.id, &dir.path().join("nope.jpg")),
        Err(Error::Photo(PhotoError::Io(_)))
    ));
    let other = write(
        dir.path(),
        "other.jpg",
        &jpeg_bytes(&photo_like(1000, 800, 8), 90),
    );
    curbside.add_photo(&draft.id, &other).unwrap();
    assert!(
        matches!(
            curbside.add_photo(&draft.id, &other),
            Err(Error::InvalidInput {
                field: "photos",
                ..
            })
        ),
        "profile limit"
    );

    let kept = curbside
        .remove_photo(&draft.id, &photo.path.display().to_string())
        .unwrap();
    assert_eq!(kept.fields.photos.len(), 1);
    assert!(!photo.path.exists(), "an unused processed photo is deleted");
    assert!(matches!(
        curbside.remove_photo(&draft.id, "/etc/passwd"),
        Err(Error::InvalidInput { field: "photo", .. })
    ));

    // A path an app puts in the form it saves is not taken: photos come only through the
    // pipeline, and a file outside the photo directory is never deleted.
    let mut fields = curbside.get_draft(&draft.id).unwrap().fields;
    let before = fields.photos.clone();
    fields.photos.push(camera.display().to_string());
    let saved = curbside.update_draft(&draft.id, fields).unwrap();
    assert_eq!(saved.fields.photos, before);
    assert!(matches!(
        curbside.remove_photo(&draft.id, &camera.display().to_string()),
        Err(Error::InvalidInput { field: "photo", .. })
    ));
    assert!(
        camera.exists(),
        "files outside the photo directory are never deleted"
    );
}

/// An Android camera records its local time without an offset, and the GPS clock in UTC: the
/// photo's time is the GPS clock's, not the local time read as UTC (off by the zone).
#[test]
fn a_local_time_without_offset_is_read_by_the_gps_clock() {
    let dir = tempfile::tempdir().unwrap();
    let time = vec![
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2026:07:04 09:30:00".to_vec()]),
        },
        Field {
            tag: Tag::GPSDateStamp,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2026:07:04".to_vec()]),
        },
        Field {
            tag: Tag::GPSTimeStamp,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![rational(13.0), rational(29.0), rational(58.0)]),
        },
    ];
    let jpeg = with_segment(
        &jpeg_bytes(&photo_like(800, 600, 3), 90),
        &exif_segment_timed(1, Some((40.0, -3.7)), time),
    );
    let input = write(dir.path(), "android.jpg", &jpeg);
    let out = process(&input, &dir.path().join("out"), &PhotoProfile::default()).unwrap();
    let location = out.location.expect("a location candidate");
    assert_eq!(
        location.captured_at.unwrap().to_rfc3339(),
        "2026-07-04T13:29:58+00:00"
    );
    assert_eq!(
        location.captured_at_source,
        Some(CaptureTimeSource::GpsClock)
    );
}
