//! `POST /api/v1/calls/dispatch`: check, decide, record, answer.
//!
//! This is the sandbox's hot path, so the work per request is kept small:
//! one JSON parse of a small body, one short lock to record the request and
//! decide its fate, a timer only when there is a wait, and success bodies
//! written with `format!` rather than through a JSON tree. The decision is
//! made in one place, [`decide`], in this order: script entry if the script
//! has one for the number, else a random fault, else success. Routing and
//! the connection itself belong to `server.rs`.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, RETRY_AFTER};
use hyper::{Request, StatusCode};
use jiff::Timestamp;
use serde_json::Map;

use super::faults::Fault;
use super::script::{Action, Pick, ScriptEntry};
use super::server::{DropConnection, Reply, authorize, error_body, json_response};
use super::state::{Books, RecordedCall, State};
use super::validate::{DispatchBody, parse, peek_to_number};

/// The largest dispatch body we read; a real body is a few hundred bytes.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The shortest wait of a `slow` fault.
const SLOW_FLOOR: Duration = Duration::from_secs(2);

/// How many times the configured latency a `slow` fault waits.
const SLOW_FACTOR: u32 = 5;

/// Body of the random 429.
const RATE_LIMITED: &str = r#"{"success":false,"error":"rate limit exceeded"}"#;

/// Body of the random 500.
const INTERNAL_ERROR: &str = r#"{"success":false,"error":"internal server error"}"#;

/// Body of the random 502.
const BAD_GATEWAY: &str = r#"{"success":false,"error":"bad gateway"}"#;

/// Body of the random 503.
const UNAVAILABLE: &str = r#"{"success":false,"error":"service temporarily unavailable"}"#;

/// What the sandbox will do with one request, decided under the lock and
/// carried out after it is released.
#[derive(Debug)]
enum Plan<'a> {
    /// Answer with a prepared JSON body.
    Answer {
        /// The status to send.
        status: StatusCode,
        /// The JSON body.
        body: Bytes,
        /// Whether to send `Retry-After: 1`.
        retry_after: bool,
        /// How long to wait first.
        wait: Duration,
    },
    /// Answer with a script entry, rendered after the wait so that dates
    /// are taken at answer time.
    Scripted {
        /// The entry to render.
        entry: &'a ScriptEntry,
        /// The id to put where the body says `"auto"`.
        body_id: u64,
        /// How long to wait first.
        wait: Duration,
    },
    /// Send nothing, wait, then close the connection.
    Close {
        /// How long to keep the connection silent.
        wait: Duration,
    },
}

/// Handles one dispatch request from arrival to answer.
///
/// An `Err` tells hyper to close the connection without answering.
pub(crate) async fn handle(
    state: &State,
    request: Request<Incoming>,
) -> Result<Reply, DropConnection> {
    let received_at = Timestamp::now();
    let auth = authorize(&state.config, request.headers());

    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            let seq = state.books().arrive(None, received_at);
            let plan = answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                error_body("request body is too large"),
                state,
            );
            return carry_out(state, seq, plan).await;
        }
        // The client went away mid-body; there is no one to answer.
        Err(_) => return Err(DropConnection),
    };

    let (seq, plan) = match auth {
        Err(reason) => {
            let seq = state.books().arrive(peek_to_number(&body), received_at);
            (
                seq,
                answer(StatusCode::UNAUTHORIZED, error_body(reason), state),
            )
        }
        Ok(()) => match parse(&body) {
            Ok(dispatch) => decide(state, dispatch, received_at),
            Err(reason) => {
                let seq = state.books().arrive(peek_to_number(&body), received_at);
                (
                    seq,
                    answer(StatusCode::BAD_REQUEST, error_body(&reason), state),
                )
            }
        },
    };
    carry_out(state, seq, plan).await
}

/// Records a valid request and decides what to do with it, all under one
/// lock so that ids, draws and script cursors follow arrival order.
fn decide(state: &State, dispatch: DispatchBody, received_at: Timestamp) -> (u64, Plan<'_>) {
    let mut books = state.books();
    let seq = books.arrive(Some(dispatch.to_number.clone()), received_at);

    if let Some(script) = &state.config.script {
        let number = dispatch.to_number.as_str();
        let used = if script.has_sequence(number) {
            books.use_script_slot(number)
        } else {
            0
        };
        match script.pick(number, used) {
            Pick::Entry(entry) => {
                return (
                    seq,
                    scripted(state, &mut books, seq, dispatch, received_at, entry),
                );
            }
            Pick::Exhausted => return (seq, exhausted(state, &mut books, number)),
            Pick::Unscripted => {}
        }
    }

    let fault = state.config.faults.pick(books.draw());
    (
        seq,
        unscripted(state, &mut books, seq, dispatch, received_at, fault),
    )
}

/// Plans the answer for a request the script does not cover.
fn unscripted<'a>(
    state: &'a State,
    books: &mut Books,
    seq: u64,
    dispatch: DispatchBody,
    received_at: Timestamp,
    fault: Option<Fault>,
) -> Plan<'a> {
    let wait = latency(state);
    let error = |status, body: &'static str| Plan::Answer {
        status,
        body: Bytes::from_static(body.as_bytes()),
        retry_after: false,
        wait,
    };
    match fault {
        Some(Fault::TooManyRequests) => Plan::Answer {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: Bytes::from_static(RATE_LIMITED.as_bytes()),
            retry_after: true,
            wait,
        },
        Some(Fault::InternalError) => error(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_ERROR),
        Some(Fault::BadGateway) => error(StatusCode::BAD_GATEWAY, BAD_GATEWAY),
        Some(Fault::Unavailable) => error(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE),
        Some(Fault::Drop) => Plan::Close { wait },
        Some(Fault::DropAfterAccept) => {
            let id = books.take_id();
            place(books, seq, dispatch, received_at, id);
            Plan::Close { wait }
        }
        None | Some(Fault::Slow) => {
            let id = books.take_id();
            let variables = dispatch.call_context.as_ref().map_or(0, Map::len);
            place(books, seq, dispatch, received_at, id);
            let wait = if fault.is_some() {
                slow_wait(wait)
            } else {
                wait
            };
            let body = success_body(id, variables);
            Plan::Answer {
                status: StatusCode::OK,
                body,
                retry_after: false,
                wait,
            }
        }
    }
}

/// Plans the answer a script entry gives, placing the call if it says so.
fn scripted<'a>(
    state: &State,
    books: &mut Books,
    seq: u64,
    dispatch: DispatchBody,
    received_at: Timestamp,
    entry: &'a ScriptEntry,
) -> Plan<'a> {
    let body_id = if entry.places_call() {
        let id = entry.fixed_request_id().unwrap_or_else(|| books.take_id());
        place(books, seq, dispatch, received_at, id);
        id
    } else {
        // Nothing placed: "auto" shows the id a placed call would get,
        // without using it up.
        books.peek_id()
    };
    let wait = latency(state) + entry.delay;
    match entry.action {
        Action::Hang(silence) => Plan::Close { wait: silence },
        Action::Drop => Plan::Close { wait },
        Action::Respond => Plan::Scripted {
            entry,
            body_id,
            wait,
        },
    }
}

/// Plans the answer to a request beyond a number's scripted list: a dialer
/// fault, logged and kept for the test to assert on.
fn exhausted<'a>(state: &State, books: &mut Books, number: &str) -> Plan<'a> {
    let message = format!("sandbox script exhausted for {number}");
    tracing::error!(
        to_number = number,
        "sandbox script exhausted: the dialer sent one request too many"
    );
    let plan = answer(
        StatusCode::INTERNAL_SERVER_ERROR,
        error_body(&message),
        state,
    );
    books.script_fault(message);
    plan
}

/// Records a placed call.
fn place(
    books: &mut Books,
    seq: u64,
    dispatch: DispatchBody,
    received_at: Timestamp,
    request_id: u64,
) {
    books.place(RecordedCall {
        seq,
        request_id,
        agent_id: dispatch.agent_id,
        to_number: dispatch.to_number,
        from_number_id: dispatch.from_number_id,
        call_context: dispatch.call_context,
        received_at,
    });
}

/// Waits as planned, records the status, and answers or closes.
async fn carry_out(state: &State, seq: u64, plan: Plan<'_>) -> Result<Reply, DropConnection> {
    match plan {
        Plan::Answer {
            status,
            body,
            retry_after,
            wait,
        } => {
            pause(wait).await;
            state.answered(seq, status.as_u16());
            let mut response = json_response(status, body);
            if retry_after {
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Ok(response)
        }
        Plan::Scripted {
            entry,
            body_id,
            wait,
        } => {
            pause(wait).await;
            state.answered(seq, entry.status.as_u16());
            let mut response = json_response(entry.status, entry.render_body(body_id));
            response.headers_mut().remove(hyper::header::CONTENT_TYPE);
            response
                .headers_mut()
                .extend(entry.render_headers(SystemTime::now()));
            Ok(response)
        }
        Plan::Close { wait } => {
            pause(wait).await;
            Err(DropConnection)
        }
    }
}

/// Sleeps for `wait`, skipping the timer entirely when there is no wait.
async fn pause(wait: Duration) {
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

/// An ordinary answer after the configured latency.
fn answer<'a>(status: StatusCode, body: Bytes, state: &State) -> Plan<'a> {
    Plan::Answer {
        status,
        body,
        retry_after: false,
        wait: latency(state),
    }
}

/// The configured latency.
fn latency(state: &State) -> Duration {
    Duration::from_millis(state.config.latency_ms)
}

/// The wait of a `slow` fault, given the configured latency.
fn slow_wait(latency: Duration) -> Duration {
    (latency * SLOW_FACTOR).max(SLOW_FLOOR)
}

/// The body of a successful dispatch.
fn success_body(request_id: u64, variables: usize) -> Bytes {
    Bytes::from(format!(
        concat!(
            r#"{{"success":true,"status":"dispatched","#,
            r#""requestId":{},"custom_variables_count":{}}}"#,
        ),
        request_id, variables
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A slow answer waits five times the latency, at least two seconds.
    #[test]
    fn slow_wait_has_a_floor() {
        assert_eq!(slow_wait(Duration::ZERO), SLOW_FLOOR);
        assert_eq!(slow_wait(Duration::from_millis(100)), SLOW_FLOOR);
        assert_eq!(slow_wait(Duration::from_secs(1)), Duration::from_secs(5));
    }

    /// The success body is valid JSON with the documented fields.
    #[test]
    fn success_body_shape() {
        let body: Value = serde_json::from_slice(&success_body(7, 2)).unwrap();
        let expected = serde_json::json!({
            "success": true, "status": "dispatched", "requestId": 7, "custom_variables_count": 2
        });
        assert_eq!(body, expected);
    }
}
