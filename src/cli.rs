//! Command-line types. Flags mirror the campaign file's settings one to one:
//! a flag, when given, overrides the file.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::campaign::{RateSetting, RetrySettings, Settings};
use crate::logging::LogFormat;
use crate::phone::Strictness;

/// The variable that can give `--base-url`.
pub const BASE_URL_ENV: &str = "OMNIDIM_BASE_URL";

/// Exit codes and environment variables, shown in `--help`, the man page
/// (`omnidial man` reads the two lists from here) and the README. An item
/// is indented two spaces; a line indented deeper continues the one above.
pub const EXIT_CODES: &str = "\
Exit codes:
  0    every contact dispatched or deliberately skipped
       (validate: every row would be dialed)
  1    finished, but some contacts failed, are invalid or unknown
       (validate: some rows rejected)
  2    bad usage, settings or input, found before any call
  3    stopped early by an answer that makes further calls pointless
       (bad key, no balance), or by a failure once calls may have been
       placed (the outcome file cannot be written); the summary is shown
  130  interrupted (Ctrl-C)

Environment:
  OMNIDIM_API_KEY   the API key (or the variable named by --api-key-env)
  OMNIDIM_AGENT_ID  agent that handles the calls (as --agent-id)
  OMNIDIM_BASE_URL  API base URL (as --base-url)
  RUST_LOG          log level or filter (default: info)
  NO_COLOR          no colour, when set and not empty";

/// Dial a contact list through OmniDimension, nobody twice.
///
/// One call per row of a CSV list, through the OmniDimension voice-AI API,
/// with an outcome file that lets any interrupted run resume without
/// dialing anyone twice.
#[derive(Debug, Parser)]
#[command(
    name = "omnidial",
    version = crate::version::VERSION,
    after_help = EXIT_CODES,
    max_term_width = 100
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Log lines as text or json (one object a line) [default: text].
    ///
    /// Logs go to stderr at the level RUST_LOG sets (default info). json
    /// suits log shippers; text is coloured only on a terminal and never
    /// with NO_COLOR.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    #[arg(default_value_t = LogFormat::Text)]
    #[arg(hide_default_value = true, hide_possible_values = true)]
    pub log_format: LogFormat,
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
    #[command(after_help = SANDBOX_EXAMPLES)]
    Sandbox(crate::sandbox::SandboxArgs),
    /// Join the platform's call logs to an outcome file.
    Reconcile(crate::cmd::reconcile::ReconcileArgs),
    /// Summarize an outcome file, finished or still being written.
    Report(crate::cmd::report::CampaignReportArgs),
    /// Show each setting a run would use and where it came from.
    Config(crate::cmd::config::ConfigArgs),
    /// Print shell completions (bash, zsh, fish, ...).
    Completions(crate::cmd::completions::CompletionsArgs),
    /// Print the man page (roff).
    Man(crate::cmd::man::ManArgs),
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

/// Examples for `sandbox --help`.
const SANDBOX_EXAMPLES: &str = "\
Examples:
  omnidial sandbox --port 0
  omnidial sandbox --port 0 --latency-ms 200 --fail-rate 503=0.1,429=0.02 --seed 7";

/// Where the list is and how to read it; shared by `run` and `validate`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// The contact list (CSV with a phone column).
    pub contacts: PathBuf,

    /// Campaign file (TOML); flags override its settings.
    ///
    /// Every setting below has the same name in the file, with `_` for
    /// `-` (retry settings go in a [retry] table); campaigns.example.toml
    /// lists them all. Order of precedence: flag, then environment, then
    /// campaign file, then the built-in default. `omnidial config` shows
    /// what wins.
    #[arg(long, value_name = "FILE")]
    pub campaign: Option<PathBuf>,

    /// Outcome file [default: beside the list, NAME.outcome.csv].
    ///
    /// One row per contact; the campaign's only memory, which --resume reads.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Agent that handles the calls.
    ///
    /// The numeric id of an OmniDimension agent. Required to dial, optional
    /// to validate. No default.
    #[arg(
        long,
        value_name = "N",
        env = "OMNIDIM_AGENT_ID",
        hide_env_values = true
    )]
    pub agent_id: Option<u64>,

    /// Imported caller number id (from the phone number list).
    ///
    /// The id GET /phone_number/list gives an imported number. No default:
    /// without it the platform picks the caller number.
    #[arg(long, value_name = "N")]
    pub from_number_id: Option<u64>,

    /// Calls per second: 10, 2.5, 30/min or unlimited [default: 10].
    ///
    /// A number is calls per second; /s, /min and /h name the unit. The
    /// rate is an average kept across all workers; a 429 halves it until
    /// calls succeed again. `unlimited` is for sandboxes.
    #[arg(long, value_name = "RATE")]
    pub rate: Option<String>,

    /// Column holding the phone number [default: found by name].
    ///
    /// By default the first header named (ignoring case and spaces) phone,
    /// phone_number, to_number, number, mobile or msisdn.
    #[arg(long, value_name = "NAME")]
    pub phone_column: Option<String>,

    /// Region for numbers without a country code, e.g. US or GB.
    ///
    /// A two-letter ISO 3166 code. No default: a number without a country
    /// code is rejected rather than guessed.
    #[arg(long, value_name = "CC")]
    pub default_region: Option<String>,

    /// Column holding a per-row region (overrides --default-region).
    ///
    /// No default. Empty cells fall back to --default-region.
    #[arg(long, value_name = "NAME")]
    pub region_column: Option<String>,

    /// Field delimiter: , ; | or tab [default: detected].
    ///
    /// Detected from the first lines (and from an Excel `sep=` line) unless
    /// given.
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,

    /// Text encoding: utf-8, windows-1252, latin1, utf-16 [default: utf-8].
    ///
    /// A byte-order mark, when present, decides instead.
    #[arg(long, value_name = "NAME")]
    pub encoding: Option<String>,

    /// Phone checks: strict (valid numbers), possible, e164 [default: strict].
    ///
    /// strict: ranges libphonenumber knows to be assigned. possible: any
    /// number of a plausible length for its country. e164: `+` and 8 to 15
    /// digits, no further check.
    #[arg(long, value_name = "LEVEL")]
    pub phone_validation: Option<Strictness>,

    /// Strip phone extensions (with a warning) instead of rejecting them.
    ///
    /// Off by default: a call cannot dial an extension.
    #[arg(long)]
    pub allow_extensions: bool,

    /// Accept premium-rate and shared-cost numbers.
    ///
    /// Off by default: such numbers cost the caller.
    #[arg(long)]
    pub allow_premium: bool,

    /// Dial every row even when a number repeats in the list.
    ///
    /// Off by default: a repeated number is dialed once and later rows are
    /// `skipped`.
    #[arg(long)]
    pub allow_duplicates: bool,

    /// Pad rows with missing trailing cells instead of rejecting them.
    ///
    /// Off by default: a short row is `invalid`.
    #[arg(long)]
    pub flexible: bool,

    /// Only these columns go into call_context (comma-separated).
    ///
    /// Header names, e.g. first_name,account_id. By default every column
    /// but the phone column is passed.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub context_columns: Option<Vec<String>>,

    /// Columns never passed in call_context (comma-separated).
    ///
    /// Header names, e.g. internal_notes. None by default.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub exclude_columns: Option<Vec<String>>,

    #[command(flatten)]
    pub controls: crate::controls::args::ControlArgs,
}

/// Where the API key is read from; shared by `run` and `reconcile`. The
/// key itself is never a flag: it would show in the process list.
#[derive(Debug, Clone, Default, Args)]
pub struct KeyArgs {
    /// Variable holding the API key [default: OMNIDIM_API_KEY].
    ///
    /// The name of an environment variable, not the key.
    #[arg(long, value_name = "NAME")]
    pub api_key_env: Option<String>,

    /// File holding the API key (wins over --api-key-env).
    ///
    /// Surrounding white space is ignored. No default.
    #[arg(long, value_name = "FILE", conflicts_with = "api_key_env")]
    pub api_key_file: Option<PathBuf>,
}

/// `omnidial run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub list: ListArgs,

    /// API base URL [default: the OmniDimension API].
    ///
    /// The default is https://backend.omnidim.io/api/v1. Plain http is
    /// refused unless the host is loopback (127.0.0.1, localhost): the key
    /// would travel in clear.
    #[arg(long, value_name = "URL", env = BASE_URL_ENV, hide_env_values = true)]
    pub base_url: Option<String>,

    #[command(flatten)]
    pub key: KeyArgs,

    /// Requests in flight at most [default: 1].
    ///
    /// A count of concurrent requests, up to 10000; the rate still caps
    /// calls per second.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Calls allowed at once above the steady rate [default: 1].
    ///
    /// A count of calls; 1 spreads calls evenly.
    #[arg(long, value_name = "N")]
    pub burst: Option<u32>,

    /// Run against a sandbox started in-process (no key, no network).
    ///
    /// Replaces the base URL; giving --base-url too is an error, while an
    /// OMNIDIM_BASE_URL in the environment is ignored.
    #[arg(long)]
    pub sandbox: bool,

    /// Continue the campaign recorded in the outcome file.
    ///
    /// With no outcome file, a new campaign starts, with a warning naming
    /// the path, so scripts may always pass it.
    #[arg(long, conflicts_with = "fresh")]
    pub resume: bool,

    /// Move an existing outcome file aside and start over.
    #[arg(long)]
    pub fresh: bool,

    /// With --resume: dial again contacts that failed (never placed).
    #[arg(long)]
    pub retry_failed: bool,

    /// With --resume: dial again unknown contacts reconcile did not find.
    ///
    /// Only contacts that `omnidial reconcile` looked for in the call logs
    /// and did not find; the others may have been called, and stay held
    /// (`--retry-ambiguous` dials them anyway).
    #[arg(long)]
    pub redial_unknown: bool,

    /// Retry answers that may have placed a call (risks calling twice).
    ///
    /// Off by default: a 500, 504, timeout or dropped connection after
    /// sending leaves the contact `unknown` instead.
    #[arg(long)]
    pub retry_ambiguous: bool,

    /// fsync the outcome file before every call (power-loss safe, slower).
    ///
    /// Off by default: records are flushed, which survives a crash of
    /// omnidial but not of the machine. With it, the directory is synced
    /// too whenever the file is created, moved aside or compacted.
    #[arg(long)]
    pub fsync: bool,

    /// Check the list and show what would happen; dial nobody.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub report: ReportArgs,

    /// Time allowed for one request, e.g. 30s [default: 30s].
    ///
    /// A duration with a unit: 500ms, 30s, 2min. A request that times out
    /// after it was sent leaves the contact `unknown`.
    #[arg(long, value_name = "DURATION")]
    pub request_timeout: Option<String>,

    /// Time allowed to connect, e.g. 10s [default: 10s].
    ///
    /// A duration with a unit: 500ms, 10s. A failed connection is retried.
    #[arg(long, value_name = "DURATION")]
    pub connect_timeout: Option<String>,

    /// Most requests per contact, the first included [default: 5].
    ///
    /// A count; 1 means no retries. Campaign file: retry.max_attempts.
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,

    /// Shortest wait between two attempts, e.g. 500ms [default: 500ms].
    ///
    /// A duration. Waits grow exponentially from it, with random jitter, up
    /// to --max-backoff. Campaign file: retry.initial_backoff.
    #[arg(long, value_name = "DURATION")]
    pub initial_backoff: Option<String>,

    /// Longest wait between two attempts, e.g. 30s [default: 30s].
    ///
    /// A duration. Campaign file: retry.max_backoff.
    #[arg(long, value_name = "DURATION")]
    pub max_backoff: Option<String>,

    /// Give up on a contact this long after its first try [default: 10min].
    ///
    /// A duration; no retry starts after it. Campaign file:
    /// retry.max_elapsed.
    #[arg(long, value_name = "DURATION")]
    pub max_elapsed: Option<String>,

    /// Longest Retry-After to wait out before stopping [default: 5min].
    ///
    /// A duration. A 429 asking for longer is a quota: the run stops (exit
    /// 3) and says when to resume. Campaign file: retry.max_wait.
    #[arg(long, value_name = "DURATION")]
    pub max_wait: Option<String>,

    /// Stop after N identical refusals in a row; 0 = never [default: 20].
    ///
    /// A count of consecutive contacts failed with the same answer, such as
    /// an agent that does not exist.
    #[arg(long, value_name = "N")]
    pub circuit_breaker: Option<usize>,

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
    /// Print the first N request bodies as they would be sent.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub show: usize,

    /// Write every rejected row to FILE (row,column,value,reason).
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,

    /// Report format.
    ///
    /// text for people; json for scripts, printed on stdout.
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
            context_columns: self.context_columns.clone(),
            exclude_columns: self.exclude_columns.clone(),
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
            // The sandbox serves its own URL; one from the environment must
            // not fail validation for a run that will not use it.
            base_url: self.base_url.clone().filter(|_| !self.sandbox),
            api_key_env: self.key.api_key_env.clone(),
            api_key_file: self.key.api_key_file.clone(),
            circuit_breaker: self.circuit_breaker,
            concurrency: self.concurrency,
            burst: self.burst,
            retry_ambiguous: on(self.retry_ambiguous),
            fsync: on(self.fsync),
            request_timeout: self.request_timeout.clone(),
            connect_timeout: self.connect_timeout.clone(),
            retry: RetrySettings {
                max_attempts: self.max_attempts,
                initial_backoff: self.initial_backoff.clone(),
                max_backoff: self.max_backoff.clone(),
                max_elapsed: self.max_elapsed.clone(),
                max_wait: self.max_wait.clone(),
            },
            ..self.list.to_settings()
        }
    }

    /// The campaign file's settings with every flag on top.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        self.check_sandbox()?;
        let file = match &self.list.campaign {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        Ok(file.merge(self.to_settings()))
    }
}

impl RunArgs {
    /// `--sandbox` replaces the base URL, so giving `--base-url` with it is
    /// a mistake. clap cannot tell a flag from its environment variable in
    /// a conflict, hence this check: a value equal to OMNIDIM_BASE_URL is
    /// taken as the environment's, which the sandbox simply overrides.
    fn check_sandbox(&self) -> anyhow::Result<()> {
        let from_env = std::env::var(BASE_URL_ENV).ok();
        if self.sandbox && self.base_url.is_some() && self.base_url != from_env {
            bail!("--sandbox cannot be used with --base-url: the sandbox serves its own URL");
        }
        Ok(())
    }
}
