//! A hostile API: each class of answer in the README's table, scripted in
//! the sandbox so the test is deterministic. Pauses are checked by counting
//! what the sandbox received, not by timing.

use serde_json::{Value, json};

use crate::util::*;

/// A list of `n` valid numbers, +1 201 555 0100 onwards.
fn numbers(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("+1201555{:04}", 100 + i)).collect()
}

/// Writes the list and a script, starts the sandbox, and runs omnidial.
struct Scenario {
    work: Workdir,
    sandbox: SandboxProc,
}

impl Scenario {
    /// A sandbox following `script`, and a list of `list` numbers.
    fn new(script: Value, list: &[String]) -> Scenario {
        let work = Workdir::new();
        let script = work.write("script.json", script.to_string());
        work.write("list.csv", format!("phone\n{}\n", list.join("\n")));
        let sandbox = SandboxProc::scripted(&script);
        Scenario { work, sandbox }
    }

    /// Runs omnidial on the list with extra flags.
    fn run(&self, extra: &[&str]) -> Run {
        self.work.dial(&self.sandbox, extra)
    }

    /// The outcome rows.
    fn outcomes(&self) -> Vec<OutcomeRow> {
        outcome_rows(&self.work.path("out.csv"))
    }
}

/// A script answering `sequences` per number and 200 to everyone else.
fn script(sequences: Value) -> Value {
    json!({"match_on": "to_number", "default": ok(), "sequences": sequences})
}

/// A 200 answer with the sandbox's next id.
fn ok() -> Value {
    json!({"status": 200, "body": {"success": true, "status": "dispatched", "requestId": "auto"}})
}

/// An error answer.
fn err(status: u16, message: &str) -> Value {
    json!({"status": status, "body": {"success": false, "error": message}})
}

#[test]
fn a_503_storm_is_ridden_out_and_everyone_is_dialed_exactly_once() {
    let list = numbers(6);
    let sequences: serde_json::Map<String, Value> = list
        .iter()
        .map(|n| {
            (
                n.clone(),
                json!([err(503, "busy"), err(502, "bad gateway"), ok()]),
            )
        })
        .collect();
    let scenario = Scenario::new(
        json!({"match_on": "to_number", "default": ok(), "sequences": sequences}),
        &list,
    );
    let run = scenario.run(&[
        "--concurrency",
        "3",
        "--rate",
        "unlimited",
        "--campaign",
        &campaign(
            &scenario.work,
            "initial_backoff = \"100ms\"\nmax_backoff = \"200ms\"",
        ),
    ]);
    run.expect_code(0);
    assert_eq!(scenario.sandbox.requests().len(), 18);
    let calls = scenario.sandbox.calls();
    assert_eq!(calls.len(), 6);
    for outcome in scenario.outcomes() {
        assert_eq!(
            (outcome.status.as_str(), outcome.attempts),
            ("dispatched", 3),
            "{outcome:?}"
        );
    }
}

/// Writes a campaign file with a `[retry]` table and returns its path.
fn campaign(work: &Workdir, retry: &str) -> String {
    work.write("campaign.toml", format!("[retry]\n{retry}\n"))
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn running_out_of_attempts_fails_the_contact_with_the_last_error() {
    let list = numbers(1);
    let scenario = Scenario::new(
        json!({
            "match_on": "to_number",
            "sequences": {list[0].clone(): [err(503, "down for maintenance")]},
            "repeat_last": {list[0].clone(): true},
        }),
        &list,
    );
    let run = scenario.run(&[
        "--max-attempts",
        "3",
        "--campaign",
        &campaign(&scenario.work, "initial_backoff = \"50ms\""),
    ]);
    run.expect_code(1);
    let outcome = &scenario.outcomes()[0];
    assert_eq!((outcome.status.as_str(), outcome.attempts), ("failed", 3));
    assert!(
        outcome.error.contains("down for maintenance"),
        "{outcome:?}"
    );
    assert_eq!(scenario.sandbox.requests().len(), 3);
}

/// Pins: no retry starts after `retry.max_elapsed`, even when the time left
/// is shorter than one backoff (timing-free: the backoff alone outlasts it).
#[test]
fn no_retry_starts_that_would_begin_after_max_elapsed() {
    let list = numbers(1);
    let scenario = Scenario::new(
        json!({
            "match_on": "to_number",
            "sequences": {list[0].clone(): [err(503, "busy"), ok()]},
        }),
        &list,
    );
    let retry = "initial_backoff = \"10s\"\nmax_backoff = \"20s\"\nmax_elapsed = \"1s\"";
    let run = scenario.run(&["--campaign", &campaign(&scenario.work, retry)]);
    run.expect_code(1);
    let outcome = &scenario.outcomes()[0];
    assert_eq!(
        (outcome.status.as_str(), outcome.attempts),
        ("failed", 1),
        "{outcome:?}"
    );
    assert!(outcome.error.contains("(after 1 attempt)"), "{outcome:?}");
    assert_eq!(scenario.sandbox.requests().len(), 1);
}

#[test]
fn a_rejected_key_stops_at_the_first_request_and_records_nothing_as_failed() {
    let work = Workdir::new();
    work.write("list.csv", format!("phone\n{}\n", numbers(5).join("\n")));
    let sandbox = SandboxProc::start(&["--api-key", "the-right-key-123"]);
    let run = work.dial(&sandbox, &[]);
    run.expect_code(3);
    assert!(
        run.stderr().contains("OMNIDIM_API_KEY"),
        "{}",
        run.describe()
    );
    assert!(!run.stderr().contains(TEST_KEY), "the key is never printed");
    assert_eq!(sandbox.requests().len(), 1);
    assert!(
        outcome_rows(&work.path("out.csv")).is_empty(),
        "nothing recorded: a resume dials all"
    );
}

#[test]
fn no_balance_mid_campaign_stops_and_a_resume_picks_up_the_rest() {
    let list = numbers(5);
    let scenario = Scenario::new(
        script(json!({list[2].clone(): [err(402, "insufficient balance"), ok()]})),
        &list,
    );
    let run = scenario.run(&[]);
    run.expect_code(3);
    assert!(run.stderr().contains("402"), "{}", run.describe());
    let outcomes = scenario.outcomes();
    assert_eq!(outcomes.iter().map(|o| o.row).collect::<Vec<_>>(), [1, 2]);
    assert!(outcomes.iter().all(|o| o.status == "dispatched"));

    let resumed = scenario.run(&["--resume"]);
    resumed.expect_code(0);
    let calls: Vec<String> = scenario
        .sandbox
        .calls()
        .iter()
        .map(|c| c["to_number"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        calls, list,
        "each contact placed exactly once across both runs"
    );
    assert_eq!(scenario.outcomes().len(), 5);
}

#[test]
fn an_unknown_agent_trips_the_circuit_breaker() {
    let list = numbers(30);
    let scenario = Scenario::new(
        json!({"match_on": "to_number", "default": err(404, "agent not found")}),
        &list,
    );
    let work_campaign = scenario.work.write("breaker.toml", "circuit_breaker = 5\n");
    let run = scenario.run(&["--campaign", work_campaign.to_str().unwrap()]);
    run.expect_code(3);
    assert!(
        run.stderr().contains("agent not found"),
        "{}",
        run.describe()
    );
    assert_eq!(scenario.sandbox.requests().len(), 5);
    assert_eq!(scenario.outcomes().len(), 5);
}

#[test]
fn an_unreachable_api_is_one_clear_error() {
    let work = Workdir::new();
    work.write("list.csv", format!("phone\n{}\n", numbers(3).join("\n")));
    let run = work.omnidial(&[
        "run",
        "list.csv",
        "--agent-id",
        "42",
        "--out",
        "out.csv",
        "--base-url",
        "http://127.0.0.1:9/api/v1",
        "--quiet",
    ]);
    run.expect_code(3);
    assert!(
        run.stderr().contains("http://127.0.0.1:9/api/v1"),
        "{}",
        run.describe()
    );
    assert!(
        !work.path("out.csv").exists(),
        "a failed start leaves no outcome file"
    );
}

/// Pins: an https base URL on a server that speaks plain http is one clear
/// error at the start, with a hint, not a list of failed contacts.
#[test]
fn https_to_a_plain_http_server_is_one_clear_error() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write("list.csv", format!("phone\n{}\n", numbers(3).join("\n")));
    let base = sandbox.base_url().replace("http://", "https://");
    let run = work.omnidial(&[
        "run",
        "list.csv",
        "--agent-id",
        "42",
        "--out",
        "out.csv",
        "--base-url",
        &base,
        "--quiet",
    ]);
    run.expect_code(3);
    let stderr = run.stderr();
    assert!(
        stderr.contains("cannot reach the API") && stderr.contains("http://"),
        "{stderr}"
    );
    assert!(!work.path("out.csv").exists());
    assert!(sandbox.requests().is_empty());
}

#[test]
fn a_429_pauses_the_whole_pool() {
    let list = numbers(40);
    let scenario = Scenario::new(
        script(json!({list[5].clone(): [
            {"status": 429, "headers": {"Retry-After": "2"}, "body": {"error": "slow down"}},
            ok(),
        ]})),
        &list,
    );
    let concurrency = 4;
    scenario
        .run(&["--concurrency", &concurrency.to_string(), "--rate", "50"])
        .expect_code(0);
    let requests = scenario.sandbox.requests();
    let throttled = requests.iter().find(|r| r["status"] == 429).expect("a 429");
    let at = throttled["received_unix_ms"].as_f64().unwrap();
    let during = requests
        .iter()
        .filter(|r| {
            let t = r["received_unix_ms"].as_f64().unwrap();
            t > at && t < at + 2000.0
        })
        .count();
    // Only requests already on their way when the 429 came back may land.
    assert!(during < concurrency, "{during} requests during the pause");
    assert_eq!(scenario.sandbox.calls().len(), 40);
}

#[test]
fn answers_that_may_have_placed_a_call_are_unknown_and_not_retried() {
    let list = numbers(4);
    let scenario = Scenario::new(
        json!({"match_on": "to_number", "default": ok(), "sequences": {
            list[0].clone(): [{"status": 500, "record_dispatch": true, "body": {"error": "oops"}}],
            list[1].clone(): [{"status": 200, "record_dispatch": true, "raw_body": "not json"}],
            list[2].clone(): [{"action": "drop", "record_dispatch": true}],
        }}),
        &list,
    );
    scenario.run(&[]).expect_code(1);
    let outcomes = scenario.outcomes();
    for row in 1..=3 {
        assert_eq!(outcome_of(&outcomes, row).status, "unknown", "row {row}");
    }
    assert_eq!(outcome_of(&outcomes, 4).status, "dispatched");
    assert_eq!(scenario.sandbox.requests().len(), 4, "no retries");
}

/// Pins: with `--retry-ambiguous`, once an attempt may have placed the
/// call, the contact ends dispatched or unknown: never failed (which
/// `--retry-failed` dials again) nor released (which any resume dials).
#[test]
fn after_an_ambiguous_attempt_a_contact_is_never_failed_or_released() {
    let list = numbers(3);
    let placed = || json!({"status": 500, "record_dispatch": true, "body": {"error": "oops"}});
    let scenario = Scenario::new(
        script(json!({
            // Attempts run out on 503s after the first may have placed it.
            list[0].clone(): [placed(), err(503, "busy"), err(503, "busy")],
            // A refusal after it.
            list[1].clone(): [placed(), err(400, "bad number")],
            // The campaign stops (a rejected key) before the next attempt.
            list[2].clone(): [placed(), err(401, "bad key")],
        })),
        &list,
    );
    let retry = campaign(
        &scenario.work,
        "initial_backoff = \"10ms\"\nmax_backoff = \"20ms\"\nmax_attempts = 3",
    );
    let flags = [
        "--campaign",
        &retry,
        "--concurrency",
        "1",
        "--retry-ambiguous",
    ];
    scenario.run(&flags).expect_code(3);
    let outcomes = scenario.outcomes();
    for row in 1..=3 {
        let outcome = outcome_of(&outcomes, row);
        assert_eq!(outcome.status, "unknown", "{outcome:?}");
        assert!(
            outcome.error.contains("may have placed the call"),
            "{outcome:?}"
        );
    }
    assert_eq!(scenario.sandbox.calls().len(), 3);

    // Neither a plain resume nor --retry-failed dials them again.
    let requests = scenario.sandbox.requests().len();
    scenario
        .run(&[&flags[..4], &["--resume", "--retry-failed"]].concat())
        .expect_code(1);
    assert_eq!(scenario.sandbox.requests().len(), requests);
    assert_eq!(scenario.sandbox.calls().len(), 3);
}

/// Pins: a streak of answers that may each have placed a call trips the
/// circuit breaker as a streak of refusals does, whatever their text: here
/// 500s with a request id of their own, 504s and dropped answers in turn.
#[test]
fn a_streak_of_unclear_answers_trips_the_circuit_breaker() {
    let list = numbers(30);
    let sequences: serde_json::Map<String, Value> = list
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let answer = match i % 3 {
                0 => json!({"status": 500, "record_dispatch": true,
                    "body": {"error": format!("internal error, trace {i}")}}),
                1 => json!({"status": 504, "record_dispatch": true, "raw_body": "gateway timeout"}),
                _ => json!({"action": "drop", "record_dispatch": true}),
            };
            (n.clone(), json!([answer]))
        })
        .collect();
    let scenario = Scenario::new(script(Value::Object(sequences)), &list);
    let run = scenario.run(&["--concurrency", "1", "--circuit-breaker", "5"]);
    run.expect_code(3);
    assert!(
        run.stderr().contains("unclear answer"),
        "{}",
        run.describe()
    );
    assert_eq!(scenario.sandbox.requests().len(), 5);
    let unknown = scenario
        .outcomes()
        .iter()
        .filter(|o| o.status == "unknown")
        .count();
    assert_eq!(unknown, 5);
}
