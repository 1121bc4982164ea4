//! The report's fold: which record speaks for a contact, on logs written
//! as a run writes them, and the figures drawn from the chosen records.

use std::io::Write;
use std::path::PathBuf;

use super::*;
use crate::outcome::record::{COLUMNS, ColumnMap, Record, Status};

/// Writes an outcome log with the given records and extra raw text.
fn log_with(records: &[Record], tail: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let mut wtr = csv::Writer::from_path(&path).unwrap();
    wtr.write_record(COLUMNS).unwrap();
    for rec in records {
        rec.write_to(&mut wtr, &ColumnMap::canonical()).unwrap();
    }
    let mut file = wtr.into_inner().unwrap();
    file.write_all(tail.as_bytes()).unwrap();
    (dir, path)
}

/// A record with an error text.
fn failed(row: u64, number: &str, why: &str) -> Record {
    Record::new(row, number, Status::Failed).with_error(why)
}

#[test]
fn the_last_final_record_wins_and_dangling_intents_are_unknown() {
    let (_dir, path) = log_with(
        &[
            Record::new(1, "+12015550101", Status::Sending),
            Record::new(1, "+12015550101", Status::Dispatched),
            Record::new(2, "+12015550102", Status::Sending),
            Record::new(3, "+12015550103", Status::Sending),
            Record::new(3, "+12015550103", Status::Released),
            failed(4, "+12015550104", "agent not found"),
            Record::new(4, "+12015550104", Status::Sending),
            failed(5, "+12015550105", "agent not found"),
            Record::new(5, "+12015550105", Status::Sending),
            Record::new(5, "+12015550105", Status::Released),
            Record::new(6, "12", Status::Invalid),
        ],
        "",
    );
    let report = read(&path, false).unwrap();
    let s = &report.by_status;
    assert_eq!(report.records, 11);
    assert_eq!((s.dispatched, s.failed, s.invalid), (1, 1, 1));
    // Row 2 never got a result; row 4 was being retried after a failure.
    assert_eq!(s.unknown, 2);
    assert_eq!(report.unknown.first_rows, [2, 4]);
    assert_eq!(s.pending, 1, "row 3 was handed back unfinished");
    assert_eq!(report.contacts, 6);
    assert_eq!(report.failures.top[0].reason, "agent not found");
}

#[test]
fn a_contact_moved_to_another_row_is_counted_once() {
    let (_dir, path) = log_with(
        &[
            Record::new(3, "+12015550101", Status::Unknown),
            Record::new(9, "+12015550101", Status::Dispatched),
        ],
        "",
    );
    let report = read(&path, false).unwrap();
    assert_eq!((report.contacts, report.by_status.dispatched), (1, 1));

    let report = read(&path, true).unwrap();
    assert_eq!(report.contacts, 2, "with duplicates allowed, rows differ");
}

#[test]
fn a_stale_row_verdict_gives_way() {
    let (_dir, path) = log_with(
        &[
            Record::new(3, "bad", Status::Invalid),
            Record::new(3, "+12015550103", Status::Dispatched),
        ],
        "",
    );
    let report = read(&path, false).unwrap();
    assert_eq!(report.contacts, 1);
    assert_eq!(report.by_status.invalid, 0);
}

#[test]
fn reasons_are_ranked_by_count_then_text() {
    let mut records = vec![];
    for i in 0..30u64 {
        let why = format!("reason {}", i % 12);
        records.push(failed(i + 1, &format!("+120155501{i:02}"), &why));
    }
    let (_dir, path) = log_with(&records, "");
    let failures = read(&path, false).unwrap().failures;
    assert_eq!(failures.total, 30);
    assert_eq!(failures.distinct_reasons, 12);
    assert_eq!(failures.top.len(), TOP_REASONS);
    // Reasons 0 to 5 end three contacts each, the others two.
    let counts: Vec<u64> = failures.top.iter().map(|g| g.count).collect();
    assert_eq!(counts, [3, 3, 3, 3, 3, 3, 2, 2, 2, 2]);
    assert_eq!(failures.top[0].reason, "reason 0");
    assert_eq!(failures.top[6].reason, "reason 10");
}

#[test]
fn a_partial_last_line_is_passed_over_but_a_bad_line_inside_is_not() {
    let rec = Record::new(1, "+12015550101", Status::Dispatched);
    let (_dir, path) = log_with(&[rec], ",2,+12015550102,dispa");
    let report = read(&path, false).unwrap();
    assert!(report.partial_last_line);
    assert_eq!((report.records, report.contacts), (1, 1));

    let (_dir, path) = log_with(&[], ",2,+12015550102,dispa\n,3,+1,dispatched,1,200,,\n");
    let err = read(&path, false).unwrap_err().to_string();
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn call_results_come_from_the_reconcile_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let header = "request_id,row,to_number,status,attempts,http_status,error,finished_at,\
                  call_status,call_duration_s,call_cost,call_log_id\n";
    let rows = [
        "1,1,+12015550101,dispatched,1,200,,,completed,90,0.12,11",
        "2,2,+12015550102,dispatched,1,200,,,no_answer,0,0,12",
        "3,3,+12015550103,dispatched,1,200,,,busy,,,13",
        "4,4,+12015550104,dispatched,1,200,,,completed,30,0.05,14",
        "5,5,+12015550105,dispatched,1,200,,,,,,",
        ",6,+12015550106,failed,1,400,bad,,,,,",
    ];
    std::fs::write(&path, format!("{header}{}\n", rows.join("\n"))).unwrap();
    let calls = read(&path, false).unwrap().calls.unwrap();
    assert_eq!((calls.completed, calls.no_answer, calls.busy), (2, 1, 1));
    assert_eq!((calls.failed, calls.other, calls.no_result), (0, 0, 1));
    assert!((calls.total_minutes - 2.0).abs() < 1e-9);
    assert!((calls.total_cost - 0.17).abs() < 1e-9);
    assert_eq!(calls.answer_rate, Some(0.5));
}

#[test]
fn a_file_never_reconciled_has_no_call_section() {
    let (_dir, path) = log_with(&[Record::new(1, "+12015550101", Status::Dispatched)], "");
    assert!(read(&path, false).unwrap().calls.is_none());
}

#[test]
fn a_file_that_is_not_an_outcome_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contacts.csv");
    std::fs::write(&path, "phone,name\n+12015550101,Ann\n").unwrap();
    let err = read(&path, false).unwrap_err().to_string();
    assert!(err.contains("contacts.csv is not an outcome file"), "{err}");
}
