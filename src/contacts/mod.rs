//! Placeholder interface of the contacts module, replaced on merge.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Options.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// d
    pub delimiter: Option<u8>,
    /// e
    pub encoding: Option<String>,
    /// p
    pub phone_column: Option<String>,
    /// r
    pub region_column: Option<String>,
    /// c
    pub context_columns: Option<Vec<String>>,
    /// x
    pub exclude_columns: Vec<String>,
    /// f
    pub flexible: bool,
}

/// Layout.
#[derive(Debug, Clone)]
pub struct Layout {
    /// p
    pub path: PathBuf,
    /// d
    pub delimiter: u8,
    /// e
    pub encoding: String,
    /// h
    pub headers: Vec<String>,
    /// p
    pub phone_column: String,
    /// r
    pub region_column: Option<String>,
    /// k
    pub context_keys: Vec<Arc<str>>,
}

/// Error.
#[derive(Debug, thiserror::Error)]
#[error("list error")]
pub struct ListError;

/// Stats.
#[derive(Debug, Clone, Copy)]
pub struct ScanStats {
    /// r
    pub records: u64,
    /// b
    pub bytes: u64,
}

/// Scan.
pub fn scan(_path: &Path, _opts: &ReadOptions) -> Result<(Layout, ScanStats), ListError> {
    Err(ListError)
}

/// Reader.
pub struct RowReader;

impl RowReader {
    /// Layout.
    pub fn layout(&self) -> &Layout {
        unreachable!()
    }
}

impl Iterator for RowReader {
    type Item = Result<Row, ListError>;
    fn next(&mut self) -> Option<Self::Item> {
        None
    }
}

/// Open.
pub fn open(_path: &Path, _opts: &ReadOptions) -> Result<RowReader, ListError> {
    Err(ListError)
}

/// Row.
#[derive(Debug)]
pub struct Row {
    /// r
    pub row: u64,
    /// l
    pub line: u64,
    /// k
    pub kind: RowKind,
}

/// Kind.
#[derive(Debug)]
pub enum RowKind {
    /// b
    Blank,
    /// r
    Ragged {
        /// e
        expected: usize,
        /// f
        found: usize,
    },
    /// c
    Contact(ContactCells),
}

/// Cells.
#[derive(Debug)]
pub struct ContactCells {
    /// p
    pub phone: String,
    /// r
    pub region: Option<String>,
    /// c
    pub context: CallContext,
}

/// Context.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallContext(pub Vec<(Arc<str>, String)>);

impl serde::Serialize for CallContext {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(&**k, v)?;
        }
        m.end()
    }
}
