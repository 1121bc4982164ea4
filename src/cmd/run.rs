//! `omnidial run`: checks everything, opens the outcome log, starts the
//! pipeline, and summarizes. Every check that can fail runs before the first
//! call, so a bad list or setting costs nothing.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use super::{EXIT_STOPPED, Failure};
use crate::api::{ApiClient, ClientSettings};
use crate::callers::CallerPool;
use crate::campaign::{ApiKey, Plan};
use crate::cli::{Format, RunArgs};
use crate::controls::Gate;
use crate::limiter::Pacer;
use crate::outcome::{self, OpenMode, OpenedLog, compact::compact, place::SavedBeside, writer};
use crate::pipeline::{self, Dialer, Stop};
use crate::progress::{Progress, say};
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::screen::{Redial, Screen};
use crate::summary::{Ending, Summary, Tally};
use crate::waiting::{Clock, Schedule, wait_for_start};

/// Runs a campaign (or a dry run) and returns the exit code.
pub async fn execute(args: RunArgs) -> anyhow::Result<i32> {
    let settings = args.settings()?;
    if args.dry_run {
        let redial = Redial {
            failed: args.retry_failed,
            not_found: args.redial_unknown,
            unknown: false,
        };
        return super::validate::run_dry(&args.list, &args.report, settings, redial);
    }
    let report = &args.report;
    if report.show > 0 || report.rejects.is_some() || report.format != Format::Text {
        anyhow::bail!("--show, --rejects and --format describe a dry run: add --dry-run");
    }
    let plan = Plan::from_settings(settings, &args.list.contacts, args.list.out.clone())?;
    crate::phone::load_in_background(plan.default_region);
    let agent_id = plan.require_agent()?;
    if let Some(path) = &args.summary_json {
        // Found only at the end, a bad path would cost the summary of a
        // whole campaign.
        crate::summary::check_destination(path)?;
    }
    // Before anything else: a missing do-not-call list must cost nothing.
    // A redial without --resume is harmless: a new outcome file holds no
    // earlier call to redial, and an existing one is refused below.
    let mut gate = Gate::open(&plan.controls, plan.default_region.as_ref(), &plan.out)?;
    for warning in gate.suppression.warnings() {
        tracing::warn!("{warning}");
    }
    let (layout, stats) = super::scan_list(&plan)?;
    gate.learn_do_not_call(
        &plan.contacts,
        &plan.read,
        &layout,
        &plan.phone,
        plan.default_region.as_ref(),
    )?;

    // A real run needs a key and a reachable API before it touches the
    // outcome file, so a failed start leaves nothing behind to trip over.
    let mut reachable = None;
    let key = if args.sandbox {
        ApiKey::sandbox()
    } else {
        let key = plan
            .load_key()
            .map_err(|err| anyhow::anyhow!("{err:#}; to rehearse without a key, add --sandbox"))?;
        let client = api_client(&plan, plan.base_url.clone(), &key)?;
        client.check_reachable().await.map_err(|err| Failure {
            code: EXIT_STOPPED,
            message: format!("{err:#}"),
        })?;
        reachable = Some(client);
        key
    };
    let contacts = usize::try_from(stats.records).unwrap_or(0);
    let mut log = open_log(&args, &plan, contacts)?;
    if log.ledger.saw_repeated_numbers() && !plan.allow_duplicates {
        anyhow::bail!(
            "{} records one number dialed on several rows: that campaign allowed duplicates; \
             resume it with --allow-duplicates (or allow_duplicates = true) so each row keeps \
             its own record",
            plan.out.display()
        );
    }
    let (sandbox, base_url) = if args.sandbox {
        let sandbox = Sandbox::start(SandboxConfig::default(), 0).await?;
        let url = sandbox.base_url();
        say(&format!("sandbox: a simulated API is serving on {url}"));
        (Some(sandbox), url)
    } else {
        (None, plan.base_url.clone())
    };

    let client = match reachable {
        Some(client) => client,
        None => api_client(&plan, base_url, &key)?,
    };
    let file = log
        .file
        .try_clone()
        .context("cannot reuse the outcome file handle")?;
    let (writer, flusher) = writer::spawn(file, log.columns.clone(), plan.fsync);
    for repair in std::mem::take(&mut log.repairs) {
        writer.record(repair).await?;
    }

    let redial = Redial {
        failed: args.retry_failed,
        not_found: args.redial_unknown || plan.retry_ambiguous,
        unknown: plan.retry_ambiguous,
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
    )
    .with_gate(gate);

    let tally = Arc::new(Tally::default());
    let stop = Stop::default();
    watch_ctrl_c(stop.clone());
    let schedule = Schedule {
        hours: plan.controls.hours.clone(),
        until_window_closes: plan.controls.until_window_closes,
        clock: Clock::system(),
    };
    let dialer = Arc::new(
        Dialer::new(
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
        )
        .with_callers(CallerPool::new(
            plan.controls.from_number_ids.clone(),
            plan.controls.per_number_rate,
        ))
        .with_schedule(schedule.clone()),
    );

    tracing::info!(contacts = stats.records, out = %plan.out.display(), "campaign starting");
    let started = Instant::now();
    if let Some(start_at) = plan.controls.start_at {
        wait_for_start(start_at, &schedule.clock, dialer.stop.stopped()).await;
    }
    let progress = Progress::start(Some(stats.records), tally.clone(), args.quiet);
    // More lanes than contacts would only wait.
    let lanes = plan
        .concurrency
        .min(usize::try_from(stats.records).unwrap_or(usize::MAX).max(1));
    let ending = pipeline::run(dialer.clone(), rows, screen, lanes).await;
    progress.finish();
    drop(dialer);

    // Calls may have been placed by now, so a failure from here on is no
    // longer unusable input (exit 2): it stops the run, which still ends
    // with its summary (exit 3).
    let written = flusher.finish().await;
    let closed = close_log(&log.file, written, ending, &plan);
    drop(log);
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    finish(&args, closed, tally, started, &plan, stats.records)
}

/// What stopped a run at its end, once calls may have been placed.
#[derive(Debug)]
struct LateFailure {
    /// Why, on one line.
    message: String,
    /// Where the run's records were saved, when another file took the
    /// outcome file's place.
    saved: Option<std::path::PathBuf>,
}

impl From<String> for LateFailure {
    fn from(message: String) -> LateFailure {
        LateFailure {
            message,
            saved: None,
        }
    }
}

/// Ends the outcome log (open as `log`) after the pipeline: puts it back
/// at its path if it was deleted or moved meanwhile, and compacts it when
/// the writer and the pipeline both ended cleanly. Returns how the run
/// ended, or what stopped it at the end.
fn close_log(
    log: &std::fs::File,
    written: std::io::Result<std::fs::File>,
    ending: anyhow::Result<Ending>,
    plan: &Plan,
) -> Result<Ending, LateFailure> {
    // Held until compaction is over: a restored log is locked through it.
    let _placement = place_log(log, written, plan)?;
    let out = plan.out.display();
    // A failed pipeline may have left intents without results (a lane
    // that panicked, say); as after a failed write, a resume repairs them.
    let ending = ending.map_err(|err| {
        format!(
            "{err:#}; the outcome file {out} is left as a log, and --resume \
             continues from it"
        )
    })?;

    let compacting = Instant::now();
    let kept = compact(&plan.out, plan.allow_duplicates, plan.fsync).map_err(|err| {
        format!(
            "cannot compact {out}: {err:#}; the log is whole, and --resume \
             continues from it"
        )
    })?;
    tracing::info!(
        rows = kept,
        elapsed_ms = compacting.elapsed().as_millis() as u64,
        "outcome file compacted"
    );
    Ok(ending)
}

/// Makes sure the log is where a resume looks, whatever else failed, and
/// stops the run if it is not, or if the writer failed (`written`).
///
/// A log the writer could not finish may hold intents without results.
/// Compaction keeps only results, so it would forget those calls and a
/// resume would dial them again; left as it is, the log is repaired by the
/// resume instead.
fn place_log(
    log: &std::fs::File,
    written: std::io::Result<std::fs::File>,
    plan: &Plan,
) -> Result<outcome::place::Placement, LateFailure> {
    let placed = outcome::place::keep_in_place(log, &plan.out, plan.fsync);
    let written = written.map_err(|err| {
        format!(
            "cannot write the outcome file {}: {err}; the records written \
             before are kept and --resume continues from them",
            plan.out.display()
        )
    });
    match (written, placed) {
        (Ok(_), Ok(placement)) => Ok(placement),
        (Err(unwritten), Ok(_)) => Err(unwritten.into()),
        (written, Err(misplaced)) => {
            let saved = misplaced.downcast_ref::<SavedBeside>();
            Err(LateFailure {
                saved: saved.map(|saved| saved.saved.clone()),
                message: match written {
                    Ok(_) => format!("{misplaced:#}"),
                    Err(unwritten) => format!("{unwritten}; {misplaced:#}"),
                },
            })
        }
    }
}

/// Opens the outcome log in the mode the flags ask for, and reports what
/// it found.
fn open_log(args: &RunArgs, plan: &Plan, contacts: usize) -> anyhow::Result<OpenedLog> {
    let mode = if args.resume {
        OpenMode::Resume
    } else if args.fresh {
        OpenMode::Fresh
    } else {
        OpenMode::New
    };
    if args.resume {
        for saved in outcome::place::saved_beside(&plan.out) {
            tracing::warn!(
                "{} is a log an earlier run saved when another file took the outcome file's \
                 place; if it is this campaign's, resume it instead (--out {})",
                saved.display(),
                saved.display()
            );
        }
    }
    let log = outcome::open_for_run(&plan.out, mode, plan.allow_duplicates, plan.fsync, contacts)?;
    if let Some(old) = &log.moved_aside {
        say(&format!(
            "moved the earlier outcome file to {}",
            old.display()
        ));
    }
    if let Some(warning) = &log.torn_warning {
        tracing::warn!("{warning}");
    }
    if let Some(warning) = &log.nothing_to_resume {
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

/// First Ctrl-C (or SIGTERM, as service managers send): stop taking
/// contacts and let calls in flight finish. Second: leave at once; every
/// record already written stays valid, and a resume repairs the rest.
fn watch_ctrl_c(stop: Stop) {
    tokio::spawn(async move {
        if interrupted().await.is_err() {
            return;
        }
        say("stopping: finishing the calls in flight (Ctrl-C or the signal again quits at once)");
        stop.interrupt();
        if interrupted().await.is_ok() {
            say("stopped at once; continue the campaign with --resume");
            std::process::exit(130);
        }
    });
}

/// Resolves at the next Ctrl-C, SIGTERM or SIGHUP.
async fn interrupted() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        // A closed terminal (a dropped SSH session) stops the run in order
        // rather than killing it with calls in flight.
        let mut hangup = signal(SignalKind::hangup())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
            _ = hangup.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

/// Prints the summary, writes it as JSON if asked, and picks the exit code.
/// A failure at the end (`closed`) or in writing the JSON still shows the
/// summary, then stops the run (exit 3) with its message.
fn finish(
    args: &RunArgs,
    closed: Result<Ending, LateFailure>,
    tally: Arc<Tally>,
    started: Instant,
    plan: &Plan,
    records: u64,
) -> anyhow::Result<i32> {
    let (ending, mut failure, records_in) = match closed {
        Ok(ending) => (ending, None, plan.out.clone()),
        Err(late) => (
            Ending::Stopped(late.message.clone()),
            Some(late.message),
            late.saved.unwrap_or_else(|| plan.out.clone()),
        ),
    };
    let mut counts = tally.snapshot();
    // Rows the reader never reached after a stop are not attempted either.
    counts.not_attempted += records.saturating_sub(counts.rows);
    let summary = Summary::new(ending, counts, started.elapsed(), records_in);
    // With JSON logs, stderr stays one JSON object a line for the shipper.
    match crate::logging::format() {
        crate::logging::LogFormat::Json => {
            say(&serde_json::json!({ "summary": &summary }).to_string());
        }
        crate::logging::LogFormat::Text => say(&summary.to_text()),
    }
    if let Some(path) = &args.summary_json
        && let Err(err) = summary.write_json(path)
    {
        let message = format!("{err:#}");
        failure = Some(match failure {
            Some(first) => format!("{first}; {message}"),
            None => message,
        });
    }
    match failure {
        Some(message) => Err(Failure {
            code: EXIT_STOPPED,
            message,
        }
        .into()),
        None => Ok(summary.exit_code),
    }
}

/// The API client for a run against `base_url`.
fn api_client(plan: &Plan, base_url: String, key: &ApiKey) -> anyhow::Result<ApiClient> {
    ApiClient::new(
        &ClientSettings {
            base_url,
            request_timeout: plan.request_timeout,
            connect_timeout: plan.connect_timeout,
            max_idle: plan.concurrency,
        },
        key,
    )
}
