//! The campaign's memory, rebuilt from the outcome log at start-up: what
//! happened to each contact in earlier runs, plus which contacts this run has
//! already seen. The screen asks it before any row may be dialed.
//!
//! Contacts are keyed by their E.164 number (as an integer, 8 bytes), or by
//! number and row when the campaign allows duplicates. Row verdicts
//! (`invalid`, `skipped`) are kept by row number only: the list itself
//! re-derives them on every run.

use std::collections::{HashMap, HashSet};

use foldhash::fast::RandomState;

use super::record::{Record, Status};

/// What earlier runs left for one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prior {
    /// No earlier record: dial it.
    #[default]
    New,
    /// Dispatched already; never dial again.
    Dispatched,
    /// Certainly not placed, but refused or out of attempts; dialed again
    /// only with `--retry-failed`.
    Failed,
    /// May have been placed, and no reconcile has looked for the call yet;
    /// dialed again only with `--retry-ambiguous`.
    Unknown,
    /// Was unknown, and a reconcile found no call in the call logs; dialed
    /// again with `--redial-unknown`.
    NotFound,
}

/// One contact's entry: its prior state and, once this run has read it, the
/// row where it first appeared.
#[derive(Debug, Clone, Copy, Default)]
pub struct Entry {
    /// What earlier runs left.
    pub prior: Prior,
    /// Row of the first occurrence in this run's list; 0 until seen.
    pub first_row: u32,
}

/// How reconcile marks an `unknown` contact whose call it did not find in
/// the call logs; only such contacts may be redialed with
/// `--redial-unknown`.
pub const NOT_FOUND_NOTE: &str = "reconciled: no call found in the call logs";

/// The key of a contact: the digits of its E.164 number, or `None` when the
/// text is not an E.164 number.
pub fn number_key(to_number: &str) -> Option<u64> {
    let digits = to_number.strip_prefix('+')?;
    if !(1..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What one log record tells the ledger, without its text: small and
/// `Copy`, so a reader thread can hand them over by the thousand.
#[derive(Debug, Clone, Copy)]
pub struct Fold {
    /// The record's row.
    row: u64,
    /// The number as a key, if the record names one.
    number: Option<u64>,
    /// The record's status.
    status: Status,
    /// An `unknown` that a reconcile did not find in the call logs.
    not_found: bool,
    /// Calls placed so far, this record's included.
    calls: u32,
    /// When the record was made.
    at: jiff::Timestamp,
}

impl Fold {
    /// The ledger's part of a record.
    pub fn of(rec: &Record) -> Fold {
        Fold {
            row: rec.row,
            number: number_key(&rec.to_number),
            status: rec.status,
            not_found: rec.status == Status::Unknown && rec.error.starts_with(NOT_FOUND_NOTE),
            calls: rec.calls,
            at: rec.at,
        }
    }
}

/// Intents without a result so far: requests that may have left before a
/// crash. Kept apart from the ledger so that whoever reads the log can
/// track them while the ledger folds the rest.
#[derive(Debug, Default)]
pub struct Intents {
    /// Whether contacts are keyed by number and row.
    allow_duplicates: bool,
    /// The open intents, by contact.
    open: HashMap<(u64, u64), Record>,
}

impl Intents {
    /// No open intents, for a campaign that does or does not allow
    /// duplicates.
    pub fn new(allow_duplicates: bool) -> Intents {
        Intents {
            allow_duplicates,
            open: HashMap::new(),
        }
    }

    /// Follows one log record (`fold` is its summary), in file order: an
    /// intent opens, any other record of the contact closes it.
    pub fn track(&mut self, rec: &Record, fold: &Fold) {
        if rec.status.is_row_verdict() {
            return;
        }
        let Some(number) = fold.number else {
            return;
        };
        let key = (number, if self.allow_duplicates { rec.row } else { 0 });
        if rec.status == Status::Sending {
            self.open.insert(key, rec.clone());
        } else if !self.open.is_empty() {
            self.open.remove(&key);
        }
    }
}

/// Prior states of every contact and row verdict in the log.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Contacts by number (the default). Hashed with foldhash rather than
    /// the standard SipHash: a resume looks up every contact of the list
    /// here, and at a million contacts SipHash was a tenth of the time to
    /// the first call. The keys are phone numbers, not an attacker's
    /// choice of collisions worth defending against.
    by_number: HashMap<u64, Entry, RandomState>,
    /// Contacts by number and row, used instead when duplicates are allowed.
    by_number_row: HashMap<(u64, u64), Entry, RandomState>,
    /// Whether contacts are keyed by number and row.
    allow_duplicates: bool,
    /// Rows that already carry a verdict (`invalid` or `skipped`).
    row_verdicts: HashSet<u64>,
    /// Intents without a result: requests that may have left before a crash.
    dangling: Intents,
    /// How many records the log held.
    records: u64,
    /// When each number was dispatched, kept only when duplicates are
    /// allowed: then one number can be called several times a day, and
    /// the daily cap needs the times.
    dispatch_times: HashMap<u64, Vec<jiff::Timestamp>>,
    /// Whether one number was dispatched as two contacts (first calls on
    /// two rows): the campaign ran with duplicates allowed.
    saw_repeated_numbers: bool,
}

impl Ledger {
    /// An empty ledger for a new campaign.
    pub fn new(allow_duplicates: bool) -> Ledger {
        Ledger {
            allow_duplicates,
            dangling: Intents::new(allow_duplicates),
            ..Ledger::default()
        }
    }

    /// Folds one log record, in file order, into the ledger.
    pub fn apply(&mut self, rec: &Record) {
        let fold = Fold::of(rec);
        self.dangling.track(rec, &fold);
        self.fold(fold);
    }

    /// Folds the ledger's part of one log record, in file order; the
    /// record's intent, if any, is tracked apart (see [`Intents`]).
    pub fn fold(&mut self, rec: Fold) {
        self.records += 1;
        if rec.status.is_row_verdict() {
            self.row_verdicts.insert(rec.row);
            return;
        }
        let Some(number) = rec.number else {
            return;
        };
        let prior = match rec.status {
            Status::Sending | Status::Released => return,
            Status::Dispatched => Prior::Dispatched,
            Status::Unknown if rec.not_found => Prior::NotFound,
            Status::Unknown => Prior::Unknown,
            _ => Prior::Failed,
        };
        if rec.status == Status::Dispatched && self.allow_duplicates {
            self.dispatch_times.entry(number).or_default().push(rec.at);
        }
        // One lookup a record: at a million records each is a cache miss.
        let entry = self.entry(number, rec.row);
        let repeated =
            rec.status == Status::Dispatched && entry.prior == Prior::Dispatched && rec.calls <= 1;
        entry.prior = prior;
        self.saw_repeated_numbers |= repeated;
    }

    /// Whether contacts are keyed by number and row.
    pub fn allows_duplicates(&self) -> bool {
        self.allow_duplicates
    }

    /// Whether an intent for `row` is still without a result.
    pub fn has_open_intent(&self, row: u64) -> bool {
        self.dangling.open.values().any(|rec| rec.row == row)
    }

    /// Takes over the intents tracked while the log was folded elsewhere.
    pub fn adopt_intents(&mut self, intents: Intents) {
        self.dangling = intents;
    }

    /// Takes the intents that never got a result, marking their contacts
    /// `Unknown`. The caller records them as `unknown` in the log.
    pub fn take_dangling(&mut self) -> Vec<Record> {
        let mut dangling: Vec<Record> = self.dangling.open.drain().map(|(_, rec)| rec).collect();
        dangling.sort_by_key(|rec| rec.row);
        for rec in &dangling {
            if let Some(number) = number_key(&rec.to_number) {
                self.entry(number, rec.row).prior = Prior::Unknown;
            }
        }
        dangling
    }

    /// Marks a contact `Unknown` (a torn record that named it).
    pub fn mark_unknown(&mut self, number: u64, row: u64) {
        self.entry(number, row).prior = Prior::Unknown;
    }

    /// The entry of a contact, created empty if new.
    pub fn entry(&mut self, number: u64, row: u64) -> &mut Entry {
        if self.allow_duplicates {
            self.by_number_row.entry((number, row)).or_default()
        } else {
            self.by_number.entry(number).or_default()
        }
    }

    /// Makes room for `contacts` contacts in all, at once. Growing one
    /// step at a time holds the old table and the new, twice as large, at
    /// the same moment: at a million contacts that was 17 MiB more at the
    /// peak. A resumed campaign's list mostly names contacts already here.
    pub fn reserve(&mut self, contacts: usize) {
        if self.allow_duplicates {
            let more = contacts.saturating_sub(self.by_number_row.len());
            self.by_number_row.reserve(more);
        } else {
            let more = contacts.saturating_sub(self.by_number.len());
            self.by_number.reserve(more);
        }
    }

    /// Whether the row already has an `invalid` or `skipped` record.
    pub fn has_row_verdict(&self, row: u64) -> bool {
        self.row_verdicts.contains(&row)
    }

    /// When earlier runs dispatched calls to `number` (only kept when
    /// duplicates are allowed).
    pub fn dispatch_times(&self, number: u64) -> &[jiff::Timestamp] {
        self.dispatch_times.get(&number).map_or(&[], Vec::as_slice)
    }

    /// Whether the log shows one number dialed as several contacts, which
    /// only a campaign that allowed duplicates does.
    pub fn saw_repeated_numbers(&self) -> bool {
        self.saw_repeated_numbers
    }

    /// How many records the log held when the ledger was built.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// How many contacts are known, by prior state.
    pub fn count(&self, prior: Prior) -> usize {
        let by_number = self.by_number.values();
        let by_row = self.by_number_row.values();
        by_number.chain(by_row).filter(|e| e.prior == prior).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(row: u64, number: &str, status: Status) -> Record {
        Record::new(row, number, status)
    }

    #[test]
    fn number_keys_accept_only_e164() {
        assert_eq!(number_key("+12015550101"), Some(12015550101));
        assert_eq!(number_key("12015550101"), None);
        assert_eq!(number_key("+1 201"), None);
        assert_eq!(number_key("+"), None);
        assert_eq!(number_key("+1234567890123456"), None);
    }

    #[test]
    fn the_last_final_record_wins_and_intents_dangle() {
        let mut ledger = Ledger::new(false);
        ledger.apply(&rec(1, "+12015550101", Status::Sending));
        ledger.apply(&rec(1, "+12015550101", Status::Dispatched));
        ledger.apply(&rec(2, "+12015550102", Status::Sending));
        ledger.apply(&rec(3, "+12015550103", Status::Sending));
        ledger.apply(&rec(3, "+12015550103", Status::Released));
        ledger.apply(&rec(4, "x", Status::Invalid));

        let dangling = ledger.take_dangling();
        assert_eq!(dangling.len(), 1);
        assert_eq!(dangling[0].row, 2);
        assert_eq!(ledger.entry(12015550101, 1).prior, Prior::Dispatched);
        assert_eq!(ledger.entry(12015550102, 2).prior, Prior::Unknown);
        assert_eq!(ledger.entry(12015550103, 3).prior, Prior::New);
        assert!(ledger.has_row_verdict(4));
        assert!(!ledger.has_row_verdict(1));
    }

    #[test]
    fn only_a_reconciled_unknown_may_be_redialed() {
        let mut ledger = Ledger::new(false);
        ledger.apply(&rec(1, "+12015550101", Status::Unknown));
        let mut settled = rec(2, "+12015550102", Status::Unknown);
        settled.error = format!("{NOT_FOUND_NOTE}; safe to redial");
        ledger.apply(&settled);
        assert_eq!(ledger.entry(12015550101, 1).prior, Prior::Unknown);
        assert_eq!(ledger.entry(12015550102, 2).prior, Prior::NotFound);
    }

    #[test]
    fn a_released_retry_keeps_the_earlier_failure() {
        let mut ledger = Ledger::new(false);
        ledger.apply(&rec(1, "+12015550101", Status::Failed));
        ledger.apply(&rec(1, "+12015550101", Status::Sending));
        ledger.apply(&rec(1, "+12015550101", Status::Released));
        assert!(ledger.take_dangling().is_empty());
        assert_eq!(ledger.entry(12015550101, 1).prior, Prior::Failed);
    }

    #[test]
    fn with_duplicates_allowed_the_row_is_part_of_the_key() {
        let mut ledger = Ledger::new(true);
        ledger.apply(&rec(1, "+12015550101", Status::Dispatched));
        assert_eq!(ledger.entry(12015550101, 1).prior, Prior::Dispatched);
        assert_eq!(ledger.entry(12015550101, 2).prior, Prior::New);
    }
}
