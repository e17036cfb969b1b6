//! The check of the base URL, made before any request (pull URL templates are
//! [`PullUrlTemplate`](crate::PullUrlTemplate)s, checked when parsed).

use http::Uri;

use super::PingConfigError;

/// The base URL normalised: lowercase scheme, authority, path without trailing slashes.
pub(super) fn check_base_url(url: &str) -> Result<String, PingConfigError> {
    let invalid = |reason| PingConfigError::InvalidBaseUrl { reason };
    if url.contains('#') {
        return Err(invalid("it has a fragment"));
    }
    let uri: Uri = url
        .parse()
        .map_err(|_| invalid("it is not a valid absolute URL"))?;
    let scheme = uri
        .scheme_str()
        .ok_or_else(|| invalid("it is not absolute (`http://…` or `https://…`)"))?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(invalid("its scheme is neither http nor https"));
    }
    let authority = uri.authority().ok_or_else(|| invalid("it has no host"))?;
    if authority.host().is_empty() {
        return Err(invalid("it has no host"));
    }
    // Credentials would end up in `Debug` output and logs.
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

    #[test]
    fn base_urls() {
        assert_eq!(
            check_base_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            check_base_url("HTTPS://h.example/p//").unwrap(),
            "https://h.example/p"
        );
        for bad in [
            "",
            "h.example",
            "/x",
            "ftp://h",
            "http://u:p@h",
            "http://h/?q",
            "http://h/#f",
        ] {
            assert!(
                matches!(
                    check_base_url(bad),
                    Err(PingConfigError::InvalidBaseUrl { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
