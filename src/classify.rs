//! The one place that decides what an API answer means. Everything else asks
//! [`classify`]: the workers, the retry loop, the summary and the README's
//! table all follow it.
//!
//! The guiding rule: a request that may have placed a call is never retried
//! by default, because the dispatch endpoint has no idempotency key and a
//! second request rings the same person again.

use serde_json::Value;

/// Longest server message kept, in characters.
const MAX_MESSAGE_CHARS: usize = 200;

/// What came back for one request, stripped of transport details.
#[derive(Debug, Clone)]
pub enum Answer<'a> {
    /// An HTTP response arrived (its body read completely, or not).
    Response {
        /// HTTP status code.
        status: u16,
        /// The body, or `None` when it could not be read.
        body: Option<&'a [u8]>,
        /// The `Retry-After` header, if any.
        retry_after: Option<&'a str>,
    },
    /// No response: the request was certainly not sent (connection refused,
    /// DNS or TLS failure before any byte left).
    NotSent(String),
    /// No response after the request was sent: a timeout or a dropped
    /// connection. The call may have been placed.
    Lost(String),
}

/// What the dialer does about an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The call was placed; record the platform's id.
    Dispatched {
        /// The platform's `requestId`.
        request_id: u64,
    },
    /// Refused for this contact; retrying will not help.
    Failed(String),
    /// Not placed and safe to send again after the backoff.
    Retry(String),
    /// 429: not placed; the whole pool waits (the header, or the backoff).
    SlowDown {
        /// The raw `Retry-After` value, read by `retry::parse_retry_after`.
        retry_after: Option<String>,
        /// The server's message.
        message: String,
    },
    /// May have been placed; record `unknown` and do not retry by default.
    Unknown(String),
    /// Further calls are pointless (bad key, no balance): stop the campaign.
    Fatal(String),
}

impl Verdict {
    /// Whether the request certainly did not place a call.
    pub fn is_not_placed(&self) -> bool {
        matches!(
            self,
            Verdict::Failed(_) | Verdict::Retry(_) | Verdict::SlowDown { .. } | Verdict::Fatal(_)
        )
    }
}

/// Classifies one answer. Pure: no I/O, no clock.
pub fn classify(answer: &Answer<'_>) -> Verdict {
    match answer {
        Answer::NotSent(err) => Verdict::Retry(format!("not sent: {err}")),
        Answer::Lost(err) => Verdict::Unknown(format!("no answer after sending: {err}")),
        Answer::Response {
            status,
            body,
            retry_after,
        } => classify_response(*status, *body, *retry_after),
    }
}

/// Classifies an HTTP response by status, then by body.
fn classify_response(status: u16, body: Option<&[u8]>, retry_after: Option<&str>) -> Verdict {
    let message = || server_message(status, body);
    match status {
        200..=299 => classify_success(status, body),
        401 | 403 => Verdict::Fatal(format!(
            "the API key was rejected ({status}: {}); check OMNIDIM_API_KEY",
            message()
        )),
        402 => Verdict::Fatal(format!(
            "the account cannot pay for calls (402: {})",
            message()
        )),
        429 => Verdict::SlowDown {
            retry_after: retry_after.map(str::to_string),
            message: message(),
        },
        408 | 502 | 503 => Verdict::Retry(format!("{status}: {}", message())),
        400..=499 => {
            let message = message();
            if is_balance_message(&message) {
                Verdict::Fatal(format!(
                    "the account cannot pay for calls ({status}: {message})"
                ))
            } else {
                Verdict::Failed(format!("{status}: {message}"))
            }
        }
        _ => Verdict::Unknown(format!("{status}: {}", message())),
    }
}

/// A 2xx is a dispatched call only with `success: true` and an integer
/// `requestId`; an unreadable 2xx may still have placed a call.
fn classify_success(status: u16, body: Option<&[u8]>) -> Verdict {
    // The usual answer, read straight into its two fields; anything else
    // (a refusal, odd types, a repeated key) takes the general path below.
    if let Some(Ok(Accepted {
        success: true,
        request_id,
    })) = body.map(serde_json::from_slice::<Accepted>)
    {
        return Verdict::Dispatched { request_id };
    }
    let Some(json) = body.and_then(|b| serde_json::from_slice::<Value>(b).ok()) else {
        return Verdict::Unknown(format!("{status} with a body that could not be read"));
    };
    let success = json.get("success").and_then(Value::as_bool);
    let request_id = json.get("requestId").and_then(Value::as_u64);
    match (success, request_id) {
        (Some(true), Some(request_id)) => Verdict::Dispatched { request_id },
        (Some(false), _) => {
            let message = message_from_json(&json).unwrap_or_else(|| "success: false".into());
            if is_balance_message(&message) {
                Verdict::Fatal(format!("the account cannot pay for calls ({message})"))
            } else {
                Verdict::Failed(format!("{status}: {message}"))
            }
        }
        _ => Verdict::Unknown(format!(
            "{status} without success: true and an integer requestId"
        )),
    }
}

/// The fields of a dispatch answer that say the call was placed.
#[derive(Debug, serde::Deserialize)]
struct Accepted {
    /// `true` when the call was placed.
    success: bool,
    /// The platform's id for the request.
    #[serde(rename = "requestId")]
    request_id: u64,
}

/// Whether a refusal says the account has no money left.
fn is_balance_message(message: &str) -> bool {
    let lower = message.to_lowercase();
    lower.contains("insufficient")
        && ["balance", "credit", "fund"]
            .iter()
            .any(|w| lower.contains(w))
}

/// The server's message: the first of `error_description`, `error`,
/// `detail`, `message` in a JSON body, else a short plain-text body, else
/// the status's reason phrase. Cut to a sane length.
pub fn server_message(status: u16, body: Option<&[u8]>) -> String {
    let text = body.map(String::from_utf8_lossy).unwrap_or_default();
    let from_json = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|json| message_from_json(&json));
    let message = match from_json {
        Some(message) => message,
        None if !text.trim().is_empty() && !text.trim_start().starts_with('<') => text.into_owned(),
        None => reason_phrase(status).to_string(),
    };
    shorten(&message)
}

/// The first message field present in a JSON error body.
fn message_from_json(json: &Value) -> Option<String> {
    ["error_description", "error", "detail", "message"]
        .iter()
        .find_map(|key| match json.get(*key)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Null => None,
            other if !other.is_string() => Some(other.to_string()),
            _ => None,
        })
}

/// One line, at most `MAX_MESSAGE_CHARS` characters.
fn shorten(message: &str) -> String {
    let flat: String = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX_MESSAGE_CHARS {
        return flat;
    }
    let cut: String = flat.chars().take(MAX_MESSAGE_CHARS).collect();
    format!("{cut}…")
}

/// The standard reason phrase, for answers with no readable message.
fn reason_phrase(status: u16) -> &'static str {
    http_reason(status).unwrap_or("no message")
}

/// Reason phrases of the statuses the API is known to send.
fn http_reason(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Verdict {
        classify(&Answer::Response {
            status,
            body: Some(body.as_bytes()),
            retry_after: None,
        })
    }

    #[test]
    fn a_success_with_an_id_is_dispatched() {
        let body = r#"{"success": true, "status": "dispatched", "requestId": 31}"#;
        assert_eq!(response(200, body), Verdict::Dispatched { request_id: 31 });
    }

    #[test]
    fn an_unreadable_success_may_have_placed_a_call() {
        assert!(matches!(response(200, "<html>"), Verdict::Unknown(_)));
        assert!(matches!(
            response(200, r#"{"success": true}"#),
            Verdict::Unknown(_)
        ));
        assert!(matches!(
            response(200, r#"{"success": true, "requestId": "12"}"#),
            Verdict::Unknown(_)
        ));
        let unread = Answer::Response {
            status: 200,
            body: None,
            retry_after: None,
        };
        assert!(matches!(classify(&unread), Verdict::Unknown(_)));
    }

    #[test]
    fn a_refusal_in_a_200_fails_the_contact_with_the_servers_words() {
        let body = r#"{"success": false, "error": "number blocked"}"#;
        assert_eq!(
            response(200, body),
            Verdict::Failed("200: number blocked".into())
        );
    }

    #[test]
    fn client_errors_fail_the_contact() {
        for status in [400, 404, 409, 422] {
            let verdict = response(status, r#"{"detail": "agent not found"}"#);
            assert_eq!(
                verdict,
                Verdict::Failed(format!("{status}: agent not found"))
            );
        }
    }

    #[test]
    fn bad_keys_and_empty_wallets_stop_the_campaign() {
        assert!(matches!(response(401, ""), Verdict::Fatal(m) if m.contains("OMNIDIM_API_KEY")));
        assert!(matches!(response(403, "{}"), Verdict::Fatal(_)));
        assert!(matches!(response(402, "{}"), Verdict::Fatal(_)));
        let broke = r#"{"success": false, "message": "Insufficient balance"}"#;
        assert!(matches!(response(200, broke), Verdict::Fatal(_)));
        assert!(matches!(response(400, broke), Verdict::Fatal(_)));
    }

    #[test]
    fn overload_is_retried_and_ambiguity_is_not() {
        assert!(matches!(response(502, ""), Verdict::Retry(_)));
        assert!(matches!(response(503, "{}"), Verdict::Retry(_)));
        assert!(matches!(response(500, ""), Verdict::Unknown(_)));
        assert!(matches!(
            response(504, "<html>504</html>"),
            Verdict::Unknown(_)
        ));
        assert!(matches!(
            classify(&Answer::NotSent("refused".into())),
            Verdict::Retry(_)
        ));
        assert!(matches!(
            classify(&Answer::Lost("timeout".into())),
            Verdict::Unknown(_)
        ));
    }

    #[test]
    fn a_429_carries_its_retry_after() {
        let answer = Answer::Response {
            status: 429,
            body: Some(b"{\"error\": \"rate limit exceeded\"}"),
            retry_after: Some("2"),
        };
        assert_eq!(
            classify(&answer),
            Verdict::SlowDown {
                retry_after: Some("2".into()),
                message: "rate limit exceeded".into()
            }
        );
    }

    #[test]
    fn messages_come_from_the_first_known_field_or_short_text() {
        let both = br#"{"message": "second", "error_description": "first"}"#;
        assert_eq!(server_message(400, Some(both)), "first");
        assert_eq!(server_message(400, Some(b"plain\n text")), "plain text");
        assert_eq!(
            server_message(504, Some(b"<html>x</html>")),
            "Gateway Timeout"
        );
        assert_eq!(server_message(500, None), "Internal Server Error");
        let long = "y".repeat(500);
        assert_eq!(
            server_message(400, Some(long.as_bytes())).chars().count(),
            201
        );
    }
}
