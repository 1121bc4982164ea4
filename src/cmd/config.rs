//! `omnidial config`: the settings a run would use, each with where its
//! value came from: the built-in default, the campaign file, a flag or the
//! environment. It takes every flag `run` takes, so a run's command line
//! can be checked by changing one word; flags that are not settings
//! (`--resume`, `--quiet`, ...) are accepted and ignored.
//!
//! The API key is never shown: only whether one was found, and where.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory};
use serde::Serialize;
use serde_json::Value;

use crate::campaign::{
    DEFAULT_API_KEY_ENV, DEFAULT_BASE_URL, DEFAULT_BURST, DEFAULT_CIRCUIT_BREAKER,
    DEFAULT_CONCURRENCY, DEFAULT_CONNECT_TIMEOUT, DEFAULT_RATE, DEFAULT_REQUEST_TIMEOUT, Plan,
    RateSetting, RetrySettings, Settings,
};
use crate::cli::{Cli, Format, RunArgs};
use crate::phone::Strictness;
use crate::retry::RetryPolicy;

/// Examples for `config --help`.
const EXAMPLES: &str = "\
Examples:
  omnidial config contacts.csv --campaign june.toml
  OMNIDIM_AGENT_ID=42 omnidial config contacts.csv --rate 30/min --format json";

/// `omnidial config`.
#[derive(Debug, Clone, Args)]
#[command(after_help = EXAMPLES)]
pub struct ConfigArgs {
    /// The flags of `run`; `--format` picks the output.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// omnidial's built-in default (or no value at all).
    Default,
    /// The campaign file.
    CampaignFile,
    /// A command-line flag.
    Flag,
    /// An environment variable read through a flag.
    Environment,
}

/// One resolved setting.
#[derive(Debug, Clone, Serialize)]
pub struct Resolved {
    /// The value in effect; null when unset and without a default.
    pub value: Value,
    /// Where it came from.
    pub source: Source,
    /// The flag that sets it.
    pub flag: Option<String>,
    /// The environment variable that sets it, if any.
    pub env: Option<String>,
}

/// Whether an API key was found; never the key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyStatus {
    /// Whether a usable key was found.
    pub found: bool,
    /// Where it was looked for: `$VAR` or a file.
    pub from: String,
    /// Why it is not usable, when it is not.
    pub problem: Option<String>,
}

/// What `omnidial config` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Resolution {
    /// The contact list.
    pub contacts: String,
    /// The campaign file, if one was given.
    pub campaign: Option<String>,
    /// The outcome file a run would write.
    pub outcome_file: String,
    /// Every setting by its campaign-file name (`retry.` for the table).
    pub settings: BTreeMap<String, Resolved>,
    /// The API key's status.
    pub api_key: KeyStatus,
}

/// Resolves and prints the settings; exits 2 when they do not validate.
pub fn execute(args: &ConfigArgs) -> anyhow::Result<i32> {
    let resolution = resolve(args, &own_matches())?;
    let text = match args.run.report.format {
        Format::Text => to_text(&resolution),
        Format::Json => serde_json::to_string_pretty(&resolution)? + "\n",
    };
    super::print_stdout(&text)?;
    Ok(0)
}

/// This command's parsed arguments as `ArgMatches`. The derive API keeps
/// values but drops where they came from, so we parse the same command
/// line again rather than widen `main` and `dispatch` for one command.
fn own_matches() -> ArgMatches {
    Cli::command()
        .try_get_matches_from(std::env::args_os())
        .ok()
        .and_then(|m| m.subcommand_matches("config").cloned())
        .unwrap_or_default()
}

/// Resolves every setting, checking them as a run would.
pub fn resolve(args: &ConfigArgs, matches: &ArgMatches) -> anyhow::Result<Resolution> {
    let list = &args.run.list;
    let file = match &list.campaign {
        Some(path) => Settings::from_file(path)?,
        None => Settings::default(),
    };
    let flags = args.run.to_settings();
    let plan = Plan::from_settings(
        file.clone().merge(flags.clone()),
        &list.contacts,
        list.out.clone(),
    )?;

    let layers = [
        (Source::Flag, flat(&flags)?),
        (Source::CampaignFile, flat(&file)?),
        (Source::Default, flat(&built_in())?),
    ];
    let command = Cli::command();
    let config = command.find_subcommand("config");
    let mut settings = BTreeMap::new();
    for key in setting_names()? {
        let id = flag_id(&key);
        let arg = config.and_then(|c| c.get_arguments().find(|a| a.get_id() == id.as_str()));
        let (source, value) = layers
            .iter()
            .find_map(|(source, layer)| {
                layer
                    .get(&key)
                    .filter(|v| !v.is_null())
                    .map(|v| (*source, v.clone()))
            })
            .unwrap_or((Source::Default, Value::Null));
        let source = match (source, matches.value_source(&id)) {
            (Source::Flag, Some(ValueSource::EnvVariable)) => Source::Environment,
            (source, _) => source,
        };
        let resolved = Resolved {
            value,
            source,
            flag: arg
                .and_then(|a| a.get_long())
                .map(|long| format!("--{long}")),
            env: arg
                .and_then(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned()),
        };
        settings.insert(key, resolved);
    }
    if args.run.sandbox
        && let Some(base_url) = settings.get_mut("base_url")
    {
        // A run with --sandbox serves its own API; no base URL applies.
        base_url.value = Value::String("(the sandbox --sandbox starts on 127.0.0.1)".into());
        base_url.source = Source::Flag;
        base_url.flag = Some("--sandbox".into());
    }

    Ok(Resolution {
        contacts: list.contacts.display().to_string(),
        campaign: list.campaign.as_ref().map(|p| p.display().to_string()),
        outcome_file: plan.out.display().to_string(),
        settings,
        api_key: if args.run.sandbox {
            KeyStatus {
                found: false,
                from: "--sandbox".into(),
                problem: Some("not needed: --sandbox checks no key".into()),
            }
        } else {
            key_status(&plan)
        },
    })
}

/// Every setting's campaign-file name, `retry.` prefixed for the table.
pub fn setting_names() -> anyhow::Result<Vec<String>> {
    Ok(flat(&Settings::default())?.into_keys().collect())
}

/// The id of the flag that sets a setting: `[retry]` settings and the
/// hours' time zones go by their own name, other table settings by table
/// and name (`hours.days` is `--hours-days`).
pub fn flag_id(key: &str) -> String {
    match key.split_once('.') {
        Some(("retry", name)) | Some(("hours", name @ ("timezone" | "timezone_column"))) => {
            name.to_string()
        }
        Some((table, name)) => format!("{table}_{name}"),
        None => key.to_string(),
    }
}

/// A settings layer as `name → value`, the `[retry]` table flattened to
/// `retry.name`.
fn flat(settings: &Settings) -> anyhow::Result<BTreeMap<String, Value>> {
    let Value::Object(map) = serde_json::to_value(settings)? else {
        anyhow::bail!("settings do not serialize to a table");
    };
    let mut out = BTreeMap::new();
    for (key, value) in map {
        match value {
            Value::Object(table) => {
                for (inner, value) in table {
                    out.insert(format!("{key}.{inner}"), value);
                }
            }
            value => {
                out.insert(key, value);
            }
        }
    }
    Ok(out)
}

/// The built-in defaults, as settings, from the constants the plan uses.
/// Settings left `None` have no default: they are found, detected or
/// simply absent.
fn built_in() -> Settings {
    let retry = RetryPolicy::default();
    let text = |d: Duration| Some(humantime::format_duration(d).to_string());
    Settings {
        base_url: Some(DEFAULT_BASE_URL.into()),
        api_key_env: Some(DEFAULT_API_KEY_ENV.into()),
        rate: Some(RateSetting::PerSecond(DEFAULT_RATE)),
        burst: Some(DEFAULT_BURST),
        concurrency: Some(DEFAULT_CONCURRENCY),
        request_timeout: text(DEFAULT_REQUEST_TIMEOUT),
        connect_timeout: text(DEFAULT_CONNECT_TIMEOUT),
        fsync: Some(false),
        retry_ambiguous: Some(false),
        allow_duplicates: Some(false),
        circuit_breaker: Some(DEFAULT_CIRCUIT_BREAKER),
        phone_validation: Some(Strictness::default()),
        allow_extensions: Some(false),
        allow_premium: Some(false),
        flexible: Some(false),
        retry: RetrySettings {
            max_attempts: Some(retry.max_attempts),
            initial_backoff: text(retry.initial_backoff),
            max_backoff: text(retry.max_backoff),
            max_elapsed: text(retry.max_elapsed),
            max_wait: text(retry.max_wait),
        },
        ..Settings::default()
    }
}

/// Looks for the key without showing it: only whether it loads.
fn key_status(plan: &Plan) -> KeyStatus {
    let loaded = plan.load_key();
    KeyStatus {
        found: loaded.is_ok(),
        from: plan.key_source.to_string(),
        problem: loaded.err().map(|err| format!("{err:#}")),
    }
}

/// What an unset setting without a default means, for people.
fn unset_meaning(key: &str) -> &'static str {
    match key {
        "phone_column" => "(found by name)",
        "delimiter" => "(detected)",
        "encoding" => "(byte-order mark, else utf-8)",
        "context_columns" => "(every other column)",
        "exclude_columns" => "(none)",
        "redial" => "(none: no redials)",
        "redial_after" => "1h (when redialing)",
        "max_calls" => "1, or 2 with redial",
        "max_calls_per_number_per_day" | "per_number_rate" => "(no limit)",
        "hours.windows" => "(any time of day)",
        "hours.days" => "(every day)",
        "until_window_closes" => "false",
        "start_at" => "(now)",
        "suppress" | "region_column" | "hours.timezone_column" => "(none)",
        "from_number_id" | "from_number_ids" => "(not sent: the platform picks)",
        _ => "(not set)",
    }
}

/// The resolution as a table.
fn to_text(r: &Resolution) -> String {
    let mut out = format!("contacts: {}\n", r.contacts);
    if let Some(campaign) = &r.campaign {
        out += &format!("campaign: {campaign}\n");
    }
    out += &format!("outcome file: {}\n\n", r.outcome_file);
    let width = r.settings.keys().map(String::len).max().unwrap_or(0) + 2;
    let rows: Vec<(&String, String, &Resolved)> = r
        .settings
        .iter()
        .map(|(key, s)| (key, value_text(key, &s.value), s))
        .collect();
    let value_width = rows
        .iter()
        .map(|(_, v, _)| v.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    out += &format!(
        "  {:<width$}{:<value_width$}{}\n",
        "setting", "value", "from"
    );
    for (key, value, s) in rows {
        out += &format!("  {key:<width$}{value:<value_width$}{}\n", source_text(s));
    }
    out += &match (&r.api_key.found, &r.api_key.problem) {
        (true, _) => format!("\nAPI key: found in {}\n", r.api_key.from),
        (false, Some(problem)) => format!("\nAPI key: {problem}\n"),
        (false, None) => format!("\nAPI key: not found in {}\n", r.api_key.from),
    };
    out
}

/// A setting's value as the table shows it.
fn value_text(key: &str, value: &Value) -> String {
    match value {
        Value::Null => unset_meaning(key).to_string(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// A JSON value as plain text (strings without quotes).
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Where a value came from, naming the flag or variable.
fn source_text(s: &Resolved) -> String {
    match (s.source, &s.flag, &s.env) {
        (Source::Default, _, _) => "default".into(),
        (Source::CampaignFile, _, _) => "campaign file".into(),
        (Source::Flag, Some(flag), _) => format!("flag {flag}"),
        (Source::Environment, _, Some(var)) => format!("environment {var}"),
        (Source::Flag, None, _) => "flag".into(),
        (Source::Environment, _, None) => "environment".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_has_a_flag_on_run_and_config() {
        let command = Cli::command();
        for sub in ["run", "config"] {
            let cmd = command.find_subcommand(sub).unwrap();
            for key in setting_names().unwrap() {
                let arg = cmd
                    .get_arguments()
                    .find(|a| a.get_id() == flag_id(&key).as_str());
                let long = arg.and_then(|a| a.get_long());
                assert_eq!(
                    long.map(str::to_string),
                    Some(flag_id(&key).replace('_', "-")),
                    "`{sub}` has no flag for the setting {key}"
                );
            }
        }
    }

    #[test]
    fn the_retry_table_is_flattened() {
        let names = setting_names().unwrap();
        assert!(
            names.contains(&"retry.max_backoff".to_string()),
            "{names:?}"
        );
        assert!(names.contains(&"agent_id".to_string()), "{names:?}");
        assert!(!names.contains(&"retry".to_string()), "{names:?}");
    }

    #[test]
    fn defaults_match_what_the_plan_applies() {
        let plan = Plan::from_settings(built_in(), "list.csv".as_ref(), None).unwrap();
        let default = Plan::from_settings(Settings::default(), "list.csv".as_ref(), None).unwrap();
        assert_eq!(format!("{plan:?}"), format!("{default:?}"));
    }
}
