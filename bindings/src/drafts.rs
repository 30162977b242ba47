//! Drafts: what the user is still writing, saved field by field.

use std::sync::Arc;

use curbside_core::city::FieldError;
use curbside_types::{Draft, DraftEdit, DraftFields, DraftId};

use crate::sdk::Sdk;
use crate::ApiError;

/// The drafts of this device, newest first. Save every change as the user makes it
/// (`edit`): each edit saves only its own field, so nothing the user did is undone.
#[derive(uniffi::Object)]
pub struct Drafts {
    sdk: Arc<Sdk>,
}

impl Drafts {
    pub(crate) fn new(sdk: Arc<Sdk>) -> Arc<Self> {
        Arc::new(Drafts { sdk })
    }
}

#[uniffi::export]
impl Drafts {
    /// Saves a new draft with `edits` applied (none for an empty one). Fields may be
    /// incomplete; what is given must be valid.
    pub async fn create(&self, edits: Vec<DraftEdit>) -> Result<Draft, ApiError> {
        self.sdk
            .run(move |c| {
                let mut fields = DraftFields::default();
                edits.into_iter().for_each(|e| fields.apply(e));
                c.create_draft(fields)
            })
            .await
    }

    /// All drafts, newest first.
    pub async fn list(&self) -> Result<Vec<Draft>, ApiError> {
        self.sdk.run(|c| c.list_drafts()).await
    }

    /// One draft.
    pub async fn get(&self, id: DraftId) -> Result<Draft, ApiError> {
        self.sdk.run(move |c| c.get_draft(&id)).await
    }

    /// Applies `edits` in order, in one save, and returns the draft as saved.
    pub async fn edit(&self, id: DraftId, edits: Vec<DraftEdit>) -> Result<Draft, ApiError> {
        self.sdk.run(move |c| c.edit_draft(&id, edits)).await
    }

    /// Deletes a draft and its photos.
    pub async fn delete(&self, id: DraftId) -> Result<(), ApiError> {
        self.sdk.run(move |c| c.delete_draft(&id)).await
    }

    /// What must change before the draft can be submitted (empty when ready), checked
    /// offline against its city and the service's questions: one issue code per field.
    pub async fn validate(&self, id: DraftId) -> Result<Vec<FieldError>, ApiError> {
        self.sdk.run(move |c| c.validate_draft(&id)).await
    }
}
