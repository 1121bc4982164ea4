//! The verdict on each row before anything is dialed: dial it, reject it as
//! invalid, skip it (duplicate), or leave it alone because an earlier run
//! settled it. `validate` and `run` both call [`Screen::judge`], so a dry run
//! says exactly what a real run will do.

mod examine;

use std::collections::HashMap;

use crate::contacts::{CallContext, Layout, Row};
use crate::controls::{DO_NOT_CALL_REASON, Gate, RowControls};
use crate::outcome::{Ledger, Prior};
use crate::phone::{PhoneRules, Region};
use crate::redial::CallHistory;

use examine::{Candidate, Examined, Examiner};

/// A row that will be dialed.
#[derive(Debug, Clone)]
pub struct Contact {
    /// 1-based data row.
    pub row: u64,
    /// Physical line where the row starts.
    pub line: u64,
    /// The number to send, E.164.
    pub to_number: String,
    /// The phone cell as written in the list.
    pub raw_phone: String,
    /// The region applied to a number without a country code, if any.
    pub assumed_region: Option<Region>,
    /// The call's context.
    pub context: CallContext,
    /// What earlier runs left for this contact.
    pub prior: Prior,
    /// What the row's control columns say (caller number, agent, zone).
    pub controls: RowControls,
    /// Earlier calls, when this is a redial.
    pub history: CallHistory,
}

/// A row that cannot be dialed, with everything a user needs to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// 1-based data row.
    pub row: u64,
    /// Physical line where the row starts.
    pub line: u64,
    /// The column at fault (empty for whole-row faults).
    pub column: String,
    /// The cell's text.
    pub value: String,
    /// What is wrong and how to fix it.
    pub reason: String,
    /// The row's phone cell as written (empty for a ragged row), so the
    /// outcome names the contact whichever cell was at fault.
    pub phone: String,
}

impl Rejection {
    /// One line for the outcome file's `error` column.
    pub fn to_error(&self) -> String {
        if self.column.is_empty() {
            self.reason.clone()
        } else {
            format!("{}: {}", self.column, self.reason)
        }
    }
}

/// What happens to one row.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Dial it.
    Dial(Box<Contact>),
    /// Reject it; never sent.
    Invalid(Rejection),
    /// Deliberately not dialed.
    Skipped {
        /// 1-based data row.
        row: u64,
        /// The number, E.164.
        to_number: String,
        /// Which rule skipped it.
        why: Skip,
        /// Why, in words, e.g. `duplicate of row 1`.
        reason: String,
    },
    /// An earlier run settled it (dispatched, or failed without
    /// `--retry-failed`); nothing to do.
    Settled {
        /// 1-based data row.
        row: u64,
        /// What the earlier run left.
        prior: Prior,
    },
    /// An earlier request may have placed a call; held back until a
    /// reconcile or an explicit redial.
    HeldUnknown {
        /// 1-based data row.
        row: u64,
        /// The number, E.164.
        to_number: String,
    },
    /// A row with nothing in it (spreadsheet padding); not a contact.
    Blank {
        /// 1-based data row.
        row: u64,
    },
}

/// Largest `call_context` a row may carry, in bytes of keys and values. The
/// API documents no limit; a dispatch carrying more than this is almost
/// certainly a column pasted in by mistake, and an API that refuses it would
/// fail the row only once the campaign runs, so validation says it first.
pub const MAX_CONTEXT_BYTES: usize = 64 * 1024;

/// Rejects a row whose context is larger than `MAX_CONTEXT_BYTES`, naming
/// its largest column.
fn oversized(row: u64, line: u64, context: &CallContext) -> Option<Rejection> {
    let size: usize = context.0.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size <= MAX_CONTEXT_BYTES {
        return None;
    }
    let (column, value) = context.0.iter().max_by_key(|(_, v)| v.len())?;
    Some(Rejection {
        row,
        line,
        column: column.to_string(),
        value: format!(
            "{}… ({} bytes)",
            value.chars().take(40).collect::<String>(),
            value.len()
        ),
        reason: format!(
            "call_context would be {} KiB, more than the {} KiB omnidial sends; shorten \
             `{column}` or leave it out with exclude_columns",
            size / 1024,
            MAX_CONTEXT_BYTES / 1024
        ),
        phone: String::new(),
    })
}

/// The rule that skipped a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Its number is an earlier row's.
    Duplicate,
    /// A suppression list or the row's `do_not_call` cell.
    Suppressed,
    /// `max_calls_per_number_per_day` reached.
    DailyCap,
}

/// Which earlier outcomes may be dialed again.
#[derive(Debug, Clone, Copy, Default)]
pub struct Redial {
    /// Dial contacts whose earlier attempt failed (not placed).
    pub failed: bool,
    /// Dial contacts whose earlier attempt may have been placed and that a
    /// reconcile did not find in the call logs (`--redial-unknown`).
    pub not_found: bool,
    /// Dial every contact whose earlier attempt may have been placed, even
    /// without a reconcile (`--retry-ambiguous`).
    pub unknown: bool,
}

/// Judges rows, remembering the numbers already seen.
#[derive(Debug)]
pub struct Screen {
    /// The checks of single rows.
    examiner: Examiner,
    /// Prior state of every contact, plus who this run has seen.
    ledger: Ledger,
    /// Dial a number again when it repeats in the list.
    allow_duplicates: bool,
    /// Which earlier outcomes are dialed again.
    redial: Redial,
    /// Campaign controls: suppression and the control columns.
    gate: Gate,
    /// Calls this run decided per number, for the daily cap when a number
    /// may repeat in the list.
    calls_today: HashMap<u64, u32>,
}

impl Screen {
    /// A screen over `layout`'s columns with the campaign's rules.
    pub fn new(
        ledger: Ledger,
        layout: &Layout,
        rules: PhoneRules,
        default_region: Option<Region>,
        allow_duplicates: bool,
        redial: Redial,
    ) -> Screen {
        Screen {
            examiner: Examiner {
                rules,
                default_region,
                phone_column: layout.phone_column.as_str().into(),
                region_column: layout.region_column.as_deref().map(Into::into),
                controls: Default::default(),
            },
            ledger,
            allow_duplicates,
            redial,
            gate: Gate::default(),
            calls_today: HashMap::new(),
        }
    }

    /// The campaign's controls, with what they counted.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Applies the campaign's controls (suppression, control columns).
    pub fn with_gate(mut self, gate: Gate) -> Screen {
        self.examiner.controls = gate.controls.clone();
        self.gate = gate;
        self
    }

    /// Whether an earlier run already recorded a verdict for this row, so
    /// the same verdict need not be written again.
    pub fn has_row_verdict(&self, row: u64) -> bool {
        self.ledger.has_row_verdict(row)
    }

    /// Decides what happens to one row.
    pub fn judge(&mut self, row: Row) -> Decision {
        let examined = self.examiner.examine(row);
        self.decide(examined)
    }

    /// Decides what happens to a row already examined on its own; rows must
    /// come in list order, since the first row with a number is the one
    /// dialed.
    fn decide(&mut self, examined: Examined) -> Decision {
        match examined {
            Examined::Blank { row } => Decision::Blank { row },
            Examined::Invalid(rejection) => Decision::Invalid(rejection),
            Examined::Candidate(candidate) => self.admit(*candidate),
        }
    }

    /// With repeated rows allowed, counts a call to `number` against
    /// `max_calls_per_number_per_day` (days in the contact's zone, else
    /// UTC); says why when the cap is reached. Without repeats each number
    /// is called once, and redials count their own calls.
    fn over_daily_cap(&mut self, number: u64, controls: &RowControls) -> Option<String> {
        let cap = self
            .gate
            .controls
            .per_day
            .filter(|_| self.allow_duplicates)?;
        let zone = controls.zone.clone().unwrap_or(jiff::tz::TimeZone::UTC);
        let now = self.gate.fixed_now.unwrap_or_else(jiff::Timestamp::now);
        let today = now.to_zoned(zone.clone()).date();
        let earlier = self
            .ledger
            .dispatch_times(number)
            .iter()
            .filter(|at| at.to_zoned(zone.clone()).date() == today)
            .count() as u32;
        let decided = self.calls_today.entry(number).or_default();
        if earlier + *decided >= cap {
            return Some(format!(
                "max_calls_per_number_per_day reached ({cap} today)"
            ));
        }
        *decided += 1;
        None
    }

    /// Applies dedupe and the prior state to a row with a good number.
    fn admit(&mut self, candidate: Candidate) -> Decision {
        let Candidate {
            row,
            line,
            cells,
            normalized,
            number,
            controls,
        } = candidate;
        let allow_duplicates = self.allow_duplicates;
        let entry = self.ledger.entry(number, row);
        if entry.first_row != 0 && !allow_duplicates {
            return Decision::Skipped {
                row,
                to_number: normalized.e164,
                why: Skip::Duplicate,
                reason: format!("duplicate of row {}", entry.first_row),
            };
        }
        entry.first_row = u32::try_from(row).unwrap_or(u32::MAX);
        let prior = entry.prior;
        // Checked after the number is registered, so that a later row with
        // the same number is skipped as a duplicate rather than dialed.
        let suppressed = self
            .gate
            .suppressed(&normalized.e164)
            .or_else(|| controls.do_not_call.then(|| DO_NOT_CALL_REASON.to_string()));
        if let Some(reason) = suppressed {
            // A contact an earlier run already recorded keeps that record;
            // the opt-out only stops any further call (and a second row).
            return match prior {
                Prior::New => Decision::Skipped {
                    row,
                    to_number: normalized.e164,
                    why: Skip::Suppressed,
                    reason,
                },
                Prior::Unknown | Prior::NotFound => Decision::HeldUnknown {
                    row,
                    to_number: normalized.e164,
                },
                Prior::Dispatched | Prior::Failed => Decision::Settled { row, prior },
            };
        }
        let mut history = CallHistory::default();
        match prior {
            Prior::Dispatched => match self.gate.redial(&normalized.e164, &controls) {
                Some(earlier) => history = earlier,
                None => return Decision::Settled { row, prior },
            },
            Prior::Failed if !self.redial.failed => return Decision::Settled { row, prior },
            Prior::Unknown if !self.redial.unknown => {
                return Decision::HeldUnknown {
                    row,
                    to_number: normalized.e164,
                };
            }
            Prior::NotFound if !self.redial.not_found => {
                return Decision::HeldUnknown {
                    row,
                    to_number: normalized.e164,
                };
            }
            _ => {}
        }
        if let Some(reason) = self.over_daily_cap(number, &controls) {
            return Decision::Skipped {
                row,
                to_number: normalized.e164,
                why: Skip::DailyCap,
                reason,
            };
        }
        Decision::Dial(Box::new(Contact {
            row,
            line,
            to_number: normalized.e164,
            raw_phone: cells.phone,
            assumed_region: normalized.assumed_region,
            context: cells.context,
            prior,
            controls,
            history,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_context_is_rejected_naming_its_largest_column() {
        let small = CallContext(vec![("name".into(), "Ann".into())]);
        assert!(oversized(1, 2, &small).is_none());
        let big = CallContext(vec![
            ("name".into(), "Ann".into()),
            ("notes".into(), "x".repeat(MAX_CONTEXT_BYTES)),
        ]);
        let rejection = oversized(1, 2, &big).unwrap();
        assert_eq!(rejection.column, "notes");
        assert!(
            rejection.reason.contains("exclude_columns"),
            "{}",
            rejection.reason
        );
    }
}
