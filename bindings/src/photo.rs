//! Photos: added to drafts only through the pipeline (oriented, downsized, stripped of
//! metadata, under the city's byte budget).

use std::sync::Arc;

use curbside_core::photo::{CaptureTimeSource, ProcessedPhoto};
use curbside_types::{Draft, DraftId, Location, LocationSource};

use crate::sdk::Sdk;
use crate::ApiError;

/// The photo pipeline, for drafts.
#[derive(uniffi::Object)]
pub struct Photos {
    sdk: Arc<Sdk>,
}

impl Photos {
    pub(crate) fn new(sdk: Arc<Sdk>) -> Arc<Self> {
        Arc::new(Photos { sdk })
    }
}

#[uniffi::export]
impl Photos {
    /// Runs the image at `source_path` (JPEG, PNG or WebP; convert HEIC on the platform
    /// first) through the pipeline and adds the result to the draft. The source file is left
    /// as it is; only the processed copy is ever sent.
    pub async fn add(
        &self,
        draft_id: DraftId,
        source_path: String,
    ) -> Result<AddedPhoto, ApiError> {
        let (draft, photo) = self
            .sdk
            .run(move |c| c.add_photo(&draft_id, std::path::Path::new(&source_path)))
            .await?;
        Ok(AddedPhoto::new(draft, photo))
    }

    /// Removes one of the draft's photos (a path from `Draft.fields.photos`), deleting the
    /// processed file when nothing else uses it.
    pub async fn remove(&self, draft_id: DraftId, photo: String) -> Result<Draft, ApiError> {
        self.sdk
            .run(move |c| c.remove_photo(&draft_id, &photo))
            .await
    }
}

/// A photo ready to travel, and what it told about where it was taken.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AddedPhoto {
    /// The draft, with the photo added.
    pub draft: Draft,
    /// The processed JPEG (in the app's photo directory): show it, never edit it.
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
    fn new(draft: Draft, photo: ProcessedPhoto) -> Self {
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
