//! Sending one call: the HTTP client, the attempts, and what each outcome means.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::client::Inner;
use super::retry::retry_after;
use super::{BoxError, PingError};

pub(super) type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

const USER_AGENT_VALUE: &str = concat!("tower-livefyre/", env!("CARGO_PKG_VERSION"));
const FORM: &str = "application/x-www-form-urlencoded";

/// At most this much of a response body is read; draining lets hyper reuse the connection,
/// and Livefyre's answers to these calls are empty or tiny anyway.
const MAX_DRAINED_BODY: usize = 64 * 1024;

/// POSTs `params` to `path` (the token inside, in the body or the query) with retries.
pub(super) async fn post(inner: &Inner, path: &str, params: String) -> Result<(), PingError> {
    let http = inner.http.as_ref().map_err(|error| PingError::Tls {
        source: Box::new(error.clone()),
    })?;
    let (uri, body) = if inner.token_in_query {
        (format!("{}{path}?{params}", inner.base_url), Bytes::new())
    } else {
        (format!("{}{path}", inner.base_url), Bytes::from(params))
    };
    // The base URL and the path were checked, so this only fails on a bug; no panic.
    let uri: Uri = uri.parse().map_err(|_| PingError::InvalidBaseUrl {
        reason: "it does not form a valid request URL",
    })?;
    let max_attempts = inner.retry.max_attempts();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let failure = match attempt_once(inner, http, &uri, &body, attempt).await {
            Ok(()) => return Ok(()),
            Err(failure) => failure,
        };
        let (error, retry_after) = match failure {
            Failure::Retry { error, retry_after } if attempt < max_attempts => (error, retry_after),
            Failure::Retry { error, .. } | Failure::Final(error) => {
                tracing::warn!(
                    method = "POST",
                    path = uri.path(),
                    attempts = attempt,
                    %error,
                    "giving up on the Livefyre request"
                );
                return Err(error);
            }
        };
        let delay = match retry_after {
            Some(delay) => delay.min(inner.retry.max_backoff()),
            None => inner.retry.jittered_backoff(attempt),
        };
        tracing::debug!(
            method = "POST",
            path = uri.path(),
            attempt,
            %error,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "retrying the Livefyre request"
        );
        tokio::time::sleep(delay).await;
    }
}

/// One request and the classification of its outcome.
async fn attempt_once(
    inner: &Inner,
    http: &HttpClient,
    uri: &Uri,
    body: &Bytes,
    attempt: u32,
) -> Result<(), Failure> {
    let mut request = Request::post(uri.clone())
        .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
        .body(Full::new(body.clone()))
        .map_err(|error| {
            Failure::Final(PingError::Transport {
                attempts: attempt,
                source: Box::new(error),
            })
        })?;
    if !body.is_empty() {
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(FORM));
    }

    let timeout = inner.request_timeout;
    let started = Instant::now();
    let response = match tokio::time::timeout(timeout, http.request(request)).await {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => {
            tracing::debug!(method = "POST", path = uri.path(), attempt, %error, "request failed");
            let connect = error.is_connect();
            let source: BoxError = Box::new(error);
            let error = if connect {
                PingError::Connect {
                    attempts: attempt,
                    source,
                }
            } else {
                PingError::Transport {
                    attempts: attempt,
                    source,
                }
            };
            return Err(Failure::Retry {
                error,
                retry_after: None,
            });
        }
        Err(_elapsed) => {
            tracing::debug!(
                method = "POST",
                path = uri.path(),
                attempt,
                ?timeout,
                "request timed out"
            );
            return Err(Failure::Retry {
                error: PingError::Timeout {
                    timeout,
                    attempts: attempt,
                },
                retry_after: None,
            });
        }
    };

    let status = response.status();
    tracing::debug!(
        method = "POST",
        path = uri.path(),
        status = status.as_u16(),
        attempt,
        "Livefyre answered"
    );
    let retry_after = retry_after(response.headers(), SystemTime::now());
    drain(
        response.into_body(),
        timeout.saturating_sub(started.elapsed()),
    )
    .await;

    if status.is_success() {
        Ok(())
    } else if status == StatusCode::FORBIDDEN {
        Err(Failure::Final(PingError::Forbidden))
    } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        Err(Failure::Retry {
            error: PingError::Status {
                status,
                attempts: attempt,
            },
            retry_after,
        })
    } else {
        Err(Failure::Final(PingError::Status {
            status,
            attempts: attempt,
        }))
    }
}

/// How one attempt went wrong.
enum Failure {
    /// Worth another attempt, after `retry_after` if the server said so.
    Retry {
        error: PingError,
        retry_after: Option<Duration>,
    },
    /// Returned as is.
    Final(PingError),
}

pub(super) fn http_client() -> Result<HttpClient, rustls::Error> {
    // The ring provider explicitly: rustls' process-wide default panics when feature
    // unification enables both ring and aws-lc-rs.
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// Reads and discards up to [`MAX_DRAINED_BODY`] bytes within `within`, so that the
/// connection can go back to the pool; failures only cost the connection.
async fn drain(mut body: Incoming, within: Duration) {
    let _ = tokio::time::timeout(within, async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                seen = seen.saturating_add(data.len());
                if seen > MAX_DRAINED_BODY {
                    break;
                }
            }
        }
    })
    .await;
}
