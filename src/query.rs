//! The one value of a query parameter, strictly.
//!
//! `form_urlencoded::parse` decodes lossily (`%FF` becomes U+FFFD) and decodes a value before
//! anyone can look at its length, so this module splits the pairs itself and decodes with
//! `percent-encoding` (the crate `form_urlencoded` is built on), which reports bad UTF-8.

use std::borrow::Cow;
use std::ops::Range;

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

/// The raw (still encoded) value of the parameter `name`, which must appear exactly once.
pub(crate) fn single_raw_value<'q>(
    query: Option<&'q str>,
    name: &str,
) -> Result<&'q str, QueryError> {
    single_raw_pair(query.unwrap_or_default(), name).map(|(raw_value, _range)| raw_value)
}

/// The raw value of the one pair of `name`, and where the whole pair sits in `query`.
fn single_raw_pair<'q>(query: &'q str, name: &str) -> Result<(&'q str, Range<usize>), QueryError> {
    let mut found = None;
    for range in pair_ranges(query) {
        let pair = &query[range.clone()];
        let (raw_name, raw_value) = split_pair(pair);
        if !name_is(raw_name, name) {
            continue;
        }
        if found.is_some() {
            return Err(QueryError::Duplicated);
        }
        found = Some((raw_value, range));
    }
    found.ok_or(QueryError::Missing)
}

/// The one pair of a parameter: its decoded value, and where the whole `name=value` pair
/// sits in the query (so it can be cut out without another scan).
#[derive(Debug)]
pub(crate) struct Pair<'q> {
    pub(crate) value: Cow<'q, str>,
    pub(crate) range: Range<usize>,
}

/// The parameter `name`, which must appear exactly once, be non-empty, valid UTF-8 once
/// decoded, and at most `max_len` bytes long before decoding.
pub(crate) fn single_pair<'q>(
    query: Option<&'q str>,
    name: &str,
    max_len: usize,
) -> Result<Pair<'q>, QueryError> {
    let (raw_value, range) = single_raw_pair(query.unwrap_or_default(), name)?;
    if raw_value.len() > max_len {
        return Err(QueryError::TooLong);
    }
    let value = decode(raw_value).ok_or(QueryError::NotUtf8)?;
    if value.is_empty() {
        return Err(QueryError::Empty);
    }
    Ok(Pair { value, range })
}

/// `path?query` with the pair at `range` (as [`single_pair`] found it) and one `&` next to it
/// removed, and no `?` when nothing is left. Every other byte is kept as it was.
pub(crate) fn path_and_query_without(path: &str, query: &str, range: Range<usize>) -> String {
    let (before, after) = (&query[..range.start], &query[range.end..]);
    // Drop the separator on one side of the pair: the one before it, or else the one after.
    let (before, after) = match before.strip_suffix('&') {
        Some(before) => (before, after),
        None => (before, after.strip_prefix('&').unwrap_or(after)),
    };
    let mut out = String::with_capacity(path.len() + 1 + before.len() + after.len());
    out.push_str(path);
    if !before.is_empty() || !after.is_empty() {
        out.push('?');
        out.push_str(before);
        out.push_str(after);
    }
    out
}

/// The byte ranges of the non-empty `&`-separated pairs of a query.
fn pair_ranges(query: &str) -> impl Iterator<Item = Range<usize>> {
    let bytes = query.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        while start < bytes.len() {
            let end = memchr::memchr(b'&', &bytes[start..]).map_or(bytes.len(), |at| start + at);
            let range = start..end;
            start = end + 1;
            if !range.is_empty() {
                return Some(range);
            }
        }
        None
    })
}

/// A raw pair's name and value; a pair without `=` has an empty value.
fn split_pair(pair: &str) -> (&str, &str) {
    match memchr::memchr(b'=', pair.as_bytes()) {
        Some(at) => (&pair[..at], &pair[at + 1..]),
        None => (pair, ""),
    }
}

/// Whether a raw (encoded) parameter name decodes to `name`.
fn name_is(raw_name: &str, name: &str) -> bool {
    raw_name == name || decode(raw_name).is_some_and(|decoded| decoded == name)
}

/// Form decoding: `+` is a space, `%XX` a byte; `None` when the bytes are not UTF-8.
fn decode(raw: &str) -> Option<Cow<'_, str>> {
    // One SIMD pass finds whether there is anything to decode at all (a token never has).
    if memchr::memchr2(b'%', b'+', raw.as_bytes()).is_none() {
        return Some(Cow::Borrowed(raw));
    }
    let spaced = raw.replace('+', " ");
    let decoded = percent_decode_str(&spaced).decode_utf8().ok()?;
    Some(Cow::Owned(decoded.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single_value<'q>(
        query: Option<&'q str>,
        name: &str,
        max_len: usize,
    ) -> Result<Cow<'q, str>, QueryError> {
        single_pair(query, name, max_len).map(|pair| pair.value)
    }

    #[test]
    fn single_raw_value_table() {
        assert_eq!(
            single_raw_value(Some("a=1&id=a%2Eb+c"), "id"),
            Ok("a%2Eb+c")
        );
        assert_eq!(single_raw_value(Some("i%64=x"), "id"), Ok("x"));
        assert_eq!(single_raw_value(Some("id"), "id"), Ok(""));
        assert_eq!(single_raw_value(None, "id"), Err(QueryError::Missing));
        assert_eq!(
            single_raw_value(Some("id=1&id=1"), "id"),
            Err(QueryError::Duplicated)
        );
    }

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
            ("a=1&lf%74oken=x&b=%20", "/p?a=1&b=%20"),
            ("a&&lftoken=x&&b", "/p?a&&&b"),
            ("&lftoken=x", "/p"),
            ("lftoken=x&", "/p"),
            ("a=1&lftoken=a+b&c", "/p?a=1&c"),
        ];
        for (query, expected) in cases {
            let pair = single_pair(Some(query), "lftoken", 100).unwrap();
            assert_eq!(
                path_and_query_without("/p", query, pair.range),
                *expected,
                "{query:?}"
            );
        }
    }

    #[test]
    fn pair_ranges_skip_empty_pairs() {
        let query = "&a=1&&b&";
        let pairs: Vec<&str> = pair_ranges(query).map(|r| &query[r]).collect();
        assert_eq!(pairs, ["a=1", "b"]);
        assert_eq!(pair_ranges("").count(), 0);
        assert_eq!(pair_ranges("&&&").count(), 0);
    }
}
