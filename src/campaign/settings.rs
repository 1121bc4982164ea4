//! The first layer: settings as the user gave them, in a campaign file or
//! as flags, every one optional so that the two can be merged.

use super::*;

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
