//! The running campaign: a reader thread streams judged rows into a bounded
//! queue; a dispatcher hands each contact to a task once one of
//! `concurrency` permits is free; each task paces itself through the shared
//! [`Pacer`], records its intent, sends, classifies and retries; one writer
//! records everything. A stop (fatal answer, breaker, Ctrl-C) closes
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

mod dial;
mod reader;
mod stop;

use stop::Breaker;
pub use stop::Stop;

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
    let reader = reader::spawn_reader(
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
            dial::dial(&dialer, *contact).await;
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
