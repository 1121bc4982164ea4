//! Pacing shared by every worker: one governor rate limiter, a pause gate
//! that a 429 closes for the whole pool, and the adaptive rate that backs
//! off after a 429 and creeps back while calls succeed.
//!
//! The limiter runs on tokio's clock (not governor's default one), so tests
//! can pause and advance time instead of waiting for it.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
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

/// A governor clock that reads tokio's time.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }
}

/// The governor limiter type used here.
type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// Shared pacing for one run.
#[derive(Debug)]
pub struct Pacer {
    /// The rate the user configured; the adaptive rate never exceeds it.
    ceiling: Rate,
    /// Calls allowed at once above the steady rate.
    burst: u32,
    /// The limiter for the current adaptive rate; replaced when it changes.
    limiter: RwLock<Option<Arc<Limiter>>>,
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
            burst: burst.max(1),
            limiter: RwLock::new(build_limiter(current, burst)),
            adaptive: Mutex::new(Adaptive {
                current,
                changed: None,
            }),
            paused_until: Mutex::new(None),
        }
    }

    /// Waits until this worker may send: past any pause, then within the
    /// rate. Checks the pause again after the rate wait, since a 429 may
    /// have arrived meanwhile.
    pub async fn wait_turn(&self) {
        loop {
            self.wait_out_pause().await;
            let limiter = self.limiter.read().map(|l| l.clone()).unwrap_or(None);
            if let Some(limiter) = limiter {
                while let Err(not_until) = limiter.check() {
                    tokio::time::sleep(not_until.wait_time_from(TokioClock.now())).await;
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

    /// Replaces the limiter for a new rate.
    fn install(&self, rate: f64) {
        let limiter = build_limiter(rate, self.burst);
        if let Ok(mut slot) = self.limiter.write() {
            *slot = limiter;
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

/// A limiter for `rate` calls per second, or none when unpaced.
fn build_limiter(rate: f64, burst: u32) -> Option<Arc<Limiter>> {
    if !rate.is_finite() {
        return None;
    }
    let period = Duration::from_secs_f64(1.0 / rate);
    let quota = Quota::with_period(period)?.allow_burst(NonZeroU32::new(burst.max(1))?);
    Some(Arc::new(RateLimiter::direct_with_clock(quota, TokioClock)))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    async fn burst_lets_that_many_through_at_once() {
        let pacer = Pacer::new(Rate::PerSecond(1.0), 3);
        let at = turns(&pacer, 4).await;
        assert_eq!(at[2] - at[0], Duration::ZERO);
        assert_eq!(at[3] - at[0], Duration::from_secs(1));
    }
}
