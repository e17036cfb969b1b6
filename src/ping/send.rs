//! Sending one call through the tower stack `Retry<PingRetry, Sign<Classify<Timeout<C>>>>`.

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use http::{Request, Response, Uri};
use http_body::Body;
use http_body_util::Full;
use tower::ServiceExt as _;
use tower::retry::Retry;
use tower::timeout::Timeout;
use tower_service::Service;

use std::sync::Arc;

use super::classify::Classify;
use super::error::PingError;
use super::ping_retry::PingRetry;
use super::retry_policy::RetryPolicy;
use super::sign::{Sign, Slot};
use super::token::SystemTokens;
use crate::box_error::BoxError;

const USER_AGENT_VALUE: &str = concat!("tower-livefyre/", env!("CARGO_PKG_VERSION"));
const FORM: &str = "application/x-www-form-urlencoded";

/// What one call needs besides the HTTP client.
pub(super) struct Call {
    /// Where to POST, without a query.
    pub(super) uri: Uri,
    /// The token's parameter, and whether the parameters go in the query.
    pub(super) slot: Slot,
    /// The other parameters, form-encoded (the token goes first, attempt by attempt).
    pub(super) params: Bytes,
    pub(super) tokens: Arc<SystemTokens>,
    pub(super) retry: RetryPolicy,
    pub(super) timeout: Duration,
}

/// POSTs the call through the stack: each attempt signed with a current system token,
/// bounded by `tower::timeout`, failures classified, and retried by `tower::retry` as the
/// policy says.
pub(super) async fn send<C, B>(http: C, call: Call) -> Result<(), PingError>
where
    C: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone,
    C::Error: Into<BoxError>,
    B: Body,
{
    // The parameters, the token first, are added by `Sign` as each attempt is sent.
    let mut request = Request::new(Full::new(Bytes::new()));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = call.uri;
    let headers = request.headers_mut();
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    if !call.slot.in_query {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(FORM));
    }
    let attempt = Classify::new(Timeout::new(http, call.timeout), call.timeout);
    let attempt = Sign::new(attempt, call.tokens, call.slot, call.params);
    Retry::new(PingRetry::new(call.retry), attempt)
        .oneshot(request)
        .await
}
