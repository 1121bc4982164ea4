//! Opening the outcome log for a run: old layouts upgraded, a resume
//! without a file, and the directory syncs of `--fsync`.

use super::*;
use crate::outcome::Prior;
use crate::outcome::record::CORE_COLUMNS;

#[test]
fn a_resume_adds_the_new_columns_to_an_older_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = older_log_with(
        &dir,
        "7,1,+12015550101,dispatched,1,200,,2026-12-03T14:00:00Z\n,2,+12015550102,sen",
    );

    let log = open_for_run(&path, OpenMode::Resume, false, false, 0).unwrap();
    assert!(log.columns.is_complete());
    assert_eq!(log.repairs.len(), 1, "the torn tail is still repaired");
    assert_eq!(log.repairs[0].row, 2);
    assert!(log.torn_warning.is_some());
    drop(log);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(COLUMNS.join(",").as_str()));
    assert_eq!(
        lines.next(),
        Some("7,1,+12015550101,dispatched,1,200,,2026-12-03T14:00:00Z,,,")
    );
    assert_eq!(lines.next(), None);
}

#[test]
fn a_resume_without_a_file_starts_a_campaign_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");

    let log = open_for_run(&path, OpenMode::Resume, false, false, 0).unwrap();
    let warning = log.nothing_to_resume.clone().expect("a warning");
    assert_eq!(
        warning,
        format!(
            "no outcome file at {}: starting a new campaign",
            path.display()
        )
    );
    assert_eq!(log.ledger.records(), 0);
    drop(log);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, format!("{}\n", COLUMNS.join(",")));

    // A file that holds a campaign resumes without a word; a new run
    // never warns.
    let log = open_for_run(&path, OpenMode::Resume, false, false, 0).unwrap();
    assert_eq!(log.nothing_to_resume, None);
    drop(log);
    let other = dir.path().join("other.csv");
    let log = open_for_run(&other, OpenMode::New, false, false, 0).unwrap();
    assert_eq!(log.nothing_to_resume, None);
}

/// What `--fsync` promises needs the directory entry too: we check that
/// each step that creates or renames the log syncs its directory, and
/// only with `--fsync`. That the entry then survives a power loss takes
/// a machine that loses power, which a unit test cannot be.
#[test]
fn with_fsync_a_created_or_renamed_log_has_its_directory_synced() {
    use crate::outcome::durable::tests::syncs_so_far;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let synced = |f: &dyn Fn()| {
        let before = syncs_so_far();
        f();
        syncs_so_far() - before
    };
    let open = |mode, fsync| drop(open_for_run(&path, mode, false, fsync, 0).unwrap());

    assert_eq!(synced(&|| open(OpenMode::New, false)), 0);
    assert_eq!(synced(&|| open(OpenMode::Fresh, false)), 0);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(synced(&|| open(OpenMode::Resume, true)), 1, "created");
    assert_eq!(synced(&|| open(OpenMode::Fresh, true)), 1, "moved, created");
    assert_eq!(
        synced(&|| open(OpenMode::Resume, true)),
        0,
        "no entry changed"
    );

    let old = format!("{}\n", COLUMNS[..CORE_COLUMNS].join(","));
    std::fs::write(&path, old).unwrap();
    assert_eq!(synced(&|| open(OpenMode::Resume, true)), 1, "columns added");
}

/// A log in today's layout holding `records` as given.
fn log_with(dir: &tempfile::TempDir, records: &str) -> std::path::PathBuf {
    write_log(dir, &COLUMNS, records)
}

/// A log in the 8-column layout of older versions holding `records`.
fn older_log_with(dir: &tempfile::TempDir, records: &str) -> std::path::PathBuf {
    write_log(dir, &COLUMNS[..CORE_COLUMNS], records)
}

/// `out.csv` in `dir`: a header of `columns`, then `records` as given.
fn write_log(dir: &tempfile::TempDir, columns: &[&str], records: &str) -> std::path::PathBuf {
    let path = dir.path().join("out.csv");
    std::fs::write(&path, format!("{}\n{records}", columns.join(","))).unwrap();
    path
}

#[test]
fn a_last_record_without_its_newline_counts_like_any_other() {
    let dir = tempfile::tempdir().unwrap();
    let dispatched = "7,1,+12015550101,dispatched,1,200,,2026-12-03T14:00:00.000Z,,1,";
    let path = log_with(&dir, dispatched);
    let mut ledger = read_ledger(&path, false).unwrap();
    assert_eq!(ledger.entry(12015550101, 1).prior, Prior::Dispatched);

    let mut log = open_for_run(&path, OpenMode::Resume, false, false, 0).unwrap();
    assert_eq!(log.ledger.entry(12015550101, 1).prior, Prior::Dispatched);
    assert!(log.repairs.is_empty());
    drop(log);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with(&format!("{dispatched}\n")), "{text}");

    // A whole intent without its newline may have left: unknown.
    let sending = ",2,+12015550102,sending,1,,,2026-12-03T14:00:00.000Z,,0,";
    let path = log_with(&dir, sending);
    let mut log = open_for_run(&path, OpenMode::Resume, false, false, 0).unwrap();
    assert_eq!(log.repairs.len(), 1);
    assert_eq!(log.repairs[0].status, Status::Unknown);
    assert_eq!(log.ledger.entry(12015550102, 2).prior, Prior::Unknown);
}

#[test]
fn a_number_a_spreadsheet_changed_is_refused_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    for number in ["12015550101", "1.2015E+10"] {
        let path = log_with(
            &dir,
            &format!("7,1,{number},dispatched,1,200,,2026-12-03T14:00:00.000Z,,1,\n"),
        );
        for err in [
            read_ledger(&path, false).unwrap_err(),
            open_for_run(&path, OpenMode::Resume, false, false, 0).unwrap_err(),
        ] {
            let err = format!("{err:#}");
            assert!(err.contains("line 2:"), "{err}");
            assert!(err.contains("not the E.164 number omnidial wrote"), "{err}");
            assert!(err.contains("dial every contact again"), "{err}");
        }
    }
    // An invalid row keeps its cell as written.
    let path = log_with(
        &dir,
        ",1,555 0101,invalid,0,,phone: too short,2026-12-03T14:00:00.000Z,,0,\n",
    );
    assert!(read_ledger(&path, false).unwrap().has_row_verdict(1));
}

#[test]
fn a_record_over_several_lines_is_refused_unless_it_is_an_invalid_cell() {
    let dir = tempfile::tempdir().unwrap();
    // A stray pair of quotes joins lines 2 to 4 into one record.
    let joined = "7,1,+12015550101,dispatched,1,200,\"note,2026-12-03T14:00:00.000Z,,1,\n\
                  8,2,+12015550102,dispatched,1,200,,2026-12-03T14:00:00.000Z,,1,\n\
                  9,3,+12015550103,dispatched,1,200,note\",2026-12-03T14:00:00.000Z,,1,\n";
    let path = log_with(&dir, joined);
    let err = format!("{:#}", read_ledger(&path, false).unwrap_err());
    assert!(
        err.contains("line 2: the record runs over several lines"),
        "{err}"
    );

    let invalid = ",1,\"555\n0101\",invalid,0,,phone: too short,2026-12-03T14:00:00.000Z,,0,\n\
                   8,2,+12015550102,dispatched,1,200,,2026-12-03T14:00:00.000Z,,1,\n";
    let path = log_with(&dir, invalid);
    let mut ledger = read_ledger(&path, false).unwrap();
    assert!(ledger.has_row_verdict(1));
    assert_eq!(ledger.entry(12015550102, 2).prior, Prior::Dispatched);
}

#[test]
fn a_tail_torn_inside_the_number_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let records = "7,1,+12015550101,dispatched,1,200,,2026-12-03T14:00:00.000Z,,1,\n8,2,+1201555";
    let path = log_with(&dir, records);
    let before = std::fs::read(&path).unwrap();
    for err in [
        read_ledger(&path, false).unwrap_err(),
        open_for_run(&path, OpenMode::Resume, false, false, 0).unwrap_err(),
    ] {
        let err = format!("{err:#}");
        assert!(err.contains("torn inside the number of row 2"), "{err}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // Once the number is whole (its comma written), the contact is known.
    let path = log_with(
        &dir,
        "7,1,+12015550101,dispatched,1,200,,2026-12-03T14:00:00.000Z,,1,\n8,2,+12015550102,disp",
    );
    let mut log = open_for_run(&path, OpenMode::Resume, false, false, 0).unwrap();
    assert_eq!(log.repairs.len(), 1);
    // The torn record may stand for a placed call: a redial cap counts it.
    assert_eq!(log.repairs[0].calls, 1);
    assert_eq!(log.ledger.entry(12015550102, 2).prior, Prior::Unknown);
}

#[test]
fn a_tail_torn_inside_the_number_of_an_open_intent_is_only_cut() {
    let dir = tempfile::tempdir().unwrap();
    // The intent of row 2 is whole: the torn result only confirms that
    // the contact may have been called.
    let records = ",2,+12015550102,sending,1,,,2026-12-03T14:00:00.000Z,,0,\n7,2,+1201555";
    let path = log_with(&dir, records);
    let mut log = open_for_run(&path, OpenMode::Resume, false, false, 0).unwrap();
    assert_eq!(log.repairs.len(), 1);
    assert_eq!(log.ledger.entry(12015550102, 2).prior, Prior::Unknown);
    drop(log);

    // Cut inside the row itself, the line names nobody: only cut.
    let path = log_with(
        &dir,
        "7,1,+12015550101,dispatched,1,200,,2026-12-03T14:00:00.000Z,,1,\n8,3",
    );
    let log = open_for_run(&path, OpenMode::Resume, false, false, 0).unwrap();
    assert!(log.repairs.is_empty());
}

#[test]
fn a_file_with_bare_cr_line_endings_is_refused_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let records = "7,1,+12015550101,dispatched,1,200,,2026-12-03T14:00:00.000Z,,1,\n\
                   8,2,+12015550102,dispatched,1,200,,2026-12-03T14:00:00.000Z,,1,\n";
    let lf = format!("{}\n{records}", COLUMNS.join(","));
    let path = dir.path().join("out.csv");
    // All CR, and LF after the header only.
    for text in [
        lf.replace('\n', "\r"),
        lf.replacen('\n', "\0", 1)
            .replace('\n', "\r")
            .replacen('\0', "\n", 1),
    ] {
        std::fs::write(&path, &text).unwrap();
        for err in [
            read_ledger(&path, false).unwrap_err(),
            open_for_run(&path, OpenMode::Resume, false, false, 0).unwrap_err(),
        ] {
            let err = format!("{err:#}");
            assert!(err.contains("bare CR"), "{err}");
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
    // A CR inside an invalid row's quoted phone cell is the cell's own,
    // even in a last record that lacks its newline.
    let invalid = format!(
        "{}\n7,1,+12015550101,dispatched,1,200,,2026-12-03T14:00:00.000Z,,1,\n\
         ,2,\"call\rme\",invalid,0,,phone: not a number,2026-12-03T14:00:00.000Z,,0,",
        COLUMNS.join(",")
    );
    std::fs::write(&path, &invalid).unwrap();
    let log = open_for_run(&path, OpenMode::Resume, false, false, 0).unwrap();
    assert!(log.ledger.has_row_verdict(2));
    drop(log);

    // CRLF, with or without the last LF, reads as usual.
    for text in [
        lf.replace('\n', "\r\n"),
        lf.replace('\n', "\r\n").trim_end_matches('\n').to_string(),
    ] {
        std::fs::write(&path, &text).unwrap();
        let mut ledger = read_ledger(&path, false).unwrap();
        assert_eq!(
            ledger.entry(12015550102, 2).prior,
            Prior::Dispatched,
            "{text:?}"
        );
    }
}

#[test]
fn an_older_file_whose_last_record_lacks_its_newline_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = older_log_with(
        &dir,
        "7,1,+12015550101,dispatched,1,200,,2026-12-03T14:00:00Z",
    );
    let mut log = open_for_run(&path, OpenMode::Resume, false, false, 0).unwrap();
    assert!(log.repairs.is_empty());
    assert!(log.torn_warning.is_none());
    assert_eq!(log.ledger.entry(12015550101, 1).prior, Prior::Dispatched);
    drop(log);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.ends_with("7,1,+12015550101,dispatched,1,200,,2026-12-03T14:00:00Z,,,\n"),
        "{text}"
    );
}
