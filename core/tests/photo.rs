//! The photo pipeline on images the tests make: photographic-like content, every EXIF
//! orientation, GPS and time tags written here, colour profiles, damaged and hostile files.
//!
//! Longer than 600 lines on purpose: one scenario per user-visible promise of the pipeline,
//! sharing the image makers at the top; split by promise, each part would repeat them.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use curbside_core::photo::{marker_list, process, CaptureTimeSource, PhotoError, PhotoProfile};
use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::{Rgb, RgbImage};

/// Gradients, soft shapes and sensor-like noise: compresses like a photo, not like a cartoon.
fn photo_like(width: u32, height: u32, noise: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let n = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).rotate_left(7)
            % (noise.max(1))) as f32;
        let wave = (fx * 23.0).sin() * (fy * 17.0).cos() * 40.0;
        Rgb([
            (90.0 + 100.0 * fy + wave + n).clamp(0.0, 255.0) as u8,
            (110.0 + 60.0 * fx - wave * 0.5 + n).clamp(0.0, 255.0) as u8,
            (140.0 - 50.0 * fy + n).clamp(0.0, 255.0) as u8,
        ])
    })
}

/// An upright test card: red top-left, green top-right, blue bottom-left, grey elsewhere.
fn card(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let (left, top) = (x < width / 3, y < height / 3);
        let (right, bottom) = (x >= 2 * width / 3, y >= 2 * height / 3);
        match () {
            _ if left && top => Rgb([230, 20, 20]),
            _ if right && top => Rgb([20, 230, 20]),
            _ if left && bottom => Rgb([20, 20, 230]),
            _ => Rgb([128, 128, 128]),
        }
    })
}

fn jpeg_bytes(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .unwrap();
    out
}

fn rational(v: f64) -> Rational {
    Rational {
        num: (v * 10_000.0).round() as u32,
        denom: 10_000,
    }
}

/// APP1 EXIF with orientation, GPS (degrees, minutes, seconds) and capture time, as an
/// iPhone records it (local time with its offset).
fn exif_segment(orientation: u16, gps: Option<(f64, f64)>) -> Vec<u8> {
    let time = vec![
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2026:11:26 17:45:10".to_vec()]),
        },
        Field {
            tag: Tag::OffsetTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"-05:00".to_vec()]),
        },
    ];
    exif_segment_timed(orientation, gps, time)
}

/// Like [`exif_segment`], with the given time tags (when there is a GPS position).
fn exif_segment_timed(orientation: u16, gps: Option<(f64, f64)>, time: Vec<Field>) -> Vec<u8> {
    let mut fields = vec![Field {
        tag: Tag::Orientation,
        ifd_num: In::PRIMARY,
        value: Value::Short(vec![orientation]),
    }];
    if let Some((lat, long)) = gps {
        let dms = |v: f64| {
            let v = v.abs();
            let (d, m) = (v.trunc(), (v.fract() * 60.0).trunc());
            vec![
                rational(d),
                rational(m),
                rational(((v - d) * 60.0 - m) * 60.0),
            ]
        };
        fields.push(Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![if lat < 0.0 {
                b"S".to_vec()
            } else {
                b"N".to_vec()
            }]),
        });
        fields.push(Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(lat)),
        });
        fields.push(Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![if long < 0.0 {
                b"W".to_vec()
            } else {
                b"E".to_vec()
            }]),
        });
        fields.push(Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(long)),
        });
        fields.extend(time);
        fields.push(Field {
            tag: Tag::Make,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"TestPhone".to_vec()]),
        });
    }
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let tiff = tiff.into_inner();
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    segment
}

/// `jpeg` with `segment` inserted right after SOI.
fn with_segment(jpeg: &[u8], segment: &[u8]) -> Vec<u8> {
    [&jpeg[..2], segment, &jpeg[2..]].concat()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn pixel(path: &Path, fx: f32, fy: f32) -> [u8; 3] {
    let image = image::open(path).unwrap().into_rgb8();
    let (w, h) = image.dimensions();
    image
        .get_pixel(
            ((w as f32 * fx) as u32).min(w - 1),
            ((h as f32 * fy) as u32).min(h - 1),
        )
        .0
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) < 50)
}

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
fn hostile_and_broken_files_get_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let good = jpeg_bytes(&photo_like(1200, 900, 8), 90);

    // A decompression bomb: a tiny file declaring 60,000 x 60,000 pixels.
    let mut bomb = jpeg_bytes(&photo_like(64, 64, 4), 80);
    let sof = bomb.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    bomb[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
    bomb[sof + 7..sof + 9].copy_from_slice(&60_000u16.to_be_bytes());
    let error = process(
        &write(dir.path(), "bomb.jpg", &bomb),
        &out,
        &PhotoProfile::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            PhotoError::TooLarge {
                width: 60_000,
                height: 60_000,
                ..
            }
        ),
        "{error:?}"
    );

    let truncated = &good[..good.len() * 2 / 3];
    assert!(matches!(
        process(
            &write(dir.path(), "cut.jpg", truncated),
            &out,
            &PhotoProfile::default()
        ),
        Err(PhotoError::Corrupt(_))
    ));
    let mut garbled = good.clone();
    let middle = garbled.len() / 2;
    garbled[middle..middle + 400]
        .iter_mut()
        .for_each(|b| *b = 0xFF);
    assert!(process(
        &write(dir.path(), "garbled.jpg", &garbled),
        &out,
        &PhotoProfile::default()
    )
    .is_err());
    assert_eq!(
        process(
            &write(dir.path(), "notes.txt", b"not a photo at all"),
            &out,
            &PhotoProfile::default()
        ),
        Err(PhotoError::NotAnImage)
    );
    let heic = [&[0, 0, 0, 24][..], b"ftypheic", &[0; 12]].concat();
    let error = process(
        &write(dir.path(), "photo.heic", &heic),
        &out,
        &PhotoProfile::default(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("HEIC"), "{error}");
    assert!(matches!(
        process(
            &dir.path().join("missing.jpg"),
            &out,
            &PhotoProfile::default()
        ),
        Err(PhotoError::Io(_))
    ));
    assert!(
        !out.exists() || std::fs::read_dir(&out).unwrap().count() == 0,
        "nothing written for bad input"
    );
}

#[test]
fn devices_pipes_and_folders_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let fifo = dir.path().join("camera.fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    // /dev/zero reports size 0 and never ends; a FIFO with no writer blocks any reader.
    for path in [Path::new("/dev/zero"), fifo.as_path(), dir.path()] {
        let error = process(path, &out, &PhotoProfile::default()).unwrap_err();
        assert!(
            error.to_string().contains("not a regular file"),
            "{}: {error}",
            path.display()
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "refused at once, not read: {:?}",
        started.elapsed()
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

/// CRC-32 (the PNG one), for patching a chunk.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn images_held_whole_are_bounded_before_decoding_and_cmyk_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");

    // A CMYK JPEG (print files): valid, but not a photo the pipeline can take.
    let cmyk_pixels = vec![40u8; 64 * 64 * 4];
    let cmyk = turbojpeg::Image {
        pixels: cmyk_pixels.as_slice(),
        width: 64,
        pitch: 64 * 4,
        height: 64,
        format: turbojpeg::PixelFormat::CMYK,
    };
    let mut compressor = turbojpeg::Compressor::new().unwrap();
    let cmyk_jpeg = compressor.compress_to_vec(cmyk).unwrap();
    let error = process(
        &write(dir.path(), "print.jpg", &cmyk_jpeg),
        &out,
        &PhotoProfile::default(),
    )
    .unwrap_err();
    assert!(matches!(error, PhotoError::Unsupported(_)), "{error:?}");
    assert!(error.to_string().contains("CMYK"), "{error}");

    // A progressive JPEG declaring 12,000 x 12,000: under the pixel limit, but its DCT
    // coefficients alone would take over 400 MB. Refused from its header.
    let rgb = vec![128u8; 64 * 64 * 3];
    let image = turbojpeg::Image {
        pixels: rgb.as_slice(),
        width: 64,
        pitch: 64 * 3,
        height: 64,
        format: turbojpeg::PixelFormat::RGB,
    };
    let mut compressor = turbojpeg::Compressor::new().unwrap();
    compressor.set_progressive(true).unwrap();
    compressor.set_subsamp(turbojpeg::Subsamp::Sub2x2).unwrap();
    let mut progressive = compressor.compress_to_vec(image).unwrap();
    let sof = progressive
        .windows(2)
        .position(|w| w == [0xFF, 0xC2])
        .unwrap();
    progressive[sof + 5..sof + 7].copy_from_slice(&12_000u16.to_be_bytes());
    progressive[sof + 7..sof + 9].copy_from_slice(&12_000u16.to_be_bytes());
    let error = process(
        &write(dir.path(), "progressive.jpg", &progressive),
        &out,
        &PhotoProfile::default(),
    )
    .unwrap_err();
    assert!(
        matches!(error, PhotoError::TooLarge { width: 12_000, .. }),
        "{error:?}"
    );

    // A 16-bit RGBA PNG declaring 9,000 x 9,000 (648 MB decoded): refused from its header.
    let mut png = Vec::new();
    image::ImageBuffer::<image::Rgba<u16>, Vec<u16>>::new(8, 8)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let ihdr = png.windows(4).position(|w| w == b"IHDR").unwrap();
    png[ihdr + 4..ihdr + 8].copy_from_slice(&9_000u32.to_be_bytes());
    png[ihdr + 8..ihdr + 12].copy_from_slice(&9_000u32.to_be_bytes());
    let crc = crc32(&png[ihdr..ihdr + 17]);
    png[ihdr + 17..ihdr + 21].copy_from_slice(&crc.to_be_bytes());
    let error = process(
        &write(dir.path(), "deep.png", &png),
        &out,
        &PhotoProfile::default(),
    )
    .unwrap_err();
    assert!(
        matches!(error, PhotoError::TooLarge { width: 9_000, .. }),
        "{error:?}"
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
