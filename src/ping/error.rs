//! [`PingError`].

use std::time::Duration;

use http::StatusCode;

use super::BoxError;
use crate::TokenError;

/// Why a call to [`PingClient`](crate::PingClient) failed.
///
/// No variant holds a token or a key, so errors can be logged. Errors from requests carry
/// the number of attempts made; [`attempts`](Self::attempts) reads it for every variant.
///
/// # Example
///
/// ```
/// use tower_livefyre::{Network, PingClient, PingError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = PingClient::new(Network::new("labs.fyre.co", "key")?);
/// let error = client.sync_user("a/b").await.unwrap_err();
/// assert!(matches!(error, PingError::InvalidUserId(ref id) if id == "a/b"));
/// assert_eq!(error.attempts(), 0);
/// assert_eq!(error.status(), None);
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PingError {
    /// The user id does not fully match `[A-Za-z0-9_.-]+`; no request was made.
    #[error("invalid Livefyre user id {0:?}: ids are ASCII letters, digits, `_`, `.` and `-` only")]
    InvalidUserId(String),
    /// The pull URL template was refused; no request was made.
    #[error("invalid pull URL template: {reason}")]
    InvalidTemplate {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The base URL given to [`PingClient::base_url`](crate::PingClient::base_url) was refused.
    #[error("invalid base URL: {reason}")]
    InvalidBaseUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The system token could not be built; no request was made.
    #[error("could not build the system token")]
    Token(#[from] TokenError),
    /// The TLS client could not be set up (not expected with the bundled ring provider); no
    /// request was made.
    #[error("could not set up TLS")]
    Tls {
        /// The rustls error.
        source: BoxError,
    },
    /// Livefyre answered 403 Forbidden: the network key or the network name does not match
    /// Livefyre's. Never retried.
    #[error(
        "Livefyre answered 403 Forbidden: the network key or the network name does not match Livefyre's"
    )]
    Forbidden,
    /// Livefyre answered with this unsuccessful status: a `4xx` other than 403 at once, or
    /// `429`/`5xx` on the last attempt.
    #[error("Livefyre answered {status} (attempt {attempts})")]
    Status {
        /// The status of the last answer.
        status: StatusCode,
        /// Requests made, this one included.
        attempts: u32,
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
        source: BoxError,
    },
    /// The last attempt failed after connecting (connection closed, malformed response…).
    #[error("HTTP exchange with Livefyre failed (attempt {attempts})")]
    Transport {
        /// Requests made, this one included.
        attempts: u32,
        /// The HTTP client's error.
        source: BoxError,
    },
}

impl PingError {
    /// How many requests were made: 0 when the call was refused before any request, 1 for
    /// [`Forbidden`](Self::Forbidden), the attempt count otherwise.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        match self {
            Self::Forbidden => 1,
            Self::Status { attempts, .. }
            | Self::Timeout { attempts, .. }
            | Self::Connect { attempts, .. }
            | Self::Transport { attempts, .. } => *attempts,
            Self::InvalidUserId(_)
            | Self::InvalidTemplate { .. }
            | Self::InvalidBaseUrl { .. }
            | Self::Token(_)
            | Self::Tls { .. } => 0,
        }
    }

    /// The HTTP status Livefyre answered with, if the error is an unsuccessful answer.
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Forbidden => Some(StatusCode::FORBIDDEN),
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}
