//! Photos that travel: a camera file becomes an upload-ready JPEG: oriented, downsized,
//! stripped of every metadata block, under a byte budget, fast and memory-lean.
//!
//! JPEG goes through libjpeg-turbo (TurboJPEG 3, built from source by `turbojpeg-sys`) with a
//! DCT-scaled decode: never more pixels than the target needs, so a 48 MP photo never becomes
//! a 146 MiB buffer. PNG and WebP go through the `image` crate with allocation limits. The
//! rest works on the YCbCr planes JPEG stores: a streamed Lanczos3 of our own per plane
//! (`resize.rs`) that also turns it upright (each row written where it shows: no second
//! copy), and a baseline 4:2:0 TurboJPEG encode from the planes, searched down by a secant on
//! ln(size) only when over budget.

mod exif;
mod markers;
mod pipeline;
mod resize;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use markers::marker_list;
pub use pipeline::process;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

/// What the app wants from its photos; the defaults fit one bar of signal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PhotoProfile {
    /// Longest edge of the output in pixels (smaller photos are not enlarged).
    #[cfg_attr(feature = "uniffi", uniffi(default = 2048))]
    pub max_edge: u32,
    /// JPEG quality tried first.
    #[cfg_attr(feature = "uniffi", uniffi(default = 80))]
    pub quality: u8,
    /// Largest output in bytes.
    #[cfg_attr(feature = "uniffi", uniffi(default = 800000))]
    pub budget_bytes: u64,
    /// Lowest quality before the size is stepped down instead.
    #[cfg_attr(feature = "uniffi", uniffi(default = 55))]
    pub quality_floor: u8,
    /// Photos per report.
    #[cfg_attr(feature = "uniffi", uniffi(default = 3))]
    pub max_photos: u32,
    /// Largest input accepted, in pixels (decompression bombs declare billions).
    #[cfg_attr(feature = "uniffi", uniffi(default = 100000000))]
    pub max_input_pixels: u64,
}

impl PhotoProfile {
    /// Checks every limit, naming the field at fault: a profile that cannot work is refused
    /// when it is loaded, not later as "the image is damaged".
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(64..=16_384).contains(&self.max_edge) {
            return Err(("max_edge", "must be between 64 and 16384 pixels".into()));
        }
        if !(1..=100).contains(&self.quality) {
            return Err(("quality", "must be between 1 and 100".into()));
        }
        if !(1..=self.quality).contains(&self.quality_floor) {
            return Err(("quality_floor", "must be between 1 and the quality".into()));
        }
        if self.budget_bytes < 10_000 {
            return Err(("budget_bytes", "must be at least 10000 bytes".into()));
        }
        if !(1..=20).contains(&self.max_photos) {
            return Err(("max_photos", "must be between 1 and 20".into()));
        }
        if self.max_input_pixels == 0 {
            return Err(("max_input_pixels", "must be more than 0".into()));
        }
        Ok(())
    }
}

impl Default for PhotoProfile {
    fn default() -> Self {
        PhotoProfile {
            max_edge: 2048,
            quality: 80,
            budget_bytes: 800_000,
            quality_floor: 55,
            max_photos: 3,
            max_input_pixels: 250_000_000,
        }
    }
}

/// Where and when a photo was taken, from its EXIF: offered as the report's location when the
/// device has no fix (a photo taken at the pothole, sent from home).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoLocation {
    /// Degrees north.
    pub latitude: f64,
    /// Degrees east.
    pub longitude: f64,
    /// The GPS's own error estimate in metres, when recorded.
    pub accuracy_m: Option<f64>,
    /// When the photo was taken, when recorded.
    pub captured_at: Option<DateTime<Utc>>,
    /// How `captured_at` is known.
    pub captured_at_source: Option<CaptureTimeSource>,
}

/// How a photo's capture time is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum CaptureTimeSource {
    /// The camera's local time with the offset it recorded (OffsetTimeOriginal): exact.
    RecordedOffset,
    /// The GPS receiver's UTC clock (GPSDateStamp and GPSTimeStamp): exact.
    GpsClock,
    /// The camera's local time read in the device's current zone: right unless the photo was
    /// taken in another zone; worth confirming with the user.
    DeviceZone,
}

/// An upload-ready photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessedPhoto {
    /// The JPEG, named by its content hash, in the app's photo directory.
    pub path: PathBuf,
    /// Width in pixels (after orientation).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size in bytes.
    pub bytes: usize,
    /// The JPEG quality used.
    pub quality: u8,
    /// The input's EXIF position and time, if it had them (never written to the output).
    pub location: Option<PhotoLocation>,
    /// True when the input's colour profile (such as Display P3) was carried over.
    pub color_profile_kept: bool,
}

/// Why a photo could not be used. Nothing else in the report is affected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhotoError {
    /// The file is not a JPEG, PNG or WebP image.
    #[error(
        "not a supported image (JPEG, PNG or WebP); HEIC must be converted by the platform first"
    )]
    NotAnImage,
    /// The image declares more pixels than allowed (a decompression bomb or an extreme camera).
    #[error("the image is too large ({width}x{height} pixels; at most {limit} pixels)")]
    TooLarge {
        /// Declared width.
        width: u64,
        /// Declared height.
        height: u64,
        /// The profile's limit.
        limit: u64,
    },
    /// A valid image of a kind the pipeline does not take; the reason says what to do.
    #[error("unsupported photo: {0}")]
    Unsupported(String),
    /// The image data is damaged or truncated.
    #[error("the image is damaged: {0}")]
    Corrupt(String),
    /// The file cannot be read or the result written.
    #[error("photo file: {0}")]
    Io(String),
    /// The photo settings cannot work (a quality of 0, an edge of 0 pixels).
    #[error("photo settings: {field} {reason}")]
    Settings {
        /// The setting at fault.
        field: &'static str,
        /// What it must be.
        reason: String,
    },
}
