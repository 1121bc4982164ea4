//! `validate` and `run` judge rows through the same code: the rows a dry
//! run rejects are exactly the rows a real run records as `invalid`, for
//! the same reasons, and the rows it would dial are exactly those dialed.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::util::*;

#[test]
fn validate_and_run_agree_row_for_row_on_the_fixture() {
    let work = Workdir::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/contacts.csv");
    let list = work.copy(&fixture, "contacts.csv");
    let list = list.to_str().unwrap();

    let dry = work.omnidial_without_key(&[
        "validate",
        list,
        "--rejects",
        "rejects.csv",
        "--format",
        "json",
        "--show",
        "1000",
    ]);
    dry.expect_code(1);
    let report: Value = serde_json::from_str(&dry.stdout()).unwrap();
    let mut rejected = BTreeMap::new();
    let mut rdr = csv::Reader::from_path(work.path("rejects.csv")).unwrap();
    for record in rdr.records() {
        let record = record.unwrap();
        rejected.insert(record[0].parse::<u64>().unwrap(), record[3].to_string());
    }
    assert_eq!(rejected.len() as u64, report["rejected"].as_u64().unwrap());

    let sandbox = SandboxProc::start(&[]);
    let base = sandbox.base_url();
    work.omnidial(&[
        "run",
        list,
        "--agent-id",
        "42",
        "--base-url",
        &base,
        "--rate",
        "unlimited",
        "--concurrency",
        "4",
        "--quiet",
    ])
    .expect_code(1);
    let outcomes = outcome_rows(&work.path("contacts.outcome.csv"));
    let invalid: BTreeMap<u64, String> = outcomes
        .iter()
        .filter(|o| o.status == "invalid")
        .map(|o| (o.row, o.error.clone()))
        .collect();
    assert_eq!(
        invalid.keys().collect::<Vec<_>>(),
        rejected.keys().collect::<Vec<_>>()
    );
    for (row, reason) in &rejected {
        assert!(
            invalid[row].contains(reason.as_str()),
            "row {row}: {} vs {reason}",
            invalid[row]
        );
    }

    let would_dial: Vec<(u64, String)> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap(),
                p["body"]["to_number"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut dialed: Vec<(u64, String)> = outcomes
        .iter()
        .filter(|o| o.status == "dispatched")
        .map(|o| (o.row, o.to_number.clone()))
        .collect();
    dialed.sort();
    assert_eq!(would_dial, dialed);
    assert_eq!(
        report["would_dial"].as_u64().unwrap() as usize,
        sandbox.calls().len()
    );
}

#[test]
fn validate_exit_codes_follow_the_list() {
    let work = Workdir::new();
    work.write("good.csv", "phone,name\n+12015550101,Ann\n");
    work.write("bad.csv", "phone,name\n+12015550101,Ann\nnope,Bob\n");
    work.write("unusable.csv", "name\nAnn\n");
    work.omnidial_without_key(&["validate", "good.csv"])
        .expect_code(0);
    work.omnidial_without_key(&["validate", "bad.csv"])
        .expect_code(1);
    let unusable = work.omnidial_without_key(&["validate", "unusable.csv"]);
    unusable.expect_code(2);
    assert!(
        unusable.stderr().contains("unusable.csv"),
        "{}",
        unusable.describe()
    );
}

/// Pins: the estimate follows the slower of the campaign's rate and the
/// busiest caller number's, and says that calling hours are not counted.
#[test]
fn validate_estimates_duration_from_the_slowest_rate() {
    let work = Workdir::new();
    let rows: String = (1..=10).map(|i| format!("+120155501{i:02},n\n")).collect();
    work.write("list.csv", format!("phone,name\n{rows}"));
    let estimate = |extra: &[&str]| {
        let args = [
            &["validate", "list.csv", "--format", "json", "--rate", "10/s"],
            extra,
        ]
        .concat();
        let run = work.omnidial_without_key(&args);
        let report: serde_json::Value = serde_json::from_str(&run.expect_code(0).stdout()).unwrap();
        (
            report["estimated_seconds"].as_f64().unwrap(),
            report["warnings"].to_string(),
        )
    };
    assert_eq!(estimate(&[]).0, 1.0);
    // Two caller numbers in turn, five calls each at one a second.
    let pool = ["--from-number-ids", "1,2", "--per-number-rate", "1/s"];
    assert_eq!(estimate(&pool).0, 5.0);
    // A fast caller rate leaves the campaign's rate in charge.
    assert_eq!(
        estimate(&["--from-number-id", "3", "--per-number-rate", "100/s"]).0,
        1.0
    );

    let hours = ["--hours-windows", "00:00-24:00", "--timezone", "UTC"];
    let (seconds, warnings) = estimate(&hours);
    assert_eq!(seconds, 1.0);
    assert!(
        warnings.contains("no time waiting for calling hours"),
        "{warnings}"
    );
}

/// Pins: on a long list the JSON report counts every repeated number and
/// every assumed region, but lists only the first thousand of each, so a
/// report never holds the list over again.
#[test]
fn validate_counts_every_row_but_lists_the_first_thousand() {
    let work = Workdir::new();
    // 1500 national numbers (assumed US), each written twice.
    let mut rows = String::from("phone,name\n");
    for i in 0..1500 {
        let number = format!("(201) 5{:02}-{:04}", 50 + i / 10000, i % 10000);
        rows += &format!("{number},first\n{number},again\n");
    }
    work.write("list.csv", rows);
    let run = work.omnidial_without_key(&[
        "validate",
        "list.csv",
        "--default-region",
        "US",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&run.expect_code(0).stdout()).unwrap();
    assert_eq!(report["would_dial"], 1500, "{report}");
    assert_eq!(report["duplicate_rows"], 1500);
    assert_eq!(report["assumed_region_rows"], 1500);
    let duplicates = report["duplicates"].as_array().unwrap();
    assert_eq!(duplicates.len(), 1000);
    assert_eq!(duplicates[0]["row"], 2);
    assert_eq!(duplicates[0]["reason"], "duplicate of row 1");
    assert_eq!(duplicates[999]["row"], 2000);
    let assumed = report["assumed_region"].as_array().unwrap();
    assert_eq!(assumed.len(), 1000);
    assert_eq!(assumed[999]["row"], 1999);

    let text = work.omnidial_without_key(&["validate", "list.csv", "--default-region", "US"]);
    let text = text.expect_code(0).stdout();
    assert!(text.contains("duplicates         1500"), "{text}");
    assert!(text.contains("... 1500 rows in all"), "{text}");
}

/// Pins: validate has no pass of its own before judging, so a fault found
/// halfway still ends it with the same message (exit 2) and leaves no
/// half-written rejects file.
#[test]
fn validate_stops_at_a_fault_halfway_without_leaving_rejects() {
    let work = Workdir::new();
    work.write(
        "list.csv",
        b"phone,name\nnope,Ann\n+12015550101,Bob\n+12015550102,\xff\xfe\n".as_slice(),
    );
    let run = work.omnidial_without_key(&["validate", "list.csv", "--rejects", "rejects.csv"]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("row 3 (line 4, column name) is not valid UTF-8"),
        "{}",
        run.describe()
    );
    assert!(!work.path("rejects.csv").exists(), "{}", run.describe());
}

/// Pins: rows the daily cap holds back are counted as capped, not as
/// repeated numbers.
#[test]
fn validate_counts_daily_cap_skips_as_capped_not_duplicates() {
    let work = Workdir::new();
    work.write(
        "list.csv",
        "phone,n\n+12015550101,1\n+12015550101,2\n+12015550101,3\n",
    );
    let run = work.omnidial_without_key(&[
        "validate",
        "list.csv",
        "--allow-duplicates",
        "--max-calls-per-number-per-day",
        "2",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&run.expect_code(0).stdout()).unwrap();
    assert_eq!(report["would_dial"], 2, "{report}");
    assert_eq!(report["duplicate_rows"], 0, "{report}");
    assert_eq!(report["held_back"]["capped"], 1, "{report}");
}
