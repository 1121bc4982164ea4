//! Resuming a campaign whose list changed between runs: contacts are known
//! by their number, so re-sorting, adding and removing rows dials only the
//! new contacts.

use crate::util::*;

#[test]
fn a_resorted_and_edited_list_dials_only_new_contacts() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    let run = |resume: bool| work.dial(&sandbox, if resume { &["--resume"] } else { &[] });

    work.write(
        "list.csv",
        "phone,name\n+12015550101,Ann\n+12015550102,Bob\n+12015550103,Cy\n",
    );
    run(false).expect_code(0);

    // Re-sorted, one removed, one written differently, two added.
    work.write(
        "list.csv",
        "phone,name\n+61 491 570 104,Dee\n+1 (201) 555-0103,Cy\n+12015550101,Ann\n\
         +442079460105,Eve\n",
    );
    run(true).expect_code(0);

    let dialed: Vec<String> = sandbox
        .calls()
        .iter()
        .map(|c| c["to_number"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        dialed,
        [
            "+12015550101",
            "+12015550102",
            "+12015550103",
            "+61491570104",
            "+442079460105"
        ]
    );
    let outcomes = outcome_rows(&work.path("out.csv"));
    assert_eq!(outcomes.len(), 5, "{outcomes:#?}");
    assert!(outcomes.iter().all(|o| o.status == "dispatched"));
}

/// Scripts use `--resume` as "start or resume", so it still starts; but a
/// mistyped `--out` would dial the list again, so it says so, naming the
/// path, once.
#[test]
fn resume_without_an_outcome_file_starts_with_a_warning() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write("list.csv", "phone\n+12015550101\n");
    let base = sandbox.base_url();
    let args = [
        "run",
        "list.csv",
        "--agent-id",
        "42",
        "--base-url",
        &base,
        "--resume",
        "--quiet",
    ];
    let first = work.omnidial(&args);
    first.expect_code(0);
    assert_eq!(sandbox.calls().len(), 1);
    let warning = "no outcome file at list.outcome.csv: starting a new campaign";
    assert_eq!(
        first.stderr().matches(warning).count(),
        1,
        "{}",
        first.describe()
    );

    let second = work.omnidial(&args);
    second.expect_code(0);
    assert!(
        !second.stderr().contains("no outcome file"),
        "{}",
        second.describe()
    );
    assert_eq!(sandbox.calls().len(), 1);
}

#[test]
fn failed_contacts_are_retried_only_when_asked() {
    let work = Workdir::new();
    let script = work.write(
        "script.json",
        r#"{
            "match_on": "to_number",
            "default": {"status": 200, "body": {"success": true, "requestId": "auto"}},
            "sequences": {"+12015550102": [
                {"status": 422, "body": {"error": "number blocked"}},
                {"status": 200, "body": {"success": true, "requestId": "auto"}}
            ]}
        }"#,
    );
    let sandbox = SandboxProc::scripted(&script);
    work.write("list.csv", "phone\n+12015550101\n+12015550102\n");
    work.dial(&sandbox, &[]).expect_code(1);
    work.dial(&sandbox, &["--resume"]).expect_code(1);
    assert_eq!(
        sandbox.requests().len(),
        2,
        "a plain resume leaves the failure alone"
    );

    work.dial(&sandbox, &["--resume", "--retry-failed"])
        .expect_code(0);
    assert_eq!(sandbox.calls().len(), 2);
    let outcomes = outcome_rows(&work.path("out.csv"));
    assert!(
        outcomes.iter().all(|o| o.status == "dispatched"),
        "{outcomes:#?}"
    );
}
