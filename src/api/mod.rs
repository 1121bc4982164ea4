//! The client for the OmniDimension API: one dispatch request, turned into
//! an [`Answer`] for [`classify`](crate::classify), and the call-logs pages
//! that `reconcile` reads. It never retries by itself, except to send a
//! request on a fresh connection when a kept one closed before taking it
//! (nothing was sent then). [`conn`] opens and keeps the connections.

use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue, RETRY_AFTER, USER_AGENT};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::campaign::{ApiKey, is_loopback};
use crate::classify::{Answer, Verdict, classify};
use crate::contacts::CallContext;

mod conn;

use conn::{Connections, Proxy, Sender};

#[cfg(test)]
mod tests;

/// Largest answer body read; a dispatch answer is a few hundred bytes and a
/// page of call logs some kilobytes.
const MAX_BODY_BYTES: usize = 16 << 20;

/// Sent with every request.
const USER_AGENT_VALUE: &str = concat!("omnidial/", env!("CARGO_PKG_VERSION"));

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
    /// Keep-alive connections kept (the pool's concurrency).
    pub max_idle: usize,
}

/// A client bound to one base URL and key.
#[derive(Debug)]
pub struct ApiClient {
    /// Open and idle connections to the API's host.
    connections: Connections,
    /// The `Host` header.
    host: HeaderValue,
    /// The path of `{base}/calls/dispatch`.
    dispatch_path: Uri,
    /// `{base}/calls/logs`, for messages.
    logs_url: url::Url,
    /// The `Authorization` header, marked sensitive so it is never shown.
    auth: HeaderValue,
    /// Time allowed for one request, connecting included.
    request_timeout: Duration,
    /// The base URL, for messages (it never holds credentials).
    base_url: String,
}

/// A response, read whole.
#[derive(Debug)]
struct Reply {
    /// HTTP status code.
    status: u16,
    /// The `Retry-After` header, if any.
    retry_after: Option<String>,
    /// The body, or `None` when it could not be read.
    body: Option<Bytes>,
}

impl ApiClient {
    /// Builds a client. Proxies from the environment apply, except to
    /// loopback, where a proxy could only get in the way of the sandbox.
    pub fn new(settings: &ClientSettings, key: &ApiKey) -> anyhow::Result<ApiClient> {
        let base = url::Url::parse(&format!("{}/", settings.base_url))
            .with_context(|| format!("base URL {:?} is not a URL", settings.base_url))?;
        let host = base.host_str().context("the base URL has no host")?;
        let authority = match base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let origin = format!("{}://{authority}", base.scheme())
            .parse::<Uri>()
            .with_context(|| format!("base URL {:?} is not a URL", settings.base_url))?;
        let dispatch_url = base.join("calls/dispatch")?;
        // A proxy could only get in the way of a sandbox on this machine.
        let proxy = if is_loopback(&base) {
            None
        } else {
            Proxy::from_env(&origin)
        };
        let mut auth = HeaderValue::from_str(&key.bearer())
            .map_err(|_| anyhow::anyhow!("the API key holds characters a header cannot carry"))?;
        auth.set_sensitive(true);
        Ok(ApiClient {
            connections: Connections::new(
                origin.clone(),
                proxy,
                settings.connect_timeout,
                settings.max_idle,
            )?,
            host: HeaderValue::from_str(&authority).context("the base URL's host")?,
            dispatch_path: dispatch_url.path().parse()?,
            logs_url: base.join("calls/logs")?,
            auth,
            request_timeout: settings.request_timeout,
            base_url: settings.base_url.clone(),
        })
    }

    /// Opens a connection to the API the way requests will go (through a
    /// proxy, with TLS) and keeps it for the first request, without sending
    /// anything: an unreachable API or a wrong scheme is then one clear
    /// error rather than a list of failed rows.
    pub async fn check_reachable(&self) -> anyhow::Result<()> {
        match self.connections.open().await {
            Ok(conn) => {
                self.connections.put_idle(conn);
                Ok(())
            }
            Err(err) => {
                let text = err.to_string();
                // rustls's words for an answer that is not TLS at all.
                let hint =
                    if text.contains("InvalidContentType") || text.contains("corrupt message") {
                        " (the server does not speak TLS: should the base URL start with http://?)"
                    } else {
                        ""
                    };
                anyhow::bail!("cannot reach the API at {}: {text}{hint}", self.base_url)
            }
        }
    }

    /// Sends one dispatch request and classifies the answer.
    pub async fn dispatch(&self, body: &DispatchBody<'_>) -> (Verdict, Option<u16>) {
        let json = match serde_json::to_vec(body) {
            Ok(json) => json,
            Err(err) => return (classify(&Answer::NotSent(err.to_string())), None),
        };
        let request = self.request(Method::POST, self.dispatch_path.clone(), Some(json));
        match self.exchange(request).await {
            Ok(reply) => {
                let answer = Answer::Response {
                    status: reply.status,
                    body: reply.body.as_deref(),
                    retry_after: reply.retry_after.as_deref(),
                };
                (classify(&answer), Some(reply.status))
            }
            Err(answer) => (classify(&answer), None),
        }
    }

    /// Reads one page of call logs.
    pub async fn call_logs(&self, page: u32, page_size: u32) -> anyhow::Result<LogsPage> {
        let path = format!(
            "{}?pageno={page}&pagesize={page_size}",
            self.logs_url.path()
        );
        let request = self.request(Method::GET, path.parse()?, None);
        let reply = self.exchange(request).await.map_err(|answer| {
            let (Answer::NotSent(text) | Answer::Lost(text)) = answer else {
                unreachable!("exchange fails only without a response")
            };
            anyhow::anyhow!("cannot read call logs from {}: {text}", self.logs_url)
        })?;
        let body = reply.body.context("cannot read the call logs")?;
        if !(200..300).contains(&reply.status) {
            let message = crate::classify::server_message(reply.status, Some(&body));
            let message = format!("call logs page {page}: {}: {message}", reply.status);
            // A rejected key ends a reconcile as it ends a run (exit 3).
            if matches!(reply.status, 401 | 403) {
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

    /// A request with the headers every request carries.
    fn request(&self, method: Method, path: Uri, json: Option<Vec<u8>>) -> Request<Full<Bytes>> {
        let has_body = json.is_some();
        let mut request = Request::new(Full::new(Bytes::from(json.unwrap_or_default())));
        *request.method_mut() = method;
        *request.uri_mut() = path;
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert(AUTHORIZATION, self.auth.clone());
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        if has_body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        request
    }

    /// Sends a request and reads its answer whole, within the request
    /// timeout. A failure says whether the request may have left.
    async fn exchange(&self, request: Request<Full<Bytes>>) -> Result<Reply, Answer<'static>> {
        let deadline = Instant::now() + self.request_timeout;
        let (sender, response) = self.send(request, deadline).await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let reading = Limited::new(response.into_body(), MAX_BODY_BYTES).collect();
        let body = match tokio::time::timeout_at(deadline, reading).await {
            Ok(Ok(collected)) => {
                self.connections.put_idle(sender);
                Some(collected.to_bytes())
            }
            _ => None,
        };
        Ok(Reply {
            status,
            retry_after,
            body,
        })
    }

    /// Sends a request on a kept connection, or a new one, and waits for
    /// the response head.
    async fn send(
        &self,
        mut request: Request<Full<Bytes>>,
        deadline: Instant,
    ) -> Result<(Sender, hyper::Response<hyper::body::Incoming>), Answer<'static>> {
        let mut kept = self.connections.take_idle();
        loop {
            let reused = kept.is_some();
            let mut sender = match kept.take() {
                Some(sender) => sender,
                None => self
                    .connections
                    .open()
                    .await
                    .map_err(|err| Answer::NotSent(err.to_string()))?,
            };
            let sending = sender.try_send_request(request);
            let mut err = match tokio::time::timeout_at(deadline, sending).await {
                Ok(Ok(response)) => return Ok((sender, response)),
                Ok(Err(err)) => err,
                Err(_) => return Err(Answer::Lost("timed out".into())),
            };
            match err.take_message() {
                // A kept connection closed before it took the request:
                // nothing left, so a new connection may carry it.
                Some(unsent) if reused => request = unsent,
                Some(_) => return Err(Answer::NotSent(error_chain(err.error()))),
                None => return Err(Answer::Lost(error_chain(&err.into_error()))),
            }
        }
    }
}

/// An error and its causes on one line.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
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
