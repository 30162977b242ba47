//! Drafts: what the user is still writing, saved on every change.

use curbside_store::drafts;

use crate::{Curbside, Draft, DraftEdit, DraftFields, DraftId, Error, Result};

impl Curbside {
    /// Validates `fields` and saves them as a new draft. Photos are added afterwards, through
    /// the pipeline ([`Curbside::add_photo`]): a draft never starts with any.
    pub fn create_draft(&self, fields: DraftFields) -> Result<Draft> {
        if !fields.photos.is_empty() {
            return Err(Error::invalid("photos", "are added with add_photo"));
        }
        let draft = Draft::new(DraftId::new(), fields.normalized()?, chrono::Utc::now());
        self.store.write(|tx| drafts::insert(tx, &draft))?;
        Ok(draft)
    }

    /// Applies `edits` to a draft, in order, in one transaction: each saves only its own
    /// field, so an autosave never undoes another change (a photo added meanwhile stays).
    pub fn edit_draft(&self, id: &DraftId, edits: Vec<DraftEdit>) -> Result<Draft> {
        self.store.write(|tx| {
            let mut draft = drafts::get(tx, id)?.ok_or(Error::DraftNotFound)?;
            for edit in edits {
                draft.fields.apply(edit);
            }
            draft.fields = draft.fields.normalized()?;
            draft.updated_at = curbside_types::to_millis(chrono::Utc::now());
            drafts::update(tx, &draft)?;
            Ok(draft)
        })
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

    /// Replaces the editable fields of a draft (the whole form, as the CLI sends it). Its
    /// photos are kept: they change only through the pipeline's calls.
    pub fn update_draft(&self, id: &DraftId, fields: DraftFields) -> Result<Draft> {
        let mut fields = fields.normalized()?;
        self.store.write(|tx| {
            let mut draft = drafts::get(tx, id)?.ok_or(Error::DraftNotFound)?;
            fields.photos = std::mem::take(&mut draft.fields.photos);
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
