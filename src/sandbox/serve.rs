//! `omnidial sandbox`: the flags and the loop that serves until stopped.
//!
//! This file turns flags into a [`SandboxConfig`], starts the sandbox,
//! announces the address on stdout for scripts to read, and waits for Ctrl-C
//! or SIGTERM. Everything else is the in-process [`Sandbox`].

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

use super::{FaultRates, Sandbox, SandboxConfig, Script};

/// The port `omnidial sandbox` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8787;

/// Flags of `omnidial sandbox`.
///
/// `Debug` is written by hand to keep the API key out of it.
#[derive(Clone, clap::Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 to listen on (0 picks a free one).
    ///
    /// The sandbox only ever binds the loopback address. The first line on
    /// stdout says where it listens: "listening on 127.0.0.1:PORT".
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,

    /// Bearer key to demand (a rehearsal key; never logged).
    ///
    /// Without it the sandbox accepts any or no Authorization header.
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,

    /// Milliseconds to wait before each dispatch answer.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Random dispatch faults, e.g. "429=0.05,503=0.1,drop=0.01".
    ///
    /// Comma-separated NAME=RATE pairs, rates from 0 to 1 adding up to at
    /// most 1. Names: 429 (with Retry-After: 1), 500, 502, 503; slow (answer
    /// after 5x the latency, at least 2 s); drop (close without answering,
    /// no call placed); accept-drop (place the call, then close without
    /// answering).
    #[arg(long, value_name = "SPEC")]
    pub fail_rate: Option<FaultRates>,

    /// Seed for faults and call outcomes; a seed repeats a run.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// Scripted answers per number, in the cases' server_script.json form.
    ///
    /// Scripted answers take precedence over random faults. A request beyond
    /// a number's scripted list is answered 500 and logged as an error.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,

    /// The first request id handed out.
    #[arg(long, value_name = "ID", default_value_t = 1)]
    pub first_request_id: u64,
}

impl std::fmt::Debug for SandboxArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxArgs")
            .field("port", &self.port)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("latency_ms", &self.latency_ms)
            .field("fail_rate", &self.fail_rate)
            .field("seed", &self.seed)
            .field("script", &self.script)
            .field("first_request_id", &self.first_request_id)
            .finish()
    }
}

impl SandboxArgs {
    /// Builds the configuration, reading the script file if one is given.
    pub fn to_config(&self) -> anyhow::Result<SandboxConfig> {
        let script = match &self.script {
            Some(path) => Some(Script::from_path(path).context("--script")?),
            None => None,
        };
        Ok(SandboxConfig {
            api_key: self.api_key.clone(),
            latency_ms: self.latency_ms,
            faults: self.fail_rate.unwrap_or_default(),
            seed: self.seed,
            script,
            first_request_id: self.first_request_id,
        })
    }
}

/// Runs `omnidial sandbox`: serves until Ctrl-C or SIGTERM.
///
/// The first stdout line is exactly `listening on 127.0.0.1:PORT`, flushed
/// at once, so a script can start the sandbox and read where it went.
pub async fn serve(args: SandboxArgs) -> anyhow::Result<()> {
    let config = args.to_config()?;
    let sandbox = Sandbox::start(config, args.port).await?;
    announce(sandbox.addr())?;
    tracing::info!(addr = %sandbox.addr(), "sandbox serving until Ctrl-C");

    let stop = wait_for_stop().await;
    tracing::info!("sandbox stopping");
    sandbox.shutdown().await;
    stop
}

/// Prints and flushes the address line.
fn announce(addr: SocketAddr) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {addr}").context("writing the address to stdout")?;
    stdout.flush().context("flushing stdout")
}

/// Waits for Ctrl-C, or SIGTERM where there is such a thing.
async fn wait_for_stop() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("listening for Ctrl-C"),
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("listening for Ctrl-C")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// A stand-in for the real command line, holding only these flags.
    #[derive(Debug, Parser)]
    struct Cli {
        /// The flags under test.
        #[command(flatten)]
        args: SandboxArgs,
    }

    /// Pins the defaults.
    #[test]
    fn defaults() {
        let args = Cli::try_parse_from(["sandbox"]).unwrap().args;
        assert_eq!(args.port, DEFAULT_PORT);
        let config = args.to_config().unwrap();
        assert_eq!(config.first_request_id, 1);
        assert!(config.faults.is_none());
        assert!(config.api_key.is_none());
    }

    /// Every flag reaches the configuration.
    #[test]
    fn flags_reach_the_config() {
        let argv = [
            "sandbox",
            "--port",
            "0",
            "--api-key",
            "sk-rehearsal",
            "--latency-ms",
            "25",
            "--fail-rate",
            "429=0.5",
            "--seed",
            "9",
            "--first-request-id",
            "100",
        ];
        let args = Cli::try_parse_from(argv).unwrap().args;
        assert!(!format!("{args:?}").contains("sk-rehearsal"));
        let config = args.to_config().unwrap();
        assert_eq!(config.api_key.as_deref(), Some("sk-rehearsal"));
        assert!(!format!("{config:?}").contains("sk-rehearsal"));
        assert_eq!(
            (config.latency_ms, config.seed, config.first_request_id),
            (25, 9, 100)
        );
        assert_eq!(config.faults.r429, 0.5);
    }

    /// A bad fault spec fails at parse time, naming the item.
    #[test]
    fn bad_fail_rate_names_the_item() {
        let err =
            Cli::try_parse_from(["sandbox", "--fail-rate", "429=0.1,teapot=0.2"]).unwrap_err();
        assert!(err.to_string().contains("teapot=0.2"), "{err}");
    }

    /// A missing script file is reported with its path.
    #[test]
    fn missing_script_names_the_file() {
        let args = Cli::try_parse_from(["sandbox", "--script", "/nonexistent/script.json"])
            .unwrap()
            .args;
        let err = format!("{:#}", args.to_config().unwrap_err());
        assert!(err.contains("/nonexistent/script.json"), "{err}");
    }
}
