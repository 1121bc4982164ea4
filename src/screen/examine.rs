//! The half of judging a row that needs nothing but the row: its shape, its
//! context size, its phone number and its control cells. No memory of other
//! rows is involved; [`Screen::decide`](super::Screen::decide) does the
//! rest, in list order.

use std::sync::Arc;

use crate::contacts::{ContactCells, Row, RowKind};
use crate::controls::{Controls, RowControls};
use crate::outcome::number_key;
use crate::phone::{self, PhoneRules, Region};

use super::{Rejection, oversized};

/// A row after the checks that need only the row itself.
#[derive(Debug)]
pub enum Examined {
    /// A row with nothing in it.
    Blank {
        /// 1-based data row.
        row: u64,
    },
    /// A row that can never be dialed as written.
    Invalid(Rejection),
    /// A row with a good number, still to be checked against the others
    /// and against earlier runs.
    Candidate(Box<Candidate>),
}

/// A row whose number and control cells are good.
#[derive(Debug)]
pub struct Candidate {
    /// 1-based data row.
    pub row: u64,
    /// Physical line where the row starts.
    pub line: u64,
    /// The row's cells.
    pub cells: ContactCells,
    /// The number, checked.
    pub normalized: phone::Normalized,
    /// The number as a ledger key.
    pub number: u64,
    /// What the row's control cells say.
    pub controls: RowControls,
}

/// The campaign's rules for single rows.
#[derive(Debug, Clone)]
pub struct Examiner {
    /// What numbers are accepted.
    pub(super) rules: PhoneRules,
    /// Region for numbers without a country code.
    pub(super) default_region: Option<Region>,
    /// Name of the phone column, for messages.
    pub(super) phone_column: Arc<str>,
    /// Name of the region column, for messages.
    pub(super) region_column: Option<Arc<str>>,
    /// How control cells are read.
    pub(super) controls: Controls,
}

impl Examiner {
    /// Checks one row on its own.
    pub fn examine(&self, row: Row) -> Examined {
        let cells = match row.kind {
            RowKind::Blank => return Examined::Blank { row: row.row },
            RowKind::Ragged { expected, found } => {
                return Examined::Invalid(Rejection {
                    row: row.row,
                    line: row.line,
                    column: String::new(),
                    value: String::new(),
                    reason: format!(
                        "expected {expected} fields, found {found} (row {}, line {}); a \
                         missing or unquoted delimiter? Quote cells that contain the delimiter",
                        row.row, row.line
                    ),
                    phone: String::new(),
                });
            }
            RowKind::Contact(cells) => cells,
        };
        self.check(row.row, row.line, cells)
    }

    /// Checks a row that holds a contact; a rejection carries the row's
    /// phone cell as written.
    fn check(&self, row: u64, line: u64, cells: ContactCells) -> Examined {
        let invalid = |rejection: Rejection, phone: String| {
            Examined::Invalid(Rejection { phone, ..rejection })
        };
        if let Some(rejection) = oversized(row, line, &cells.context) {
            return invalid(rejection, cells.phone);
        }
        let normalized = match self.normalize(row, line, &cells) {
            Ok(normalized) => normalized,
            Err(rejection) => return invalid(rejection, cells.phone),
        };
        let Some(number) = number_key(&normalized.e164) else {
            // normalize promises E.164; a failure here is a bug, not input.
            let reason = format!("internal error: {:?} is not E.164", normalized.e164);
            let rejection = self.reject_phone(row, line, &cells.phone, reason);
            return invalid(rejection, cells.phone);
        };
        match self.controls.read_row(&cells) {
            Ok(controls) => Examined::Candidate(Box::new(Candidate {
                row,
                line,
                cells,
                normalized,
                number,
                controls,
            })),
            Err(err) => invalid(
                Rejection {
                    row,
                    line,
                    column: err.column,
                    value: err.value,
                    reason: err.reason,
                    phone: String::new(),
                },
                cells.phone,
            ),
        }
    }

    /// Normalizes the phone cell with the row's or the campaign's region.
    fn normalize(
        &self,
        row: u64,
        line: u64,
        cells: &ContactCells,
    ) -> Result<phone::Normalized, Rejection> {
        let row_region = match cells.region.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => Some(phone::parse_region(text).map_err(|err| {
                let column = self.region_column.as_deref().unwrap_or("region");
                rejection(row, line, column, text, err)
            })?),
            _ => None,
        };
        let region = row_region.as_ref().or(self.default_region.as_ref());
        phone::normalize(&cells.phone, region, &self.rules)
            .map_err(|err| self.reject_phone(row, line, &cells.phone, err.to_string()))
    }

    /// A rejection of the phone cell.
    fn reject_phone(&self, row: u64, line: u64, value: &str, reason: String) -> Rejection {
        rejection(row, line, &self.phone_column, value, reason)
    }
}

/// A rejection of one cell; the caller fills in the phone.
fn rejection(row: u64, line: u64, column: &str, value: &str, reason: String) -> Rejection {
    Rejection {
        row,
        line,
        column: column.to_string(),
        value: value.to_string(),
        reason,
        phone: String::new(),
    }
}
