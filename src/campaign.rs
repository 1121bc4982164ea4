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

/// Shortest API key the platform's clients accept.
const MIN_KEY_LEN: usize = 8;

/// Settings as written in a campaign file or given as flags; every field is
/// optional so the two layers can be merged.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Agent that handles the calls.
    pub agent_id: Option<u64>,
    /// Imported caller number id.
    pub from_number_id: Option<u64>,
    /// API base URL.
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// File holding the API key.
    pub api_key_file: Option<PathBuf>,
    /// Calls per second: a number, `"30/min"`, or `"unlimited"`.
    pub rate: Option<RateSetting>,
    /// Calls allowed at once above the steady rate.
    pub burst: Option<u32>,
    /// Requests in flight at most.
    pub concurrency: Option<usize>,
    /// Time allowed for one request.
    pub request_timeout: Option<String>,
    /// Time allowed to connect.
    pub connect_timeout: Option<String>,
    /// fsync every intent record.
    pub fsync: Option<bool>,
    /// Retry answers that may have placed a call.
    pub retry_ambiguous: Option<bool>,
    /// Dial every row, even when a number repeats.
    pub allow_duplicates: Option<bool>,
    /// Identical permanent failures in a row that stop the campaign.
    pub circuit_breaker: Option<usize>,
    /// Column holding the phone number.
    pub phone_column: Option<String>,
    /// Column holding a per-row region.
    pub region_column: Option<String>,
    /// Region for numbers written without a country code.
    pub default_region: Option<String>,
    /// Field delimiter.
    pub delimiter: Option<String>,
    /// Text encoding of the list.
    pub encoding: Option<String>,
    /// Only these columns go into call_context.
    pub context_columns: Option<Vec<String>>,
    /// These columns never go into call_context.
    pub exclude_columns: Option<Vec<String>>,
    /// Phone validation strictness.
    pub phone_validation: Option<Strictness>,
    /// Strip extensions instead of rejecting them.
    pub allow_extensions: Option<bool>,
    /// Accept premium-rate and shared-cost numbers.
    pub allow_premium: Option<bool>,
    /// Pad short rows instead of rejecting them.
    pub flexible: Option<bool>,
    /// Retry schedule.
    #[serde(default)]
    pub retry: RetrySettings,
    /// Files of numbers never to dial (relative to the campaign file).
    pub suppress: Option<Vec<PathBuf>>,
    /// Caller number ids used in turn.
    pub from_number_ids: Option<Vec<u64>>,
    /// Calls per second per caller number.
    pub per_number_rate: Option<RateSetting>,
    /// When the campaign may start: RFC 3339, or a civil time with a zone.
    pub start_at: Option<String>,
    /// Stop, instead of waiting, once every remaining contact is outside
    /// its calling hours.
    pub until_window_closes: Option<bool>,
    /// Reconciled call statuses whose contacts are dialed again.
    pub redial: Option<Vec<String>>,
    /// Least time between two calls to one contact.
    pub redial_after: Option<String>,
    /// Most calls to one contact in total.
    pub max_calls: Option<u32>,
    /// Most calls to one number in one day.
    pub max_calls_per_number_per_day: Option<u32>,
    /// Calling hours.
    #[serde(default)]
    pub hours: HoursSettings,
}

/// The `[hours]` table: when contacts may be called, in their own time.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HoursSettings {
    /// Local time windows, e.g. `["09:00-12:00", "13:00-20:00"]`.
    pub windows: Option<Vec<String>>,
    /// Days, e.g. `"mon-fri"` or `"mon,wed,fri"`.
    pub days: Option<String>,
    /// The campaign's IANA time zone.
    pub timezone: Option<String>,
    /// Column holding each row's IANA time zone.
    pub timezone_column: Option<String>,
}

/// The `[retry]` table.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    /// Most requests per contact.
    pub max_attempts: Option<u32>,
    /// Shortest wait between attempts.
    pub initial_backoff: Option<String>,
    /// Longest wait between attempts.
    pub max_backoff: Option<String>,
    /// Give up on a contact after this long.
    pub max_elapsed: Option<String>,
    /// Longest Retry-After to sit out.
    pub max_wait: Option<String>,
}

/// A rate as written: a number of calls per second or a string.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum RateSetting {
    /// Calls per second.
    PerSecond(f64),
    /// `"30/min"`, `"2.5"`, `"unlimited"`.
    Text(String),
}

impl Settings {
    /// Reads a campaign file.
    pub fn from_file(path: &Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the campaign file {}", path.display()))?;
        let mut settings: Settings = toml::from_str(&text).map_err(|err| {
            anyhow::anyhow!(
                "campaign file {}: {}",
                path.display(),
                err.to_string().trim()
            )
        })?;
        // Suppression files sit beside the campaign that names them, so a
        // campaign works from any directory.
        let dir = path.parent().unwrap_or(Path::new(""));
        if let Some(files) = &mut settings.suppress {
            for file in files.iter_mut() {
                *file = dir.join(&*file);
            }
        }
        Ok(settings)
    }

    /// Lays `over` on top of `self`: every value `over` sets wins.
    pub fn merge(self, over: Settings) -> Settings {
        // Suppression adds up: a flag must never drop the campaign's own
        // do-not-call list.
        let suppress = match (self.suppress, over.suppress) {
            (Some(mut file), Some(flags)) => {
                file.extend(flags);
                Some(file)
            }
            (file, flags) => flags.or(file),
        };
        macro_rules! pick {
            ($($field:ident),*) => {
                Settings {
                    $($field: over.$field.or(self.$field),)*
                    suppress,
                    hours: HoursSettings {
                        windows: over.hours.windows.or(self.hours.windows),
                        days: over.hours.days.or(self.hours.days),
                        timezone: over.hours.timezone.or(self.hours.timezone),
                        timezone_column: over.hours.timezone_column.or(self.hours.timezone_column),
                    },
                    retry: RetrySettings {
                        max_attempts: over.retry.max_attempts.or(self.retry.max_attempts),
                        initial_backoff: over.retry.initial_backoff.or(self.retry.initial_backoff),
                        max_backoff: over.retry.max_backoff.or(self.retry.max_backoff),
                        max_elapsed: over.retry.max_elapsed.or(self.retry.max_elapsed),
                        max_wait: over.retry.max_wait.or(self.retry.max_wait),
                    },
                }
            };
        }
        pick!(
            agent_id,
            from_number_id,
            base_url,
            api_key_env,
            api_key_file,
            rate,
            burst,
            concurrency,
            request_timeout,
            connect_timeout,
            fsync,
            retry_ambiguous,
            allow_duplicates,
            circuit_breaker,
            phone_column,
            region_column,
            default_region,
            delimiter,
            encoding,
            context_columns,
            exclude_columns,
            phone_validation,
            allow_extensions,
            allow_premium,
            flexible,
            from_number_ids,
            per_number_rate,
            start_at,
            until_window_closes,
            redial,
            redial_after,
            max_calls,
            max_calls_per_number_per_day
        )
    }
}

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
        if concurrency == 0 {
            bail!("concurrency must be at least 1");
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
            agent_id: s.agent_id.map(|id| positive("agent_id", id)).transpose()?,
            from_number_id: s
                .from_number_id
                .map(|id| positive("from_number_id", id))
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

/// Whether two paths name one file (both existing), or are spelled alike.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The outcome file's default path: beside the list, named after it.
pub fn default_out(contacts: &Path) -> PathBuf {
    let stem = contacts
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("contacts");
    contacts.with_file_name(format!("{stem}.outcome.csv"))
}

/// Checks a base URL: http(s), and plain http only to a loopback host, since
/// the key would otherwise travel in clear.
fn check_base_url(url: &str) -> anyhow::Result<String> {
    let url = url.trim().trim_end_matches('/');
    // A URL with credentials in it must never be echoed, not even in the
    // message that refuses it.
    let shown = if url.contains('@') {
        "(hidden: it holds an @)"
    } else {
        url
    };
    let parsed =
        reqwest::Url::parse(url).with_context(|| format!("base URL {shown:?} is not a URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        bail!(
            "the base URL holds a user name or password; remove them: the key is sent from \
             OMNIDIM_API_KEY (or api_key_env, api_key_file)"
        );
    }
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) => {}
        "http" => bail!(
            "base URL {url} uses plain http to a host that is not loopback; the API key \
             would travel in clear. Use https"
        ),
        other => bail!("base URL {url}: unsupported scheme {other:?}"),
    }
    Ok(url.to_string())
}

/// Whether text can be an environment variable's name. A key pasted into
/// `api_key_env` by mistake fails this (it holds `-`), so it is never
/// echoed as a "variable name".
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

/// Whether a URL's host is this machine.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Reads a delimiter setting: one character, or `tab`.
fn parse_delimiter(text: &str) -> anyhow::Result<u8> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        t if t.len() == 1 && t.is_ascii() => Ok(t.as_bytes()[0]),
        t => bail!("delimiter {t:?}: expected one character such as , ; | or `tab`"),
    }
}

/// Checks that a count or id is above zero.
fn positive<T: PartialEq + Default + std::fmt::Display>(name: &str, value: T) -> anyhow::Result<T> {
    if value == T::default() {
        bail!("{name} must be above zero");
    }
    Ok(value)
}

/// Reads a duration setting such as `500ms`, `30s` or `5min`.
fn duration(name: &str, text: Option<String>, default: Duration) -> anyhow::Result<Duration> {
    match text {
        None => Ok(default),
        Some(t) if humantime::parse_duration(t.trim()).is_ok_and(|d| d.is_zero()) => {
            bail!("{name} = {t:?} must be longer than zero")
        }
        Some(t) => humantime::parse_duration(t.trim())
            .map_err(|err| anyhow::anyhow!("{name} = {t:?}: {err} (examples: 500ms, 30s, 5min)")),
    }
}

/// Builds the retry policy from the `[retry]` table.
fn retry_policy(r: &RetrySettings) -> anyhow::Result<RetryPolicy> {
    let d = RetryPolicy::default();
    let policy = RetryPolicy {
        max_attempts: r.max_attempts.unwrap_or(d.max_attempts),
        initial_backoff: duration(
            "retry.initial_backoff",
            r.initial_backoff.clone(),
            d.initial_backoff,
        )?,
        max_backoff: duration("retry.max_backoff", r.max_backoff.clone(), d.max_backoff)?,
        max_elapsed: duration("retry.max_elapsed", r.max_elapsed.clone(), d.max_elapsed)?,
        max_wait: duration("retry.max_wait", r.max_wait.clone(), d.max_wait)?,
    };
    if policy.max_attempts == 0 {
        bail!("retry.max_attempts must be at least 1");
    }
    Ok(policy)
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
