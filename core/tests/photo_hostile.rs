//! The photo pipeline against damaged and hostile input: typed errors, devices and pipes refused
//! at once, images bounded before decoding, CMYK said.

use std::path::Path;

use curbside_core::photo::{process, PhotoError, PhotoProfile};

mod made_images;
use made_images::*;

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
