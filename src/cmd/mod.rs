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

/// Exit code of a campaign stopped by the API, or by a failure once calls
/// may have been placed (the outcome file or the summary cannot be
/// written): such a run still ends with its summary.
pub const EXIT_STOPPED: i32 = 3;

/// Checks the whole list once before anything else happens. Refuses an
/// outcome file given as the list (dialing its `to_number` column would call
/// a finished campaign's contacts again) and a list given as `--out`.
pub fn scan_list(
    plan: &crate::campaign::Plan,
) -> anyhow::Result<(crate::contacts::Layout, crate::contacts::ScanStats)> {
    refuse_same_file(plan)?;
    let (layout, stats) = crate::contacts::scan(&plan.contacts, &plan.read)?;
    refuse_outcome_file(plan, &layout)?;
    if stats.records == 0 {
        warn_no_rows(plan);
    }
    Ok((layout, stats))
}

/// Opens the list to stream its rows, with the checks of [`scan_list`] but
/// without its pass over the file: for `validate`, whose own pass meets
/// every fault the scan would.
pub fn open_list(plan: &crate::campaign::Plan) -> anyhow::Result<crate::contacts::RowReader> {
    refuse_same_file(plan)?;
    let rows = crate::contacts::open(&plan.contacts, &plan.read)?;
    refuse_outcome_file(plan, rows.layout())?;
    Ok(rows)
}

/// Refuses a list given as its own outcome file.
fn refuse_same_file(plan: &crate::campaign::Plan) -> anyhow::Result<()> {
    if crate::campaign::same_file(&plan.out, &plan.contacts) {
        anyhow::bail!(
            "the outcome file {} is the contact list itself; choose another --out",
            plan.out.display()
        );
    }
    Ok(())
}

/// Refuses an outcome file given as the list.
fn refuse_outcome_file(
    plan: &crate::campaign::Plan,
    layout: &crate::contacts::Layout,
) -> anyhow::Result<()> {
    if crate::outcome::record::is_outcome_header(&layout.headers) {
        anyhow::bail!(
            "{} is an omnidial outcome file, not a contact list; give the list the \
             campaign was run on (and this file as --out to resume it)",
            plan.contacts.display()
        );
    }
    Ok(())
}

/// Warns about a list with a header and nothing else.
pub fn warn_no_rows(plan: &crate::campaign::Plan) {
    tracing::warn!("{} has a header but no rows", plan.contacts.display());
}

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
