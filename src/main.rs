//! The `omnidial` binary: parses flags, sets up logging and the runtime,
//! runs the command, and turns the result into an exit code.

use clap::Parser;
use omnidial::cli::{Cli, Command};
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
///
/// A campaign runs on one thread: its tasks mostly wait on the network,
/// and on one thread they hand work to each other without waking another
/// thread, which at full speed cost more CPU than the requests. The list
/// reader and `--fsync` syncs have threads of their own. The sandbox serves
/// many clients at once and gets a thread per core.
fn run(cli: Cli) -> anyhow::Result<i32> {
    let mut builder = match cli.command {
        Command::Run(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = builder.enable_all().build()?;
    runtime.block_on(cmd::dispatch(cli))
}
