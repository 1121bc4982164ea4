//! Campaign controls end to end: suppression lists and the do-not-call
//! column, caller-number rotation and pacing, calling hours and redials.
//! What reaches the API is read from the sandbox's record, as counts and
//! order, never as speed.

use crate::util::*;

/// A list of `n` valid numbers, +1 201 555 0100 onwards, with a name each.
fn numbers(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("+1201555{:04}", 100 + i)).collect()
}

/// Runs omnidial on `list.csv` in `work` against `sandbox`, with extras.
fn run(work: &Workdir, sandbox: &SandboxProc, extra: &[&str]) -> Run {
    work.dial(sandbox, &[&["--rate", "unlimited"], extra].concat())
}

/// The numbers the sandbox saw placed, in order.
fn called(sandbox: &SandboxProc) -> Vec<String> {
    sandbox
        .calls()
        .iter()
        .map(|c| c["to_number"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn suppressed_numbers_from_files_and_the_column_are_skipped_never_dialed() {
    let list = numbers(5);
    let work = Workdir::new();
    work.write(
        "list.csv",
        format!(
            "phone,name,do_not_call\n{},Ada,\n{},Bob,no\n{},Cy,\n{},Di,YES\n{},Ed,\n",
            list[0], list[1], list[2], list[3], list[4]
        ),
    );
    std::fs::create_dir(work.path("lists")).unwrap();
    // The campaign's file is found beside it; the flag's from the cwd.
    work.write("lists/dnc.csv", "name,phone\nAda,(201) 555-0100\n");
    work.write(
        "lists/june.toml",
        "suppress = [\"dnc.csv\"]\ndefault_region = \"US\"\n",
    );
    work.write("optouts.txt", "# opted out by phone\n201.555.0102\nn/a\n");
    let sandbox = SandboxProc::start(&[]);

    // An entry that is not a number fails closed: nobody is called until
    // the do-not-call list reads cleanly.
    let flags = ["--campaign", "lists/june.toml", "--suppress", "optouts.txt"];
    let refused = run(&work, &sandbox, &flags);
    refused.expect_code(2);
    assert!(
        refused.stderr().contains("optouts.txt:3: \"n/a\""),
        "a bad entry is named with file and line\n{}",
        refused.describe()
    );
    assert!(sandbox.requests().is_empty());

    work.write("optouts.txt", "# opted out by phone\n201.555.0102\n");
    run(&work, &sandbox, &flags).expect_code(0);

    assert_eq!(called(&sandbox), [list[1].clone(), list[4].clone()]);
    let outcomes = outcome_rows(&work.path("out.csv"));
    let skipped = |row| {
        let o = outcome_of(&outcomes, row);
        assert_eq!(o.status, "skipped", "{o:?}");
        o.error.clone()
    };
    assert_eq!(skipped(1), "suppressed (dnc.csv)");
    assert_eq!(skipped(3), "suppressed (optouts.txt)");
    assert_eq!(skipped(4), "suppressed (do_not_call column)");
    for call in sandbox.calls() {
        let context = call["call_context"].as_object().unwrap();
        assert!(!context.contains_key("do_not_call"), "{call}");
        assert!(context.contains_key("name"), "{call}");
    }
}

#[test]
fn a_missing_suppression_file_stops_the_campaign_before_any_call() {
    let work = Workdir::new();
    work.write("list.csv", format!("phone\n{}\n", numbers(3).join("\n")));
    work.write("june.toml", "suppress = [\"dnc.csv\"]\n");
    let sandbox = SandboxProc::start(&[]);

    let result = run(&work, &sandbox, &["--campaign", "june.toml"]);
    result.expect_code(2);
    assert!(
        result.stderr().contains("dnc.csv"),
        "the error names the file\n{}",
        result.describe()
    );
    assert!(sandbox.requests().is_empty(), "no request reached the API");
    assert!(
        !work.path("out.csv").exists(),
        "no outcome file was started"
    );

    let checked = work.omnidial(&["validate", "list.csv", "--suppress", "gone.txt"]);
    checked.expect_code(2);
}

/// The `from_number_id` of each call the sandbox placed, in order.
fn caller_ids(sandbox: &SandboxProc) -> Vec<Option<u64>> {
    sandbox
        .calls()
        .iter()
        .map(|c| c["from_number_id"].as_u64())
        .collect()
}

#[test]
fn caller_numbers_rotate_and_a_row_may_name_its_own_number_and_agent() {
    let list = numbers(7);
    let work = Workdir::new();
    let mut csv = String::from("phone,from_number_id,agent_id,name\n");
    for (i, number) in list.iter().enumerate() {
        let (from, agent) = match i {
            2 => ("99", ""),
            4 => ("", "7"),
            6 => ("twenty", ""),
            _ => ("", ""),
        };
        csv += &format!("{number},{from},{agent},n{i}\n");
    }
    work.write("list.csv", csv);
    let sandbox = SandboxProc::start(&[]);

    let result = run(&work, &sandbox, &["--from-number-ids", "23,24,25"]);
    result.expect_code(1); // row 7 names no usable caller number

    let some = |ids: &[u64]| ids.iter().map(|&id| Some(id)).collect::<Vec<_>>();
    assert_eq!(caller_ids(&sandbox), some(&[23, 24, 99, 25, 23, 24]));
    let agents: Vec<u64> = sandbox
        .calls()
        .iter()
        .map(|c| c["agent_id"].as_u64().unwrap())
        .collect();
    assert_eq!(agents, [42, 42, 42, 42, 7, 42]);
    for call in sandbox.calls() {
        let context = call["call_context"].as_object().unwrap();
        assert_eq!(context.keys().collect::<Vec<_>>(), ["name"], "{call}");
    }

    let outcomes = outcome_rows(&work.path("out.csv"));
    assert_eq!(outcome_of(&outcomes, 3).from_number_id, Some(99));
    assert_eq!(outcome_of(&outcomes, 4).from_number_id, Some(25));
    assert_eq!(outcome_of(&outcomes, 1).calls, 1);
    let bad = outcome_of(&outcomes, 7);
    assert_eq!(bad.status, "invalid");
    assert!(bad.error.starts_with("from_number_id:"), "{bad:?}");
}

#[test]
fn each_caller_number_keeps_its_own_pace() {
    let work = Workdir::new();
    work.write("list.csv", format!("phone\n{}\n", numbers(6).join("\n")));
    let sandbox = SandboxProc::start(&[]);

    let result = run(
        &work,
        &sandbox,
        &[
            "--from-number-ids",
            "23,24",
            "--per-number-rate",
            "2",
            "--concurrency",
            "4",
        ],
    );
    result.expect_code(0);

    let calls = sandbox.calls();
    assert_eq!(calls.len(), 6);
    for id in [23, 24] {
        let mut at: Vec<f64> = calls
            .iter()
            .filter(|c| c["from_number_id"] == id)
            .map(|c| c["received_unix_ms"].as_f64().unwrap())
            .collect();
        at.sort_by(f64::total_cmp);
        assert_eq!(at.len(), 3, "number {id}");
        // Two gaps of at least half a second each, less a little for the
        // clocks of two processes: a lower bound, never a speed.
        assert!(at[2] - at[0] >= 900.0, "number {id}: {at:?}");
    }
}

/// An `Etc/GMT` zone whose local hour is `local` right now. The hour is
/// read once; the windows tested have hours of slack either side, so the
/// answer does not depend on when the test runs or how fast.
fn zone_at_local_hour(local: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let utc_hour = (now / 3600) % 24;
    let mut offset = (local - utc_hour).rem_euclid(24);
    if offset > 14 {
        offset -= 24;
    }
    // POSIX zone names count the other way: Etc/GMT-5 is five hours ahead.
    match offset {
        0 => "Etc/GMT".into(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

#[test]
fn contacts_outside_their_hours_are_left_for_a_resume() {
    let list = numbers(5);
    let (open, closed) = (zone_at_local_hour(12), zone_at_local_hour(0));
    let work = Workdir::new();
    work.write(
        "list.csv",
        format!(
            "phone,tz\n{},{open}\n{},{closed}\n{},{open}\n{},\n{},Mars/Olympus\n",
            list[0], list[1], list[2], list[3], list[4]
        ),
    );
    let sandbox = SandboxProc::start(&[]);
    let hours = [
        "--hours-windows",
        "09:00-17:00",
        "--timezone-column",
        "tz",
        "--until-window-closes",
    ];

    let result = run(&work, &sandbox, &hours);
    result.expect_code(3);
    assert!(
        result.stderr().contains("--resume"),
        "the message says how to go on\n{}",
        result.describe()
    );
    assert_eq!(called(&sandbox), [list[0].clone(), list[2].clone()]);
    let outcomes = outcome_rows(&work.path("out.csv"));
    assert!(
        outcomes.iter().all(|o| o.row != 2),
        "row 2 stays unrecorded"
    );
    assert!(outcome_of(&outcomes, 4).error.contains("no time zone"));
    assert!(outcome_of(&outcomes, 5).error.contains("Mars/Olympus"));
    for call in sandbox.calls() {
        assert!(call["call_context"].get("tz").is_none(), "{call}");
    }

    let report = work.omnidial(&[
        "validate",
        "list.csv",
        "--out",
        "out.csv",
        "--hours-windows",
        "09:00-17:00",
        "--timezone-column",
        "tz",
        "--format",
        "json",
    ]);
    report.expect_code(1);
    let json: serde_json::Value = serde_json::from_str(&report.stdout()).unwrap();
    assert_eq!(json["held_back"]["outside_hours"], 1, "{json}");
    assert!(
        json["held_back"]["first_window_opens"].is_string(),
        "{json}"
    );
}

#[test]
fn a_resume_redials_only_eligible_due_uncapped_contacts_and_keeps_their_history() {
    let list = numbers(5);
    let work = Workdir::new();
    work.write("list.csv", format!("phone\n{}\n", list.join("\n")));
    let now = jiff::Timestamp::now();
    let day_ago = now - jiff::SignedDuration::from_hours(24);
    // An outcome file as `omnidial reconcile` leaves it.
    let mut out = String::from(
        "request_id,row,to_number,status,attempts,http_status,error,finished_at,\
         from_number_id,calls,earlier_calls,call_status,call_duration_s,call_cost,call_log_id\n",
    );
    for (row, (calls, at, status)) in [
        (1, day_ago, "no-answer"),
        (1, day_ago, "completed"),
        (1, now, "busy"),
        (3, day_ago, "no-answer"),
    ]
    .iter()
    .enumerate()
    {
        out += &format!(
            "{},{},{},dispatched,1,200,,{at},,{calls},,{status},0,0,{}\n",
            101 + row,
            row + 1,
            list[row],
            row
        );
    }
    work.write("out.csv", out);
    let sandbox = SandboxProc::start(&[]);
    let redial = [
        "--resume",
        "--redial",
        "no-answer,busy",
        "--redial-after",
        "2h",
        "--max-calls",
        "3",
    ];

    let report = work.omnidial(&[
        "validate",
        "list.csv",
        "--out",
        "out.csv",
        "--redial",
        "no-answer,busy",
        "--redial-after",
        "2h",
        "--max-calls",
        "3",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&report.stdout()).unwrap();
    assert_eq!(json["held_back"]["redial_not_due"], 1, "{json}");
    assert_eq!(json["held_back"]["capped"], 1, "{json}");

    run(&work, &sandbox, &redial).expect_code(0);
    assert_eq!(called(&sandbox), [list[0].clone(), list[4].clone()]);

    let mut rdr = csv::Reader::from_path(work.path("out.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let of = |row: &str| rows.iter().find(|r| &r[1] == row).unwrap().clone();
    let first = of("1");
    assert_eq!(&first[3], "dispatched");
    assert_eq!(&first[9], "2", "the redial is the second call");
    assert!(first[10].starts_with("101@"), "{first:?}");
    assert_eq!(&first[11], "", "the new call is not reconciled yet");
    assert_eq!(&of("2")[0], "102", "a completed call is left alone");
    assert_eq!(&of("5")[9], "1");

    // Without --resume the existing campaign is refused before any call.
    run(&work, &sandbox, &["--redial", "busy"]).expect_code(2);
    assert_eq!(sandbox.calls().len(), 2);
}

/// Pins: with repeated rows allowed, `max_calls_per_number_per_day` caps
/// the calls to one number within a run and across runs of the same day.
/// The days are UTC days here; a try that spans midnight is run again.
#[test]
fn the_daily_cap_holds_for_repeated_rows_across_runs() {
    let utc_day = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 86_400
    };
    for _ in 0..2 {
        let day = utc_day();
        let (first_calls, third, second_calls) = daily_cap_runs();
        if utc_day() != day {
            continue;
        }
        assert_eq!(first_calls, 2);
        assert_eq!(third.status, "skipped");
        assert!(
            third.error.contains("max_calls_per_number_per_day"),
            "{third:?}"
        );
        assert_eq!(second_calls, 2, "the day's two calls are spent");
        return;
    }
    panic!("two tries in a row spanned midnight");
}

/// Runs a list of three rows of one number with a cap of two a day, then
/// resumes it with a fourth: the calls after each run, and the third row.
fn daily_cap_runs() -> (usize, OutcomeRow, usize) {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write(
        "list.csv",
        "phone,n\n+12015550101,1\n+12015550101,2\n+12015550101,3\n",
    );
    let cap = ["--allow-duplicates", "--max-calls-per-number-per-day", "2"];
    work.dial(&sandbox, &cap).expect_code(0);
    let first_calls = sandbox.calls().len();
    let outcomes = outcome_rows(&work.path("out.csv"));
    let third = outcome_of(&outcomes, 3).clone();

    work.write(
        "list.csv",
        "phone,n\n+12015550101,1\n+12015550101,2\n+12015550101,3\n+12015550101,4\n",
    );
    work.dial(&sandbox, &[&cap[..], &["--resume"]].concat())
        .expect_code(0);
    (first_calls, third, sandbox.calls().len())
}
