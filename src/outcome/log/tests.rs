//! Opening the outcome log for a run: old layouts upgraded, a resume
//! without a file, and the directory syncs of `--fsync`.

use super::*;
use crate::outcome::record::CORE_COLUMNS;

#[test]
fn a_resume_adds_the_new_columns_to_an_older_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let old = format!(
        "{}\n7,1,+12015550101,dispatched,1,200,,2026-12-03T14:00:00Z\n,2,+12015550102,sen",
        COLUMNS[..CORE_COLUMNS].join(",")
    );
    std::fs::write(&path, old).unwrap();

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
