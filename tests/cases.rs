//! Every case in `../shared/cases/`: a contact list that broke another tool,
//! with the behaviour omnidial must show. Expected calls come from each
//! case's own machine-readable summary where it has one.

use std::path::Path;

use serde_json::Value;

use crate::util::*;

/// A finished case run: the scratch dir, the sandbox and the run.
struct CaseRun {
    work: Workdir,
    sandbox: SandboxProc,
    run: Run,
}

impl CaseRun {
    /// Runs `omnidial run` on `contacts` with agent 42 against a fresh
    /// sandbox (scripted if `script` is given), outcome in `out.csv`.
    fn start(contacts: &Path, extra: &[&str], script: Option<&Path>) -> CaseRun {
        let work = Workdir::new();
        let sandbox = match script {
            Some(script) => SandboxProc::scripted(script),
            None => SandboxProc::start(&[]),
        };
        let list = work.copy(contacts, "contacts.csv");
        let run = resume_run(&work, &sandbox, &list, extra, false);
        CaseRun { work, sandbox, run }
    }

    /// The outcome file's rows.
    fn outcomes(&self) -> Vec<OutcomeRow> {
        outcome_rows(&self.work.path("out.csv"))
    }

    /// Asserts the sandbox received exactly `expected` (the case summary's
    /// `dispatched` list) and the outcome file agrees call by call.
    fn assert_dispatched(&self, expected: &Value) {
        let expected = expected.as_array().expect("a dispatched list");
        let calls = self.sandbox.calls();
        assert_eq!(
            calls.len(),
            expected.len(),
            "calls placed: {calls:#?}\n{}",
            self.run.describe()
        );
        let outcomes = self.outcomes();
        for want in expected {
            let number = want["to_number"].as_str().expect("to_number");
            let call = calls
                .iter()
                .find(|c| c["to_number"] == number)
                .unwrap_or_else(|| {
                    panic!("no call to {number}: {calls:#?}\n{}", self.run.describe())
                });
            assert_eq!(call["agent_id"], 42, "agent of {number}");
            assert_eq!(
                call["call_context"], want["call_context"],
                "call_context of {number}"
            );
            let row = want["row"].as_u64().expect("row");
            let outcome = outcome_of(&outcomes, row);
            assert_eq!(outcome.status, "dispatched", "row {row}");
            assert_eq!(outcome.to_number, number, "row {row}");
            assert_eq!(
                Some(outcome.request_id.unwrap()),
                call["request_id"].as_u64(),
                "row {row}"
            );
        }
    }

    /// Asserts the listed rows are `invalid` in the outcome file.
    fn assert_invalid(&self, rows: &[u64]) {
        let outcomes = self.outcomes();
        for row in rows {
            assert_eq!(
                outcome_of(&outcomes, *row).status,
                "invalid",
                "row {row}\n{}",
                self.run.describe()
            );
        }
    }
}

/// Runs omnidial (again) on `list` against `sandbox`, with `--resume` if
/// asked.
fn resume_run(
    work: &Workdir,
    sandbox: &SandboxProc,
    list: &Path,
    extra: &[&str],
    resume: bool,
) -> Run {
    let base = sandbox.base_url();
    let mut args = vec![
        "run",
        list.to_str().unwrap(),
        "--agent-id",
        "42",
        "--out",
        "out.csv",
        "--base-url",
        &base,
        "--rate",
        "unlimited",
        "--quiet",
    ];
    if resume {
        args.push("--resume");
    }
    args.extend_from_slice(extra);
    work.omnidial(&args)
}

/// Row numbers from a JSON array.
fn rows_of(value: &Value) -> Vec<u64> {
    value
        .as_array()
        .expect("a row list")
        .iter()
        .map(|v| v.as_u64().expect("a row number"))
        .collect()
}

#[test]
fn utf8_bom_header_is_stripped_before_the_header_is_read() {
    let summary = case_summary("utf8-bom-header");
    for file in ["contacts.csv", "contacts_name_first.csv"] {
        let case = CaseRun::start(&case_file("utf8-bom-header", file), &[], None);
        case.run.expect_code(0);
        case.assert_dispatched(&summary["dispatched"]);
    }
}

#[test]
fn semicolon_lists_are_detected_and_a_forced_comma_fails_before_any_call() {
    let summary = case_summary("semicolon-delimiter");
    let contacts = case_file("semicolon-delimiter", "contacts.csv");
    for extra in [&[][..], &["--delimiter", ";"][..]] {
        let case = CaseRun::start(&contacts, extra, None);
        case.run.expect_code(0);
        case.assert_dispatched(&summary["default_or_semicolon"]["dispatched"]);
    }

    let forced = CaseRun::start(&contacts, &["--delimiter", ","], None);
    forced.run.expect_code(2);
    assert!(forced.sandbox.requests().is_empty());
    let err = forced.run.stderr();
    assert!(err.contains("phone;vorname;betrag;notiz"), "{err}");
    assert!(err.contains(';'), "{err}");

    // The `sep=;` hint line is honoured: same calls as without it.
    let hinted = CaseRun::start(
        &case_file("semicolon-delimiter", "contacts_sep_hint.csv"),
        &[],
        None,
    );
    hinted.run.expect_code(0);
    hinted.assert_dispatched(&summary["default_or_semicolon"]["dispatched"]);
}

#[test]
fn cp1252_lists_fail_before_any_call_unless_the_encoding_is_given() {
    let summary = case_summary("cp1252-encoding");
    let contacts = case_file("cp1252-encoding", "contacts.csv");
    let default = CaseRun::start(&contacts, &[], None);
    default.run.expect_code(2);
    assert!(
        default.sandbox.requests().is_empty(),
        "no request, row 1 included"
    );
    let err = default.run.stderr();
    assert!(err.contains("row 2"), "{err}");
    assert!(err.contains("UTF-8"), "{err}");
    assert!(err.to_lowercase().contains("windows-1252"), "{err}");

    for encoding in ["windows-1252", "latin1"] {
        let case = CaseRun::start(&contacts, &["--encoding", encoding], None);
        case.run.expect_code(0);
        case.assert_dispatched(&summary["explicit_cp1252"]["dispatched"]);
        let calls = serde_json::to_string(&case.sandbox.calls()).unwrap();
        assert!(
            !calls.contains('\u{fffd}'),
            "no replacement characters: {calls}"
        );
    }
}

#[test]
fn embedded_newlines_keep_records_whole_and_lines_right() {
    let summary = case_summary("embedded-newlines");
    let case = CaseRun::start(&case_file("embedded-newlines", "contacts.csv"), &[], None);
    case.run.expect_code(1);
    case.assert_dispatched(&summary["dispatched"]);
    case.assert_invalid(&[4]);
    let row4 = outcome_of(&case.outcomes(), 4).clone();
    assert!(row4.error.contains("phone"), "{row4:?}");
    assert_eq!(row4.to_number, "not-a-number");
    assert_eq!(case.outcomes().len(), 4, "no record from the fragment line");
}

#[test]
fn ragged_rows_are_rejected_without_stopping_the_run() {
    let summary = case_summary("ragged-rows");
    let case = CaseRun::start(&case_file("ragged-rows", "contacts.csv"), &[], None);
    case.run.expect_code(1);
    case.assert_dispatched(&summary["preferred"]["dispatched"]);
    case.assert_invalid(&[2, 3]);
    let outcomes = case.outcomes();
    assert!(
        outcome_of(&outcomes, 2)
            .error
            .contains("expected 4 fields, found 3")
    );
    assert!(
        outcome_of(&outcomes, 3)
            .error
            .contains("expected 4 fields, found 5")
    );
}

#[test]
fn blank_padding_rows_are_passed_over_and_an_empty_phone_is_invalid() {
    let summary = case_summary("blank-rows-empty-phone");
    let case = CaseRun::start(
        &case_file("blank-rows-empty-phone", "contacts.csv"),
        &["--summary-json", "summary.json"],
        None,
    );
    case.run.expect_code(1);
    case.assert_dispatched(&summary["dispatched"]);
    case.assert_invalid(&rows_of(&summary["rejected_rows"]));
    assert_eq!(case.outcomes().len(), 3, "blank rows get no outcome row");
    let json: Value = serde_json::from_str(&case.work.read("summary.json")).unwrap();
    assert_eq!(json["counts"]["blank"], summary["blank_skipped"]);
    assert!(case.sandbox.requests().iter().all(|r| r["to_number"] != ""));
}

#[test]
fn duplicate_numbers_are_dialed_once() {
    let summary = case_summary("duplicate-numbers");
    let contacts = case_file("duplicate-numbers", "contacts.csv");
    let case = CaseRun::start(&contacts, &[], None);
    case.run.expect_code(0);
    case.assert_dispatched(&summary["dispatched"]);
    let outcomes = case.outcomes();
    for (row, first) in summary["duplicate_rows"].as_object().unwrap() {
        let outcome = outcome_of(&outcomes, row.parse().unwrap());
        assert_eq!(outcome.status, "skipped");
        assert_eq!(outcome.error, format!("duplicate of row {first}"));
    }

    let allowed = CaseRun::start(&contacts, &["--allow-duplicates"], None);
    allowed.run.expect_code(0);
    assert_eq!(allowed.sandbox.calls().len(), 5);
}

#[test]
fn invisible_unicode_in_phone_cells_is_cleaned_but_context_is_untouched() {
    let summary = case_summary("invisible-unicode-phone");
    let case = CaseRun::start(
        &case_file("invisible-unicode-phone", "contacts.csv"),
        &[],
        None,
    );
    case.run.expect_code(0);
    case.assert_dispatched(&summary["dispatched"]);
    for call in case.sandbox.calls() {
        let number = call["to_number"].as_str().unwrap();
        assert!(number.starts_with('+') && number[1..].bytes().all(|b| b.is_ascii_digit()));
    }
}

#[test]
fn spreadsheet_numbers_are_rejected_never_expanded() {
    let summary = case_summary("excel-sci-notation");
    for run in summary["runs"].as_array().unwrap() {
        let args: Vec<&str> = run["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let region: Vec<&str> = args
            .iter()
            .skip_while(|a| **a != "--default-region")
            .copied()
            .collect();
        let case = CaseRun::start(
            &case_file("excel-sci-notation", "contacts.csv"),
            &region,
            None,
        );
        case.run.expect_code(1);
        case.assert_dispatched(&run["dispatched"]);
        case.assert_invalid(&rows_of(&run["rejected_rows"]));
        let outcomes = case.outcomes();
        for row in rows_of(&run["rejected_rows"]) {
            let error = outcome_of(&outcomes, row).error.to_lowercase();
            assert!(error.contains("spreadsheet"), "row {row}: {error}");
        }
    }
}

#[test]
fn national_numbers_need_a_region_and_the_dry_run_shows_the_assumption() {
    let summary = case_summary("national-default-region");
    let contacts = case_file("national-default-region", "contacts.csv");
    for (key, extra) in [
        ("no_region", &[][..]),
        ("region_US", &["--default-region", "US"][..]),
        ("region_GB", &["--default-region", "GB"][..]),
    ] {
        let want = &summary[key];
        let case = CaseRun::start(&contacts, extra, None);
        case.run.expect_code(1);
        let calls = case.sandbox.calls();
        assert_eq!(
            calls.len() as u64,
            want["post_count"].as_u64().unwrap(),
            "{key}"
        );
        if let Some(numbers) = want["to_numbers"].as_array() {
            let sent: Vec<&Value> = calls.iter().map(|c| &c["to_number"]).collect();
            assert_eq!(sent, numbers.iter().collect::<Vec<_>>(), "{key}");
        }
        case.assert_invalid(&rows_of(&want["rejected_rows"]));
        if key == "no_region" {
            let error = outcome_of(&case.outcomes(), 1).error.clone();
            assert!(error.contains("no country code"), "{error}");
        }
    }

    let work = Workdir::new();
    let list = work.copy(&contacts, "contacts.csv");
    let dry = work.omnidial(&[
        "validate",
        list.to_str().unwrap(),
        "--default-region",
        "GB",
        "--show",
        "5",
    ]);
    dry.expect_code(1);
    let report = dry.stdout();
    for row in rows_of(&summary["region_GB"]["report_must_flag_default_region_rows"]) {
        let line = report
            .lines()
            .find(|l| l.contains(&format!("row {row}:")) && l.contains("assumed region GB"))
            .unwrap_or_else(|| panic!("row {row} not flagged:\n{report}"));
        assert!(line.contains("+44"), "{line}");
    }
}

#[test]
fn dry_runs_send_nothing_touch_nothing_and_need_no_key() {
    let summary = case_summary("dry-run-no-dispatch");
    let want = &summary["dry_run"];
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    let list = work.copy(
        &case_file("dry-run-no-dispatch", "contacts.csv"),
        "contacts.csv",
    );
    let existing = work.copy(
        &case_file("dry-run-no-dispatch", "outcomes_existing.csv"),
        "existing.csv",
    );
    let before = std::fs::read(&existing).unwrap();
    let base = sandbox.base_url();
    let list = list.to_str().unwrap();

    let validate = work.omnidial_without_key(&[
        "validate",
        list,
        "--agent-id",
        "42",
        "--show",
        "4",
        "--rejects",
        "rejects.csv",
        "--format",
        "json",
    ]);
    validate.expect_code(want["exit"].as_i64().unwrap() as i32);
    let report: Value = serde_json::from_str(&validate.stdout()).expect("a JSON report");
    let shown: Vec<&Value> = report["requests"].as_array().unwrap().iter().collect();
    let expected = want["report_rows"].as_array().unwrap();
    assert_eq!(shown.len(), expected.len());
    for (got, want) in shown.iter().zip(expected) {
        assert_eq!(got["row"], want["row"]);
        assert_eq!(got["body"]["to_number"], want["to_number"]);
        assert_eq!(got["body"]["call_context"], want["call_context"]);
        assert_eq!(got["body"]["agent_id"], 42);
    }
    let rejects = work.read("rejects.csv");
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines[0], "row,column,value,reason");
    assert_eq!(lines.len(), 2, "{rejects}");
    assert!(
        lines[1].starts_with("3,phone,+44 7700 900363,"),
        "{rejects}"
    );

    for out in ["existing.csv", "missing.csv"] {
        let dry = work.omnidial_without_key(&[
            "run",
            list,
            "--dry-run",
            "--agent-id",
            "42",
            "--base-url",
            "http://127.0.0.1:9/api/v1",
            "--out",
            out,
        ]);
        dry.expect_code(1);
        assert!(
            !dry.stdout().to_lowercase().contains("dispatched"),
            "{}",
            dry.stdout()
        );
    }
    assert_eq!(
        std::fs::read(&existing).unwrap(),
        before,
        "the outcome file is untouched"
    );
    assert!(
        !work.path("missing.csv").exists(),
        "no outcome file is created"
    );
    assert!(sandbox.requests().is_empty(), "nothing reached the API");

    let real = work.omnidial(&[
        "run",
        list,
        "--agent-id",
        "42",
        "--base-url",
        &base,
        "--out",
        "real.csv",
        "--quiet",
    ]);
    real.expect_code(1);
    assert_eq!(
        sandbox.calls().len() as u64,
        summary["real_run_after"]["post_count"].as_u64().unwrap()
    );
}

#[test]
fn a_timeout_after_sending_is_unknown_and_never_redialed() {
    let summary = case_summary("timeout-no-double-dial");
    let script = case_file("timeout-no-double-dial", "server_script.json");
    let contacts = case_file("timeout-no-double-dial", "contacts.csv");
    let case = CaseRun::start(
        &contacts,
        &["--request-timeout", "10s", "--summary-json", "summary.json"],
        Some(&script),
    );
    case.run.expect_code(1);

    let requests = case.sandbox.requests();
    assert_eq!(
        requests.len() as u64,
        summary["post_count"].as_u64().unwrap()
    );
    for (number, count) in summary["per_number_posts"].as_object().unwrap() {
        let sent = requests
            .iter()
            .filter(|r| r["to_number"] == number.as_str())
            .count();
        assert_eq!(sent as u64, count.as_u64().unwrap(), "{number}");
    }
    let outcomes = case.outcomes();
    for (row, want) in summary["outcomes"].as_object().unwrap() {
        let got = outcome_of(&outcomes, row.parse().unwrap());
        assert_eq!(got.status, want["status"].as_str().unwrap(), "row {row}");
        if let Some(id) = want.get("requestId") {
            assert_eq!(got.request_id, id.as_u64(), "row {row}");
        }
    }
    let json: Value = serde_json::from_str(&case.work.read("summary.json")).unwrap();
    assert_eq!(json["counts"]["unknown_rows"], serde_json::json!([2, 4]));

    let list = case.work.path("contacts.csv");
    let again = resume_run(
        &case.work,
        &case.sandbox,
        &list,
        &["--request-timeout", "10s"],
        true,
    );
    again.expect_code(1);
    assert_eq!(
        case.sandbox.requests().len(),
        requests.len(),
        "a plain resume sends nothing"
    );
}

#[test]
fn every_flavour_of_429_is_waited_out_and_a_day_long_one_stops_the_run() {
    let summary = case_summary("429-retry-after");
    let script = case_file("429-retry-after", "server_script.json");
    let campaign = "[retry]\nmax_attempts = 3\ninitial_backoff = \"500ms\"\n\
                    max_backoff = \"10s\"\nmax_wait = \"5min\"\n";
    let work_campaign = Workdir::new();
    let campaign = work_campaign.write("campaign.toml", campaign);
    let campaign = campaign.to_str().unwrap();
    let case = CaseRun::start(
        &case_file("429-retry-after", "contacts.csv"),
        &["--campaign", campaign, "--concurrency", "1"],
        Some(&script),
    );
    case.run
        .expect_code(summary["exit"].as_i64().unwrap() as i32);
    assert!(
        case.run.stderr().contains("resume after"),
        "{}",
        case.run.describe()
    );

    let requests = case.sandbox.requests();
    assert_eq!(
        requests.len() as u64,
        summary["post_count"].as_u64().unwrap(),
        "{requests:#?}"
    );
    for (number, count) in summary["per_number_posts"].as_object().unwrap() {
        let sent = requests
            .iter()
            .filter(|r| r["to_number"] == number.as_str())
            .count();
        assert_eq!(sent as u64, count.as_u64().unwrap(), "{number}");
    }
    // Lower bounds only: a retry must not come before the wait it was given.
    let numbers = ["+12015550311", "+12015550312", "+12015550313"];
    for (i, row) in ["row1", "row2", "row3"].iter().enumerate() {
        let times: Vec<f64> = requests
            .iter()
            .filter(|r| r["to_number"] == numbers[i])
            .map(|r| r["received_unix_ms"].as_f64().unwrap())
            .collect();
        let gap = (times[1] - times[0]) / 1000.0;
        let min = summary["min_gap_s"][row].as_f64().unwrap();
        assert!(gap >= min, "{row}: retried after {gap}s, before {min}s");
    }
    for pair in requests.windows(2) {
        let gap = pair[1]["received_unix_ms"].as_f64().unwrap()
            - pair[0]["received_unix_ms"].as_f64().unwrap();
        if pair[0]["status"] == 429 {
            assert!(gap >= 100.0, "a request {gap}ms after a 429");
        }
    }
    let outcomes = case.outcomes();
    for (row, id) in summary["dispatched"].as_object().unwrap() {
        let got = outcome_of(&outcomes, row.parse().unwrap());
        assert_eq!(
            (got.status.as_str(), got.request_id),
            ("dispatched", id.as_u64()),
            "row {row}"
        );
    }
    for row in rows_of(&summary["not_recorded"]) {
        assert!(
            outcomes.iter().all(|o| o.row != row),
            "row {row} must stay unrecorded"
        );
    }

    // A resume tries only row 6 again (the script answers it 429 forever).
    let list = case.work.path("contacts.csv");
    let again = resume_run(
        &case.work,
        &case.sandbox,
        &list,
        &["--campaign", campaign],
        true,
    );
    again.expect_code(3);
    let after = case.sandbox.requests();
    assert_eq!(after.len(), requests.len() + 1);
    assert_eq!(after.last().unwrap()["to_number"], "+12015550316");
}

#[test]
fn a_torn_outcome_file_is_repaired_and_resumed_without_redialing() {
    let contacts = case_file("torn-outcome-resume", "contacts.csv");
    let summary = case_summary("torn-outcome-resume");
    for name in ["outcomes_torn.csv", "outcomes_torn_in_quote.csv"] {
        let want = &summary[name];
        let sandbox = SandboxProc::start(&[]);
        let work = Workdir::new();
        let list = work.copy(&contacts, "contacts.csv");
        let torn = std::fs::read(case_file("torn-outcome-resume", name)).unwrap();
        work.write("out.csv", &torn);

        let run = resume_run(&work, &sandbox, &list, &[], true);
        run.expect_code(want["exit"].as_i64().unwrap() as i32);
        assert!(run.stderr().contains("torn"), "{}", run.describe());

        let calls = sandbox.calls();
        let sent: Vec<&Value> = calls.iter().map(|c| &c["to_number"]).collect();
        assert_eq!(
            sent,
            want["to_numbers"]
                .as_array()
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            "{name}"
        );

        let text = std::fs::read_to_string(work.path("out.csv")).unwrap();
        let complete = String::from_utf8_lossy(&torn);
        for line in complete.lines().skip(1).take(3) {
            assert!(
                text.contains(line),
                "{name}: complete record {line:?} kept\n{text}"
            );
        }
        let outcomes = outcome_rows(&work.path("out.csv"));
        assert_eq!(outcomes.len(), 6, "{name}: one row per contact\n{text}");
        for (row, status) in want["final_status"].as_object().unwrap() {
            let got = &outcome_of(&outcomes, row.parse().unwrap()).status;
            let allowed: Vec<&str> = match status {
                Value::Array(list) => list.iter().map(|s| s.as_str().unwrap()).collect(),
                other => vec![other.as_str().unwrap()],
            };
            assert!(allowed.contains(&got.as_str()), "{name} row {row}: {got}");
        }
        for call in &calls {
            let row = outcomes
                .iter()
                .find(|o| o.to_number == call["to_number"])
                .unwrap();
            assert_eq!(row.request_id, call["request_id"].as_u64());
        }
    }
}
