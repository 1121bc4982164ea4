//! Tests of the whole reader: the shared fault cases, edge cases written
//! here, and generated lists read back.
//!
//! The cases live in `../shared/cases` next to the repository. A missing
//! folder fails the test with a message rather than skipping it.

use std::io::Write;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::json;

use super::*;

/// Path of a file in one of the shared cases; panics if it is missing.
fn case_file(case: &str, file: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/cases")
        .join(case)
        .join(file);
    assert!(
        path.is_file(),
        "shared case file {} is missing: the cases must sit in ../shared/cases next to the \
         repository",
        path.display()
    );
    path
}

/// Writes `bytes` to a temporary file.
fn temp_csv(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(bytes).expect("write temp file");
    file
}

/// Reads every row, failing the test on a file-level error.
fn read_rows(path: &Path, opts: &ReadOptions) -> (Layout, Vec<Row>) {
    let reader = open(path, opts).unwrap_or_else(|err| panic!("open: {err}"));
    let layout = reader.layout().clone();
    let rows = reader
        .map(|row| row.unwrap_or_else(|err| panic!("row: {err}")))
        .collect();
    (layout, rows)
}

/// Reads `bytes` with default options.
fn rows_of(bytes: &[u8]) -> Vec<Row> {
    let file = temp_csv(bytes);
    read_rows(file.path(), &ReadOptions::default()).1
}

/// The contact cells of a row; panics on other kinds.
fn cells(row: &Row) -> &ContactCells {
    match &row.kind {
        RowKind::Contact(cells) => cells,
        other => panic!("row {} is {other:?}, not a contact", row.row),
    }
}

/// A row's context as JSON text, keys in column order.
fn context_json(row: &Row) -> String {
    serde_json::to_string(&cells(row).context).expect("serialize")
}

/// (row, line) of every row.
fn numbers(rows: &[Row]) -> Vec<(u64, u64)> {
    rows.iter().map(|r| (r.row, r.line)).collect()
}

/// Options with an encoding label.
fn with_encoding(label: &str) -> ReadOptions {
    ReadOptions {
        encoding: Some(label.into()),
        ..ReadOptions::default()
    }
}

/// Scans, expecting a file-level error.
fn scan_error(path: &Path, opts: &ReadOptions) -> ListError {
    match scan(path, opts) {
        Ok((_, stats)) => panic!("expected an error, scan read {} rows", stats.records),
        Err(err) => err,
    }
}

#[test]
fn case_utf8_bom_header() {
    for file in ["contacts.csv", "contacts_name_first.csv"] {
        let path = case_file("utf8-bom-header", file);
        let (layout, rows) = read_rows(&path, &ReadOptions::default());
        assert!(layout.bom, "{file}");
        assert_eq!(layout.phone_column, "phone");
        let keys: Vec<&str> = layout.context_keys.iter().map(|k| &**k).collect();
        assert_eq!(keys, ["first_name", "appointment_time"], "{file}");
        assert_eq!(numbers(&rows), [(1, 2), (2, 3), (3, 4)]);
        let phones: Vec<&str> = rows.iter().map(|r| cells(r).phone.as_str()).collect();
        assert_eq!(
            phones,
            ["+12015550121", "+44 20 7946 0122", "+61 491 570 123"]
        );
        assert_eq!(
            context_json(&rows[0]),
            r#"{"first_name":"Elliot","appointment_time":"09:30"}"#
        );
        assert_eq!(
            context_json(&rows[2]),
            r#"{"first_name":"Tamsin","appointment_time":"11:00"}"#
        );
        for row in &rows {
            assert!(!context_json(row).contains('\u{FEFF}'), "{file}");
        }
    }
}

/// The rows every reading of the semicolon case must give.
fn assert_semicolon_rows(rows: &[Row], first_line: u64) {
    let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [first_line, first_line + 1, first_line + 2]);
    assert_eq!(cells(&rows[0]).phone, "+44 20 7946 0131");
    assert_eq!(
        cells(&rows[0])
            .context
            .0
            .iter()
            .map(|(k, v)| (&**k, v.as_str()))
            .collect::<Vec<_>>(),
        [
            ("vorname", "Jürgen"),
            ("betrag", "12,50"),
            ("notiz", "Rückruf erbeten")
        ]
    );
    let row2: serde_json::Value = serde_json::to_value(&cells(&rows[1]).context).unwrap();
    assert_eq!(
        row2,
        json!({"vorname": "Anaïs", "betrag": "1.234,00", "notiz": "Termin; bitte bestätigen"})
    );
    assert_eq!(
        context_json(&rows[2]),
        r#"{"vorname":"Søren","betrag":"0,99"}"#
    );
}

#[test]
fn case_semicolon_detected_or_set() {
    let path = case_file("semicolon-delimiter", "contacts.csv");
    let (layout, rows) = read_rows(&path, &ReadOptions::default());
    assert_eq!((layout.delimiter, layout.delimiter_detected), (b';', true));
    assert_semicolon_rows(&rows, 2);

    let set = ReadOptions {
        delimiter: Some(b';'),
        ..ReadOptions::default()
    };
    assert_semicolon_rows(&read_rows(&path, &set).1, 2);
}

#[test]
fn case_semicolon_forced_comma_is_a_file_error() {
    let path = case_file("semicolon-delimiter", "contacts.csv");
    let comma = ReadOptions {
        delimiter: Some(b','),
        ..ReadOptions::default()
    };
    let err = scan_error(&path, &comma);
    assert!(
        matches!(
            err,
            ListError::NoPhoneColumn {
                suggested: Some(b';'),
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
    assert!(msg.contains("no phone column found"), "{msg}");
    assert!(msg.contains("\"phone;vorname;betrag;notiz\""), "{msg}");
    assert!(msg.contains("set delimiter = \";\""), "{msg}");
}

#[test]
fn case_semicolon_sep_hint_line() {
    let path = case_file("semicolon-delimiter", "contacts_sep_hint.csv");
    let (layout, rows) = read_rows(&path, &ReadOptions::default());
    assert!(layout.sep_hint);
    assert_eq!((layout.delimiter, layout.header_line), (b';', 2));
    assert_eq!(layout.headers, ["phone", "vorname", "betrag", "notiz"]);
    assert_semicolon_rows(&rows, 3);
    assert_eq!(rows[0].row, 1, "the sep= line is not a data row");
    let (_, stats) = scan(&path, &ReadOptions::default()).unwrap();
    assert_eq!(stats.records, 3);
}

#[test]
fn case_cp1252_default_is_a_file_error_naming_row_2() {
    let path = case_file("cp1252-encoding", "contacts.csv");
    let err = scan_error(&path, &ReadOptions::default());
    let ListError::NotUtf8 {
        at, offset, byte, ..
    } = &err
    else {
        panic!("expected NotUtf8, got {err:?}");
    };
    let column = Some("first_name".to_string());
    assert_eq!(
        at,
        &Place::Row {
            row: 2,
            line: 3,
            column
        }
    );
    let bytes = std::fs::read(&path).unwrap();
    let first_bad = bytes.iter().position(|b| *b >= 0x80).unwrap() as u64;
    assert_eq!((*offset, *byte), (Some(first_bad), Some(0xEB)));
    let msg = err.to_string();
    assert!(
        msg.contains("row 2 (line 3, column first_name) is not valid UTF-8"),
        "{msg}"
    );
    assert!(msg.contains("Windows-1252"), "{msg}");
    assert!(msg.contains("\"ë\""), "{msg}");
    assert!(
        msg.contains("CSV UTF-8") && msg.contains("encoding = \"windows-1252\""),
        "{msg}"
    );

    // Streaming without a scan gives row 1, then the same error.
    let mut reader = open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(
        cells(&reader.next().unwrap().unwrap()).phone,
        "+12015550140"
    );
    assert!(matches!(
        reader.next(),
        Some(Err(ListError::NotUtf8 { .. }))
    ));
    assert!(reader.next().is_none());
}

#[test]
fn case_cp1252_decodes_as_windows_1252_and_latin1() {
    let path = case_file("cp1252-encoding", "contacts.csv");
    for label in ["windows-1252", "latin1", "iso-8859-1"] {
        let (layout, rows) = read_rows(&path, &with_encoding(label));
        assert_eq!(layout.encoding, "windows-1252");
        assert_eq!(rows.len(), 4);
        let expected = [
            json!({"first_name": "Avery", "last_name": "Stone", "note": "plain ascii row"}),
            json!({"first_name": "Zoë", "last_name": "Nuñez", "note": "Café order"}),
            json!({"first_name": "José", "last_name": "Müller", "note": "Deposit € 25"}),
            json!({"first_name": "Björn", "last_name": "Øberg", "note": "“VIP” – call after 5"}),
        ];
        for (row, want) in rows.iter().zip(expected) {
            assert_eq!(
                serde_json::to_value(&cells(row).context).unwrap(),
                want,
                "{label}"
            );
            assert!(!context_json(row).contains('\u{FFFD}'));
        }
        assert_eq!(cells(&rows[2]).phone, "+44 20 7946 0142");
    }
}

#[test]
fn case_embedded_newlines() {
    let path = case_file("embedded-newlines", "contacts.csv");
    let (_, rows) = read_rows(&path, &ReadOptions::default());
    assert_eq!(numbers(&rows), [(1, 2), (2, 4), (3, 5), (4, 6)]);
    assert_eq!(
        context_json(&rows[0]),
        r#"{"name":"Dana Whitfield","notes":"Gate code 4411\nRing twice, then wait"}"#
    );
    assert_eq!(
        context_json(&rows[1]),
        r#"{"name":"O\"Brien, Sam","notes":"Prefers \"Sam\""}"#
    );
    assert_eq!(context_json(&rows[2]), r#"{"name":"Priya Natarajan"}"#);
    assert_eq!(cells(&rows[3]).phone, "not-a-number");
}

#[test]
fn case_ragged_rows() {
    let path = case_file("ragged-rows", "contacts.csv");
    let (_, rows) = read_rows(&path, &ReadOptions::default());
    assert_eq!(numbers(&rows), [(1, 2), (2, 3), (3, 4), (4, 5)]);
    assert_eq!(
        rows[1].kind,
        RowKind::Ragged {
            expected: 4,
            found: 3
        }
    );
    assert_eq!(
        rows[2].kind,
        RowKind::Ragged {
            expected: 4,
            found: 5
        }
    );
    assert_eq!(
        context_json(&rows[0]),
        r#"{"first_name":"Iris","last_name":"Vance","city":"Springfield"}"#
    );
    assert_eq!(cells(&rows[3]).phone, "+44 20 7946 0184");

    let flexible = ReadOptions {
        flexible: true,
        ..ReadOptions::default()
    };
    let (_, rows) = read_rows(&path, &flexible);
    assert_eq!(
        context_json(&rows[1]),
        r#"{"first_name":"Theo","last_name":"Park"}"#
    );
    assert_eq!(
        rows[2].kind,
        RowKind::Ragged {
            expected: 4,
            found: 5
        }
    );
}

#[test]
fn case_blank_rows_and_empty_phone() {
    let path = case_file("blank-rows-empty-phone", "contacts.csv");
    let (_, rows) = read_rows(&path, &ReadOptions::default());
    let blank: Vec<(u64, u64)> = rows
        .iter()
        .filter(|r| r.kind == RowKind::Blank)
        .map(|r| (r.row, r.line))
        .collect();
    assert_eq!(blank, [(4, 5), (5, 6), (6, 7), (7, 8), (8, 9)]);
    assert_eq!(
        context_json(&rows[0]),
        r#"{"first_name":"Avery","plan":"gold"}"#
    );
    assert_eq!(
        cells(&rows[1]).phone,
        "",
        "row 2 is a contact with an empty phone"
    );
    assert_eq!(
        context_json(&rows[1]),
        r#"{"first_name":"Blake","plan":"silver"}"#
    );
    assert_eq!(cells(&rows[2]).phone, "+61 491 570 203");
    let (_, stats) = scan(&path, &ReadOptions::default()).unwrap();
    assert_eq!(stats.records, 8);
    assert_eq!(stats.bytes, std::fs::metadata(&path).unwrap().len());
}

#[test]
fn case_invisible_unicode_passes_through() {
    let path = case_file("invisible-unicode-phone", "contacts.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let (_, rows) = read_rows(&path, &ReadOptions::default());
    assert_eq!(rows.len(), 10);
    for (row, line) in rows.iter().zip(text.lines().skip(1)) {
        let (phone, name) = line.trim_end_matches('\r').rsplit_once(',').unwrap();
        assert_eq!(cells(row).phone, phone, "row {}", row.row);
        assert_eq!(cells(row).context.get("name"), Some(name));
    }
    assert_eq!(
        cells(&rows[3]).context.get("name"),
        Some("Ana\u{00A0}Lucía")
    );
    assert_eq!(cells(&rows[9]).phone, " +1 201 555 0220 ");
}

#[test]
fn every_case_list_scans_except_cp1252() {
    let file = case_file("ragged-rows", "contacts.csv");
    let root = file.parent().and_then(Path::parent).unwrap();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path().join("contacts.csv");
        if !path.is_file() {
            continue;
        }
        let result = scan(&path, &ReadOptions::default());
        let is_cp1252 = path.to_string_lossy().contains("cp1252");
        assert_eq!(result.is_err(), is_cp1252, "{}: {result:?}", path.display());
    }
}

#[test]
fn mixed_line_endings_keep_exact_lines() {
    let rows = rows_of(b"phone,name\r\n1,a\n2,b\r3,\"c\r\nd\"\r\n\r\n\n4,e");
    assert_eq!(
        numbers(&rows),
        [(1, 2), (2, 3), (3, 4), (4, 6), (5, 7), (6, 8)]
    );
    assert_eq!(rows[3].kind, RowKind::Blank);
    assert_eq!(cells(&rows[2]).context.get("name"), Some("c\r\nd"));
    assert_eq!(cells(&rows[5]).phone, "4");
}

#[test]
fn empty_lines_around_the_data() {
    let rows = rows_of(b"\n\nphone,name\n\n1,a\n\n\n");
    assert_eq!(numbers(&rows), [(1, 4), (2, 5), (3, 6), (4, 7)]);
    let kinds: Vec<bool> = rows.iter().map(|r| r.kind == RowKind::Blank).collect();
    assert_eq!(kinds, [true, false, true, true]);
    assert!(rows_of(b"phone,name\n").is_empty());
    assert!(rows_of(b"phone,name").is_empty());
    assert!(rows_of(b"phone,name\r\n1,a\r\n").len() == 1);
}

#[test]
fn whitespace_only_rows_are_blank_but_content_is_not() {
    let rows = rows_of("phone,name\n \u{00A0}, \t\n,x\n\u{200B},\n\"\",\"\"\n".as_bytes());
    assert_eq!(rows[0].kind, RowKind::Blank);
    assert_eq!(cells(&rows[1]).phone, "");
    assert_eq!(cells(&rows[2]).phone, "\u{200B}");
    assert_eq!(rows[3].kind, RowKind::Blank);
    let short_blank = rows_of(b"phone,a,b\n,\n");
    assert_eq!(short_blank[0].kind, RowKind::Blank);
}

#[test]
fn empty_file_is_an_error_but_header_only_is_not() {
    let file = temp_csv(b"");
    let err = scan_error(file.path(), &ReadOptions::default());
    assert!(err.to_string().contains("the file is empty"), "{err}");
    let file = temp_csv(b"\xEF\xBB\xBF\r\n\r\n");
    assert!(matches!(
        scan_error(file.path(), &ReadOptions::default()),
        ListError::Empty { .. }
    ));
    let file = temp_csv(b"phone,name\r\n");
    let (layout, stats) = scan(file.path(), &ReadOptions::default()).unwrap();
    assert_eq!((stats.records, layout.headers.len()), (0, 2));
}

#[test]
fn unterminated_quote_is_a_file_error() {
    let file = temp_csv(b"phone,name\n1,a\n2,\"Bob\n3,c\n4,d\n");
    let err = scan_error(file.path(), &ReadOptions::default());
    let ListError::UnterminatedQuote { at, last_line, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        (at, *last_line),
        (
            &Place::Row {
                row: 2,
                line: 3,
                column: None
            },
            5
        )
    );
    let msg = err.to_string();
    assert!(
        msg.contains("row 2 (line 3) opens a quoted field that is never closed"),
        "{msg}"
    );
    // A closed quote at the very end, without a final line break, is fine.
    assert_eq!(
        context_json(&rows_of(b"phone,name\n1,\"a\nb\"")[0]),
        r#"{"name":"a\nb"}"#
    );
}

#[test]
fn utf8_faults_name_the_physical_line_of_the_byte() {
    let file = temp_csv(b"phone,notes\n1,\"first\nsecond \xFF\"\n");
    let ListError::NotUtf8 { at, offset, .. } = scan_error(file.path(), &ReadOptions::default())
    else {
        panic!("expected NotUtf8");
    };
    assert_eq!(
        at,
        Place::Row {
            row: 1,
            line: 3,
            column: Some("notes".into())
        }
    );
    assert_eq!(offset, Some(28));

    let file = temp_csv(b"phone,n\xC3me\n1,a\n");
    let err = scan_error(file.path(), &ReadOptions::default());
    assert!(
        matches!(
            err,
            ListError::NotUtf8 {
                at: Place::Header { line: 1 },
                ..
            }
        ),
        "{err:?}"
    );

    let file = temp_csv(b"phone,name\n1,a\n\n2,\xE2\x82");
    let err = scan_error(file.path(), &ReadOptions::default());
    assert!(
        err.to_string().contains("row 3 (line 4, column name)"),
        "{err}"
    );
}

#[test]
fn utf16_with_bom_is_decoded_and_malformed_is_an_error() {
    let text = "phone;name\r\n+1 201;Zoë 😀\r\n";
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let file = temp_csv(&le);
    let (layout, rows) = read_rows(file.path(), &ReadOptions::default());
    assert_eq!(
        (layout.encoding, layout.delimiter, layout.bom),
        ("UTF-16LE", b';', true)
    );
    assert_eq!(context_json(&rows[0]), r#"{"name":"Zoë 😀"}"#);

    let mut be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    be.extend([0xDC, 0x00, 0x00, b'x', 0x00, b'\n']);
    let file = temp_csv(&be);
    let err = scan_error(file.path(), &with_encoding("utf-16be"));
    let ListError::Malformed { at, encoding, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        (at, *encoding),
        (
            &Place::Row {
                row: 2,
                line: 3,
                column: None
            },
            "UTF-16BE"
        )
    );
    assert!(
        err.to_string()
            .contains("is not valid UTF-16BE at byte offset 54"),
        "{err}"
    );
}

#[test]
fn region_column_is_handed_over_raw() {
    let file = temp_csv(b"phone,country,name\n1, us ,a\n2,,b\n");
    let opts = ReadOptions {
        region_column: Some("Country".into()),
        ..ReadOptions::default()
    };
    let (layout, rows) = read_rows(file.path(), &opts);
    assert_eq!(layout.region_column.as_deref(), Some("country"));
    assert_eq!(cells(&rows[0]).region.as_deref(), Some(" us "));
    assert_eq!(cells(&rows[1]).region, None);
    assert_eq!(context_json(&rows[0]), r#"{"name":"a"}"#);
}

#[test]
fn huge_cells_and_many_columns_grow_the_buffers() {
    let wide = 300;
    let mut text = String::from("phone");
    (1..wide).for_each(|i| text.push_str(&format!(",c{i}")));
    text.push_str("\n+1");
    (1..wide).for_each(|i| text.push_str(&format!(",v{i}")));
    let big = "x\"y\n".repeat(50_000);
    text.push_str(&format!("\n+2,\"{}\"\n", big.replace('"', "\"\"")));
    let rows = rows_of(text.as_bytes());
    assert_eq!(cells(&rows[0]).context.len(), wide - 1);
    assert_eq!(
        rows[1].kind,
        RowKind::Ragged {
            expected: wide,
            found: 2
        }
    );
    assert_eq!(rows[1].line, 3);

    let flexible = ReadOptions {
        flexible: true,
        ..ReadOptions::default()
    };
    let file = temp_csv(text.as_bytes());
    let (_, rows) = read_rows(file.path(), &flexible);
    assert_eq!(cells(&rows[1]).context.get("c1"), Some(big.as_str()));
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

/// A generated list: a width, rows of cells, a delimiter and line ending.
fn list() -> impl Strategy<Value = (Vec<Vec<String>>, u8, bool, bool)> {
    (2usize..5).prop_flat_map(|width| {
        (
            prop::collection::vec(prop::collection::vec(cell(), width), 0..12),
            prop::sample::select(vec![b',', b';', b'\t', b'|']),
            any::<bool>(),
            any::<bool>(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn generated_lists_read_back_exactly((data, delimiter, crlf, bom) in list()) {
        let width = data.first().map_or(2, Vec::len);
        let headers: Vec<String> =
            std::iter::once("phone".to_string()).chain((1..width).map(|i| format!("c{i}"))).collect();
        let terminator = if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') };
        let mut wtr = csv::WriterBuilder::new().delimiter(delimiter).terminator(terminator).from_writer(Vec::new());
        wtr.write_record(&headers).unwrap();
        wtr.flush().unwrap();
        let mut lines = vec![];
        for record in &data {
            let before = wtr.get_ref().len();
            wtr.write_record(record).unwrap();
            wtr.flush().unwrap();
            lines.push((before, wtr.get_ref().len()));
        }
        let body = wtr.into_inner().unwrap();
        let mut bytes = if bom { b"\xEF\xBB\xBF".to_vec() } else { vec![] };
        bytes.extend_from_slice(&body);

        let rows = rows_of(&bytes);
        prop_assert_eq!(rows.len(), data.len());
        for (i, (row, record)) in rows.iter().zip(&data).enumerate() {
            let line = 1 + count_breaks(&body[..lines[i].0]);
            prop_assert_eq!((row.row, row.line), (i as u64 + 1, line));
            if record.iter().all(|c| c.trim().is_empty()) {
                prop_assert_eq!(&row.kind, &RowKind::Blank);
                continue;
            }
            let cells = cells(row);
            prop_assert_eq!(&cells.phone, &record[0]);
            let want: Vec<(&str, &str)> = headers[1..].iter().zip(&record[1..])
                .filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let got: Vec<(&str, &str)> = cells.context.0.iter().map(|(k, v)| (&**k, v.as_str())).collect();
            prop_assert_eq!(got, want);
        }
    }
}
