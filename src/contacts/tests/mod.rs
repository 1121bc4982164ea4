//! Tests of the whole reader: the shared fault cases, edge cases written
//! here, and generated lists read back.
//!
//! The cases live in `../shared/cases` next to the repository. A missing
//! folder fails the test with a message rather than skipping it.

mod cases;
mod edges;
mod generated;

use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;

/// Path of a file in one of the shared cases; panics if it is missing.
pub(super) fn case_file(case: &str, file: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/cases")
        .join(case)
        .join(file);
    assert!(
        path.is_file(),
        "shared case file {} is missing: the cases must sit in ../shared/cases next to the \
         repository",
        path.display()
    );
    path
}

/// Writes `bytes` to a temporary file.
pub(super) fn temp_csv(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(bytes).expect("write temp file");
    file
}

/// Reads every row, failing the test on a file-level error.
pub(super) fn read_rows(path: &Path, opts: &ReadOptions) -> (Layout, Vec<Row>) {
    let reader = open(path, opts).unwrap_or_else(|err| panic!("open: {err}"));
    let layout = reader.layout().clone();
    let rows = reader
        .map(|row| row.unwrap_or_else(|err| panic!("row: {err}")))
        .collect();
    (layout, rows)
}

/// Reads `bytes` with default options.
pub(super) fn rows_of(bytes: &[u8]) -> Vec<Row> {
    let file = temp_csv(bytes);
    read_rows(file.path(), &ReadOptions::default()).1
}

/// The contact cells of a row; panics on other kinds.
pub(super) fn cells(row: &Row) -> &ContactCells {
    match &row.kind {
        RowKind::Contact(cells) => cells,
        other => panic!("row {} is {other:?}, not a contact", row.row),
    }
}

/// A row's context as JSON text, keys in column order.
pub(super) fn context_json(row: &Row) -> String {
    serde_json::to_string(&cells(row).context).expect("serialize")
}

/// (row, line) of every row.
pub(super) fn numbers(rows: &[Row]) -> Vec<(u64, u64)> {
    rows.iter().map(|r| (r.row, r.line)).collect()
}

/// Options with an encoding label.
pub(super) fn with_encoding(label: &str) -> ReadOptions {
    ReadOptions {
        encoding: Some(label.into()),
        ..ReadOptions::default()
    }
}

/// Scans, expecting a file-level error.
pub(super) fn scan_error(path: &Path, opts: &ReadOptions) -> ListError {
    match scan(path, opts) {
        Ok((_, stats)) => panic!("expected an error, scan read {} rows", stats.records),
        Err(err) => err,
    }
}
