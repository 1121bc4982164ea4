//! What a person at a terminal sees while a run goes on: a progress bar on
//! stderr, redrawn from the shared counters, and log lines that print above
//! it instead of tearing it. Off when stderr is not a terminal, or with
//! `--quiet`.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

use crate::summary::Tally;

/// How often the bar's counters are refreshed.
const REFRESH: Duration = Duration::from_millis(200);

/// The bar on screen, if any; log lines print through it.
static ACTIVE_BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A running progress display.
#[derive(Debug)]
pub struct Progress {
    /// The bar, when one is shown.
    bar: Option<ProgressBar>,
    /// The task that refreshes it.
    ticker: Option<JoinHandle<()>>,
}

impl Progress {
    /// Shows a bar for `total` contacts (unknown: a spinner) fed by `tally`,
    /// unless `quiet` or stderr is not a terminal.
    pub fn start(total: Option<u64>, tally: Arc<Tally>, quiet: bool) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress {
                bar: None,
                ticker: None,
            };
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::new_spinner(),
        };
        bar.set_draw_target(ProgressDrawTarget::stderr());
        let template = "{bar:30} {pos}/{len} contacts  {msg}  eta {eta}";
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        if let Ok(mut active) = ACTIVE_BAR.lock() {
            *active = Some(bar.clone());
        }
        let ticker = tokio::spawn(refresh(bar.clone(), tally));
        Progress {
            bar: Some(bar),
            ticker: Some(ticker),
        }
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(self) {
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
        if let Ok(mut active) = ACTIVE_BAR.lock() {
            *active = None;
        }
    }
}

/// Redraws the counters until aborted.
async fn refresh(bar: ProgressBar, tally: Arc<Tally>) {
    let started = tokio::time::Instant::now();
    loop {
        let dispatched = tally.dispatched.load(Ordering::Relaxed);
        let failed = tally.failed.load(Ordering::Relaxed);
        let rate = dispatched as f64 / started.elapsed().as_secs_f64().max(0.001);
        bar.set_position(tally.done());
        bar.set_message(format!(
            "{dispatched} dispatched, {failed} failed, {rate:.1} calls/s"
        ));
        tokio::time::sleep(REFRESH).await;
    }
}

/// A `tracing` writer for stderr that hides the bar while a line prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LineBuffer;

    fn make_writer(&'a self) -> LineBuffer {
        LineBuffer(Vec::with_capacity(256))
    }
}

/// One log event, buffered so it prints in one piece when dropped.
#[derive(Debug)]
pub struct LineBuffer(Vec<u8>);

impl Write for LineBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineBuffer {
    fn drop(&mut self) {
        print_above_bar(&self.0);
    }
}

/// Writes bytes to stderr, above the bar if one is shown. User messages
/// (warnings about input, the summary) go through here too.
pub fn print_above_bar(bytes: &[u8]) {
    let bar = ACTIVE_BAR.lock().ok().and_then(|b| b.clone());
    let write = || {
        let mut err = std::io::stderr().lock();
        // A closed stderr leaves nowhere to report the failure.
        let _ = err.write_all(bytes);
        let _ = err.flush();
    };
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// Prints a user message line on stderr, above the bar.
pub fn say(message: &str) {
    print_above_bar(format!("{message}\n").as_bytes());
}
