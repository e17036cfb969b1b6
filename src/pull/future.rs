//! The response future of [`PullService`](crate::PullService).

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use http_body_util::Full;

type Lookup = Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>;

/// Response future of [`PullService`](crate::PullService).
///
/// Requests refused before the lookup (bad method, bad id) and profiles lent by in-memory
/// sources ([`ProfileSource::profile_ref`](crate::ProfileSource::profile_ref)) are answered
/// without a lookup future. A lookup is boxed because the future of a user's
/// [`ProfileSource`](crate::ProfileSource) cannot be named.
pub struct ResponseFuture {
    kind: Kind,
}

enum Kind {
    Ready(Option<Response<Full<Bytes>>>),
    Lookup(Lookup),
}

impl ResponseFuture {
    pub(super) fn ready(response: Response<Full<Bytes>>) -> Self {
        Self {
            kind: Kind::Ready(Some(response)),
        }
    }

    pub(super) fn lookup(
        future: impl Future<Output = Response<Full<Bytes>>> + Send + 'static,
    ) -> Self {
        Self {
            kind: Kind::Lookup(Box::pin(future)),
        }
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Full<Bytes>>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.kind {
            Kind::Ready(response) => {
                Poll::Ready(Ok(response.take().expect("future polled after completion")))
            }
            Kind::Lookup(future) => future.as_mut().poll(cx).map(Ok),
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
