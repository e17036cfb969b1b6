//! The one web-URL rule ([`WebUrlError`] says why a URL breaks it) and [`PullUrlTemplate`],
//! the pull URL Livefyre calls with `{id}` filled in.
//!
//! Both the URLs of a profile and the pull URL template follow the same rule, so a template
//! the ping client registers is one the emulator accepts, and the other way round.

use std::fmt;
use std::str::FromStr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, PercentEncode, utf8_percent_encode};

use crate::user_id::UserId;

/// Longest [`PullUrlTemplate`], in bytes; real ones are well under 200.
pub const MAX_PULL_URL_TEMPLATE_LEN: usize = 2048;

/// The placeholder Livefyre replaces with the user id.
const PLACEHOLDER: &str = "{id}";

/// What stands in for the token in [`PullUrlTemplate::redacted`].
pub(crate) const REDACTED: &str = "REDACTED";

/// Everything but RFC 3986 unreserved characters is encoded, so a value put into a URL can
/// never change its shape. A [`UserId`] and a token pass through unchanged.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `value` percent-encoded for a path segment or a query value: the one encoding of ids and
/// tokens put into URLs.
pub(crate) fn encode(value: &str) -> PercentEncode<'_> {
    utf8_percent_encode(value, COMPONENT)
}

/// Why a URL is not an absolute `http`/`https` URL with a well-formed authority.
///
/// ```
/// use tower_livefyre::{Profile, ProfileError, url::WebUrlError};
///
/// let profile = Profile::new("ann".parse()?, "Ann").with_image_url("http://a:1:2/x.png");
/// assert_eq!(
///     profile.validate(),
///     Err(ProfileError::InvalidUrl { field: "image_url".into(), reason: WebUrlError::InvalidPort })
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebUrlError {
    /// It does not start with `http://` or `https://` (any case).
    #[error("it is not an absolute http or https URL")]
    NotHttp,
    /// A byte RFC 3986 does not allow in a URI (space, control, non-ASCII, `<`, `"`…).
    #[error("it has a character RFC 3986 does not allow at byte {index}")]
    InvalidCharacter {
        /// Where the byte is.
        index: usize,
    },
    /// The user information before `@` holds `@`, `[` or `]`.
    #[error("its user information is malformed")]
    InvalidUserinfo,
    /// The host is empty.
    #[error("it has no host")]
    NoHost,
    /// The host is neither a name (unreserved characters and sub-delimiters, no
    /// percent-encoding) nor a bracketed IPv6 address followed by nothing or a port.
    #[error("its host is malformed")]
    InvalidHost,
    /// The port is not a number up to 65535.
    #[error("its port is not a number up to 65535")]
    InvalidPort,
}

/// The web-URL rule: an absolute `http`/`https` URL (scheme case-insensitive), made only of
/// the characters RFC 3986 allows, with a well-formed authority and a non-empty host.
///
/// Checked in place on bytes: it runs on every pull (on the URLs of the profile), and parsing
/// into `http::Uri` would copy each URL.
pub(crate) fn check_web_url(value: &str) -> Result<(), WebUrlError> {
    let bytes = value.as_bytes();
    let scheme_len = scheme_len(bytes).ok_or(WebUrlError::NotHttp)?;
    if let Some(index) = bytes.iter().position(|&b| !URI_BYTES[usize::from(b)]) {
        return Err(WebUrlError::InvalidCharacter { index });
    }
    let rest = &bytes[scheme_len..];
    check_authority(&rest[..authority_len(rest)])
}

/// The length of `http://` or `https://` at the start, in any case.
fn scheme_len(bytes: &[u8]) -> Option<usize> {
    let has_prefix = |prefix: &[u8]| {
        bytes
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    };
    if has_prefix(b"http://") {
        Some(7)
    } else if has_prefix(b"https://") {
        Some(8)
    } else {
        None
    }
}

/// Where the authority ends in what follows `scheme://`.
fn authority_len(rest: &[u8]) -> usize {
    rest.iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len())
}

/// `[ userinfo "@" ] host [ ":" port ]`, with the bytes already known to be URI bytes.
fn check_authority(authority: &[u8]) -> Result<(), WebUrlError> {
    let host_and_port = match memchr::memchr(b'@', authority) {
        Some(at) => {
            let userinfo = &authority[..at];
            let host_and_port = &authority[at + 1..];
            if userinfo.iter().any(|b| matches!(b, b'[' | b']')) || host_and_port.contains(&b'@') {
                return Err(WebUrlError::InvalidUserinfo);
            }
            host_and_port
        }
        None => authority,
    };
    let (host, port) = match host_and_port.strip_prefix(b"[") {
        // An IPv6 literal: `[::1]` or `[::1]:8080`.
        Some(literal) => {
            let end = memchr::memchr(b']', literal).ok_or(WebUrlError::InvalidHost)?;
            let address = &literal[..end];
            let valid = address.contains(&b':')
                && address
                    .iter()
                    .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'));
            if !valid {
                return Err(WebUrlError::InvalidHost);
            }
            let after = &literal[end + 1..];
            if !after.is_empty() && !after.starts_with(b":") {
                return Err(WebUrlError::InvalidHost);
            }
            (address, after.get(1..))
        }
        None => match memchr::memchr(b':', host_and_port) {
            Some(colon) => (&host_and_port[..colon], Some(&host_and_port[colon + 1..])),
            None => (host_and_port, None),
        },
    };
    if host.is_empty() {
        return Err(WebUrlError::NoHost);
    }
    if !host_and_port.starts_with(b"[") && !host.iter().all(|&b| REG_NAME_BYTES[usize::from(b)]) {
        return Err(WebUrlError::InvalidHost);
    }
    let port_ok = port.is_none_or(|port| {
        port.iter().all(u8::is_ascii_digit)
            && (port.is_empty()
                || std::str::from_utf8(port).is_ok_and(|p| p.parse::<u16>().is_ok()))
    });
    if port_ok {
        Ok(())
    } else {
        Err(WebUrlError::InvalidPort)
    }
}

/// A table of the bytes in `allowed`.
const fn byte_table(allowed: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < allowed.len() {
        table[allowed[i] as usize] = true;
        i += 1;
    }
    table
}

/// The bytes RFC 3986 allows in a URI: unreserved, reserved and `%` (percent-encoding).
static URI_BYTES: [bool; 256] = byte_table(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%",
);

/// The bytes of a host name: unreserved and sub-delimiters. RFC 3986 also allows
/// percent-encoding there, which no real host needs and which hides bytes like `%00`.
static REG_NAME_BYTES: [bool; 256] =
    byte_table(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=");

/// The URL template Livefyre pulls profiles from, with the literal `{id}` where the user id
/// goes: for example `https://example.com/livefyre/pull?id={id}`.
///
/// [`parse`](Self::parse) is the one check of a template, shared by
/// `PingClient::set_user_sync_url` (feature `ping`) and the emulator's
/// registration: at most [`MAX_PULL_URL_TEMPLATE_LEN`] bytes, `{id}` in the path or the query
/// (and not in the host), and, once `{id}` is filled in, a URL that follows the web-URL rule
/// of [`WebUrlError`].
///
/// `Display` and `Debug` show the template, which holds no secret; [`redacted`](Self::redacted)
/// shows a pull URL with its token hidden, for logs.
///
/// # Example
///
/// ```
/// use tower_livefyre::{UserId, url::{PullUrlTemplate, PullUrlTemplateError}};
///
/// let template: PullUrlTemplate = "https://example.com/pull?id={id}".parse()?;
/// let ann: UserId = "ann.lee".parse()?;
/// assert_eq!(template.expand(&ann), "https://example.com/pull?id=ann.lee");
/// assert_eq!(
///     template.redacted(&ann),
///     "https://example.com/pull?id=ann.lee&lftoken=REDACTED"
/// );
///
/// let in_fragment = PullUrlTemplate::parse("https://example.com/pull#{id}");
/// assert_eq!(in_fragment, Err(PullUrlTemplateError::PlaceholderNotInPathOrQuery));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PullUrlTemplate {
    template: String,
}

/// Why a pull URL template was refused.
///
/// ```
/// use tower_livefyre::url::{PullUrlTemplate, PullUrlTemplateError, WebUrlError};
///
/// assert_eq!(
///     PullUrlTemplate::parse("https://example.com/pull"),
///     Err(PullUrlTemplateError::MissingPlaceholder)
/// );
/// assert_eq!(
///     PullUrlTemplate::parse("ftp://example.com/{id}"),
///     Err(PullUrlTemplateError::NotWebUrl(WebUrlError::NotHttp))
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PullUrlTemplateError {
    /// Longer than [`MAX_PULL_URL_TEMPLATE_LEN`].
    #[error(
        "the pull URL template is {len} bytes long, more than the {MAX_PULL_URL_TEMPLATE_LEN} allowed"
    )]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// No literal `{id}`.
    #[error("the pull URL template does not contain the placeholder `{{id}}`")]
    MissingPlaceholder,
    /// `{id}` is in the host, or only in the fragment (which is never sent).
    #[error("the pull URL template must have `{{id}}` in its path or query, and not in its host")]
    PlaceholderNotInPathOrQuery,
    /// With `{id}` filled in, it breaks the web-URL rule.
    #[error("the pull URL template, `{{id}}` filled in, is not a valid URL: {0}")]
    NotWebUrl(#[from] WebUrlError),
}

impl PullUrlTemplate {
    /// Checks `template` (see [`PullUrlTemplate`]) and wraps it.
    ///
    /// # Errors
    ///
    /// The [`PullUrlTemplateError`] naming the first broken rule.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::url::PullUrlTemplate;
    ///
    /// assert!(PullUrlTemplate::parse("http://127.0.0.1:3000/users/{id}/pull").is_ok());
    /// assert!(PullUrlTemplate::parse("http://{id}.example.com/pull").is_err());
    /// ```
    pub fn parse(template: impl Into<String>) -> Result<Self, PullUrlTemplateError> {
        let template = template.into();
        Self::check(&template)?;
        Ok(Self { template })
    }

    fn check(template: &str) -> Result<(), PullUrlTemplateError> {
        if template.len() > MAX_PULL_URL_TEMPLATE_LEN {
            return Err(PullUrlTemplateError::TooLong {
                len: template.len(),
            });
        }
        if !template.contains(PLACEHOLDER) {
            return Err(PullUrlTemplateError::MissingPlaceholder);
        }
        // `{` and `}` are not URI characters: check the URL that will be called.
        check_web_url(&template.replace(PLACEHOLDER, "id"))?;
        // The URL is valid, so the template starts with `http(s)://`, and neither `{id}` nor
        // a sample id holds `/`, `?` or `#`: the parts are where they will be once filled in.
        let bytes = template.as_bytes();
        let authority_start = scheme_len(bytes).ok_or(WebUrlError::NotHttp)?;
        let authority_end = authority_start + authority_len(&bytes[authority_start..]);
        let fragment_start = memchr::memchr(b'#', bytes).unwrap_or(bytes.len());
        let mut placeholders = template.match_indices(PLACEHOLDER).map(|(at, _)| at);
        let in_host = |at: &usize| *at < authority_end;
        let in_path_or_query = |at: &usize| (authority_end..fragment_start).contains(at);
        if placeholders.clone().any(|at| in_host(&at))
            || !placeholders.any(|at| in_path_or_query(&at))
        {
            return Err(PullUrlTemplateError::PlaceholderNotInPathOrQuery);
        }
        Ok(())
    }

    /// The template as given.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.template
    }

    /// The URL of the pull of `id`, without the token: `{id}` replaced (percent-encoded,
    /// which leaves a [`UserId`] as it is) and the fragment dropped, since it is never sent.
    #[must_use]
    pub fn expand(&self, id: &UserId) -> String {
        let filled = self.template.replace(PLACEHOLDER, &encode(id).to_string());
        match filled.split_once('#') {
            Some((base, _fragment)) => base.to_owned(),
            None => filled,
        }
    }

    /// The URL Livefyre calls to pull `id`: [`expand`](Self::expand) with `lftoken=<token>`
    /// appended, with `&` when the URL already has a query, else with `?`.
    ///
    /// ```
    /// use tower_livefyre::url::PullUrlTemplate;
    ///
    /// let template: PullUrlTemplate = "http://h/users/{id}/pull".parse()?;
    /// assert_eq!(template.expand_with_token(&"ann".parse()?, "t.k.n"), "http://h/users/ann/pull?lftoken=t.k.n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn expand_with_token(&self, id: &UserId, token: &str) -> String {
        let mut url = self.expand(id);
        let separator = match url.rfind('?') {
            // `…?` or `…&` already end with a separator.
            Some(_) if url.ends_with('?') || url.ends_with('&') => "",
            Some(_) => "&",
            None => "?",
        };
        url.push_str(separator);
        url.push_str("lftoken=");
        url.push_str(&encode(token).to_string());
        url
    }

    /// The pull URL of `id` as logs may show it: the token replaced by `REDACTED` (and so
    /// is the value of any `lftoken` the template itself carries).
    #[must_use]
    pub fn redacted(&self, id: &UserId) -> String {
        redact_query_tokens(&self.expand_with_token(id, REDACTED))
    }

    /// The template as pages and logs may show it: the value of any `lftoken` query
    /// parameter it carries replaced by `REDACTED`.
    #[cfg(feature = "emulator")]
    pub(crate) fn redacted_template(&self) -> String {
        redact_query_tokens(&self.template)
    }
}

/// `url` with the value of every `lftoken` query parameter (its name compared
/// percent-decoded and ignoring case) replaced by `REDACTED`.
fn redact_query_tokens(url: &str) -> String {
    let end = url.find('#').unwrap_or(url.len());
    let Some(start) = url[..end].find('?').map(|at| at + 1) else {
        return url.to_owned();
    };
    let is_token = |name: &str| {
        percent_encoding::percent_decode_str(name)
            .decode_utf8_lossy()
            .eq_ignore_ascii_case("lftoken")
    };
    let query = url[start..end]
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _value)) if is_token(name) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{}{query}{}", &url[..start], &url[end..])
}

impl FromStr for PullUrlTemplate {
    type Err = PullUrlTemplateError;

    fn from_str(template: &str) -> Result<Self, PullUrlTemplateError> {
        Self::check(template)?;
        Ok(Self {
            template: template.to_owned(),
        })
    }
}

impl TryFrom<String> for PullUrlTemplate {
    type Error = PullUrlTemplateError;

    fn try_from(template: String) -> Result<Self, PullUrlTemplateError> {
        Self::parse(template)
    }
}

impl TryFrom<&str> for PullUrlTemplate {
    type Error = PullUrlTemplateError;

    fn try_from(template: &str) -> Result<Self, PullUrlTemplateError> {
        template.parse()
    }
}

impl AsRef<str> for PullUrlTemplate {
    fn as_ref(&self) -> &str {
        &self.template
    }
}

impl fmt::Display for PullUrlTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.template)
    }
}

impl fmt::Debug for PullUrlTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.template, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_in_the_template_is_redacted_too() {
        let template: PullUrlTemplate = "http://h/p?id={id}&LFTOKEN=abc.def.ghi&x=1#f"
            .parse()
            .unwrap();
        let ann = UserId::from_static("ann");
        assert_eq!(
            template.redacted(&ann),
            "http://h/p?id=ann&LFTOKEN=REDACTED&x=1&lftoken=REDACTED"
        );
        assert_eq!(
            redact_query_tokens(template.as_str()),
            "http://h/p?id={id}&LFTOKEN=REDACTED&x=1#f"
        );
        assert_eq!(redact_query_tokens("http://h/{id}"), "http://h/{id}");
        assert_eq!(
            redact_query_tokens("http://h/p?%6Cftoken=s&lftoken"),
            "http://h/p?%6Cftoken=REDACTED&lftoken"
        );
    }

    #[test]
    fn web_urls() {
        for url in [
            "http://example.com",
            "https://example.com/a.png",
            "HTTPS://EXAMPLE.COM/a.png",
            "http://example.com:8080/u?x=1#top",
            "http://example.com:/u",
            "http://[::1]:8080/u",
            "http://[::1]",
            "http://[::ffff:127.0.0.1]/",
            "http://user:pw@example.com/",
            "http://127.0.0.1:65535/",
            "https://example.com/%C3%BC?q=a+b&r=(1)",
        ] {
            assert_eq!(check_web_url(url), Ok(()), "{url}");
        }
        use WebUrlError::*;
        let refused: &[(&str, WebUrlError)] = &[
            ("", NotHttp),
            ("example.com/a.png", NotHttp),
            ("/a.png", NotHttp),
            ("//example.com/a.png", NotHttp),
            ("ftp://example.com/a.png", NotHttp),
            ("javascript://example.com/%0Aalert(1)x", NotHttp),
            ("http:/example.com", NotHttp),
            ("httpx://example.com", NotHttp),
            ("http://", NoHost),
            ("http:///a.png", NoHost),
            ("http://:80/", NoHost),
            ("http://user@/", NoHost),
            ("http://[::1/", InvalidHost),
            ("http://example.com:port/", InvalidPort),
            ("http://example.com:65536/", InvalidPort),
            ("http://example.com/a b.png", InvalidCharacter { index: 20 }),
            ("http://example.com/ü.png", InvalidCharacter { index: 19 }),
            ("http://example.com/a\n", InvalidCharacter { index: 20 }),
            ("http://exa<mple>.com/", InvalidCharacter { index: 10 }),
            // Malformed authorities (issue 9, defect 4).
            ("http://[::1]garbage/", InvalidHost),
            ("http://]/", InvalidHost),
            ("http://a:1:2/", InvalidPort),
            ("http://a@b@c/", InvalidUserinfo),
            ("http://%00/", InvalidHost),
            ("http://[]/", InvalidHost),
            ("http://[zz]/", InvalidHost),
            ("http://a[b]/", InvalidHost),
            ("http://[u@h]/", InvalidUserinfo),
        ];
        for (url, error) in refused {
            assert_eq!(check_web_url(url), Err(*error), "{url:?}");
        }
    }

    #[test]
    fn templates() {
        for good in [
            "https://example.com/pull?id={id}",
            "http://example.com/users/{id}/pull",
            "HTTP://127.0.0.1:3000/p?id={id}#top",
            "http://h/p?a={id}&b={id}",
            "http://h/{id}#{id}",
        ] {
            assert_eq!(
                PullUrlTemplate::parse(good).map(|t| t.to_string()),
                Ok(good.to_owned())
            );
        }
        use PullUrlTemplateError::*;
        let long = format!(
            "http://e.com/{{id}}{}",
            "a".repeat(MAX_PULL_URL_TEMPLATE_LEN)
        );
        let refused: &[(&str, PullUrlTemplateError)] = &[
            ("", MissingPlaceholder),
            ("https://example.com/pull", MissingPlaceholder),
            ("/pull/{id}", NotWebUrl(WebUrlError::NotHttp)),
            (
                "www.example-qa.com/user/{id}",
                NotWebUrl(WebUrlError::NotHttp),
            ),
            ("ftp://example.com/{id}", NotWebUrl(WebUrlError::NotHttp)),
            (
                "https://exa mple.com/{id}",
                NotWebUrl(WebUrlError::InvalidCharacter { index: 11 }),
            ),
            ("http:///{id}", NotWebUrl(WebUrlError::NoHost)),
            ("http://a:1:2/{id}", NotWebUrl(WebUrlError::InvalidPort)),
            ("http://%00/{id}", NotWebUrl(WebUrlError::InvalidHost)),
            // Issue 9, defect 3: the fragment is never sent.
            ("http://h/pull#{id}", PlaceholderNotInPathOrQuery),
            ("http://h/pull?x=1#id={id}", PlaceholderNotInPathOrQuery),
            ("http://{id}.example.com/pull", PlaceholderNotInPathOrQuery),
            (
                "http://{id}.example.com/pull?id={id}",
                PlaceholderNotInPathOrQuery,
            ),
            (
                "http://u:{id}@example.com/pull",
                PlaceholderNotInPathOrQuery,
            ),
            (&long, TooLong { len: long.len() }),
        ];
        for (template, error) in refused {
            assert_eq!(
                PullUrlTemplate::parse(*template),
                Err(*error),
                "{template:?}"
            );
            assert_eq!(
                template.parse::<PullUrlTemplate>(),
                Err(*error),
                "{template:?}"
            );
        }
    }

    #[test]
    fn expansion() {
        let ann = UserId::new("ann").unwrap();
        let cases: &[(&str, &str, &str)] = &[
            (
                "http://h/p?id={id}",
                "http://h/p?id=ann",
                "http://h/p?id=ann&lftoken=t.k",
            ),
            (
                "http://h/u/{id}/pull",
                "http://h/u/ann/pull",
                "http://h/u/ann/pull?lftoken=t.k",
            ),
            (
                "http://h/{id}?",
                "http://h/ann?",
                "http://h/ann?lftoken=t.k",
            ),
            (
                "http://h/p?id={id}&",
                "http://h/p?id=ann&",
                "http://h/p?id=ann&lftoken=t.k",
            ),
            (
                "http://h/p?id={id}#x{id}",
                "http://h/p?id=ann",
                "http://h/p?id=ann&lftoken=t.k",
            ),
        ];
        for (template, expanded, with_token) in cases {
            let template = PullUrlTemplate::parse(*template).unwrap();
            assert_eq!(template.expand(&ann), *expanded);
            assert_eq!(template.expand_with_token(&ann, "t.k"), *with_token);
        }
        let template = PullUrlTemplate::parse("http://h/p?id={id}").unwrap();
        assert_eq!(
            template.expand_with_token(&ann, "a b/c"),
            "http://h/p?id=ann&lftoken=a%20b%2Fc"
        );
        assert_eq!(
            template.redacted(&ann),
            "http://h/p?id=ann&lftoken=REDACTED"
        );
    }
}
