//! [`Backoff`]: how long to wait before trying a failed request again.

use std::time::Duration;

/// The wait between attempts: a ceiling that starts at `base` and doubles with each failed
/// attempt up to `max`, and a uniformly random wait below it ("full jitter", so that many
/// clients failing at once do not retry in step). A server's `Retry-After` replaces the
/// random wait, capped at `max`.
///
/// The one backoff rule of the crate: [`PingClient`](crate::PingClient) waits this long
/// between the attempts of one call ([`RetryPolicy`](super::RetryPolicy) holds one), and the
/// outbox relay between the attempts of one row. Every [`Duration`] is accepted,
/// `Duration::MAX` included (it means "wait as long as it takes"); nothing overflows.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::ping::Backoff;
///
/// let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
/// assert!(backoff.delay(3, None) <= Duration::from_secs(4));
/// assert_eq!(backoff.delay(1, Some(Duration::from_secs(7))), Duration::from_secs(7));
/// assert_eq!(backoff.delay(1, Some(Duration::from_secs(3600))), Duration::from_secs(60));
/// assert_eq!(Backoff::default().base(), Duration::from_millis(200));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
}

impl Default for Backoff {
    /// From 200 ms up to 10 s.
    fn default() -> Self {
        Self::new(Duration::from_millis(200), Duration::from_secs(10))
    }
}

impl Backoff {
    /// A backoff whose ceiling is `base` before the first retry and doubles up to `max`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_livefyre::ping::Backoff;
    ///
    /// let backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    /// assert_eq!((backoff.base(), backoff.max()), (Duration::from_millis(500), Duration::from_secs(30)));
    /// ```
    #[must_use]
    pub const fn new(base: Duration, max: Duration) -> Self {
        Self { base, max }
    }

    /// The ceiling before the first retry.
    #[must_use]
    pub const fn base(&self) -> Duration {
        self.base
    }

    /// The longest wait, also the cap on `Retry-After`.
    #[must_use]
    pub const fn max(&self) -> Duration {
        self.max
    }

    /// The wait after failed attempt `attempt` (1-based; 0 counts as 1): the server's
    /// `Retry-After`, capped at [`max`](Self::max), or else a uniformly random wait between
    /// zero and `min(max, base × 2ᵃᵗᵗᵉᵐᵖᵗ⁻¹)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_livefyre::ping::Backoff;
    ///
    /// let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    /// assert!(backoff.delay(1, None) <= Duration::from_millis(100));
    /// assert!(backoff.delay(40, None) <= Duration::from_secs(1));
    /// ```
    #[must_use]
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(asked) => asked.min(self.max),
            None => self.jittered(attempt),
        }
    }

    /// The ceiling of the wait after failed attempt `attempt` (1-based).
    fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// A uniformly random wait between zero and the ceiling after failed attempt `attempt`.
    fn jittered(&self, attempt: u32) -> Duration {
        let ceiling = u64::try_from(self.ceiling(attempt).as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=ceiling))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn ceiling_doubles_up_to_the_cap() {
        let backoff = Backoff::new(MS(100), Duration::from_secs(1));
        let ceilings: Vec<_> = (1..=6).map(|n| backoff.ceiling(n)).collect();
        assert_eq!(
            ceilings,
            [MS(100), MS(200), MS(400), MS(800), MS(1000), MS(1000)]
        );
        assert_eq!(backoff.ceiling(0), MS(100));
        assert_eq!(backoff.ceiling(33), MS(1000));
        assert_eq!(backoff.ceiling(u32::MAX), MS(1000));
    }

    #[test]
    fn huge_durations_saturate_instead_of_overflowing() {
        let backoff = Backoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(backoff.ceiling(u32::MAX), Duration::MAX);
        // The jitter draws whole nanoseconds in a u64: about 584 years at most.
        assert!(backoff.jittered(u32::MAX) <= Duration::from_nanos(u64::MAX));
        assert_eq!(backoff.delay(1, Some(Duration::MAX)), Duration::MAX);
    }

    #[test]
    fn retry_after_replaces_the_backoff_up_to_the_cap() {
        let backoff = Backoff::new(MS(100), Duration::from_secs(5));
        for (asked, expected) in [
            (Duration::ZERO, Duration::ZERO),
            (Duration::from_secs(3), Duration::from_secs(3)),
            (Duration::from_secs(5), Duration::from_secs(5)),
            (Duration::from_secs(6), Duration::from_secs(5)),
            (Duration::MAX, Duration::from_secs(5)),
        ] {
            assert_eq!(backoff.delay(1, Some(asked)), expected, "{asked:?}");
        }
    }

    /// Full jitter: every wait within `[0, ceiling]`, and the samples spread over the whole
    /// range, so a jitter that always returns zero, the ceiling, or any one value fails.
    #[test]
    fn jitter_stays_within_the_ceiling_and_spreads_over_it() {
        let backoff = Backoff::new(MS(100), Duration::from_secs(1));
        for attempt in [1, 2, 3, 4, 5, 40] {
            let ceiling = backoff.ceiling(attempt);
            let samples: Vec<Duration> = (0..2000).map(|_| backoff.delay(attempt, None)).collect();
            assert!(samples.iter().all(|wait| *wait <= ceiling), "{attempt}");
            // Ten equal buckets over [0, ceiling]: each holds about 200 of 2000 uniform
            // samples; fewer than 100 in any one (0.5 × expected) has a probability below
            // 1e-15, so this only fails when the distribution is off.
            let mut buckets = [0u32; 10];
            for wait in &samples {
                let index = (wait.as_nanos() * 10 / (ceiling.as_nanos() + 1)) as usize;
                buckets[index] += 1;
            }
            assert!(
                buckets.iter().all(|count| *count >= 100),
                "{attempt}: {buckets:?}"
            );
            let mean = samples.iter().sum::<Duration>() / 2000;
            assert!(
                mean > ceiling * 2 / 5 && mean < ceiling * 3 / 5,
                "{attempt}: mean {mean:?} of ceiling {ceiling:?}"
            );
        }
    }
}
