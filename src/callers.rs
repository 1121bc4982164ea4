//! The caller-number pool: which imported number (`from_number_id`) each
//! call goes out from, and how often one number may call.
//!
//! Numbers are handed out in turn over the contacts as they are dialed; a
//! row that names its own number keeps it and does not move the turn. With
//! `per_number_rate` each number has a limiter of its own, on tokio's clock
//! as the shared [`Pacer`](crate::limiter::Pacer) is, so tests can pause
//! time. The shared pacer still caps the campaign as a whole.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::campaign::Rate;

/// A governor clock that reads tokio's time, so per-number pacing can be
/// tested with tokio's paused clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> std::time::Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// A limiter with one bucket per caller number id.
type KeyedLimiter =
    RateLimiter<u64, HashMapStateStore<u64>, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// The campaign's caller numbers and their pacing.
#[derive(Debug, Default)]
pub struct CallerPool {
    /// Ids handed out in turn; empty when the campaign sets none.
    ids: Vec<u64>,
    /// Turns taken so far; the next id is `ids[turn % ids.len()]`.
    turn: AtomicUsize,
    /// Pacing per number, when `per_number_rate` is set.
    limiter: Option<KeyedLimiter>,
}

impl CallerPool {
    /// A pool over `ids`, each number paced at `per_number` (if set).
    pub fn new(ids: Vec<u64>, per_number: Option<Rate>) -> CallerPool {
        let limiter = match per_number {
            Some(Rate::PerSecond(rate)) => build_limiter(rate),
            Some(Rate::Unlimited) | None => None,
        };
        CallerPool {
            ids,
            turn: AtomicUsize::new(0),
            limiter,
        }
    }

    /// The number a contact's call goes out from: the row's own, else the
    /// next in turn, else none (the platform's default number).
    pub fn pick(&self, row_override: Option<u64>) -> Option<u64> {
        if row_override.is_some() {
            return row_override;
        }
        if self.ids.is_empty() {
            return None;
        }
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        Some(self.ids[turn % self.ids.len()])
    }

    /// Waits until number `id` may place another call.
    pub async fn wait_turn(&self, id: Option<u64>) {
        let (Some(limiter), Some(id)) = (&self.limiter, id) else {
            return;
        };
        while let Err(not_until) = limiter.check_key(&id) {
            tokio::time::sleep(not_until.wait_time_from(TokioClock.now())).await;
        }
    }
}

/// A keyed limiter for `rate` calls per second per number, allowing no
/// burst: a number's calls are spread evenly.
fn build_limiter(rate: f64) -> Option<KeyedLimiter> {
    let period = Duration::from_secs_f64(1.0 / rate);
    let quota = Quota::with_period(period)?.allow_burst(NonZeroU32::MIN);
    Some(RateLimiter::hashmap_with_clock(quota, TokioClock))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    #[test]
    fn numbers_are_handed_out_in_turn_and_a_row_keeps_its_own() {
        let pool = CallerPool::new(vec![23, 24, 25], None);
        let picks: Vec<Option<u64>> = [None, None, Some(99), None, None]
            .into_iter()
            .map(|row| pool.pick(row))
            .collect();
        assert_eq!(picks, [Some(23), Some(24), Some(99), Some(25), Some(23)]);
        assert_eq!(CallerPool::default().pick(None), None);
    }

    #[tokio::test(start_paused = true)]
    async fn each_number_is_paced_on_its_own() {
        let pool = CallerPool::new(vec![23, 24], Some(Rate::PerSecond(0.5)));
        let start = Instant::now();
        pool.wait_turn(Some(23)).await;
        pool.wait_turn(Some(24)).await;
        assert_eq!(Instant::now() - start, Duration::ZERO, "two numbers");
        pool.wait_turn(Some(23)).await;
        assert_eq!(Instant::now() - start, Duration::from_secs(2));
        pool.wait_turn(None).await;
        assert_eq!(Instant::now() - start, Duration::from_secs(2));
    }
}
