//! Generated lists, written with `csv::Writer` and read back.
//!
//! Whatever the cells hold (quotes, delimiters, line breaks of any kind,
//! non-breaking and zero-width spaces, a stray U+FEFF, emoji), every row
//! must come back with the same cells, row number and start line.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::*;

/// A generated list: rows of cells (all as wide as the header), the
/// delimiter, CRLF or LF, and whether a UTF-8 BOM comes first.
#[derive(Debug, Clone)]
struct List {
    /// Data rows; column 0 is the phone column.
    rows: Vec<Vec<String>>,
    /// Field delimiter the writer uses (the reader detects it).
    delimiter: u8,
    /// CRLF line endings instead of LF.
    crlf: bool,
    /// A UTF-8 byte order mark before the header.
    bom: bool,
}

/// Physical line breaks in `bytes`: CRLF, lone CR or lone LF.
fn count_breaks(bytes: &[u8]) -> u64 {
    let mut n = 0;
    for (i, b) in bytes.iter().enumerate() {
        let crlf_tail = *b == b'\n' && i > 0 && bytes[i - 1] == b'\r';
        if (*b == b'\n' && !crlf_tail) || *b == b'\r' {
            n += 1;
        }
    }
    n
}

/// Cells with the characters that trouble CSV readers.
fn cell() -> impl Strategy<Value = String> {
    "[a-c ,;|\t\"\r\n\u{00A0}\u{200B}\u{FEFF}é€😀]{0,6}"
}

/// Lists of 2 to 4 columns and up to 11 rows.
fn list() -> impl Strategy<Value = List> {
    (2usize..5).prop_flat_map(|width| {
        let rows = prop::collection::vec(prop::collection::vec(cell(), width), 0..12);
        let delimiter = prop::sample::select(vec![b',', b';', b'\t', b'|']);
        (rows, delimiter, any::<bool>(), any::<bool>()).prop_map(|(rows, delimiter, crlf, bom)| {
            List {
                rows,
                delimiter,
                crlf,
                bom,
            }
        })
    })
}

/// Header names for `width` columns: `phone`, `c1`, `c2`, ...
fn headers(width: usize) -> Vec<String> {
    let others = (1..width).map(|i| format!("c{i}"));
    std::iter::once("phone".to_string()).chain(others).collect()
}

/// Writes the list; returns the file bytes and each row's byte offset
/// within them.
fn write_list(list: &List, headers: &[String]) -> (Vec<u8>, Vec<usize>) {
    let terminator = match list.crlf {
        true => csv::Terminator::CRLF,
        false => csv::Terminator::Any(b'\n'),
    };
    let mut wtr = csv::WriterBuilder::new()
        .delimiter(list.delimiter)
        .terminator(terminator)
        .from_writer(Vec::new());
    wtr.write_record(headers).unwrap();
    let mut starts = Vec::new();
    for record in &list.rows {
        wtr.flush().unwrap();
        starts.push(wtr.get_ref().len());
        wtr.write_record(record).unwrap();
    }
    let body = wtr.into_inner().unwrap();

    let bom: &[u8] = if list.bom { b"\xEF\xBB\xBF" } else { b"" };
    let bytes = [bom, &body].concat();
    let starts = starts.into_iter().map(|s| s + bom.len()).collect();
    (bytes, starts)
}

/// Reads the written list back and compares every row.
fn check_round_trip(list: &List) -> Result<(), TestCaseError> {
    let width = list.rows.first().map_or(2, Vec::len);
    let headers = headers(width);
    let (bytes, starts) = write_list(list, &headers);
    let rows = rows_of(&bytes);
    prop_assert_eq!(rows.len(), list.rows.len());

    for (i, (row, record)) in rows.iter().zip(&list.rows).enumerate() {
        let line = 1 + count_breaks(&bytes[..starts[i]]);
        prop_assert_eq!((row.row, row.line), (i as u64 + 1, line));
        if record.iter().all(|c| c.trim().is_empty()) {
            prop_assert_eq!(&row.kind, &RowKind::Blank);
            continue;
        }
        let cells = cells(row);
        prop_assert_eq!(&cells.phone, &record[0]);
        let want: Vec<(&str, &str)> = headers[1..]
            .iter()
            .zip(&record[1..])
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        let got: Vec<(&str, &str)> = cells
            .context
            .0
            .iter()
            .map(|(key, value)| (&**key, value.as_str()))
            .collect();
        prop_assert_eq!(got, want);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Pins: cells, row numbers and start lines survive a round trip.
    #[test]
    fn generated_lists_read_back_exactly(list in list()) {
        check_round_trip(&list)?;
    }
}

#[test]
fn line_breaks_are_counted_like_the_reader() {
    assert_eq!(count_breaks(b"a\r\nb\nc\rd\r\r\n"), 5);
}
