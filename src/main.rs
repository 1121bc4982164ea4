//! The `omnidial` binary: parses flags, sets up logging and the runtime,
//! runs the command, and turns the result into an exit code.

use clap::Parser;
use omnidial::cli::Cli;
use omnidial::cmd::{self, EXIT_UNUSABLE, Failure};

fn main() {
    let cli = Cli::parse();
    omnidial::logging::init(cli.log_format);
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
