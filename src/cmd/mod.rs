//! One file per subcommand. Each returns the exit code of a run that went
//! as far as it could, or an error; [`Failure`] carries an exit code other
//! than the default 2 (unusable input or settings).

pub mod completions;
pub mod config;
pub mod man;
pub mod reconcile;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod validate;

use crate::cli::{Cli, Command};

/// An error that ends the program with a specific exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// The exit code.
    pub code: i32,
    /// What went wrong.
    pub message: String,
}

/// Exit code of an error raised before any call: bad usage, settings or
/// input.
pub const EXIT_UNUSABLE: i32 = 2;

/// Exit code of a campaign stopped by the API.
pub const EXIT_STOPPED: i32 = 3;

/// Runs the parsed command line.
pub async fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(args) => run::execute(args).await,
        Command::Validate(args) => validate::execute(&args.list, &args.report),
        Command::Sandbox(args) => sandbox::execute(args).await,
        Command::Reconcile(args) => reconcile::execute(args).await,
        Command::Report(args) => report::execute(&args),
        Command::Config(args) => config::execute(&args),
        Command::Completions(args) => completions::execute(&args),
        Command::Man(args) => man::execute(&args),
    }
}

/// Writes a command's output to stdout. A closed stdout (`omnidial man |
/// head`) ends the command quietly instead of as an error.
pub fn print_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;

    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(()),
    }
}
