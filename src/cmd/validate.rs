//! `omnidial validate` placeholder until the report lands.

use crate::campaign::Settings;
use crate::cli::{ListArgs, ReportArgs};

/// Validates a list.
pub fn execute(list: &ListArgs, report: &ReportArgs) -> anyhow::Result<i32> {
    run_dry(list, report, list.settings()?)
}

/// Dry run.
pub fn run_dry(_list: &ListArgs, _report: &ReportArgs, _settings: Settings) -> anyhow::Result<i32> {
    anyhow::bail!("not yet")
}
