//! [`Classify`]: one attempt, from the HTTP client's outcome to `Ok(())` or a [`PingError`].

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, SystemTime};

use bytes::{Buf as _, Bytes};
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::Full;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::timeout::error::Elapsed;
use tower_service::Service;

use super::error::PingError;
use super::retry_after::retry_after;
use crate::box_error::BoxError;

/// At most this much of a response body is read; draining lets the client reuse the
/// connection, and Livefyre's answers to these calls are empty or tiny anyway.
const MAX_DRAINED_BODY: usize = 64 * 1024;

/// Turns the outcome of one attempt into what the retry policy and the caller see: a `2xx`
/// is `Ok(())`; any other answer, a timeout ([`tower::timeout::Timeout`]'s `Elapsed`
/// underneath) or a client error is the matching [`PingError`], counted as attempt 1 until
/// the retry policy stamps the real count. The response body is read (up to
/// [`MAX_DRAINED_BODY`], within what is left of the attempt's timeout) and discarded.
#[derive(Debug, Clone)]
pub(super) struct Classify<S> {
    inner: S,
    /// The per-attempt timeout, reported in [`PingError::Timeout`] and bounding the drain.
    timeout: Duration,
}

impl<S> Classify<S> {
    pub(super) fn new(inner: S, timeout: Duration) -> Self {
        Self { inner, timeout }
    }
}

impl<S, B> Service<Request<Full<Bytes>>> for Classify<S>
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: Body,
{
    type Response = ();
    type Error = PingError;
    type Future = ClassifyFuture<S::Future, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), PingError>> {
        let timeout = self.timeout;
        self.inner
            .poll_ready(cx)
            .map_err(|error| classify_error(error.into(), timeout))
    }

    fn call(&mut self, request: Request<Full<Bytes>>) -> Self::Future {
        ClassifyFuture {
            state: State::Waiting {
                response: self.inner.call(request),
            },
            started: Instant::now(),
            timeout: self.timeout,
        }
    }
}

pin_project! {
    /// The future of [`Classify`].
    pub(super) struct ClassifyFuture<F, B> {
        #[pin]
        state: State<F, B>,
        started: Instant,
        timeout: Duration,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        /// Waiting for the response headers.
        Waiting {
            #[pin]
            response: F,
        },
        /// The outcome is known; reading the body so the connection can be reused.
        Draining {
            #[pin]
            body: B,
            #[pin]
            deadline: Sleep,
            outcome: Option<Result<(), PingError>>,
            seen: usize,
        },
    }
}

impl<F, B, E> Future for ClassifyFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    B: Body,
{
    type Output = Result<(), PingError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Waiting { response } => {
                    let response = match ready!(response.poll(cx)) {
                        Ok(response) => response,
                        Err(error) => {
                            let outcome = Err(classify_error(error.into(), *this.timeout));
                            #[cfg(feature = "metrics")]
                            record(&outcome, this.started.elapsed());
                            return Poll::Ready(outcome);
                        }
                    };
                    let status = response.status();
                    tracing::debug!(status = status.as_u16(), "Livefyre answered");
                    let retry_after = retry_after(response.headers(), SystemTime::now());
                    let outcome = classify_status(status, retry_after);
                    #[cfg(feature = "metrics")]
                    record(&outcome, this.started.elapsed());
                    // What is left of the attempt's timeout; `sleep` clamps huge values.
                    let left = this.timeout.saturating_sub(this.started.elapsed());
                    this.state.set(State::Draining {
                        body: response.into_body(),
                        deadline: tokio::time::sleep(left),
                        outcome: Some(outcome),
                        seen: 0,
                    });
                }
                StateProj::Draining {
                    mut body,
                    deadline,
                    outcome,
                    seen,
                } => {
                    let done = loop {
                        match body.as_mut().poll_frame(cx) {
                            Poll::Ready(Some(Ok(frame))) => {
                                if let Some(data) = frame.data_ref() {
                                    *seen = seen.saturating_add(data.remaining());
                                    if *seen > MAX_DRAINED_BODY {
                                        break true;
                                    }
                                }
                            }
                            // A failing body only costs the connection, not the outcome.
                            Poll::Ready(Some(Err(_)) | None) => break true,
                            Poll::Pending => break deadline.poll(cx).is_ready(),
                        }
                    };
                    if !done {
                        return Poll::Pending;
                    }
                    // Taken once: the future is not polled after it returned `Ready`.
                    return Poll::Ready(outcome.take().unwrap_or(Ok(())));
                }
            }
        }
    }
}

/// A `2xx` is success; 403 means a wrong network key or name; anything else is a status
/// error, retried or not as [`PingError::is_retryable`] says.
fn classify_status(status: StatusCode, retry_after: Option<Duration>) -> Result<(), PingError> {
    if status.is_success() {
        Ok(())
    } else if status == StatusCode::FORBIDDEN {
        Err(PingError::Forbidden { attempts: 1 })
    } else {
        Err(PingError::Status {
            status,
            attempts: 1,
            retry_after,
        })
    }
}

/// The timeout layer's `Elapsed`, a connection failure of the default client, or any other
/// client error.
fn classify_error(error: BoxError, timeout: Duration) -> PingError {
    if error.is::<Elapsed>() {
        PingError::Timeout {
            timeout,
            attempts: 1,
        }
    } else if is_connect(&*error) {
        PingError::Connect {
            attempts: 1,
            source: error,
        }
    } else {
        PingError::Transport {
            attempts: 1,
            source: error,
        }
    }
}

/// Counts one attempt in `livefyre_ping_attempts_total` and its duration.
#[cfg(feature = "metrics")]
fn record(outcome: &Result<(), PingError>, elapsed: Duration) {
    use crate::metrics::PingOutcome as O;
    let label = match outcome {
        Ok(()) => O::Ok,
        Err(PingError::Forbidden { .. }) => O::Forbidden,
        Err(PingError::Status { status, .. }) if *status == StatusCode::TOO_MANY_REQUESTS => {
            O::RateLimited
        }
        Err(PingError::Status { status, .. }) if status.is_server_error() => O::ServerError,
        Err(PingError::Status { status, .. }) if status.is_client_error() => O::ClientError,
        Err(PingError::Status { .. }) => O::OtherStatus,
        Err(PingError::Timeout { .. }) => O::Timeout,
        Err(PingError::Connect { .. }) => O::ConnectFailed,
        // Transport, and what a single attempt never is (no request made).
        Err(_) => O::TransportFailed,
    };
    crate::metrics::ping_attempted(label, elapsed);
}

fn is_connect(error: &(dyn StdError + Send + Sync + 'static)) -> bool {
    error
        .downcast_ref::<hyper_util::client::legacy::Error>()
        .is_some_and(hyper_util::client::legacy::Error::is_connect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let secs = Duration::from_secs;
        for (code, retryable) in [
            (400, false),
            (401, false),
            (404, false),
            (408, true),
            (409, false),
            (422, false),
            (429, true),
            (500, true),
            (501, true),
            (502, true),
            (503, true),
            (504, true),
            (304, false),
            (100, false),
        ] {
            let status = StatusCode::from_u16(code).unwrap();
            let error = classify_status(status, Some(secs(7))).unwrap_err();
            assert!(
                matches!(error, PingError::Status { status: s, attempts: 1, retry_after: Some(d) } if s == status && d == secs(7)),
                "{code}: {error:?}"
            );
            assert_eq!(error.is_retryable(), retryable, "{code}");
            assert_eq!(error.is_permanent(), !retryable, "{code}");
        }
        for code in [200, 201, 202, 204, 299] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(classify_status(status, None).is_ok(), "{code}");
        }
        let forbidden = classify_status(StatusCode::FORBIDDEN, Some(secs(1))).unwrap_err();
        assert!(matches!(forbidden, PingError::Forbidden { attempts: 1 }));
        assert!(forbidden.is_permanent());
        assert_eq!(forbidden.retry_after(), None);
    }

    #[test]
    fn client_errors() {
        let timeout = Duration::from_secs(3);
        let elapsed = classify_error(Box::new(Elapsed::new()), timeout);
        assert!(matches!(elapsed, PingError::Timeout { timeout: t, attempts: 1 } if t == timeout));
        assert!(elapsed.is_retryable());
        let other = classify_error("connection reset".into(), timeout);
        assert!(
            matches!(other, PingError::Transport { attempts: 1, .. }),
            "{other:?}"
        );
        assert!(other.is_retryable());
    }
}
