//! [`Sign`]: puts the system token into each attempt's request as it is sent, so a retry
//! after a long backoff carries a token as fresh as the first attempt's.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{BufMut as _, Bytes, BytesMut};
use http::Request;
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::error::PingError;
use super::token::SystemTokens;

/// Where the token goes and under which name.
#[derive(Clone, Copy)]
pub(super) struct Slot {
    /// `lftoken` for a ping, `actor_token` for the registration.
    pub(super) name: &'static str,
    /// In the query string (`true`) or the form body.
    pub(super) in_query: bool,
}

/// Signs each request of one call with a token from `tokens`, then passes it on: the
/// request comes in with no parameters, and goes out with `name=token` followed by the
/// call's other parameters, in its form body or its query string.
#[derive(Clone)]
pub(super) struct Sign<S> {
    inner: S,
    tokens: Arc<SystemTokens>,
    slot: Slot,
    /// The call's other parameters, form-encoded; may be empty.
    params: Bytes,
}

impl<S> Sign<S> {
    pub(super) fn new(inner: S, tokens: Arc<SystemTokens>, slot: Slot, params: Bytes) -> Self {
        Self {
            inner,
            tokens,
            slot,
            params,
        }
    }
}

impl<S> Service<Request<Full<Bytes>>> for Sign<S>
where
    S: Service<Request<Full<Bytes>>, Response = (), Error = PingError>,
{
    type Response = ();
    type Error = PingError;
    type Future = SignFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), PingError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Full<Bytes>>) -> Self::Future {
        let signed = self
            .tokens
            .token()
            .map_err(PingError::from)
            .and_then(|token| signed(request, self.slot, &token, &self.params));
        match signed {
            Ok(request) => SignFuture::Sent {
                future: self.inner.call(request),
            },
            Err(error) => SignFuture::Refused { error: Some(error) },
        }
    }
}

/// `request` with its parameters: `name=token`, then `params`.
fn signed(
    request: Request<Full<Bytes>>,
    slot: Slot,
    token: &str,
    params: &[u8],
) -> Result<Request<Full<Bytes>>, PingError> {
    let pair = form_urlencoded::Serializer::new(String::new())
        .append_pair(slot.name, token)
        .finish();
    let mut form = BytesMut::with_capacity(pair.len() + 1 + params.len());
    form.put_slice(pair.as_bytes());
    if !params.is_empty() {
        form.put_u8(b'&');
        form.put_slice(params);
    }
    let (mut parts, body) = request.into_parts();
    if !slot.in_query {
        return Ok(Request::from_parts(parts, Full::new(form.freeze())));
    }
    // Form encoding leaves only bytes that are valid in a query.
    let query = String::from_utf8_lossy(&form);
    parts.uri = format!("{}?{query}", parts.uri)
        .parse()
        .map_err(PingError::InvalidRequestUrl)?;
    Ok(Request::from_parts(parts, body))
}

pin_project! {
    /// The future of [`Sign`]: the inner service's, or the reason no request was sent.
    #[project = SignProj]
    pub(super) enum SignFuture<F> {
        Sent { #[pin] future: F },
        Refused { error: Option<PingError> },
    }
}

impl<F> Future for SignFuture<F>
where
    F: Future<Output = Result<(), PingError>>,
{
    type Output = Result<(), PingError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            SignProj::Sent { future } => future.poll(cx),
            SignProj::Refused { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or(PingError::Token(crate::token::error::TokenError::Signing)))),
        }
    }
}
