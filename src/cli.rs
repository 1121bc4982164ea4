//! Command-line types. Flags mirror the campaign file's settings one to one:
//! a flag, when given, overrides the file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::campaign::{RateSetting, RetrySettings, Settings};
use crate::phone::Strictness;

/// Exit codes, shown in `--help` and the README.
pub const EXIT_CODES: &str = "\
Exit codes:
  0    every contact dispatched or deliberately skipped (validate: every row would be dialed)
  1    finished, but some contacts failed, are invalid or unknown (validate: some rejected)
  2    bad usage, settings or input, found before any call
  3    stopped early by an answer that makes further calls pointless (bad key, no balance)
  130  interrupted (Ctrl-C)

Environment:
  OMNIDIM_API_KEY  the API key (or the variable named by api_key_env)
  RUST_LOG         log level or filter (default: info)
  NO_COLOR         no colour in logs";

/// Dial a contact list through the OmniDimension API, one call per row,
/// with an outcome file that lets any interrupted run resume without
/// dialing anyone twice.
#[derive(Debug, Parser)]
#[command(name = "omnidial", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Dial every contact of a list and record each outcome.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Check a list without dialing anyone (same as `run --dry-run`).
    #[command(after_help = VALIDATE_EXAMPLES)]
    Validate(ValidateArgs),
    /// Serve a simulated API on 127.0.0.1 for rehearsals and tests.
    Sandbox(crate::sandbox::SandboxArgs),
    /// Join the platform's call logs to an outcome file.
    Reconcile(crate::cmd::reconcile::ReconcileArgs),
}

/// Examples for `run --help`.
const RUN_EXAMPLES: &str = "\
Examples:
  omnidial run fixtures/contacts.csv --sandbox --agent-id 42
  OMNIDIM_API_KEY=... omnidial run contacts.csv --campaign june.toml --rate 30/min
  omnidial run contacts.csv --campaign june.toml --resume";

/// Examples for `validate --help`.
const VALIDATE_EXAMPLES: &str = "\
Examples:
  omnidial validate contacts.csv --default-region GB --show 5
  omnidial validate contacts.csv --rejects rejects.csv --format json";

/// Where the list is and how to read it; shared by `run` and `validate`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// The contact list (CSV with a phone column).
    pub contacts: PathBuf,

    /// Campaign file (TOML); flags override its settings.
    #[arg(long, value_name = "FILE")]
    pub campaign: Option<PathBuf>,

    /// Outcome file [default: beside the list, NAME.outcome.csv].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Agent that handles the calls.
    #[arg(long, value_name = "N")]
    pub agent_id: Option<u64>,

    /// Imported caller number id (from the phone number list).
    #[arg(long, value_name = "N")]
    pub from_number_id: Option<u64>,

    /// Calls per second: 10, 2.5, 30/min or unlimited [default: 10].
    #[arg(long, value_name = "RATE")]
    pub rate: Option<String>,

    /// Column holding the phone number [default: found by name].
    #[arg(long, value_name = "NAME")]
    pub phone_column: Option<String>,

    /// Region for numbers without a country code, e.g. US or GB.
    #[arg(long, value_name = "CC")]
    pub default_region: Option<String>,

    /// Column holding a per-row region (overrides --default-region).
    #[arg(long, value_name = "NAME")]
    pub region_column: Option<String>,

    /// Field delimiter: , ; | or tab [default: detected].
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,

    /// Text encoding: utf-8, windows-1252, latin1, utf-16 [default: utf-8].
    #[arg(long, value_name = "NAME")]
    pub encoding: Option<String>,

    /// Phone checks: strict (valid numbers), possible, e164 [default: strict].
    #[arg(long, value_name = "LEVEL")]
    pub phone_validation: Option<Strictness>,

    /// Strip phone extensions (with a warning) instead of rejecting them.
    #[arg(long)]
    pub allow_extensions: bool,

    /// Accept premium-rate and shared-cost numbers.
    #[arg(long)]
    pub allow_premium: bool,

    /// Dial every row even when a number repeats in the list.
    #[arg(long)]
    pub allow_duplicates: bool,

    /// Pad rows with missing trailing cells instead of rejecting them.
    #[arg(long)]
    pub flexible: bool,

    #[command(flatten)]
    pub controls: crate::controls::args::ControlArgs,
}

/// `omnidial run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub list: ListArgs,

    /// API base URL [default: https://backend.omnidim.io/api/v1].
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Requests in flight at most [default: 1].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Calls allowed at once above the steady rate [default: 1].
    #[arg(long, value_name = "N")]
    pub burst: Option<u32>,

    /// Run against a sandbox started in-process (no key, no network).
    #[arg(long, conflicts_with = "base_url")]
    pub sandbox: bool,

    /// Continue the campaign recorded in the outcome file.
    #[arg(long, conflicts_with = "fresh")]
    pub resume: bool,

    /// Move an existing outcome file aside and start over.
    #[arg(long)]
    pub fresh: bool,

    /// With --resume: dial again contacts that failed (never placed).
    #[arg(long)]
    pub retry_failed: bool,

    /// With --resume: dial again contacts whose outcome is unknown (do a
    /// reconcile first: they may have been called).
    #[arg(long)]
    pub redial_unknown: bool,

    /// Retry answers that may have placed a call (risks calling twice).
    #[arg(long)]
    pub retry_ambiguous: bool,

    /// fsync the outcome file before every call (power-loss safe, slower).
    #[arg(long)]
    pub fsync: bool,

    /// Check the list and show what would happen; dial nobody.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub report: ReportArgs,

    /// Time allowed for one request, e.g. 30s [default: 30s].
    #[arg(long, value_name = "DURATION")]
    pub request_timeout: Option<String>,

    /// Time allowed to connect, e.g. 10s [default: 10s].
    #[arg(long, value_name = "DURATION")]
    pub connect_timeout: Option<String>,

    /// Most requests per contact, the first included [default: 5].
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,

    /// Longest Retry-After to wait out before stopping [default: 5min].
    #[arg(long, value_name = "DURATION")]
    pub max_wait: Option<String>,

    /// Write the end-of-run summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `omnidial validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub list: ListArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// How a dry run reports.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Print the first N request bodies exactly as they would be sent.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub show: usize,

    /// Write every rejected row to FILE (row,column,value,reason).
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For scripts.
    Json,
}

impl ListArgs {
    /// The settings these flags give (unset flags leave the file's value).
    pub fn to_settings(&self) -> Settings {
        let on = |flag: bool| flag.then_some(true);
        Settings {
            agent_id: self.agent_id,
            from_number_id: self.from_number_id,
            rate: self.rate.clone().map(RateSetting::Text),
            phone_column: self.phone_column.clone(),
            default_region: self.default_region.clone(),
            region_column: self.region_column.clone(),
            delimiter: self.delimiter.clone(),
            encoding: self.encoding.clone(),
            phone_validation: self.phone_validation,
            allow_extensions: on(self.allow_extensions),
            allow_premium: on(self.allow_premium),
            allow_duplicates: on(self.allow_duplicates),
            flexible: on(self.flexible),
            ..self.controls.to_settings()
        }
    }

    /// The campaign file's settings with these flags on top.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let file = match &self.campaign {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        Ok(file.merge(self.to_settings()))
    }
}

impl RunArgs {
    /// The settings these flags give, on top of the list flags.
    pub fn to_settings(&self) -> Settings {
        let on = |flag: bool| flag.then_some(true);
        Settings {
            base_url: self.base_url.clone(),
            concurrency: self.concurrency,
            burst: self.burst,
            retry_ambiguous: on(self.retry_ambiguous),
            fsync: on(self.fsync),
            request_timeout: self.request_timeout.clone(),
            connect_timeout: self.connect_timeout.clone(),
            retry: RetrySettings {
                max_attempts: self.max_attempts,
                max_wait: self.max_wait.clone(),
                ..RetrySettings::default()
            },
            ..self.list.to_settings()
        }
    }

    /// The campaign file's settings with every flag on top.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let file = match &self.list.campaign {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        Ok(file.merge(self.to_settings()))
    }
}
