//! File-level faults of a contact list.
//!
//! A [`ListError`] means the list cannot be used at all: nothing may be
//! dialed from it. Each message names the file, the place in it (row, line,
//! column, byte offset where they are known) and says how to fix it, because
//! the user reads it once, before any call, and must be able to act on it.
//! Row-level problems (blank or ragged rows, bad phone cells) are data, not
//! errors, and live in [`super::rows`].

use std::fmt;
use std::io;
use std::path::PathBuf;

/// The campaign settings and flags that the reader names in its advice.
const ENCODING_ADVICE: &str = "re-save it as \"CSV UTF-8\" or set encoding = \
                               \"windows-1252\" (--encoding windows-1252)";

/// Where in the file a fault sits, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The header record, which starts on this physical line.
    Header {
        /// 1-based physical line of the header.
        line: u64,
    },
    /// A data record.
    Row {
        /// 1-based data record number ("row N" of the outcome file).
        row: u64,
        /// 1-based physical line of the fault (or of the record's start).
        line: u64,
        /// Header name of the column holding the fault, when known.
        column: Option<String>,
    },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Header { line } => write!(f, "the header (line {line})"),
            Place::Row {
                row,
                line,
                column: Some(column),
            } => write!(f, "row {row} (line {line}, column {column})"),
            Place::Row {
                row,
                line,
                column: None,
            } => write!(f, "row {row} (line {line})"),
        }
    }
}

/// A contact list that cannot be used at all (exit code 2 upstream).
///
/// `Display` gives a complete message: the file, the place and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The file could not be opened or read.
    #[error("{}: cannot read the contact list: {err}", path.display())]
    Io {
        /// The contact list.
        path: PathBuf,
        /// What the operating system said.
        err: io::Error,
    },

    /// The `encoding` setting names no encoding we know.
    #[error(
        "{}: unknown encoding {label:?}; use utf-8, windows-1252 (also \
         latin1), utf-16le or utf-16be",
        path.display()
    )]
    UnknownEncoding {
        /// The contact list.
        path: PathBuf,
        /// The label as given.
        label: String,
    },

    /// The `delimiter` setting cannot separate CSV fields.
    #[error(
        "{}: {} cannot be used as the delimiter; use a single ASCII \
         character other than a quote or a line break, such as ',' or ';'",
        path.display(),
        show_byte(*delimiter)
    )]
    BadDelimiter {
        /// The contact list.
        path: PathBuf,
        /// The byte that was asked for.
        delimiter: u8,
    },

    /// The file has NUL bytes in its first line and no byte order mark: it
    /// is almost surely UTF-16 saved without one.
    #[error(
        "{}: the file looks like {guess} without a byte order mark (its \
         first line has NUL bytes); set encoding = \"{}\" (--encoding {})",
        path.display(),
        guess.to_ascii_lowercase(),
        guess.to_ascii_lowercase()
    )]
    LooksLikeUtf16 {
        /// The contact list.
        path: PathBuf,
        /// "UTF-16LE" or "UTF-16BE", from where the NUL bytes sit.
        guess: &'static str,
    },

    /// The file has no header line at all.
    #[error(
        "{}: the file is empty; a contact list needs a header line naming \
         its columns, one of them the phone column",
        path.display()
    )]
    Empty {
        /// The contact list.
        path: PathBuf,
    },

    /// Strict UTF-8 was expected and a byte is not valid UTF-8.
    #[error("{}", not_utf8_message(path, at, *offset, *byte))]
    NotUtf8 {
        /// The contact list.
        path: PathBuf,
        /// The record holding the first bad byte.
        at: Place,
        /// Byte offset of the bad byte in the file, counting from 0.
        offset: Option<u64>,
        /// The bad byte itself.
        byte: Option<u8>,
    },

    /// A non-UTF-8 encoding was set and the bytes do not follow it.
    #[error(
        "{}: {at} is not valid {encoding}{}; check the encoding setting, or \
         re-save the file as \"CSV UTF-8\" and leave encoding unset",
        path.display(),
        offset.map(|o| format!(" at byte offset {o}")).unwrap_or_default()
    )]
    Malformed {
        /// The contact list.
        path: PathBuf,
        /// The encoding in use.
        encoding: &'static str,
        /// The record holding the first malformed sequence.
        at: Place,
        /// Byte offset of that sequence in the file, counting from 0.
        offset: Option<u64>,
    },

    /// A quoted field opens and never closes, so the parser would read the
    /// rest of the file into one cell.
    #[error(
        "{}: {at} opens a quoted field that is never closed, so everything \
         up to the end of the file (line {last_line}) would be one cell; \
         close the quote or remove the stray '\"'",
        path.display()
    )]
    UnterminatedQuote {
        /// The contact list.
        path: PathBuf,
        /// The record that opens the quote.
        at: Place,
        /// The last physical line of the file.
        last_line: u64,
    },

    /// Some header cells are empty.
    #[error(
        "{}: the header (line {line}) has no name in column {}; give every \
         column a name or delete the empty columns",
        path.display(),
        join_numbers(columns)
    )]
    BlankHeader {
        /// The contact list.
        path: PathBuf,
        /// Physical line of the header.
        line: u64,
        /// 1-based numbers of the nameless columns.
        columns: Vec<usize>,
    },

    /// Two or more columns share a name (ignoring case and spaces).
    #[error(
        "{}: the header (line {line}) repeats column names: {}; rename them \
         so that every column has its own name (names are compared ignoring \
         case and surrounding spaces)",
        path.display(),
        join_duplicates(duplicates)
    )]
    DuplicateHeader {
        /// The contact list.
        path: PathBuf,
        /// Physical line of the header.
        line: u64,
        /// Each repeated name with the 1-based numbers of its columns.
        duplicates: Vec<(String, Vec<usize>)>,
    },

    /// No column is named like a phone column and none was set.
    #[error("{}", no_phone_message(path, headers, *delimiter, *suggested))]
    NoPhoneColumn {
        /// The contact list.
        path: PathBuf,
        /// The header names seen, trimmed.
        headers: Vec<String>,
        /// The delimiter in use.
        delimiter: u8,
        /// Another delimiter that the single header cell contains.
        suggested: Option<u8>,
    },

    /// A setting names a column the header does not have.
    #[error(
        "{}: {setting} names the column {name:?}, which this file does not \
         have; its columns are: {}",
        path.display(),
        join_names(headers)
    )]
    ColumnNotFound {
        /// The contact list.
        path: PathBuf,
        /// The setting, e.g. "phone_column" or "context_columns".
        setting: &'static str,
        /// The name as given.
        name: String,
        /// The header names seen, trimmed.
        headers: Vec<String>,
    },
}

/// Shows a delimiter byte readably: `';'`, `tab`, `0x00`.
pub(crate) fn show_byte(byte: u8) -> String {
    match byte {
        b'\t' => "tab".to_string(),
        b'\r' => "carriage return".to_string(),
        b'\n' => "line feed".to_string(),
        0x21..=0x7e => format!("'{}'", byte as char),
        _ => format!("byte 0x{byte:02X}"),
    }
}

/// Joins column numbers as "2, 4 and 7".
fn join_numbers(numbers: &[usize]) -> String {
    let parts: Vec<String> = numbers.iter().map(|n| n.to_string()).collect();
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("{} and {last}", rest.join(", "))
        }
        _ => parts.join(""),
    }
}

/// Joins repeated header names with their columns.
fn join_duplicates(duplicates: &[(String, Vec<usize>)]) -> String {
    let parts: Vec<String> = duplicates
        .iter()
        .map(|(name, columns)| format!("{name:?} (columns {})", join_numbers(columns)))
        .collect();
    parts.join(", ")
}

/// Joins header names, quoted, so spaces and odd characters stay visible.
fn join_names(names: &[String]) -> String {
    if names.is_empty() {
        return "(none)".to_string();
    }
    let parts: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    parts.join(", ")
}

/// Builds the strict UTF-8 message, with the Windows-1252 reading of the
/// bad byte as a hint at what the file really is.
fn not_utf8_message(
    path: &std::path::Path,
    at: &Place,
    offset: Option<u64>,
    byte: Option<u8>,
) -> String {
    let mut msg = format!("{}: {at} is not valid UTF-8", path.display());
    if let Some(byte) = byte {
        msg.push_str(&format!(": byte 0x{byte:02X}"));
    }
    if let Some(offset) = offset {
        msg.push_str(&format!(" at byte offset {offset}"));
    }
    msg.push_str(". The file is probably Windows-1252 or Latin-1");
    if let Some(byte) = byte.filter(|b| *b >= 0x80) {
        let bytes = [byte];
        let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
        msg.push_str(&format!(" (where 0x{byte:02X} is {text:?})"));
    }
    msg.push_str(&format!("; {ENCODING_ADVICE}"));
    msg
}

/// Builds the "no phone column" message, with a delimiter hint when the
/// header was read as one cell that holds another likely delimiter.
fn no_phone_message(
    path: &std::path::Path,
    headers: &[String],
    delimiter: u8,
    suggested: Option<u8>,
) -> String {
    let mut msg = format!(
        "{}: no phone column found; the header read with delimiter {} has \
         the columns {}.",
        path.display(),
        show_byte(delimiter),
        join_names(headers)
    );
    match suggested {
        Some(other) => msg.push_str(&format!(
            " The header looks {}-separated: set delimiter = {:?} (or \
             --delimiter), or leave the delimiter unset to detect it",
            show_byte(other),
            (other as char).to_string()
        )),
        None => msg.push_str(
            " Name the phone column phone, phone_number, to_number, number, \
             mobile or msisdn, or set phone_column (--phone-column)",
        ),
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_join_like_prose() {
        assert_eq!(join_numbers(&[3]), "3");
        assert_eq!(join_numbers(&[2, 4]), "2 and 4");
        assert_eq!(join_numbers(&[1, 2, 5]), "1, 2 and 5");
    }

    #[test]
    fn bytes_show_readably() {
        assert_eq!(show_byte(b';'), "';'");
        assert_eq!(show_byte(b'\t'), "tab");
        assert_eq!(show_byte(b'"'), "'\"'");
        assert_eq!(show_byte(0xE9), "byte 0xE9");
    }

    #[test]
    fn utf8_message_names_place_byte_and_fix() {
        let err = ListError::NotUtf8 {
            path: "list.csv".into(),
            at: Place::Row {
                row: 2,
                line: 3,
                column: Some("first_name".into()),
            },
            offset: Some(75),
            byte: Some(0xEB),
        };
        let msg = err.to_string();
        assert!(msg.starts_with("list.csv: row 2 (line 3, column first_name)"));
        assert!(msg.contains("not valid UTF-8"));
        assert!(msg.contains("0xEB at byte offset 75"));
        assert!(msg.contains("\"ë\""));
        assert!(msg.contains("encoding = \"windows-1252\""));
    }
}
