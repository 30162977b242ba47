//! Images the photo tests make: photographic-like content, cards, JPEGs with EXIF orientation,
//! GPS and time tags written here, and a CRC for PNG chunks.
#![allow(dead_code)] // each test file uses its own part

use std::io::Cursor;
use std::path::{Path, PathBuf};

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::{Rgb, RgbImage};

/// Gradients, soft shapes and sensor-like noise: compresses like a photo, not like a cartoon.
pub fn photo_like(width: u32, height: u32, noise: u32) -> RgbImage {
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
pub fn card(width: u32, height: u32) -> RgbImage {
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

pub fn jpeg_bytes(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .unwrap();
    out
}

pub fn rational(v: f64) -> Rational {
    Rational {
        num: (v * 10_000.0).round() as u32,
        denom: 10_000,
    }
}

/// APP1 EXIF with orientation, GPS (degrees, minutes, seconds) and capture time, as an
/// iPhone records it (local time with its offset).
pub fn exif_segment(orientation: u16, gps: Option<(f64, f64)>) -> Vec<u8> {
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
pub fn exif_segment_timed(orientation: u16, gps: Option<(f64, f64)>, time: Vec<Field>) -> Vec<u8> {
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
pub fn with_segment(jpeg: &[u8], segment: &[u8]) -> Vec<u8> {
    [&jpeg[..2], segment, &jpeg[2..]].concat()
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

pub fn pixel(path: &Path, fx: f32, fy: f32) -> [u8; 3] {
    let image = image::open(path).unwrap().into_rgb8();
    let (w, h) = image.dimensions();
    image
        .get_pixel(
            ((w as f32 * fx) as u32).min(w - 1),
            ((h as f32 * fy) as u32).min(h - 1),
        )
        .0
}

pub fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) < 50)
}

/// CRC-32 (the PNG one), for patching a chunk.
pub fn crc32(bytes: &[u8]) -> u32 {
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
