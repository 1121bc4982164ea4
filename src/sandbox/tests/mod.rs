//! End-to-end tests of the sandbox over real TCP on 127.0.0.1.
//!
//! Pure logic is tested at the bottom of each file; these tests start a
//! [`Sandbox`] on a free port and talk to it with the small HTTP/1.1 client
//! below (the dialer's HTTP client is not a dependency of this module).
//! Tests that involve a wait run on tokio's paused clock, so they check
//! virtual durations and never depend on how fast the machine is.

use std::net::SocketAddr;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{Sandbox, SandboxConfig, Script};

mod dispatch;
mod faults;
mod logs;
mod script;

/// One HTTP answer as the client saw it.
#[derive(Debug)]
struct Answer {
    /// Status code.
    status: u16,
    /// Headers, names in lower case.
    headers: Vec<(String, String)>,
    /// The body bytes.
    body: Vec<u8>,
}

impl Answer {
    /// The body parsed as JSON.
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The first header called `name` (lower case).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A keep-alive HTTP/1.1 connection that sends one request at a time.
struct Client {
    /// The connection, buffered for reading the head line by line.
    stream: BufReader<TcpStream>,
}

impl Client {
    /// Connects to the sandbox.
    async fn connect(addr: SocketAddr) -> Client {
        Client {
            stream: BufReader::new(TcpStream::connect(addr).await.unwrap()),
        }
    }

    /// Sends a request; `None` means the server closed the connection
    /// without answering.
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<Answer> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        self.stream
            .get_mut()
            .write_all(head.as_bytes())
            .await
            .unwrap();
        self.read_answer().await
    }

    /// Reads one answer, framed by Content-Length.
    async fn read_answer(&mut self) -> Option<Answer> {
        let mut line = String::new();
        // A reset counts as a close: either way no answer came.
        if self.stream.read_line(&mut line).await.unwrap_or(0) == 0 {
            return None;
        }
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();

        let mut headers = Vec::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.unwrap();
            let Some((name, value)) = line.trim_end().split_once(':') else {
                break;
            };
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
        let answer = Answer {
            status,
            headers,
            body: Vec::new(),
        };
        let length: usize = answer.header("content-length").unwrap().parse().unwrap();
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.unwrap();
        Some(Answer { body, ..answer })
    }
}

/// Starts a sandbox on a free port.
async fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config, 0).await.unwrap()
}

/// Sends one dispatch on a fresh connection.
async fn dispatch(sandbox: &Sandbox, body: &Value) -> Option<Answer> {
    let mut client = Client::connect(sandbox.addr()).await;
    client
        .send("POST", "/api/v1/calls/dispatch", &[], &body.to_string())
        .await
}

/// Sends one GET on a fresh connection; GETs are always answered.
async fn get(sandbox: &Sandbox, path: &str) -> Answer {
    let mut client = Client::connect(sandbox.addr()).await;
    client.send("GET", path, &[], "").await.unwrap()
}

/// The body the cases send: agent 42, this number, no context.
fn call_to(number: &str) -> Value {
    json!({ "agent_id": 42, "to_number": number })
}

/// A config with a script.
fn scripted(script: &str) -> SandboxConfig {
    SandboxConfig {
        script: Some(Script::from_json(script).unwrap()),
        ..SandboxConfig::default()
    }
}
