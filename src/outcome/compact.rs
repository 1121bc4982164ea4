//! Compaction: at an orderly end the append-only log becomes the outcome
//! file proper, one row per contact. The new file is written beside the old
//! and renamed over it, so a crash during compaction leaves the log intact.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::ledger::number_key;
use super::record::{ColumnMap, Status};

/// What a log record is about, for deciding which record survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    /// A contact, by number (and row when duplicates are allowed).
    Contact(u64, u64),
    /// A verdict on a row of the list.
    Row(u64),
}

/// Rewrites the log at `path` keeping, for each contact, its last final
/// record, and for each row verdict, only the latest record that names that
/// row. Returns how many rows the compacted file holds.
pub fn compact(path: &Path, allow_duplicates: bool) -> anyhow::Result<u64> {
    let keep = choose_survivors(path, allow_duplicates)?;
    let tmp = sibling(path, "compacting");
    let kept = write_survivors(path, &tmp, &keep)?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot replace {} with its compacted form", path.display()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Makes the rename itself durable; some file systems refuse, which
        // leaves the old, equally valid log in place after a power loss.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(kept)
}

/// A path beside `path` with an extra suffix.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

/// First pass: whether each record, by index, survives.
///
/// Contacts are most of a long log, so their final records are collected
/// in a plain vector, sorted once, and the last of each kept: 24 bytes a
/// record, where a hash map keyed by contact took over 60 at a million
/// contacts, and twice that while it grew.
fn choose_survivors(path: &Path, allow_duplicates: bool) -> anyhow::Result<Vec<bool>> {
    let mut finals: Vec<(u64, u64, u32)> = Vec::new();
    // The final verdict of each row that no later record has named yet.
    let mut verdicts: HashMap<u64, u32> = HashMap::new();
    let mut count = 0u32;
    let (mut rdr, columns) = open_log(path)?;
    let mut raw = csv::StringRecord::new();
    while rdr.read_record(&mut raw)? {
        let index = count;
        count += 1;
        let (row, to_number, status) = columns
            .parse_key(&raw)
            .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
        // A row verdict is stale once a later record speaks of the same row:
        // the list was fixed or re-sorted, and the later run judged the row
        // anew.
        verdicts.remove(&row);
        if !status.is_final() {
            continue;
        }
        match subject_of(row, to_number, status, allow_duplicates) {
            Subject::Contact(number, row) => finals.push((number, row, index)),
            Subject::Row(row) => {
                verdicts.insert(row, index);
            }
        }
    }

    let mut keep = vec![false; count as usize];
    // Sorted, each contact's records are together and its last is last.
    finals.sort_unstable();
    for (i, &(number, row, index)) in finals.iter().enumerate() {
        let is_last = finals
            .get(i + 1)
            .is_none_or(|next| (next.0, next.1) != (number, row));
        if is_last {
            keep[index as usize] = true;
        }
    }
    for index in verdicts.values() {
        keep[*index as usize] = true;
    }
    Ok(keep)
}

/// What a record is about.
fn subject_of(row: u64, to_number: &str, status: Status, allow_duplicates: bool) -> Subject {
    match number_key(to_number) {
        Some(number) if !status.is_row_verdict() => {
            Subject::Contact(number, if allow_duplicates { row } else { 0 })
        }
        _ => Subject::Row(row),
    }
}

/// Second pass: copies the header and the surviving records, unchanged, to
/// `tmp`, and makes it durable.
fn write_survivors(path: &Path, tmp: &Path, keep: &[bool]) -> anyhow::Result<u64> {
    let out = File::create(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut wtr = csv::WriterBuilder::new().from_writer(BufWriter::new(out));
    let (mut rdr, _) = open_log(path)?;
    wtr.write_record(rdr.headers()?)?;

    let mut kept = 0u64;
    let mut raw = csv::StringRecord::new();
    let mut index = 0usize;
    while rdr.read_record(&mut raw)? {
        if keep.get(index).copied().unwrap_or(false) {
            wtr.write_record(&raw)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            kept += 1;
        }
        index += 1;
    }

    let mut out = wtr
        .into_inner()
        .map_err(|err| anyhow::anyhow!("cannot write {}: {}", tmp.display(), err.error()))?;
    out.flush()?;
    out.get_ref().sync_all()?;
    Ok(kept)
}

/// Opens the log for reading, past its header.
fn open_log(path: &Path) -> anyhow::Result<(csv::Reader<BufReader<File>>, ColumnMap)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(BufReader::with_capacity(256 * 1024, file));
    let header = rdr.headers()?.clone();
    let columns = ColumnMap::from_header(&header)
        .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
    Ok((rdr, columns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::record::{COLUMNS, Record};

    fn log_with(records: &[Record]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut wtr = csv::Writer::from_path(&path).unwrap();
        wtr.write_record(COLUMNS).unwrap();
        for rec in records {
            rec.write_to(&mut wtr, &ColumnMap::canonical()).unwrap();
        }
        wtr.flush().unwrap();
        (dir, path)
    }

    fn statuses(path: &Path) -> Vec<(u64, String)> {
        let mut rdr = csv::Reader::from_path(path).unwrap();
        rdr.records()
            .map(|r| {
                let r = r.unwrap();
                (r[1].parse().unwrap(), r[3].to_string())
            })
            .collect()
    }

    #[test]
    fn one_row_per_contact_survives() {
        let (_dir, path) = log_with(&[
            Record::new(1, "+12015550101", Status::Sending),
            Record::new(2, "x", Status::Invalid),
            Record::new(3, "+12015550103", Status::Sending),
            Record::new(1, "+12015550101", Status::Dispatched),
            Record::new(3, "+12015550103", Status::Released),
            Record::new(4, "+12015550104", Status::Failed),
            Record::new(4, "+12015550104", Status::Sending),
            Record::new(4, "+12015550104", Status::Dispatched),
        ]);
        assert_eq!(compact(&path, false).unwrap(), 3);
        assert_eq!(
            statuses(&path),
            [
                (2, "invalid".into()),
                (1, "dispatched".into()),
                (4, "dispatched".into())
            ]
        );
    }

    #[test]
    fn a_stale_row_verdict_gives_way_to_a_later_record_of_that_row() {
        let (_dir, path) = log_with(&[
            Record::new(3, "bad", Status::Invalid),
            Record::new(3, "+12015550103", Status::Dispatched),
            Record::new(5, "bad", Status::Invalid),
        ]);
        compact(&path, false).unwrap();
        assert_eq!(
            statuses(&path),
            [(3, "dispatched".into()), (5, "invalid".into())]
        );
    }

    #[test]
    fn duplicates_allowed_keep_each_row() {
        let (_dir, path) = log_with(&[
            Record::new(1, "+12015550101", Status::Dispatched),
            Record::new(2, "+12015550101", Status::Dispatched),
        ]);
        assert_eq!(compact(&path, true).unwrap(), 2);
        assert_eq!(compact(&path, false).unwrap(), 1);
    }
}
