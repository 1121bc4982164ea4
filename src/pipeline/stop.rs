//! Stopping a campaign: the signal every task watches, with the first
//! reason given, and the circuit breaker that pulls it when one permanent
//! failure repeats.

use super::*;

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

    /// Runs `work` unless intake stops first: `None` when it had stopped
    /// already or stops while `work` waits. The stop is checked rather than
    /// waited on until `work` has to wait: waiting registers with the
    /// token and leaves it again, which, three times a call, was a visible
    /// part of an unpaced call when `work` is nearly always ready at once.
    pub async fn unless_stopped<F: Future>(&self, work: F) -> Option<F::Output> {
        if self.is_stopped() {
            return None;
        }
        tokio::select! {
            biased;
            out = work => Some(out),
            _ = self.stopped() => None,
        }
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
pub(super) struct Breaker {
    /// The message of the current streak.
    message: String,
    /// Length of the current streak.
    streak: usize,
}

impl Breaker {
    /// Counts a result; returns true when the streak reaches `threshold`.
    pub(super) fn observe(&mut self, failure: Option<&str>, threshold: usize) -> bool {
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

/// The stop signal and the breaker, tested.
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
