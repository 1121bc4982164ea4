//! `omnidial report`: a campaign summary read from an outcome file, finished
//! or still being written.
//!
//! A running campaign's file is an append-only log, so the same contact can
//! appear several times; [`fold`] decides, in two streaming passes, which
//! record speaks for each contact, following the rules of the ledger and of
//! compaction (the last final record wins; an intent with no later result
//! may have placed a call, so it counts as `unknown`). [`text`] draws the
//! tables a person reads; the JSON form is this module's types, serialized.
//! Neither pass keeps more than a few bytes per contact.

mod fold;
#[cfg(test)]
mod tests;
mod text;

use serde::Serialize;

pub use fold::read;

/// Failure reasons listed, the most frequent first.
pub const TOP_REASONS: usize = 10;

/// Rows of `unknown` contacts listed by number.
pub const FIRST_UNKNOWN_ROWS: usize = 10;

/// What an outcome file says about a campaign.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CampaignReport {
    /// The outcome file.
    pub file: String,
    /// Records read (a compacted file holds one per contact).
    pub records: u64,
    /// Contacts and rows with a verdict, each counted once.
    pub contacts: u64,
    /// Whether a partial last line (a record being written) was passed over.
    pub partial_last_line: bool,
    /// Contacts by status.
    pub by_status: StatusCounts,
    /// Failed contacts by reason.
    pub failures: Failures,
    /// Contacts that may have been called.
    pub unknown: UnknownContacts,
    /// The calls' results, when the file was reconciled.
    pub calls: Option<CallResults>,
}

/// Contacts by where they stand.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusCounts {
    /// The API accepted the call.
    pub dispatched: u64,
    /// Certainly not placed.
    pub failed: u64,
    /// Rows that cannot be dialed.
    pub invalid: u64,
    /// Rows deliberately not dialed.
    pub skipped: u64,
    /// May have been placed: a request left and its answer was lost, or an
    /// intent has no result yet.
    pub unknown: u64,
    /// Handed back before being called: a resume dials them.
    pub pending: u64,
}

/// Failed contacts grouped by the reason recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Failures {
    /// Failed contacts.
    pub total: u64,
    /// Distinct reasons.
    pub distinct_reasons: u64,
    /// The most frequent reasons, at most [`TOP_REASONS`], by count then
    /// by text.
    pub top: Vec<ReasonCount>,
}

/// One failure reason and how many contacts it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    /// The `error` text, as recorded (empty when none was).
    pub reason: String,
    /// Contacts.
    pub count: u64,
}

/// Contacts whose call may have been placed, which a reconcile settles.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UnknownContacts {
    /// How many.
    pub count: u64,
    /// The lowest rows, at most [`FIRST_UNKNOWN_ROWS`].
    pub first_rows: Vec<u64>,
}

/// Call results joined by `omnidial reconcile`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallResults {
    /// Calls answered and finished.
    pub completed: u64,
    /// The line was busy.
    pub busy: u64,
    /// Nobody answered.
    pub no_answer: u64,
    /// The call failed.
    pub failed: u64,
    /// Any other result the platform gave.
    pub other: u64,
    /// Dispatched contacts whose call has no result in the file yet.
    pub no_result: u64,
    /// Sum of call durations, in minutes.
    pub total_minutes: f64,
    /// Sum of call costs, in the account's currency.
    pub total_cost: f64,
    /// completed / calls with a result, from 0 to 1; none without calls.
    pub answer_rate: Option<f64>,
}

impl CallResults {
    /// Calls that have a result.
    pub fn with_result(&self) -> u64 {
        self.completed + self.busy + self.no_answer + self.failed + self.other
    }

    /// Counts one call's status, as the call logs spell it.
    fn count(&mut self, status: &str) {
        let status = status.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        match status.as_str() {
            "completed" => self.completed += 1,
            "busy" => self.busy += 1,
            "no-answer" => self.no_answer += 1,
            "failed" => self.failed += 1,
            _ => self.other += 1,
        }
    }

    /// Sets the answer rate once every call is counted.
    fn finish(&mut self) {
        let with_result = self.with_result();
        self.answer_rate = (with_result > 0).then(|| self.completed as f64 / with_result as f64);
    }
}

impl CampaignReport {
    /// The report as tables for a terminal.
    pub fn to_text(&self) -> String {
        text::render(self)
    }
}
