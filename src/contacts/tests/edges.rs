//! Edge cases of line endings, blank rows, quoting, encodings and sizes.

use super::*;

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
