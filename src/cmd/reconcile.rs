//! `omnidial reconcile`: joins the platform's call logs to an outcome file.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::api::{ApiClient, ClientSettings};
use crate::campaign::{Plan, RateSetting, Settings};
use crate::limiter::Pacer;
use crate::progress::say;
use crate::reconcile;

/// Examples for `reconcile --help`.
const EXAMPLES: &str = "\
Examples:
  omnidial reconcile contacts.outcome.csv --campaign june.toml
  omnidial reconcile contacts.outcome.csv --api-key-file /run/secrets/omnidim";

/// `omnidial reconcile`.
#[derive(Debug, Clone, Args)]
#[command(after_help = EXAMPLES)]
pub struct ReconcileArgs {
    /// The outcome file to complete.
    pub outcomes: PathBuf,

    /// Campaign file (TOML) for the base URL, key source and rate.
    #[arg(long, value_name = "FILE")]
    pub campaign: Option<PathBuf>,

    /// API base URL [default: the OmniDimension API].
    ///
    /// The default is https://backend.omnidim.io/api/v1; plain http only to
    /// a loopback host.
    #[arg(long, value_name = "URL", env = crate::cli::BASE_URL_ENV, hide_env_values = true)]
    pub base_url: Option<String>,

    #[command(flatten)]
    pub key: crate::cli::KeyArgs,

    /// Requests per second to the call logs [default: the campaign's rate].
    #[arg(long, value_name = "RATE")]
    pub rate: Option<String>,
}

/// Reads every call log and rewrites the outcome file with the results.
pub async fn execute(args: ReconcileArgs) -> anyhow::Result<i32> {
    let file = match &args.campaign {
        Some(path) => Settings::from_file(path)?,
        None => Settings::default(),
    };
    let flags = Settings {
        base_url: args.base_url.clone(),
        api_key_env: args.key.api_key_env.clone(),
        api_key_file: args.key.api_key_file.clone(),
        rate: args.rate.clone().map(RateSetting::Text),
        ..Settings::default()
    };
    let plan = Plan::from_settings(
        file.merge(flags),
        &args.outcomes,
        Some(args.outcomes.clone()),
    )?;
    // A run and a reconcile must not rewrite the same file at once.
    let lock = std::fs::File::open(&args.outcomes)
        .with_context(|| format!("cannot open {}", args.outcomes.display()))?;
    lock.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "{} is in use by a running omnidial",
            args.outcomes.display()
        )
    })?;
    let wanted = reconcile::wanted(&args.outcomes)?;
    let key = plan.load_key()?;

    let client = ApiClient::new(
        &ClientSettings {
            base_url: plan.base_url.clone(),
            request_timeout: plan.request_timeout,
            connect_timeout: plan.connect_timeout,
            max_idle: 1,
        },
        &key,
    )?;
    let pacer = Pacer::new(plan.rate, 1);
    let (index, logs) = reconcile::read_logs(&client, &pacer, &wanted).await?;
    let mut stats = reconcile::apply(&args.outcomes, &index)?;
    stats.logs = logs;
    drop(lock);

    say(&format!(
        "reconciled {}: {} logs read, {} calls matched, {} unknown found placed, {} unknown \
         not found (safe to redial with --resume --redial-unknown)",
        args.outcomes.display(),
        stats.logs,
        stats.matched,
        stats.found,
        stats.not_found
    ));
    Ok(0)
}
