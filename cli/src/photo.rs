//! `curbside photo` (the photo pipeline alone) and `curbside sample-photo` (a photo-like test
//! JPEG with EXIF GPS, so apps and tests need no camera files).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use clap::Args;
use curbside_core::photo::{process, PhotoError, PhotoProfile};
use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};

use crate::output::Output;

/// Options of `curbside photo`.
#[derive(Args)]
pub(crate) struct PhotoArgs {
    /// The camera file (JPEG, PNG or WebP).
    file: PathBuf,
    /// Where to write the upload-ready JPEG.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Longest edge in pixels.
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u32).range(64..=16_384))]
    max_edge: u32,
    /// JPEG quality tried first.
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: u8,
    /// Largest output in bytes.
    #[arg(long, default_value_t = 800_000, value_parser = clap::value_parser!(u64).range(10_000..))]
    budget: u64,
}

/// Options of `curbside sample-photo`.
#[derive(Args)]
pub(crate) struct SampleArgs {
    /// Where to write the JPEG.
    out: PathBuf,
    /// Width in pixels.
    #[arg(long, default_value_t = 4032, value_parser = clap::value_parser!(u32).range(1..=16_384))]
    width: u32,
    /// Height in pixels.
    #[arg(long, default_value_t = 3024, value_parser = clap::value_parser!(u32).range(1..=16_384))]
    height: u32,
    /// EXIF GPS position, LAT,LONG.
    #[arg(long, value_name = "LAT,LONG", allow_hyphen_values = true, value_parser = crate::numbers::position)]
    gps: Option<String>,
    /// EXIF orientation, 1 to 8.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=8))]
    orientation: u16,
}

pub(crate) fn run(args: PhotoArgs, out: &Output) -> curbside_core::Result<()> {
    let profile = PhotoProfile {
        max_edge: args.max_edge,
        quality: args.quality,
        budget_bytes: args.budget,
        ..PhotoProfile::default()
    };
    let work = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    // Only a regular file is ever replaced, and no folder is created.
    if !work.is_dir() {
        return Err(invalid_out(format!(
            "the folder {} does not exist",
            work.display()
        )));
    }
    if let Ok(existing) = std::fs::symlink_metadata(&args.out) {
        if !existing.is_file() {
            return Err(invalid_out(format!(
                "{} exists and is not a regular file",
                args.out.display()
            )));
        }
    }
    let photo = process(&args.file, &work, &profile)?;
    std::fs::rename(&photo.path, &args.out).map_err(|e| PhotoError::Io(e.to_string()))?;
    let photo = curbside_core::photo::ProcessedPhoto {
        path: args.out.clone(),
        ..photo
    };
    out.print(&photo, |p| {
        println!(
            "{}: {}x{}, {} bytes, quality {}{}",
            p.path.display(),
            p.width,
            p.height,
            p.bytes,
            p.quality,
            if p.color_profile_kept {
                ", colour profile kept"
            } else {
                ""
            }
        );
        if let Some(l) = &p.location {
            println!(
                "taken at {:.6}, {:.6}{}",
                l.latitude,
                l.longitude,
                l.captured_at
                    .map(|t| format!(" on {t}"))
                    .unwrap_or_default()
            );
        }
    });
    Ok(())
}

/// A bad `--out`.
fn invalid_out(reason: String) -> curbside_core::Error {
    curbside_core::Error::InvalidInput {
        field: "out",
        reason,
    }
}

/// The largest sample photo, in pixels (and 16,384 on an edge): enough for a 100 MP camera.
const MAX_SAMPLE_PIXELS: u64 = 100_000_000;

pub(crate) fn sample(args: SampleArgs) -> curbside_core::Result<()> {
    let pixels = u64::from(args.width) * u64::from(args.height);
    if args.width == 0
        || args.height == 0
        || args.width > 16_384
        || args.height > 16_384
        || pixels > MAX_SAMPLE_PIXELS
    {
        return Err(curbside_core::Error::InvalidInput {
            field: "width",
            reason: "width and height must be 1 to 16384 pixels, at most 100 MP in all".into(),
        });
    }
    let gps = match &args.gps {
        Some(text) => {
            let parsed = text.split_once(',').and_then(|(a, b)| {
                Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?))
            });
            Some(parsed.ok_or(curbside_core::Error::InvalidInput {
                field: "gps",
                reason: "expected LAT,LONG".into(),
            })?)
        }
        None => None,
    };
    write_sample(&args.out, args.width, args.height, gps, args.orientation)
        .map_err(|e| PhotoError::Io(e).into())
}

/// A photo-like JPEG (sky, road, a dark pothole, sensor-like noise) with EXIF orientation and,
/// when given, GPS and a capture time.
pub(crate) fn write_sample(
    path: &Path,
    width: u32,
    height: u32,
    gps: Option<(f64, f64)>,
    orientation: u16,
) -> Result<(), String> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let noise = ((x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 23) as f32;
        if fy < 0.4 {
            image::Rgb([
                (120.0 + 60.0 * fy) as u8,
                (160.0 + 40.0 * fy) as u8,
                (230.0 - 20.0 * fx) as u8,
            ])
        } else {
            let (dx, dy) = (fx - 0.5, (fy - 0.72) * 1.8);
            let grey = if dx * dx + dy * dy < 0.02 {
                35.0
            } else {
                95.0 + 30.0 * fy
            } + noise;
            image::Rgb([grey as u8, grey as u8, (grey + 4.0) as u8])
        }
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92)
        .encode_image(&image)
        .map_err(|e| e.to_string())?;
    let exif = exif_segment(orientation, gps)?;
    let file = [&jpeg[..2], &exif, &jpeg[2..]].concat();
    std::fs::write(path, file).map_err(|e| e.to_string())
}

fn exif_segment(orientation: u16, gps: Option<(f64, f64)>) -> Result<Vec<u8>, String> {
    let rational = |v: f64| Rational {
        num: (v * 10_000.0).round() as u32,
        denom: 10_000,
    };
    let dms = |v: f64| {
        let v = v.abs();
        let (d, m) = (v.trunc(), (v.fract() * 60.0).trunc());
        vec![
            rational(d),
            rational(m),
            rational(((v - d) * 60.0 - m) * 60.0),
        ]
    };
    let ascii = |s: &str| Value::Ascii(vec![s.as_bytes().to_vec()]);
    let mut fields = vec![Field {
        tag: Tag::Orientation,
        ifd_num: In::PRIMARY,
        value: Value::Short(vec![orientation]),
    }];
    if let Some((lat, long)) = gps {
        fields.push(Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: ascii(if lat < 0.0 { "S" } else { "N" }),
        });
        fields.push(Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(lat)),
        });
        fields.push(Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: ascii(if long < 0.0 { "W" } else { "E" }),
        });
        fields.push(Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(long)),
        });
        let now = chrono::Utc::now().format("%Y:%m:%d %H:%M:%S").to_string();
        fields.push(Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: ascii(&now),
        });
        fields.push(Field {
            tag: Tag::OffsetTimeOriginal,
            ifd_num: In::PRIMARY,
            value: ascii("+00:00"),
        });
    }
    let mut writer = Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).map_err(|e| e.to_string())?;
    let tiff = tiff.into_inner();
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    Ok(segment)
}
