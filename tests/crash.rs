//! The promise of the README, tested the hard way: a campaign killed with
//! SIGKILL at seeded random moments and resumed each time never dials a
//! number twice, loses no contact, and ends with an outcome file that agrees
//! with the sandbox's own record call by call.

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::*;

/// `n` distinct valid numbers from the reserved fictional ranges.
fn fictional_numbers(n: usize) -> Vec<String> {
    let mut numbers = vec![];
    for i in 0..1000 {
        numbers.push(format!("+442079460{i:03}"));
        numbers.push(format!("+61491570{i:03}"));
    }
    for area in [
        "201", "212", "312", "415", "617", "713", "202", "305", "404", "503",
    ] {
        for i in 0..100 {
            numbers.push(format!("+1{area}55501{i:02}"));
        }
    }
    let mut seen = HashSet::new();
    numbers.retain(|n| n.len() >= 12 && seen.insert(n.clone()));
    numbers.truncate(n);
    assert_eq!(numbers.len(), n);
    numbers
}

/// A tiny deterministic generator for kill moments.
struct Lcg(u64);

impl Lcg {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        low + (self.0 >> 33) % (high - low)
    }
}

/// Kills and resumes a campaign against a sandbox with `faults`, then
/// reconciles and redials what stayed unknown, checking the promise.
fn kill_and_resume(faults: &str, kills: usize, seed: u64) {
    let numbers = fictional_numbers(2000);
    let work = Workdir::new();
    work.write(
        "list.csv",
        format!(
            "phone,n\n{}\n",
            numbers
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{n},{i}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    );
    let sandbox = SandboxProc::start(&[
        "--latency-ms",
        "20",
        "--fail-rate",
        faults,
        "--seed",
        &seed.to_string(),
    ]);
    let base = sandbox.base_url();
    let args = [
        "run",
        "list.csv",
        "--agent-id",
        "42",
        "--out",
        "out.csv",
        "--base-url",
        &base,
        "--rate",
        "unlimited",
        "--concurrency",
        "6",
        "--quiet",
        "--resume",
        "--campaign",
        "campaign.toml",
    ];
    work.write(
        "campaign.toml",
        "[retry]\ninitial_backoff = \"20ms\"\nmax_backoff = \"100ms\"\nmax_attempts = 8\n",
    );

    let mut lcg = Lcg(seed);
    let mut killed = 0;
    for _ in 0..kills {
        let mut child = Command::new(bin())
            .args(args)
            .current_dir(work.dir.path())
            .env("OMNIDIM_API_KEY", TEST_KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start omnidial");
        std::thread::sleep(Duration::from_millis(lcg.next_ms(150, 700)));
        if child.try_wait().expect("poll").is_none() {
            child.kill().expect("SIGKILL");
            killed += 1;
        }
        child.wait().expect("reap");
    }
    assert!(
        killed >= kills / 2,
        "only {killed} runs were still going when killed"
    );

    // Finish the campaign, then settle what the kills left unknown.
    let last = work.omnidial(&args);
    assert!(matches!(last.code(), 0 | 1), "{}", last.describe());
    assert_no_double_dial(&sandbox);
    let unknown = assert_placed_calls_are_recorded(&work, &sandbox);
    if faults.contains("accept-drop") {
        assert!(unknown > 0, "lost answers must leave unknown contacts");
    }
    let reconcile = work.omnidial(&[
        "reconcile",
        "out.csv",
        "--base-url",
        &base,
        "--rate",
        "unlimited",
    ]);
    reconcile.expect_code(0);
    let redial = work.omnidial(&[&args[..], &["--redial-unknown"]].concat());
    assert!(matches!(redial.code(), 0 | 1), "{}", redial.describe());

    // Faults that place a call and drop the answer leave unknowns again;
    // settle until none are left (each round dials only the not-found).
    for _ in 0..5 {
        if !outcome_rows(&work.path("out.csv"))
            .iter()
            .any(|o| o.status == "unknown")
        {
            break;
        }
        work.omnidial(&[
            "reconcile",
            "out.csv",
            "--base-url",
            &base,
            "--rate",
            "unlimited",
        ])
        .expect_code(0);
        work.omnidial(&[&args[..], &["--redial-unknown"]].concat());
    }

    assert_no_double_dial(&sandbox);
    let outcomes = outcome_rows(&work.path("out.csv"));
    assert_eq!(
        outcomes.len(),
        numbers.len(),
        "one row per contact, nobody missing"
    );
    let calls: HashMap<String, u64> = sandbox
        .calls()
        .iter()
        .map(|c| {
            (
                c["to_number"].as_str().unwrap().to_string(),
                c["request_id"].as_u64().unwrap(),
            )
        })
        .collect();
    for outcome in &outcomes {
        match outcome.status.as_str() {
            "dispatched" => assert_eq!(
                calls.get(&outcome.to_number),
                outcome.request_id.as_ref(),
                "{outcome:?}"
            ),
            "failed" => assert!(
                !calls.contains_key(&outcome.to_number),
                "failed yet placed: {outcome:?}"
            ),
            other => panic!("unsettled contact: {other} {outcome:?}"),
        }
    }
}

/// Every call the sandbox placed is in the outcome file, either dispatched
/// with its request id or `unknown`; returns how many are unknown.
fn assert_placed_calls_are_recorded(work: &Workdir, sandbox: &SandboxProc) -> usize {
    let outcomes: HashMap<String, OutcomeRow> = outcome_rows(&work.path("out.csv"))
        .into_iter()
        .map(|o| (o.to_number.clone(), o))
        .collect();
    let mut unknown = 0;
    for call in sandbox.calls() {
        let number = call["to_number"].as_str().unwrap();
        let outcome = outcomes
            .get(number)
            .unwrap_or_else(|| panic!("placed but unrecorded: {number}"));
        match outcome.status.as_str() {
            "dispatched" => assert_eq!(
                outcome.request_id,
                call["request_id"].as_u64(),
                "{outcome:?}"
            ),
            "unknown" => unknown += 1,
            other => panic!("placed but recorded {other}: {outcome:?}"),
        }
    }
    unknown
}

/// No number appears twice among the calls the sandbox placed.
fn assert_no_double_dial(sandbox: &SandboxProc) {
    let mut seen = HashSet::new();
    for call in sandbox.calls() {
        let number = call["to_number"].as_str().unwrap().to_string();
        assert!(seen.insert(number.clone()), "{number} was dialed twice");
    }
}

#[test]
fn sigkill_at_random_moments_never_dials_anyone_twice() {
    kill_and_resume("503=0.05", 20, 11);
}

#[test]
fn answers_lost_after_the_call_was_placed_are_unknown_then_reconciled() {
    kill_and_resume("503=0.05,accept-drop=0.03", 20, 23);
}
