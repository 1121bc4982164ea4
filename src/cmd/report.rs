//! `omnidial report`: summarizes an outcome file, finished or still being
//! written, as tables or as JSON. Reads only; the campaign may keep running.

use std::path::PathBuf;

use clap::Args;

use crate::cli::Format;
use crate::report;

/// Examples for `report --help`.
const EXAMPLES: &str = "\
Examples:
  omnidial report contacts.outcome.csv
  omnidial report contacts.outcome.csv --format json | jq .by_status";

/// `omnidial report`.
#[derive(Debug, Clone, Args)]
#[command(after_help = EXAMPLES)]
pub struct CampaignReportArgs {
    /// The outcome file (finished, or being written by a run).
    pub outcomes: PathBuf,

    /// Key contacts by number and row, as `allow_duplicates` does.
    ///
    /// Give it when the campaign dialed repeated numbers on purpose;
    /// otherwise two rows with one number count as one contact, as the
    /// run itself counts them. Off by default.
    #[arg(long)]
    pub allow_duplicates: bool,

    /// Output: text (tables) or json (for scripts) [default: text].
    #[arg(long, value_enum, default_value_t = Format::Text)]
    #[arg(hide_default_value = true, hide_possible_values = true)]
    pub format: Format,
}

/// Prints the report; exits 0 whatever the campaign's state, 2 when the
/// file cannot be read as an outcome file.
pub fn execute(args: &CampaignReportArgs) -> anyhow::Result<i32> {
    let report = report::read(&args.outcomes, args.allow_duplicates)?;
    let text = match args.format {
        Format::Text => report.to_text(),
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
    };
    super::print_stdout(&text)?;
    Ok(0)
}
