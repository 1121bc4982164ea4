//! The `omnidial` binary: parses flags, sets up logging and the runtime,
//! runs the command, and turns the result into an exit code.

use std::io::IsTerminal;

use clap::Parser;
use omnidial::cli::Cli;
use omnidial::cmd::{self, EXIT_UNUSABLE, Failure};
use omnidial::progress::LogWriter;

fn main() {
    let cli = Cli::parse();
    init_logging();
    let code = match run(cli) {
        Ok(code) => code,
        Err(err) => {
            omnidial::progress::say(&format!("omnidial: {err:#}"));
            err.downcast_ref::<Failure>()
                .map(|f| f.code)
                .unwrap_or(EXIT_UNUSABLE)
        }
    };
    std::process::exit(code);
}

/// Starts the runtime and runs the command on it.
fn run(cli: Cli) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(cmd::dispatch(cli))
}

/// Logs go to stderr, at `RUST_LOG` (default info), coloured only on a
/// terminal and never with `NO_COLOR`.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(LogWriter)
        .with_ansi(colour)
        .with_target(false)
        .init();
}
