//! A photo added to a draft, as one record: the draft and what the pipeline made.

use curbside_core::photo::{CaptureTimeSource, ProcessedPhoto};
use curbside_types::{Draft, Location, LocationSource};

/// A photo ready to travel, and what it told about where it was taken.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AddedPhoto {
    /// The draft, with the photo added.
    pub draft: Draft,
    /// The processed JPEG's path (in the app's photo directory).
    pub path: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size in bytes.
    pub bytes: u64,
    /// JPEG quality used.
    pub quality: u8,
    /// True when the original's colour profile (such as Display P3) was kept.
    pub color_profile_kept: bool,
    /// Where and when the photo was taken (from EXIF), to offer when the device has no fix.
    pub location_candidate: Option<Location>,
    /// How the candidate's time is known; `DeviceZone` is worth confirming with the user.
    pub location_time_source: Option<CaptureTimeSource>,
}

impl AddedPhoto {
    pub(crate) fn new(draft: Draft, photo: ProcessedPhoto) -> Self {
        Self {
            draft,
            path: photo.path.display().to_string(),
            width: photo.width,
            height: photo.height,
            bytes: photo.bytes as u64,
            quality: photo.quality,
            color_profile_kept: photo.color_profile_kept,
            location_time_source: photo.location.as_ref().and_then(|l| l.captured_at_source),
            location_candidate: photo.location.map(|l| Location {
                latitude: l.latitude,
                longitude: l.longitude,
                accuracy_m: l.accuracy_m,
                source: LocationSource::PhotoExif,
                captured_at: l.captured_at.unwrap_or_else(chrono::Utc::now),
            }),
        }
    }
}
