//! How long to wait before trying a contact again: exponential backoff with
//! jitter, and the server's own `Retry-After`, in seconds or as a date.
//!
//! We hand-write the schedule rather than take a backoff crate because it is
//! a few lines and must honour two rules those crates don't offer together:
//! never retry sooner than `initial_backoff` (a 429 answered instantly would
//! only earn another 429), and full jitter above that floor.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// The retry settings of a campaign.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Most requests for one contact, the first included.
    pub max_attempts: u32,
    /// Shortest wait between two requests for one contact.
    pub initial_backoff: Duration,
    /// Longest wait the schedule itself produces.
    pub max_backoff: Duration,
    /// Give up on a contact once this much time passed since its first try.
    pub max_elapsed: Duration,
    /// Longest `Retry-After` the dialer will sit out; a longer one stops the
    /// campaign with a time to resume after.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(10 * 60),
            max_wait: Duration::from_secs(5 * 60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `next` (2 for the first retry): a random
    /// point between `initial_backoff` and `initial_backoff * 2^(next - 1)`,
    /// capped at `max_backoff`.
    pub fn backoff(&self, next: u32, rng: &mut impl Rng) -> Duration {
        let floor = self.initial_backoff.min(self.max_backoff);
        let doublings = next.saturating_sub(1).min(20);
        let ceiling = floor
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
            .max(floor);
        let spread = (ceiling - floor).as_secs_f64();
        floor + Duration::from_secs_f64(rng.random_range(0.0..=spread))
    }
}

/// What a `Retry-After` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait this long from now (a past date gives zero).
    Wait(Duration),
    /// The header could not be read; fall back to the backoff.
    Unreadable,
}

/// Reads a `Retry-After` value: delay-seconds or an HTTP-date, relative to
/// `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> RetryAfter {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return RetryAfter::Wait(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>()
        && seconds.is_finite()
        && seconds >= 0.0
    {
        return RetryAfter::Wait(Duration::from_secs_f64(seconds.min(1e9)));
    }
    match httpdate::parse_http_date(value) {
        Ok(when) => RetryAfter::Wait(when.duration_since(now).unwrap_or(Duration::ZERO)),
        Err(_) => RetryAfter::Unreadable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn backoff_never_undercuts_the_floor_and_never_exceeds_the_cap() {
        let mut rng = SmallRng::seed_from_u64(7);
        for next in 2..40 {
            for _ in 0..50 {
                let wait = policy().backoff(next, &mut rng);
                assert!(wait >= Duration::from_millis(500), "{wait:?}");
                assert!(wait <= Duration::from_secs(10), "{wait:?}");
            }
        }
    }

    #[test]
    fn backoff_grows_with_attempts() {
        let mut rng = SmallRng::seed_from_u64(1);
        let late: Vec<Duration> = (0..200).map(|_| policy().backoff(8, &mut rng)).collect();
        let first: Vec<Duration> = (0..200).map(|_| policy().backoff(2, &mut rng)).collect();
        assert!(first.iter().all(|w| *w <= Duration::from_secs(1)));
        assert!(late.iter().any(|w| *w > Duration::from_secs(5)));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let in_six = httpdate::fmt_http_date(now + Duration::from_secs(6));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(
            parse_retry_after("2", now),
            RetryAfter::Wait(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after(&in_six, now),
            RetryAfter::Wait(Duration::from_secs(6))
        );
        assert_eq!(
            parse_retry_after(&past, now),
            RetryAfter::Wait(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), RetryAfter::Unreadable);
        assert_eq!(parse_retry_after("-3", now), RetryAfter::Unreadable);
        assert_eq!(
            parse_retry_after("86400", now),
            RetryAfter::Wait(Duration::from_secs(86400))
        );
    }
}
