//! What the sandbox remembers: every dispatch request, every placed call,
//! the id counter, the fault generator and the script cursors.
//!
//! All of it sits behind one mutex, held only for a few pushes at a time and
//! never across an `.await`. One lock keeps the record consistent (a placed
//! call and its request appear together) and makes the order of random
//! draws the order of arrival, which is what lets a seeded run repeat. The
//! decisions themselves are made in `dispatch.rs`; this file only keeps the
//! books and renders them as JSON.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use jiff::Timestamp;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Map, Value};

use super::SandboxConfig;

/// One call the sandbox counts as placed.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    /// The sequence number of the request that placed it.
    pub seq: u64,
    /// The request id the sandbox answered (or would have answered) with.
    pub request_id: u64,
    /// `agent_id` from the request body.
    pub agent_id: i64,
    /// `to_number` from the request body.
    pub to_number: String,
    /// `from_number_id` from the request body, if present.
    pub from_number_id: Option<i64>,
    /// `call_context` from the request body, if present.
    pub call_context: Option<Map<String, Value>>,
    /// When the request arrived.
    pub received_at: Timestamp,
}

/// One `POST /calls/dispatch` the sandbox received, whatever became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// 1-based position in arrival order.
    pub seq: u64,
    /// `to_number` from the body, when the body had a string there.
    pub to_number: Option<String>,
    /// When the request arrived.
    pub received_at: Timestamp,
    /// The HTTP status answered; `None` while pending, and for good when
    /// the connection was dropped or hung.
    pub status: Option<u16>,
    /// Whether this request placed a call.
    pub placed: bool,
    /// The placed call's request id.
    pub request_id: Option<u64>,
}

/// Settings and books shared by every connection of one sandbox.
#[derive(Debug)]
pub(crate) struct State {
    /// The configuration the sandbox was started with.
    pub config: SandboxConfig,
    /// The mutable books; see the file comment for why there is one lock.
    books: Mutex<Books>,
}

/// The mutable part of the state.
#[derive(Debug)]
pub(crate) struct Books {
    /// Placed calls, in the order they were placed.
    calls: Vec<RecordedCall>,
    /// Dispatch requests, in arrival order; `requests[seq - 1]`.
    requests: Vec<ReceivedRequest>,
    /// The id the next unscripted placed call gets.
    next_id: u64,
    /// Draws the random faults.
    rng: SmallRng,
    /// How many requests each scripted number has had.
    script_used: HashMap<String, usize>,
    /// Dialer faults the script caught (requests beyond a sequence).
    script_faults: Vec<String>,
}

impl State {
    /// Creates empty books for `config`.
    pub fn new(config: SandboxConfig) -> State {
        let books = Books {
            calls: Vec::new(),
            requests: Vec::new(),
            next_id: config.first_request_id,
            rng: SmallRng::seed_from_u64(config.seed),
            script_used: HashMap::new(),
            script_faults: Vec::new(),
        };
        State {
            config,
            books: Mutex::new(books),
        }
    }

    /// Locks the books.
    ///
    /// A panic while the lock was held can only have come from a bug in a
    /// push; the books are still readable, and refusing every later request
    /// would hide that bug behind a flood of others, so we take them as is.
    pub fn books(&self) -> MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the status answered to request `seq`.
    pub fn answered(&self, seq: u64, status: u16) {
        if let Some(request) = self.books().request_mut(seq) {
            request.status = Some(status);
        }
    }

    /// Renders `GET /__sandbox/calls`.
    pub fn calls_json(&self) -> Vec<u8> {
        let books = self.books();
        let views: Vec<_> = books.calls.iter().map(CallView::from).collect();
        to_json_bytes(&views)
    }

    /// Renders `GET /__sandbox/requests`.
    pub fn requests_json(&self) -> Vec<u8> {
        let books = self.books();
        let views: Vec<_> = books.requests.iter().map(RequestView::from).collect();
        to_json_bytes(&views)
    }
}

impl Books {
    /// Records a newly arrived request and returns its sequence number.
    pub fn arrive(&mut self, to_number: Option<String>, received_at: Timestamp) -> u64 {
        let seq = self.requests.len() as u64 + 1;
        self.requests.push(ReceivedRequest {
            seq,
            to_number,
            received_at,
            status: None,
            placed: false,
            request_id: None,
        });
        seq
    }

    /// Records `call` as placed by its request.
    pub fn place(&mut self, call: RecordedCall) {
        if let Some(request) = self.request_mut(call.seq) {
            request.placed = true;
            request.request_id = Some(call.request_id);
        }
        self.calls.push(call);
    }

    /// Hands out the next sandbox request id.
    pub fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The id [`Books::take_id`] would hand out next.
    pub fn peek_id(&self) -> u64 {
        self.next_id
    }

    /// Draws one uniform number in [0, 1) for the fault decision.
    pub fn draw(&mut self) -> f64 {
        self.rng.random()
    }

    /// Counts one more request to a scripted number and returns how many it
    /// had before.
    pub fn use_script_slot(&mut self, to_number: &str) -> usize {
        // Looking up first avoids allocating a key on every request after
        // the number's first.
        if let Some(used) = self.script_used.get_mut(to_number) {
            *used += 1;
            return *used - 1;
        }
        self.script_used.insert(to_number.to_string(), 1);
        0
    }

    /// Remembers a dialer fault the script caught.
    pub fn script_fault(&mut self, message: String) {
        self.script_faults.push(message);
    }

    /// Every placed call, in order.
    pub fn calls(&self) -> &[RecordedCall] {
        &self.calls
    }

    /// Every dispatch request, in arrival order.
    pub fn requests(&self) -> &[ReceivedRequest] {
        &self.requests
    }

    /// Every dialer fault the script caught.
    pub fn script_faults(&self) -> &[String] {
        &self.script_faults
    }

    /// The request with sequence number `seq`.
    fn request_mut(&mut self, seq: u64) -> Option<&mut ReceivedRequest> {
        let index = usize::try_from(seq).ok()?.checked_sub(1)?;
        self.requests.get_mut(index)
    }
}

/// Formats a timestamp as RFC 3339 in UTC with microseconds.
pub(crate) fn rfc3339_micros(at: Timestamp) -> String {
    format!("{at:.6}")
}

/// A timestamp as fractional milliseconds since the Unix epoch.
pub(crate) fn unix_ms(at: Timestamp) -> f64 {
    at.as_microsecond() as f64 / 1000.0
}

/// Serializes `value`, which holds only strings, numbers and maps with
/// string keys and so cannot fail; an empty array stands in just in case.
fn to_json_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"[]".to_vec())
}

/// One element of `GET /__sandbox/calls`.
#[derive(Serialize)]
struct CallView<'a> {
    /// See [`RecordedCall::seq`].
    seq: u64,
    /// See [`RecordedCall::request_id`].
    request_id: u64,
    /// See [`RecordedCall::agent_id`].
    agent_id: i64,
    /// See [`RecordedCall::to_number`].
    to_number: &'a str,
    /// See [`RecordedCall::from_number_id`].
    from_number_id: Option<i64>,
    /// See [`RecordedCall::call_context`].
    call_context: Option<&'a Map<String, Value>>,
    /// RFC 3339 with microseconds.
    received_at: String,
    /// Milliseconds since the Unix epoch.
    received_unix_ms: f64,
}

impl<'a> From<&'a RecordedCall> for CallView<'a> {
    fn from(call: &'a RecordedCall) -> Self {
        CallView {
            seq: call.seq,
            request_id: call.request_id,
            agent_id: call.agent_id,
            to_number: &call.to_number,
            from_number_id: call.from_number_id,
            call_context: call.call_context.as_ref(),
            received_at: rfc3339_micros(call.received_at),
            received_unix_ms: unix_ms(call.received_at),
        }
    }
}

/// One element of `GET /__sandbox/requests`.
#[derive(Serialize)]
struct RequestView<'a> {
    /// See [`ReceivedRequest::seq`].
    seq: u64,
    /// See [`ReceivedRequest::to_number`].
    to_number: Option<&'a str>,
    /// Milliseconds since the Unix epoch.
    received_unix_ms: f64,
    /// See [`ReceivedRequest::status`].
    status: Option<u16>,
    /// See [`ReceivedRequest::placed`].
    placed: bool,
    /// See [`ReceivedRequest::request_id`].
    request_id: Option<u64>,
}

impl<'a> From<&'a ReceivedRequest> for RequestView<'a> {
    fn from(request: &'a ReceivedRequest) -> Self {
        RequestView {
            seq: request.seq,
            to_number: request.to_number.as_deref(),
            received_unix_ms: unix_ms(request.received_at),
            status: request.status,
            placed: request.placed,
            request_id: request.request_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the timestamp forms used in the JSON records.
    #[test]
    fn timestamp_forms() {
        let at = Timestamp::new(1_123_456_789, 123_456_789).unwrap();
        assert_eq!(rfc3339_micros(at), "2005-08-07T23:19:49.123456Z");
        assert_eq!(unix_ms(at), 1_123_456_789_123.456);
        let whole = Timestamp::new(1_123_456_789, 0).unwrap();
        assert_eq!(rfc3339_micros(whole), "2005-08-07T23:19:49.000000Z");
    }

    /// Placing a call marks its request; ids count up from the first.
    #[test]
    fn books_link_requests_and_calls() {
        let config = SandboxConfig {
            first_request_id: 50,
            ..SandboxConfig::default()
        };
        let state = State::new(config);
        let mut books = state.books();
        let seq = books.arrive(Some("+15550000001".into()), Timestamp::UNIX_EPOCH);
        assert_eq!(books.peek_id(), 50);
        let request_id = books.take_id();
        books.place(RecordedCall {
            seq,
            request_id,
            agent_id: 1,
            to_number: "+15550000001".into(),
            from_number_id: None,
            call_context: None,
            received_at: Timestamp::UNIX_EPOCH,
        });
        assert_eq!(books.peek_id(), 51);
        assert!(books.requests()[0].placed);
        assert_eq!(books.requests()[0].request_id, Some(50));
        assert_eq!(books.use_script_slot("+1"), 0);
        assert_eq!(books.use_script_slot("+1"), 1);
        drop(books);

        state.answered(seq, 200);
        state.answered(99, 200);
        assert_eq!(state.books().requests()[0].status, Some(200));
    }
}
