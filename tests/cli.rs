//! The toolbox around a campaign: `report`, `config`, help and examples,
//! completions, the man page, `--version` and JSON logs. Each test pins one
//! contract a person or a script relies on.

use std::path::Path;

use clap::CommandFactory;
use omnidial::cli::Cli;
use serde_json::Value;

use crate::util::*;

/// The fixture list.
fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/contacts.csv")
}

/// Every subcommand, and the program itself first.
fn every_command() -> Vec<clap::Command> {
    let mut top = Cli::command();
    top.build();
    let mut all = vec![top.clone()];
    all.extend(
        top.get_subcommands()
            .filter(|c| c.get_name() != "help")
            .cloned(),
    );
    all
}

/// A JSON document from a run's stdout.
fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", run.describe()))
}

/// Pins: every flag's short help, and each command's one-line summary, fit
/// one line of an 80-column terminal. With help forced onto its own line,
/// a render at 80 columns has as many lines as one at 10 000 only if
/// nothing wrapped. The after-help (examples, exit codes) is left out: it
/// is laid out by hand.
#[test]
fn short_help_fits_one_80_column_line() {
    for cmd in every_command() {
        let name = cmd.get_name().to_string();
        let render = |width: usize| {
            let mut cmd = cmd.clone().next_line_help(true).term_width(width);
            cmd = cmd.after_help(None::<&str>);
            cmd.render_help().to_string()
        };
        let (narrow, wide) = (render(80), render(10_000));
        assert_eq!(
            narrow.lines().count(),
            wide.lines().count(),
            "`{name} -h` wraps at 80 columns:\n{narrow}"
        );
        for line in narrow.lines() {
            assert!(line.chars().count() <= 80, "`{name} -h`: {line:?}");
        }
    }
}

/// Pins: `--help` on every command shows real examples of that command.
#[test]
fn every_command_shows_examples() {
    for cmd in every_command().into_iter().skip(1) {
        let name = cmd.get_name().to_string();
        let help = cmd.clone().render_long_help().to_string();
        let example = format!("omnidial {name} ");
        assert!(
            help.contains("Examples:") && help.contains(&example),
            "`{name} --help` has no example:\n{help}"
        );
    }
}

/// Pins: the long help of every campaign setting says its default (or that
/// it has none) and the exit codes and environment variables are listed.
#[test]
fn long_help_explains_every_setting_and_the_environment() {
    let mut top = Cli::command();
    top.build();
    let run = top.find_subcommand("run").unwrap();
    let names = omnidial::cmd::config::setting_names().unwrap();
    for key in &names {
        let id = omnidial::cmd::config::flag_id(key);
        let arg = run
            .get_arguments()
            .find(|a| a.get_id() == id.as_str())
            .unwrap();
        let help = format!(
            "{} {}",
            arg.get_help().map(|h| h.to_string()).unwrap_or_default(),
            arg.get_long_help()
                .map(|h| h.to_string())
                .unwrap_or_default()
        );
        assert!(
            help.to_lowercase().contains("default"),
            "--{} says nothing of its default: {help}",
            id.replace('_', "-")
        );
    }
    let help = top.render_long_help().to_string();
    for needle in [
        "130",
        "OMNIDIM_API_KEY",
        "OMNIDIM_AGENT_ID",
        "OMNIDIM_BASE_URL",
        "NO_COLOR",
    ] {
        assert!(help.contains(needle), "`omnidial --help` lacks {needle}");
    }
}

/// Pins: `--version` names the program's version and the libphonenumber
/// metadata it carries.
#[test]
fn version_names_the_phone_metadata() {
    let run = Workdir::new().omnidial(&["--version"]);
    run.expect_code(0);
    let expected = format!(
        "omnidial {} (libphonenumber metadata 9.0.33)\n",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(run.stdout(), expected);
}

/// Pins: completions for each shell name the subcommands and new flags.
#[test]
fn completions_cover_every_command() {
    let work = Workdir::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = work.omnidial(&["completions", shell]);
        run.expect_code(0);
        let script = run.stdout();
        for needle in ["report", "reconcile", "circuit-breaker", "log-format"] {
            assert!(script.contains(needle), "{shell} completions lack {needle}");
        }
    }
    work.omnidial(&["completions", "tcsh"]).expect_code(2);
}

/// Pins: the man page is roff with the options, exit status and
/// environment sections; a subcommand has a page of its own.
#[test]
fn man_page_has_exit_status_and_environment() {
    let work = Workdir::new();
    let run = work.omnidial(&["man"]);
    run.expect_code(0);
    let page = run.stdout();
    assert!(page.starts_with(".ie"), "{}", &page[..80.min(page.len())]);
    for needle in [
        ".TH omnidial 1",
        ".SH \"EXIT STATUS\"",
        "\\fB130\\fR",
        ".SH \"ENVIRONMENT\"",
        "\\fBOMNIDIM_BASE_URL\\fR",
        "\\-\\-log\\-format",
    ] {
        assert!(page.contains(needle), "man page lacks {needle}:\n{page}");
    }

    let page = work.omnidial(&["man", "run"]).expect_code(0).stdout();
    assert!(page.contains(".TH omnidial-run 1"), "{page}");
    assert!(page.contains("\\-\\-circuit\\-breaker"), "{page}");
    let run = work.omnidial(&["man", "dial"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("no command \"dial\""),
        "{}",
        run.stderr()
    );
}

/// Pins: `--log-format json` writes each log event as one JSON object on
/// stderr; text logs off a terminal carry no colour codes.
#[test]
fn log_lines_are_json_when_asked_and_never_coloured_off_a_terminal() {
    let work = Workdir::new();
    let list = work.copy(&fixture(), "contacts.csv");
    let list = list.to_str().unwrap();
    let args = [
        "run",
        list,
        "--sandbox",
        "--agent-id",
        "42",
        "--rate",
        "unlimited",
        "--quiet",
    ];

    let json_args: Vec<&str> = ["--log-format", "json"].into_iter().chain(args).collect();
    let run = work.omnidial(&json_args);
    run.expect_code(1);
    let events: Vec<Value> = run
        .stderr()
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).expect("a JSON log line"))
        .collect();
    let starting = events
        .iter()
        .find(|e| e["fields"]["message"] == "campaign starting")
        .unwrap_or_else(|| panic!("no JSON start event\n{}", run.describe()));
    assert_eq!(starting["level"], "INFO");
    let summary = events
        .iter()
        .find(|e| e.get("summary").is_some())
        .unwrap_or_else(|| panic!("no JSON summary\n{}", run.describe()));
    assert!(summary["summary"]["counts"]["dispatched"].as_u64() > Some(200));

    let run = work.omnidial(&[&args[..], &["--fresh"]].concat());
    run.expect_code(1);
    assert!(
        run.stderr().contains("campaign starting"),
        "{}",
        run.describe()
    );
    assert!(!run.stderr().contains('\u{1b}'), "{}", run.describe());
}

/// Pins: `report` on a real campaign, before and after a reconcile,
/// agrees with the outcome file row by row, in text and in JSON.
#[test]
fn report_summarizes_a_campaign_and_its_reconciled_calls() {
    let sandbox = SandboxProc::start(&["--seed", "3"]);
    let work = Workdir::new();
    let list = work.copy(&fixture(), "contacts.csv");
    let base = sandbox.base_url();
    let run = work.omnidial(&[
        "run",
        list.to_str().unwrap(),
        "--agent-id",
        "42",
        "--base-url",
        &base,
        "--rate",
        "unlimited",
        "--quiet",
    ]);
    run.expect_code(1);
    let out = work.path("contacts.outcome.csv");
    let rows = outcome_rows(&out);
    let count = |status: &str| rows.iter().filter(|r| r.status == status).count() as u64;

    let report = json_of(
        work.omnidial(&["report", out.to_str().unwrap(), "--format", "json"])
            .expect_code(0),
    );
    assert_eq!(report["contacts"], rows.len() as u64);
    for status in ["dispatched", "failed", "invalid", "skipped", "unknown"] {
        assert_eq!(report["by_status"][status], count(status), "{status}");
    }
    assert!(report["calls"].is_null(), "not reconciled yet: {report}");

    work.omnidial(&["reconcile", out.to_str().unwrap(), "--base-url", &base])
        .expect_code(0);
    let report = json_of(
        work.omnidial(&["report", out.to_str().unwrap(), "--format", "json"])
            .expect_code(0),
    );
    let calls = &report["calls"];
    let with_result: u64 = ["completed", "busy", "no_answer", "failed", "other"]
        .iter()
        .map(|k| calls[k].as_u64().unwrap())
        .sum();
    assert_eq!(
        with_result + calls["no_result"].as_u64().unwrap(),
        count("dispatched")
    );
    assert_eq!(with_result, sandbox.calls().len() as u64, "{report}");
    let rate = calls["answer_rate"].as_f64().unwrap();
    let completed = calls["completed"].as_f64().unwrap();
    assert!((rate - completed / with_result as f64).abs() < 1e-9);

    let text = work
        .omnidial(&["report", out.to_str().unwrap()])
        .expect_code(0)
        .stdout();
    let line = format!("  dispatched      {:>10}", count("dispatched"));
    assert!(text.contains(&line), "{text}");
    assert!(
        text.contains("calls (from reconcile)") && text.contains("answer rate"),
        "{text}"
    );
}

/// Pins: a running campaign's log (intents, results, a hand-back and a
/// half-written last line) is reported, with unknown rows to reconcile.
#[test]
fn report_reads_a_log_still_being_written() {
    let work = Workdir::new();
    let out = work.write(
        "live.outcome.csv",
        "request_id,row,to_number,status,attempts,http_status,error,finished_at\n\
         ,1,+12015550101,sending,0,,,2026-01-05T10:00:00Z\n\
         7,1,+12015550101,dispatched,1,200,,2026-01-05T10:00:01Z\n\
         ,2,+12015550102,sending,0,,,2026-01-05T10:00:01Z\n\
         ,3,+12015550103,failed,1,400,invalid agent,2026-01-05T10:00:02Z\n\
         ,4,+12015550104,sending,0,,,2026-01-05T10:00:02Z\n\
         ,4,+12015550104,released,0,,,2026-01-05T10:00:03Z\n\
         ,5,+12015550105,unknown,1,504,gateway timeout,2026-01-05T10:00:03Z\n\
         ,6,+120155501",
    );
    let run = work.omnidial(&["report", out.to_str().unwrap(), "--format", "json"]);
    let report = json_of(run.expect_code(0));
    assert_eq!(report["partial_last_line"], true);
    assert_eq!(report["by_status"]["dispatched"], 1);
    assert_eq!(report["by_status"]["failed"], 1);
    assert_eq!(report["by_status"]["unknown"], 2);
    assert_eq!(report["by_status"]["pending"], 1);
    assert_eq!(report["unknown"]["first_rows"], serde_json::json!([2, 5]));
    assert_eq!(report["failures"]["top"][0]["reason"], "invalid agent");

    let text = work
        .omnidial(&["report", out.to_str().unwrap()])
        .expect_code(0)
        .stdout();
    assert!(
        text.contains("unknown: 2 contacts may have been called (rows 2, 5)"),
        "{text}"
    );
    assert!(text.contains("omnidial reconcile"), "{text}");
    assert!(text.contains("not yet dialed"), "{text}");

    let missing = work.omnidial(&["report", "nowhere.csv"]);
    missing.expect_code(2);
    assert!(
        missing.stderr().contains("nowhere.csv"),
        "{}",
        missing.stderr()
    );
}

/// Pins: `config` says where each setting came from, in the order flag,
/// environment, campaign file, default, and never shows the key.
#[test]
fn config_names_the_source_of_every_setting() {
    let work = Workdir::new();
    let list = work.copy(&fixture(), "contacts.csv");
    let campaign = work.write(
        "june.toml",
        "agent_id = 1\nrate = \"30/min\"\nfrom_number_id = 5\n[retry]\nmax_backoff = \"1min\"\n",
    );
    let args = [
        "config",
        list.to_str().unwrap(),
        "--campaign",
        campaign.to_str().unwrap(),
        "--agent-id",
        "42",
        "--circuit-breaker",
        "3",
        "--format",
        "json",
    ];
    let env = [
        ("OMNIDIM_AGENT_ID", "7"),
        ("OMNIDIM_BASE_URL", "http://127.0.0.1:9/api/v1"),
    ];
    let run = work.omnidial_env(&args, &env);
    let config = json_of(run.expect_code(0));
    let setting = |key: &str| &config["settings"][key];
    let expect = |key: &str, value: Value, source: &str| {
        assert_eq!(setting(key)["value"], value, "{key}: {config}");
        assert_eq!(setting(key)["source"], source, "{key}: {config}");
    };
    expect("agent_id", 42.into(), "flag");
    expect(
        "base_url",
        "http://127.0.0.1:9/api/v1".into(),
        "environment",
    );
    expect("rate", "30/min".into(), "campaign_file");
    expect("from_number_id", 5.into(), "campaign_file");
    expect("retry.max_backoff", "1min".into(), "campaign_file");
    expect("circuit_breaker", 3.into(), "flag");
    expect("concurrency", 1.into(), "default");
    expect("retry.max_attempts", 5.into(), "default");
    assert_eq!(setting("agent_id")["env"], "OMNIDIM_AGENT_ID");
    assert_eq!(setting("retry.max_backoff")["flag"], "--max-backoff");
    assert_eq!(config["api_key"]["found"], true);
    assert_eq!(config["api_key"]["from"], "$OMNIDIM_API_KEY");
    assert!(!run.stdout().contains(TEST_KEY) && !run.stderr().contains(TEST_KEY));

    // Without the flag, the environment beats the campaign file.
    let run = work.omnidial_env(&[&args[..4], &args[8..]].concat(), &env);
    let config = json_of(run.expect_code(0));
    assert_eq!(config["settings"]["agent_id"]["value"], 7);
    assert_eq!(config["settings"]["agent_id"]["source"], "environment");

    // The table says what an unset setting means, one column per field
    // even for the longest name.
    let run = work.omnidial_env(&args[..8], &env);
    let text = run.expect_code(0).stdout();
    let line = |key: &str| setting_line(&text, key);
    assert!(line("redial").contains("(none: no redials)"), "{text}");
    assert!(
        line("redial_after").contains("1h (when redialing)"),
        "{text}"
    );
    assert!(line("max_calls").contains("1, or 2 with redial"), "{text}");
    let longest = line("max_calls_per_number_per_day");
    assert!(longest.contains("day  (no limit)"), "{longest}");
    let value_column = |l: &str| l.find("default").unwrap();
    assert_eq!(
        value_column(&longest),
        value_column(&line("redial")),
        "{text}"
    );

    // With --sandbox no base URL applies; a long value keeps its column.
    let long = "/a/very/long/path/that/goes/on/and/on/and/on/dnc.csv";
    let run = work.omnidial_env(
        &[
            "config",
            list.to_str().unwrap(),
            "--sandbox",
            "--suppress",
            long,
        ],
        &env,
    );
    let text = run.expect_code(0).stdout();
    let line = |key: &str| setting_line(&text, key);
    assert!(line("base_url").contains("sandbox"), "{text}");
    assert!(line("base_url").ends_with("flag --sandbox"), "{text}");
    assert!(
        line("suppress").contains(&format!("{long}  flag --suppress")),
        "{text}"
    );
}

/// The line of `config`'s table for setting `key`.
fn setting_line(text: &str, key: &str) -> String {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no {key} line in:\n{text}"))
        .to_string()
}

/// Pins: the text form names flags and variables, and a missing key or a
/// bad setting are reported without a key ever shown.
#[test]
fn config_reports_a_missing_key_and_refuses_bad_settings() {
    let work = Workdir::new();
    let list = work.copy(&fixture(), "contacts.csv");
    let list = list.to_str().unwrap();
    let run = work.omnidial_without_key(&["config", list, "--api-key-env", "NO_SUCH_KEY_VAR"]);
    let text = run.expect_code(0).stdout();
    assert!(text.contains("flag --api-key-env"), "{text}");
    assert!(
        text.contains("API key: no API key: set the environment variable NO_SUCH_KEY_VAR"),
        "{text}"
    );

    let run = work.omnidial(&["config", list, "--max-backoff", "soon"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("retry.max_backoff"),
        "{}",
        run.stderr()
    );
}

/// Pins: the sandbox overrides a base URL from the environment, but
/// `--base-url` with `--sandbox` is refused naming both.
#[test]
fn sandbox_runs_ignore_the_environment_base_url() {
    let work = Workdir::new();
    let list = work.copy(&fixture(), "contacts.csv");
    let list = list.to_str().unwrap();
    let args = [
        "run",
        list,
        "--sandbox",
        "--agent-id",
        "42",
        "--rate",
        "unlimited",
        "--quiet",
    ];
    let env = [("OMNIDIM_BASE_URL", "http://127.0.0.1:9/api/v1")];
    work.omnidial_env(&args, &env).expect_code(1);

    let with_flag = [
        &args[..],
        &["--fresh", "--base-url", "http://127.0.0.1:8/api/v1"],
    ]
    .concat();
    let run = work.omnidial_env(&with_flag, &env);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("--sandbox cannot be used with --base-url"),
        "{}",
        run.stderr()
    );
}
