//! The running campaign: a reader thread streams judged rows into a bounded
//! queue; a dispatcher hands each contact to a task once one of
//! `concurrency` permits is free; each task paces itself through the shared
//! [`Pacer`], records its intent, sends, classifies and retries; one writer
//! thread records everything. A stop (fatal answer, breaker, Ctrl-C) closes
//! intake: requests in flight finish and are recorded, the rest stay
//! unrecorded for a resume.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::Context;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiClient, DispatchBody};
use crate::callers::CallerPool;
use crate::classify::Verdict;
use crate::contacts::RowReader;
use crate::limiter::Pacer;
use crate::outcome::{Prior, Record, Status, WriterHandle};
use crate::redial::CallHistory;
use crate::retry::{RetryAfter, RetryPolicy, parse_retry_after};
use crate::screen::{Contact, Decision, Screen};
use crate::summary::{Ending, Tally};
use crate::waiting::{Next, Schedule, Scheduler};

/// Contacts waiting in the queue per permit; enough to keep every worker
/// busy, small enough that a slow API slows the reader, not memory.
const QUEUE_PER_PERMIT: usize = 4;

/// Why and whether the campaign is stopping. Cloned into every task.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    /// Cancelled once intake must stop.
    token: CancellationToken,
    /// The first reason given; later ones are ignored.
    reason: Arc<Mutex<Option<Ending>>>,
}

impl Stop {
    /// Stops intake for a fatal reason (exit 3).
    pub fn fatal(&self, message: String) {
        self.stop_with(Ending::Stopped(message));
    }

    /// Stops intake after Ctrl-C (exit 130).
    pub fn interrupt(&self) {
        self.stop_with(Ending::Interrupted);
    }

    /// Stops intake because nothing may be dialed until a later time that
    /// `message` names (exit 3, as a quota stop).
    pub fn until_later(&self, message: String) {
        tracing::info!("{message}");
        if let Ok(mut reason) = self.reason.lock()
            && reason.is_none()
        {
            *reason = Some(Ending::Stopped(message));
        }
        self.token.cancel();
    }

    /// Whether intake has stopped.
    pub fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves once intake stops.
    pub async fn stopped(&self) {
        self.token.cancelled().await;
    }

    /// How the run ended: the stop reason, or finished.
    pub fn ending(&self) -> Ending {
        self.reason
            .lock()
            .ok()
            .and_then(|r| r.clone())
            .unwrap_or(Ending::Finished)
    }

    /// Records the first reason and cancels.
    fn stop_with(&self, ending: Ending) {
        if let Ok(mut reason) = self.reason.lock()
            && reason.is_none()
        {
            if let Ending::Stopped(message) = &ending {
                tracing::error!("{message}");
            }
            *reason = Some(ending);
        }
        self.token.cancel();
    }
}

/// Stops the campaign when the same permanent failure repeats: an agent
/// that does not exist would otherwise fail every row of the list.
#[derive(Debug, Default)]
struct Breaker {
    /// The message of the current streak.
    message: String,
    /// Length of the current streak.
    streak: usize,
}

impl Breaker {
    /// Counts a result; returns true when the streak reaches `threshold`.
    fn observe(&mut self, failure: Option<&str>, threshold: usize) -> bool {
        match failure {
            Some(message) if message == self.message => self.streak += 1,
            Some(message) => {
                self.message = message.to_string();
                self.streak = 1;
            }
            None => self.streak = 0,
        }
        threshold > 0 && self.streak >= threshold
    }
}

/// What every dialing task shares.
#[derive(Debug)]
pub struct Dialer {
    /// The API client.
    pub client: ApiClient,
    /// Shared pacing.
    pub pacer: Pacer,
    /// The outcome writer.
    pub writer: WriterHandle,
    /// Live counters.
    pub tally: Arc<Tally>,
    /// Retry schedule.
    pub policy: RetryPolicy,
    /// Retry answers that may have placed a call.
    pub retry_ambiguous: bool,
    /// Agent for every call.
    pub agent_id: u64,
    /// Caller number id.
    pub from_number_id: Option<u64>,
    /// Identical failures in a row that stop the campaign (0 = never).
    pub breaker_threshold: usize,
    /// The stop signal.
    pub stop: Stop,
    /// The failure streak.
    breaker: Mutex<Breaker>,
    /// Caller numbers in turn, and their pacing.
    callers: CallerPool,
    /// Calling hours and the wall clock.
    schedule: Schedule,
}

impl Dialer {
    /// Bundles what the tasks share.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: ApiClient,
        pacer: Pacer,
        writer: WriterHandle,
        tally: Arc<Tally>,
        policy: RetryPolicy,
        retry_ambiguous: bool,
        agent_id: u64,
        from_number_id: Option<u64>,
        breaker_threshold: usize,
        stop: Stop,
    ) -> Dialer {
        Dialer {
            client,
            pacer,
            writer,
            tally,
            policy,
            retry_ambiguous,
            agent_id,
            from_number_id,
            breaker_threshold,
            stop,
            breaker: Mutex::new(Breaker::default()),
            callers: CallerPool::default(),
            schedule: Schedule::default(),
        }
    }

    /// Dials each contact only inside its calling hours.
    pub fn with_schedule(mut self, schedule: Schedule) -> Dialer {
        self.schedule = schedule;
        self
    }

    /// Sends calls from the pool's numbers (row overrides win).
    pub fn with_callers(mut self, callers: CallerPool) -> Dialer {
        self.callers = callers;
        self
    }
}

/// Runs the campaign over `rows` until the list ends or a stop.
pub async fn run(
    dialer: Arc<Dialer>,
    rows: RowReader,
    screen: Screen,
    concurrency: usize,
) -> anyhow::Result<Ending> {
    let (queue_tx, mut queue_rx) = mpsc::channel(concurrency * QUEUE_PER_PERMIT);
    let reader = spawn_reader(
        rows,
        screen,
        queue_tx,
        dialer.writer.clone(),
        dialer.tally.clone(),
        dialer.stop.clone(),
    );

    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    let mut scheduler = Scheduler::new(dialer.schedule.clone());
    let mut closed = None;
    loop {
        let contact = tokio::select! {
            biased;
            _ = dialer.stop.stopped() => break,
            next = scheduler.next(&mut queue_rx) => match next {
                Next::Dial(contact) => contact,
                Next::Done => break,
                Next::Closed(message) => {
                    // Calls already handed to a task still go out.
                    closed = Some(message);
                    break;
                }
            },
        };
        let permit = tokio::select! {
            biased;
            _ = dialer.stop.stopped() => {
                Tally::bump(&dialer.tally.released);
                break;
            }
            permit = permits.clone().acquire_owned() => permit.context("the permit pool closed")?,
        };
        let dialer = dialer.clone();
        tasks.spawn(async move {
            dial(&dialer, *contact).await;
            drop(permit);
        });
        // Reap finished tasks as we go, so the set stays small.
        while tasks.try_join_next().is_some() {}
    }

    // Contacts still queued or waiting for their hours were never
    // attempted: no intent, no record.
    for _ in 0..scheduler.waiting() {
        Tally::bump(&dialer.tally.released);
    }
    queue_rx.close();
    while queue_rx.recv().await.is_some() {
        Tally::bump(&dialer.tally.released);
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("a dialing task panicked")?;
    }
    if let Some(message) = closed {
        dialer.stop.until_later(message);
    }
    let read = tokio::task::spawn_blocking(move || reader.join())
        .await
        .context("the list reader could not be joined")?;
    match read {
        Ok(result) => result?,
        Err(_) => anyhow::bail!("the list reader panicked"),
    }
    Ok(dialer.stop.ending())
}

/// Starts the thread that reads and judges rows. Rows to dial go to the
/// queue; verdicts go straight to the writer.
fn spawn_reader(
    rows: RowReader,
    mut screen: Screen,
    queue_tx: mpsc::Sender<Box<Contact>>,
    writer: WriterHandle,
    tally: Arc<Tally>,
    stop: Stop,
) -> thread::JoinHandle<anyhow::Result<()>> {
    let runtime = tokio::runtime::Handle::current();
    // Queue places are taken a batch at a time: waiting for one place at a
    // time woke this thread (a futex call and a context switch) for every
    // contact the dispatcher took. Unused places go back when dropped.
    let batch = (queue_tx.max_capacity() / QUEUE_PER_PERMIT).max(1);
    thread::spawn(move || {
        let mut places = None;
        for row in rows {
            if stop.is_stopped() {
                break;
            }
            let row = row?;
            Tally::bump(&tally.rows);
            let decision = screen.judge(row);
            let fresh_verdict = |row: u64| !screen.has_row_verdict(row);
            let record = match decision {
                Decision::Dial(contact) => {
                    Tally::bump(&tally.queued);
                    let place = match places.as_mut().and_then(Iterator::next) {
                        Some(place) => Some(place),
                        None => {
                            places = runtime.block_on(queue_tx.reserve_many(batch)).ok();
                            places.as_mut().and_then(Iterator::next)
                        }
                    };
                    let Some(place) = place else {
                        // The dispatcher stopped taking contacts.
                        Tally::bump(&tally.released);
                        break;
                    };
                    // Sent after a stop, it is drained and released by the
                    // dispatcher, which waits for every place to come back.
                    place.send(contact);
                    None
                }
                Decision::Invalid(rejection) => {
                    Tally::bump(&tally.invalid);
                    tally.note_problem(rejection.row, "invalid", &rejection.to_error());
                    fresh_verdict(rejection.row).then(|| {
                        Record::new(rejection.row, rejection.value.clone(), Status::Invalid)
                            .with_error(&rejection.to_error())
                    })
                }
                Decision::Skipped {
                    row,
                    to_number,
                    reason,
                } => {
                    Tally::bump(&tally.skipped);
                    fresh_verdict(row)
                        .then(|| Record::new(row, to_number, Status::Skipped).with_error(&reason))
                }
                Decision::Settled { prior, .. } => {
                    Tally::bump(&tally.settled);
                    if prior == Prior::Failed {
                        Tally::bump(&tally.settled_failed);
                    }
                    None
                }
                Decision::HeldUnknown { row, .. } => {
                    tally.note_unknown(row);
                    None
                }
                Decision::Blank { .. } => {
                    Tally::bump(&tally.blank);
                    None
                }
            };
            if let Some(record) = record {
                writer
                    .record_blocking(record)
                    .context("the outcome writer stopped")?;
            }
        }
        Ok(())
    })
}

/// Dials one contact to a final outcome, or releases it if the campaign
/// stops first. Every failure ends up recorded; none escapes as an error.
#[tracing::instrument(level = "debug", skip_all, fields(row = contact.row))]
async fn dial(dialer: &Dialer, contact: Contact) {
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
        let proceed = tokio::select! {
            biased;
            _ = dialer.stop.stopped() => false,
            _ = async {
                dialer.callers.wait_turn(attempt.from_number_id).await;
                dialer.pacer.wait_turn().await;
            } => true,
        };
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
            if dialer.writer.intent(intent).await.is_err() {
                // The intent is not on disk, so nothing may be sent.
                dialer
                    .stop
                    .fatal("the outcome file can no longer be written".into());
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
        }
    }

    /// A record for this contact with the attempts so far.
    fn record(&self, status: Status, error: &str) -> Record {
        let mut record = Record::new(self.row, self.to_number.clone(), status).with_error(error);
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
    let out_of_attempts =
        attempt.count >= policy.max_attempts || attempt.started.elapsed() >= policy.max_elapsed;
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
        Verdict::Unknown(_) => Step::RetryAfter(policy.backoff(attempt.count + 1, rng)),
        Verdict::Retry(message) if out_of_attempts => Step::Finish(attempt.record(
            Status::Failed,
            &format!("{message} (after {} attempts)", attempt.count),
        )),
        Verdict::Retry(_) => Step::RetryAfter(policy.backoff(attempt.count + 1, rng)),
        Verdict::SlowDown {
            retry_after,
            message,
        } => slow_down(dialer, attempt, retry_after, &message, out_of_attempts, rng),
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
    rng: &mut SmallRng,
) -> Step {
    let policy = &dialer.policy;
    let backoff = policy.backoff(attempt.count + 1, rng);
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
            &format!("429: {message} (after {} attempts)", attempt.count),
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
    let failure = match record.status {
        Status::Dispatched => {
            Tally::bump(&tally.dispatched);
            dialer.pacer.record_success();
            None
        }
        Status::Unknown => {
            tally.note_unknown(contact.row);
            None
        }
        _ => {
            Tally::bump(&tally.failed);
            tally.note_problem(contact.row, "failed", &record.error);
            Some(record.error.clone())
        }
    };
    let tripped = dialer
        .breaker
        .lock()
        .map(|mut b| b.observe(failure.as_deref(), dialer.breaker_threshold))
        .unwrap_or(false);
    if tripped {
        dialer.stop.fatal(format!(
            "{} calls in a row were refused with the same answer: {}",
            dialer.breaker_threshold,
            failure.unwrap_or_default()
        ));
    }
    if dialer.writer.record(record).await.is_err() {
        dialer
            .stop
            .fatal("the outcome file can no longer be written".into());
    }
}

/// Takes back a contact whose call was not placed, so a resume dials it.
async fn release(dialer: &Dialer, attempt: &mut Attempt) {
    Tally::bump(&dialer.tally.released);
    if attempt.intent_written {
        let record = attempt.record(Status::Released, "run stopped before this call was placed");
        // If the writer is gone the intent stays and a resume reports the
        // contact as unknown: safe, if cautious.
        let _ = dialer.writer.record(record).await;
    }
}

/// Counts of the breaker, for tests.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_trips_on_a_streak_of_one_message() {
        let mut breaker = Breaker::default();
        assert!(!breaker.observe(Some("404: agent not found"), 3));
        assert!(!breaker.observe(Some("404: agent not found"), 3));
        assert!(!breaker.observe(None, 3));
        assert!(!breaker.observe(Some("404: agent not found"), 3));
        assert!(!breaker.observe(Some("400: bad number"), 3));
        assert!(!breaker.observe(Some("404: agent not found"), 3));
        assert!(!breaker.observe(Some("404: agent not found"), 3));
        assert!(breaker.observe(Some("404: agent not found"), 3));
        assert!(!Breaker::default().observe(Some("x"), 0));
    }

    #[test]
    fn a_stop_keeps_its_first_reason() {
        let stop = Stop::default();
        assert_eq!(stop.ending(), Ending::Finished);
        stop.fatal("401".into());
        stop.interrupt();
        assert!(stop.is_stopped());
        assert_eq!(stop.ending(), Ending::Stopped("401".into()));
    }
}
