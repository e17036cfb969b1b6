//! [`RetryPolicy`]: how many attempts, and how long to wait between them.

use std::time::Duration;

/// How many attempts a call makes and how long it waits between them.
///
/// The wait before attempt *n + 1* is uniformly random between zero and
/// `min(max_backoff, base_backoff × 2ⁿ⁻¹)` ("full jitter", so that many clients failing at
/// once do not retry in step), unless the response carried a `Retry-After` header: then that
/// delay is used, capped at `max_backoff`. Every [`Duration`] is accepted, `Duration::MAX`
/// included (it means "wait as long as it takes"); nothing overflows.
///
/// Which failures are retried is [`PingError::is_retryable`](crate::PingError::is_retryable).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::RetryPolicy;
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_attempts(), 4);
/// assert_eq!(policy.base_backoff(), Duration::from_millis(200));
/// assert_eq!(policy.max_backoff(), Duration::from_secs(10));
///
/// let patient = policy.with_max_attempts(8).with_max_backoff(Duration::from_secs(60));
/// assert_eq!(patient.max_attempts(), 8);
/// assert_eq!(RetryPolicy::never().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_backoff: Duration,
    max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts in all, backoff from 200 ms up to 10 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry: for callers that retry on their own schedule (see
    /// [`PingError::is_retryable`](crate::PingError::is_retryable)).
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::never().max_attempts(), 1);
    /// ```
    #[must_use]
    pub fn never() -> Self {
        Self::default().with_max_attempts(1)
    }

    /// Sets the number of attempts in all, the first included; 0 counts as 1.
    #[must_use]
    pub const fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = if attempts == 0 { 1 } else { attempts };
        self
    }

    /// Sets the backoff ceiling before the first retry; it doubles for each later one.
    #[must_use]
    pub const fn with_base_backoff(mut self, backoff: Duration) -> Self {
        self.base_backoff = backoff;
        self
    }

    /// Sets the longest wait between two attempts, also the cap on `Retry-After`.
    #[must_use]
    pub const fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The number of attempts in all, at least 1.
    #[must_use]
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff ceiling before the first retry.
    #[must_use]
    pub const fn base_backoff(&self) -> Duration {
        self.base_backoff
    }

    /// The longest wait between two attempts.
    #[must_use]
    pub const fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The ceiling of the wait after failed attempt `attempt` (1-based).
    pub(super) fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// A uniformly random wait between zero and the ceiling after failed attempt `attempt`.
    pub(super) fn jittered_backoff(&self, attempt: u32) -> Duration {
        let ceiling = u64::try_from(self.backoff_ceiling(attempt).as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=ceiling))
    }

    /// The wait after failed attempt `attempt` (1-based; 0 counts as 1): the server's
    /// `Retry-After`, capped at [`max_backoff`](Self::max_backoff), or else a uniformly random
    /// wait between zero and `min(max_backoff, base_backoff × 2ᵃᵗᵗᵉᵐᵖᵗ⁻¹)`. This is the one
    /// backoff rule of the crate: [`PingClient`](crate::PingClient) waits this long between
    /// attempts, and callers that retry on their own schedule (the outbox relay) can too.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_livefyre::RetryPolicy;
    ///
    /// let policy = RetryPolicy::default()
    ///     .with_base_backoff(Duration::from_secs(1))
    ///     .with_max_backoff(Duration::from_secs(60));
    /// assert!(policy.delay(3, None) <= Duration::from_secs(4));
    /// assert_eq!(policy.delay(1, Some(Duration::from_secs(7))), Duration::from_secs(7));
    /// assert_eq!(policy.delay(1, Some(Duration::from_secs(3600))), Duration::from_secs(60));
    /// ```
    #[must_use]
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(asked) => asked.min(self.max_backoff),
            None => self.jittered_backoff(attempt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn backoff_ceiling_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default()
            .with_base_backoff(MS(100))
            .with_max_backoff(Duration::from_secs(1));
        let ceilings: Vec<_> = (1..=6).map(|n| policy.backoff_ceiling(n)).collect();
        assert_eq!(
            ceilings,
            [MS(100), MS(200), MS(400), MS(800), MS(1000), MS(1000)]
        );
        assert_eq!(policy.backoff_ceiling(0), MS(100));
        assert_eq!(policy.backoff_ceiling(33), MS(1000));
        assert_eq!(policy.backoff_ceiling(u32::MAX), MS(1000));
    }

    #[test]
    fn huge_durations_saturate_instead_of_overflowing() {
        let policy = RetryPolicy::default()
            .with_base_backoff(Duration::MAX)
            .with_max_backoff(Duration::MAX);
        assert_eq!(policy.backoff_ceiling(u32::MAX), Duration::MAX);
        // The jitter draws whole nanoseconds in a u64: about 584 years at most.
        assert!(policy.jittered_backoff(u32::MAX) <= Duration::from_nanos(u64::MAX));
        assert_eq!(policy.delay(1, Some(Duration::MAX)), Duration::MAX);
    }

    #[test]
    fn retry_after_replaces_the_backoff_up_to_the_cap() {
        let policy = RetryPolicy::default()
            .with_base_backoff(MS(100))
            .with_max_backoff(Duration::from_secs(5));
        for (asked, expected) in [
            (Duration::ZERO, Duration::ZERO),
            (Duration::from_secs(3), Duration::from_secs(3)),
            (Duration::from_secs(5), Duration::from_secs(5)),
            (Duration::from_secs(6), Duration::from_secs(5)),
            (Duration::MAX, Duration::from_secs(5)),
        ] {
            assert_eq!(policy.delay(1, Some(asked)), expected, "{asked:?}");
        }
    }

    /// Full jitter: every wait within `[0, ceiling]`, and the samples spread over the whole
    /// range, so a jitter that always returns zero, the ceiling, or any one value fails.
    #[test]
    fn jitter_stays_within_the_ceiling_and_spreads_over_it() {
        let policy = RetryPolicy::default()
            .with_base_backoff(MS(100))
            .with_max_backoff(Duration::from_secs(1));
        for attempt in [1, 2, 3, 4, 5, 40] {
            let ceiling = policy.backoff_ceiling(attempt);
            let samples: Vec<Duration> = (0..2000).map(|_| policy.delay(attempt, None)).collect();
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
