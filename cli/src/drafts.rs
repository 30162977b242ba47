//! `curbside draft ...`: report drafts in the local database.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use curbside_core::{DraftFields, DraftId, Location, LocationSource};

use crate::output::Output;
use crate::server::ServerArgs;

#[derive(Subcommand)]
pub(crate) enum DraftCommand {
    /// Save a new draft.
    Create(DraftArgs),
    /// List drafts, newest first.
    List,
    /// Show one draft.
    Show {
        /// The draft's id.
        id: String,
    },
    /// Change a draft: options given replace those fields, others are kept.
    Update {
        /// The draft's id.
        id: String,
        #[command(flatten)]
        fields: DraftArgs,
        /// Remove the draft's location.
        #[arg(long, conflicts_with_all = ["lat", "lon"])]
        clear_location: bool,
    },
    /// Delete a draft.
    Delete {
        /// The draft's id.
        id: String,
    },
}

/// Draft fields as options.
#[derive(Args)]
pub(crate) struct DraftArgs {
    /// The city's service code (such as `pothole`).
    #[arg(long = "service", value_name = "CODE")]
    service_code: Option<String>,
    /// Latitude in degrees (with --lon).
    #[arg(long, requires = "lon", allow_negative_numbers = true, value_parser = crate::numbers::latitude)]
    lat: Option<f64>,
    /// Longitude in degrees (with --lat).
    #[arg(long, requires = "lat", allow_negative_numbers = true, value_parser = crate::numbers::longitude)]
    lon: Option<f64>,
    /// Accuracy of the position in metres.
    #[arg(long, value_name = "METRES", requires = "lat", allow_negative_numbers = true, value_parser = crate::numbers::accuracy)]
    accuracy: Option<f64>,
    /// How the position was obtained: gps, network, manual_pin, photo_exif, address.
    #[arg(long, default_value = "manual_pin", requires = "lat")]
    source: String,
    /// When the position was taken (RFC 3339) [default: now].
    #[arg(long, value_name = "TIME", requires = "lat")]
    located_at: Option<DateTime<Utc>>,
    /// What the problem is.
    #[arg(long)]
    description: Option<String>,
}

impl DraftArgs {
    /// The location given by the options, if any.
    fn location(&self) -> curbside_core::Result<Option<Location>> {
        let (Some(latitude), Some(longitude)) = (self.lat, self.lon) else {
            return Ok(None);
        };
        Ok(Some(Location {
            latitude,
            longitude,
            accuracy_m: self.accuracy,
            source: LocationSource::parse(&self.source)?,
            captured_at: self.located_at.unwrap_or_else(Utc::now),
        }))
    }

    /// `base` with the fields these options give replaced.
    fn apply_to(self, mut base: DraftFields) -> curbside_core::Result<DraftFields> {
        if let Some(location) = self.location()? {
            base.location = Some(location);
        }
        if let Some(code) = self.service_code {
            base.service_code = Some(code);
        }
        if let Some(description) = self.description {
            base.description = description;
        }
        Ok(base)
    }
}

pub(crate) fn run(
    command: DraftCommand,
    data_dir: PathBuf,
    server: &ServerArgs,
    out: &Output,
) -> curbside_core::Result<()> {
    let curbside = crate::output::open(data_dir)?;
    // With --profile, new drafts are for that city (validated against its rules).
    let city = match server.city()? {
        Some(_) => Some(server.load_city(&curbside)?.id),
        None => None,
    };
    match command {
        DraftCommand::Create(args) => {
            let base = DraftFields {
                profile_id: city,
                ..DraftFields::default()
            };
            out.draft(&curbside.create_draft(args.apply_to(base)?)?)
        }
        DraftCommand::List => out.drafts(&curbside.list_drafts()?),
        DraftCommand::Show { id } => out.draft(&curbside.get_draft(&DraftId::parse(&id)?)?),
        DraftCommand::Update {
            id,
            fields,
            clear_location,
        } => {
            let id = DraftId::parse(&id)?;
            let mut current = curbside.get_draft(&id)?.fields;
            if clear_location {
                current.location = None;
            }
            out.draft(&curbside.update_draft(&id, fields.apply_to(current)?)?)
        }
        DraftCommand::Delete { id } => {
            let id = DraftId::parse(&id)?;
            curbside.delete_draft(&id)?;
            out.deleted(&id)
        }
    }
    Ok(())
}
