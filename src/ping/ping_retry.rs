//! [`PingRetry`]: the [`tower::retry::Policy`] of the ping client.

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use tokio::time::Sleep;
use tower::retry::Policy;

use super::error::PingError;
use super::retry_policy::RetryPolicy;

/// Counts the attempts of one call, stamps the count into its error, and decides whether and
/// when to try again: only [retryable](PingError::is_retryable) errors, at most
/// [`RetryPolicy::max_attempts`] in all, after the server's `Retry-After` or a jittered
/// backoff.
///
/// `tower::retry::Retry` clones the policy for each call, so the count starts at zero for
/// every call.
#[derive(Debug, Clone)]
pub(super) struct PingRetry {
    policy: RetryPolicy,
    attempts: u32,
}

impl PingRetry {
    pub(super) fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            attempts: 0,
        }
    }
}

impl Policy<Request<Full<Bytes>>, (), PingError> for PingRetry {
    type Future = Sleep;

    fn retry(
        &mut self,
        request: &mut Request<Full<Bytes>>,
        result: &mut Result<(), PingError>,
    ) -> Option<Sleep> {
        self.attempts = self.attempts.saturating_add(1);
        let error = result.as_mut().err()?;
        error.set_attempts(self.attempts);
        // Only the path is logged: in query mode the token is in the query.
        let path = request.uri().path();
        if !error.is_retryable() || self.attempts >= self.policy.max_attempts() {
            tracing::warn!(
                method = "POST",
                path,
                attempts = self.attempts,
                %error,
                "giving up on the Livefyre request"
            );
            return None;
        }
        let delay = self
            .policy
            .backoff()
            .delay(self.attempts, error.retry_after());
        tracing::debug!(
            method = "POST",
            path,
            attempt = self.attempts,
            %error,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "retrying the Livefyre request"
        );
        // `sleep` clamps a huge delay to about 30 years rather than overflowing an `Instant`.
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, request: &Request<Full<Bytes>>) -> Option<Request<Full<Bytes>>> {
        // `Request` is not `Clone` (its extensions are not); the ping client sets none.
        let mut clone = Request::new(request.body().clone());
        *clone.method_mut() = request.method().clone();
        *clone.uri_mut() = request.uri().clone();
        *clone.version_mut() = request.version();
        *clone.headers_mut() = request.headers().clone();
        Some(clone)
    }
}
