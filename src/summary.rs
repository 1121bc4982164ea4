//! Counting what happens during a run, and the summary printed at its end
//! (also written as JSON with `--summary-json`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// Most `unknown` rows listed by number in the summary.
const MAX_LISTED_UNKNOWN: usize = 20;

/// Live counters, shared by the reader, the workers and the progress bar.
#[derive(Debug, Default)]
pub struct Tally {
    /// Data rows read from the list.
    pub rows: AtomicU64,
    /// Rows queued for dialing.
    pub queued: AtomicU64,
    /// Calls dispatched in this run.
    pub dispatched: AtomicU64,
    /// Contacts failed in this run.
    pub failed: AtomicU64,
    /// Rows rejected as invalid.
    pub invalid: AtomicU64,
    /// Rows skipped (duplicates).
    pub skipped: AtomicU64,
    /// Blank rows passed over.
    pub blank: AtomicU64,
    /// Contacts an earlier run settled (dispatched or failed).
    pub settled: AtomicU64,
    /// Contacts an earlier run settled as failed (not retried).
    pub settled_failed: AtomicU64,
    /// Contacts whose outcome is unknown (this run or held from earlier).
    pub unknown: AtomicU64,
    /// Requests sent, retries included.
    pub requests: AtomicU64,
    /// Contacts queued but not finished when the run stopped; a resume
    /// dials them.
    pub released: AtomicU64,
    /// Rows of unknown contacts, for the summary.
    unknown_rows: Mutex<Vec<u64>>,
    /// The first invalid or failed rows, with why, for the summary.
    problems: Mutex<Vec<Problem>>,
}

/// A row that was not dispatched, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    /// 1-based data row.
    pub row: u64,
    /// `invalid` or `failed`.
    pub status: &'static str,
    /// The outcome's error.
    pub error: String,
}

/// How many problem rows the summary names.
const MAX_LISTED_PROBLEMS: usize = 5;

impl Tally {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Notes a contact whose call may have been placed.
    pub fn note_unknown(&self, row: u64) {
        Tally::bump(&self.unknown);
        if let Ok(mut rows) = self.unknown_rows.lock() {
            rows.push(row);
        }
    }

    /// Notes an invalid or failed row; the summary names the first few.
    pub fn note_problem(&self, row: u64, status: &'static str, error: &str) {
        if let Ok(mut problems) = self.problems.lock()
            && problems.len() < MAX_LISTED_PROBLEMS
        {
            problems.push(Problem {
                row,
                status,
                error: error.to_string(),
            });
        }
    }

    /// Contacts finished so far in this run (for the progress bar).
    pub fn done(&self) -> u64 {
        [
            &self.dispatched,
            &self.failed,
            &self.invalid,
            &self.skipped,
            &self.blank,
            &self.settled,
            &self.unknown,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }

    /// A snapshot for the summary.
    pub fn snapshot(&self) -> Counts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut unknown_rows = self
            .unknown_rows
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default();
        unknown_rows.sort_unstable();
        Counts {
            rows: get(&self.rows),
            dispatched: get(&self.dispatched),
            failed: get(&self.failed),
            invalid: get(&self.invalid),
            skipped: get(&self.skipped),
            blank: get(&self.blank),
            already_done: get(&self.settled),
            earlier_failed: get(&self.settled_failed),
            unknown: get(&self.unknown),
            not_attempted: get(&self.released),
            requests: get(&self.requests),
            unknown_rows,
            first_problems: self.problems.lock().map(|p| p.clone()).unwrap_or_default(),
        }
    }
}

/// Counters at one moment.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    /// Data rows read.
    pub rows: u64,
    /// Dispatched in this run.
    pub dispatched: u64,
    /// Failed in this run.
    pub failed: u64,
    /// Rejected rows.
    pub invalid: u64,
    /// Skipped rows (duplicates).
    pub skipped: u64,
    /// Blank rows passed over.
    pub blank: u64,
    /// Settled by an earlier run.
    pub already_done: u64,
    /// Of those, failed earlier and not retried.
    pub earlier_failed: u64,
    /// May have been placed: need a reconcile.
    pub unknown: u64,
    /// Left for a resume.
    pub not_attempted: u64,
    /// Requests sent, retries included.
    pub requests: u64,
    /// Rows of the unknown contacts.
    pub unknown_rows: Vec<u64>,
    /// The first invalid or failed rows, with why.
    pub first_problems: Vec<Problem>,
}

/// How a run ended.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum Ending {
    /// Every row was dealt with.
    Finished,
    /// A fatal answer stopped it.
    Stopped(String),
    /// Ctrl-C.
    Interrupted,
}

/// The end-of-run summary.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// How the run ended.
    pub ending: Ending,
    /// Counters.
    pub counts: Counts,
    /// Wall time, in seconds.
    pub elapsed_s: f64,
    /// Dispatched calls per second achieved.
    pub calls_per_s: f64,
    /// The outcome file.
    pub outcome_file: PathBuf,
    /// The exit code the run ends with.
    pub exit_code: i32,
}

impl Summary {
    /// Builds the summary and decides the exit code: 3 stopped, 130
    /// interrupted, 1 when anything failed, is invalid or is unknown, else 0.
    pub fn new(
        ending: Ending,
        counts: Counts,
        elapsed: Duration,
        outcome_file: PathBuf,
    ) -> Summary {
        let troubled = counts.failed + counts.invalid + counts.unknown + counts.earlier_failed > 0;
        let exit_code = match ending {
            Ending::Stopped(_) => 3,
            Ending::Interrupted => 130,
            Ending::Finished if troubled => 1,
            Ending::Finished => 0,
        };
        let elapsed_s = elapsed.as_secs_f64();
        let calls_per_s = if elapsed_s > 0.0 {
            counts.dispatched as f64 / elapsed_s
        } else {
            0.0
        };
        Summary {
            ending,
            counts,
            elapsed_s,
            calls_per_s,
            outcome_file,
            exit_code,
        }
    }

    /// Writes the summary as pretty JSON to `path` (`--summary-json`).
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write the summary to {}", path.display()))
    }

    /// The summary as lines for stderr.
    pub fn to_text(&self) -> String {
        let c = &self.counts;
        let mut out = String::new();
        match &self.ending {
            Ending::Finished => out.push_str("campaign finished\n"),
            Ending::Stopped(why) => out.push_str(&format!("campaign stopped: {why}\n")),
            Ending::Interrupted => out.push_str("campaign interrupted; resume with --resume\n"),
        }
        let mut line = |label: &str, n: u64| {
            if n > 0 {
                out.push_str(&format!("  {label:<14}{n:>10}\n"));
            }
        };
        line("dispatched", c.dispatched);
        line("failed", c.failed);
        line("invalid", c.invalid);
        line("skipped", c.skipped);
        line("unknown", c.unknown);
        line("already done", c.already_done);
        line("not attempted", c.not_attempted);
        line("blank rows", c.blank);
        out.push_str(&format!(
            "  {} rows in {:.1}s, {:.1} calls/s, {} requests\n",
            c.rows, self.elapsed_s, self.calls_per_s, c.requests
        ));
        if !c.first_problems.is_empty() {
            out.push_str("  first rows not dispatched (all are in the outcome file):\n");
            for p in &c.first_problems {
                out.push_str(&format!("    row {} {}: {}\n", p.row, p.status, p.error));
            }
        }
        if c.unknown > 0 {
            let listed: Vec<String> = c
                .unknown_rows
                .iter()
                .take(MAX_LISTED_UNKNOWN)
                .map(u64::to_string)
                .collect();
            let more = c.unknown_rows.len().saturating_sub(MAX_LISTED_UNKNOWN);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            out.push_str(&format!(
                "  needs review: rows {}{more} may have been called (status unknown); run \
                 `omnidial reconcile` before dialing them again\n",
                listed.join(", ")
            ));
        }
        out.push_str(&format!(
            "  outcome file: {}\n",
            self.outcome_file.display()
        ));
        out
    }
}

/// Checks, before any call, that the summary can be written to `path`
/// (`--summary-json`): a file there must open for writing, or one must be
/// creatable. Nothing is left changed: a file we create to find out is
/// removed, and one already there keeps its contents until the end.
pub fn check_destination(path: &Path) -> anyhow::Result<()> {
    let context = || format!("cannot write the summary to {}", path.display());
    let mut options = std::fs::OpenOptions::new();
    match options.append(true).open(path) {
        Ok(_) => return Ok(()),
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            return Err(err).with_context(context);
        }
        Err(_) => {}
    }
    options
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(context)?;
    std::fs::remove_file(path).with_context(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_destination_is_checked_without_changing_anything() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("summary.json");
        check_destination(&new).unwrap();
        assert!(!new.exists(), "the probe leaves no file behind");

        std::fs::write(&new, "earlier").unwrap();
        check_destination(&new).unwrap();
        assert_eq!(std::fs::read_to_string(&new).unwrap(), "earlier");

        let nowhere = dir.path().join("missing").join("summary.json");
        let err = check_destination(&nowhere).unwrap_err();
        assert!(
            format!("{err:#}").starts_with(&format!(
                "cannot write the summary to {}",
                nowhere.display()
            )),
            "{err:#}"
        );
        assert!(check_destination(dir.path()).is_err(), "a directory");
    }
}
