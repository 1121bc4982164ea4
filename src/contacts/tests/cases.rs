//! The shared fault cases, read straight from `../shared/cases`.

use std::path::Path;

use serde_json::json;

use super::*;

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
