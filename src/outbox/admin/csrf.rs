//! Cross-site request protection for the admin page's `POST`s: the fetch metadata (or
//! `Origin`) must say same origin, and the form must carry a token only this page hands out.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use http::header::{HOST, ORIGIN};
use sha2::Sha256;

/// How long a token handed out with the page stays good.
pub(super) const TOKEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What each token is a MAC of, before its issue time.
const CONTEXT: &[u8] = b"tower-livefyre outbox admin csrf v1:";

/// Why the admin page refused a request, in the refusal's response extensions (the
/// tower-http pattern), as the body says in words.
///
/// # Example
///
/// ```
/// use tower_livefyre::outbox::AdminRejection;
/// assert_eq!(AdminRejection::ReadOnly.to_string(), "the outbox admin page is read-only");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub enum AdminRejection {
    /// `Sec-Fetch-Site` is neither `same-origin` nor `none`, or, without it, `Origin` is
    /// missing or names another origin than `Host`.
    #[error("cross-site request refused: the request does not come from this page's origin")]
    CrossSite,
    /// The form carries no `csrf` field.
    #[error("missing CSRF token: reload the page and submit its form again")]
    MissingToken,
    /// The `csrf` field is not a token this page handed out, or it has expired.
    #[error("invalid or expired CSRF token: reload the page and submit its form again")]
    BadToken,
    /// The page is read-only ([`OutboxAdmin::read_only`](super::OutboxAdmin::read_only)).
    #[error("the outbox admin page is read-only")]
    ReadOnly,
}

/// The key the tokens are a MAC under: random per process unless the app sets one.
#[derive(Clone)]
pub(super) struct CsrfKey(Arc<Hmac<Sha256>>);

impl CsrfKey {
    pub(super) fn random() -> Self {
        let mut key = [0u8; 32];
        // No entropy source is a broken host; a constant key would make every token guessable.
        getrandom::fill(&mut key).expect("the OS random number generator failed");
        Self::new(&key)
    }

    pub(super) fn new(key: &[u8]) -> Self {
        Self(Arc::new(
            Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length"),
        ))
    }

    fn mac(&self, issued: u64) -> Hmac<Sha256> {
        let mut mac = (*self.0).clone();
        mac.update(CONTEXT);
        mac.update(issued.to_string().as_bytes());
        mac
    }

    /// A token issued `now`: `SECONDS.MAC`.
    pub(super) fn token(&self, now: SystemTime) -> String {
        let issued = unix_secs(now);
        let tag = self.mac(issued).finalize().into_bytes();
        format!("{issued}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Whether `token` was issued by this key less than [`TOKEN_TTL`] before `now`.
    pub(super) fn verify(&self, token: &str, now: SystemTime) -> bool {
        let Some((issued, tag)) = token.split_once('.') else {
            return false;
        };
        let (Ok(issued), Ok(tag)) = (issued.parse::<u64>(), URL_SAFE_NO_PAD.decode(tag)) else {
            return false;
        };
        let now = unix_secs(now);
        // A minute of slack for tokens from a sibling process whose clock runs ahead.
        let fresh = issued <= now + 60 && now.saturating_sub(issued) < TOKEN_TTL.as_secs();
        fresh && self.mac(issued).verify_slice(&tag).is_ok()
    }
}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Whether the request comes from a page of the same origin, by its fetch metadata: a
/// browser's `Sec-Fetch-Site` must be `same-origin` or `none` (typed by the user); a client
/// that sends none must send an `Origin` whose host and port are the request's `Host`.
pub(super) fn same_origin(headers: &HeaderMap, authority: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(origin_host) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false; // `null` and anything that is not a web origin
    };
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or(authority);
    host.is_some_and(|host| !host.is_empty() && origin_host.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn tokens_verify_under_their_key_only_while_fresh() {
        let key = CsrfKey::new(b"one");
        let now = SystemTime::now();
        let token = key.token(now);
        assert!(key.verify(&token, now));
        assert!(key.verify(&token, now + Duration::from_secs(3600)));
        assert!(!key.verify(&token, now + TOKEN_TTL));
        assert!(!CsrfKey::new(b"two").verify(&token, now));
        assert!(!CsrfKey::random().verify(&token, now));
        let (issued, tag) = token.split_once('.').unwrap();
        let later = unix_secs(now) + 1;
        assert!(!key.verify(&format!("{later}.{tag}"), now + Duration::from_secs(1)));
        for bad in [
            "",
            ".",
            "x.y",
            &format!("{issued}."),
            &format!("{issued}.{tag}x"),
        ] {
            assert!(!key.verify(bad, now), "{bad:?}");
        }
    }

    #[test]
    fn origin_rules() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_static(value));
            }
            map
        };
        let host = ("host", "admin.example:8080");
        for (pairs, ok) in [
            (vec![("sec-fetch-site", "same-origin")], true),
            (vec![("sec-fetch-site", "none")], true),
            (vec![("sec-fetch-site", "same-site")], false),
            (vec![("sec-fetch-site", "cross-site")], false),
            (vec![host, ("origin", "http://admin.example:8080")], true),
            (vec![host, ("origin", "https://ADMIN.example:8080")], true),
            (vec![host, ("origin", "http://evil.example")], false),
            (vec![host, ("origin", "null")], false),
            (vec![host], false),
            (vec![("origin", "http://admin.example:8080")], false),
        ] {
            assert_eq!(same_origin(&headers(&pairs), None), ok, "{pairs:?}");
        }
        let origin = headers(&[("origin", "http://admin.example:8080")]);
        assert!(same_origin(&origin, Some("admin.example:8080")));
    }
}
