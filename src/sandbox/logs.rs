//! `GET /api/v1/calls/logs` and `GET /api/v1/calls/logs/{id}`.
//!
//! A log is not stored: it is rendered on demand from a placed call. Its
//! outcome (status, duration, cost, hangup reason) is a pure function of the
//! sandbox seed and the call's request id, so the same run always shows the
//! same outcomes whatever order the logs are read in. Placing calls belongs
//! to `dispatch.rs`; this file only reads the record.

use bytes::Bytes;
use hyper::StatusCode;
use serde_json::{Value, json};

use super::server::{Reply, error_body, json_response};
use super::state::{RecordedCall, State};

/// Page size when the query gives none.
const DEFAULT_PAGE_SIZE: usize = 10;

/// The largest page served; larger requests are cut down to it.
const MAX_PAGE_SIZE: usize = 500;

/// Log ids are this plus the call's 1-based position in the record. The
/// offset keeps log ids from coinciding with request ids, so a dialer that
/// mixes the two up fails in tests instead of passing by luck.
const LOG_ID_BASE: u64 = 1_000_000;

/// The caller number every sandbox log shows (a fictional 555-01xx number).
const FROM_NUMBER: &str = "+15555550100";

/// The simulated end of one placed call.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Outcome {
    /// `completed`, `busy`, `no-answer` or `failed`.
    status: &'static str,
    /// Talk time; zero unless completed.
    duration_s: u64,
    /// Cost in dollars; zero unless completed.
    cost: f64,
    /// Why the call ended.
    hangup_reason: &'static str,
}

/// A checked `GET /calls/logs` query.
#[derive(Debug, Clone, PartialEq)]
struct LogQuery {
    /// 1-based page number.
    pageno: usize,
    /// Logs per page, at most [`MAX_PAGE_SIZE`].
    pagesize: usize,
    /// Only logs of this agent.
    agent_id: Option<i64>,
    /// Only logs with this status.
    call_status: Option<String>,
    /// Only logs of this bulk campaign.
    bulk_call_id: Option<String>,
}

/// Serves a page of logs, filtered as the query asks.
pub(crate) fn list(state: &State, query: Option<&str>) -> Reply {
    let query = match parse_query(query.unwrap_or("")) {
        Ok(query) => query,
        Err(reason) => return json_response(StatusCode::BAD_REQUEST, error_body(&reason)),
    };
    let skip = (query.pageno - 1).saturating_mul(query.pagesize);

    let seed = state.config.seed;
    let books = state.books();
    let mut page = Vec::new();
    let mut total = 0_usize;
    for (index, call) in books.calls().iter().enumerate() {
        let outcome = outcome(seed, call.request_id);
        if !query.matches(call, &outcome) {
            continue;
        }
        if total >= skip && page.len() < query.pagesize {
            page.push(render(index, call, &outcome));
        }
        total += 1;
    }
    drop(books);

    let body = json!({ "call_log_data": page, "total_records": total });
    json_response(StatusCode::OK, Bytes::from(body.to_string()))
}

/// Serves one log by its id, or 404.
pub(crate) fn one(state: &State, id: &str) -> Reply {
    let index = id
        .parse::<u64>()
        .ok()
        .and_then(|id| id.checked_sub(LOG_ID_BASE + 1))
        .and_then(|index| usize::try_from(index).ok());
    let books = state.books();
    let Some(call) = index.and_then(|index| books.calls().get(index)) else {
        drop(books);
        return json_response(
            StatusCode::NOT_FOUND,
            error_body(&format!("no call log with id {id}")),
        );
    };
    let log = render(
        index.unwrap_or_default(),
        call,
        &outcome(state.config.seed, call.request_id),
    );
    drop(books);

    let body = json!({ "call_log_data": [log] });
    json_response(StatusCode::OK, Bytes::from(body.to_string()))
}

/// Renders one call as a log; `index` is its position in the record.
fn render(index: usize, call: &RecordedCall, outcome: &Outcome) -> Value {
    json!({
        "id": LOG_ID_BASE + index as u64 + 1,
        "agent_id": call.agent_id,
        "to_number": call.to_number,
        "from_number": FROM_NUMBER,
        "time_of_call": call.received_at.strftime("%d/%m/%Y %H:%M:%S").to_string(),
        "call_direction": "outbound",
        "call_status": outcome.status,
        "call_duration_in_seconds": outcome.duration_s,
        "call_cost": outcome.cost,
        "hangup_reason": outcome.hangup_reason,
        "call_request_id": { "id": call.request_id, "type_of_request": "dispatch" },
        "extracted_variables": {},
        "bulk_call_id": null,
    })
}

impl LogQuery {
    /// Returns true when `call`, with its `outcome`, passes every filter.
    fn matches(&self, call: &RecordedCall, outcome: &Outcome) -> bool {
        self.agent_id.is_none_or(|agent| agent == call.agent_id)
            && self.call_status.as_deref().is_none_or(|status| status == outcome.status)
            // Sandbox calls come from single dispatches, never from a bulk
            // campaign, so any bulk campaign filter leaves nothing.
            && self.bulk_call_id.is_none()
    }
}

/// Parses the query string. Unknown parameters are ignored and empty values
/// count as absent, as lenient servers do; malformed numbers are refused.
fn parse_query(raw: &str) -> Result<LogQuery, String> {
    let mut query = LogQuery {
        pageno: 1,
        pagesize: DEFAULT_PAGE_SIZE,
        agent_id: None,
        call_status: None,
        bulk_call_id: None,
    };
    for pair in raw.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        if value.is_empty() {
            continue;
        }
        match name {
            "pageno" => query.pageno = parse_positive(name, &value)?,
            "pagesize" => query.pagesize = parse_positive(name, &value)?.min(MAX_PAGE_SIZE),
            "agentid" => {
                let agent = value
                    .parse()
                    .map_err(|_| format!("agentid {value:?} is not an integer"))?;
                query.agent_id = Some(agent);
            }
            "call_status" => query.call_status = Some(value),
            "bulk_call_id" => query.bulk_call_id = Some(value),
            _ => {}
        }
    }
    Ok(query)
}

/// Parses a page number or size, which must be at least 1.
fn parse_positive(name: &str, value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "{name} {value:?} is not a whole number of at least 1"
        )),
    }
}

/// Decodes `%XX` escapes and `+` in a query value; a malformed escape is
/// kept as written rather than refused.
fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes.get(i + 1..i + 3).and_then(|hex| {
            let hex = std::str::from_utf8(hex).ok()?;
            u8::from_str_radix(hex, 16).ok()
        });
        match (bytes[i], escaped) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The outcome of the call with `request_id` in a sandbox seeded `seed`.
///
/// Odds: 60% completed, 20% no-answer, 10% busy, 10% failed. A completed
/// call lasts 15 s to 10 min and costs $0.09 a minute.
fn outcome(seed: u64, request_id: u64) -> Outcome {
    let hash = mix(seed ^ mix(request_id));
    let unanswered = |status, hangup_reason| Outcome {
        status,
        duration_s: 0,
        cost: 0.0,
        hangup_reason,
    };
    match hash % 100 {
        0..60 => {
            let duration_s = 15 + (hash >> 8) % 586;
            let cost = (duration_s as f64 * 0.0015 * 10_000.0).round() / 10_000.0;
            let hangup_reason = if (hash >> 20) & 1 == 0 {
                "user_hangup"
            } else {
                "agent_hangup"
            };
            Outcome {
                status: "completed",
                duration_s,
                cost,
                hangup_reason,
            }
        }
        60..80 => unanswered("no-answer", "no_answer"),
        80..90 => unanswered("busy", "busy"),
        _ => unanswered("failed", "call_failed"),
    }
}

/// A 64-bit mixing function (the splitmix64 finalizer): nearby inputs give
/// unrelated outputs, which is all the outcome draw needs.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Defaults, the size cap, filters and escapes.
    #[test]
    fn query_parsing() {
        let defaults = parse_query("").unwrap();
        assert_eq!((defaults.pageno, defaults.pagesize), (1, DEFAULT_PAGE_SIZE));
        let query =
            parse_query("pageno=3&pagesize=9999&agentid=42&call_status=no%2Danswer&x=1").unwrap();
        assert_eq!(query.pageno, 3);
        assert_eq!(query.pagesize, MAX_PAGE_SIZE);
        assert_eq!(query.agent_id, Some(42));
        assert_eq!(query.call_status.as_deref(), Some("no-answer"));
        assert_eq!(
            parse_query("agentid=&bulk_call_id=").unwrap().agent_id,
            None
        );
    }

    /// Malformed numbers are refused, naming the parameter.
    #[test]
    fn bad_query_values() {
        for (raw, needle) in [
            ("pageno=0", "pageno"),
            ("pagesize=x", "pagesize"),
            ("agentid=4.2", "agentid"),
        ] {
            let err = parse_query(raw).unwrap_err();
            assert!(err.contains(needle), "{raw}: {err}");
        }
    }

    /// Escapes decode; broken ones survive as written.
    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    /// Outcomes depend only on seed and id, and follow the rules for
    /// duration and cost.
    #[test]
    fn outcomes_are_deterministic_and_consistent() {
        let mut seen = std::collections::HashSet::new();
        for id in 1..500 {
            let first = outcome(7, id);
            assert_eq!(first, outcome(7, id));
            if first.status == "completed" {
                assert!((15..=600).contains(&first.duration_s));
                assert!(first.cost > 0.0);
            } else {
                assert_eq!((first.duration_s, first.cost), (0, 0.0));
            }
            seen.insert(first.status);
        }
        assert_eq!(seen.len(), 4, "every status should occur in 500 calls");
        let differs = (1..50).any(|id| outcome(7, id) != outcome(8, id));
        assert!(differs, "the seed should matter");
    }

    /// Pins `time_of_call` as `DD/MM/YYYY HH:MM:SS` in UTC.
    #[test]
    fn time_of_call_format() {
        let call = RecordedCall {
            seq: 1,
            request_id: 1,
            agent_id: 42,
            to_number: "+15550000001".into(),
            from_number_id: None,
            call_context: None,
            received_at: jiff::Timestamp::new(1_123_456_789, 5).unwrap(),
        };
        let log = render(0, &call, &outcome(0, 1));
        assert_eq!(log["time_of_call"], "07/08/2005 23:19:49");
        assert_eq!(log["id"], LOG_ID_BASE + 1);
        assert_eq!(
            log["call_request_id"],
            json!({"id": 1, "type_of_request": "dispatch"})
        );
    }
}
