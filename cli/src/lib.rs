//! `curbside`: Curbside from a terminal or a script, over the same core the apps use.
//!
//! Global options on every command: `--data-dir DIR` and `--json`; the server options
//! (`--server`, `--format`, `--api-key`, ...) on every command that talks to one. Command and
//! option names are a contract that scripts rely on: add freely, rename never.
//!
//! A library with a one-line binary (`main.rs`), so the argument parser can be fuzzed
//! (`tests/fuzz`) as it runs.

mod check;
mod city;
mod demo;
mod drafts;
mod numbers;
mod outbox;
mod output;
mod photo;
mod server;
mod texts;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    #[command(flatten)]
    server: server::ServerArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create, list, show, update and delete report drafts.
    #[command(subcommand)]
    Draft(drafts::DraftCommand),
    /// Read a server's discovery document (URL ending in discovery.json or discovery.xml).
    Discover {
        /// The discovery URL.
        url: String,
    },
    /// List the services of the server.
    Services,
    /// Show a service's definition (its extra questions).
    Service {
        /// The service code.
        code: String,
    },
    /// List requests on the server.
    Requests(server::RequestsArgs),
    /// Show one request on the server.
    Request {
        /// The request's id.
        id: String,
    },
    /// Resolve a batch POST's token to a request id.
    Token {
        /// The token.
        token: String,
    },
    /// A conformance report for a live endpoint: each spec point pass / fail / quirk, and the
    /// profile quirks it recommends.
    Check(check::CheckArgs),
    /// Run the sandbox Open311 server on loopback until stopped.
    Sandbox(server::SandboxArgs),
    /// Save a report and queue it for the server; prints its local id.
    Report(outbox::ReportArgs),
    /// List submitted reports and their states.
    Outbox,
    /// Send what is due (within the deadline) and refresh the city's status of sent reports.
    Sync {
        /// Seconds to spend at most (up to a day).
        #[arg(long, default_value_t = 60.0, allow_negative_numbers = true, value_parser = numbers::deadline)]
        deadline: f64,
        /// Seconds to wait after a first failure (doubling up to --retry-max; 1 s to a week).
        #[arg(long, default_value_t = 30.0, allow_negative_numbers = true, value_parser = numbers::backoff)]
        retry_initial: f64,
        /// Longest wait between attempts, in seconds (1 s to a week).
        #[arg(long, default_value_t = 18000.0, allow_negative_numbers = true, value_parser = numbers::backoff)]
        retry_max: f64,
        /// Seconds between a search that found nothing and the one that confirms it, before
        /// anything is posted again (0.1 s to an hour).
        #[arg(long, default_value_t = 120.0, allow_negative_numbers = true, value_parser = numbers::confirm_wait)]
        confirm_wait: f64,
    },
    /// A report's state and history, or every report's state.
    Status {
        /// The report's id.
        id: Option<String>,
    },
    /// Withdraw a report for good, wherever it waits: it is never sent again.
    Withdraw {
        /// The report's id.
        id: String,
    },
    /// Say a report did arrive, with the city's id for it: sent, and followed from then on.
    Confirm {
        /// The report's id.
        id: String,
        /// The city's id of the request (from its site or its e-mail).
        #[arg(long = "request-id", value_name = "ID")]
        request_id: String,
    },
    /// Send a report that waits for the user again (after "not found" or a possible duplicate,
    /// only when the user chooses to).
    Retry {
        /// The report's id.
        id: String,
    },
    /// Remove every report, draft, photo and cached request from this device. Refused while
    /// reports are unsent, which it names, unless --including-unsent.
    ForgetEverything {
        /// Also remove reports not yet sent (they will never reach the city).
        #[arg(long)]
        including_unsent: bool,
    },
    /// Walk a report with a photo from a dead zone to confirmed, against a sandbox on loopback.
    Demo,
    /// Run the photo pipeline alone: orient, downsize, strip metadata, meet the byte budget.
    Photo(photo::PhotoArgs),
    /// Write a photo-like test JPEG with EXIF orientation and GPS (no camera needed).
    SamplePhoto(photo::SampleArgs),
    /// What must change before a draft can be submitted.
    Validate {
        /// The draft's id.
        id: String,
    },
}

/// Runs the command line this process was started with.
pub fn main() -> ExitCode {
    // A closed pipe (`curbside outbox | head`) ends the program quietly, as Unix tools do,
    // instead of a panic in println!.
    #[cfg(unix)]
    // SAFETY: restoring the default action of one signal before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return argument_error(e),
    };
    let out = Output { json: cli.json };
    let data_dir = || cli.data_dir.clone().unwrap_or_else(default_data_dir);
    let result = match cli.command {
        Command::Draft(command) => drafts::run(command, data_dir(), &cli.server, &out),
        Command::Report(args) => outbox::report(args, data_dir(), &cli.server, &out),
        Command::Outbox => outbox::outbox(data_dir(), &out),
        Command::Sync {
            deadline,
            retry_initial,
            retry_max,
            confirm_wait,
        } => outbox::sync(
            deadline,
            (retry_initial, retry_max, confirm_wait),
            data_dir(),
            &cli.server,
            &out,
        ),
        Command::Status { id } => outbox::status(id, data_dir(), &out),
        Command::Withdraw { id } => outbox::act(outbox::Act::Withdraw, &id, data_dir(), &out),
        Command::Confirm { id, request_id } => {
            outbox::act(outbox::Act::Confirm(request_id), &id, data_dir(), &out)
        }
        Command::Retry { id } => outbox::act(outbox::Act::Retry, &id, data_dir(), &out),
        Command::ForgetEverything { including_unsent } => {
            outbox::forget_everything(including_unsent, data_dir(), &out)
        }
        Command::Demo => demo::run(cli.data_dir.clone()),
        Command::Photo(args) => photo::run(args, &out),
        Command::Validate { id } => city::validate(&id, data_dir(), &cli.server, &out),
        Command::Requests(args) if args.near.is_some() => {
            city::nearby(args, data_dir(), &cli.server, &out)
        }
        Command::Requests(args) if args.bbox.is_some() => {
            city::in_box(args, data_dir(), &cli.server, &out)
        }
        Command::SamplePhoto(args) => photo::sample(args),
        Command::Check(args) => check::run(args, data_dir(), &cli.server, &out),
        command => server::run(command, &cli.server, &out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            out.error(&error);
            ExitCode::FAILURE
        }
    }
}

/// Parses a command line (the program name first) as `curbside` would, without running it.
pub fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<(), clap::Error> {
    Cli::try_parse_from(args).map(drop)
}

/// A command line that cannot be understood: clap's words, as JSON under `--json` (the form
/// scripts read every other error in), exit status 2; help and version print as usual.
fn argument_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let wants_json = std::env::args().any(|a| a == "--json");
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) || !wants_json
    {
        error.exit();
    }
    let message = error.render().to_string();
    let first = message
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ");
    // The argument at fault, as a field name (`--retry-initial <RETRY_INITIAL>`: `retry_initial`).
    let field = match error.get(clap::error::ContextKind::InvalidArg) {
        Some(clap::error::ContextValue::String(arg)) => arg
            .split_whitespace()
            .next()
            .map(|a| a.trim_start_matches('-').replace('-', "_")),
        _ => None,
    };
    let body = serde_json::json!({ "error": { "kind": "invalid_input", "field": field, "message": first, "usage": message } });
    eprintln!("{body}");
    ExitCode::from(2)
}

/// The platform's data directory for Curbside (`~/.local/share/curbside` on Linux).
fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("dev", "curbside", "curbside")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".curbside"))
}
