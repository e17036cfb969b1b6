//! Sending one call through the tower stack `Retry<PingRetry, Classify<Timeout<C>>>`.

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

use super::classify::Classify;
use super::policy::PingRetry;
use super::{PingError, RetryPolicy};
use crate::BoxError;

const USER_AGENT_VALUE: &str = concat!("tower-livefyre/", env!("CARGO_PKG_VERSION"));
const FORM: &str = "application/x-www-form-urlencoded";

/// What one call needs besides the HTTP client.
pub(super) struct Call {
    pub(super) uri: Uri,
    /// The form parameters; empty when they are in the query.
    pub(super) body: Bytes,
    pub(super) retry: RetryPolicy,
    pub(super) timeout: Duration,
}

/// POSTs the call through the stack: each attempt bounded by `tower::timeout`, failures
/// classified, and retried by `tower::retry` as the policy says.
pub(super) async fn send<C, B>(http: C, call: Call) -> Result<(), PingError>
where
    C: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone,
    C::Error: Into<BoxError>,
    B: Body,
{
    let mut request = Request::new(Full::new(call.body.clone()));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = call.uri;
    let headers = request.headers_mut();
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    if !call.body.is_empty() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(FORM));
    }
    let attempt = Classify::new(Timeout::new(http, call.timeout), call.timeout);
    Retry::new(PingRetry::new(call.retry), attempt)
        .oneshot(request)
        .await
}
