//! `curbside`: Curbside from a terminal or a script, over the same core the apps use.
//!
//! Global options on every command: `--data-dir DIR` and `--json`; the server options
//! (`--server`, `--format`, `--api-key`, ...) on every command that talks to one. Command and
//! option names are a contract that scripts rely on: add freely, rename never.

mod drafts;
mod output;
mod server;

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
    /// Run the sandbox Open311 server on loopback until stopped.
    Sandbox(server::SandboxArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output { json: cli.json };
    let result = match cli.command {
        Command::Draft(command) => {
            drafts::run(command, cli.data_dir.unwrap_or_else(default_data_dir), &out)
        }
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

/// The platform's data directory for Curbside (`~/.local/share/curbside` on Linux).
fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("dev", "curbside", "curbside")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".curbside"))
}
