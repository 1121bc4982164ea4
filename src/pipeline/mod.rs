//! The running campaign: a reader thread streams judged rows into a bounded
//! queue; `concurrency` lanes take contacts from it in turn; each lane
//! paces a contact through the shared [`Pacer`], records its intent,
//! sends, classifies and retries, then takes the next; one writer records
//! everything. A stop (fatal answer, breaker, Ctrl-C) closes
//! intake: requests in flight finish and are recorded, the rest stay
//! unrecorded for a resume.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::Context;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::mpsc;
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
use crate::waiting::{self, Schedule, Scheduler};

/// Contacts waiting in the queue per lane; enough to keep every lane
/// busy, small enough that a slow API slows the reader, not memory.
const QUEUE_PER_LANE: usize = 4;

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
    let (queue_tx, queue_rx) = mpsc::channel(concurrency * QUEUE_PER_LANE);
    let reader = reader::spawn_reader(
        rows,
        screen,
        queue_tx,
        dialer.writer.clone(),
        dialer.tally.clone(),
        dialer.stop.clone(),
    );

    let intake = Arc::new(Intake {
        next: tokio::sync::Mutex::new(Next {
            scheduler: Scheduler::new(dialer.schedule.clone()),
            queue_rx,
            ended: false,
        }),
        closed: Mutex::new(None),
    });
    let mut lanes = JoinSet::new();
    for _ in 0..concurrency {
        lanes.spawn(lane(dialer.clone(), intake.clone()));
    }
    while let Some(joined) = lanes.join_next().await {
        joined.context("a dialing task panicked")?;
    }

    // Contacts still queued or waiting for their hours were never
    // attempted: no intent, no record.
    let intake = Arc::into_inner(intake).context("a lane outlived the campaign")?;
    let Next {
        scheduler,
        mut queue_rx,
        ..
    } = intake.next.into_inner();
    for _ in 0..scheduler.waiting() {
        Tally::bump(&dialer.tally.released);
    }
    queue_rx.close();
    while queue_rx.recv().await.is_some() {
        Tally::bump(&dialer.tally.released);
    }
    if let Some(message) = intake
        .closed
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
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

/// Where lanes take their next contact from. One lane at a time waits on
/// it; the others queue for the lock, so each contact goes to one lane.
#[derive(Debug)]
struct Intake {
    /// The queue and the waiting room behind it.
    next: tokio::sync::Mutex<Next>,
    /// Set when the calling window closed on the contacts left: the message
    /// that says when to resume.
    closed: Mutex<Option<String>>,
}

/// The queue's receiving end and the waiting room, taken in turns.
#[derive(Debug)]
struct Next {
    /// Holds contacts outside their calling hours.
    scheduler: Scheduler,
    /// Contacts from the list reader; closing it ends the reader.
    queue_rx: mpsc::Receiver<Box<Contact>>,
    /// No contact is left, or the window closed: lanes stop taking.
    ended: bool,
}

/// One lane: dials contacts one after another until none is left or the
/// campaign stops. `concurrency` lanes run at once. A lane rather than a
/// task per contact: spawning copied each contact's large dialing future.
async fn lane(dialer: Arc<Dialer>, intake: Arc<Intake>) {
    while let Some(contact) = take_next(&dialer, &intake).await {
        dial::dial(&dialer, contact).await;
    }
}

/// The next contact for a lane, or `None` when the lane should end.
async fn take_next(dialer: &Dialer, intake: &Intake) -> Option<Box<Contact>> {
    let mut next = dialer.stop.unless_stopped(intake.next.lock()).await?;
    if next.ended {
        return None;
    }
    let Next {
        scheduler,
        queue_rx,
        ended,
    } = &mut *next;
    // A contact taken from the queue goes to a lane even if the stop came
    // just then: the lane releases it, so it is counted.
    match dialer.stop.unless_stopped(scheduler.next(queue_rx)).await? {
        waiting::Next::Dial(contact) => Some(contact),
        waiting::Next::Done => {
            *ended = true;
            None
        }
        waiting::Next::Closed(message) => {
            // Calls already under way still go out.
            *ended = true;
            *intake.closed.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
            None
        }
    }
}
