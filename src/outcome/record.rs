//! One line of the outcome log: its columns, its statuses, and how it is
//! written and read back.
//!
//! The log and the finished outcome file share one layout, so a user can open
//! either in a spreadsheet. While a run is going the log also holds two
//! transient statuses, `sending` and `released`; compaction at a clean end
//! removes them.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

/// The columns of the outcome file, in order. Users' scripts rely on them,
/// so new columns only ever go at the end.
pub const COLUMNS: [&str; 11] = [
    "request_id",
    "row",
    "to_number",
    "status",
    "attempts",
    "http_status",
    "error",
    "finished_at",
    "from_number_id",
    "calls",
    "earlier_calls",
];

/// How many of [`COLUMNS`] every outcome file has; files written before
/// the later ones existed still read, and a resume adds those columns.
pub const CORE_COLUMNS: usize = 8;

/// Whether a header is an outcome file's: it has the columns that only an
/// outcome file has together.
pub fn is_outcome_header(headers: &[String]) -> bool {
    ["request_id", "to_number", "status", "attempts"]
        .iter()
        .all(|c| headers.iter().any(|h| h.trim() == *c))
}

/// Longest error text kept in a record; server messages can be pages long.
const MAX_ERROR_CHARS: usize = 300;

/// Where a contact stands, as recorded in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Intent: a request for this contact is about to leave. Written and
    /// flushed before the request is sent.
    Sending,
    /// The API accepted the call and returned a request id.
    Dispatched,
    /// The API refused the call, or attempts ran out; certainly not placed.
    Failed,
    /// The row cannot be dialed (bad phone, ragged row, ...).
    Invalid,
    /// Deliberately not dialed (duplicate, suppressed).
    Skipped,
    /// A request left but its result is unknown: it may have been placed.
    Unknown,
    /// An intent taken back: the run stopped before the contact's call was
    /// placed, so a later run may dial it.
    Released,
}

impl Status {
    /// The word used in the outcome file.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Sending => "sending",
            Status::Dispatched => "dispatched",
            Status::Failed => "failed",
            Status::Invalid => "invalid",
            Status::Skipped => "skipped",
            Status::Unknown => "unknown",
            Status::Released => "released",
        }
    }

    /// Whether this status ends a contact's story (as opposed to the
    /// transient `sending` and `released`).
    pub fn is_final(self) -> bool {
        !matches!(self, Status::Sending | Status::Released)
    }

    /// Whether the verdict belongs to a row of the list rather than to a
    /// phone number: such records are re-derived from the list on every run.
    pub fn is_row_verdict(self) -> bool {
        matches!(self, Status::Invalid | Status::Skipped)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Status, String> {
        Ok(match s {
            "sending" => Status::Sending,
            "dispatched" => Status::Dispatched,
            "failed" => Status::Failed,
            "invalid" => Status::Invalid,
            "skipped" => Status::Skipped,
            "unknown" => Status::Unknown,
            "released" => Status::Released,
            other => return Err(format!("unknown status {other:?}")),
        })
    }
}

/// One record of the outcome log.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The platform's `requestId`, when it gave one.
    pub request_id: Option<u64>,
    /// 1-based data row of the contact in the list of the run that wrote it.
    pub row: u64,
    /// The number as sent (E.164), or the raw cell for invalid rows.
    pub to_number: String,
    /// Where the contact stands.
    pub status: Status,
    /// Requests sent for this contact in the run that wrote the record.
    pub attempts: u32,
    /// HTTP status of the last answer, if there was one.
    pub http_status: Option<u16>,
    /// Why the contact is not dispatched, on one line; empty otherwise.
    pub error: String,
    /// When the record was made (for `sending`: when the request left).
    pub at: Timestamp,
    /// The caller number the call went out from, if one was named.
    pub from_number_id: Option<u64>,
    /// Calls that were (or may have been) placed to this contact so far,
    /// this record's included.
    pub calls: u32,
    /// The contact's earlier calls, oldest first, as `REQUEST_ID@TIME`
    /// separated by spaces (`?` for a call whose id is unknown).
    pub earlier_calls: String,
}

impl Record {
    /// A record with the given row, number and status, stamped now.
    pub fn new(row: u64, to_number: impl Into<String>, status: Status) -> Record {
        Record {
            request_id: None,
            row,
            to_number: to_number.into(),
            status,
            attempts: 0,
            http_status: None,
            error: String::new(),
            at: now(),
            from_number_id: None,
            calls: 0,
            earlier_calls: String::new(),
        }
    }

    /// Sets the error text, kept to one line and a sane length.
    pub fn with_error(mut self, error: &str) -> Record {
        self.error = one_line(error);
        self
    }

    /// The record's fields in the order of `COLUMNS`, text fields
    /// borrowed.
    pub fn fields(&self) -> [Cow<'_, str>; 11] {
        let number = |n: Option<u64>| n.map_or(Cow::Borrowed(""), |n| Cow::Owned(n.to_string()));
        [
            number(self.request_id),
            Cow::Owned(self.row.to_string()),
            Cow::Borrowed(&self.to_number),
            Cow::Borrowed(self.status.as_str()),
            Cow::Owned(self.attempts.to_string()),
            number(self.http_status.map(u64::from)),
            Cow::Borrowed(&self.error),
            Cow::Owned(format_time(self.at)),
            number(self.from_number_id),
            Cow::Owned(self.calls.to_string()),
            Cow::Borrowed(&self.earlier_calls),
        ]
    }

    /// Appends this record as one CSV line to `out`, as [`Record::write_to`]
    /// writes it, without a CSV writer: the outcome writer appends two
    /// records a call to one buffer. Each field goes straight into `out`;
    /// building the fields first (numbers and the time as strings) was
    /// most of the cost of a record.
    pub fn append_line(&self, out: &mut Vec<u8>, map: &ColumnMap) {
        let mut column = 0;
        for (at, k) in map.known_in_file_order() {
            // Columns omnidial does not know stay empty.
            while column <= at {
                if column > 0 {
                    out.push(b',');
                }
                column += 1;
            }
            self.append_column(k, out);
        }
        while column < map.width {
            if column > 0 {
                out.push(b',');
            }
            column += 1;
        }
        out.push(b'\n');
    }

    /// Appends the field of column `k` (an index into [`COLUMNS`]) as
    /// [`Record::fields`] gives it, quoted as CSV needs.
    fn append_column(&self, k: usize, out: &mut Vec<u8>) {
        let number = |out: &mut Vec<u8>, n: Option<u64>| {
            if let Some(n) = n {
                append_number(out, n);
            }
        };
        match k {
            0 => number(out, self.request_id),
            1 => append_number(out, self.row),
            2 => append_field(out, &self.to_number),
            3 => out.extend_from_slice(self.status.as_str().as_bytes()),
            4 => append_number(out, u64::from(self.attempts)),
            5 => number(out, self.http_status.map(u64::from)),
            6 => append_field(out, &self.error),
            7 => out.extend_from_slice(&time_text(self.at)),
            8 => number(out, self.from_number_id),
            9 => append_number(out, u64::from(self.calls)),
            _ => append_field(out, &self.earlier_calls),
        }
    }

    /// Appends this record as one CSV line to `wtr`, in the column order of
    /// `map` (columns omnidial does not know are left empty).
    pub fn write_to<W: std::io::Write>(
        &self,
        wtr: &mut csv::Writer<W>,
        map: &ColumnMap,
    ) -> csv::Result<()> {
        let fields = self.fields();
        wtr.write_record(map.order(&fields))
    }
}

/// Appends `n` in decimal.
fn append_number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Appends one CSV field, quoted only when it holds a comma, a quote or a
/// line break (as the csv crate's writer does by default).
fn append_field(out: &mut Vec<u8>, field: &str) {
    if !field
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        out.extend_from_slice(field.as_bytes());
        return;
    }
    out.push(b'"');
    for b in field.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// The current time, to the millisecond, as records carry it.
pub fn now() -> Timestamp {
    let now = Timestamp::now();
    Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now)
}

/// Reads a time exactly as [`format_time`] writes it
/// (`2026-12-04T18:01:15.123Z`), or `None` for any other form, which the
/// general RFC 3339 parser then reads. A resume reads a time per record,
/// and at a million records the general parser was a tenth of the wait.
fn parse_own_time(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || b[19] != b'.' || b[23] != b'Z' {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i32> {
        b[from..to].iter().try_fold(0i32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i32::from(d - b'0'))
        })
    };
    let date = jiff::civil::Date::new(
        i16::try_from(number(0, 4)?).ok()?,
        i8::try_from(number(5, 7)?).ok()?,
        i8::try_from(number(8, 10)?).ok()?,
    )
    .ok()?;
    let time = jiff::civil::Time::new(
        i8::try_from(number(11, 13)?).ok()?,
        i8::try_from(number(14, 16)?).ok()?,
        i8::try_from(number(17, 19)?).ok()?,
        number(20, 23)? * 1_000_000,
    )
    .ok()?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(date.to_datetime(time))
        .ok()
}

/// A time as records carry it: RFC 3339 UTC, always with milliseconds, so
/// every row has the same width and sorts as text. Written digit by digit:
/// two records a call made a format string's machinery show up.
pub fn format_time(at: Timestamp) -> String {
    String::from_utf8_lossy(&time_text(at)).into_owned()
}

/// The bytes of [`format_time`], without a string to hold them.
fn time_text(at: Timestamp) -> [u8; 24] {
    let t = jiff::tz::TimeZone::UTC.to_datetime(at);
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let fields = [
        (0, 4, i32::from(t.year())),
        (5, 2, i32::from(t.month())),
        (8, 2, i32::from(t.day())),
        (11, 2, i32::from(t.hour())),
        (14, 2, i32::from(t.minute())),
        (17, 2, i32::from(t.second())),
        (20, 3, i32::from(t.millisecond())),
    ];
    for (start, width, value) in fields {
        // Years before 1 (which no clock here shows) keep the digits of
        // their magnitude; the text stays the same width.
        let mut value = value.unsigned_abs();
        for i in (start..start + width).rev() {
            text[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    text
}

/// Keeps `text` on one line (records never span lines, which is what lets a
/// torn tail be cut at the last newline) and at most `MAX_ERROR_CHARS` long.
pub fn one_line(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_CHARS)
        .collect();
    if text.chars().count() > MAX_ERROR_CHARS {
        out.push('…');
    }
    out.trim().to_string()
}

/// Maps column names to positions, so files with extra or reordered columns
/// (added by reconcile, or by a user in a spreadsheet) still read.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    /// Position of each of `COLUMNS`, where present.
    positions: [Option<usize>; COLUMNS.len()],
    /// Number of columns in the file's header.
    width: usize,
}

impl ColumnMap {
    /// A record's fields (in the order of [`COLUMNS`]) in the file's column
    /// order; columns omnidial does not know are left empty.
    fn order<'f>(&self, fields: &'f [Cow<'_, str>; 11]) -> Vec<&'f str> {
        let mut line = vec![""; self.width];
        for (k, field) in fields.iter().enumerate() {
            if let Some(i) = self.positions[k] {
                line[i] = field.as_ref();
            }
        }
        line
    }

    /// The columns omnidial knows that the file has, as (place in the
    /// file, index into [`COLUMNS`]), in the file's order, and no more.
    fn known_in_file_order(&self) -> impl Iterator<Item = (usize, usize)> {
        let mut known = [(usize::MAX, 0); COLUMNS.len()];
        for (k, position) in self.positions.iter().enumerate() {
            if let Some(at) = position {
                known[k] = (*at, k);
            }
        }
        // Already in order for a file omnidial created, which is what a
        // run nearly always appends to; absent columns sort last.
        known.sort_unstable();
        let mut kept = 0;
        for i in 0..known.len() {
            // Of two columns at one place, the later one is written, as
            // `order` has it.
            if known[i].0 == usize::MAX || known.get(i + 1).is_some_and(|n| n.0 == known[i].0) {
                continue;
            }
            known[kept] = known[i];
            kept += 1;
        }
        known.into_iter().take(kept)
    }

    /// The layout of a file omnidial creates.
    pub fn canonical() -> ColumnMap {
        ColumnMap {
            positions: std::array::from_fn(Some),
            width: COLUMNS.len(),
        }
    }

    /// Whether every column omnidial writes is present, so records can be
    /// appended in this file's own order.
    pub fn is_complete(&self) -> bool {
        self.positions.iter().all(Option::is_some)
    }

    /// Whether the columns every outcome file has are present; the later
    /// ones may be added (see [`CORE_COLUMNS`]).
    pub fn has_core(&self) -> bool {
        self.positions[..CORE_COLUMNS].iter().all(Option::is_some)
    }

    /// Number of columns in the file's header.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The names of the columns omnidial writes that this header lacks.
    pub fn missing(&self) -> Vec<&'static str> {
        (0..COLUMNS.len())
            .filter(|&k| self.positions[k].is_none())
            .map(|k| COLUMNS[k])
            .collect()
    }

    /// Builds the map from a header record; `row`, `to_number` and `status`
    /// are required.
    pub fn from_header(header: &csv::StringRecord) -> Result<ColumnMap, String> {
        let mut positions = [None; COLUMNS.len()];
        for (i, name) in header.iter().enumerate() {
            if let Some(k) = COLUMNS.iter().position(|c| *c == name.trim()) {
                positions[k] = Some(i);
            }
        }
        for required in [1, 2, 3] {
            if positions[required].is_none() {
                return Err(format!(
                    "the header has no `{}` column (found: {})",
                    COLUMNS[required],
                    header.iter().collect::<Vec<_>>().join(",")
                ));
            }
        }
        Ok(ColumnMap {
            positions,
            width: header.len(),
        })
    }

    /// Reads only what a record is about and where it stands: its row,
    /// number and status. Compaction needs no more, and skipping the time
    /// and the text fields makes its pass over a long log several times
    /// faster.
    pub fn parse_key<'r>(
        &self,
        rec: &'r csv::StringRecord,
    ) -> Result<(u64, &'r str, Status), String> {
        let field = |k: usize| self.positions[k].and_then(|i| rec.get(i)).unwrap_or("");
        let row = match field(1).trim() {
            "" => return Err("`row` is empty".into()),
            text => text
                .parse()
                .map_err(|_| format!("`row` is {text:?}, not a number"))?,
        };
        let status = field(3).trim().parse::<Status>()?;
        Ok((row, field(2), status))
    }

    /// Where the file keeps `to_number`, if it has the column.
    pub fn to_number_position(&self) -> Option<usize> {
        self.positions[2]
    }

    /// Reads one record; `None` names the first field that does not parse.
    pub fn parse(&self, rec: &csv::StringRecord) -> Result<Record, String> {
        let field = |k: usize| self.positions[k].and_then(|i| rec.get(i)).unwrap_or("");
        let optional_u64 = |k: usize| -> Result<Option<u64>, String> {
            let text = field(k).trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse()
                .map(Some)
                .map_err(|_| format!("`{}` is {text:?}, not a number", COLUMNS[k]))
        };
        let row = optional_u64(1)?.ok_or("`row` is empty")?;
        let status = field(3).trim().parse::<Status>()?;
        let at = match field(7).trim() {
            "" => Timestamp::UNIX_EPOCH,
            text => match parse_own_time(text) {
                Some(at) => at,
                None => text
                    .parse()
                    .map_err(|_| format!("`finished_at` is {text:?}, not an RFC 3339 time"))?,
            },
        };
        Ok(Record {
            request_id: optional_u64(0)?,
            row,
            to_number: field(2).to_string(),
            status,
            attempts: optional_u64(4)?.unwrap_or(0) as u32,
            http_status: optional_u64(5)?.map(|s| s as u16),
            error: field(6).to_string(),
            at,
            from_number_id: optional_u64(8)?,
            calls: optional_u64(9)?.unwrap_or(0) as u32,
            earlier_calls: field(10).trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(rec: &Record) -> String {
        let mut wtr = csv::WriterBuilder::new().from_writer(vec![]);
        rec.write_to(&mut wtr, &ColumnMap::canonical()).unwrap();
        String::from_utf8(wtr.into_inner().unwrap()).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn append_line_writes_what_the_csv_writer_writes(
            number in "\\PC{0,20}",
            error in "[a-z ,\"\r\n]{0,30}",
            earlier in "[0-9@?: ]{0,20}",
            id in proptest::option::of(0u64..u64::MAX),
            width in 11usize..14,
        ) {
            let mut rec = Record::new(3, number, Status::Failed).with_error(&error);
            rec.error = error;
            rec.request_id = id;
            rec.earlier_calls = earlier;
            let mut map = ColumnMap::canonical();
            map.width = width;
            map.positions.rotate_left(1);
            map.positions[10] = Some(width - 1);
            let mut wtr = csv::WriterBuilder::new().from_writer(vec![]);
            rec.write_to(&mut wtr, &map).unwrap();
            let mut line = Vec::new();
            rec.append_line(&mut line, &map);
            proptest::prop_assert_eq!(line, wtr.into_inner().unwrap());
        }
    }

    #[test]
    fn a_record_round_trips_through_csv() {
        let mut rec = Record::new(7, "+12015550101", Status::Failed).with_error("bad, \"x\"");
        rec.http_status = Some(400);
        rec.attempts = 2;
        rec.from_number_id = Some(23);
        rec.calls = 2;
        rec.earlier_calls = "101@2026-12-03T14:00:00Z".into();
        let line = encode(&rec);
        assert!(line.ends_with('\n'));
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes());
        let parsed = rdr.records().next().unwrap().unwrap();
        let header = csv::StringRecord::from(COLUMNS.to_vec());
        let map = ColumnMap::from_header(&header).unwrap();
        assert_eq!(map.parse(&parsed).unwrap(), rec);
    }

    #[test]
    fn times_always_carry_milliseconds() {
        let at: Timestamp = "2026-12-03T09:00:01Z".parse().unwrap();
        assert_eq!(format_time(at), "2026-12-03T09:00:01.000Z");
        let at: Timestamp = "2026-12-03T09:00:01.87Z".parse().unwrap();
        assert_eq!(format_time(at), "2026-12-03T09:00:01.870Z");
        let at: Timestamp = "0999-01-02T03:04:05.006Z".parse().unwrap();
        assert_eq!(format_time(at), "0999-01-02T03:04:05.006Z");
    }

    proptest::proptest! {
        #[test]
        fn times_read_as_jiff_writes_them(ms in 0i64..253_402_300_799_999) {
            let at = Timestamp::from_millisecond(ms).unwrap();
            let expected = at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
            proptest::prop_assert_eq!(&format_time(at), &expected);
            // And read back as jiff reads it.
            proptest::prop_assert_eq!(parse_own_time(&expected), Some(at));
            proptest::prop_assert_eq!(expected.parse::<Timestamp>().ok(), Some(at));
        }

        #[test]
        fn other_forms_are_left_to_the_general_parser(text in "[0-9TZ:.+-]{20,26}") {
            if let Some(at) = parse_own_time(&text) {
                proptest::prop_assert_eq!(text.parse::<Timestamp>().ok(), Some(at));
            }
        }
    }

    #[test]
    fn errors_are_kept_on_one_line_and_short() {
        assert_eq!(one_line("a\r\nb\tc"), "a  b c");
        let long = "x".repeat(1000);
        assert_eq!(one_line(&long).chars().count(), MAX_ERROR_CHARS + 1);
    }

    #[test]
    fn extra_and_reordered_columns_still_read() {
        let header = csv::StringRecord::from(vec!["status", "row", "note", "to_number"]);
        let map = ColumnMap::from_header(&header).unwrap();
        let rec = csv::StringRecord::from(vec!["dispatched", "3", "hi", "+1"]);
        let parsed = map.parse(&rec).unwrap();
        assert_eq!((parsed.row, parsed.status), (3, Status::Dispatched));
        assert_eq!(
            map.missing(),
            [
                "request_id",
                "attempts",
                "http_status",
                "error",
                "finished_at",
                "from_number_id",
                "calls",
                "earlier_calls"
            ]
        );

        let mut wtr = csv::WriterBuilder::new().from_writer(vec![]);
        parsed.write_to(&mut wtr, &map).unwrap();
        let line = String::from_utf8(wtr.into_inner().unwrap()).unwrap();
        assert_eq!(line, "dispatched,3,,+1\n");
    }

    #[test]
    fn a_file_of_the_eight_first_columns_still_reads() {
        let header = csv::StringRecord::from(COLUMNS[..CORE_COLUMNS].to_vec());
        let map = ColumnMap::from_header(&header).unwrap();
        assert!(map.has_core() && !map.is_complete());
        let rec = csv::StringRecord::from(vec![
            "7",
            "1",
            "+12015550101",
            "dispatched",
            "1",
            "200",
            "",
            "2026-12-03T14:00:00Z",
        ]);
        let parsed = map.parse(&rec).unwrap();
        assert_eq!((parsed.request_id, parsed.calls), (Some(7), 0));
        assert_eq!(parsed.from_number_id, None);
    }

    #[test]
    fn a_header_without_status_is_refused() {
        let header = csv::StringRecord::from(vec!["row", "to_number"]);
        let err = ColumnMap::from_header(&header).unwrap_err();
        assert!(err.contains("`status`"), "{err}");
    }
}
