//! `omnidial run` end to end: the fixture campaign, what reaches the API,
//! the outcome file, the checks made before any call, and the limits on
//! rate and concurrency (checked from the sandbox's record, as counts and
//! order, never as speed).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::Value;

use crate::util::*;

/// The fixture list.
fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/contacts.csv")
}

/// Reads a CSV into header and rows of strings.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let headers = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (headers, rows)
}

#[test]
fn the_fixture_campaign_dials_each_valid_contact_once_with_its_context() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    let list = work.copy(&fixture(), "contacts.csv");
    let base = sandbox.base_url();
    let run = work.omnidial(&[
        "run",
        list.to_str().unwrap(),
        "--agent-id",
        "42",
        "--from-number-id",
        "23",
        "--base-url",
        &base,
        "--rate",
        "unlimited",
        "--concurrency",
        "8",
        "--quiet",
    ]);
    run.expect_code(1); // the fixture holds a few bad rows on purpose

    let (headers, rows) = read_csv(&list);
    let outcomes = outcome_rows(&work.path("contacts.outcome.csv"));
    assert_eq!(outcomes.len(), rows.len(), "one outcome row per contact");
    let calls = sandbox.calls();
    let by_id: HashMap<u64, &Value> = calls
        .iter()
        .map(|c| (c["request_id"].as_u64().unwrap(), c))
        .collect();
    assert_eq!(by_id.len(), calls.len());

    let mut numbers = HashSet::new();
    for outcome in &outcomes {
        let row = &rows[outcome.row as usize - 1];
        match outcome.status.as_str() {
            "dispatched" => {
                let call = by_id[&outcome.request_id.expect("a request id")];
                assert_eq!(call["to_number"], outcome.to_number.as_str());
                assert_eq!(call["agent_id"], 42);
                assert_eq!(call["from_number_id"], 23);
                let context = call["call_context"].as_object().unwrap();
                for (i, header) in headers.iter().enumerate().skip(1) {
                    assert_eq!(
                        context.get(header).and_then(Value::as_str),
                        Some(row[i].as_str()),
                        "row {} {header}",
                        outcome.row
                    );
                }
                assert_eq!(context.len(), headers.len() - 1);
                assert!(
                    numbers.insert(outcome.to_number.clone()),
                    "dialed twice: {}",
                    outcome.to_number
                );
            }
            "invalid" | "skipped" => assert!(!outcome.error.is_empty()),
            other => panic!("row {}: unexpected status {other}", outcome.row),
        }
    }
    assert_eq!(
        numbers.len(),
        calls.len(),
        "every call the sandbox took is in the outcome file"
    );
    let invalid = outcomes.iter().filter(|o| o.status == "invalid").count();
    assert!(invalid >= 5, "the fixture's bad rows are rejected");
    assert!(
        outcomes
            .iter()
            .any(|o| o.status == "skipped" && o.error.starts_with("duplicate of row"))
    );
}

#[test]
fn the_quick_start_runs_against_the_embedded_sandbox_without_a_key() {
    let work = Workdir::new();
    let list = work.copy(&fixture(), "contacts.csv");
    let run = work.omnidial_without_key(&[
        "run",
        list.to_str().unwrap(),
        "--sandbox",
        "--agent-id",
        "42",
        "--rate",
        "unlimited",
        "--concurrency",
        "4",
    ]);
    run.expect_code(1);
    let outcomes = outcome_rows(&work.path("contacts.outcome.csv"));
    assert_eq!(outcomes.len(), read_csv(&list).1.len());
    assert!(outcomes.iter().filter(|o| o.status == "dispatched").count() > 200);
    assert!(run.stderr().contains("dispatched"), "{}", run.describe());
}

#[test]
fn unusable_settings_and_lists_stop_before_any_call() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    let good = work.write("good.csv", "phone,name\n+12015550101,Ann\n");
    let no_phone = work.write("nophone.csv", "name,email\nAnn,a@example.com\n");
    let base = sandbox.base_url();
    let good = good.to_str().unwrap();

    let missing_column = work.omnidial(&[
        "run",
        no_phone.to_str().unwrap(),
        "--agent-id",
        "42",
        "--base-url",
        &base,
    ]);
    missing_column.expect_code(2);
    assert!(
        missing_column.stderr().contains("name") && missing_column.stderr().contains("email"),
        "{}",
        missing_column.describe()
    );

    let no_agent = work.omnidial(&["run", good, "--base-url", &base, "--out", "a.csv"]);
    no_agent.expect_code(2);
    assert!(
        no_agent.stderr().contains("--agent-id"),
        "{}",
        no_agent.describe()
    );

    let no_key = work.omnidial_without_key(&[
        "run",
        good,
        "--agent-id",
        "42",
        "--base-url",
        &base,
        "--out",
        "b.csv",
    ]);
    no_key.expect_code(2);
    assert!(
        no_key.stderr().contains("OMNIDIM_API_KEY"),
        "{}",
        no_key.describe()
    );

    let clear_text = work.omnidial(&[
        "run",
        good,
        "--agent-id",
        "42",
        "--base-url",
        "http://example.com/api/v1",
        "--out",
        "c.csv",
    ]);
    clear_text.expect_code(2);

    assert!(sandbox.requests().is_empty());
}

#[test]
fn an_existing_outcome_file_needs_resume_or_fresh() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    let list = work.write("list.csv", "phone\n+12015550101\n+12015550102\n");
    let list = list.to_str().unwrap();
    let base = sandbox.base_url();
    let args = [
        "run",
        list,
        "--agent-id",
        "42",
        "--base-url",
        &base,
        "--out",
        "out.csv",
        "--quiet",
    ];
    work.omnidial(&args).expect_code(0);
    let first = work.read("out.csv");

    let refused = work.omnidial(&args);
    refused.expect_code(2);
    assert!(
        refused.stderr().contains("--resume"),
        "{}",
        refused.describe()
    );
    assert_eq!(work.read("out.csv"), first);

    let resumed = work.omnidial(&[&args[..], &["--resume"]].concat());
    resumed.expect_code(0);
    assert_eq!(
        sandbox.calls().len(),
        2,
        "a resume of a finished campaign dials nobody"
    );

    let fresh = work.omnidial(&[&args[..], &["--fresh"]].concat());
    fresh.expect_code(0);
    assert_eq!(sandbox.calls().len(), 4);
    let kept: Vec<_> = std::fs::read_dir(work.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("out.") && n != "out.csv")
        .collect();
    assert_eq!(kept.len(), 1, "the old file is kept beside: {kept:?}");
    assert_eq!(work.read(&kept[0]), first);
}

/// A list of `n` valid numbers, +1 201 555 0100 onwards, in order.
fn numbered_list(n: usize) -> String {
    let rows: Vec<String> = (0..n).map(|i| format!("+1201555{:04}", 100 + i)).collect();
    format!("phone\n{}\n", rows.join("\n"))
}

#[test]
fn concurrency_caps_requests_in_flight() {
    // Every answer takes 300 ms, so no 250 ms window may hold more arrivals
    // than the cap: a request can only start once an earlier one ended.
    let sandbox = SandboxProc::start(&["--latency-ms", "300"]);
    let work = Workdir::new();
    work.write("list.csv", numbered_list(24));
    work.dial(&sandbox, &["--rate", "unlimited", "--concurrency", "3"])
        .expect_code(0);

    let times: Vec<f64> = sandbox
        .requests()
        .iter()
        .map(|r| r["received_unix_ms"].as_f64().unwrap())
        .collect();
    assert_eq!(times.len(), 24);
    for (i, t) in times.iter().enumerate() {
        let within = times[i..].iter().take_while(|u| **u < t + 250.0).count();
        assert!(
            within <= 3,
            "{within} requests within 250 ms of request {i}"
        );
    }
}

#[test]
fn the_rate_spaces_calls_and_sequential_runs_keep_list_order() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write("list.csv", numbered_list(11));
    work.dial(&sandbox, &["--rate", "20"]).expect_code(0);

    let requests = sandbox.requests();
    let numbers: Vec<&str> = requests
        .iter()
        .map(|r| r["to_number"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..11).map(|i| format!("+1201555{:04}", 100 + i)).collect();
    assert_eq!(numbers, expected, "sequential dispatch follows the list");
    // 11 calls at 20/s with a burst of 1 need at least 10 intervals of 50 ms.
    let span = requests[10]["received_unix_ms"].as_f64().unwrap()
        - requests[0]["received_unix_ms"].as_f64().unwrap();
    assert!(span >= 10.0 * 50.0 * 0.95, "11 calls in {span} ms at 20/s");
}
