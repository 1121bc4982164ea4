//! CSV records with exact physical line numbers and the empty lines between.
//!
//! We drive `csv_core` (the parser inside the `csv` crate) ourselves rather
//! than going through `csv::Reader`, because we need two facts that the
//! latter hides: the bytes each record consumed, to count physical lines
//! exactly whatever the line endings (CRLF, LF, CR or a mix), and the empty
//! lines the parser skips without a word, which must come out as blank rows.
//! Each call to [`RecordSource::next_record`] consumes the line breaks left
//! after the previous record (the "gap"), then one record with its
//! terminator. Line breaks in the gap beyond the previous terminator are
//! empty lines.
//!
//! This layer also attributes a decoding [`Fault`] to the record that holds
//! it and spots a quoted field left open at the end of the file.

use std::io::{self, Read};

use csv_core::ReadRecordResult;

use super::decode::{Decoded, Fault};

/// Initial room for one record's field bytes; it doubles on demand.
const FIELD_BYTES: usize = 4 * 1024;

/// Initial room for one record's field ends; it doubles on demand.
const FIELD_ENDS: usize = 64;

/// One record's fields, reused from record to record so that reading does
/// not allocate once the buffers are large enough.
#[derive(Debug, Default)]
pub(crate) struct RawRecord {
    /// Field bytes, unquoted and unescaped, back to back.
    bytes: Vec<u8>,
    /// End offset of each field in `bytes`.
    ends: Vec<usize>,
    /// Bytes of `bytes` in use.
    used: usize,
    /// Entries of `ends` in use.
    fields: usize,
}

impl RawRecord {
    /// An empty record with room to grow.
    fn new() -> Self {
        RawRecord {
            bytes: vec![0; FIELD_BYTES],
            ends: vec![0; FIELD_ENDS],
            used: 0,
            fields: 0,
        }
    }

    /// Number of fields.
    pub(crate) fn len(&self) -> usize {
        self.fields
    }

    /// The byte range of the field at `index` within [`RawRecord::bytes`],
    /// if the record has that many fields.
    pub(crate) fn span(&self, index: usize) -> Option<std::ops::Range<usize>> {
        if index >= self.fields {
            return None;
        }
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        Some(start..self.ends[index])
    }

    /// The field at `index`, if the record has that many.
    pub(crate) fn get(&self, index: usize) -> Option<&[u8]> {
        self.span(index).map(|span| &self.bytes[span])
    }

    /// All field bytes back to back.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes[..self.used]
    }

    /// The fields in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.fields).filter_map(|i| self.get(i))
    }
}

/// Where a record sits, and the empty lines just before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordMeta {
    /// 1-based physical line on which the record starts.
    pub line: u64,
    /// Empty lines between the previous record and this one; they are the
    /// lines `line - empty_before .. line`.
    pub empty_before: u64,
}

/// What can stop the record reader.
#[derive(Debug)]
pub(crate) enum SourceError {
    /// Reading the file failed.
    Io(io::Error),
    /// The record described by `meta` holds the first decoding fault, on
    /// physical line `line`. The record's fields stay readable.
    Fault {
        /// The record holding the fault.
        meta: RecordMeta,
        /// The fault.
        fault: Fault,
        /// 1-based physical line of the faulty byte.
        line: u64,
    },
    /// The record described by `meta` opens a quote that the end of the
    /// file, on line `last_line`, leaves open.
    UnterminatedQuote {
        /// The record opening the quote.
        meta: RecordMeta,
        /// The last physical line of the file.
        last_line: u64,
    },
}

impl From<io::Error> for SourceError {
    fn from(err: io::Error) -> Self {
        SourceError::Io(err)
    }
}

/// Counts physical lines and tells the gap before a record from the record.
///
/// A line break is CRLF, a lone LF or a lone CR. We count a CR when we see
/// it and skip an LF right after a CR, so a CRLF split across two chunks
/// still counts once.
#[derive(Debug, Clone, Default)]
struct LineTracker {
    /// Line breaks seen so far.
    breaks: u64,
    /// Whether the last byte seen was a CR.
    after_cr: bool,
    /// Whether the last byte seen was a CR or an LF.
    after_break: bool,
    /// Whether the current record's first byte is still to come.
    in_gap: bool,
    /// Line breaks in the current gap.
    gap_breaks: u64,
    /// Line on which the current record starts, once its first byte came.
    start_line: u64,
}

impl LineTracker {
    /// A tracker at the start of the stream.
    fn new() -> Self {
        LineTracker {
            in_gap: true,
            start_line: 1,
            ..LineTracker::default()
        }
    }

    /// Takes in bytes the parser consumed.
    fn feed(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        if self.in_gap {
            let gap = rest
                .iter()
                .position(|b| !matches!(b, b'\r' | b'\n'))
                .unwrap_or(rest.len());
            let before = self.breaks;
            self.count(&rest[..gap]);
            self.gap_breaks += self.breaks - before;
            rest = &rest[gap..];
            if !rest.is_empty() {
                self.in_gap = false;
                self.start_line = self.breaks + 1;
            }
        }
        self.count(rest);
    }

    /// Adds the line breaks in `bytes`.
    fn count(&mut self, bytes: &[u8]) {
        self.breaks += breaks_in(bytes, self.after_cr);
        if let Some(last) = bytes.last() {
            self.after_cr = *last == b'\r';
            self.after_break = matches!(last, b'\r' | b'\n');
        }
    }

    /// The line holding the byte just after `bytes`, which are about to be
    /// fed.
    fn line_after(&self, bytes: &[u8]) -> u64 {
        self.breaks + breaks_in(bytes, self.after_cr) + 1
    }

    /// The line holding the last byte seen (a final line break ends its
    /// line rather than starting a new one).
    fn last_line(&self) -> u64 {
        (self.breaks + 1 - u64::from(self.after_break)).max(1)
    }

    /// Ends the current record and returns where it sat.
    fn finish_record(&mut self) -> RecordMeta {
        let meta = RecordMeta {
            line: self.start_line,
            empty_before: self.gap_breaks,
        };
        self.in_gap = true;
        self.gap_breaks = 0;
        meta
    }
}

/// Counts line breaks in `bytes`; `after_cr` says whether the byte before
/// them was a CR (so a leading LF completes that CRLF).
fn breaks_in(bytes: &[u8], after_cr: bool) -> u64 {
    let Some(first) = bytes.first() else {
        return 0;
    };
    let head = *first == b'\r' || (*first == b'\n' && !after_cr);
    // One pass over (byte, previous byte) pairs: every CR ends a line, an
    // LF does unless it follows a CR. The operators are `|` and `&`, not
    // `||` and `&&`, so there is no branch and the loop can be vectorized.
    let rest: usize = bytes[1..]
        .iter()
        .zip(bytes)
        .map(|(b, prev)| usize::from((*b == b'\r') | ((*b == b'\n') & (*prev != b'\r'))))
        .sum();
    u64::from(head) + rest as u64
}

/// Reads records one at a time from a decoded stream.
pub(crate) struct RecordSource<R> {
    /// The UTF-8 stream.
    input: Decoded<R>,
    /// The CSV state machine.
    parser: csv_core::Reader,
    /// The record last read.
    record: RawRecord,
    /// Line counting and gap detection.
    lines: LineTracker,
    /// Stream bytes consumed by the parser.
    offset: u64,
    /// The faulty byte's line, worked out when the parser reaches it.
    fault_line: Option<u64>,
}

impl<R: Read> RecordSource<R> {
    /// Parses `input` with `delimiter`, RFC 4180 quoting and any line
    /// ending.
    pub(crate) fn new(input: Decoded<R>, delimiter: u8) -> Self {
        let parser = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        RecordSource {
            input,
            parser,
            record: RawRecord::new(),
            lines: LineTracker::new(),
            offset: 0,
            fault_line: None,
        }
    }

    /// The record last returned by [`RecordSource::next_record`].
    pub(crate) fn record(&self) -> &RawRecord {
        &self.record
    }

    /// Raw file bytes read so far.
    pub(crate) fn raw_read(&self) -> u64 {
        self.input.raw_read()
    }

    /// Empty lines after the last record, once `next_record` has returned
    /// `None`, as (first line, count).
    pub(crate) fn trailing_empty_lines(&self) -> (u64, u64) {
        let count = self.lines.gap_breaks;
        (self.lines.breaks + 1 - count, count)
    }

    /// Reads the next record into [`RecordSource::record`]; `None` at the end.
    pub(crate) fn next_record(&mut self) -> Result<Option<RecordMeta>, SourceError> {
        self.record.used = 0;
        self.record.fields = 0;
        loop {
            let (chunk, fault) = self.input.fill()?;
            if chunk.is_empty() {
                return self.finish_at_eof(fault);
            }
            let rec = &mut self.record;
            let (result, nin, nout, nends) = self.parser.read_record(
                chunk,
                &mut rec.bytes[rec.used..],
                &mut rec.ends[rec.fields..],
            );
            let consumed = &chunk[..nin];
            if let Some(fault) = fault {
                note_fault_line(
                    &mut self.fault_line,
                    &self.lines,
                    self.offset,
                    consumed,
                    fault,
                );
            }
            self.lines.feed(consumed);
            self.offset += nin as u64;
            self.input.consume(nin);
            rec.used += nout;
            rec.fields += nends;

            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => grow(&mut rec.bytes),
                ReadRecordResult::OutputEndsFull => grow(&mut rec.ends),
                ReadRecordResult::Record => return self.finish_record(fault).map(Some),
                ReadRecordResult::End => return self.finish_stream(fault),
            }
        }
    }

    /// Handles the end of the file. If a record is under way we hand the
    /// parser one synthetic line break: outside quotes it ends the record,
    /// inside quotes it does not, which is how we learn that a quote was
    /// left open. The synthetic byte is not counted as a line.
    fn finish_at_eof(&mut self, fault: Option<Fault>) -> Result<Option<RecordMeta>, SourceError> {
        let under_way = !self.lines.in_gap;
        let input: &[u8] = if under_way { b"\n" } else { b"" };
        loop {
            let rec = &mut self.record;
            let (result, _, nout, nends) = self.parser.read_record(
                input,
                &mut rec.bytes[rec.used..],
                &mut rec.ends[rec.fields..],
            );
            rec.used += nout;
            rec.fields += nends;
            match result {
                ReadRecordResult::OutputFull => grow(&mut rec.bytes),
                ReadRecordResult::OutputEndsFull => grow(&mut rec.ends),
                ReadRecordResult::Record if under_way => {
                    return self.finish_record(fault).map(Some);
                }
                ReadRecordResult::InputEmpty if under_way => {
                    let meta = self.lines.finish_record();
                    let last_line = self.lines.last_line();
                    return Err(SourceError::UnterminatedQuote { meta, last_line });
                }
                _ => return self.finish_stream(fault),
            }
        }
    }

    /// Closes the record just parsed; fails if it holds the first fault.
    /// Earlier records were checked already, so the fault is in this one
    /// exactly when it lies before the end of what the parser consumed.
    fn finish_record(&mut self, fault: Option<Fault>) -> Result<RecordMeta, SourceError> {
        let meta = self.lines.finish_record();
        match fault {
            Some(fault) if fault.stream_offset < self.offset => {
                let line = self.fault_line.unwrap_or(meta.line);
                Err(SourceError::Fault { meta, fault, line })
            }
            _ => Ok(meta),
        }
    }

    /// Ends the stream; a fault no record took (a converter that had no
    /// room left for its '?') is reported at the end of the file.
    fn finish_stream(&self, fault: Option<Fault>) -> Result<Option<RecordMeta>, SourceError> {
        match fault {
            Some(fault) => {
                let line = self.lines.breaks + 1;
                let meta = RecordMeta {
                    line,
                    empty_before: self.lines.gap_breaks,
                };
                Err(SourceError::Fault { meta, fault, line })
            }
            None => Ok(None),
        }
    }
}

/// Works out the line of `fault` if it lies in the `consumed` bytes, which
/// start at stream offset `offset` and are about to be fed to `lines`.
fn note_fault_line(
    slot: &mut Option<u64>,
    lines: &LineTracker,
    offset: u64,
    consumed: &[u8],
    fault: Fault,
) {
    let end = offset + consumed.len() as u64;
    if slot.is_none() && fault.stream_offset >= offset && fault.stream_offset < end {
        let upto = (fault.stream_offset - offset) as usize;
        *slot = Some(lines.line_after(&consumed[..upto]));
    }
}

/// Doubles a buffer that the parser filled.
fn grow<T: Default + Clone>(buf: &mut Vec<T>) {
    let len = buf.len().max(1);
    buf.resize(len * 2, T::default());
}
