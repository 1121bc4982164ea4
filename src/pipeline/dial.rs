//! One contact's attempts: wait a turn, write the intent, send, classify,
//! retry what is safe to retry, and record the outcome (or release the
//! contact when the campaign stops first).

use super::*;

/// Dials one contact to a final outcome, or releases it if the campaign
/// stops first. Every failure ends up recorded; none escapes as an error.
#[tracing::instrument(level = "debug", skip_all, fields(row = contact.row))]
pub(super) async fn dial(dialer: &Dialer, contact: Box<Contact>) {
    let mut attempt = Attempt::new(&contact);
    attempt.from_number_id = dialer
        .callers
        .pick(contact.controls.from_number_id)
        .or(dialer.from_number_id);
    // Seeded from the thread's generator: asking the OS costs a system
    // call per contact, a few per cent of an unpaced run.
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    loop {
        // The caller number's own pace first, so that a turn of the shared
        // pacer is not spent waiting on one busy number.
        let turn = async {
            dialer.callers.wait_turn(attempt.from_number_id).await;
            dialer.pacer.wait_turn().await;
        };
        // A stop that came while the turn was due still wins.
        let proceed = dialer.stop.unless_stopped(turn).await.is_some() && !dialer.stop.is_stopped();
        if !proceed {
            return release(dialer, &mut attempt).await;
        }
        // Pacing or a 429 pause may have carried the contact past the end
        // of its calling hours; it is left for a resume rather than called.
        if !dialer.schedule.is_open_for(&contact) {
            tracing::info!(
                row = contact.row,
                "calling hours ended before the call left"
            );
            return release(dialer, &mut attempt).await;
        }
        if !attempt.intent_written {
            let intent = attempt.record(Status::Sending, "");
            if let Err(gone) = dialer.writer.intent(intent).await {
                // The intent is not on disk, so nothing may be sent.
                dialer.stop.fatal(gone.to_string());
                return;
            }
            attempt.intent_written = true;
        }

        attempt.count += 1;
        Tally::bump(&dialer.tally.requests);
        let body = DispatchBody {
            agent_id: contact.controls.agent_id.unwrap_or(dialer.agent_id),
            to_number: &contact.to_number,
            from_number_id: attempt.from_number_id,
            call_context: &contact.context,
        };
        let (verdict, http_status) = dialer.client.dispatch(&body).await;
        attempt.http_status = http_status;
        tracing::debug!(attempt = attempt.count, status = ?http_status, ?verdict, "answer");

        let wait = match next_step(dialer, &mut attempt, verdict, &mut rng) {
            Step::Finish(record) => return finish(dialer, &contact, record).await,
            Step::Release => return release(dialer, &mut attempt).await,
            Step::RetryAfter(wait) => wait,
        };
        let waited = tokio::select! {
            biased;
            _ = dialer.stop.stopped() => false,
            _ = tokio::time::sleep(wait) => true,
        };
        if !waited {
            return release(dialer, &mut attempt).await;
        }
    }
}

/// One contact's attempts so far.
#[derive(Debug)]
struct Attempt {
    /// Row, for records.
    row: u64,
    /// Number, for records.
    to_number: String,
    /// Requests sent.
    count: u32,
    /// Whether the intent record is on disk.
    intent_written: bool,
    /// Status of the last answer.
    http_status: Option<u16>,
    /// When the first attempt began.
    started: Instant,
    /// The caller number every attempt goes out from.
    from_number_id: Option<u64>,
    /// Earlier calls, when this is a redial.
    history: CallHistory,
    /// Why an earlier attempt may have placed the call (with
    /// `--retry-ambiguous`): from then on the contact can only end
    /// dispatched or unknown, never failed or released, or a resume would
    /// dial it again.
    ambiguous: Option<String>,
}

impl Attempt {
    /// No attempt yet.
    fn new(contact: &Contact) -> Attempt {
        Attempt {
            row: contact.row,
            to_number: contact.to_number.clone(),
            count: 0,
            intent_written: false,
            http_status: None,
            started: Instant::now(),
            from_number_id: None,
            history: contact.history.clone(),
            ambiguous: None,
        }
    }

    /// A record for this contact with the attempts so far. After an
    /// ambiguous attempt, an outcome that says "not placed" (failed,
    /// released) becomes unknown: that attempt may have placed the call.
    fn record(&self, status: Status, error: &str) -> Record {
        let (status, error) = match (&self.ambiguous, status) {
            (Some(earlier), Status::Failed | Status::Released) => (
                Status::Unknown,
                format!("{error}; an earlier attempt may have placed the call ({earlier})"),
            ),
            _ => (status, error.to_string()),
        };
        let mut record = Record::new(self.row, self.to_number.clone(), status).with_error(&error);
        record.attempts = self.count;
        record.http_status = self.http_status;
        record.from_number_id = self.from_number_id;
        // A call counts once it may have been placed.
        let placed = matches!(status, Status::Dispatched | Status::Unknown);
        record.calls = self.history.calls_before + u32::from(placed);
        record.earlier_calls = self.history.earlier_calls.clone();
        record
    }
}

/// What to do after an answer.
#[derive(Debug)]
enum Step {
    /// Record this and stop dialing the contact.
    Finish(Record),
    /// Not placed, and the campaign is stopping: take the intent back.
    Release,
    /// Try again after this wait.
    RetryAfter(Duration),
}

/// Applies the retry policy to a verdict.
fn next_step(dialer: &Dialer, attempt: &mut Attempt, verdict: Verdict, rng: &mut SmallRng) -> Step {
    let policy = &dialer.policy;
    // No retry starts after max_elapsed: one that would, after its
    // backoff, is not begun.
    let backoff = policy.backoff(attempt.count + 1, rng);
    let out_of_attempts = attempt.count >= policy.max_attempts
        || attempt.started.elapsed() + backoff > policy.max_elapsed;
    match verdict {
        Verdict::Dispatched { request_id } => {
            let mut record = attempt.record(Status::Dispatched, "");
            record.request_id = Some(request_id);
            Step::Finish(record)
        }
        Verdict::Failed(message) => Step::Finish(attempt.record(Status::Failed, &message)),
        Verdict::Fatal(message) => {
            dialer.stop.fatal(message);
            Step::Release
        }
        Verdict::Unknown(message) if !dialer.retry_ambiguous || out_of_attempts => {
            Step::Finish(attempt.record(Status::Unknown, &message))
        }
        Verdict::Unknown(message) => {
            attempt.ambiguous.get_or_insert(message);
            Step::RetryAfter(backoff)
        }
        Verdict::Retry(message) if out_of_attempts => Step::Finish(attempt.record(
            Status::Failed,
            &format!("{message} (after {})", attempts(attempt.count)),
        )),
        Verdict::Retry(_) => Step::RetryAfter(backoff),
        Verdict::SlowDown {
            retry_after,
            message,
        } => slow_down(
            dialer,
            attempt,
            retry_after,
            &message,
            out_of_attempts,
            backoff,
        ),
    }
}

/// A 429: pause the whole pool for the server's wait (never less than the
/// backoff), or stop the campaign when the wait is longer than we sit out.
fn slow_down(
    dialer: &Dialer,
    attempt: &mut Attempt,
    retry_after: Option<String>,
    message: &str,
    out_of_attempts: bool,
    backoff: Duration,
) -> Step {
    let policy = &dialer.policy;
    let asked = match retry_after
        .as_deref()
        .map(|v| parse_retry_after(v, std::time::SystemTime::now()))
    {
        Some(RetryAfter::Wait(wait)) => wait,
        Some(RetryAfter::Unreadable) => {
            tracing::warn!(
                value = retry_after.as_deref(),
                "unreadable Retry-After; using the backoff"
            );
            Duration::ZERO
        }
        None => Duration::ZERO,
    };
    if asked > policy.max_wait {
        let resume_at = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::try_from(asked).unwrap_or(jiff::SignedDuration::MAX))
            .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
            .unwrap_or_else(|_| "much later".into());
        dialer.stop.fatal(format!(
            "the API asked to wait {} ({message}), longer than retry.max_wait ({}); resume \
             after {resume_at} with --resume",
            humantime::format_duration(asked),
            humantime::format_duration(policy.max_wait),
        ));
        return Step::Release;
    }
    if out_of_attempts {
        return Step::Finish(attempt.record(
            Status::Failed,
            &format!("429: {message} (after {})", attempts(attempt.count)),
        ));
    }
    let wait = asked.max(backoff);
    dialer.pacer.slow_down();
    dialer.pacer.pause_for(wait);
    tracing::info!(row = attempt.row, wait = ?wait, "429: pausing every request");
    Step::RetryAfter(Duration::ZERO)
}

/// Records a final outcome and updates counters and the breaker.
async fn finish(dialer: &Dialer, contact: &Contact, record: Record) {
    let tally = &dialer.tally;
    match record.status {
        Status::Dispatched => {
            Tally::bump(&tally.dispatched);
            dialer.pacer.record_success();
        }
        Status::Unknown => tally.note_unknown(contact.row),
        _ => {
            Tally::bump(&tally.failed);
            tally.note_problem(contact.row, "failed", &record.error);
        }
    }
    let kind = streak_kind(&record);
    let tripped = dialer
        .breaker
        .lock()
        .map(|mut b| b.observe(kind.as_deref(), dialer.breaker_threshold))
        .unwrap_or(false);
    if tripped {
        let how = if record.status == Status::Unknown {
            "got an unclear answer (each may have placed a call); the last"
        } else {
            "were refused the same way; the last"
        };
        dialer.stop.fatal(format!(
            "{} calls in a row {how}: {}",
            dialer.breaker_threshold, record.error
        ));
    }
    record_or_stop(dialer, record).await;
}

/// Records an outcome; if the writer is gone, stops the campaign, since
/// nothing more can be recorded.
async fn record_or_stop(dialer: &Dialer, record: Record) {
    if let Err(gone) = dialer.writer.record(record).await {
        dialer.stop.fatal(gone.to_string());
    }
}

/// What a failed outcome counts as in the circuit breaker's streak, or
/// `None` for a dispatched call, which ends any streak. Every unclear
/// answer counts alike, whatever its text (a 500 body often carries a
/// request id of its own); refusals count by HTTP status, or by the kind
/// of transport failure when none came back.
fn streak_kind(record: &Record) -> Option<String> {
    match (record.status, record.http_status) {
        (Status::Dispatched, _) => None,
        (Status::Unknown, _) => Some("unclear".into()),
        (_, Some(status)) => Some(format!("HTTP {status}")),
        (_, None) => Some(
            record
                .error
                .split(':')
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
    }
}

/// Takes back a contact whose call was not placed, so a resume dials it;
/// after an ambiguous attempt it is recorded unknown instead.
async fn release(dialer: &Dialer, attempt: &mut Attempt) {
    if attempt.ambiguous.is_some() {
        dialer.tally.note_unknown(attempt.row);
        let record = attempt.record(Status::Released, "run stopped before the next attempt");
        return record_or_stop(dialer, record).await;
    }
    Tally::bump(&dialer.tally.released);
    if attempt.intent_written {
        let record = attempt.record(Status::Released, "run stopped before this call was placed");
        // If the writer is gone the intent stays and a resume reports the
        // contact as unknown: safe, if cautious.
        let _ = dialer.writer.record(record).await;
    }
}

/// "1 attempt", "3 attempts".
fn attempts(count: u32) -> String {
    if count == 1 {
        "1 attempt".into()
    } else {
        format!("{count} attempts")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: Status, http_status: Option<u16>, error: &str) -> Record {
        let mut record = Record::new(1, "+12015550101", status).with_error(error);
        record.http_status = http_status;
        record
    }

    #[test]
    fn a_streak_counts_kinds_of_answer_not_their_text() {
        let kind = |status, http, error| streak_kind(&record(status, http, error));
        assert_eq!(kind(Status::Dispatched, Some(200), ""), None);
        // Unclear answers are all one kind.
        assert_eq!(
            kind(Status::Unknown, Some(500), "500: trace 1"),
            kind(Status::Unknown, None, "no answer after sending: timed out")
        );
        // Refusals by status, whatever the message says.
        assert_eq!(
            kind(
                Status::Failed,
                Some(404),
                "404: agent 7 not found (request 1)"
            ),
            kind(
                Status::Failed,
                Some(404),
                "404: agent 7 not found (request 2)"
            )
        );
        assert_ne!(
            kind(Status::Failed, Some(404), "404: x"),
            kind(Status::Failed, Some(400), "400: x")
        );
        assert_eq!(
            kind(
                Status::Failed,
                None,
                "not sent: connection refused (after 5 attempts)"
            ),
            Some("not sent".into())
        );
    }
}
