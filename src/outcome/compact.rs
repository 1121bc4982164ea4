//! Compaction: at an orderly end the append-only log becomes the outcome
//! file proper, one row per contact. The new file is written beside the old
//! and renamed over it, so a crash during compaction leaves the log intact.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::ledger::number_key;
use super::record::{ColumnMap, Record};

/// Rewrites the log at `path` keeping, for each contact, its last final
/// record, and for each row verdict, only the latest record that names that
/// row, in the order of the list's rows. Returns how many rows it holds.
/// With `fsync` the rename is made durable in the directory too.
pub fn compact(path: &Path, allow_duplicates: bool, fsync: bool) -> anyhow::Result<u64> {
    let keep = choose_survivors(path, allow_duplicates)?;
    let survivors = locate_survivors(path, &keep)?;
    drop(keep);
    let tmp = sibling(path, "compacting");
    let replaced = write_survivors(path, &tmp, &survivors).and_then(|()| {
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot replace {} with its compacted form", path.display()))
    });
    if replaced.is_err() {
        // The log is untouched; a half-written copy beside it would only
        // confuse whoever looks.
        let _ = std::fs::remove_file(&tmp);
    }
    replaced?;
    if fsync && let Err(err) = super::durable::sync_parent(path) {
        // The run is over and the compacted file is whole. A power loss
        // may at worst bring back the log it replaced, which a resume
        // reads just as well, so we warn rather than fail the run.
        tracing::warn!(
            "cannot sync the directory of {} after compacting it: {err}",
            path.display()
        );
    }
    Ok(survivors.len() as u64)
}

/// A path beside `path` with an extra suffix.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

/// First pass: whether each record, by index, survives. Contacts are
/// sorted rather than hashed: a vector of (key, index) pairs takes half
/// the memory of a map over a million contacts.
fn choose_survivors(path: &Path, allow_duplicates: bool) -> anyhow::Result<Vec<bool>> {
    let mut finals: Vec<(u64, u64, u32)> = Vec::new();
    let mut verdicts: HashMap<u64, u32> = HashMap::new();
    let mut stale: Vec<u32> = Vec::new();
    let mut count = 0u32;
    let (mut rdr, columns) = open_log(path)?;
    let mut raw = csv::StringRecord::new();
    while rdr.read_record(&mut raw)? {
        let index = count;
        count += 1;
        let rec = parse(path, &columns, &raw)?;
        // A row verdict is stale once a later record speaks of the same
        // row: the list was fixed or re-sorted, and a later run judged the
        // row anew.
        if let Some(earlier) = verdicts.remove(&rec.row) {
            stale.push(earlier);
        }
        if !rec.status.is_final() {
            continue;
        }
        match number_key(&rec.to_number) {
            Some(number) if !rec.status.is_row_verdict() => {
                let row_key = if allow_duplicates { rec.row } else { 0 };
                finals.push((number, row_key, index));
            }
            _ => {
                verdicts.insert(rec.row, index);
            }
        }
    }

    let mut keep = vec![false; count as usize];
    finals.sort_unstable();
    for (i, (number, row_key, index)) in finals.iter().enumerate() {
        let is_last = finals
            .get(i + 1)
            .is_none_or(|(n, r, _)| (n, r) != (number, row_key));
        keep[*index as usize] = is_last;
    }
    for index in verdicts.values() {
        keep[*index as usize] = true;
    }
    for index in stale {
        keep[index as usize] = false;
    }
    Ok(keep)
}

/// Where a surviving record starts, and its row.
#[derive(Debug, Clone, Copy)]
struct Survivor {
    /// The row, for ordering.
    row: u64,
    /// Byte offset of the record in the log.
    offset: u64,
}

/// Second pass: the surviving records' rows and offsets, in row order
/// (records of one row keep their log order).
fn locate_survivors(path: &Path, keep: &[bool]) -> anyhow::Result<Vec<Survivor>> {
    let (mut rdr, columns) = open_log(path)?;
    let mut survivors = Vec::new();
    let mut raw = csv::StringRecord::new();
    let mut index = 0usize;
    while rdr.read_record(&mut raw)? {
        if keep.get(index).copied().unwrap_or(false) {
            let offset = raw.position().map(|p| p.byte()).unwrap_or(0);
            let row = parse(path, &columns, &raw)?.row;
            survivors.push(Survivor { row, offset });
        }
        index += 1;
    }
    survivors.sort_by_key(|s| s.row);
    Ok(survivors)
}

/// Third pass: copies the header and the surviving records, byte for byte,
/// to `tmp` in row order, and makes it durable.
fn write_survivors(path: &Path, tmp: &Path, survivors: &[Survivor]) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut log = RecordsAt::new(file);
    let out = File::create(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut out = BufWriter::with_capacity(256 * 1024, out);
    let write_err = || format!("cannot write {}", tmp.display());

    // The header is the record at offset 0.
    out.write_all(log.record(0)?).with_context(write_err)?;
    for survivor in survivors {
        let bytes = log.record(survivor.offset)?;
        out.write_all(bytes).with_context(write_err)?;
        if !bytes.ends_with(b"\n") {
            out.write_all(b"\n").with_context(write_err)?;
        }
    }
    let out = out
        .into_inner()
        .map_err(|err| anyhow::anyhow!("{}: {}", write_err(), err.error()))?;
    out.sync_all().with_context(write_err)?;
    Ok(())
}

/// Reads whole records at given offsets through a window of the file, so
/// offsets that mostly rise (a log is nearly in row order) cost no seeks.
struct RecordsAt {
    /// The log.
    file: File,
    /// Bytes of the file from `start`.
    window: Vec<u8>,
    /// Offset of `window[0]` in the file.
    start: u64,
    /// Whether the window reaches the end of the file.
    at_eof: bool,
}

impl RecordsAt {
    /// Size of the window; it grows for a record longer than this.
    const WINDOW: usize = 256 * 1024;

    /// A reader with an empty window.
    fn new(file: File) -> RecordsAt {
        RecordsAt {
            file,
            window: Vec::new(),
            start: 0,
            at_eof: false,
        }
    }

    /// The record starting at `offset`, through its line end (a newline
    /// inside quotes does not end it). The last record may lack one.
    fn record(&mut self, offset: u64) -> std::io::Result<&[u8]> {
        let window_end = self.start + self.window.len() as u64;
        if offset < self.start || offset >= window_end {
            self.fill(offset, Self::WINDOW)?;
        }
        let mut want = Self::WINDOW;
        let range = loop {
            let from = (offset - self.start) as usize;
            match record_end(&self.window[from..]) {
                Some(len) => break from..from + len,
                None if self.at_eof => break from..self.window.len(),
                None => {
                    want *= 2;
                    self.fill(offset, want)?;
                }
            }
        };
        Ok(&self.window[range])
    }

    /// Loads up to `len` bytes from `offset` into the window.
    fn fill(&mut self, offset: u64, len: usize) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        self.file.seek(SeekFrom::Start(offset))?;
        self.window.clear();
        (&self.file)
            .take(len as u64)
            .read_to_end(&mut self.window)?;
        self.start = offset;
        self.at_eof = self.window.len() < len;
        Ok(())
    }
}

/// Length of the record at the start of `bytes`, newline included, or
/// `None` if it does not end within them.
fn record_end(bytes: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return Some(i + 1),
            _ => {}
        }
    }
    None
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

/// Parses one raw record of the log, naming the file on failure.
fn parse(path: &Path, columns: &ColumnMap, raw: &csv::StringRecord) -> anyhow::Result<Record> {
    columns
        .parse(raw)
        .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::record::{COLUMNS, Status};

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
        assert_eq!(compact(&path, false, false).unwrap(), 3);
        assert_eq!(
            statuses(&path),
            [
                (1, "dispatched".into()),
                (2, "invalid".into()),
                (4, "dispatched".into())
            ]
        );
    }

    #[test]
    fn rows_come_out_in_list_order_with_long_and_quoted_records_intact() {
        // Longer than the read window, as a record edited by hand may be.
        let mut long = Record::new(1, "bad", Status::Invalid);
        long.error = "x".repeat(300 * 1024);
        let (_dir, path) = log_with(&[
            Record::new(3, "+12015550103", Status::Dispatched),
            long,
            Record::new(2, "+12015550102", Status::Failed).with_error("a \"quoted\", comma"),
        ]);
        compact(&path, false, false).unwrap();
        let rows = statuses(&path);
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("a \"\"quoted\"\", comma"));
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn a_stale_row_verdict_gives_way_to_a_later_record_of_that_row() {
        let (_dir, path) = log_with(&[
            Record::new(3, "bad", Status::Invalid),
            Record::new(3, "+12015550103", Status::Dispatched),
            Record::new(5, "bad", Status::Invalid),
        ]);
        compact(&path, false, false).unwrap();
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
        assert_eq!(compact(&path, true, false).unwrap(), 2);
        assert_eq!(compact(&path, false, false).unwrap(), 1);
    }

    /// The rename is synced in its directory only with `--fsync`; what a
    /// unit test cannot show is that it then survives a power loss.
    #[test]
    fn with_fsync_the_rename_is_synced_in_its_directory() {
        use crate::outcome::durable::tests::syncs_so_far;

        let (_dir, path) = log_with(&[Record::new(1, "+12015550101", Status::Dispatched)]);
        let before = syncs_so_far();
        compact(&path, false, false).unwrap();
        assert_eq!(syncs_so_far(), before);
        compact(&path, false, true).unwrap();
        assert_eq!(syncs_so_far(), before + 1);
        assert_eq!(statuses(&path), [(1, "dispatched".into())]);
    }
}
