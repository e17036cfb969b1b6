//! The checks made before any request: base URLs and pull URL templates.

use http::Uri;

use super::{PingConfigError, PingError};

/// The id put into a pull URL template to check that the result is a URL.
const SAMPLE_ID: &str = "sample-user.id_0";

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

/// `Ok` for a template with `{id}` that is an absolute http(s) URL once `{id}` is filled in.
pub(super) fn check_template(template: &str) -> Result<(), PingError> {
    let invalid = |reason| PingError::InvalidTemplate { reason };
    if !template.contains("{id}") {
        return Err(invalid("it does not contain the literal `{id}`"));
    }
    // Check the URL Livefyre will actually call, `{id}` filled in, by the same rule as the
    // URLs of a profile (and as the emulator's registration endpoint).
    if !crate::profile::is_web_url(&template.replace("{id}", SAMPLE_ID)) {
        return Err(invalid(
            "it is not an absolute http or https URL once `{id}` is filled in",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert!(check_template("https://example.com/pull?id={id}").is_ok());
        assert!(check_template("http://example.com/users/{id}/pull").is_ok());
        for bad in [
            "https://example.com/pull",
            "/pull/{id}",
            "www.example-qa.com/user/{id}",
            "ftp://example.com/{id}",
            "https://exa mple.com/{id}",
            "",
        ] {
            assert!(
                matches!(check_template(bad), Err(PingError::InvalidTemplate { .. })),
                "{bad:?}"
            );
        }
    }

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
