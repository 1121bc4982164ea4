//! The outcome file's life around the calls: what a run does when, after
//! calls were placed, the file can no longer be written, compacted or
//! found where it was. Each such run ends as a stopped run (exit 3) with
//! its summary, and a resume dials nobody twice; exit 2 stays for what is
//! found before any call.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};

use crate::util::*;

/// A list of `n` valid numbers.
fn list(n: usize) -> String {
    let rows: Vec<String> = (0..n).map(|i| format!("+1201555{:04}", 1000 + i)).collect();
    format!("phone\n{}\n", rows.join("\n"))
}

/// The last line of stderr, where `main` puts the error.
fn last_line(run: &Run) -> String {
    run.stderr()
        .trim_end()
        .lines()
        .last()
        .unwrap_or("")
        .to_string()
}

/// No number was dialed twice, and every call the sandbox placed is in
/// the outcome file, dispatched with its request id or `unknown`.
fn assert_each_call_once_and_recorded(work: &Workdir, sandbox: &SandboxProc) {
    let outcomes = outcome_rows(&work.path("out.csv"));
    let mut seen = HashSet::new();
    for call in sandbox.calls() {
        let number = call["to_number"].as_str().unwrap();
        assert!(seen.insert(number.to_string()), "{number} dialed twice");
        let outcome = outcomes
            .iter()
            .find(|o| o.to_number == number)
            .unwrap_or_else(|| panic!("placed but unrecorded: {number}"));
        match outcome.status.as_str() {
            "dispatched" => assert_eq!(outcome.request_id, call["request_id"].as_u64()),
            "unknown" => {}
            other => panic!("placed but recorded {other}: {outcome:?}"),
        }
    }
}

/// `ulimit -f` caps the size of any file the run writes, so the outcome
/// log stops taking writes after a fixed number of bytes, mid-run: about
/// 30 contacts' records fit in 4 KiB, the list has 200. SIGXFSZ is ignored
/// so the write fails (EFBIG) instead of killing the run.
#[test]
fn a_log_that_stops_taking_writes_ends_as_a_stopped_run() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write("list.csv", list(200));
    let base = sandbox.base_url();
    let mut cmd = Command::new("bash");
    cmd.args(["-c", r#"trap '' XFSZ; ulimit -f 4; exec "$0" "$@""#])
        .arg(bin())
        .args(["run", "list.csv", "--agent-id", "42", "--out", "out.csv"])
        .args(["--base-url", &base, "--quiet", "--rate", "unlimited"])
        .current_dir(work.dir.path())
        .env("OMNIDIM_API_KEY", TEST_KEY)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    let output = cmd.output().expect("run omnidial under bash");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let why = "cannot write the outcome file out.csv: File too large";
    assert!(
        stderr.contains(&format!("campaign stopped: {why}")),
        "{stderr}"
    );
    assert!(
        stderr
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with(&format!("omnidial: {why}")),
        "{stderr}"
    );
    let placed = sandbox.calls().len();
    assert!(placed > 0 && placed < 200, "{placed} calls: {stderr}");

    let resumed = work.dial(&sandbox, &["--resume", "--rate", "unlimited"]);
    assert!(matches!(resumed.code(), 0 | 1), "{}", resumed.describe());
    assert_each_call_once_and_recorded(&work, &sandbox);
    let rows: HashSet<u64> = outcome_rows(&work.path("out.csv"))
        .iter()
        .map(|o| o.row)
        .collect();
    assert_eq!(rows.len(), 200, "every contact has one outcome");
}

/// Compaction writes `out.csv.compacting` beside the log; a directory of
/// that name makes it fail after every call was placed, even for root.
#[test]
fn a_failed_compaction_ends_as_a_stopped_run_with_its_summary() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write("list.csv", list(3));
    std::fs::create_dir(work.path("out.csv.compacting")).unwrap();

    let run = work.dial(&sandbox, &["--summary-json", "summary.json"]);
    run.expect_code(3);
    let why = "cannot compact out.csv";
    assert!(
        run.stderr().contains(&format!("campaign stopped: {why}")),
        "{}",
        run.describe()
    );
    assert!(
        last_line(&run).starts_with(&format!("omnidial: {why}")),
        "{}",
        run.describe()
    );
    let summary: serde_json::Value = serde_json::from_str(&work.read("summary.json")).unwrap();
    assert_eq!(summary["exit_code"], 3);
    assert_eq!(summary["ending"]["kind"], "stopped");
    assert_eq!(summary["counts"]["dispatched"], 3);
    assert!(
        work.read("out.csv").contains(",sending,"),
        "the log is left whole"
    );

    std::fs::remove_dir(work.path("out.csv.compacting")).unwrap();
    work.dial(&sandbox, &["--resume"]).expect_code(0);
    assert_eq!(sandbox.requests().len(), 3, "the resume dials nobody");
    let outcomes = outcome_rows(&work.path("out.csv"));
    assert_eq!(outcomes.len(), 3, "compacted: {outcomes:#?}");
    assert!(outcomes.iter().all(|o| o.status == "dispatched"));
}

/// A `--summary-json` in a directory that does not exist is found before
/// any call (exit 2), not once the campaign is over and its summary lost.
#[test]
fn a_summary_path_that_cannot_be_written_is_refused_before_any_call() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write("list.csv", list(2));
    let run = work.dial(&sandbox, &["--summary-json", "missing/summary.json"]);
    run.expect_code(2);
    assert!(
        last_line(&run).starts_with("omnidial: cannot write the summary to missing/summary.json"),
        "{}",
        run.describe()
    );
    assert!(sandbox.requests().is_empty());
    assert!(!work.path("out.csv").exists(), "{}", run.describe());
}

/// The arguments of a run of `list.csv` against `api`, one call at a time
/// so that a held answer holds the whole run, then `extra`.
fn held_args(api: &HeldApi, extra: &[&str]) -> Vec<String> {
    let base = api.base_url();
    let args = ["run", "list.csv", "--agent-id", "42", "--base-url", &base];
    let pace = ["--concurrency", "1", "--rate", "unlimited", "--quiet"];
    [&args[..], &pace, extra]
        .concat()
        .into_iter()
        .map(String::from)
        .collect()
}

/// Starts a run against `api` in the background, writing `out.csv`.
fn spawn_held(work: &Workdir, api: &HeldApi) -> Child {
    Command::new(bin())
        .args(held_args(api, &["--out", "out.csv"]))
        .current_dir(work.dir.path())
        .env("OMNIDIM_API_KEY", TEST_KEY)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start omnidial")
}

/// Waits for a background run; returns its exit code and stderr.
fn wait(child: Child) -> (Option<i32>, String) {
    let output = child.wait_with_output().expect("wait for omnidial");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

/// `rm out.csv` while the second of three calls is in flight: the run
/// still holds the log open, so it puts it back and compacts it, and a
/// resume knows everyone was called.
#[test]
fn an_outcome_file_deleted_mid_run_is_restored_and_compacted() {
    let api = HeldApi::start(2);
    let work = Workdir::new();
    work.write("list.csv", list(3));
    let run = spawn_held(&work, &api);
    api.wait_until_holding();
    std::fs::remove_file(work.path("out.csv")).unwrap();
    api.release();

    let (code, stderr) = wait(run);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("out.csv was deleted or moved during the run: restored it"),
        "{stderr}"
    );
    let outcomes = outcome_rows(&work.path("out.csv"));
    let ids: Vec<Option<u64>> = outcomes.iter().map(|o| o.request_id).collect();
    assert_eq!(ids, [Some(1), Some(2), Some(3)], "{outcomes:#?}");
    assert!(outcomes.iter().all(|o| o.status == "dispatched"));

    let resume = work.omnidial(&to_strs(&held_args(
        &api,
        &["--out", "out.csv", "--resume"],
    )));
    resume.expect_code(0);
    assert!(
        !resume.stderr().contains("no outcome file"),
        "{}",
        resume.describe()
    );
    assert_eq!(api.received().len(), 3, "the resume dials nobody");
}

/// Another file put at the outcome path mid-run is not ours to compact or
/// overwrite: the run leaves it alone, saves its log beside it, says
/// where, and stops (exit 3) with its summary.
#[test]
fn a_file_put_in_the_outcome_files_place_is_left_alone() {
    let api = HeldApi::start(2);
    let work = Workdir::new();
    work.write("list.csv", list(3));
    let run = spawn_held(&work, &api);
    api.wait_until_holding();
    std::fs::rename(work.path("out.csv"), work.path("moved.csv")).unwrap();
    work.write("out.csv", "someone else's file\n");
    api.release();

    let (code, stderr) = wait(run);
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(work.read("out.csv"), "someone else's file\n");
    let saved = std::fs::read_dir(work.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|name| name.starts_with("out.csv.recovered-"))
        .unwrap_or_else(|| panic!("no recovered log: {stderr}"));
    let last = stderr.trim_end().lines().last().unwrap().to_string();
    assert!(
        last.starts_with("omnidial: out.csv is no longer the file this run wrote"),
        "{stderr}"
    );
    assert!(
        last.contains(&format!("--resume --out {saved}")),
        "{stderr}"
    );
    assert!(stderr.contains("campaign stopped: "), "{stderr}");
    assert!(
        stderr.contains(&format!("outcome file: {saved}")),
        "the summary points to the saved log: {stderr}"
    );

    // Resuming the file that took the place warns of the saved log.
    let wrong = work.omnidial(&to_strs(&held_args(
        &api,
        &["--out", "out.csv", "--resume"],
    )));
    assert!(
        wrong
            .stderr()
            .contains(&format!("resume it instead (--out {saved})")),
        "{}",
        wrong.describe()
    );

    let resume = work.omnidial(&to_strs(&held_args(&api, &["--out", &saved, "--resume"])));
    resume.expect_code(0);
    assert_eq!(api.received().len(), 3, "the resume dials nobody");
    let outcomes = outcome_rows(&work.path(&saved));
    assert_eq!(outcomes.len(), 3, "{outcomes:#?}");
    assert!(outcomes.iter().all(|o| o.status == "dispatched"));
}

/// Borrows owned arguments for [`Workdir::omnidial`].
fn to_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}
