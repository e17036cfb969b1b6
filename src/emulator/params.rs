//! The parameters of a ping or registration: from the form body or the query string.
//!
//! Livefyre's clients disagree on where they put them (PROTOCOL.md §3, §4), so both places
//! are read; the body wins when a name is in both. The body is parsed as a form whatever its
//! `Content-Type`, because the Python library sends its form labelled `application/json`.

use bytes::Bytes;
use http::Request;
use http::header::CONTENT_LENGTH;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;

/// Why a request's parameters cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// The body is larger than allowed.
    TooLarge,
    /// The body could not be read (the client went away mid-body).
    Unreadable,
    /// A parameter appears twice in the same place.
    Duplicated,
}

/// The decoded pairs of the body and of the query.
pub(super) struct Params {
    body: Vec<(String, String)>,
    query: Vec<(String, String)>,
}

impl Params {
    /// Reads the whole body (at most `max` bytes) and the query.
    pub(super) async fn read(request: Request<Incoming>, max: usize) -> Result<Self, Refused> {
        let query = pairs(request.uri().query().unwrap_or_default().as_bytes());
        let body = read_body(request, max).await?;
        Ok(Self {
            body: pairs(&body),
            query,
        })
    }

    /// The value of `name`: from the body if it is there, else from the query.
    pub(super) fn get(&self, name: &str) -> Result<Option<String>, Refused> {
        match single(&self.body, name)? {
            Some(value) => Ok(Some(value)),
            None => single(&self.query, name),
        }
    }
}

fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).into_owned().collect()
}

fn single(pairs: &[(String, String)], name: &str) -> Result<Option<String>, Refused> {
    let mut values = pairs.iter().filter(|(n, _)| n == name).map(|(_, v)| v);
    match (values.next(), values.next()) {
        (Some(_), Some(_)) => Err(Refused::Duplicated),
        (value, _) => Ok(value.cloned()),
    }
}

/// Reads the whole body, refusing more than `max` bytes (by `Content-Length` before reading).
pub(super) async fn read_body(request: Request<Incoming>, max: usize) -> Result<Bytes, Refused> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(Refused::TooLarge);
    }
    match Limited::new(request.into_body(), max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(Refused::TooLarge),
        Err(_) => Err(Refused::Unreadable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(body: &str, query: &str) -> Params {
        Params {
            body: pairs(body.as_bytes()),
            query: pairs(query.as_bytes()),
        }
    }

    #[test]
    fn body_then_query() {
        let both = params("a=1&b=x%2By", "a=2&c=3");
        assert_eq!(both.get("a"), Ok(Some("1".to_owned())));
        assert_eq!(both.get("b"), Ok(Some("x+y".to_owned())));
        assert_eq!(both.get("c"), Ok(Some("3".to_owned())));
        assert_eq!(both.get("d"), Ok(None));
    }

    #[test]
    fn duplicates_are_refused() {
        assert_eq!(params("a=1&a=1", "").get("a"), Err(Refused::Duplicated));
        assert_eq!(params("", "a=1&a=2").get("a"), Err(Refused::Duplicated));
    }
}
