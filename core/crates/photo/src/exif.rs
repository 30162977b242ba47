//! What Curbside reads from EXIF: orientation, GPS position and capture time. Never copied to
//! the output.

use std::io::Cursor;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use exif::{In, Reader, Tag, Value};

use super::PhotoLocation;

/// The EXIF facts that matter, with safe defaults when a tag is missing or malformed.
#[derive(Debug, Default)]
pub(crate) struct ExifInfo {
    /// 1 to 8 (1 = upright).
    pub(crate) orientation: u8,
    pub(crate) location: Option<PhotoLocation>,
}

pub(crate) fn read(file: &[u8]) -> ExifInfo {
    let Ok(exif) = Reader::new().read_from_container(&mut Cursor::new(file)) else {
        return ExifInfo {
            orientation: 1,
            location: None,
        };
    };
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1) as u8;
    let degrees = |tag: Tag, reference: Tag, negative: &str| -> Option<f64> {
        let Value::Rational(parts) = &exif.get_field(tag, In::PRIMARY)?.value else {
            return None;
        };
        if parts.len() < 3 || parts.iter().any(|p| p.denom == 0) {
            return None;
        }
        let value = parts[0].to_f64() + parts[1].to_f64() / 60.0 + parts[2].to_f64() / 3600.0;
        let sign = match exif
            .get_field(reference, In::PRIMARY)
            .map(|f| f.display_value().to_string())
        {
            Some(r) if r.trim_matches('"').eq_ignore_ascii_case(negative) => -1.0,
            _ => 1.0,
        };
        Some(sign * value).filter(|v| v.is_finite())
    };
    let latitude = degrees(Tag::GPSLatitude, Tag::GPSLatitudeRef, "S");
    let longitude = degrees(Tag::GPSLongitude, Tag::GPSLongitudeRef, "W");
    let accuracy_m = exif
        .get_field(Tag::GPSHPositioningError, In::PRIMARY)
        .and_then(|f| match &f.value {
            Value::Rational(r) if !r.is_empty() && r[0].denom != 0 => Some(r[0].to_f64()),
            _ => None,
        });
    let location = match (latitude, longitude) {
        (Some(latitude), Some(longitude))
            if (-90.0..=90.0).contains(&latitude)
                && (-180.0..=180.0).contains(&longitude)
                && (latitude, longitude) != (0.0, 0.0) =>
        {
            Some(PhotoLocation {
                latitude,
                longitude,
                accuracy_m,
                captured_at: captured_at(&exif),
            })
        }
        _ => None,
    };
    ExifInfo {
        orientation,
        location,
    }
}

/// DateTimeOriginal in its recorded offset (OffsetTimeOriginal), else taken as UTC.
fn captured_at(exif: &exif::Exif) -> Option<DateTime<Utc>> {
    let text = |tag: Tag| -> Option<String> {
        match &exif.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(parts) => parts
                .first()
                .map(|p| String::from_utf8_lossy(p).trim().to_string()),
            _ => None,
        }
    };
    let naive =
        NaiveDateTime::parse_from_str(&text(Tag::DateTimeOriginal)?, "%Y:%m:%d %H:%M:%S").ok()?;
    let offset = text(Tag::OffsetTimeOriginal)
        .and_then(|o| {
            DateTime::parse_from_str(&format!("2000-01-01T00:00:00{o}"), "%Y-%m-%dT%H:%M:%S%:z")
                .ok()
        })
        .map(|d| *d.offset())
        .unwrap_or(FixedOffset::east_opt(0)?);
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}
