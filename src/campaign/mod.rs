//! Campaign settings in two layers: what the user gave (a TOML file, then
//! flags on top) and the validated [`Plan`] the pipeline runs on. Every check
//! that can fail happens here, before the first call.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::contacts::ReadOptions;
use crate::controls::Controls;
use crate::phone::{PhoneRules, Region, Strictness};
use crate::retry::RetryPolicy;

/// The platform's API, used when no base URL is given.
pub const DEFAULT_BASE_URL: &str = "https://backend.omnidim.io/api/v1";

/// Environment variable holding the API key, unless `api_key_env` names
/// another.
pub const DEFAULT_API_KEY_ENV: &str = "OMNIDIM_API_KEY";

/// Calls per second when no rate is given: gentle enough for a first run.
pub const DEFAULT_RATE: f64 = 10.0;

/// Most requests in flight: far beyond any API's limits, and each costs
/// a connection and some memory.
pub const MAX_CONCURRENCY: usize = 10_000;

/// Requests in flight when no concurrency is given: one at a time, the
/// platform's own bulk-campaign default.
pub const DEFAULT_CONCURRENCY: usize = 1;

/// Request timeout; the platform's clients use 60 s, we answer sooner.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Calls allowed at once above the steady rate: none, so calls are spread
/// evenly.
pub const DEFAULT_BURST: u32 = 1;

/// Identical permanent failures in a row that stop the campaign.
pub const DEFAULT_CIRCUIT_BREAKER: usize = 20;

/// Slowest rate accepted: one call an hour. Slower rates are typing
/// mistakes, and their periods overflow the timer.
const MIN_RATE_PER_SECOND: f64 = 1.0 / 3600.0;

/// Fastest paced rate accepted; `unlimited` is the way to go faster.
const MAX_RATE_PER_SECOND: f64 = 1_000_000.0;

/// Shortest API key the platform's clients accept.
const MIN_KEY_LEN: usize = 8;

mod checks;
mod settings;

use checks::{
    check_base_url, duration, is_variable_name, parse_delimiter, platform_id, positive,
    retry_policy,
};
pub use checks::{default_out, is_loopback, same_file};
pub use settings::{HoursSettings, RateSetting, RetrySettings, Settings};

/// Calls per second, parsed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// No pacing at all (benchmarks, sandboxes).
    Unlimited,
    /// At most this many calls per second, on average.
    PerSecond(f64),
}

impl std::str::FromStr for Rate {
    type Err = String;

    /// Reads `10`, `2.5`, `30/min`, `10/s`, `600/h` or `unlimited`.
    fn from_str(text: &str) -> Result<Rate, String> {
        let text = text.trim();
        if matches!(text, "unlimited" | "none" | "max") {
            return Ok(Rate::Unlimited);
        }
        let (count, per) = text.split_once('/').unwrap_or((text, "s"));
        let count: f64 = count.trim().parse().map_err(|_| {
            format!("rate {text:?}: expected calls per second such as 10, 2.5, 30/min or unlimited")
        })?;
        let seconds = match per.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            other => {
                return Err(format!(
                    "rate {text:?}: unknown unit {other:?} (use s, min or h)"
                ));
            }
        };
        let per_second = count / seconds;
        if !per_second.is_finite() || per_second <= 0.0 {
            return Err(format!("rate {text:?} must be above zero (or `unlimited`)"));
        }
        if !(MIN_RATE_PER_SECOND..=MAX_RATE_PER_SECOND).contains(&per_second) {
            return Err(format!(
                "rate {text:?} is out of range: use between 1/h and 1000000/s (or `unlimited`)"
            ));
        }
        Ok(Rate::PerSecond(per_second))
    }
}

/// What a run needs, checked.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The contact list.
    pub contacts: PathBuf,
    /// The outcome file.
    pub out: PathBuf,
    /// Agent that handles the calls (required to dial, optional to validate).
    pub agent_id: Option<u64>,
    /// Caller number id.
    pub from_number_id: Option<u64>,
    /// API base URL, without a trailing slash.
    pub base_url: String,
    /// Where the API key comes from.
    pub key_source: KeySource,
    /// Pacing.
    pub rate: Rate,
    /// Calls allowed at once above the rate.
    pub burst: u32,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Time allowed for one request.
    pub request_timeout: Duration,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Retry schedule.
    pub retry: RetryPolicy,
    /// fsync every intent record.
    pub fsync: bool,
    /// Retry answers that may have placed a call.
    pub retry_ambiguous: bool,
    /// Dial every row, even when a number repeats.
    pub allow_duplicates: bool,
    /// Identical permanent failures in a row that stop the campaign.
    pub circuit_breaker: usize,
    /// How to read the list.
    pub read: ReadOptions,
    /// What phone numbers are accepted.
    pub phone: PhoneRules,
    /// Region for numbers without a country code.
    pub default_region: Option<Region>,
    /// Suppression, caller numbers, calling hours and redials.
    pub controls: Controls,
}

/// Where the API key is read from. Holds no key itself.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// An environment variable, by name.
    Env(String),
    /// A file.
    File(PathBuf),
}

impl Plan {
    /// Checks merged settings for the list at `contacts`.
    pub fn from_settings(
        s: Settings,
        contacts: &Path,
        out: Option<PathBuf>,
    ) -> anyhow::Result<Plan> {
        let controls = Controls::from_settings(&s)?;
        let base_url = s.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.into());
        let base_url = check_base_url(&base_url)?;
        let key_source = match (s.api_key_file, s.api_key_env) {
            (Some(file), _) => KeySource::File(file),
            (None, env) => KeySource::Env(env.unwrap_or_else(|| DEFAULT_API_KEY_ENV.into())),
        };
        let rate = match s.rate {
            None => Rate::PerSecond(DEFAULT_RATE),
            Some(RateSetting::PerSecond(n)) => n.to_string().parse().map_err(anyhow::Error::msg)?,
            Some(RateSetting::Text(t)) => t.parse().map_err(anyhow::Error::msg)?,
        };
        let concurrency = s.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            bail!(
                "concurrency must be between 1 and {MAX_CONCURRENCY} (requests in flight at once)"
            );
        }
        let default_region = s
            .default_region
            .as_deref()
            .map(crate::phone::parse_region)
            .transpose()
            .map_err(|err| anyhow::anyhow!("default_region: {err}"))?;

        Ok(Plan {
            out: out.unwrap_or_else(|| default_out(contacts)),
            contacts: contacts.to_path_buf(),
            agent_id: s
                .agent_id
                .map(|id| platform_id("agent_id", id))
                .transpose()?,
            from_number_id: s
                .from_number_id
                .map(|id| platform_id("from_number_id", id))
                .transpose()?,
            base_url,
            key_source,
            rate,
            burst: positive("burst", s.burst.unwrap_or(DEFAULT_BURST))?,
            concurrency,
            request_timeout: duration(
                "request_timeout",
                s.request_timeout,
                DEFAULT_REQUEST_TIMEOUT,
            )?,
            connect_timeout: duration(
                "connect_timeout",
                s.connect_timeout,
                DEFAULT_CONNECT_TIMEOUT,
            )?,
            retry: retry_policy(&s.retry)?,
            fsync: s.fsync.unwrap_or(false),
            retry_ambiguous: s.retry_ambiguous.unwrap_or(false),
            allow_duplicates: s.allow_duplicates.unwrap_or(false),
            circuit_breaker: s.circuit_breaker.unwrap_or(DEFAULT_CIRCUIT_BREAKER),
            read: ReadOptions {
                delimiter: s.delimiter.as_deref().map(parse_delimiter).transpose()?,
                encoding: s.encoding,
                phone_column: s.phone_column,
                region_column: s.region_column,
                context_columns: s.context_columns,
                exclude_columns: s.exclude_columns.unwrap_or_default(),
                flexible: s.flexible.unwrap_or(false),
                control_columns: controls.columns(),
            },
            phone: PhoneRules {
                strictness: s.phone_validation.unwrap_or_default(),
                allow_extensions: s.allow_extensions.unwrap_or(false),
                allow_premium: s.allow_premium.unwrap_or(false),
            },
            default_region,
            controls,
        })
    }

    /// The agent id, or the error a run without one gets.
    pub fn require_agent(&self) -> anyhow::Result<u64> {
        self.agent_id
            .context("no agent id: pass --agent-id N or set agent_id in the campaign file")
    }

    /// Reads the API key from its source. The key is never printed: errors
    /// name only where it was looked for.
    pub fn load_key(&self) -> anyhow::Result<ApiKey> {
        let key = match &self.key_source {
            KeySource::Env(var) if !is_variable_name(var) => bail!(
                "api_key_env must name an environment variable (letters, digits and _), \
                 not hold the key itself; the value given is not shown"
            ),
            KeySource::Env(var) => std::env::var(var).map_err(|_| {
                anyhow::anyhow!(
                    "no API key: set the environment variable {var} (or api_key_file in the \
                     campaign)"
                )
            })?,
            KeySource::File(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the API key file {}", path.display()))?,
        };
        let key = key.trim().to_string();
        if key.len() < MIN_KEY_LEN {
            bail!(
                "the API key from {} is shorter than {MIN_KEY_LEN} characters",
                self.key_source
            );
        }
        Ok(ApiKey(key))
    }
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env(var) => write!(f, "${var}"),
            KeySource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// An API key. Its `Debug` hides it, so it cannot leak through logs or
/// error chains.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// A key for the in-process sandbox, which checks none.
    pub fn sandbox() -> ApiKey {
        ApiKey("sandbox-key-not-secret".into())
    }

    /// The value of the `Authorization` header.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_in_every_documented_form() {
        assert_eq!("10".parse::<Rate>(), Ok(Rate::PerSecond(10.0)));
        assert_eq!("2.5".parse::<Rate>(), Ok(Rate::PerSecond(2.5)));
        assert_eq!("30/min".parse::<Rate>(), Ok(Rate::PerSecond(0.5)));
        assert_eq!("unlimited".parse::<Rate>(), Ok(Rate::Unlimited));
        assert!("0".parse::<Rate>().is_err());
        assert!(
            "1e-320"
                .parse::<Rate>()
                .unwrap_err()
                .contains("out of range")
        );
        assert_eq!("1/h".parse::<Rate>(), Ok(Rate::PerSecond(1.0 / 3600.0)));
        assert!("fast".parse::<Rate>().is_err());
        assert!("3/week".parse::<Rate>().unwrap_err().contains("unit"));
    }

    #[test]
    fn flags_override_the_file() {
        let file: Settings =
            toml::from_str("agent_id = 1\nrate = 5\n[retry]\nmax_attempts = 2").unwrap();
        let flags = Settings {
            agent_id: Some(2),
            ..Settings::default()
        };
        let merged = file.merge(flags);
        assert_eq!(merged.agent_id, Some(2));
        assert_eq!(merged.rate, Some(RateSetting::PerSecond(5.0)));
        assert_eq!(merged.retry.max_attempts, Some(2));
    }

    #[test]
    fn suppression_files_add_up_and_sit_beside_the_campaign() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("june.toml");
        std::fs::write(&path, "suppress = [\"dnc.csv\"]\n[hours]\ndays = \"mon\"").unwrap();
        let file = Settings::from_file(&path).unwrap();
        let flags = Settings {
            suppress: Some(vec![PathBuf::from("optouts.txt")]),
            ..Settings::default()
        };
        let merged = file.merge(flags);
        assert_eq!(
            merged.suppress.unwrap(),
            [dir.path().join("dnc.csv"), PathBuf::from("optouts.txt")]
        );
        assert_eq!(merged.hours.days.as_deref(), Some("mon"));
    }

    #[test]
    fn unknown_settings_are_refused() {
        assert!(toml::from_str::<Settings>("agentid = 1").is_err());
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_base_url("http://127.0.0.1:9/api/v1").is_ok());
        assert!(check_base_url("http://localhost/api/v1").is_ok());
        assert!(check_base_url("https://backend.omnidim.io/api/v1/").is_ok());
        assert!(check_base_url("http://example.com/api/v1").is_err());
        assert!(check_base_url("ftp://127.0.0.1").is_err());
        // A query or fragment would eat the last path segment when joined.
        assert!(check_base_url("http://127.0.0.1:9/api/v1?x=1").is_err());
        assert!(check_base_url("http://127.0.0.1:9/api/v1#top").is_err());
    }

    #[test]
    fn concurrency_is_between_one_and_the_cap() {
        let plan = |concurrency: usize| {
            let settings = Settings {
                concurrency: Some(concurrency),
                ..Settings::default()
            };
            Plan::from_settings(settings, Path::new("list.csv"), None)
        };
        assert!(plan(1).is_ok());
        assert!(plan(MAX_CONCURRENCY).is_ok());
        for bad in [0, MAX_CONCURRENCY + 1, usize::MAX] {
            let err = plan(bad).unwrap_err().to_string();
            assert!(
                err.contains("concurrency must be between 1 and 10000"),
                "{err}"
            );
        }
    }

    #[test]
    fn credentials_in_settings_are_refused_without_being_echoed() {
        let err = check_base_url("http://user:pw@127.0.0.1:1/api/v1").unwrap_err();
        assert!(!format!("{err:#}").contains("pw"), "{err:#}");
        assert!(is_variable_name("OMNIDIM_API_KEY"));
        assert!(!is_variable_name("sk-SECRETomni98765xyz"));
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let key = ApiKey("sk-very-secret-value".into());
        assert!(!format!("{key:?}").contains("secret"));
    }

    #[test]
    fn outcome_file_defaults_beside_the_list() {
        assert_eq!(
            default_out(Path::new("lists/june.csv")),
            PathBuf::from("lists/june.outcome.csv")
        );
    }
}
