//! Photos on drafts: each added photo goes through the pipeline into the app's photo
//! directory (`DATA_DIR/photos`) and its path joins the draft.

use std::path::{Path, PathBuf};

use curbside_store::drafts;

use crate::photo::{process, PhotoProfile, ProcessedPhoto};
use crate::{Curbside, Draft, DraftId, Error, Result};

impl Curbside {
    /// The directory the processed photos live in.
    pub fn photo_dir(&self) -> PathBuf {
        self.data_dir().join("photos")
    }

    /// Replaces the photo profile (a city's limits).
    pub fn set_photo_profile(&self, profile: PhotoProfile) {
        *self.photo_profile.lock().unwrap() = profile;
    }

    /// The photo profile in use.
    pub fn photo_profile(&self) -> PhotoProfile {
        *self.photo_profile.lock().unwrap()
    }

    /// Runs the photo at `input` (a file the app passes by path) through the pipeline and adds
    /// the result to the draft. Returns the draft and the processed photo, whose `location` is
    /// a candidate for the report's position. The input file is left as it is.
    pub fn add_photo(&self, draft_id: &DraftId, input: &Path) -> Result<(Draft, ProcessedPhoto)> {
        let current = self.get_draft(draft_id)?;
        // The draft's city decides the photo limits; without one, the app's profile does.
        let profile = match &current.fields.profile_id {
            Some(id) => self
                .profile(id)
                .map(|p| p.photos)
                .unwrap_or_else(|_| self.photo_profile()),
            None => self.photo_profile(),
        };
        if current.fields.photos.len() >= profile.max_photos as usize {
            return Err(Error::invalid(
                "photos",
                format!("at most {} photos per report", profile.max_photos),
            ));
        }
        let photo = process(input, &self.photo_dir(), &profile)?;
        let path = photo.path.display().to_string();
        let draft = self.store.write(|tx| {
            let mut draft = drafts::get(tx, draft_id)?.ok_or(Error::DraftNotFound)?;
            if !draft.fields.photos.contains(&path) {
                draft.fields.photos.push(path.clone());
            }
            draft.updated_at = curbside_types::to_millis(chrono::Utc::now());
            drafts::update(tx, &draft)?;
            Ok(draft)
        })?;
        Ok((draft, photo))
    }

    /// Removes a photo from a draft, and deletes its file when nothing else uses it. Only
    /// files in the photo directory are ever deleted.
    pub fn remove_photo(&self, draft_id: &DraftId, path: &str) -> Result<Draft> {
        let draft = self.store.write(|tx| {
            let mut draft = drafts::get(tx, draft_id)?.ok_or(Error::DraftNotFound)?;
            let before = draft.fields.photos.len();
            draft.fields.photos.retain(|p| p != path);
            if draft.fields.photos.len() == before {
                return Err(Error::invalid("photo", "is not one of this draft's photos"));
            }
            draft.updated_at = curbside_types::to_millis(chrono::Utc::now());
            drafts::update(tx, &draft)?;
            Ok(draft)
        })?;
        self.forget_photos(&[path.to_string()])?;
        Ok(draft)
    }
}
