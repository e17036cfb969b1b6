//! [`RetryPolicy`]: how many attempts one call makes, and its [`Backoff`] between them.

use std::time::Duration;

use super::backoff::Backoff;

/// How many attempts a call makes and how long it waits between them.
///
/// The wait is the [`Backoff`]'s: a jittered wait whose ceiling doubles from
/// [`base_backoff`](Self::base_backoff) up to [`max_backoff`](Self::max_backoff), or the
/// response's `Retry-After`, capped at `max_backoff`.
///
/// Which failures are retried is [`PingError::is_retryable`](crate::PingError::is_retryable).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::ping::RetryPolicy;
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
    backoff: Backoff,
}

impl Default for RetryPolicy {
    /// 4 attempts in all, [`Backoff::default`] (200 ms up to 10 s).
    fn default() -> Self {
        Self {
            max_attempts: 4,
            backoff: Backoff::default(),
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
    /// use tower_livefyre::ping::RetryPolicy;
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

    /// Sets the whole backoff.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_livefyre::ping::{Backoff, RetryPolicy};
    ///
    /// let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
    /// assert_eq!(RetryPolicy::default().with_backoff(backoff).backoff(), backoff);
    /// ```
    #[must_use]
    pub const fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets the backoff ceiling before the first retry; it doubles for each later one.
    #[must_use]
    pub const fn with_base_backoff(mut self, base: Duration) -> Self {
        self.backoff = Backoff::new(base, self.backoff.max());
        self
    }

    /// Sets the longest wait between two attempts, also the cap on `Retry-After`.
    #[must_use]
    pub const fn with_max_backoff(mut self, max: Duration) -> Self {
        self.backoff = Backoff::new(self.backoff.base(), max);
        self
    }

    /// The number of attempts in all, at least 1.
    #[must_use]
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait between attempts.
    #[must_use]
    pub const fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The backoff ceiling before the first retry.
    #[must_use]
    pub const fn base_backoff(&self) -> Duration {
        self.backoff.base()
    }

    /// The longest wait between two attempts.
    #[must_use]
    pub const fn max_backoff(&self) -> Duration {
        self.backoff.max()
    }
}
