//! Opening the outcome log: refusing to clobber an earlier campaign, moving
//! it aside with `--fresh`, repairing a tail torn by a crash, and reading the
//! ledger back for `--resume`.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::ledger::{Fold, Intents, Ledger, number_key};
use super::record::{COLUMNS, ColumnMap, Record, Status};

/// What to do with an outcome file that already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Refuse: the file belongs to an earlier campaign.
    New,
    /// Continue the campaign recorded in it (start one if it is missing).
    Resume,
    /// Move it aside under a timestamped name and start over.
    Fresh,
}

/// A log opened for appending, with what it already held.
#[derive(Debug)]
pub struct OpenedLog {
    /// The file, positioned at its end and locked against a second run.
    pub file: File,
    /// Column layout new records must follow.
    pub columns: ColumnMap,
    /// Prior state of every contact.
    pub ledger: Ledger,
    /// Records the run must write before anything else: `unknown` for every
    /// request a crash left without a result.
    pub repairs: Vec<Record>,
    /// A warning to show once, when a torn tail was repaired.
    pub torn_warning: Option<String>,
    /// Where an earlier file was moved by `--fresh`.
    pub moved_aside: Option<PathBuf>,
    /// A warning to show once, when `--resume` found no campaign to
    /// continue and started a new one.
    pub nothing_to_resume: Option<String>,
}

/// Opens (or creates) the log at `path` for a run. With `fsync`, a file
/// created or renamed here is made durable in its directory as well.
/// `contacts` is how many contacts the list holds: a resume makes room for
/// them in the ledger before reading the log, rather than growing it
/// step by step.
pub fn open_for_run(
    path: &Path,
    mode: OpenMode,
    allow_duplicates: bool,
    fsync: bool,
    contacts: usize,
) -> anyhow::Result<OpenedLog> {
    let exists = path.metadata().map(|m| m.len() > 0).unwrap_or(false);
    let mut moved_aside = None;
    if exists {
        match mode {
            OpenMode::New => bail!(
                "{} already exists: pass --resume to continue that campaign, or --fresh \
                 to start over (the old file is kept under a timestamped name)",
                path.display()
            ),
            OpenMode::Fresh => {
                // A run still writing the old file must finish first: moving
                // it aside under that run would let both dial the list.
                let old =
                    File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
                lock(&old, path)?;
                moved_aside = Some(move_aside(path)?);
            }
            OpenMode::Resume => return resume(path, allow_duplicates, fsync, contacts),
        }
    }
    // Scripts use `--resume` as "start or resume", so a missing file is not
    // an error; but a mistyped `--out` would silently dial the whole list
    // again, so we say so.
    let nothing_to_resume = (mode == OpenMode::Resume).then(|| nothing_to_resume(path));
    let file = create(path)?;
    if fsync {
        // One sync of the directory also covers `--fresh`'s rename, which
        // happened in the same directory just before.
        sync_directory(path)?;
    }
    Ok(OpenedLog {
        file,
        columns: ColumnMap::canonical(),
        ledger: Ledger::new(allow_duplicates),
        repairs: vec![],
        torn_warning: None,
        moved_aside,
        nothing_to_resume,
    })
}

/// The warning for a `--resume` that finds no records at `path`.
fn nothing_to_resume(path: &Path) -> String {
    if path.exists() {
        format!(
            "the outcome file {} is empty: starting a new campaign",
            path.display()
        )
    } else {
        format!(
            "no outcome file at {}: starting a new campaign",
            path.display()
        )
    }
}

/// Reads the ledger of an existing log without changing a byte of it (for
/// dry runs). Its tail counts as a resume would count it: a last record that
/// only lacks its newline as itself, a torn one as `unknown`.
pub fn read_ledger(path: &Path, allow_duplicates: bool) -> anyhow::Result<Ledger> {
    let mut ledger = Ledger::new(allow_duplicates);
    if !path.exists() {
        return Ok(ledger);
    }
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let complete =
        complete_len(&mut file).with_context(|| format!("cannot read {}", path.display()))?;
    file.seek(SeekFrom::Start(0))?;
    let columns = read_into_ledger(path, (&file).take(complete), &mut ledger)?;
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(complete))?;
    file.read_to_end(&mut tail)?;
    refuse_bare_cr(path, &tail)?;
    if let Some(columns) = columns.filter(|_| !tail.is_empty()) {
        match read_tail(path, &tail, &columns, &ledger)? {
            TailFix::Whole(rec) => ledger.apply(&rec),
            TailFix::Salvaged(rec) => mark_torn(&mut ledger, &rec),
            TailFix::Cut => {}
        }
    }
    ledger.take_dangling();
    Ok(ledger)
}

/// Creates a new log holding only the header, locked for this run.
fn create(path: &Path) -> anyhow::Result<File> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .read(true)
        .open(path)
        .with_context(|| format!("cannot create the outcome file {}", path.display()))?;
    lock(&file, path)?;
    writeln!(file, "{}", COLUMNS.join(","))
        .with_context(|| format!("cannot write to {}", path.display()))?;
    Ok(file)
}

/// Makes the creation or renaming of the log at `path` durable (`--fsync`):
/// before any call, so a directory that cannot be synced costs nothing.
fn sync_directory(path: &Path) -> anyhow::Result<()> {
    super::durable::sync_parent(path).with_context(|| {
        format!(
            "cannot sync the directory of {} (asked by --fsync)",
            path.display()
        )
    })
}

/// Takes an exclusive advisory lock, so two runs never share one campaign.
fn lock(file: &File, path: &Path) -> anyhow::Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "{} is in use by another omnidial run; two runs on one campaign could dial \
             the same contact twice",
            path.display()
        ),
        Err(std::fs::TryLockError::Error(err)) => {
            Err(err).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Renames an old outcome file to `NAME.YYYYMMDDTHHMMSSZ.csv` beside it.
fn move_aside(path: &Path) -> anyhow::Result<PathBuf> {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("outcome");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("csv");
    let mut target = path.with_file_name(format!("{stem}.{stamp}.{ext}"));
    let mut n = 1;
    while target.exists() {
        target = path.with_file_name(format!("{stem}.{stamp}-{n}.{ext}"));
        n += 1;
    }
    std::fs::rename(path, &target).with_context(|| {
        format!(
            "cannot move {} aside to {}",
            path.display(),
            target.display()
        )
    })?;
    Ok(target)
}

/// Opens an existing log to continue its campaign.
fn resume(
    path: &Path,
    allow_duplicates: bool,
    fsync: bool,
    contacts: usize,
) -> anyhow::Result<OpenedLog> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open the outcome file {}", path.display()))?;
    lock(&file, path)?;
    resume_file(path, file, allow_duplicates, fsync, contacts)
}

/// Continues the campaign in `file`, open and locked.
fn resume_file(
    path: &Path,
    mut file: File,
    allow_duplicates: bool,
    fsync: bool,
    contacts: usize,
) -> anyhow::Result<OpenedLog> {
    let complete =
        complete_len(&mut file).with_context(|| format!("cannot read {}", path.display()))?;
    let len = file.metadata()?.len();
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(complete))?;
    file.read_to_end(&mut tail)?;
    refuse_bare_cr(path, &tail)?;

    file.seek(SeekFrom::Start(0))?;
    let mut ledger = Ledger::new(allow_duplicates);
    ledger.reserve(contacts);
    let columns = read_into_ledger(path, (&file).take(complete), &mut ledger)?;
    let Some(columns) = columns else {
        // Not even the header survived a crash: the file held no records.
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        writeln!(file, "{}", COLUMNS.join(","))?;
        return Ok(OpenedLog {
            file,
            columns: ColumnMap::canonical(),
            ledger,
            repairs: vec![],
            torn_warning: None,
            moved_aside: None,
            nothing_to_resume: None,
        });
    };
    if !columns.is_complete() && columns.has_core() {
        let upgraded = add_new_columns(path, &mut file, complete, &columns)
            .with_context(|| format!("cannot add the new columns to {}", path.display()))?;
        if fsync {
            sync_directory(path)?;
        }
        return resume_file(path, upgraded, allow_duplicates, fsync, contacts);
    }
    if !columns.is_complete() {
        bail!(
            "{} lacks the columns {} that omnidial writes; it was not written by omnidial \
             (or was edited), so resuming could mix layouts. Move it aside or pass --fresh",
            path.display(),
            columns.missing().join(", ")
        );
    }

    // The tail first: a whole last record that only lacks its newline
    // counts like any other, an intent included.
    let (torn_warning, salvaged) = if tail.is_empty() {
        (None, None)
    } else {
        let fix = read_tail(path, &tail, &columns, &ledger)?;
        let warning = repair_tail(path, &mut file, complete, len, &tail, &fix)?;
        let salvaged = match fix {
            TailFix::Whole(rec) => {
                ledger.apply(&rec);
                None
            }
            TailFix::Salvaged(rec) => Some(rec),
            TailFix::Cut => None,
        };
        (Some(warning), salvaged)
    };
    let mut repairs = ledger.take_dangling();
    for rec in &mut repairs {
        rec.status = Status::Unknown;
        rec.error = "interrupted while sending; the call may have been placed".into();
        // The intent counted the calls before it; this one may have been
        // placed, and a redial cap must count it.
        rec.calls += 1;
    }
    if let Some(rec) = salvaged {
        mark_torn(&mut ledger, &rec);
        repairs.push(rec);
    }
    file.seek(SeekFrom::End(0))?;

    Ok(OpenedLog {
        file,
        columns,
        ledger,
        repairs,
        torn_warning,
        moved_aside: None,
        nothing_to_resume: None,
    })
}

/// Gives a file written by an earlier omnidial the columns it lacks: the
/// header gains them at its end and every record is padded, through a temp
/// file renamed over the log, so a crash leaves the old file whole. The new
/// file is locked before the rename, so no other run can slip in between.
/// A torn tail is copied as it is, for the resume to repair.
fn add_new_columns(
    path: &Path,
    file: &mut File,
    complete: u64,
    columns: &ColumnMap,
) -> anyhow::Result<File> {
    let tmp = path.with_extension("upgrading");
    let out = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    lock(&out, &tmp)?;

    file.seek(SeekFrom::Start(0))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(BufReader::new((&*file).take(complete)));
    let mut wtr = csv::WriterBuilder::new().from_writer(std::io::BufWriter::new(&out));
    let mut width = 0;
    let mut record = csv::StringRecord::new();
    while rdr.read_record(&mut record)? {
        if width == 0 {
            record.extend(columns.missing());
            width = record.len();
        }
        while record.len() < width {
            record.push_field("");
        }
        wtr.write_record(&record)?;
    }
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(complete))?;
    file.read_to_end(&mut tail)?;
    // A last record that only lacks its newline is a record like the
    // others; it would not be whole in the new layout.
    let whole_tail = matches!(parse_complete(&tail, columns), Ok(Some(_)));
    let mut last = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(tail.as_slice());
    if whole_tail && last.read_record(&mut record)? {
        while record.len() < width {
            record.push_field("");
        }
        wtr.write_record(&record)?;
        tail.clear();
    }
    wtr.flush()?;
    drop(wtr);

    (&out).write_all(&tail)?;
    out.sync_all()?;
    std::fs::rename(&tmp, path)?;
    tracing::info!(
        columns = columns.missing().join(","),
        "added the new outcome columns to {}",
        path.display()
    );
    Ok(out)
}

/// Refuses a file whose lines end in a bare CR (a spreadsheet's "CSV
/// (Macintosh)"): omnidial writes LF, so a tail with a CR inside is not one
/// torn record but many unread ones, or the whole file.
fn refuse_bare_cr(path: &Path, tail: &[u8]) -> anyhow::Result<()> {
    let ending = tail.iter().rposition(|&b| b != b'\r').map_or(0, |i| i + 1);
    // A CR inside quotes is a cell's own (an invalid row's phone cell as
    // written), not a line's end.
    let mut quoted = false;
    let bare_cr = tail[..ending].iter().any(|&b| {
        quoted ^= b == b'"';
        b == b'\r' && !quoted
    });
    if bare_cr {
        bail!(
            "{}: its lines end in a bare CR (carriage return) where omnidial writes a line \
             feed; it was saved by another program. Convert the line endings back (for \
             example `tr '\\r' '\\n'`) and resume again",
            path.display()
        );
    }
    Ok(())
}

/// Length of the file up to and including its last newline: every record
/// omnidial writes is one line, so whatever follows it is a torn tail.
fn complete_len(file: &mut File) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let buf = &mut chunk[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(buf)?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// What the bytes after the last newline hold.
enum TailFix {
    /// A whole record that only lacks its newline.
    Whole(Record),
    /// A torn record naming a contact, made `unknown`.
    Salvaged(Record),
    /// A torn record naming no contact.
    Cut,
}

/// Reads the bytes after the last newline: a whole record, or a torn one
/// and the contact it names. A tail omnidial cannot have written, or one
/// torn inside a number no intent explains, is an error.
fn read_tail(
    path: &Path,
    tail: &[u8],
    columns: &ColumnMap,
    ledger: &Ledger,
) -> anyhow::Result<TailFix> {
    let whole = parse_complete(tail, columns)
        .map_err(|err| anyhow::anyhow!("{} last line: {err}; {FIX_THE_LINE}", path.display()))?;
    if let Some(rec) = whole {
        return Ok(TailFix::Whole(rec));
    }
    let text = String::from_utf8_lossy(tail);
    refuse_cut_number(path, &text, ledger)?;
    Ok(salvage_contact(&text).map_or(TailFix::Cut, TailFix::Salvaged))
}

/// Mends the file after `fix`: a whole record gets its newline, a torn one
/// is cut off. Returns the warning to show.
fn repair_tail(
    path: &Path,
    file: &mut File,
    complete: u64,
    len: u64,
    tail: &[u8],
    fix: &TailFix,
) -> anyhow::Result<String> {
    if let TailFix::Whole(rec) = fix {
        file.seek(SeekFrom::End(0))?;
        file.write_all(b"\n")?;
        return Ok(format!(
            "{}: the last record had no final newline; added one (row {})",
            path.display(),
            rec.row
        ));
    }
    file.set_len(complete)
        .with_context(|| format!("cannot cut the torn tail of {}", path.display()))?;
    let what = match fix {
        TailFix::Salvaged(rec) => format!("row {} ({}) is now `unknown`", rec.row, rec.to_number),
        _ => "it named no contact".to_string(),
    };
    Ok(format!(
        "{}: repaired a record torn by a crash ({} bytes cut: {:?}); {}",
        path.display(),
        len - complete,
        String::from_utf8_lossy(tail),
        what
    ))
}

/// Marks the contact a torn record names `unknown`.
fn mark_torn(ledger: &mut Ledger, rec: &Record) {
    if let Some(number) = number_key(&rec.to_number) {
        ledger.mark_unknown(number, rec.row);
    }
}

/// Parses a tail that may be a whole record missing only its newline; a
/// whole record that omnidial cannot have written is an error.
fn parse_complete(tail: &[u8], columns: &ColumnMap) -> Result<Option<Record>, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(tail);
    let Some(Ok(rec)) = rdr.records().next() else {
        return Ok(None);
    };
    let Ok(parsed) = columns.parse(&rec) else {
        return Ok(None);
    };
    // A cut record can still parse, so we also ask for every column and a
    // whole timestamp (a cut one does not parse, or is missing).
    let whole = rec.len() == columns.width() && parsed.at != jiff::Timestamp::UNIX_EPOCH;
    if !whole {
        return Ok(None);
    }
    check_own(columns, &rec, parsed).map(Some)
}

/// Refuses a torn line that names a row but is cut before the end of its
/// number: the contact may have been called, and which number it was is
/// lost (`+1212299` may be `+12122999991`). Marking the cut number would
/// leave the real one to be dialed again.
fn refuse_cut_number(path: &Path, text: &str, ledger: &Ledger) -> anyhow::Result<()> {
    let fields: Vec<&str> = text.split(',').collect();
    // With fewer fields even the row may be cut: the line names nobody.
    let [_, row, number] = fields[..] else {
        return Ok(());
    };
    let Ok(row) = row.trim().parse::<u64>() else {
        return Ok(());
    };
    if ledger.has_open_intent(row) {
        // The contact's intent is whole, and makes it `unknown`.
        return Ok(());
    }
    bail!(
        "{}: the last line is torn inside the number of row {row} ({number:?}); a call to \
         that contact may have been placed, and omnidial cannot tell which number it was. \
         Write out the number of row {row} of the list in full, followed by a comma (the \
         line then reads `...,{row},+NUMBER,`), and resume again: the contact is then \
         held as `unknown`",
        path.display()
    );
}

/// Reads the row and number a torn line still shows, to mark it `unknown`;
/// only a number followed by the next field's comma is known whole.
fn salvage_contact(text: &str) -> Option<Record> {
    let fields: Vec<&str> = text.split(',').collect();
    let row = fields.get(1)?.trim().parse().ok()?;
    let number = fields.get(2).filter(|_| fields.len() > 3)?.trim();
    number_key(number)?;
    let mut rec = Record::new(row, number, Status::Unknown);
    // The torn record may stand for a call placed: a redial cap counts it.
    rec.calls = 1;
    rec.error = format!(
        "record torn by a crash; the call may have been placed (torn text: {})",
        super::record::one_line(text)
    );
    Some(rec)
}

/// What to do about a record that cannot be read.
const FIX_THE_LINE: &str = "fix the line (--fresh would start the campaign over and dial \
     every contact again)";

/// Log records folded into the ledger per batch handed between threads.
const FOLD_BATCH: usize = 4096;

/// Reads every complete record into `ledger`; returns the column layout, or
/// `None` when the file holds no header.
///
/// A second thread reads and parses the records (and tracks open intents,
/// which need the whole record) while this one folds them into the ledger:
/// each is about half the work, and at a million records this halves a
/// resume's wait before its first call. Only small `Copy` summaries cross
/// between the threads, in batches whose buffers go back for reuse, so
/// each thread frees what it allocated.
fn read_into_ledger(
    path: &Path,
    input: impl Read + Send,
    ledger: &mut Ledger,
) -> anyhow::Result<Option<ColumnMap>> {
    let (batches, folded) = std::sync::mpsc::sync_channel::<Vec<Fold>>(4);
    let (empties, reuse) = std::sync::mpsc::channel::<Vec<Fold>>();
    let intents = Intents::new(ledger.allows_duplicates());
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut intents = intents;
            let mut batch = Vec::with_capacity(FOLD_BATCH);
            let columns = read_records(path, input, |rec| {
                let fold = Fold::of(rec);
                intents.track(rec, &fold);
                batch.push(fold);
                if batch.len() == FOLD_BATCH {
                    let next = reuse.try_recv().unwrap_or_default();
                    // A closed channel means the folding side failed; its
                    // error is the one reported.
                    let _ = batches.send(std::mem::replace(&mut batch, next));
                }
            });
            let _ = batches.send(batch);
            drop(batches);
            columns.map(|columns| (columns, intents))
        });
        for mut batch in folded {
            for fold in batch.drain(..) {
                ledger.fold(fold);
            }
            // The reader has stopped once nobody takes the buffer back.
            let _ = empties.send(batch);
        }
        let (columns, intents) = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        ledger.adopt_intents(intents);
        Ok(columns)
    })
}

/// Checks what omnidial itself always writes, so that a file changed by
/// hand or by a spreadsheet is refused rather than misread: a contact's
/// `to_number` is E.164 (a spreadsheet drops the `+`, or writes
/// `1.4152E+10`), and a record is one line, except for the raw phone cell
/// of an `invalid` row (a stray quote pair would otherwise join the lines
/// between into one record, and the contacts on them would be dialed
/// again).
fn check_own(map: &ColumnMap, fields: &csv::StringRecord, rec: Record) -> Result<Record, String> {
    if !rec.status.is_row_verdict() && number_key(&rec.to_number).is_none() {
        return Err(format!(
            "`to_number` is {:?}, not the E.164 number omnidial wrote (a `+` and digits); \
             was the file saved by a spreadsheet?",
            rec.to_number
        ));
    }
    let raw_phone = map
        .to_number_position()
        .filter(|_| rec.status == Status::Invalid);
    let spans_lines = fields
        .iter()
        .enumerate()
        .any(|(i, field)| Some(i) != raw_phone && field.contains(['\n', '\r']));
    if spans_lines {
        return Err(
            "the record runs over several lines, which omnidial never writes: a quote \
             opened here is not closed on this line"
                .to_string(),
        );
    }
    Ok(rec)
}

/// Reads every complete record, giving each to `apply`; returns the column
/// layout, or `None` when the file holds no header.
fn read_records(
    path: &Path,
    input: impl Read,
    mut apply: impl FnMut(&Record),
) -> anyhow::Result<Option<ColumnMap>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(BufReader::with_capacity(256 * 1024, input));
    let mut record = csv::StringRecord::new();
    let mut columns: Option<ColumnMap> = None;
    while rdr
        .read_record(&mut record)
        .with_context(|| format!("cannot read {}", path.display()))?
    {
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let Some(map) = &columns else {
            let map = ColumnMap::from_header(&record).map_err(|err| {
                anyhow::anyhow!("{} is not an outcome file: {err}", path.display())
            })?;
            columns = Some(map);
            continue;
        };
        let rec = map
            .parse(&record)
            .and_then(|rec| check_own(map, &record, rec))
            .map_err(|err| {
                anyhow::anyhow!("{} line {line}: {err}; {FIX_THE_LINE}", path.display())
            })?;
        apply(&rec);
    }
    Ok(columns)
}

#[cfg(test)]
mod tests;
