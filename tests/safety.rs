//! Mistakes a user can make that must never dial anyone twice, lose a
//! record or leak the key: found by trying omnidial as a new user would.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// A list of `n` valid numbers.
fn list(n: usize) -> String {
    let rows: Vec<String> = (0..n).map(|i| format!("+1201555{:04}", 100 + i)).collect();
    format!("phone\n{}\n", rows.join("\n"))
}

/// Starts `omnidial run list.csv` in the background against `sandbox`.
fn spawn_run(work: &Workdir, sandbox: &SandboxProc) -> std::process::Child {
    let base = sandbox.base_url();
    Command::new(bin())
        .args([
            "run",
            "list.csv",
            "--agent-id",
            "42",
            "--out",
            "out.csv",
            "--quiet",
        ])
        .args(["--base-url", &base, "--rate", "unlimited"])
        .current_dir(work.dir.path())
        .env("OMNIDIM_API_KEY", TEST_KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start omnidial")
}

/// Waits (bounded) until the sandbox has received `n` requests.
fn wait_for_requests(sandbox: &SandboxProc, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while sandbox.requests().len() < n {
        assert!(Instant::now() < deadline, "the run never started dialing");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn fresh_waits_for_a_run_still_using_the_file() {
    let sandbox = SandboxProc::start(&["--latency-ms", "100"]);
    let work = Workdir::new();
    work.write("list.csv", list(30));
    let mut first = spawn_run(&work, &sandbox);
    wait_for_requests(&sandbox, 1);

    let second = work.dial(&sandbox, &["--fresh"]);
    second.expect_code(2);
    assert!(second.stderr().contains("in use"), "{}", second.describe());
    assert!(first.wait().unwrap().success());
    assert_eq!(sandbox.calls().len(), 30, "nobody dialed twice");
}

#[test]
fn an_outcome_file_is_not_a_contact_list() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write("list.csv", list(2));
    work.dial(&sandbox, &[]).expect_code(0);

    let base = sandbox.base_url();
    let again = work.omnidial(&["run", "out.csv", "--agent-id", "42", "--base-url", &base]);
    again.expect_code(2);
    assert!(
        again.stderr().contains("outcome file"),
        "{}",
        again.describe()
    );
    let args = [
        "run",
        "list.csv",
        "--agent-id",
        "42",
        "--base-url",
        &base,
        "--fresh",
    ];
    let own = work.omnidial(&[&args[..], &["--out", "list.csv"]].concat());
    own.expect_code(2);
    assert!(
        own.stderr().contains("contact list itself"),
        "{}",
        own.describe()
    );
    assert_eq!(work.read("list.csv"), list(2), "the list is untouched");
    assert_eq!(sandbox.calls().len(), 2);
}

#[test]
fn sigterm_stops_like_ctrl_c_and_a_resume_finishes_the_job() {
    a_signal_stops_like_ctrl_c_and_a_resume_finishes_the_job("-TERM");
}

/// A closed terminal (a dropped SSH session) sends SIGHUP.
#[test]
fn sighup_stops_like_ctrl_c_and_a_resume_finishes_the_job() {
    a_signal_stops_like_ctrl_c_and_a_resume_finishes_the_job("-HUP");
}

/// Sends `signal` (as `kill` takes it) mid-run: the run stops in order,
/// compacts, and a resume dials the rest with nobody dialed twice.
fn a_signal_stops_like_ctrl_c_and_a_resume_finishes_the_job(signal: &str) {
    let sandbox = SandboxProc::start(&["--latency-ms", "50"]);
    let work = Workdir::new();
    work.write("list.csv", list(60));
    let child = spawn_run(&work, &sandbox);
    wait_for_requests(&sandbox, 3);
    let term = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    assert!(term.unwrap().success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let text = work.read("out.csv");
    assert!(
        !text.contains(",sending,"),
        "compacted at the orderly stop:\n{text}"
    );

    work.dial(&sandbox, &["--resume"]).expect_code(0);
    let mut numbers: Vec<String> = sandbox
        .calls()
        .iter()
        .map(|c| c["to_number"].as_str().unwrap().to_string())
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 60);
    assert_eq!(sandbox.calls().len(), 60, "nobody dialed twice");
}

#[test]
fn credentials_in_the_wrong_place_are_refused_and_never_echoed() {
    let work = Workdir::new();
    work.write("list.csv", list(1));
    let url = work.omnidial(&[
        "run",
        "list.csv",
        "--agent-id",
        "42",
        "--base-url",
        "http://u:hunter2@127.0.0.1:9/api/v1",
    ]);
    url.expect_code(2);
    assert!(!url.stderr().contains("hunter2"), "{}", url.describe());

    let secret = "sk-live-0123456789abcdef";
    let env = work.omnidial(&[
        "run",
        "list.csv",
        "--agent-id",
        "42",
        "--api-key-env",
        secret,
    ]);
    env.expect_code(2);
    assert!(!env.stderr().contains(secret), "{}", env.describe());
}

#[test]
fn report_flags_without_a_dry_run_are_refused() {
    let work = Workdir::new();
    work.write("list.csv", list(1));
    let run = work.omnidial(&["run", "list.csv", "--agent-id", "42", "--show", "3"]);
    run.expect_code(2);
    assert!(run.stderr().contains("--dry-run"), "{}", run.describe());
    let zero = work.omnidial(&["run", "list.csv", "--agent-id", "0", "--dry-run"]);
    zero.expect_code(2);
}

#[test]
fn a_do_not_call_flag_holds_for_the_number_on_every_row() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write(
        "list.csv",
        "phone,Do Not Call\n+12015550101,\n+12015550102,\n+12015550101,X\n+12015550103,no\n",
    );
    work.dial(&sandbox, &["--allow-duplicates"]).expect_code(0);
    let called: Vec<String> = sandbox
        .calls()
        .iter()
        .map(|c| c["to_number"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        called,
        ["+12015550102", "+12015550103"],
        "row 1 shares row 3's opt-out"
    );
    for call in sandbox.calls() {
        assert!(call["call_context"].get("Do Not Call").is_none(), "{call}");
    }
}

#[test]
fn an_unreadable_do_not_call_entry_stops_the_campaign() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write("list.csv", list(2));
    work.write("dnc.txt", "201-555-0101\n");
    let run = work.dial(&sandbox, &["--suppress", "dnc.txt"]);
    run.expect_code(2);
    assert!(run.stderr().contains("dnc.txt:1"), "{}", run.describe());
    assert!(sandbox.requests().is_empty());
    work.dial(
        &sandbox,
        &["--suppress", "dnc.txt", "--default-region", "US"],
    )
    .expect_code(0);
    assert_eq!(
        sandbox.calls().len(),
        1,
        "the opted-out number is not called"
    );
}

#[test]
fn an_opt_out_after_the_call_adds_no_second_row() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write("list.csv", list(2));
    work.dial(&sandbox, &[]).expect_code(0);
    work.write("dnc.txt", "+12015550100\n");
    work.dial(&sandbox, &["--resume", "--suppress", "dnc.txt"])
        .expect_code(0);
    let outcomes = outcome_rows(&work.path("out.csv"));
    assert_eq!(outcomes.len(), 2, "{outcomes:#?}");
    assert!(outcomes.iter().all(|o| o.status == "dispatched"));
}

#[test]
fn an_invalid_control_cell_keeps_the_contacts_number_in_the_outcome() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write("list.csv", "phone,from_number_id\n+12015550101,abc\n");
    work.dial(&sandbox, &[]).expect_code(1);
    let outcome = &outcome_rows(&work.path("out.csv"))[0];
    assert_eq!(
        (outcome.status.as_str(), outcome.to_number.as_str()),
        ("invalid", "+12015550101")
    );
    assert!(outcome.error.contains("from_number_id"), "{outcome:?}");
}

#[test]
fn a_campaign_that_allowed_duplicates_resumes_only_with_them() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write("list.csv", "phone\n+12015550101\n+12015550101\n");
    work.dial(&sandbox, &["--allow-duplicates"]).expect_code(0);
    let before = work.read("out.csv");
    let plain = work.dial(&sandbox, &["--resume"]);
    plain.expect_code(2);
    assert!(
        plain.stderr().contains("--allow-duplicates"),
        "{}",
        plain.describe()
    );
    assert_eq!(work.read("out.csv"), before);
    work.dial(&sandbox, &["--resume", "--allow-duplicates"])
        .expect_code(0);
    assert_eq!(sandbox.calls().len(), 2);
}

#[test]
fn absurd_rates_are_refused_before_anything_starts() {
    let work = Workdir::new();
    work.write("list.csv", list(1));
    for rate in ["1e-320", "--per-number-rate=1e-320"] {
        let flag = if rate.starts_with("--") {
            rate.to_string()
        } else {
            format!("--rate={rate}")
        };
        let run = work.omnidial(&["run", "list.csv", "--agent-id", "42", "--sandbox", &flag]);
        run.expect_code(2);
        assert!(
            !work.path("list.outcome.csv").exists(),
            "{}",
            run.describe()
        );
    }
}

#[test]
fn the_dry_run_shows_the_bodies_the_run_then_sends() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write(
        "list.csv",
        "phone,agent_id,from_number_id,name\n+12015550101,,,Ann\n+12015550102,7,,Bob\n\
         +12015550103,,99,Cy\n+12015550104,,,Di\n",
    );
    let pool = ["--from-number-ids", "23,24"];
    let dry = work.dial(
        &sandbox,
        &[&pool[..], &["--dry-run", "--show", "4", "--format", "json"]].concat(),
    );
    dry.expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&dry.stdout()).unwrap();
    let shown: Vec<serde_json::Value> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["body"].clone())
        .collect();

    work.dial(&sandbox, &pool).expect_code(0);
    let sent: Vec<serde_json::Value> = sandbox
        .calls()
        .iter()
        .map(|c| {
            serde_json::json!({
                "agent_id": c["agent_id"], "from_number_id": c["from_number_id"],
                "to_number": c["to_number"], "call_context": c["call_context"],
            })
        })
        .collect();
    assert_eq!(shown, sent);
    assert_eq!(sent[1]["agent_id"], 7);
    assert_eq!(sent[2]["from_number_id"], 99);
}
