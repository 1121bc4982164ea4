//! A stand-in for the API that places every call but holds the answer to
//! one chosen request until the test lets it go. While it holds, the run
//! is certainly mid-campaign, whatever the machine's speed, so a test can
//! act on the run's files at a known point without any clock.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The server's handle; it lets any held request go when dropped.
pub struct HeldApi {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// What the connection threads and the test share.
    shared: Arc<Shared>,
}

/// State shared with the connection threads.
struct Shared {
    /// The requests seen and whether the held one may go.
    state: Mutex<State>,
    /// Signalled when a request arrives or the held one is let go.
    changed: Condvar,
}

/// What the server has seen.
struct State {
    /// The `to_number` of each dispatch, in arrival order.
    received: Vec<String>,
    /// The 1-based request whose answer is held.
    hold_at: usize,
    /// Whether the held answer may go.
    released: bool,
}

impl HeldApi {
    /// Serves on an ephemeral 127.0.0.1 port, holding the answer to the
    /// `hold_at`-th dispatch (1-based).
    pub fn start(hold_at: usize) -> HeldApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                received: vec![],
                hold_at,
                released: false,
            }),
            changed: Condvar::new(),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = accepting.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        HeldApi { port, shared }
    }

    /// The base URL to give `--base-url`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1", self.port)
    }

    /// Waits until the held request has arrived. The bound only turns a
    /// run that never gets there into a failure instead of a hang.
    pub fn wait_until_holding(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut state = self.shared.lock();
        while state.received.len() < state.hold_at {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the run never sent request {}",
                state.hold_at
            );
            state = self.shared.changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// Lets the held answer go.
    pub fn release(&self) {
        self.shared.lock().released = true;
        self.shared.changed.notify_all();
    }

    /// The `to_number` of every dispatch so far, in arrival order.
    pub fn received(&self) -> Vec<String> {
        self.shared.lock().received.clone()
    }
}

impl Drop for HeldApi {
    fn drop(&mut self) {
        self.release();
    }
}

impl Shared {
    /// The state, even after a panicking test thread.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes a dispatch and returns its 1-based number, once its answer
    /// may go.
    fn arrive(&self, to_number: String) -> usize {
        let mut state = self.lock();
        state.received.push(to_number);
        let n = state.received.len();
        self.changed.notify_all();
        while n == state.hold_at && !state.released {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        n
    }
}

/// Answers the requests of one connection (HTTP/1.1, kept alive) until
/// the client closes it.
fn serve(stream: TcpStream, shared: &Shared) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while let Some(body) = read_request(&mut reader) {
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let to_number = request["to_number"].as_str().unwrap_or("").to_string();
        let id = shared.arrive(to_number);
        let answer = format!(r#"{{"success":true,"status":"dispatched","requestId":{id}}}"#);
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json";
        let sent = write!(
            writer,
            "{head}\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if sent.is_err() {
            return;
        }
    }
}

/// Reads one request and returns its body, or `None` at the end of the
/// connection.
fn read_request(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut length = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}
