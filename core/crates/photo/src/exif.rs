//! What Curbside reads from EXIF: orientation, GPS position and capture time. Never copied to
//! the output.

use std::io::Cursor;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use exif::{In, Reader, Tag, Value};

use super::{CaptureTimeSource, PhotoLocation};

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
    let captured = captured_at(&exif);
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
                captured_at: captured.map(|(t, _)| t),
                captured_at_source: captured.map(|(_, source)| source),
            })
        }
        _ => None,
    };
    ExifInfo {
        orientation,
        location,
    }
}

/// When the photo was taken, and how that is known: DateTimeOriginal with the offset the
/// camera recorded (OffsetTimeOriginal), else the GPS receiver's UTC clock (GPSDateStamp and
/// GPSTimeStamp), else DateTimeOriginal in the device's zone. Android cameras often record no
/// offset; reading their local time as UTC would be off by the zone.
fn captured_at(exif: &exif::Exif) -> Option<(DateTime<Utc>, CaptureTimeSource)> {
    let text = |tag: Tag| -> Option<String> {
        match &exif.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(parts) => parts
                .first()
                .map(|p| String::from_utf8_lossy(p).trim().to_string()),
            _ => None,
        }
    };
    let local = text(Tag::DateTimeOriginal)
        .and_then(|t| NaiveDateTime::parse_from_str(&t, "%Y:%m:%d %H:%M:%S").ok());
    let offset = text(Tag::OffsetTimeOriginal).and_then(|o| {
        DateTime::parse_from_str(&format!("2000-01-01T00:00:00{o}"), "%Y-%m-%dT%H:%M:%S%:z")
            .ok()
            .map(|d| *d.offset())
    });
    let gps = (|| {
        let date = NaiveDate::parse_from_str(&text(Tag::GPSDateStamp)?, "%Y:%m:%d").ok()?;
        let Value::Rational(hms) = &exif.get_field(Tag::GPSTimeStamp, In::PRIMARY)?.value else {
            return None;
        };
        if hms.len() < 3 || hms.iter().any(|p| p.denom == 0) {
            return None;
        }
        let seconds = hms[0].to_f64() * 3600.0 + hms[1].to_f64() * 60.0 + hms[2].to_f64();
        if !(0.0..86_400.0).contains(&seconds) {
            return None;
        }
        let midnight = date.and_hms_opt(0, 0, 0)?.and_utc();
        Some(midnight + chrono::Duration::milliseconds((seconds * 1000.0).round() as i64))
    })();
    resolve_capture_time(local, offset, gps, &chrono::Local)
}

/// The rules of [`captured_at`], with the device's zone given (tests use a fixed one).
pub(crate) fn resolve_capture_time<Z: TimeZone>(
    local: Option<NaiveDateTime>,
    offset: Option<FixedOffset>,
    gps: Option<DateTime<Utc>>,
    device_zone: &Z,
) -> Option<(DateTime<Utc>, CaptureTimeSource)> {
    if let (Some(local), Some(offset)) = (local, offset) {
        if let Some(t) = offset.from_local_datetime(&local).single() {
            return Some((t.with_timezone(&Utc), CaptureTimeSource::RecordedOffset));
        }
    }
    if let Some(t) = gps {
        return Some((t, CaptureTimeSource::GpsClock));
    }
    let t = device_zone.from_local_datetime(&local?).earliest()?;
    Some((t.with_timezone(&Utc), CaptureTimeSource::DeviceZone))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn the_recorded_offset_then_the_gps_clock_then_the_device_zone() {
        let local = Some(at("2026-11-26 17:45:10"));
        let new_york = FixedOffset::west_opt(5 * 3600).unwrap();
        let helsinki = FixedOffset::east_opt(2 * 3600).unwrap();
        let gps = Some(at("2026-11-26 22:45:09").and_utc());

        let (t, source) = resolve_capture_time(local, Some(new_york), gps, &helsinki).unwrap();
        assert_eq!(
            (t.to_rfc3339(), source),
            (
                "2026-11-26T22:45:10+00:00".into(),
                CaptureTimeSource::RecordedOffset
            )
        );

        let (t, source) = resolve_capture_time(local, None, gps, &helsinki).unwrap();
        assert_eq!(
            (t.to_rfc3339(), source),
            (
                "2026-11-26T22:45:09+00:00".into(),
                CaptureTimeSource::GpsClock
            ),
            "no offset: the GPS clock, not UTC"
        );

        let (t, source) = resolve_capture_time(local, None, None, &helsinki).unwrap();
        assert_eq!(
            (t.to_rfc3339(), source),
            (
                "2026-11-26T15:45:10+00:00".into(),
                CaptureTimeSource::DeviceZone
            ),
            "neither: the device's zone, and it says so"
        );

        assert_eq!(resolve_capture_time(None, None, None, &helsinki), None);
    }
}
