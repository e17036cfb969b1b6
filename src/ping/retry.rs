//! [`RetryPolicy`] and the `Retry-After` header.

use std::time::{Duration, SystemTime};

use http::header::{HeaderMap, RETRY_AFTER};

/// How many attempts a call makes and how long it waits between them.
///
/// The wait before attempt *n + 1* is uniformly random between zero and
/// `min(max_backoff, base_backoff × 2ⁿ⁻¹)` ("full jitter"), unless the response carried a
/// `Retry-After` header: then that delay is used, capped at `max_backoff`.
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
    /// One attempt, no retry.
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

    pub(super) fn jittered_backoff(&self, attempt: u32) -> Duration {
        let ceiling = u64::try_from(self.backoff_ceiling(attempt).as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=ceiling))
    }
}

/// The delay a `Retry-After` header asks for: delta-seconds, or an HTTP-date (all three
/// forms of RFC 9110, through `httpdate`). A date in the past means now.
pub(super) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 means "very long"; the cap applies anyway.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    use http::header::HeaderValue;

    #[test]
    fn retry_after_header() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            retry_after(&headers, now)
        };
        assert_eq!(with("3"), Some(Duration::from_secs(3)));
        assert_eq!(with(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            with("99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            with("Sun, 06 Nov 1994 08:49:47 GMT"),
            Some(Duration::from_secs(10))
        );
        assert_eq!(with("Sun, 06 Nov 1994 08:49:27 GMT"), Some(Duration::ZERO));
        // The obsolete RFC 850 and asctime forms are HTTP-dates too.
        assert_eq!(
            with("Sunday, 06-Nov-94 08:49:47 GMT"),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            with("Sun Nov  6 08:49:47 1994"),
            Some(Duration::from_secs(10))
        );
        assert_eq!(with("Sun, 06 Nov 1994 24:49:37 GMT"), None);
        assert_eq!(with("-1"), None);
        assert_eq!(with("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_grows_to_the_cap() {
        let policy = RetryPolicy::default()
            .with_base_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(1));
        let ceilings: Vec<_> = (1..=6).map(|n| policy.backoff_ceiling(n)).collect();
        let ms = Duration::from_millis;
        assert_eq!(
            ceilings,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(policy.backoff_ceiling(u32::MAX), ms(1000));
        for attempt in 1..=40 {
            assert!(policy.jittered_backoff(attempt) <= policy.backoff_ceiling(attempt));
        }
    }
}
