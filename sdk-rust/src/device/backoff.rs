//! Reconnect delays: exponential growth with full jitter (each delay uniform in
//! `[0, ceiling]`), so a fleet of devices dropped by one server restart does not come back
//! in lockstep.
use std::time::Duration;

use rand::Rng;

pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    ceiling: Duration,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            ceiling: initial,
        }
    }

    /// The next delay; doubles the ceiling for the one after.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling.min(self.max);
        self.ceiling = ceiling.saturating_mul(2).min(self.max);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }

    /// Back to the first ceiling, after a connection proved healthy.
    pub(crate) fn reset(&mut self) {
        self.ceiling = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_cap_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
        let expected_ceilings = [
            100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000,
        ];
        for ceiling in expected_ceilings {
            assert_eq!(backoff.ceiling.as_millis(), ceiling);
            assert!(backoff.next_delay() <= Duration::from_millis(ceiling as u64));
        }
        backoff.reset();
        assert_eq!(backoff.ceiling, Duration::from_millis(100));
    }

    #[test]
    fn delays_are_spread_out() {
        let mut backoff = Backoff::new(Duration::from_secs(10), Duration::from_secs(10));
        let delays: std::collections::HashSet<_> = (0..20).map(|_| backoff.next_delay()).collect();
        assert!(
            delays.len() > 10,
            "full jitter should rarely repeat: {delays:?}"
        );
    }
}
