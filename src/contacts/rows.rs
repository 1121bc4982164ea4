//! Data rows: blank, ragged or a contact's cells.
//!
//! [`RowReader`] turns each CSV record after the header into a [`Row`] and
//! each empty line into a blank row of its own. Numbering follows RFC 4180,
//! where an empty line is a record with one empty field: so an empty line
//! takes a row number like any other data record. That keeps "row N" equal
//! to what Python's `csv.reader` or a spreadsheet shows as the N-th line
//! after the header, and it never changes the numbers of rows before it.
//!
//! Cells pass through untouched: the phone cell is handed over raw for the
//! `screen` module to normalise, and context values keep every space and
//! invisible character the file had.

use std::fs::File;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Layout;
use super::error::{ListError, Place};
use super::header::ColumnPlan;
use super::records::{RawRecord, RecordMeta, RecordSource, SourceError};

/// One data row of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based data record number: row N is the N-th record after the
    /// header, empty lines included.
    pub row: u64,
    /// 1-based physical line where the record starts (a `sep=` line and
    /// line breaks inside quoted cells count).
    pub line: u64,
    /// What the row holds.
    pub kind: RowKind,
}

/// What a data row holds.
#[derive(Debug, Clone, PartialEq)]
pub enum RowKind {
    /// An empty line, or a record whose cells are all empty or whitespace
    /// (spreadsheet padding such as `,,`). Not a contact, not an error.
    Blank,
    /// The record has a different number of fields than the header. With
    /// `flexible`, short records are padded instead and never land here.
    Ragged {
        /// Fields in the header.
        expected: usize,
        /// Fields in this record.
        found: usize,
    },
    /// A contact. Its phone cell may still be empty or invalid.
    Contact(ContactCells),
}

/// The cells of one contact, as the file has them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContactCells {
    /// The phone cell, untouched (it may be empty).
    pub phone: String,
    /// The region cell, when a region column is set and the cell is not
    /// empty; untouched.
    pub region: Option<String>,
    /// The `call_context` of the dispatch.
    pub context: CallContext,
    /// The cells of the control columns, in the order of
    /// [`ReadOptions::control_columns`](super::ReadOptions); `None` when the
    /// column is absent or the cell empty.
    pub controls: Vec<Option<String>>,
}

/// `call_context`: header key to cell text, in column order, empty cells
/// left out. Values are exactly what the CSV parser returns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallContext(pub Vec<(Arc<str>, String)>);

impl CallContext {
    /// The value under `key`, if the row had a non-empty cell there.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for CallContext {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(&**key, value)?;
        }
        map.end()
    }
}

/// A run of empty lines still to be handed out as blank rows.
#[derive(Debug, Clone, Copy, Default)]
struct BlankRun {
    /// Line of the next one.
    line: u64,
    /// How many are left.
    left: u64,
}

/// Streams the data rows of a list; see [`super::open`].
pub struct RowReader {
    /// The records.
    source: RecordSource<File>,
    /// What the header told us.
    layout: Layout,
    /// Column roles.
    plan: ColumnPlan,
    /// Whether short records are padded.
    flexible: bool,
    /// Rows handed out so far.
    rows: u64,
    /// Empty lines due before the pending record.
    blanks: BlankRun,
    /// Start line of the record waiting in `source`, if one is.
    pending: Option<u64>,
    /// Whether the source is used up (or failed).
    done: bool,
}

impl RowReader {
    /// Wraps a source positioned just after the header.
    pub(crate) fn new(
        source: RecordSource<File>,
        layout: Layout,
        plan: ColumnPlan,
        flexible: bool,
    ) -> Self {
        RowReader {
            source,
            layout,
            plan,
            flexible,
            rows: 0,
            blanks: BlankRun::default(),
            pending: None,
            done: false,
        }
    }

    /// What the header told us.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Raw file bytes read so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.source.raw_read()
    }

    /// Reads the remaining records without building rows, checking them as
    /// [`Iterator::next`] would; returns how many rows they make.
    pub(crate) fn count_rest(&mut self) -> Result<u64, ListError> {
        let mut rows = 0;
        loop {
            match self.source.next_record() {
                Ok(Some(meta)) => rows += meta.empty_before + 1,
                Ok(None) => return Ok(rows + self.source.trailing_empty_lines().1),
                Err(err) => return Err(self.to_list_error(err, self.rows + rows)),
            }
        }
    }

    /// Hands out the next row number with `kind`.
    fn emit(&mut self, line: u64, kind: RowKind) -> Row {
        self.rows += 1;
        Row {
            row: self.rows,
            line,
            kind,
        }
    }

    /// Reads the next record and queues it behind its empty lines.
    fn advance(&mut self) -> Result<(), ListError> {
        match self.source.next_record() {
            Ok(Some(meta)) => {
                self.blanks = BlankRun {
                    line: meta.line - meta.empty_before,
                    left: meta.empty_before,
                };
                self.pending = Some(meta.line);
                Ok(())
            }
            Ok(None) => {
                let (line, left) = self.source.trailing_empty_lines();
                self.blanks = BlankRun { line, left };
                self.done = true;
                Ok(())
            }
            Err(err) => {
                self.done = true;
                Err(self.to_list_error(err, self.rows))
            }
        }
    }

    /// Turns a record failure into a file-level error; `rows_before` is the
    /// number of rows before the failing record's empty lines.
    fn to_list_error(&self, err: SourceError, rows_before: u64) -> ListError {
        let place = |meta: RecordMeta, line: u64, column| Place::Row {
            row: rows_before + meta.empty_before + 1,
            line,
            column,
        };
        match err {
            SourceError::Io(err) => ListError::Io {
                path: self.layout.path.clone(),
                err,
            },
            SourceError::Fault { meta, fault, line } => {
                let column = bad_utf8_column(self.source.record(), &self.layout.headers);
                super::fault_error(
                    &self.layout.path,
                    self.layout.encoding,
                    place(meta, line, column),
                    fault,
                )
            }
            SourceError::UnterminatedQuote { meta, last_line } => ListError::UnterminatedQuote {
                path: self.layout.path.clone(),
                at: place(meta, meta.line, None),
                last_line,
            },
        }
    }

    /// Builds the row for the record waiting in the source.
    fn build(&mut self, line: u64) -> Result<Row, ListError> {
        let record = self.source.record();
        if is_blank(record) {
            return Ok(self.emit(line, RowKind::Blank));
        }
        let (expected, found) = (self.plan.width, record.len());
        if found > expected || (found < expected && !self.flexible) {
            return Ok(self.emit(line, RowKind::Ragged { expected, found }));
        }
        match contact_cells(record, &self.plan) {
            Ok(cells) => Ok(self.emit(line, RowKind::Contact(cells))),
            Err(index) => Err(ListError::NotUtf8 {
                path: self.layout.path.clone(),
                at: Place::Row {
                    row: self.rows + 1,
                    line,
                    column: self.layout.headers.get(index).cloned(),
                },
                offset: None,
                byte: None,
            }),
        }
    }
}

impl Iterator for RowReader {
    type Item = Result<Row, ListError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.blanks.left > 0 {
                let line = self.blanks.line;
                self.blanks.line += 1;
                self.blanks.left -= 1;
                return Some(Ok(self.emit(line, RowKind::Blank)));
            }
            if let Some(line) = self.pending.take() {
                return Some(self.build(line));
            }
            if self.done {
                return None;
            }
            if let Err(err) = self.advance() {
                return Some(Err(err));
            }
        }
    }
}

/// Whether every field is empty or whitespace.
fn is_blank(record: &RawRecord) -> bool {
    record.iter().all(|field| {
        field.iter().all(u8::is_ascii_whitespace)
            || std::str::from_utf8(field).is_ok_and(|s| s.chars().all(char::is_whitespace))
    })
}

/// The cells of a contact; short records (only with `flexible`) read as
/// empty past their end. On bad UTF-8 returns the column index, which the
/// stream check makes unreachable in practice.
fn contact_cells(record: &RawRecord, plan: &ColumnPlan) -> Result<ContactCells, usize> {
    // One check for the whole record is cheaper than one per field. Fields
    // of a valid record are valid too, as they are cut at ASCII bytes; the
    // `get` below still checks the cut points.
    let bad_column = || {
        record
            .iter()
            .position(|f| std::str::from_utf8(f).is_err())
            .unwrap_or(0)
    };
    let all = std::str::from_utf8(record.bytes()).map_err(|_| bad_column())?;
    let text = |index: usize| -> Result<&str, usize> {
        match record.span(index) {
            Some(span) => all.get(span).ok_or(index),
            None => Ok(""),
        }
    };

    let phone = text(plan.phone)?.to_string();
    let region = match plan.region {
        Some(index) => Some(text(index)?)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        None => None,
    };
    let mut context = Vec::with_capacity(plan.context.len());
    for (index, key) in &plan.context {
        let value = text(*index)?;
        if !value.is_empty() {
            context.push((Arc::clone(key), value.to_string()));
        }
    }
    let mut controls = Vec::with_capacity(plan.controls.len());
    for index in &plan.controls {
        let cell = match index {
            Some(index) => Some(text(*index)?).filter(|s| !s.trim().is_empty()),
            None => None,
        };
        controls.push(cell.map(str::to_string));
    }
    Ok(ContactCells {
        phone,
        region,
        context: CallContext(context),
        controls,
    })
}

/// The header name of the first field that is not UTF-8, if any.
fn bad_utf8_column(record: &RawRecord, headers: &[String]) -> Option<String> {
    let index = record
        .iter()
        .position(|field| std::str::from_utf8(field).is_err())?;
    headers.get(index).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Arc<str> {
        Arc::from(k)
    }

    #[test]
    fn context_serializes_as_an_object_in_column_order() {
        let ctx = CallContext(vec![
            (key("zeta"), "1".into()),
            (key("alpha"), "a \"q\"\n".into()),
        ]);
        let json = serde_json::to_string(&ctx).unwrap();
        assert_eq!(json, r#"{"zeta":"1","alpha":"a \"q\"\n"}"#);
        assert_eq!(ctx.get("alpha"), Some("a \"q\"\n"));
        assert_eq!(ctx.get("beta"), None);
        assert_eq!(
            serde_json::to_string(&CallContext::default()).unwrap(),
            "{}"
        );
    }
}
