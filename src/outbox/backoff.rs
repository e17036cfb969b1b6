//! How long a failed ping waits: exponential backoff with full jitter, or what the
//! server's `Retry-After` asked for.

use std::time::Duration;

/// The first retry waits up to `base`; each later one up to twice as long, capped at `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub(crate) base: Duration,
    pub(crate) max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The longest wait after the `failures`-th consecutive failure (1-based).
    pub(crate) fn ceiling(&self, failures: u32) -> Duration {
        let factor = 1u32
            .checked_shl(failures.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The wait after the `failures`-th failure: `Retry-After` if the server sent one (it
    /// knows best; capped at `max`), otherwise uniform in `0..=ceiling` ("full jitter", so
    /// that many rows failing together do not retry together).
    pub(crate) fn delay(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(wait) => wait.min(self.max),
            None => {
                let ceiling = u64::try_from(self.ceiling(failures).as_millis()).unwrap_or(u64::MAX);
                Duration::from_millis(fastrand::u64(0..=ceiling))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let ms = Duration::from_millis;
        let table = [
            (0, ms(100)),
            (1, ms(100)),
            (2, ms(200)),
            (3, ms(400)),
            (4, ms(800)),
            (5, ms(1000)),
            (40, ms(1000)),
            (u32::MAX, ms(1000)),
        ];
        for (failures, ceiling) in table {
            assert_eq!(backoff.ceiling(failures), ceiling, "failures = {failures}");
        }
    }

    #[test]
    fn jitter_stays_within_the_ceiling_and_spreads() {
        let backoff = Backoff::default();
        let delays: Vec<_> = (0..200).map(|_| backoff.delay(3, None)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(4)));
        // Full jitter: not all equal (200 draws from 4001 values).
        assert!(delays.iter().any(|d| *d != delays[0]));
    }

    #[test]
    fn retry_after_wins_up_to_the_cap() {
        let backoff = Backoff::default();
        let secs = Duration::from_secs;
        assert_eq!(backoff.delay(1, Some(secs(7))), secs(7));
        assert_eq!(backoff.delay(9, Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(backoff.delay(1, Some(secs(86_400))), secs(300));
    }
}
