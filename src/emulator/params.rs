//! The parameters of a ping or registration: from the form body or the query string.
//!
//! Livefyre's clients disagree on where they put them (PROTOCOL.md §3, §4), so both places
//! are read; the body wins when a name is in both. The body is parsed as a form whatever its
//! `Content-Type`, because the Python library sends its form labelled `application/json`.

use std::time::Duration;

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
    /// The body did not arrive in full within the time allowed.
    TimedOut,
    /// A parameter appears twice in the same place.
    Duplicated,
}

/// How much of a request body is read, and for how long.
#[derive(Debug, Clone, Copy)]
pub(super) struct BodyLimits {
    /// The most bytes read.
    pub(super) max: usize,
    /// How long the whole body may take to arrive, from when its reading starts.
    pub(super) timeout: Duration,
}

/// The decoded pairs of the body and of the query.
pub(super) struct Params {
    body: Vec<(String, String)>,
    query: Vec<(String, String)>,
}

impl Params {
    /// Reads the whole body (within `limits`) and the query.
    pub(super) async fn read(
        request: Request<Incoming>,
        limits: BodyLimits,
    ) -> Result<Self, Refused> {
        let query = pairs(request.uri().query().unwrap_or_default().as_bytes());
        let body = read_body(request, limits).await?;
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

/// Reads the whole body, refusing more than `limits.max` bytes (by `Content-Length` before
/// reading) and a body still incomplete after `limits.timeout`: a client that sends its
/// headers and then trickles, or stops, does not hold a connection for ever.
pub(super) async fn read_body(
    request: Request<Incoming>,
    limits: BodyLimits,
) -> Result<Bytes, Refused> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max as u64) {
        return Err(Refused::TooLarge);
    }
    let collect = Limited::new(request.into_body(), limits.max).collect();
    // `timeout` takes any duration: past what an `Instant` can hold it never fires.
    match tokio::time::timeout(limits.timeout, collect).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<LengthLimitError>() => Err(Refused::TooLarge),
        Ok(Err(_)) => Err(Refused::Unreadable),
        Err(_elapsed) => Err(Refused::TimedOut),
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
