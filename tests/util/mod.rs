//! Helpers that make the integration tests read as specifications: a
//! scratch directory, a runner for the real binary that shows everything on
//! failure, and a sandbox subprocess on an ephemeral 127.0.0.1 port.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

mod held;
pub use held::HeldApi;

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_omnidial"))
}

/// A fake key for runs against the sandbox; long enough to be accepted.
pub const TEST_KEY: &str = "test-key-0123456789";

/// The cases folder that sits beside the repository.
pub fn cases_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/cases");
    assert!(
        dir.is_dir(),
        "the shared cases are missing: expected {} (the repository must sit beside shared/)",
        dir.display()
    );
    dir
}

/// A case's file.
pub fn case_file(case: &str, file: &str) -> PathBuf {
    cases_dir().join(case).join(file)
}

/// A scratch directory for one test.
pub struct Workdir {
    /// Removed on drop.
    pub dir: tempfile::TempDir,
}

impl Workdir {
    /// A new empty directory.
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    /// A path inside it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write a test file");
        path
    }

    /// Copies a file in and returns the copy's path.
    pub fn copy(&self, from: &Path, name: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::copy(from, &path).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        path
    }

    /// Reads a file as text.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    /// Runs the binary with `args` in this directory, with the test key.
    pub fn omnidial(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("OMNIDIM_API_KEY", TEST_KEY)
            .env_remove("RUST_LOG")
            .env_remove("OMNIDIM_BASE_URL")
            .env_remove("OMNIDIM_AGENT_ID")
            .stdin(Stdio::null());
        Run::capture(cmd)
    }

    /// Runs the binary with the test key and extra environment variables.
    pub fn omnidial_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("OMNIDIM_API_KEY", TEST_KEY)
            .env_remove("RUST_LOG")
            .env_remove("OMNIDIM_BASE_URL")
            .env_remove("OMNIDIM_AGENT_ID")
            .env_remove("NO_COLOR")
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        Run::capture(cmd)
    }

    /// Runs `omnidial run list.csv` against `sandbox` as most tests do:
    /// agent 42, outcome in `out.csv`, no progress bar, then `extra`.
    pub fn dial(&self, sandbox: &SandboxProc, extra: &[&str]) -> Run {
        let base = sandbox.base_url();
        let mut args = vec!["run", "list.csv", "--agent-id", "42", "--out", "out.csv"];
        args.extend(["--base-url", &base, "--quiet"]);
        args.extend_from_slice(extra);
        self.omnidial(&args)
    }

    /// Runs the binary without any API key in the environment.
    pub fn omnidial_without_key(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("OMNIDIM_API_KEY")
            .env_remove("RUST_LOG")
            .env_remove("OMNIDIM_BASE_URL")
            .env_remove("OMNIDIM_AGENT_ID")
            .stdin(Stdio::null());
        Run::capture(cmd)
    }
}

/// A finished run of the binary.
pub struct Run {
    /// What was run, for failure messages.
    pub command: String,
    /// Its output.
    pub output: Output,
}

impl Run {
    /// Runs `cmd` to completion.
    fn capture(mut cmd: Command) -> Run {
        let command = format!("{cmd:?}");
        let output = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {command}: {e}"));
        Run { command, output }
    }

    /// The exit code.
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    /// stdout as text.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// stderr as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts the exit code, showing everything if it differs.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit code\n{}",
            self.describe()
        );
        self
    }

    /// Everything about the run, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "command: {}\nstatus: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.command,
            self.output.status,
            self.stdout(),
            self.stderr()
        )
    }
}

/// A sandbox subprocess, stopped on drop.
pub struct SandboxProc {
    /// The child process.
    child: Child,
    /// Its port.
    pub port: u16,
}

impl SandboxProc {
    /// Starts `omnidial sandbox --port 0` with extra arguments.
    pub fn start(extra: &[&str]) -> SandboxProc {
        let mut child = Command::new(bin())
            .args(["sandbox", "--port", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the sandbox");
        let stdout = child.stdout.take().expect("sandbox stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("read the sandbox's first line");
        let port = first
            .trim()
            .strip_prefix("listening on 127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first sandbox line: {first:?}"));
        SandboxProc { child, port }
    }

    /// Starts a sandbox that follows a script file.
    pub fn scripted(script: &Path) -> SandboxProc {
        SandboxProc::start(&["--script", script.to_str().expect("utf-8 path")])
    }

    /// The base URL to give `--base-url`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1", self.port)
    }

    /// Every call the sandbox counts as placed.
    pub fn calls(&self) -> Vec<Value> {
        get_json(self.port, "/__sandbox/calls")
            .as_array()
            .cloned()
            .expect("calls is an array")
    }

    /// Every dispatch request it received.
    pub fn requests(&self) -> Vec<Value> {
        get_json(self.port, "/__sandbox/requests")
            .as_array()
            .cloned()
            .expect("requests is an array")
    }
}

impl Drop for SandboxProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GETs a JSON document from 127.0.0.1 with a bare HTTP/1.0 request.
pub fn get_json(port: u16, path: &str) -> Value {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the sandbox");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("send a GET");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read the answer");
    let text = String::from_utf8_lossy(&response);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"))
}

/// One row of an outcome file.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeRow {
    /// `request_id`, if any.
    pub request_id: Option<u64>,
    /// `row`.
    pub row: u64,
    /// `to_number`.
    pub to_number: String,
    /// `status`.
    pub status: String,
    /// `attempts`.
    pub attempts: u32,
    /// `error`.
    pub error: String,
    /// `from_number_id`, if any.
    pub from_number_id: Option<u64>,
    /// `calls`.
    pub calls: u32,
    /// `earlier_calls`.
    pub earlier_calls: String,
}

/// Reads an outcome file.
pub fn outcome_rows(path: &Path) -> Vec<OutcomeRow> {
    let mut rdr =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = rdr.headers().expect("a header").clone();
    assert_eq!(
        headers.iter().take(11).collect::<Vec<_>>(),
        [
            "request_id",
            "row",
            "to_number",
            "status",
            "attempts",
            "http_status",
            "error",
            "finished_at",
            "from_number_id",
            "calls",
            "earlier_calls"
        ],
        "outcome columns"
    );
    rdr.records()
        .map(|r| {
            let r = r.expect("a valid outcome record");
            OutcomeRow {
                request_id: r[0].parse().ok(),
                row: r[1].parse().expect("row"),
                to_number: r[2].to_string(),
                status: r[3].to_string(),
                attempts: r[4].parse().unwrap_or(0),
                error: r[6].to_string(),
                from_number_id: r[8].parse().ok(),
                calls: r[9].parse().unwrap_or(0),
                earlier_calls: r[10].to_string(),
            }
        })
        .collect()
}

/// The outcome row for a data row.
pub fn outcome_of(rows: &[OutcomeRow], row: u64) -> &OutcomeRow {
    rows.iter()
        .find(|r| r.row == row)
        .unwrap_or_else(|| panic!("no outcome for row {row} in {rows:#?}"))
}

/// The `expected.md` JSON summary of a case.
pub fn case_summary(case: &str) -> Value {
    let text = std::fs::read_to_string(case_file(case, "expected.md")).expect("expected.md");
    let start = text.rfind("```json").expect("a JSON summary") + "```json".len();
    let end = start + text[start..].find("```").expect("the end of the summary");
    serde_json::from_str(&text[start..end]).expect("valid summary JSON")
}
