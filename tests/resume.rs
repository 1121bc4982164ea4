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

#[test]
fn resume_without_an_outcome_file_simply_starts() {
    let sandbox = SandboxProc::start(&[]);
    let work = Workdir::new();
    work.write("list.csv", "phone\n+12015550101\n");
    let base = sandbox.base_url();
    work.omnidial(&[
        "run",
        "list.csv",
        "--agent-id",
        "42",
        "--base-url",
        &base,
        "--resume",
        "--quiet",
    ])
    .expect_code(0);
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
