//! [`Lftoken`]: the gate itself.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::uri::PathAndQuery;
use http::{Request, Response, Uri};
use tower_service::Service;

use super::config::Config;
use super::future::ResponseFuture;
use super::rejection::{DefaultRejection, LftokenRejection, MakeRejection};
use crate::network::Network;
use crate::query::{self, QueryError};
use crate::token;
use crate::token::LivefyreClaims;

/// The query parameter Livefyre appends to the pull URL.
pub(crate) const LFTOKEN: &str = "lftoken";

/// Middleware that passes on only requests with a valid Livefyre system token in `lftoken`;
/// see [`LftokenLayer`](crate::LftokenLayer).
///
/// On success the [`LivefyreClaims`] are in the request's extensions. Readiness is the inner
/// service's; the inner service's error type passes through unchanged.
#[derive(Clone)]
pub struct Lftoken<S, R = DefaultRejection> {
    pub(super) inner: S,
    pub(super) config: Arc<Config>,
    pub(super) make_rejection: R,
}

impl<S> Lftoken<S> {
    /// Wraps `inner` with the default settings of [`LftokenLayer::new`](crate::LftokenLayer::new).
    pub fn new(inner: S, network: Network) -> Self {
        Self {
            inner,
            config: Arc::new(Config::new(network)),
            make_rejection: DefaultRejection,
        }
    }
}

impl<S, R> Lftoken<S, R> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Decides on a request: its claims and where the token's pair is in the query, or why
    /// it is refused.
    fn check<B>(
        &self,
        request: &Request<B>,
    ) -> Result<(LivefyreClaims, Range<usize>), LftokenRejection> {
        let config = &*self.config;
        let pair = query::single_pair(request.uri().query(), LFTOKEN, config.max_token_len)
            .map_err(|error| match error {
                QueryError::Missing => LftokenRejection::Missing,
                QueryError::Empty => LftokenRejection::Empty,
                QueryError::Duplicated => LftokenRejection::Duplicated,
                QueryError::NotUtf8 => LftokenRejection::NotUtf8,
                QueryError::TooLong => LftokenRejection::TooLong {
                    max: config.max_token_len,
                },
            })?;
        let claims = token::validate(
            config.network.keys(),
            &pair.value,
            config.now(),
            config.leeway,
            config.max_token_len,
        )?;
        Ok((claims, pair.range))
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for Lftoken<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: MakeRejection<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        match self.check(&request) {
            Ok((claims, pair)) => {
                #[cfg(feature = "metrics")]
                crate::metrics::lftoken_accepted(if claims.signed_with_previous_key() {
                    crate::metrics::TokenKey::Previous
                } else {
                    crate::metrics::TokenKey::Current
                });
                if self.config.strip_token {
                    strip_token(request.uri_mut(), pair);
                }
                request.extensions_mut().insert(claims);
                ResponseFuture::inner(self.inner.call(request))
            }
            Err(reason) => {
                tracing::debug!(%reason, "lftoken refused");
                #[cfg(feature = "metrics")]
                crate::metrics::lftoken_rejected(reason.metric_reason());
                let mut response = self.make_rejection.make_rejection(&reason);
                response.extensions_mut().insert(reason);
                ResponseFuture::rejected(response)
            }
        }
    }
}

/// Removes the `lftoken` pair at `pair` (the only one: duplicates were refused) from the
/// URI's query.
fn strip_token(uri: &mut Uri, pair: Range<usize>) {
    let Some(query) = uri.query() else { return };
    let path_and_query = query::path_and_query_without(uri.path(), query, pair);
    // Removing a whole pair from a valid query leaves a valid one, so this always succeeds.
    let Ok(stripped) = PathAndQuery::try_from(path_and_query) else {
        return;
    };
    // Taken, not cloned: the scheme and authority move into the new URI as they are.
    let mut parts = std::mem::take(uri).into_parts();
    parts.path_and_query = Some(stripped);
    // Only the path and query changed, so the parts still form the URI they came from.
    *uri = Uri::from_parts(parts).unwrap_or_default();
}

impl<S: fmt::Debug, R> fmt::Debug for Lftoken<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lftoken")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
