//! Do-not-call and suppression lists: files of numbers that must never be
//! dialed, loaded once before the first call.
//!
//! A file is either one number a line (blank lines and `#` comments
//! allowed) or a CSV whose header names a phone column. Each number is
//! normalized as the contact list's are, with the campaign's default
//! region, so `+1 201-555-0101` in a list matches `2015550101` in a
//! do-not-call file. Loading fails closed: a listed file that is missing or
//! unreadable stops the campaign before any call.
//!
//! An entry that does not read as a phone number is reported with its
//! file and line, and the load goes on. We chose that over failing because
//! such an entry cannot equal any number we would dial: contacts are
//! normalized with the same region, and we read suppression entries with
//! the most lenient rules there are (any plausible length, extensions and
//! premium numbers allowed), so a number a contact could normalize to is
//! never the one we drop. Failing would let one stray `n/a` in a
//! 100,000-line list block every campaign that uses it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::contacts::PHONE_NAMES;
use crate::outcome::number_key;
use crate::phone::{self, PhoneRules, Region, Strictness};

/// Entries that do not read as numbers listed one by one in warnings; the
/// rest are only counted.
const LISTED_BAD_ENTRIES: usize = 5;

/// Values of a `do_not_call` cell that mean "you may call", ignoring case.
/// Any other non-empty value (`yes`, `x`, `DNC`, `opt-out`, ...) means "do
/// not call": a flag we do not understand must not be read as consent.
const FALSY: [&str; 6] = ["no", "n", "false", "0", "off", "f"];

/// Every suppressed number, with the file that listed it first.
#[derive(Debug, Default)]
pub struct Suppression {
    /// Number key to the file name shown in the outcome's error.
    numbers: HashMap<u64, Arc<str>>,
    /// Entries that did not read as phone numbers, as `file:line: cell`.
    bad_entries: Vec<String>,
    /// How many entries did not read, listed or not.
    bad_count: u64,
}

impl Suppression {
    /// Loads every file, in order. A file that cannot be read is an error
    /// naming it.
    ///
    /// Fails closed: a file that yields no number, or any entry that does
    /// not read as a number (a national number without `default_region`,
    /// a stray header), stops the campaign, since a number we cannot read
    /// is a person we could not keep from being called.
    pub fn load(files: &[PathBuf], region: Option<&Region>) -> anyhow::Result<Suppression> {
        let mut suppression = Suppression::default();
        for path in files {
            let text = read_text(path)?;
            let before = suppression.numbers.len();
            suppression.add_file(path, &text, region);
            if suppression.numbers.len() == before && suppression.bad_count == 0 {
                anyhow::bail!(
                    "the suppression file {} lists no phone number; refusing to dial \
                     with an empty do-not-call list",
                    path.display()
                );
            }
        }
        if suppression.bad_count > 0 {
            anyhow::bail!(
                "{}; refusing to dial: fix these entries (numbers without a country code \
                 need default_region / --default-region)",
                suppression.warnings().join("; ")
            );
        }
        Ok(suppression)
    }

    /// The file that suppresses `to_number` (E.164), if any.
    pub fn lookup(&self, to_number: &str) -> Option<&str> {
        let key = number_key(to_number)?;
        self.numbers.get(&key).map(|name| &**name)
    }

    /// Suppresses one more number (E.164), naming where it came from.
    pub fn add(&mut self, to_number: &str, source: &str) {
        if let Some(key) = number_key(to_number) {
            self.numbers.entry(key).or_insert_with(|| source.into());
        }
    }

    /// How many distinct numbers are suppressed.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    /// Whether no number is suppressed.
    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    /// Warnings about entries that are not phone numbers, for the user.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self
            .bad_entries
            .iter()
            .map(|entry| format!("{entry} does not read as a phone number"))
            .collect();
        let more = self.bad_count.saturating_sub(self.bad_entries.len() as u64);
        if more > 0 {
            warnings.push(format!(
                "{more} more suppression entries are not phone numbers"
            ));
        }
        warnings
    }

    /// Adds the numbers of one file's text.
    fn add_file(&mut self, path: &Path, text: &str, region: Option<&Region>) {
        let label: Arc<str> = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
            .into();
        for (line, cell) in entries(text) {
            match read_entry(cell, region) {
                Some(key) => {
                    self.numbers.entry(key).or_insert_with(|| label.clone());
                }
                None => self.note_bad(path, line, cell),
            }
        }
    }

    /// Counts an entry that is not a number and keeps the first few.
    fn note_bad(&mut self, path: &Path, line: usize, cell: &str) {
        self.bad_count += 1;
        if self.bad_entries.len() < LISTED_BAD_ENTRIES {
            self.bad_entries
                .push(format!("{}:{line}: {cell:?}", path.display()));
        }
    }
}

/// Whether a `do_not_call` cell asks not to call: any non-empty value but
/// `no`, `n`, `false`, `0`, `off` or `f` (in any case).
pub fn is_truthy(cell: &str) -> bool {
    let cell = cell.trim();
    !cell.is_empty() && !FALSY.iter().any(|f| cell.eq_ignore_ascii_case(f))
}

/// Reads a suppression file as text; Excel's byte order mark is dropped.
fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read the suppression file {}; refusing to dial without it",
            path.display()
        )
    })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(text.trim_start_matches('\u{FEFF}').to_string())
}

/// The number cells of a file with their 1-based lines. A first line that
/// holds a phone column's name makes the file a CSV read by that column;
/// otherwise every line is one number.
fn entries(text: &str) -> Vec<(usize, &str)> {
    let lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let Some((_, first)) = lines.clone().find(|(_, l)| !is_skipped(l)) else {
        return Vec::new();
    };
    let delimiter = [',', ';', '\t', '|']
        .into_iter()
        .find(|d| first.contains(*d));
    let header: Vec<String> = match delimiter {
        Some(d) => first.split(d).map(fold).collect(),
        None => vec![fold(first)],
    };
    let column = PHONE_NAMES
        .iter()
        .find_map(|name| header.iter().position(|h| h == name));
    let Some(column) = column else {
        return lines.filter(|(_, l)| !is_skipped(l)).collect();
    };
    lines
        .filter(|(_, l)| !is_skipped(l))
        .skip(1)
        .filter_map(|(n, l)| {
            let cell = match delimiter {
                Some(d) => l.split(d).nth(column)?,
                None => l,
            };
            let cell = cell.trim().trim_matches('"');
            (!cell.is_empty()).then_some((n, cell))
        })
        .collect()
}

/// Whether a line holds no entry: blank, or a `#` comment.
fn is_skipped(line: &str) -> bool {
    let line = line.trim();
    line.is_empty() || line.starts_with('#')
}

/// A header cell in comparison form: `Phone Number` reads as
/// `phone_number`.
fn fold(cell: &str) -> String {
    let cell = cell.trim().trim_matches('"').trim().to_lowercase();
    cell.split_whitespace().collect::<Vec<_>>().join("_")
}

/// The key of one entry, read with lenient rules (see the module notes).
fn read_entry(cell: &str, region: Option<&Region>) -> Option<u64> {
    let lenient = |strictness| PhoneRules {
        strictness,
        allow_extensions: true,
        allow_premium: true,
    };
    [Strictness::Possible, Strictness::E164]
        .into_iter()
        .find_map(|s| phone::normalize(cell, region, &lenient(s)).ok())
        .and_then(|n| number_key(&n.e164))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)], region: &str) -> Suppression {
        let region = phone::parse_region(region).unwrap();
        let mut suppression = Suppression::default();
        for (name, text) in files {
            suppression.add_file(Path::new(name), text, Some(&region));
        }
        suppression
    }

    #[test]
    fn one_number_a_line_normalized_with_the_default_region() {
        let s = load(
            &[(
                "dnc.txt",
                "# opted out\n(201) 555-0101\n\n+44 20 7946 0018\n",
            )],
            "US",
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s.lookup("+12015550101"), Some("dnc.txt"));
        assert_eq!(s.lookup("+442079460018"), Some("dnc.txt"));
        assert_eq!(s.lookup("+12015550102"), None);
    }

    #[test]
    fn a_csv_is_read_by_its_phone_column() {
        let s = load(
            &[("dnc.csv", "name;Phone Number\nAda;201 555 0101\nBob;\n")],
            "US",
        );
        assert_eq!(s.lookup("+12015550101"), Some("dnc.csv"));
        assert_eq!(s.len(), 1, "an empty cell is no entry");
        let s = load(
            &[("dnc.csv", "name,phone\n\"Ada\",\"201 555 0101\"\n")],
            "US",
        );
        assert_eq!(s.lookup("+12015550101"), Some("dnc.csv"));
        assert!(s.warnings().is_empty());
    }

    #[test]
    fn the_first_file_to_list_a_number_names_it() {
        let s = load(
            &[("a.txt", "2015550101\n"), ("b.txt", "+12015550101\n")],
            "US",
        );
        assert_eq!(s.lookup("+12015550101"), Some("a.txt"));
    }

    #[test]
    fn an_unreadable_entry_or_an_empty_file_stops_the_campaign() {
        let dir = tempfile::tempdir().unwrap();
        let national = dir.path().join("national.txt");
        std::fs::write(&national, "617-555-0177\n").unwrap();
        let err = Suppression::load(std::slice::from_ref(&national), None).unwrap_err();
        assert!(err.to_string().contains("national.txt:1"), "{err}");
        assert!(err.to_string().contains("default_region"), "{err}");
        let us = phone::parse_region("US").unwrap();
        assert_eq!(Suppression::load(&[national], Some(&us)).unwrap().len(), 1);

        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "# nobody yet\n").unwrap();
        let err = Suppression::load(&[empty], None).unwrap_err();
        assert!(err.to_string().contains("lists no phone number"), "{err}");
    }

    #[test]
    fn entries_that_are_not_numbers_are_reported_with_file_and_line() {
        let lines: String = (0..8).map(|i| format!("n/a {i}\n")).collect();
        let s = load(&[("dnc.txt", &format!("2015550101\n{lines}"))], "US");
        let warnings = s.warnings();
        assert_eq!(warnings.len(), LISTED_BAD_ENTRIES + 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("dnc.txt:2: \"n/a 0\""),
            "{warnings:?}"
        );
        assert!(warnings[5].starts_with("3 more"), "{warnings:?}");
    }

    #[test]
    fn a_missing_file_is_an_error_that_names_it() {
        let err = Suppression::load(&[PathBuf::from("/no/such/dnc.csv")], None).unwrap_err();
        assert!(err.to_string().contains("/no/such/dnc.csv"), "{err}");
    }

    #[test]
    fn do_not_call_cells_read_as_flags() {
        for yes in [
            "yes", "YES", " y ", "True", "1", "x", "DNC", "opt-out", "maybe",
        ] {
            assert!(is_truthy(yes), "{yes}");
        }
        for no in ["", "no", "0", "false", "N", "off"] {
            assert!(!is_truthy(no), "{no}");
        }
    }
}
