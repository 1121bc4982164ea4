//! One scripted answer: how it is checked and how it is rendered.
//!
//! `script.rs` owns the script as a whole and chooses the entry for each
//! request; this file owns a single entry: its fields as written, the checks
//! run at load time (so a broken script fails before any request), whether
//! it counts as a placed call, and its headers and body at answer time.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value};

/// One scripted answer.
#[derive(Debug, Clone)]
pub(crate) struct ScriptEntry {
    /// HTTP status; unused by `hang` and `drop`.
    pub status: StatusCode,
    /// Extra response headers.
    headers: Vec<(HeaderName, HeaderTemplate)>,
    /// The response body.
    body: EntryBody,
    /// Count the call as placed whatever the answer says.
    record_dispatch: bool,
    /// The top-level `requestId`, used for a placed call.
    request_id: Option<u64>,
    /// `success: true` in the JSON body.
    body_success: bool,
    /// An integer `requestId` in the JSON body.
    body_request_id: Option<u64>,
    /// Whether to answer at all.
    pub action: Action,
    /// Extra wait before answering.
    pub delay: Duration,
}

/// What the connection sees for a scripted entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Send the scripted answer.
    Respond,
    /// Place the call, send nothing for this long, then close.
    Hang(Duration),
    /// Close the connection without answering (a sandbox extension; the
    /// call is placed only with `record_dispatch`).
    Drop,
}

/// A response header value, fixed or computed at answer time.
#[derive(Debug, Clone)]
enum HeaderTemplate {
    /// Sent as written.
    Fixed(HeaderValue),
    /// An IMF-fixdate this many seconds after the moment of answering.
    HttpDateOffset(i64),
}

/// A scripted body, prepared as far as possible at load time.
#[derive(Debug, Clone)]
enum EntryBody {
    /// No body.
    Empty,
    /// Bytes sent as they are; `json` says which content type suits them.
    Fixed { bytes: Bytes, json: bool },
    /// A JSON object whose `requestId` is `"auto"`, filled in per answer.
    AutoId(Map<String, Value>),
}

/// One entry as written, before checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEntry {
    /// HTTP status.
    status: Option<u16>,
    /// Response headers.
    #[serde(default)]
    headers: BTreeMap<String, RawHeader>,
    /// JSON body.
    body: Option<Value>,
    /// Text body.
    raw_body: Option<String>,
    /// Count the call as placed.
    #[serde(default)]
    record_dispatch: bool,
    /// Request id of the placed call.
    #[serde(rename = "requestId")]
    request_id: Option<u64>,
    /// `hang` or `drop`.
    action: Option<String>,
    /// Seconds to hang.
    hang_s: Option<f64>,
    /// Milliseconds to wait before answering.
    #[serde(default)]
    delay_ms: u64,
}

/// A header value as written: text, a number, or a date offset.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawHeader {
    /// Sent as written.
    Text(String),
    /// Sent as its decimal form (`"Retry-After": 2`).
    Number(i64),
    /// `{"http_date_offset_s": N}`.
    Date(RawDateOffset),
}

/// `{"http_date_offset_s": N}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDateOffset {
    /// Seconds after the moment of answering; may be negative.
    http_date_offset_s: i64,
}

impl ScriptEntry {
    /// Checks one entry as written.
    pub(crate) fn from_raw(raw: RawEntry) -> anyhow::Result<ScriptEntry> {
        let action = parse_action(raw.action.as_deref(), raw.hang_s)?;
        let status = match (raw.status, action) {
            (Some(code), _) => StatusCode::from_u16(code)
                .ok()
                .filter(|_| (100..=599).contains(&code))
                .with_context(|| format!("status {code} is not an HTTP status"))?,
            // A hang or drop never sends its status, so it may leave it out.
            (None, Action::Hang(_) | Action::Drop) => StatusCode::OK,
            (None, Action::Respond) => bail!("entry has no status"),
        };
        if raw.body.is_some() && raw.raw_body.is_some() {
            bail!("entry has both body and raw_body; give one");
        }

        let body_success =
            raw.body.as_ref().and_then(|b| b.get("success")) == Some(&Value::Bool(true));
        let body_request_id = raw
            .body
            .as_ref()
            .and_then(|b| b.get("requestId"))
            .and_then(Value::as_u64);
        Ok(ScriptEntry {
            status,
            headers: parse_headers(raw.headers)?,
            body: prepare_body(raw.body, raw.raw_body)?,
            record_dispatch: raw.record_dispatch,
            request_id: raw.request_id,
            body_success,
            body_request_id,
            action,
            delay: Duration::from_millis(raw.delay_ms),
        })
    }

    /// Returns true when this answer counts as a placed call: a hang, an
    /// explicit `record_dispatch`, or a 200 whose body says `success: true`.
    pub(crate) fn places_call(&self) -> bool {
        matches!(self.action, Action::Hang(_))
            || self.record_dispatch
            || (self.status == StatusCode::OK && self.body_success)
    }

    /// The request id the script fixes for a placed call, if any: the
    /// entry's own `requestId` first, then an integer one in its body.
    pub(crate) fn fixed_request_id(&self) -> Option<u64> {
        self.request_id.or(self.body_request_id)
    }

    /// Renders the body, putting `id` where the script says `"auto"`.
    pub(crate) fn render_body(&self, id: u64) -> Bytes {
        match &self.body {
            EntryBody::Empty => Bytes::new(),
            EntryBody::Fixed { bytes, .. } => bytes.clone(),
            EntryBody::AutoId(object) => {
                let mut object = object.clone();
                object.insert("requestId".to_string(), Value::from(id));
                Bytes::from(Value::Object(object).to_string())
            }
        }
    }

    /// Renders the headers as of `now`, adding a content type that suits
    /// the body unless the script gives one.
    pub(crate) fn render_headers(&self, now: SystemTime) -> Vec<(HeaderName, HeaderValue)> {
        let mut out: Vec<_> = self
            .headers
            .iter()
            .filter_map(|(name, value)| Some((name.clone(), value.render(now)?)))
            .collect();
        let has_type = out.iter().any(|(name, _)| name == CONTENT_TYPE);
        if let Some(kind) = self.default_content_type().filter(|_| !has_type) {
            out.push((CONTENT_TYPE, HeaderValue::from_static(kind)));
        }
        out
    }

    /// The content type the body implies, if it has one.
    fn default_content_type(&self) -> Option<&'static str> {
        match &self.body {
            EntryBody::Empty => None,
            EntryBody::Fixed { json: false, .. } => Some("text/plain; charset=utf-8"),
            EntryBody::Fixed { json: true, .. } | EntryBody::AutoId(_) => Some("application/json"),
        }
    }
}

/// Checks `action` and `hang_s` together.
fn parse_action(action: Option<&str>, hang_s: Option<f64>) -> anyhow::Result<Action> {
    match (action, hang_s) {
        (None, None) => Ok(Action::Respond),
        (Some("hang"), Some(secs)) if secs.is_finite() && secs >= 0.0 => {
            Ok(Action::Hang(Duration::from_secs_f64(secs)))
        }
        (Some("hang"), Some(secs)) => bail!("hang_s {secs} is not a number of seconds"),
        (Some("hang"), None) => bail!("action \"hang\" needs hang_s"),
        (Some("drop"), None) => Ok(Action::Drop),
        (Some("drop") | None, Some(_)) => bail!("hang_s is only valid with action \"hang\""),
        (Some(other), _) => bail!("action {other:?} is not supported (known: hang, drop)"),
    }
}

/// Checks header names and values.
fn parse_headers(
    raw: BTreeMap<String, RawHeader>,
) -> anyhow::Result<Vec<(HeaderName, HeaderTemplate)>> {
    raw.into_iter()
        .map(|(name, value)| {
            let parsed = HeaderName::from_bytes(name.as_bytes())
                .with_context(|| format!("header name {name:?} is not valid"))?;
            let template = match value {
                RawHeader::Text(text) => HeaderTemplate::Fixed(
                    HeaderValue::from_str(&text)
                        .with_context(|| format!("header {name}: value {text:?} is not valid"))?,
                ),
                RawHeader::Number(n) => HeaderTemplate::Fixed(HeaderValue::from(n)),
                RawHeader::Date(date) => HeaderTemplate::HttpDateOffset(date.http_date_offset_s),
            };
            Ok((parsed, template))
        })
        .collect()
}

/// Prepares a body: serialized once unless it needs a per-answer id.
fn prepare_body(body: Option<Value>, raw_body: Option<String>) -> anyhow::Result<EntryBody> {
    if let Some(text) = raw_body {
        return Ok(EntryBody::Fixed {
            bytes: Bytes::from(text),
            json: false,
        });
    }
    let Some(body) = body else {
        return Ok(EntryBody::Empty);
    };
    match body {
        Value::Object(object)
            if object.get("requestId").and_then(Value::as_str) == Some("auto") =>
        {
            Ok(EntryBody::AutoId(object))
        }
        other => {
            let bytes = serde_json::to_vec(&other).context("serializing body")?;
            Ok(EntryBody::Fixed {
                bytes: Bytes::from(bytes),
                json: true,
            })
        }
    }
}

impl HeaderTemplate {
    /// Renders the value as of `now`; `None` only if a date falls outside
    /// what the clock can represent, in which case we leave the header out.
    fn render(&self, now: SystemTime) -> Option<HeaderValue> {
        match self {
            HeaderTemplate::Fixed(value) => Some(value.clone()),
            HeaderTemplate::HttpDateOffset(secs) => {
                let offset = Duration::from_secs(secs.unsigned_abs());
                let when = if *secs >= 0 {
                    now.checked_add(offset)
                } else {
                    now.checked_sub(offset)
                }?;
                HeaderValue::from_str(&httpdate::fmt_http_date(when)).ok()
            }
        }
    }
}
