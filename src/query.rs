//! The one value of a query parameter, strictly.
//!
//! `form_urlencoded::parse` decodes lossily (`%FF` becomes U+FFFD) and decodes a value before
//! anyone can look at its length, so this module splits the pairs itself and decodes with
//! `percent-encoding` (the crate `form_urlencoded` is built on), which reports bad UTF-8.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// Why a query parameter has no single usable value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryError {
    /// The parameter is not in the query.
    Missing,
    /// The parameter is present with an empty value.
    Empty,
    /// The parameter appears more than once.
    Duplicated,
    /// The value does not percent-decode to UTF-8.
    NotUtf8,
    /// The raw (still encoded) value is longer than allowed.
    TooLong,
}

/// The decoded value of the parameter `name`, which must appear exactly once, be non-empty,
/// valid UTF-8 once decoded, and at most `max_len` bytes long before decoding.
pub(crate) fn single_value<'q>(
    query: Option<&'q str>,
    name: &str,
    max_len: usize,
) -> Result<Cow<'q, str>, QueryError> {
    let mut found = None;
    for (raw_name, raw_value) in pairs(query.unwrap_or_default()) {
        if !name_is(raw_name, name) {
            continue;
        }
        if found.is_some() {
            return Err(QueryError::Duplicated);
        }
        found = Some(raw_value);
    }
    let raw_value = found.ok_or(QueryError::Missing)?;
    if raw_value.len() > max_len {
        return Err(QueryError::TooLong);
    }
    let value = decode(raw_value).ok_or(QueryError::NotUtf8)?;
    if value.is_empty() {
        return Err(QueryError::Empty);
    }
    Ok(value)
}

/// `path?query` with every `name` pair removed from the query, and no `?` when nothing is
/// left; one allocation. Other pairs keep their original encoding and order.
pub(crate) fn path_and_query_without(path: &str, query: &str, name: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1 + query.len());
    out.push_str(path);
    let mut separator = '?';
    for pair in query.split('&') {
        if pair.is_empty() || name_is(pair.split_once('=').map_or(pair, |(n, _)| n), name) {
            continue;
        }
        out.push(separator);
        separator = '&';
        out.push_str(pair);
    }
    out
}

/// The raw `(name, value)` pairs of an `application/x-www-form-urlencoded` string.
fn pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// Whether a raw (encoded) parameter name decodes to `name`.
fn name_is(raw_name: &str, name: &str) -> bool {
    raw_name == name || decode(raw_name).is_some_and(|decoded| decoded == name)
}

/// Form decoding: `+` is a space, `%XX` a byte; `None` when the bytes are not UTF-8.
fn decode(raw: &str) -> Option<Cow<'_, str>> {
    // Two single-`char` searches run on memchr; a `[char]` pattern walks char by char.
    if !raw.contains('%') && !raw.contains('+') {
        return Some(Cow::Borrowed(raw));
    }
    let spaced = raw.replace('+', " ");
    let decoded = percent_decode_str(&spaced).decode_utf8().ok()?;
    Some(Cow::Owned(decoded.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_value_table() {
        use QueryError::*;
        let cases: &[(Option<&str>, Result<&str, QueryError>)] = &[
            (Some("lftoken=abc"), Ok("abc")),
            (Some("id=1&lftoken=abc&x=y"), Ok("abc")),
            (Some("lf%74oken=abc"), Ok("abc")),
            (Some("lftoken=a%2Eb"), Ok("a.b")),
            (Some("lftoken=a+b"), Ok("a b")),
            (Some("lftoken=a=b"), Ok("a=b")),
            (Some("&&lftoken=abc&&"), Ok("abc")),
            (None, Err(Missing)),
            (Some(""), Err(Missing)),
            (Some("lftokenx=abc"), Err(Missing)),
            (Some("LFTOKEN=abc"), Err(Missing)),
            (Some("lftoken="), Err(Empty)),
            (Some("lftoken"), Err(Empty)),
            (Some("lftoken=a&lftoken=b"), Err(Duplicated)),
            (Some("lftoken=a&lftoken=a"), Err(Duplicated)),
            (Some("lftoken=a&lftoken="), Err(Duplicated)),
            (Some("lftoken=%FF"), Err(NotUtf8)),
            (Some("lftoken=%C3"), Err(NotUtf8)),
            (Some("lftoken=123456"), Err(TooLong)),
        ];
        for (query, expected) in cases {
            let got = single_value(*query, "lftoken", 5);
            assert_eq!(got.as_deref(), expected.as_deref(), "query {query:?}");
        }
    }

    #[test]
    fn multibyte_utf8_decodes() {
        assert_eq!(
            single_value(Some("lftoken=%E2%9C%93"), "lftoken", 9).as_deref(),
            Ok("\u{2713}")
        );
    }

    #[test]
    fn length_is_checked_before_decoding() {
        // Five raw bytes decode to one; the raw length counts.
        assert_eq!(
            single_value(Some("lftoken=%41%41"), "lftoken", 5),
            Err(QueryError::TooLong)
        );
        assert_eq!(
            single_value(Some("lftoken=%41%41"), "lftoken", 6).as_deref(),
            Ok("AA")
        );
    }

    #[test]
    fn path_and_query_without_table() {
        let cases: &[(&str, &str)] = &[
            ("lftoken=abc", "/p"),
            ("id=1&lftoken=abc", "/p?id=1"),
            ("lftoken=abc&id=1", "/p?id=1"),
            ("a=1&lftoken=x&b=%20&lf%74oken=y", "/p?a=1&b=%20"),
            ("a&&b", "/p?a&b"),
            ("", "/p"),
        ];
        for (query, expected) in cases {
            assert_eq!(
                path_and_query_without("/p", query, "lftoken"),
                *expected,
                "{query:?}"
            );
        }
    }
}
