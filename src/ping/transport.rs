//! [`DefaultClient`]: the HTTP client a [`PingClient`](crate::PingClient) uses unless given
//! another one.

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::config_error::PingConfigError;

/// The HTTP client of [`PingClient::new`](crate::PingClient::new): hyper-util's pooled
/// HTTP/1 client over rustls (ring provider, Mozilla roots from `webpki-roots`, no OpenSSL),
/// speaking `https` and plain `http`.
///
/// Any other `tower::Service<http::Request<Full<Bytes>>>` answering `http::Response<impl
/// Body>` can take its place through
/// [`PingClient::with_client`](crate::PingClient::with_client): a client with a proxy,
/// custom roots, or a mock in tests.
///
/// # Example
///
/// ```
/// use tower_livefyre::{Network, PingClient, ping::DefaultClient};
///
/// let client: PingClient<DefaultClient> = PingClient::new(Network::new("labs.fyre.co", "key")?)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type DefaultClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Builds the [`DefaultClient`].
pub(super) fn default_client() -> Result<DefaultClient, PingConfigError> {
    // The ring provider explicitly: rustls' process-wide default panics when feature
    // unification enables both ring and aws-lc-rs.
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .map_err(|error| PingConfigError::Tls {
            source: Box::new(error),
        })?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}
