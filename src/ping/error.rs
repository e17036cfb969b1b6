//! [`PingError`]: why one call failed, and whether trying again can help.

use std::time::Duration;

use http::StatusCode;

use crate::box_error::BoxError;

use crate::token::error::TokenError;

/// Why a call to [`PingClient`](crate::PingClient) failed.
///
/// No variant holds a token or a key, so errors can be logged. Errors from requests carry
/// the number of attempts made; [`attempts`](Self::attempts) reads it for every variant.
/// [`is_retryable`](Self::is_retryable) and [`is_permanent`](Self::is_permanent) sort every
/// variant into exactly one of two classes, for callers (a durable outbox, say) that retry
/// on their own schedule.
///
/// # Example
///
/// ```
/// use tower_livefyre::{PingError, TokenError};
///
/// // A refusal made before any request.
/// let error = PingError::from(TokenError::Signing);
/// assert_eq!(error.attempts(), 0);
/// assert_eq!(error.status(), None);
/// assert!(error.is_permanent());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PingError {
    /// The request URL could not be formed (too long for `http::Uri`, most likely with
    /// [`token_in_query`](crate::PingClient::token_in_query)); no request was made.
    #[error("could not form the request URL")]
    InvalidRequestUrl(#[source] http::uri::InvalidUri),
    /// The system token could not be built; no request was made.
    #[error("could not build the system token")]
    Token(#[from] TokenError),
    /// Livefyre answered 403 Forbidden: the network key or the network name does not match
    /// Livefyre's. Never retried.
    #[error(
        "Livefyre answered 403 Forbidden: the network key or the network name does not match Livefyre's (attempt {attempts})"
    )]
    Forbidden {
        /// Requests made, this one included.
        attempts: u32,
    },
    /// Livefyre answered with this unsuccessful status: at once for a status that is not
    /// retried, on the last attempt for `408`, `429` and `5xx`.
    #[error("Livefyre answered {status} (attempt {attempts})")]
    Status {
        /// The status of the last answer.
        status: StatusCode,
        /// Requests made, this one included.
        attempts: u32,
        /// The delay the last answer's `Retry-After` header asked for, uncapped; `None`
        /// without a (valid) header.
        retry_after: Option<Duration>,
    },
    /// The last attempt got no response headers within the request timeout.
    #[error("no answer from Livefyre within {timeout:?} (attempt {attempts})")]
    Timeout {
        /// The per-attempt timeout.
        timeout: Duration,
        /// Requests made, this one included.
        attempts: u32,
    },
    /// The last attempt could not connect (DNS, TCP or TLS).
    #[error("could not connect to Livefyre (attempt {attempts})")]
    Connect {
        /// Requests made, this one included.
        attempts: u32,
        /// The connector's error.
        #[source]
        source: BoxError,
    },
    /// The last attempt failed in the HTTP client after connecting, or in a client that does
    /// not tell connection failures apart (connection closed, malformed response…).
    #[error("HTTP exchange with Livefyre failed (attempt {attempts})")]
    Transport {
        /// Requests made, this one included.
        attempts: u32,
        /// The HTTP client's error.
        #[source]
        source: BoxError,
    },
}

impl PingError {
    /// How many requests were made: 0 when the call was refused before any request, the
    /// attempt count otherwise.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::PingError;
    ///
    /// assert_eq!(PingError::Forbidden { attempts: 2 }.attempts(), 2);
    /// assert_eq!(PingError::from(tower_livefyre::TokenError::Signing).attempts(), 0);
    /// ```
    #[must_use]
    pub fn attempts(&self) -> u32 {
        match self {
            Self::Forbidden { attempts }
            | Self::Status { attempts, .. }
            | Self::Timeout { attempts, .. }
            | Self::Connect { attempts, .. }
            | Self::Transport { attempts, .. } => *attempts,
            Self::InvalidRequestUrl(_) | Self::Token(_) => 0,
        }
    }

    /// The HTTP status Livefyre answered with, if the error is an unsuccessful answer.
    ///
    /// # Example
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_livefyre::PingError;
    ///
    /// let error = PingError::Forbidden { attempts: 1 };
    /// assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
    /// ```
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Forbidden { .. } => Some(StatusCode::FORBIDDEN),
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The delay the `Retry-After` header of the last answer asked for (delta-seconds or an
    /// HTTP-date), uncapped; `None` when the last attempt got no answer or the answer had no
    /// valid header.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use http::StatusCode;
    /// use tower_livefyre::PingError;
    ///
    /// let error = PingError::Status {
    ///     status: StatusCode::TOO_MANY_REQUESTS,
    ///     attempts: 1,
    ///     retry_after: Some(Duration::from_secs(30)),
    /// };
    /// assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
    /// ```
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the same call may succeed later, so retrying it is worth it. Exactly these are
    /// retryable, and [`PingClient`](crate::PingClient) retries exactly these:
    ///
    /// - [`Status`](Self::Status) with `408 Request Timeout`, `429 Too Many Requests` or any
    ///   `5xx`;
    /// - [`Timeout`](Self::Timeout), [`Connect`](Self::Connect) and
    ///   [`Transport`](Self::Transport).
    ///
    /// Everything else is [permanent](Self::is_permanent). A caller that retries on its own
    /// schedule makes one attempt per call with
    /// [`RetryPolicy::never`](crate::ping::RetryPolicy::never) and uses
    /// [`retry_after`](Self::retry_after) as a lower bound for its next try.
    ///
    /// # Example
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_livefyre::PingError;
    ///
    /// let status = |code| PingError::Status {
    ///     status: StatusCode::from_u16(code).unwrap(),
    ///     attempts: 1,
    ///     retry_after: None,
    /// };
    /// assert!(status(503).is_retryable());
    /// assert!(status(429).is_retryable());
    /// assert!(!status(404).is_retryable());
    /// assert!(!PingError::Forbidden { attempts: 1 }.is_retryable());
    /// ```
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => {
                *status == StatusCode::REQUEST_TIMEOUT
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || status.is_server_error()
            }
            Self::Timeout { .. } | Self::Connect { .. } | Self::Transport { .. } => true,
            Self::InvalidRequestUrl(_) | Self::Token(_) | Self::Forbidden { .. } => false,
        }
    }

    /// Whether the same call will fail again however often it is retried: the exact
    /// complement of [`is_retryable`](Self::is_retryable). That is:
    ///
    /// - [`Forbidden`](Self::Forbidden) (403: wrong network key or name);
    /// - [`Status`](Self::Status) with any status that is not retryable: every `4xx` except
    ///   `408` and `429`, and the unsuccessful `1xx`/`3xx` answers (redirects are not
    ///   followed);
    /// - the refusals made before any request: [`InvalidRequestUrl`](Self::InvalidRequestUrl)
    ///   and [`Token`](Self::Token). (Ids and templates are [`UserId`](crate::UserId)s and
    ///   [`PullUrlTemplate`](crate::url::PullUrlTemplate)s, checked before a client sees them.)
    ///
    /// # Example
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_livefyre::PingError;
    ///
    /// assert!(PingError::Forbidden { attempts: 1 }.is_permanent());
    /// let not_found = PingError::Status {
    ///     status: StatusCode::NOT_FOUND,
    ///     attempts: 1,
    ///     retry_after: None,
    /// };
    /// assert!(not_found.is_permanent());
    /// ```
    #[must_use]
    pub fn is_permanent(&self) -> bool {
        !self.is_retryable()
    }

    /// Records the number of requests made so far; the retry policy owns the count.
    pub(super) fn set_attempts(&mut self, count: u32) {
        match self {
            Self::Forbidden { attempts }
            | Self::Status { attempts, .. }
            | Self::Timeout { attempts, .. }
            | Self::Connect { attempts, .. }
            | Self::Transport { attempts, .. } => *attempts = count,
            Self::InvalidRequestUrl(_) | Self::Token(_) => {}
        }
    }
}
