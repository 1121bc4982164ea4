//! `omnidial run`: checks everything, opens the outcome log, starts the
//! pipeline, and summarizes. Every check that can fail runs before the first
//! call, so a bad list or setting costs nothing.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use super::{EXIT_STOPPED, Failure};
use crate::api::{ApiClient, ClientSettings, check_reachable};
use crate::campaign::{ApiKey, Plan};
use crate::cli::RunArgs;
use crate::limiter::Pacer;
use crate::outcome::{self, OpenMode, OpenedLog, compact::compact, writer};
use crate::pipeline::{self, Dialer, Stop};
use crate::progress::{Progress, say};
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::screen::{Redial, Screen};
use crate::summary::{Ending, Summary, Tally};

/// Runs a campaign (or a dry run) and returns the exit code.
pub async fn execute(args: RunArgs) -> anyhow::Result<i32> {
    let settings = args.settings()?;
    if args.dry_run {
        return super::validate::run_dry(&args.list, &args.report, settings);
    }
    let plan = Plan::from_settings(settings, &args.list.contacts, args.list.out.clone())?;
    let agent_id = plan.require_agent()?;
    let (layout, stats) = crate::contacts::scan(&plan.contacts, &plan.read)?;

    // The sandbox needs no key; a real run refuses to start without one.
    let (sandbox, base_url, key) = if args.sandbox {
        let sandbox = Sandbox::start(SandboxConfig::default(), 0).await?;
        let url = sandbox.base_url();
        say(&format!("sandbox: a simulated API is serving on {url}"));
        (Some(sandbox), url, ApiKey::sandbox())
    } else {
        (None, plan.base_url.clone(), plan.load_key()?)
    };

    let mut log = open_log(&args, &plan)?;
    if sandbox.is_none() {
        check_reachable(&base_url, plan.connect_timeout)
            .await
            .map_err(|err| Failure {
                code: EXIT_STOPPED,
                message: format!("{err:#}"),
            })?;
    }

    let client = ApiClient::new(
        &ClientSettings {
            base_url,
            request_timeout: plan.request_timeout,
            connect_timeout: plan.connect_timeout,
            max_idle: plan.concurrency,
        },
        &key,
    )?;
    let file = log
        .file
        .try_clone()
        .context("cannot reuse the outcome file handle")?;
    let (writer, writer_thread) = writer::spawn(file, log.columns.clone(), plan.fsync);
    for repair in std::mem::take(&mut log.repairs) {
        writer.record(repair).await?;
    }

    let redial = Redial {
        failed: args.retry_failed,
        unknown: args.redial_unknown || plan.retry_ambiguous,
    };
    let rows = crate::contacts::open(&plan.contacts, &plan.read)?;
    let mut ledger = std::mem::take(&mut log.ledger);
    ledger.reserve(usize::try_from(stats.records).unwrap_or(0));
    let screen = Screen::new(
        ledger,
        &layout,
        plan.phone,
        plan.default_region,
        plan.allow_duplicates,
        redial,
    );

    let tally = Arc::new(Tally::default());
    let stop = Stop::default();
    watch_ctrl_c(stop.clone());
    let dialer = Arc::new(Dialer::new(
        client,
        Pacer::new(plan.rate, plan.burst),
        writer,
        tally.clone(),
        plan.retry,
        plan.retry_ambiguous,
        agent_id,
        plan.from_number_id,
        plan.circuit_breaker,
        stop,
    ));

    tracing::info!(contacts = stats.records, out = %plan.out.display(), "campaign starting");
    let started = Instant::now();
    let progress = Progress::start(Some(stats.records), tally.clone(), args.quiet);
    let ending = pipeline::run(dialer.clone(), rows, screen, plan.concurrency).await;
    progress.finish();
    drop(dialer);
    let file = writer_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the outcome writer panicked"))?
        .with_context(|| format!("cannot write the outcome file {}", plan.out.display()))?;
    let ending = ending?;

    let compacting = Instant::now();
    let kept = compact(&plan.out, plan.allow_duplicates)
        .with_context(|| format!("cannot compact {}", plan.out.display()))?;
    tracing::info!(
        rows = kept,
        elapsed_ms = compacting.elapsed().as_millis() as u64,
        "outcome file compacted"
    );
    drop(file);
    drop(log);
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    finish(&args, ending, tally, started, &plan)
}

/// Opens the outcome log in the mode the flags ask for, and reports what
/// it found.
fn open_log(args: &RunArgs, plan: &Plan) -> anyhow::Result<OpenedLog> {
    let mode = if args.resume {
        OpenMode::Resume
    } else if args.fresh {
        OpenMode::Fresh
    } else {
        OpenMode::New
    };
    let log = outcome::open_for_run(&plan.out, mode, plan.allow_duplicates)?;
    if let Some(old) = &log.moved_aside {
        say(&format!(
            "moved the earlier outcome file to {}",
            old.display()
        ));
    }
    if let Some(warning) = &log.torn_warning {
        tracing::warn!("{warning}");
    }
    if log.ledger.records() > 0 {
        tracing::info!(
            records = log.ledger.records(),
            unknown = log.repairs.len(),
            "resuming the campaign in {}",
            plan.out.display()
        );
    }
    Ok(log)
}

/// First Ctrl-C: stop taking contacts and let calls in flight finish.
/// Second: leave at once; every record already written stays valid.
fn watch_ctrl_c(stop: Stop) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        say("stopping: finishing the calls in flight (Ctrl-C again to quit at once)");
        stop.interrupt();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}

/// Prints the summary, writes it as JSON if asked, and picks the exit code.
fn finish(
    args: &RunArgs,
    ending: Ending,
    tally: Arc<Tally>,
    started: Instant,
    plan: &Plan,
) -> anyhow::Result<i32> {
    let summary = Summary::new(
        ending,
        tally.snapshot(),
        started.elapsed(),
        plan.out.clone(),
    );
    say(&summary.to_text());
    if let Some(path) = &args.summary_json {
        let json = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write the summary to {}", path.display()))?;
    }
    Ok(summary.exit_code)
}
