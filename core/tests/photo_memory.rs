//! Hostile photos are refused with bounded memory: this process's peak RSS (VmHWM) barely
//! moves while a JPEG declaring 3.6 gigapixels and a PNG declaring 4 gigapixels are refused.
//! Its own test binary, so nothing else shares the peak.

use curbside_core::photo::{process, PhotoError, PhotoProfile};

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A PNG chunk with its CRC.
fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in kind.iter().chain(data) {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    [
        &(data.len() as u32).to_be_bytes()[..],
        kind,
        data,
        &(!crc).to_be_bytes(),
    ]
    .concat()
}

#[test]
fn bombs_are_refused_before_any_large_allocation() {
    if !std::path::Path::new("/proc/self/status").exists() {
        curbside_sandbox::skipped("no /proc on this system to read peak memory");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let before = peak_kib();

    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
        .encode_image(&image::RgbImage::new(16, 16))
        .unwrap();
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]); // 60,000 x 60,000
    std::fs::write(dir.path().join("bomb.jpg"), &jpeg).unwrap();
    let error = process(
        &dir.path().join("bomb.jpg"),
        dir.path(),
        &PhotoProfile::default(),
    )
    .unwrap_err();
    assert!(matches!(error, PhotoError::TooLarge { .. }), "{error:?}");

    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&65_535u32.to_be_bytes());
    ihdr.extend_from_slice(&65_535u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let png = [
        &b"\x89PNG\r\n\x1a\n"[..],
        &chunk(b"IHDR", &ihdr),
        &chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
        &chunk(b"IEND", &[]),
    ]
    .concat();
    std::fs::write(dir.path().join("bomb.png"), &png).unwrap();
    let error = process(
        &dir.path().join("bomb.png"),
        dir.path(),
        &PhotoProfile::default(),
    )
    .unwrap_err();
    assert!(
        matches!(error, PhotoError::TooLarge { .. } | PhotoError::Corrupt(_)),
        "{error:?}"
    );

    let grown_mib = (peak_kib().saturating_sub(before)) / 1024;
    assert!(grown_mib < 64, "peak memory grew by {grown_mib} MiB");
}
