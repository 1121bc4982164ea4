//! The contact list reader: a CSV file's bytes in, typed rows out.
//!
//! This module owns everything about the file itself: byte order marks and
//! encodings ([`decode`], [`sniff`]), Excel's `sep=` line and the delimiter
//! ([`sniff`]), records and physical line numbers ([`records`]), the header
//! and which column plays which part ([`header`]), and blank and ragged rows
//! ([`rows`]). It knows nothing about phone numbers, the API or duplicates:
//! `screen` normalises the phone cell we hand it and decides per row.
//!
//! Use [`scan`] first: one full pass that keeps only counters and finds
//! every file-level fault (a [`ListError`]) before any call is placed. Then
//! [`open`] streams the rows. Neither holds the whole list in memory.

mod decode;
mod error;
mod header;
mod records;
mod rows;
mod sniff;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{ListError, Place};
pub use header::{PHONE_NAMES, loose_find};
pub use rows::{CallContext, ContactCells, Row, RowKind, RowReader};

/// A column that steers the dialer rather than the agent (a per-row caller
/// number, agent, time zone or do-not-call flag). When present its cell is
/// handed over in [`ContactCells::controls`] and never put into the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlColumn {
    /// The setting that names the column, for messages.
    pub setting: &'static str,
    /// The column's name (trimmed, any case).
    pub name: String,
    /// Whether a list without the column is an error (a column the user
    /// named) rather than a column simply not used (a conventional name).
    pub required: bool,
}

use decode::{Decoded, Fault};
use records::{RecordSource, SourceError};
use sniff::{PREFIX_LEN, Sniffed};

/// How to read a list; every field comes from the campaign file or a flag.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Field delimiter; `None` means detect it (after a `sep=` line, if
    /// any).
    pub delimiter: Option<u8>,
    /// Encoding label; `None` means strict UTF-8. WHATWG labels are
    /// understood: "latin1" and "iso-8859-1" mean windows-1252, "utf-16"
    /// means UTF-16LE. A byte order mark overrides this.
    pub encoding: Option<String>,
    /// The phone column's name (trimmed, any case); `None` means find it
    /// by name, see [`PHONE_NAMES`].
    pub phone_column: Option<String>,
    /// A per-row region column; its cell is handed over in
    /// [`ContactCells::region`], not put into the context.
    pub region_column: Option<String>,
    /// When set, exactly these columns (in file order) make the context.
    pub context_columns: Option<Vec<String>>,
    /// Columns never put into the context.
    pub exclude_columns: Vec<String>,
    /// Pad short rows with empty cells instead of reporting them ragged.
    /// Long rows are always ragged.
    pub flexible: bool,
    /// Control columns, in the order their cells are handed over.
    pub control_columns: Vec<ControlColumn>,
}

/// What the header told us; shown in reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The contact list.
    pub path: PathBuf,
    /// The delimiter in use.
    pub delimiter: u8,
    /// Whether the delimiter was detected (not set, not from `sep=`).
    pub delimiter_detected: bool,
    /// The encoding in use, e.g. "UTF-8", "windows-1252", "UTF-16LE".
    pub encoding: &'static str,
    /// Header names, trimmed, in file order.
    pub headers: Vec<String>,
    /// Physical line of the header.
    pub header_line: u64,
    /// The phone column's header name.
    pub phone_column: String,
    /// Other columns named like a phone column that were not chosen, in
    /// order of preference; reports should warn about them.
    pub other_phone_like: Vec<String>,
    /// The region column's header name, if one was set.
    pub region_column: Option<String>,
    /// The context keys, in column order.
    pub context_keys: Vec<Arc<str>>,
    /// Whether an Excel `sep=` line came first (and was skipped).
    pub sep_hint: bool,
    /// Whether the file starts with a byte order mark.
    pub bom: bool,
}

/// Counters from a full pass over the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanStats {
    /// Data rows, blank (empty lines included) and ragged ones too: the
    /// number of items [`open`] will yield.
    pub records: u64,
    /// Bytes in the file.
    pub bytes: u64,
}

/// Reads the header and checks the whole file once (decoding and CSV
/// structure) without keeping rows, so file-level faults are found before
/// any call. Returns the layout and the number of data rows.
pub fn scan(path: &Path, opts: &ReadOptions) -> Result<(Layout, ScanStats), ListError> {
    let mut reader = open(path, opts)?;
    let records = reader.count_rest()?;
    let stats = ScanStats {
        records,
        bytes: reader.bytes_read(),
    };
    Ok((reader.layout().clone(), stats))
}

/// Opens the list and reads its header; the rows then stream from the
/// returned reader. Meant for use after [`scan`] succeeded, which finds
/// file-level faults up front; a fault met while streaming ends the
/// iteration with that error.
pub fn open(path: &Path, opts: &ReadOptions) -> Result<RowReader, ListError> {
    let io_error = |err| ListError::Io {
        path: path.to_path_buf(),
        err,
    };
    let mut file = File::open(path).map_err(io_error)?;
    let prefix = read_prefix(&mut file).map_err(io_error)?;
    let sniffed = sniff::sniff(path, &prefix, opts.encoding.as_deref(), opts.delimiter)?;
    file.seek(SeekFrom::Start(sniffed.bom_len))
        .map_err(io_error)?;

    let input = Decoded::new(file, sniffed.encoding, sniffed.bom_len);
    let mut source = RecordSource::new(input, sniffed.delimiter);
    if sniffed.sep_hint.is_some() {
        // The sniffer saw `sep=X` alone on the first line, so this record
        // is exactly that line.
        read_header_record(path, &sniffed, &mut source)?;
    }
    let (line, names) = read_header_record(path, &sniffed, &mut source)?;
    let plan = header::plan_columns(path, line, names, sniffed.delimiter, opts)?;
    let layout = make_layout(path, &sniffed, line, &plan);
    tracing::debug!(
        file = %path.display(),
        encoding = layout.encoding,
        delimiter = %error::show_byte(layout.delimiter),
        detected = layout.delimiter_detected,
        sep_hint = layout.sep_hint,
        bom = layout.bom,
        phone_column = %layout.phone_column,
        "contact list opened"
    );
    Ok(RowReader::new(source, layout, plan.plan, opts.flexible))
}

/// Reads up to [`PREFIX_LEN`] bytes from the start of the file.
fn read_prefix(file: &mut File) -> std::io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(PREFIX_LEN);
    file.take(PREFIX_LEN as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// Reads the header record: its line and its trimmed names.
fn read_header_record(
    path: &Path,
    sniffed: &Sniffed,
    source: &mut RecordSource<File>,
) -> Result<(u64, Vec<String>), ListError> {
    let meta = match source.next_record() {
        Ok(Some(meta)) => meta,
        Ok(None) => {
            return Err(ListError::Empty {
                path: path.to_path_buf(),
            });
        }
        Err(err) => return Err(header_error(path, sniffed, err)),
    };
    let mut names = Vec::with_capacity(source.record().len());
    for field in source.record().iter() {
        // The stream check has passed every byte of this record already,
        // so this only guards against a broken invariant.
        let text = std::str::from_utf8(field).map_err(|_| ListError::NotUtf8 {
            path: path.to_path_buf(),
            at: Place::Header { line: meta.line },
            offset: None,
            byte: None,
        })?;
        names.push(header::clean_name(text));
    }
    Ok((meta.line, names))
}

/// Turns a failure while reading the header into a file-level error.
fn header_error(path: &Path, sniffed: &Sniffed, err: SourceError) -> ListError {
    match err {
        SourceError::Io(err) => ListError::Io {
            path: path.to_path_buf(),
            err,
        },
        SourceError::Fault { fault, line, .. } => {
            fault_error(path, sniffed.encoding.name(), Place::Header { line }, fault)
        }
        SourceError::UnterminatedQuote { meta, last_line } => ListError::UnterminatedQuote {
            path: path.to_path_buf(),
            at: Place::Header { line: meta.line },
            last_line,
        },
    }
}

/// The error for a decoding fault at `at`, worded for the encoding.
fn fault_error(path: &Path, encoding: &'static str, at: Place, fault: Fault) -> ListError {
    if encoding == encoding_rs::UTF_8.name() {
        ListError::NotUtf8 {
            path: path.to_path_buf(),
            at,
            offset: Some(fault.raw_offset),
            byte: fault.byte,
        }
    } else {
        ListError::Malformed {
            path: path.to_path_buf(),
            encoding,
            at,
            offset: Some(fault.raw_offset),
        }
    }
}

/// Gathers what reports show about the list.
fn make_layout(path: &Path, sniffed: &Sniffed, line: u64, plan: &header::HeaderPlan) -> Layout {
    let column = |index: usize| plan.names[index].clone();
    Layout {
        path: path.to_path_buf(),
        delimiter: sniffed.delimiter,
        delimiter_detected: sniffed.detected,
        encoding: sniffed.encoding.name(),
        headers: plan.names.clone(),
        header_line: line,
        phone_column: column(plan.plan.phone),
        other_phone_like: plan.other_phone_like.clone(),
        region_column: plan.plan.region.map(column),
        context_keys: plan
            .plan
            .context
            .iter()
            .map(|(_, key)| Arc::clone(key))
            .collect(),
        sep_hint: sniffed.sep_hint.is_some(),
        bom: sniffed.bom_len > 0,
    }
}
