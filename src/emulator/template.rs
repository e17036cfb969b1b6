//! The registered pull URL template: checking it, and expanding it into the URL of one pull.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The placeholder Livefyre replaces with the user id.
pub(super) const PLACEHOLDER: &str = "{id}";

/// Longest template accepted; real ones are well under 200 bytes.
pub(super) const MAX_TEMPLATE_LEN: usize = 2048;

/// What stands in for the token in everything the emulator shows.
pub(super) const REDACTED: &str = "REDACTED";

/// Everything but RFC 3986 unreserved characters is encoded, so an id can never change the
/// shape of the URL (ids valid for Livefyre pass through unchanged).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Checks a template given to the registration endpoint: it must contain `{id}` and, with
/// `{id}` filled in, be an absolute `http` or `https` URL with a host.
///
/// The error is a short sentence for the 400 body.
pub(super) fn check(template: &str) -> Result<(), &'static str> {
    if template.len() > MAX_TEMPLATE_LEN {
        return Err("pull_profile_url is longer than 2048 bytes");
    }
    if !template.contains(PLACEHOLDER) {
        return Err("pull_profile_url must contain the placeholder {id}");
    }
    // `{` and `}` are not valid in a URI, so check the template as the emulator will use it,
    // by the rule Livefyre applies to every URL of a profile.
    if !crate::profile::is_web_url(&template.replace(PLACEHOLDER, "id")) {
        return Err("pull_profile_url must be an absolute http or https URL");
    }
    Ok(())
}

/// The URL of one pull: `{id}` replaced by the percent-encoded id, then `lftoken=<token>`
/// appended with `&` when the template already has a query, else with `?`. A fragment is
/// dropped, since it is never sent.
pub(super) fn expand(template: &str, id: &str, token: &str) -> String {
    let filled = template.replace(PLACEHOLDER, &utf8_percent_encode(id, ENCODE).to_string());
    let base = filled
        .split_once('#')
        .map_or(filled.as_str(), |(base, _)| base);
    let separator = match base.rfind('?') {
        // `…?` or `…&` already end with a separator.
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
        None => "?",
    };
    format!(
        "{base}{separator}lftoken={}",
        utf8_percent_encode(token, ENCODE)
    )
}

/// The URL of a pull as the emulator shows it: the token replaced by [`REDACTED`].
pub(super) fn redacted(template: &str, id: &str) -> String {
    expand(template, id, REDACTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_accepts_absolute_web_urls_with_placeholder() {
        assert_eq!(check("http://127.0.0.1:3000/pull?id={id}"), Ok(()));
        assert_eq!(check("HTTPS://example.com/users/{id}/pull"), Ok(()));
    }

    #[test]
    fn check_refuses_the_rest() {
        for bad in [
            "http://example.com/pull",
            "/pull?id={id}",
            "example.com/user/{id}",
            "ftp://example.com/{id}",
            "http:///{id}",
            "http://exa mple.com/{id}",
            "",
        ] {
            assert!(check(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check(&format!("http://e.com/{{id}}{}", "a".repeat(3000))).is_err());
    }

    #[test]
    fn expand_appends_the_token_with_the_right_separator() {
        assert_eq!(
            expand("http://h/p?id={id}", "ann", "t.k"),
            "http://h/p?id=ann&lftoken=t.k"
        );
        assert_eq!(
            expand("http://h/u/{id}/pull", "ann", "t"),
            "http://h/u/ann/pull?lftoken=t"
        );
        assert_eq!(expand("http://h/p?", "a", "t"), "http://h/p?lftoken=t");
        assert_eq!(
            expand("http://h/p?id={id}#x", "a", "t"),
            "http://h/p?id=a&lftoken=t"
        );
        assert_eq!(
            expand("http://h/{id}", "a b/c", "t"),
            "http://h/a%20b%2Fc?lftoken=t"
        );
    }

    #[test]
    fn redacted_hides_the_token() {
        assert_eq!(
            redacted("http://h/p?id={id}", "a"),
            "http://h/p?id=a&lftoken=REDACTED"
        );
    }
}
