//! A simulated OmniDimension API on 127.0.0.1, for tests, benchmarks and the
//! README quick-start. Nothing in the dialer depends on it.
//!
//! It answers the endpoints the dialer uses (dispatch, call logs), records
//! every dispatch request and every call it counts as placed, and can
//! misbehave on purpose: seeded random faults (`--fail-rate`) and scripted
//! per-number answers (`--script`, the cases' `server_script.json`).
//!
//! - `server` owns the listener, connections and routing;
//! - `dispatch` decides and answers each dispatch;
//! - `logs` renders call logs from the record;
//! - `state` keeps the record behind one short lock;
//! - `faults` and `script` (with `entry`) parse the two ways to
//!   misbehave; `validate` checks dispatch bodies;
//! - `serve` is the `omnidial sandbox` subcommand.
//!
//! Tests and `run --sandbox` use [`Sandbox`] in-process:
//! [`Sandbox::start`], point the dialer at [`Sandbox::base_url`], then read
//! [`Sandbox::calls`] and [`Sandbox::requests`].

mod dispatch;
mod entry;
mod faults;
mod logs;
mod script;
mod serve;
mod server;
mod state;
#[cfg(test)]
mod tests;
mod validate;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::{FaultRates, FaultSpecError};
pub use script::Script;
pub use serve::{DEFAULT_PORT, SandboxArgs, serve};
pub use state::{ReceivedRequest, RecordedCall};

use state::State;

/// How a sandbox behaves.
///
/// `Debug` is written by hand so that the API key never shows, even though
/// it is only a rehearsal key; `Default` by hand so that ids start at 1.
#[derive(Clone)]
pub struct SandboxConfig {
    /// The bearer key to demand; `None` accepts any or no `Authorization`.
    pub api_key: Option<String>,
    /// Milliseconds to wait before each dispatch answer.
    pub latency_ms: u64,
    /// How often each random fault hits a dispatch.
    pub faults: FaultRates,
    /// Seeds the random faults and the simulated call outcomes.
    pub seed: u64,
    /// Scripted answers; they take precedence over random faults.
    pub script: Option<Script>,
    /// The first request id handed out (default 1).
    pub first_request_id: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            api_key: None,
            latency_ms: 0,
            faults: FaultRates::default(),
            seed: 0,
            script: None,
            first_request_id: 1,
        }
    }
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("latency_ms", &self.latency_ms)
            .field("faults", &self.faults)
            .field("seed", &self.seed)
            .field("script", &self.script.as_ref().map(|_| "<script>"))
            .field("first_request_id", &self.first_request_id)
            .finish()
    }
}

/// A running sandbox. Dropping it stops it too; [`Sandbox::shutdown`] also
/// waits for the listener to close.
#[derive(Debug)]
pub struct Sandbox {
    /// Where it listens.
    addr: SocketAddr,
    /// The record and settings shared with every connection.
    state: Arc<State>,
    /// Sending on it (or dropping it) tells the accept loop and every
    /// connection task to stop.
    shutdown_tx: watch::Sender<()>,
    /// The accept loop; it ends on shutdown.
    accept_task: JoinHandle<()>,
}

impl Sandbox {
    /// Starts a sandbox on 127.0.0.1:`port` (0 picks a free port) in the
    /// current tokio runtime.
    pub async fn start(config: SandboxConfig, port: u16) -> anyhow::Result<Sandbox> {
        let listener = server::bind(port).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(config));
        let (shutdown_tx, shutdown_rx) = watch::channel(());
        let accept_task = tokio::spawn(server::accept_loop(
            listener,
            Arc::clone(&state),
            shutdown_rx,
        ));
        tracing::debug!(%addr, "sandbox started");
        Ok(Sandbox {
            addr,
            state,
            shutdown_tx,
            accept_task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL to give the dialer, `http://127.0.0.1:PORT/api/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// Every call counted as placed, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.state.books().calls().to_vec()
    }

    /// Every dispatch request received, in arrival order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.state.books().requests().to_vec()
    }

    /// Every request the script caught beyond a number's list; a passing
    /// case leaves this empty.
    pub fn script_faults(&self) -> Vec<String> {
        self.state.books().script_faults().to_vec()
    }

    /// Stops accepting, closes every connection (hung ones included) and
    /// waits for the listener to close.
    pub async fn shutdown(self) {
        // An error only means every receiver is gone already.
        let _ = self.shutdown_tx.send(());
        if let Err(err) = self.accept_task.await {
            tracing::warn!(error = %err, "sandbox accept loop ended abnormally");
        }
    }
}
