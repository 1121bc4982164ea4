//! Waiting for calling hours: the [`Scheduler`] between the bounded queue
//! and the dispatcher hands out contacts whose window is open, parks the
//! others in a waiting room ordered by when their window opens, and, when
//! every remaining contact waits, sleeps until the next window (or stops,
//! with `--until-window-closes`).
//!
//! Memory stays bounded: the room holds at most [`WAITING_ROOM_CAP`]
//! contacts. Once full we stop reading the queue, so the list reader blocks
//! on the queue as it does for a slow API, until someone's window opens.
//! Contacts still waiting when a run stops are not recorded, so `--resume`
//! picks them up.
//!
//! Time comes from a [`Clock`] that follows tokio's clock, so tests pause
//! and advance it instead of waiting.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::hours::CallingHours;
use crate::screen::Contact;

/// Most contacts parked in the waiting room before reading pauses.
pub const WAITING_ROOM_CAP: usize = 10_000;

/// Wall time that moves with tokio's clock: real time in a run, paused and
/// advanced time in tests.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// The wall time at `origin`.
    base: Timestamp,
    /// The tokio instant the clock started at.
    origin: Instant,
}

impl Clock {
    /// A clock reading the system's time now.
    pub fn system() -> Clock {
        Clock::starting_at(Timestamp::now())
    }

    /// A clock that reads `base` now and moves with tokio's clock.
    pub fn starting_at(base: Timestamp) -> Clock {
        Clock {
            base,
            origin: Instant::now(),
        }
    }

    /// The current wall time.
    pub fn now(&self) -> Timestamp {
        let elapsed =
            SignedDuration::try_from(self.origin.elapsed()).unwrap_or(SignedDuration::MAX);
        self.base.checked_add(elapsed).unwrap_or(Timestamp::MAX)
    }

    /// Time left until `at` (zero when it has passed).
    pub fn until(&self, at: Timestamp) -> Duration {
        let left = at.duration_since(self.now());
        Duration::try_from(left).unwrap_or(Duration::ZERO)
    }
}

/// When contacts may be dialed: calling hours, and what to do once every
/// remaining contact must wait.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Calling hours, if the campaign sets any.
    pub hours: Option<CallingHours>,
    /// Stop, rather than sleep, once every remaining contact waits.
    pub until_window_closes: bool,
    /// The wall clock.
    pub clock: Clock,
}

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            hours: None,
            until_window_closes: false,
            clock: Clock::system(),
        }
    }
}

impl Schedule {
    /// Whether the contact's calling hours are open now (always, without
    /// hours; a row without a zone was rejected when hours are set).
    pub fn is_open_for(&self, contact: &Contact) -> bool {
        match (&self.hours, &contact.controls.zone) {
            (Some(hours), Some(zone)) => hours.is_open(zone, self.clock.now()),
            _ => true,
        }
    }
}

/// What the dispatcher gets next.
#[derive(Debug)]
pub enum Next {
    /// A contact to dial now.
    Dial(Box<Contact>),
    /// No contact left.
    Done,
    /// Every remaining contact waits and the run should stop; the message
    /// says when to resume.
    Closed(String),
}

/// A parked contact, ordered by when its window opens, then arrival.
#[derive(Debug)]
struct Parked {
    /// When its window opens.
    opens: Timestamp,
    /// Arrival order, so that equal openings keep list order.
    seq: u64,
    /// The contact.
    contact: Box<Contact>,
}

impl PartialEq for Parked {
    fn eq(&self, other: &Parked) -> bool {
        (self.opens, self.seq) == (other.opens, other.seq)
    }
}

impl Eq for Parked {}

impl PartialOrd for Parked {
    fn partial_cmp(&self, other: &Parked) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Parked {
    fn cmp(&self, other: &Parked) -> std::cmp::Ordering {
        (self.opens, self.seq).cmp(&(other.opens, other.seq))
    }
}

/// Hands out contacts as their calling hours allow; owned by the
/// dispatcher loop, the only reader of the queue.
#[derive(Debug)]
pub struct Scheduler {
    /// The policy.
    schedule: Schedule,
    /// Contacts outside their hours, earliest opening first.
    room: BinaryHeap<Reverse<Parked>>,
    /// Contacts parked so far (the arrival counter).
    parked: u64,
    /// Whether the queue may still yield contacts.
    queue_open: bool,
    /// The last opening announced, so each wait is logged once.
    announced: Option<Timestamp>,
    /// Most contacts the room holds.
    cap: usize,
}

impl Scheduler {
    /// A scheduler for `schedule`.
    pub fn new(schedule: Schedule) -> Scheduler {
        Scheduler {
            schedule,
            room: BinaryHeap::new(),
            parked: 0,
            queue_open: true,
            announced: None,
            cap: WAITING_ROOM_CAP,
        }
    }

    /// Contacts in the waiting room.
    pub fn waiting(&self) -> usize {
        self.room.len()
    }

    /// The next contact to dial, waiting for one as long as it takes.
    /// Cancel-safe: a contact is only taken out of the queue or the room
    /// right before it is returned.
    pub async fn next(&mut self, queue_rx: &mut mpsc::Receiver<Box<Contact>>) -> Next {
        // Without calling hours nobody waits: contacts pass straight
        // through, with no clock read and no trip through the room.
        if self.schedule.hours.is_none() && self.room.is_empty() {
            return match queue_rx.recv().await {
                Some(contact) => Next::Dial(contact),
                None => {
                    self.queue_open = false;
                    Next::Done
                }
            };
        }
        loop {
            if let Some(contact) = self.take_due() {
                return Next::Dial(contact);
            }
            let can_read = self.queue_open && self.room.len() < self.cap;
            let Some(opens) = self.next_opening() else {
                if !can_read {
                    return Next::Done;
                }
                match queue_rx.recv().await {
                    Some(contact) => self.admit_or_park(contact),
                    None => self.queue_open = false,
                }
                continue;
            };
            if !can_read {
                if self.schedule.until_window_closes {
                    return Next::Closed(self.closed_message(opens));
                }
                self.announce(opens);
            }
            let wait = self.schedule.clock.until(opens);
            tokio::select! {
                contact = queue_rx.recv(), if can_read => match contact {
                    Some(contact) => self.admit_or_park(contact),
                    None => self.queue_open = false,
                },
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Files a contact from the queue: straight through to the room's
    /// front when it may be called now, else parked until its window.
    fn admit_or_park(&mut self, contact: Box<Contact>) {
        let opens = self.opening_of(&contact, self.schedule.clock.now());
        self.parked += 1;
        self.room.push(Reverse(Parked {
            opens,
            seq: self.parked,
            contact,
        }));
    }

    /// The first parked contact whose window has opened, if any. A window
    /// can close again before the dispatcher gets to it, so we check once
    /// more and re-park a contact whose window has closed.
    fn take_due(&mut self) -> Option<Box<Contact>> {
        let now = self.schedule.clock.now();
        while self.room.peek().is_some_and(|p| p.0.opens <= now) {
            let Reverse(parked) = self.room.pop()?;
            let opens = self.opening_of(&parked.contact, now);
            if opens <= now {
                return Some(parked.contact);
            }
            self.room.push(Reverse(Parked { opens, ..parked }));
        }
        None
    }

    /// When the earliest parked contact's window opens.
    fn next_opening(&self) -> Option<Timestamp> {
        self.room.peek().map(|p| p.0.opens)
    }

    /// When a contact may be called, seen at `now`: at once without
    /// calling hours; otherwise when its window opens. The screen rejects
    /// rows without a zone when hours are set, so a missing zone only means
    /// no hours apply.
    fn opening_of(&self, contact: &Contact, now: Timestamp) -> Timestamp {
        match (&self.schedule.hours, &contact.controls.zone) {
            (Some(hours), Some(zone)) => hours.next_open(zone, now).unwrap_or(Timestamp::MAX),
            _ => now,
        }
    }

    /// Logs, once per opening, that every remaining contact waits.
    fn announce(&mut self, opens: Timestamp) {
        if self.announced == Some(opens) {
            return;
        }
        self.announced = Some(opens);
        tracing::info!(
            waiting = self.room.len(),
            "every remaining contact is outside its calling hours; waiting until {}",
            round(opens)
        );
    }

    /// The message of a run stopped with `--until-window-closes`.
    fn closed_message(&self, opens: Timestamp) -> String {
        format!(
            "every remaining contact ({}) is outside its calling hours \
             (--until-window-closes); the next window opens at {}: run again with \
             --resume then",
            self.room.len(),
            round(opens)
        )
    }
}

/// An instant to the second, for messages.
fn round(at: Timestamp) -> Timestamp {
    at.round(jiff::Unit::Second).unwrap_or(at)
}

/// Sleeps until `start_at` (from `--start-at`), or returns early when the
/// run is stopped.
pub async fn wait_for_start(start_at: Timestamp, clock: &Clock, stopped: impl Future<Output = ()>) {
    let wait = clock.until(start_at);
    if wait.is_zero() {
        return;
    }
    tracing::info!(
        "the campaign starts at {} (--start-at); waiting",
        round(start_at)
    );
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = stopped => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controls::{RowControls, parse_zone};
    use crate::outcome::Prior;

    fn contact(row: u64, zone: &str) -> Contact {
        Contact {
            row,
            line: row + 1,
            to_number: format!("+1201555{:04}", row),
            raw_phone: String::new(),
            assumed_region: None,
            context: Default::default(),
            prior: Prior::New,
            controls: RowControls {
                zone: Some(parse_zone(zone).unwrap()),
                ..RowControls::default()
            },
            history: Default::default(),
        }
    }

    fn schedule(now: &str, until_window_closes: bool) -> Schedule {
        let windows = vec!["09:00-17:00".to_string()];
        Schedule {
            hours: Some(CallingHours::parse(&windows, None).unwrap()),
            until_window_closes,
            clock: Clock::starting_at(now.parse().unwrap()),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_contact_is_open_only_inside_its_own_hours() {
        // In June, 15:00 UTC is 11:00 in New York and 16:00 in London.
        let open = schedule("2026-06-10T15:00:00Z", false);
        assert!(open.is_open_for(&contact(1, "America/New_York")));
        assert!(open.is_open_for(&contact(2, "Europe/London")));
        // 17:30 UTC is 18:30 in London: closed there, open in New York.
        let late = schedule("2026-06-10T17:30:00Z", false);
        assert!(late.is_open_for(&contact(1, "America/New_York")));
        assert!(!late.is_open_for(&contact(2, "Europe/London")));
        assert!(Schedule::default().is_open_for(&contact(3, "Asia/Tokyo")));
    }

    /// Sends `contacts` into a closed queue.
    fn queue(contacts: Vec<Contact>) -> mpsc::Receiver<Box<Contact>> {
        let (tx, rx) = mpsc::channel(contacts.len().max(1));
        for c in contacts {
            tx.try_send(Box::new(c)).unwrap();
        }
        rx
    }

    /// Takes every contact, noting the wall time each was handed out.
    async fn drain(
        scheduler: &mut Scheduler,
        rx: &mut mpsc::Receiver<Box<Contact>>,
    ) -> Vec<(u64, String)> {
        let mut out = vec![];
        while let Next::Dial(c) = scheduler.next(rx).await {
            out.push((
                c.row,
                scheduler
                    .schedule
                    .clock
                    .now()
                    .round(jiff::Unit::Second)
                    .unwrap()
                    .to_string(),
            ));
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn contacts_wait_for_their_own_window_while_others_are_dialed() {
        // 15:00Z on a Monday: 10:00 in New York, 07:00 in Los Angeles.
        let mut scheduler = Scheduler::new(schedule("2026-12-07T15:00:00Z", false));
        let mut rx = queue(vec![
            contact(1, "America/Los_Angeles"),
            contact(2, "America/New_York"),
            contact(3, "Asia/Tokyo"),
            contact(4, "America/New_York"),
        ]);
        let order = drain(&mut scheduler, &mut rx).await;
        assert_eq!(
            order,
            [
                (2, "2026-12-07T15:00:00Z".into()),
                (4, "2026-12-07T15:00:00Z".into()),
                (1, "2026-12-07T17:00:00Z".into()),
                // Midnight in Tokyo: its day opens at 09:00 there.
                (3, "2026-12-08T00:00:00Z".into()),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn until_window_closes_stops_and_says_when_to_resume() {
        let mut scheduler = Scheduler::new(schedule("2026-12-07T15:00:00Z", true));
        let mut rx = queue(vec![
            contact(1, "America/New_York"),
            contact(2, "America/Los_Angeles"),
        ]);
        assert!(matches!(scheduler.next(&mut rx).await, Next::Dial(c) if c.row == 1));
        match scheduler.next(&mut rx).await {
            Next::Closed(message) => {
                assert!(message.contains("2026-12-07T17:00:00Z"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(scheduler.waiting(), 1, "the contact stays unrecorded");
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_room_stops_reading_until_a_window_opens() {
        let mut scheduler = Scheduler::new(schedule("2026-12-07T15:00:00Z", false));
        scheduler.cap = 2;
        let (tx, mut rx) = mpsc::channel(8);
        for row in 1..=2 {
            tx.try_send(Box::new(contact(row, "Asia/Tokyo"))).unwrap();
        }
        tx.try_send(Box::new(contact(3, "America/New_York")))
            .unwrap();
        drop(tx);
        // New York could be called at once, but the room is full of Tokyo
        // contacts, so reading stops until Tokyo opens at 00:00Z; by then
        // New York has closed until 14:00Z.
        let order = drain(&mut scheduler, &mut rx).await;
        assert_eq!(
            order,
            [
                (1, "2026-12-08T00:00:00Z".into()),
                (2, "2026-12-08T00:00:00Z".into()),
                (3, "2026-12-08T14:00:00Z".into()),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_hours_contacts_pass_straight_through() {
        let mut scheduler = Scheduler::new(Schedule {
            clock: Clock::starting_at("2026-12-07T03:00:00Z".parse().unwrap()),
            ..Schedule::default()
        });
        let mut rx = queue(vec![contact(1, "Asia/Tokyo"), contact(2, "Asia/Tokyo")]);
        let order = drain(&mut scheduler, &mut rx).await;
        assert_eq!(order.len(), 2);
        assert!(order.iter().all(|(_, at)| at == "2026-12-07T03:00:00Z"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_start_waits_for_start_at() {
        let clock = Clock::starting_at("2026-12-07T08:00:00Z".parse().unwrap());
        wait_for_start(
            "2026-12-07T09:30:00Z".parse().unwrap(),
            &clock,
            std::future::pending(),
        )
        .await;
        assert_eq!(clock.now().to_string(), "2026-12-07T09:30:00Z");
    }
}
