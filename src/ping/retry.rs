//! [`RetryPolicy`] and the `Retry-After` header.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// The delay a `Retry-After` header asks for: delta-seconds, or an IMF-fixdate HTTP-date
/// (the obsolete RFC 850 and asctime forms are ignored). A date in the past means now.
pub(super) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 means "very long"; the cap applies anyway.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = parse_imf_fixdate(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_imf_fixdate(value: &str) -> Option<SystemTime> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let b = value.as_bytes();
    let number = |from: usize, to: usize| -> Option<u64> {
        b.get(from..to)?.iter().try_fold(0u64, |acc, &digit| {
            digit
                .is_ascii_digit()
                .then(|| acc * 10 + u64::from(digit - b'0'))
        })
    };
    let punctuation_ok = b.len() == 29
        && b.get(3..5) == Some(b", ")
        && b.get(7) == Some(&b' ')
        && b.get(11) == Some(&b' ')
        && b.get(16) == Some(&b' ')
        && b.get(19) == Some(&b':')
        && b.get(22) == Some(&b':')
        && b.get(25..) == Some(b" GMT");
    if !punctuation_ok {
        return None;
    }
    let month = MONTHS
        .iter()
        .position(|m| b.get(8..11) == Some(&m[..]))
        .and_then(|index| u64::try_from(index + 1).ok())?;
    let (day, year) = (number(5, 7)?, number(12, 16)?);
    let (hour, minute, second) = (number(17, 19)?, number(20, 22)?, number(23, 25)?);
    if !(1..=31).contains(&day) || year < 1970 || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm, years counted from March).
    let y = if month <= 2 { year - 1 } else { year };
    let (era, year_of_era) = (y / 400, y % 400);
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = (era * 146_097 + day_of_era).checked_sub(719_468)?;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderValue;

    #[test]
    fn imf_fixdate() {
        let at = |s| parse_imf_fixdate(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(at("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(at("Tue, 29 Feb 2000 23:59:59 GMT"), Some(951_868_799));
        assert_eq!(at("Wed, 01 Mar 2000 00:00:00 GMT"), Some(951_868_800));
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 UTC"), None);
        assert_eq!(at("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(at("Sun, 06 Foo 1994 08:49:37 GMT"), None);
        assert_eq!(at("Sun, 0x Nov 1994 08:49:37 GMT"), None);
        assert_eq!(at("Sun, 06 Nov 1994 24:49:37 GMT"), None);
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 GMTé"), None);
        assert_eq!(at(""), None);
    }

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
