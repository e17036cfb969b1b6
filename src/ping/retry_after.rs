//! The `Retry-After` response header (RFC 9110 §10.2.3).

use std::time::{Duration, SystemTime};

use http::header::{HeaderMap, RETRY_AFTER};

/// The delay a `Retry-After` header asks for: delta-seconds, or an HTTP-date (all three
/// forms of RFC 9110, through `httpdate`) measured from `now`. A date in the past means now;
/// anything else (negative, fractional, garbage) is ignored.
pub(super) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 means "very long"; the policy's cap applies anyway.
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
    fn delta_seconds_and_http_dates() {
        // 1994-11-06 08:49:37 UTC, RFC 9110's example date.
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let secs = Duration::from_secs;
        for (value, expected) in [
            ("3", Some(secs(3))),
            (" 0 ", Some(Duration::ZERO)),
            ("120", Some(secs(120))),
            ("99999999999999999999999", Some(secs(u64::MAX))),
            ("Sun, 06 Nov 1994 08:49:47 GMT", Some(secs(10))),
            ("Sun, 06 Nov 1994 08:49:27 GMT", Some(Duration::ZERO)),
            // The obsolete RFC 850 and asctime forms are HTTP-dates too.
            ("Sunday, 06-Nov-94 08:49:47 GMT", Some(secs(10))),
            ("Sun Nov  6 08:49:47 1994", Some(secs(10))),
            ("Sun, 06 Nov 1994 24:49:37 GMT", None),
            ("-1", None),
            ("1.5", None),
            ("", None),
            ("soon", None),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            assert_eq!(retry_after(&headers, now), expected, "{value:?}");
        }
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
        let mut opaque = HeaderMap::new();
        opaque.insert(RETRY_AFTER, HeaderValue::from_bytes(b"\xff1").unwrap());
        assert_eq!(retry_after(&opaque, now), None);
    }
}
