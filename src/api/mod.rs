//! The client for the OmniDimension API: one dispatch request, turned into
//! an [`Answer`] for [`classify`](crate::classify), and the call-logs pages
//! that `reconcile` reads. It never retries by itself.

use std::time::Duration;

use anyhow::Context;
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use serde::{Deserialize, Serialize};

use crate::campaign::{ApiKey, is_loopback};
use crate::classify::{Answer, Verdict, classify};
use crate::contacts::CallContext;

/// The body of `POST /calls/dispatch`.
#[derive(Debug, Serialize)]
pub struct DispatchBody<'a> {
    /// Agent that handles the call.
    pub agent_id: u64,
    /// E.164 number to call.
    pub to_number: &'a str,
    /// Caller number id, when the campaign sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_number_id: Option<u64>,
    /// The row's other columns.
    pub call_context: &'a CallContext,
}

/// Settings the client is built from.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// API base URL, without a trailing slash.
    pub base_url: String,
    /// Time allowed for one request.
    pub request_timeout: Duration,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Keep-alive connections kept per host (the pool's concurrency).
    pub max_idle: usize,
}

/// A client bound to one base URL and key.
#[derive(Debug, Clone)]
pub struct ApiClient {
    /// The HTTP client, with its connection pool.
    http: reqwest::Client,
    /// `{base}/calls/dispatch`.
    dispatch_url: reqwest::Url,
    /// `{base}/calls/logs`.
    logs_url: reqwest::Url,
    /// The `Authorization` header, marked sensitive so it is never shown.
    auth: HeaderValue,
}

impl ApiClient {
    /// Builds a client. Proxies from the environment apply, except to
    /// loopback, where a proxy could only get in the way of the sandbox.
    pub fn new(settings: &ClientSettings, key: &ApiKey) -> anyhow::Result<ApiClient> {
        let base = reqwest::Url::parse(&format!("{}/", settings.base_url))
            .with_context(|| format!("base URL {:?} is not a URL", settings.base_url))?;
        let mut builder = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.connect_timeout)
            .pool_max_idle_per_host(settings.max_idle.max(1))
            .tcp_nodelay(true)
            .user_agent(concat!("omnidial/", env!("CARGO_PKG_VERSION")));
        if is_loopback(&base) {
            builder = builder.no_proxy();
        }
        let http = builder.build().context("cannot build the HTTP client")?;
        let mut auth = HeaderValue::from_str(&key.bearer())
            .map_err(|_| anyhow::anyhow!("the API key holds characters a header cannot carry"))?;
        auth.set_sensitive(true);
        Ok(ApiClient {
            http,
            dispatch_url: base.join("calls/dispatch")?,
            logs_url: base.join("calls/logs")?,
            auth,
        })
    }

    /// Sends one dispatch request and classifies the answer.
    pub async fn dispatch(&self, body: &DispatchBody<'_>) -> (Verdict, Option<u16>) {
        let sent = self
            .http
            .post(self.dispatch_url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => return (classify(&transport_answer(err)), None),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.bytes().await.ok();
        let answer = Answer::Response {
            status,
            body: body.as_deref(),
            retry_after: retry_after.as_deref(),
        };
        (classify(&answer), Some(status))
    }

    /// Reads one page of call logs.
    pub async fn call_logs(&self, page: u32, page_size: u32) -> anyhow::Result<LogsPage> {
        let response = self
            .http
            .get(self.logs_url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .query(&[("pageno", page), ("pagesize", page_size)])
            .send()
            .await
            .with_context(|| format!("cannot read call logs from {}", self.logs_url))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .context("cannot read the call logs")?;
        if !status.is_success() {
            let message = crate::classify::server_message(status.as_u16(), Some(&body));
            let message = format!("call logs page {page}: {status}: {message}");
            // A rejected key ends a reconcile as it ends a run (exit 3).
            if matches!(status.as_u16(), 401 | 403) {
                return Err(crate::cmd::Failure {
                    code: crate::cmd::EXIT_STOPPED,
                    message: format!("{message}; check OMNIDIM_API_KEY"),
                }
                .into());
            }
            anyhow::bail!(message);
        }
        serde_json::from_slice(&body)
            .with_context(|| format!("call logs page {page}: unexpected body"))
    }
}

/// Whether a transport failure happened before the request left.
fn transport_answer(err: reqwest::Error) -> Answer<'static> {
    // Connect errors (refused, DNS, TLS handshake) happen before any byte of
    // the request is written. Anything else may have reached the server.
    let not_sent = err.is_connect() || err.is_builder();
    let text = error_chain(err);
    if not_sent {
        Answer::NotSent(text)
    } else {
        Answer::Lost(text)
    }
}

/// The error and its causes on one line, without the URL (it is the same
/// for every request, and reqwest's own text leaves the causes out).
fn error_chain(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = if err.is_timeout() {
        "timed out".to_string()
    } else {
        err.to_string()
    };
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// One page of `GET /calls/logs`.
#[derive(Debug, Clone, Deserialize)]
pub struct LogsPage {
    /// The logs on this page.
    #[serde(default)]
    pub call_log_data: Vec<CallLog>,
    /// Logs in all pages.
    #[serde(default)]
    pub total_records: u64,
}

/// The fields of a call log that reconcile uses.
#[derive(Debug, Clone, Deserialize)]
pub struct CallLog {
    /// The log's id.
    pub id: serde_json::Value,
    /// Number called.
    #[serde(default)]
    pub to_number: Option<String>,
    /// `DD/MM/YYYY HH:MM:SS`.
    #[serde(default)]
    pub time_of_call: Option<String>,
    /// completed, busy, no-answer, failed.
    #[serde(default)]
    pub call_status: Option<String>,
    /// Duration in seconds.
    #[serde(default)]
    pub call_duration_in_seconds: Option<serde_json::Value>,
    /// Cost.
    #[serde(default)]
    pub call_cost: Option<serde_json::Value>,
    /// `{ "id": <requestId or false>, ... }`.
    #[serde(default)]
    pub call_request_id: Option<serde_json::Value>,
}

impl CallLog {
    /// The dispatch request id this log belongs to, if any.
    pub fn request_id(&self) -> Option<u64> {
        self.call_request_id.as_ref()?.get("id")?.as_u64()
    }
}

/// Checks that the API's host accepts connections, without sending any
/// request, so an unreachable API is one clear error rather than a list of
/// failed rows.
pub async fn check_reachable(base_url: &str, timeout: Duration) -> anyhow::Result<()> {
    let url = reqwest::Url::parse(base_url)?;
    let host = url
        .host_str()
        .context("the base URL has no host")?
        .to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let connect = tokio::net::TcpStream::connect((host.as_str(), port));
    match tokio::time::timeout(timeout, connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => anyhow::bail!("cannot reach the API at {base_url}: {err}"),
        Err(_) => {
            anyhow::bail!("cannot reach the API at {base_url}: no connection within {timeout:?}")
        }
    }
}
