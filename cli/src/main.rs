//! `curbside`: Curbside from a terminal or a script, over the same core the apps use.
//!
//! Global options on every command: `--data-dir DIR` and `--json`. Command and option names
//! are a contract that scripts rely on: add freely, rename never.

mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use curbside_core::{Curbside, DraftFields, DraftId, Location, LocationSource};

use output::Output;

/// Offline-first Open311 reporting.
#[derive(Parser)]
#[command(name = "curbside", version)]
struct Cli {
    /// Where Curbside keeps its database [default: the platform's data directory].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create, list, show, update and delete report drafts.
    #[command(subcommand)]
    Draft(DraftCommand),
}

#[derive(Subcommand)]
enum DraftCommand {
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
struct DraftArgs {
    /// The city's service code (such as `pothole`).
    #[arg(long = "service", value_name = "CODE")]
    service_code: Option<String>,
    /// Latitude in degrees (with --lon).
    #[arg(long, requires = "lon", allow_negative_numbers = true)]
    lat: Option<f64>,
    /// Longitude in degrees (with --lat).
    #[arg(long, requires = "lat", allow_negative_numbers = true)]
    lon: Option<f64>,
    /// Accuracy of the position in metres.
    #[arg(long, value_name = "METRES", requires = "lat")]
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output { json: cli.json };
    match run(cli.command, cli.data_dir, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            out.error(&error);
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, data_dir: Option<PathBuf>, out: &Output) -> curbside_core::Result<()> {
    let curbside = Curbside::open(data_dir.unwrap_or_else(default_data_dir))?;
    match command {
        Command::Draft(DraftCommand::Create(args)) => {
            out.draft(&curbside.create_draft(args.apply_to(DraftFields::default())?)?)
        }
        Command::Draft(DraftCommand::List) => out.drafts(&curbside.list_drafts()?),
        Command::Draft(DraftCommand::Show { id }) => {
            out.draft(&curbside.get_draft(&DraftId::parse(&id)?)?)
        }
        Command::Draft(DraftCommand::Update {
            id,
            fields,
            clear_location,
        }) => {
            let id = DraftId::parse(&id)?;
            let mut current = curbside.get_draft(&id)?.fields;
            if clear_location {
                current.location = None;
            }
            out.draft(&curbside.update_draft(&id, fields.apply_to(current)?)?)
        }
        Command::Draft(DraftCommand::Delete { id }) => {
            let id = DraftId::parse(&id)?;
            curbside.delete_draft(&id)?;
            out.deleted(&id)
        }
    }
    Ok(())
}

/// The platform's data directory for Curbside (`~/.local/share/curbside` on Linux).
fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("dev", "curbside", "curbside")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".curbside"))
}
