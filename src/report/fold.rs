//! Reading an outcome file into a [`CampaignReport`] in two streaming
//! passes over one open handle.
//!
//! The first pass decides which record speaks for each contact and keeps
//! only a small key and an index per contact. The second pass reads the
//! same records again and counts the chosen ones, so reasons and call
//! results are never held per contact. Because the handle stays open, a run
//! that compacts the file between the passes (a rename) cannot change what
//! the second pass reads; records appended meanwhile are past the count the
//! first pass took, and are left for the next report.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;

use anyhow::Context;

use super::{CallResults, CampaignReport, FIRST_UNKNOWN_ROWS, ReasonCount, TOP_REASONS};
use crate::outcome::number_key;
use crate::outcome::record::{ColumnMap, Record, Status};
use crate::reconcile::RESULT_COLUMNS;

/// Read buffer: large, since a report reads the whole file twice.
const BUFFER: usize = 256 * 1024;

/// What a record is about, keyed as the ledger and compaction key it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Subject {
    /// A contact, by number (and row when duplicates are allowed).
    Contact(u64, u64),
    /// A verdict on a row of the list.
    Row(u64),
}

/// The last transient record of a subject that no final record followed.
#[derive(Debug, Clone, Copy)]
enum Intent {
    /// A request may have left: the record's index.
    Sending(u32),
    /// Handed back before any request left.
    Released,
}

/// How the second pass treats a record, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Superseded or transient: not counted.
    Skip,
    /// Counted with its own status.
    Count,
    /// An intent without a result: counted as `unknown`.
    CountAsUnknown,
}

/// What the first pass decided.
#[derive(Debug)]
struct Survivors {
    /// One verdict per record, in file order.
    verdicts: Vec<Verdict>,
    /// Contacts handed back and never finished.
    pending: u64,
    /// Whether a partial last line was passed over.
    partial_last_line: bool,
}

/// Reads the outcome file at `path`. With `allow_duplicates`, contacts are
/// keyed by number and row, as the campaign's own setting keys them.
pub fn read(path: &Path, allow_duplicates: bool) -> anyhow::Result<CampaignReport> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let survivors = choose(path, &file, allow_duplicates)?;

    // Back to the start of the same file for the counting pass.
    let mut file = file;
    file.seek(SeekFrom::Start(0))
        .with_context(|| format!("cannot read {} again", path.display()))?;
    let mut report = count(path, &file, &survivors)?;
    report.file = path.display().to_string();
    report.partial_last_line = survivors.partial_last_line;
    report.by_status.pending = survivors.pending;
    report.contacts += survivors.pending;
    Ok(report)
}

/// A CSV reader past the header, with the header's column map.
fn open(path: &Path, file: &File) -> anyhow::Result<(csv::Reader<BufReader<File>>, ColumnMap)> {
    let handle = file
        .try_clone()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(BufReader::with_capacity(BUFFER, handle));
    let header = rdr
        .headers()
        .with_context(|| format!("cannot read the header of {}", path.display()))?;
    let columns = ColumnMap::from_header(header)
        .map_err(|err| anyhow::anyhow!("{} is not an outcome file: {err}", path.display()))?;
    Ok((rdr, columns))
}

/// First pass: which record speaks for each contact.
fn choose(path: &Path, file: &File, allow_duplicates: bool) -> anyhow::Result<Survivors> {
    let (mut rdr, columns) = open(path, file)?;
    let mut last_final: HashMap<Subject, u32> = HashMap::new();
    let mut open_intents: HashMap<Subject, Intent> = HashMap::new();
    // As in compaction, a row verdict is stale once a later record speaks of
    // the same row (the list was fixed and the row judged anew). We keep
    // only the open verdicts by row, far fewer than the records.
    let mut open_verdicts: HashMap<u64, u32> = HashMap::new();
    let mut stale = Vec::new();
    let mut records = Records::new(path);

    while let Some((index, rec)) = records.next(&mut rdr, &columns)? {
        if let Some(earlier) = open_verdicts.remove(&rec.row) {
            stale.push(earlier);
        }
        let subject = subject_of(&rec, allow_duplicates);
        match rec.status {
            Status::Sending => {
                open_intents.insert(subject, Intent::Sending(index));
            }
            Status::Released => {
                open_intents.insert(subject, Intent::Released);
            }
            _ => {
                open_intents.remove(&subject);
                last_final.insert(subject, index);
                if matches!(subject, Subject::Row(_)) {
                    open_verdicts.insert(rec.row, index);
                }
            }
        }
    }

    let mut verdicts = vec![Verdict::Skip; records.count as usize];
    for index in last_final.values() {
        verdicts[*index as usize] = Verdict::Count;
    }
    for index in stale {
        verdicts[index as usize] = Verdict::Skip;
    }
    let pending = settle_intents(&open_intents, &last_final, &mut verdicts);
    Ok(Survivors {
        verdicts,
        pending,
        partial_last_line: records.partial_last_line,
    })
}

/// Applies the intents no result followed: a `sending` overrides any earlier
/// result (a retry may have placed the call), a `released` leaves an earlier
/// result standing. Returns how many contacts were handed back unfinished.
fn settle_intents(
    open_intents: &HashMap<Subject, Intent>,
    last_final: &HashMap<Subject, u32>,
    verdicts: &mut [Verdict],
) -> u64 {
    let mut pending = 0;
    for (subject, intent) in open_intents {
        let earlier = last_final.get(subject);
        match intent {
            Intent::Sending(index) => {
                if let Some(earlier) = earlier {
                    verdicts[*earlier as usize] = Verdict::Skip;
                }
                verdicts[*index as usize] = Verdict::CountAsUnknown;
            }
            Intent::Released if earlier.is_none() => pending += 1,
            Intent::Released => {}
        }
    }
    pending
}

/// What a record is about.
fn subject_of(rec: &Record, allow_duplicates: bool) -> Subject {
    match number_key(&rec.to_number) {
        Some(number) if !rec.status.is_row_verdict() => {
            Subject::Contact(number, if allow_duplicates { rec.row } else { 0 })
        }
        _ => Subject::Row(rec.row),
    }
}

/// Positions of the columns reconcile adds, when present.
#[derive(Debug, Clone, Copy)]
struct CallColumns {
    /// `call_status`.
    status: usize,
    /// `call_duration_s`.
    duration: Option<usize>,
    /// `call_cost`.
    cost: Option<usize>,
}

impl CallColumns {
    /// Finds them in a header; `None` when the file was never reconciled.
    fn find(header: &csv::StringRecord) -> Option<CallColumns> {
        let at = |name: &str| header.iter().position(|h| h.trim() == name);
        Some(CallColumns {
            status: at(RESULT_COLUMNS[0])?,
            duration: at(RESULT_COLUMNS[1]),
            cost: at(RESULT_COLUMNS[2]),
        })
    }
}

/// Second pass: counts the chosen records.
fn count(path: &Path, file: &File, survivors: &Survivors) -> anyhow::Result<CampaignReport> {
    let (mut rdr, columns) = open(path, file)?;
    let call_columns = CallColumns::find(rdr.headers()?);
    let mut report = CampaignReport::default();
    let mut calls = call_columns.map(|_| CallResults::default());
    let mut reasons: HashMap<String, u64> = HashMap::new();
    let mut unknown_rows = Vec::new();
    let mut raw = csv::StringRecord::new();

    for verdict in &survivors.verdicts {
        if !rdr.read_record(&mut raw)? {
            anyhow::bail!("{} became shorter while it was read", path.display());
        }
        report.records += 1;
        if *verdict == Verdict::Skip {
            continue;
        }
        let rec = columns
            .parse(&raw)
            .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
        let status = match verdict {
            Verdict::CountAsUnknown => Status::Unknown,
            _ => rec.status,
        };
        report.contacts += 1;
        count_status(&mut report, status);
        match status {
            Status::Failed => *reasons.entry(rec.error).or_default() += 1,
            Status::Unknown => unknown_rows.push(rec.row),
            _ => {}
        }
        if let (Some(at), Some(calls)) = (call_columns, calls.as_mut()) {
            count_call(calls, at, &raw, status);
        }
    }

    report.failures.distinct_reasons = reasons.len() as u64;
    report.failures.top = top_reasons(reasons);
    unknown_rows.sort_unstable();
    unknown_rows.truncate(FIRST_UNKNOWN_ROWS);
    report.unknown.first_rows = unknown_rows;
    report.unknown.count = report.by_status.unknown;
    report.calls = calls.map(|mut calls| {
        calls.finish();
        calls
    });
    Ok(report)
}

/// Adds one contact to its status's count.
fn count_status(report: &mut CampaignReport, status: Status) {
    let counts = &mut report.by_status;
    match status {
        Status::Dispatched => counts.dispatched += 1,
        Status::Failed => {
            counts.failed += 1;
            report.failures.total += 1;
        }
        Status::Invalid => counts.invalid += 1,
        Status::Skipped => counts.skipped += 1,
        Status::Unknown => counts.unknown += 1,
        // Transient records are never chosen to speak for a contact.
        Status::Sending | Status::Released => {}
    }
}

/// Adds one contact's call result, if the file has one for it.
fn count_call(calls: &mut CallResults, at: CallColumns, raw: &csv::StringRecord, status: Status) {
    let cell = |i: Option<usize>| i.and_then(|i| raw.get(i)).unwrap_or("").trim();
    let call_status = cell(Some(at.status));
    if call_status.is_empty() {
        if status == Status::Dispatched {
            calls.no_result += 1;
        }
        return;
    }
    calls.count(call_status);
    // Unreadable figures are left out of the sums rather than failing the
    // report: they come from the platform, not from us.
    calls.total_minutes += cell(at.duration).parse::<f64>().unwrap_or(0.0) / 60.0;
    calls.total_cost += cell(at.cost).parse::<f64>().unwrap_or(0.0);
}

/// The most frequent reasons, most frequent first, ties by text.
fn top_reasons(reasons: HashMap<String, u64>) -> Vec<ReasonCount> {
    let mut all: Vec<ReasonCount> = reasons
        .into_iter()
        .map(|(reason, count)| ReasonCount { reason, count })
        .collect();
    all.sort_unstable_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    all.truncate(TOP_REASONS);
    all
}

/// The first pass's cursor over records: numbers them and passes over a
/// partial last line, which a running campaign may be writing right now.
struct Records<'a> {
    /// The file, for messages.
    path: &'a Path,
    /// Records read so far.
    count: u32,
    /// Whether the last line was partial and passed over.
    partial_last_line: bool,
    /// The record buffer.
    raw: csv::StringRecord,
}

impl<'a> Records<'a> {
    /// A cursor at the first record.
    fn new(path: &'a Path) -> Records<'a> {
        Records {
            path,
            count: 0,
            partial_last_line: false,
            raw: csv::StringRecord::new(),
        }
    }

    /// The next record and its index, or `None` at the end.
    fn next(
        &mut self,
        rdr: &mut csv::Reader<BufReader<File>>,
        columns: &ColumnMap,
    ) -> anyhow::Result<Option<(u32, Record)>> {
        if !self.read(rdr)? {
            return Ok(None);
        }
        let line = self.raw.position().map_or(0, |p| p.line());
        match columns.parse(&self.raw) {
            Ok(rec) => {
                self.count += 1;
                Ok(Some((self.count - 1, rec)))
            }
            // Only the very last line may be cut short.
            Err(_) if !self.read(rdr)? => {
                self.partial_last_line = true;
                Ok(None)
            }
            Err(err) => anyhow::bail!("{}: line {line}: {err}", self.path.display()),
        }
    }

    /// Reads one raw record; false at the end of the file.
    fn read(&mut self, rdr: &mut csv::Reader<BufReader<File>>) -> anyhow::Result<bool> {
        rdr.read_record(&mut self.raw)
            .with_context(|| format!("cannot read {}", self.path.display()))
    }
}
