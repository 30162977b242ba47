//! The `curbside` command: everything is in the library (`lib.rs`).

fn main() -> std::process::ExitCode {
    curbside_cli::main()
}
