//! Drafts: what the user is still writing, saved on every change.

use curbside_store::drafts;

use crate::{Curbside, Draft, DraftFields, DraftId, Error, Result};

impl Curbside {
    /// Validates `fields` and saves them as a new draft.
    pub fn create_draft(&self, fields: DraftFields) -> Result<Draft> {
        let draft = Draft::new(DraftId::new(), fields.normalized()?, chrono::Utc::now());
        self.store.write(|tx| drafts::insert(tx, &draft))?;
        Ok(draft)
    }

    /// All drafts, newest first.
    pub fn list_drafts(&self) -> Result<Vec<Draft>> {
        self.store.read(drafts::list)
    }

    /// One draft by id.
    pub fn get_draft(&self, id: &DraftId) -> Result<Draft> {
        self.store
            .read(|conn| drafts::get(conn, id))?
            .ok_or(Error::DraftNotFound)
    }

    /// Replaces the editable fields of a draft (the app sends the whole form, as on autosave).
    pub fn update_draft(&self, id: &DraftId, fields: DraftFields) -> Result<Draft> {
        let mut fields = fields.normalized()?;
        self.store.write(|tx| {
            let mut draft = drafts::get(tx, id)?.ok_or(Error::DraftNotFound)?;
            // Apps send the form back without the definition it was filled against: keep it.
            if fields.definition.is_none() && fields.service_code == draft.fields.service_code {
                fields.definition = draft.fields.definition.take();
            }
            draft.fields = fields;
            draft.updated_at = curbside_types::to_millis(chrono::Utc::now());
            drafts::update(tx, &draft)?;
            Ok(draft)
        })
    }

    /// Deletes a draft; an unknown id is an error, so a UI never believes it deleted something.
    /// Its processed photos go with it, unless something else still refers to them.
    pub fn delete_draft(&self, id: &DraftId) -> Result<()> {
        let photos = self.store.write(|tx| {
            let draft = drafts::get(tx, id)?.ok_or(Error::DraftNotFound)?;
            drafts::delete(tx, id)?;
            Ok(draft.fields.photos)
        })?;
        self.forget_photos(&photos)
    }
}
