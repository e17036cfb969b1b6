//! [`PingConfigError`]: what can go wrong while setting a [`PingClient`](crate::PingClient) up.

use crate::box_error::BoxError;

use crate::url::WebUrlError;

/// Why a [`PingClient`](crate::PingClient) could not be configured.
///
/// These errors come from [`PingClient::new`](crate::PingClient::new) and
/// [`PingClient::base_url`](crate::PingClient::base_url), before any request; the errors of
/// the calls themselves are [`PingError`](crate::PingError)s.
///
/// # Example
///
/// ```
/// use tower_livefyre::{Network, PingClient, ping::PingConfigError, url::WebUrlError};
///
/// let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?;
/// let refused = client.clone().base_url("http://localhost:3001:80/");
/// assert!(matches!(
///     refused,
///     Err(PingConfigError::InvalidBaseUrl { web_url: Some(WebUrlError::InvalidPort), .. })
/// ));
/// let refused = client.base_url("http://localhost:3001/?debug=1");
/// assert!(matches!(refused, Err(PingConfigError::InvalidBaseUrl { web_url: None, .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PingConfigError {
    /// The base URL was refused: it breaks the web-URL rule of [`WebUrlError`], or it holds
    /// credentials, a query or a fragment.
    #[error("invalid base URL: {reason}")]
    InvalidBaseUrl {
        /// What is wrong with it.
        reason: &'static str,
        /// Which part of the web-URL rule it breaks, when that is the reason.
        #[source]
        web_url: Option<WebUrlError>,
    },
    /// The default TLS client could not be set up (not expected with the bundled ring
    /// provider).
    #[error("could not set up TLS")]
    Tls {
        /// The rustls error.
        #[source]
        source: BoxError,
    },
}
