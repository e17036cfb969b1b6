//! The check of the base URL, made before any request (pull URL templates are
//! [`PullUrlTemplate`](crate::url::PullUrlTemplate)s, checked when parsed).

use http::Uri;

use super::config_error::PingConfigError;
use crate::url::check_web_url;

/// The base URL normalised: lowercase scheme, authority, path without trailing slashes.
///
/// It must follow the crate's one web-URL rule, and on top of it hold no credentials (they
/// would end up in `Debug` output and logs), no query and no fragment (paths are appended).
pub(super) fn check_base_url(url: &str) -> Result<String, PingConfigError> {
    let invalid = |reason| PingConfigError::InvalidBaseUrl {
        reason,
        web_url: None,
    };
    check_web_url(url).map_err(|error| PingConfigError::InvalidBaseUrl {
        reason: "it is not an absolute http or https URL with a well-formed host",
        web_url: Some(error),
    })?;
    if url.contains('#') {
        return Err(invalid("it has a fragment"));
    }
    let uri: Uri = url.parse().map_err(|_| invalid("it is not a valid URI"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(invalid("it is not a valid URI"));
    };
    if authority.as_str().contains('@') {
        return Err(invalid("it holds credentials"));
    }
    if uri.query().is_some() {
        return Err(invalid("it has a query"));
    }
    Ok(format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        authority,
        uri.path().trim_end_matches('/')
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::WebUrlError;

    #[test]
    fn base_urls() {
        for (url, normalised) in [
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("HTTPS://h.example/p//", "https://h.example/p"),
            ("http://[::1]:3001", "http://[::1]:3001"),
            ("https://labs.quill.fyre.co", "https://labs.quill.fyre.co"),
        ] {
            assert_eq!(check_base_url(url).unwrap(), normalised, "{url:?}");
        }
        for (bad, rule) in [
            ("", Some(WebUrlError::NotHttp)),
            ("h.example", Some(WebUrlError::NotHttp)),
            ("/x", Some(WebUrlError::NotHttp)),
            ("ftp://h", Some(WebUrlError::NotHttp)),
            (
                "http://h x/",
                Some(WebUrlError::InvalidCharacter { index: 8 }),
            ),
            ("http://", Some(WebUrlError::NoHost)),
            ("http://[::1]garbage/", Some(WebUrlError::InvalidHost)),
            ("http://%00/", Some(WebUrlError::InvalidHost)),
            ("http://a:1:2/", Some(WebUrlError::InvalidPort)),
            ("http://a@b@c/", Some(WebUrlError::InvalidUserinfo)),
            ("http://u:p@h", None),
            ("http://h/?q", None),
            ("http://h/#f", None),
        ] {
            match check_base_url(bad) {
                Err(PingConfigError::InvalidBaseUrl { web_url, .. }) => {
                    assert_eq!(web_url, rule, "{bad:?}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
