//! Pacing shared by every worker: a schedule of send slots, a pause gate
//! that a 429 closes for the whole pool, and the adaptive rate that backs
//! off after a 429 and creeps back while calls succeed.
//!
//! The schedule is the generic cell rate algorithm (the one governor
//! implements), with one change that matters for fidelity: a worker
//! reserves its slot and then sleeps until it, so the next slot follows the
//! previous *slot*, not the moment its worker woke up. tokio's timer wakes
//! up to a millisecond or more late; with governor's check-sleep-check,
//! every late wake-up was lost, and `--rate 200` sent 161 calls a second.
//! Reserving also spares the herd of workers all waking for the same slot.
//!
//! Everything runs on tokio's clock, so tests can pause and advance time
//! instead of waiting for it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::campaign::Rate;

/// The slowest the adaptive rate goes, in calls per second.
const MIN_ADAPTIVE_RATE: f64 = 0.2;

/// The adaptive rate never drops below this share of the configured rate,
/// so a burst of 429s cannot slow a campaign to a crawl for good.
const FLOOR_SHARE: f64 = 1.0 / 16.0;

/// Least time between two changes of the adaptive rate: a volley of 429s
/// answered together counts as one signal, and each step up gets time to
/// show whether the API copes.
const ADAPT_INTERVAL: Duration = Duration::from_secs(1);

/// How much a step raises the adaptive rate.
const STEP_UP: f64 = 1.25;

/// The longest wait between two calls, whatever the rate says: a day.
const LONGEST_PERIOD: Duration = Duration::from_secs(24 * 60 * 60);

/// The window in which no more than rate plus burst calls may leave.
const WINDOW: Duration = Duration::from_secs(1);

/// Rates from here on are not held to the one-second window (the slots
/// alone pace them), so that the record of recent sends stays small.
const MAX_WINDOW_SENDS: usize = 10_000;

/// Shared pacing for one run.
#[derive(Debug)]
pub struct Pacer {
    /// The rate the user configured; the adaptive rate never exceeds it.
    ceiling: Rate,
    /// Send slots at the current adaptive rate.
    schedule: Mutex<Schedule>,
    /// Adaptive state: current rate and successes since the last change.
    adaptive: Mutex<Adaptive>,
    /// No request may leave before this instant (set by a 429).
    paused_until: Mutex<Option<Instant>>,
}

/// The adaptive part of the rate.
#[derive(Debug)]
struct Adaptive {
    /// Calls per second now (equal to the ceiling until a 429).
    current: f64,
    /// When the rate last changed.
    changed: Option<Instant>,
}

impl Pacer {
    /// Pacing at `rate`, allowing `burst` calls at once.
    pub fn new(rate: Rate, burst: u32) -> Pacer {
        let current = match rate {
            Rate::Unlimited => f64::INFINITY,
            Rate::PerSecond(r) => r,
        };
        Pacer {
            ceiling: rate,
            schedule: Mutex::new(Schedule::new(current, burst)),
            adaptive: Mutex::new(Adaptive {
                current,
                changed: None,
            }),
            paused_until: Mutex::new(None),
        }
    }

    /// Waits until this worker may send: past any pause, then until a slot
    /// it reserved, then until the send keeps every second within the
    /// rate. Checks the pause again after the wait, since a 429 may have
    /// arrived meanwhile, and reserves anew if the rate changed.
    pub async fn wait_turn(&self) {
        loop {
            self.wait_out_pause().await;
            let reserved = lock(&self.schedule).reserve(Instant::now());
            if let Some((slot, generation)) = reserved {
                // A past deadline would still cost a timer tick.
                if slot > Instant::now() {
                    tokio::time::sleep_until(slot).await;
                }
                if !self.admit(generation).await {
                    continue;
                }
            }
            if self.pause_remaining().is_none() {
                return;
            }
        }
    }

    /// Closes the gate for everyone for `wait` from now (a later pause
    /// already in force is kept).
    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = lock(&self.paused_until);
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    /// How long the gate stays closed, if it is.
    pub fn pause_remaining(&self) -> Option<Duration> {
        let until = (*lock(&self.paused_until))?;
        let now = Instant::now();
        (until > now).then(|| until - now)
    }

    /// Halves the rate after a 429, at most once per `ADAPT_INTERVAL` and
    /// not below the floor.
    pub fn slow_down(&self) {
        let mut adaptive = lock(&self.adaptive);
        if adaptive
            .changed
            .is_some_and(|at| at.elapsed() < ADAPT_INTERVAL)
        {
            return;
        }
        let ceiling = self.ceiling_rate();
        // Unpaced runs start adapting from a rate they could sustain.
        let base = if adaptive.current.is_finite() {
            adaptive.current
        } else {
            100.0
        };
        let floor = if ceiling.is_finite() {
            ceiling * FLOOR_SHARE
        } else {
            100.0 * FLOOR_SHARE
        };
        let lowered = (base / 2.0).max(floor).max(MIN_ADAPTIVE_RATE);
        if lowered < adaptive.current {
            adaptive.current = lowered;
            adaptive.changed = Some(Instant::now());
            self.install(lowered);
            tracing::warn!(
                rate = format!("{lowered:.2}/s"),
                "the API asked to slow down; lowering the rate"
            );
        }
    }

    /// Counts a success: once `ADAPT_INTERVAL` has passed since the last
    /// change, the rate rises a step, up to the configured ceiling.
    pub fn record_success(&self) {
        let mut adaptive = lock(&self.adaptive);
        let ceiling = self.ceiling_rate();
        if adaptive.current >= ceiling {
            return;
        }
        if adaptive
            .changed
            .is_some_and(|at| at.elapsed() < ADAPT_INTERVAL)
        {
            return;
        }
        let raised = adaptive.current * STEP_UP;
        // An unpaced run goes back to no pacing once it is well past the
        // rate it started adapting from.
        let back_to_ceiling = raised >= ceiling || (!ceiling.is_finite() && raised > 200.0);
        adaptive.current = if back_to_ceiling { ceiling } else { raised };
        adaptive.changed = Some(Instant::now());
        self.install(adaptive.current);
        if back_to_ceiling {
            tracing::info!("calls succeed again; back to the configured rate");
        }
    }

    /// The configured rate in calls per second (infinite when unpaced).
    fn ceiling_rate(&self) -> f64 {
        match self.ceiling {
            Rate::Unlimited => f64::INFINITY,
            Rate::PerSecond(r) => r,
        }
    }

    /// The rate in force now, in calls per second (infinite when unpaced).
    pub fn current_rate(&self) -> f64 {
        lock(&self.adaptive).current
    }

    /// Puts a new rate in force.
    fn install(&self, rate: f64) {
        lock(&self.schedule).set_rate(rate, Instant::now());
    }

    /// Waits until a send now keeps every one-second window within rate
    /// plus burst, and counts the send; false if the rate changed meanwhile.
    ///
    /// Slots keep the average, but after a stall (a busy machine, a slow
    /// timer) several slots are due at once and their workers would all go;
    /// this spreads them out again.
    async fn admit(&self, generation: u64) -> bool {
        loop {
            let admission = lock(&self.schedule).admit(generation, Instant::now());
            match admission {
                Admission::Go => return true,
                Admission::Stale => return false,
                Admission::NotBefore(at) => tokio::time::sleep_until(at).await,
            }
        }
    }

    /// Sleeps until the pause gate opens.
    async fn wait_out_pause(&self) {
        while let Some(wait) = self.pause_remaining() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Locks a mutex, carrying on if a panicking thread poisoned it: the data
/// here is a few numbers that stay consistent at every step.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Send slots for one rate: the cell rate algorithm, by reservation, and
/// the sends of the last second.
#[derive(Debug)]
struct Schedule {
    /// Time between two slots; `None` when unpaced.
    period: Option<Duration>,
    /// Calls allowed at once above the steady rate.
    burst: u32,
    /// The theoretical time of the next slot; `None` before the first.
    next: Option<Instant>,
    /// Counts rate changes; a worker holding a slot of an older rate
    /// reserves a new one.
    generation: u64,
    /// The most sends any one-second window may hold (rate plus burst);
    /// `None` when unpaced or too fast to be worth tracking.
    window_sends: Option<usize>,
    /// Times of the latest sends, oldest first, at most `window_sends`.
    recent: VecDeque<Instant>,
}

/// What [`Schedule::admit`] says about a send now.
#[derive(Debug, PartialEq, Eq)]
enum Admission {
    /// Send; it is counted.
    Go,
    /// The rate changed since the slot was reserved: reserve again.
    Stale,
    /// The last second is full: ask again at this instant.
    NotBefore(Instant),
}

impl Schedule {
    /// A schedule for `rate` calls per second (infinite: unpaced).
    fn new(rate: f64, burst: u32) -> Schedule {
        let burst = burst.max(1);
        Schedule {
            period: period_of(rate),
            burst,
            next: None,
            generation: 0,
            window_sends: window_sends(rate, burst),
            recent: VecDeque::new(),
        }
    }

    /// Counts a send at `now` for a slot of `generation`, unless it would
    /// put more than `window_sends` sends in the second before it.
    fn admit(&mut self, generation: u64, now: Instant) -> Admission {
        if generation != self.generation {
            return Admission::Stale;
        }
        let Some(most) = self.window_sends else {
            return Admission::Go;
        };
        if self.recent.len() >= most
            && let Some(&oldest) = self.recent.front()
            && now < oldest + WINDOW
        {
            return Admission::NotBefore(oldest + WINDOW);
        }
        while self.recent.len() >= most {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        Admission::Go
    }

    /// Reserves the earliest free slot at or after `now`; returns it with
    /// the generation it belongs to, or `None` when unpaced.
    ///
    /// Up to `burst` slots may fall at one instant: a slot may be dated
    /// `burst - 1` periods before the theoretical time, never before now.
    fn reserve(&mut self, now: Instant) -> Option<(Instant, u64)> {
        let period = self.period?;
        let theoretical = self.next.unwrap_or(now);
        let tolerance = period * (self.burst - 1);
        let slot = theoretical
            .checked_sub(tolerance)
            .map_or(now, |earliest| earliest.max(now));
        self.next = Some(theoretical.max(slot) + period);
        Some((slot, self.generation))
    }

    /// Switches to a new rate. Slots reserved at the old rate are given
    /// back (their holders reserve again), and the first slot at the new
    /// rate is one new period away, so the change never adds a burst.
    fn set_rate(&mut self, rate: f64, now: Instant) {
        self.period = period_of(rate);
        self.generation += 1;
        self.next = self.period.map(|period| now + period);
        self.window_sends = window_sends(rate, self.burst);
        let keep = self.window_sends.unwrap_or(0);
        while self.recent.len() > keep {
            self.recent.pop_front();
        }
    }
}

/// The most sends a one-second window may hold at `rate`: the rate, whole,
/// plus the burst. `None` when unpaced, or when the rate is so high that
/// the window would take more memory than such a rate deserves.
fn window_sends(rate: f64, burst: u32) -> Option<usize> {
    if !rate.is_finite() || rate >= MAX_WINDOW_SENDS as f64 {
        return None;
    }
    Some(rate.max(0.0).floor() as usize + burst as usize)
}

/// The time between two calls at `rate` calls per second, `None` when
/// unpaced.
fn period_of(rate: f64) -> Option<Duration> {
    if !rate.is_finite() {
        return None;
    }
    // Settings refuse rates of zero or less, so only an absurdly small rate
    // can fail to convert; it waits the longest period we allow.
    let period = Duration::try_from_secs_f64(1.0 / rate).unwrap_or(LONGEST_PERIOD);
    Some(period.min(LONGEST_PERIOD))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Takes `n` turns and returns the instants at which they were granted.
    async fn turns(pacer: &Pacer, n: usize) -> Vec<Instant> {
        let mut at = vec![];
        for _ in 0..n {
            pacer.wait_turn().await;
            at.push(Instant::now());
        }
        at
    }

    #[tokio::test(start_paused = true)]
    async fn turns_are_spaced_by_the_rate() {
        let pacer = Pacer::new(Rate::PerSecond(5.0), 1);
        let at = turns(&pacer, 11).await;
        let elapsed = at[10] - at[0];
        assert_eq!(elapsed, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_turn_until_it_ends() {
        let pacer = Pacer::new(Rate::Unlimited, 1);
        let start = Instant::now();
        pacer.pause_for(Duration::from_secs(6));
        pacer.pause_for(Duration::from_secs(2)); // a shorter pause does not shorten it
        pacer.wait_turn().await;
        assert_eq!(Instant::now() - start, Duration::from_secs(6));
        assert!(pacer.pause_remaining().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_halves_on_429_and_recovers_to_the_ceiling() {
        let pacer = Pacer::new(Rate::PerSecond(8.0), 1);
        pacer.slow_down();
        pacer.slow_down(); // the same volley: counted once
        assert_eq!(pacer.current_rate(), 4.0);
        pacer.record_success(); // too soon to rise
        assert_eq!(pacer.current_rate(), 4.0);
        for _ in 0..4 {
            tokio::time::advance(ADAPT_INTERVAL).await;
            pacer.record_success();
        }
        assert_eq!(pacer.current_rate(), 8.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_storm_of_429s_cannot_push_the_rate_below_its_floor() {
        let pacer = Pacer::new(Rate::PerSecond(32.0), 1);
        for _ in 0..20 {
            pacer.slow_down();
            tokio::time::advance(ADAPT_INTERVAL).await;
        }
        assert_eq!(pacer.current_rate(), 2.0);
    }

    #[tokio::test(start_paused = true)]
    async fn slots_follow_slots_not_wake_ups() {
        // Three workers reserve at once: their slots are one period apart
        // however late each of them will wake.
        let start = Instant::now();
        let mut schedule = Schedule::new(200.0, 1);
        let slots: Vec<_> = (0..3).map(|_| schedule.reserve(start).unwrap().0).collect();
        let ms = Duration::from_millis;
        assert_eq!(slots, [start, start + ms(5), start + ms(10)]);

        // Idle time is not saved up: a late caller gets no catch-up burst.
        let late = start + ms(40);
        assert_eq!(schedule.reserve(late).unwrap().0, late);
        assert_eq!(schedule.reserve(late).unwrap().0, late + ms(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_change_takes_slots_back_without_a_burst() {
        let start = Instant::now();
        let mut schedule = Schedule::new(10.0, 1);
        let (_, old) = schedule.reserve(start).unwrap();
        schedule.reserve(start).unwrap();
        schedule.set_rate(5.0, start);
        let (slot, generation) = schedule.reserve(start).unwrap();
        assert_ne!(generation, old);
        assert_eq!(slot, start + Duration::from_millis(200));
        schedule.set_rate(f64::INFINITY, start);
        assert!(schedule.reserve(start).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn sends_due_at_once_after_a_stall_are_spread_over_the_second() {
        // Rate 2, burst 1: at most 3 sends in any second.
        let start = Instant::now();
        let mut schedule = Schedule::new(2.0, 1);
        let g = schedule.generation;
        let ms = Duration::from_millis;
        assert_eq!(schedule.admit(g, start), Admission::Go);
        assert_eq!(schedule.admit(g, start + ms(500)), Admission::Go);
        assert_eq!(schedule.admit(g, start + ms(900)), Admission::Go);
        assert_eq!(
            schedule.admit(g, start + ms(950)),
            Admission::NotBefore(start + ms(1000))
        );
        assert_eq!(schedule.admit(g, start + ms(1000)), Admission::Go);
        assert_eq!(schedule.admit(g + 1, start + ms(5000)), Admission::Stale);
    }

    #[tokio::test(start_paused = true)]
    async fn many_workers_keep_the_rate_exactly() {
        // Workers that each spend 1.3 ms on a request after their turn, as
        // against the sandbox: 200 turns at 200/s span exactly 995 ms.
        let pacer = Arc::new(Pacer::new(Rate::PerSecond(200.0), 1));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let pacer = pacer.clone();
            workers.spawn(async move {
                let mut at = vec![];
                for _ in 0..25 {
                    pacer.wait_turn().await;
                    at.push(Instant::now());
                    tokio::time::sleep(Duration::from_micros(1300)).await;
                }
                at
            });
        }
        let mut at = vec![];
        while let Some(turns) = workers.join_next().await {
            at.extend(turns.unwrap());
        }
        at.sort();
        assert_eq!(at.len(), 200);
        assert_eq!(at[199] - at[0], Duration::from_millis(995));
    }

    #[tokio::test(start_paused = true)]
    async fn burst_lets_that_many_through_at_once() {
        let pacer = Pacer::new(Rate::PerSecond(1.0), 3);
        let at = turns(&pacer, 4).await;
        assert_eq!(at[2] - at[0], Duration::ZERO);
        assert_eq!(at[3] - at[0], Duration::from_secs(1));
    }
}
