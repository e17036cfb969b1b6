//! [`PingClient`]: the type, its user guide, and its configuration (the calls are in
//! `calls`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::config_error::PingConfigError;
use super::retry_policy::RetryPolicy;
use super::token::SystemTokens;
use super::transport::{DefaultClient, default_client};
use super::validate::check_base_url;
use crate::network::Network;

/// How long one attempt may take, from sending the request to the response headers: 10 s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Lifetime of the system tokens [`PingClient`] sends: 5 minutes.
///
/// A token only has to live from the moment an attempt is sent until Livefyre checks it,
/// which is within one [`DEFAULT_REQUEST_TIMEOUT`]; each attempt, retries included, gets
/// its own. The rest is margin for clocks: Livefyre compared `expires` with its own clock,
/// and a token is reused for at most half its life, so a host clock up to 2½ minutes
/// behind Livefyre's still gets through. A token that a TLS-terminating proxy, a plain
/// `http://` base URL or a log exposes is worth minutes, not the 24 hours of
/// [`Network::build_livefyre_token`].
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::ping::{DEFAULT_PING_TOKEN_TTL, DEFAULT_REQUEST_TIMEOUT};
///
/// assert_eq!(DEFAULT_PING_TOKEN_TTL, Duration::from_secs(300));
/// assert!(DEFAULT_PING_TOKEN_TTL / 2 > DEFAULT_REQUEST_TIMEOUT);
/// ```
pub const DEFAULT_PING_TOKEN_TTL: Duration = Duration::from_secs(5 * 60);

/// Sends pings ([`sync_user`](Self::sync_user), [`sync_users`](Self::sync_users)) and the
/// pull URL registration ([`set_user_sync_url`](Self::set_user_sync_url)) to Livefyre, each
/// attempt signed with a short-lived system token of the network: it lives
/// [`DEFAULT_PING_TOKEN_TTL`] (5 minutes; [`token_ttl`](Self::token_ttl) changes it), not
/// the 24 hours of [`Network::build_livefyre_token`], and is built again once it is half
/// that old.
///
/// The client is a tower stack: `tower::retry` with this crate's policy over
/// `tower::timeout` per attempt, over an HTTP client `C`. `C` is the rustls-based
/// [`DefaultClient`] unless you pass your own to [`with_client`](Self::with_client): any
/// `tower::Service<http::Request<Full<Bytes>>>` that answers `http::Response<impl Body>`
/// (a client with a proxy or custom roots; tower-test's mock in tests).
///
/// Cloning is cheap (an [`Arc`] and a clone of the HTTP client inside) and clones of the
/// default client share one connection pool. Every call needs a Tokio runtime (with its time
/// driver). [`Debug`](fmt::Debug) shows the base URL and the network name only, never the
/// key or a token.
///
/// # When to ping
///
/// Call [`PingClient::sync_user`] after a user's profile changed in your database (new
/// display name, avatar, email settings…). Livefyre answers at once, queues the work, and
/// within minutes (the documentation says 1–10) *pulls* the profile from your endpoint,
/// the one [`LftokenLayer`](crate::LftokenLayer) guards. The ping carries no profile data:
/// it only says "this id changed".
///
/// Livefyre needs to know where to pull from. Register the URL template once per network,
/// either in Livefyre Studio (*Settings › Integration Settings › Remote Profiles*, field
/// *Ping for Pull URL*) or with [`PingClient::set_user_sync_url`]. The template must contain
/// the literal `{id}`, which Livefyre replaces with the user id.
///
/// # Retries
///
/// Each call makes up to [`RetryPolicy::max_attempts`] attempts (4 by default), each bounded
/// by [`PingClient::request_timeout`] (10 s by default). Livefyre's answers `408`, `429` and
/// `5xx`, connection failures, other transport failures and per-attempt timeouts are retried
/// after an exponential backoff with full jitter; a `Retry-After` header (delta-seconds or
/// an HTTP-date) replaces the backoff, capped at [`RetryPolicy::max_backoff`]. Retrying is
/// safe because a ping only asks Livefyre to pull again. Each attempt is signed as it is
/// sent, so a retry after a long wait carries a token as fresh as the first attempt's. `403` (wrong network key or name)
/// and every other `4xx` are returned at once ([`PingError::is_permanent`]). After the last
/// attempt the last error is returned; [`PingError::attempts`] tells how many requests were
/// made and [`PingError::retry_after`] what the last answer's `Retry-After` asked for.
///
/// [`PingError::is_permanent`]: crate::PingError::is_permanent
/// [`PingError::attempts`]: crate::PingError::attempts
/// [`PingError::retry_after`]: crate::PingError::retry_after
///
/// # Bulk re-sync
///
/// [`PingClient::sync_users`] pings many ids with bounded concurrency and reports one outcome
/// per id, in input order: use it after a migration, or after registering the pull URL for
/// the first time, to have Livefyre pull every existing profile.
///
/// # Example
///
/// ```no_run
/// use tower_livefyre::{Network, PingClient};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let network = Network::new("labs.fyre.co", "network-key")?;
/// let client = PingClient::new(network)?;
///
/// // Once per network (or in Studio):
/// client.set_user_sync_url(&"https://example.com/livefyre/pull?id={id}".parse()?).await?;
///
/// // Whenever a profile changes:
/// client.sync_user(&"ann.lee".parse()?).await?;
/// # Ok(()) }
/// ```
///
/// # Configuration
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::{Network, PingClient, PingError, ping::RetryPolicy};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let network = Network::new("labs.fyre.co", "network-key")?;
/// let client = PingClient::new(network)?
///     .base_url("http://127.0.0.1:3001/")? // the emulator, say
///     .retry(RetryPolicy::default().with_max_attempts(3))
///     .request_timeout(Duration::from_secs(5));
///
/// assert_eq!(
///     format!("{client:?}"),
///     r#"PingClient { base_url: "http://127.0.0.1:3001", network: "labs.fyre.co", .. }"#
/// );
/// # Ok(()) }
/// ```
///
/// # Another HTTP client
///
/// ```
/// use bytes::Bytes;
/// use http::{Request, Response};
/// use http_body_util::Full;
/// use tower::service_fn;
/// use tower_livefyre::{Network, PingClient};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Any tower service will do; this one answers 200 without any network.
/// let http = service_fn(|request: Request<Full<Bytes>>| async move {
///     assert_eq!(request.uri().path(), "/api/v3_0/user/ann.lee/refresh");
///     Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::new())))
/// });
/// let client = PingClient::with_client(Network::new("labs.fyre.co", "network-key")?, http);
/// client.sync_user(&"ann.lee".parse()?).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PingClient<C = DefaultClient> {
    pub(super) config: Arc<Config>,
    pub(super) http: C,
}

/// What the builder methods set; shared by clones.
#[derive(Clone)]
pub(super) struct Config {
    /// The network and the tokens signed with its key.
    pub(super) tokens: Arc<SystemTokens>,
    /// Scheme, authority and path prefix, without a trailing slash.
    pub(super) base_url: String,
    pub(super) token_in_query: bool,
    pub(super) retry: RetryPolicy,
    pub(super) request_timeout: Duration,
}

impl PingClient<DefaultClient> {
    /// A client for `network` over the [`DefaultClient`], talking to
    /// `https://{short name}.quill.fyre.co` with the default [`RetryPolicy`], a
    /// [`DEFAULT_REQUEST_TIMEOUT`] per attempt, and the token in the form body.
    ///
    /// TLS uses rustls with the ring provider and the Mozilla roots of `webpki-roots`; plain
    /// `http://` base URLs (tests, the emulator) work too.
    ///
    /// # Errors
    ///
    /// [`PingConfigError::Tls`] if rustls cannot be set up (not expected with the bundled
    /// ring provider).
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, PingClient};
    ///
    /// let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?;
    /// assert_eq!(client.base_url_str(), "https://labs.quill.fyre.co");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(network: Network) -> Result<Self, PingConfigError> {
        Ok(Self::with_client(network, default_client()?))
    }
}

impl<C> PingClient<C> {
    /// A client for `network` that sends its requests through `http`, with the same
    /// defaults as [`new`](PingClient::new). See [`PingClient`] for what `http` must be.
    ///
    /// # Example
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::{Request, Response, StatusCode};
    /// use http_body_util::Full;
    /// use tower::service_fn;
    /// use tower_livefyre::{Network, PingClient, PingError, ping::RetryPolicy};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let busy = service_fn(|_: Request<Full<Bytes>>| async {
    ///     let mut response = Response::new(Full::new(Bytes::new()));
    ///     *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    ///     Ok::<_, std::convert::Infallible>(response)
    /// });
    /// let client = PingClient::with_client(Network::new("labs.fyre.co", "key")?, busy)
    ///     .retry(RetryPolicy::never());
    /// let error = client.sync_user(&"ann".parse()?).await.unwrap_err();
    /// assert!(matches!(error, PingError::Status { attempts: 1, .. }));
    /// assert!(error.is_retryable());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn with_client(network: Network, http: C) -> Self {
        let base_url = format!("https://{}.quill.fyre.co", network.short_name());
        Self {
            config: Arc::new(Config {
                tokens: Arc::new(SystemTokens::new(network, DEFAULT_PING_TOKEN_TTL)),
                base_url,
                token_in_query: false,
                retry: RetryPolicy::default(),
                request_timeout: DEFAULT_REQUEST_TIMEOUT,
            }),
            http,
        }
    }

    /// Sends requests to `url` instead of Livefyre's host: an absolute `http` or `https` URL,
    /// optionally with a path prefix; a trailing slash is ignored.
    ///
    /// # Errors
    ///
    /// [`PingConfigError::InvalidBaseUrl`] for a relative URL, another scheme, credentials, a
    /// query or a fragment.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, PingClient, ping::PingConfigError};
    ///
    /// let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?;
    /// let local = client.clone().base_url("http://localhost:3001/")?;
    /// assert_eq!(local.base_url_str(), "http://localhost:3001");
    /// assert!(matches!(
    ///     client.base_url("localhost:3001"),
    ///     Err(PingConfigError::InvalidBaseUrl { .. })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn base_url(mut self, url: impl AsRef<str>) -> Result<Self, PingConfigError> {
        let base_url = check_base_url(url.as_ref())?;
        Arc::make_mut(&mut self.config).base_url = base_url;
        Ok(self)
    }

    /// The base URL requests go to, without a trailing slash.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, PingClient};
    ///
    /// let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?;
    /// assert_eq!(client.base_url_str(), "https://labs.quill.fyre.co");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn base_url_str(&self) -> &str {
        &self.config.base_url
    }

    /// The HTTP client requests go through.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, PingClient};
    ///
    /// let client = PingClient::with_client(Network::new("labs.fyre.co", "key")?, ());
    /// assert_eq!(client.http_client(), &());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn http_client(&self) -> &C {
        &self.http
    }

    /// Where the token goes: `false` (the default) sends it in an
    /// `application/x-www-form-urlencoded` body, as the Python, Node, Ruby and PHP libraries
    /// did; `true` puts it, and the other parameters, in the query string with an empty body,
    /// as the Java library and the documentation did.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, PingClient};
    ///
    /// let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?.token_in_query(true);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn token_in_query(mut self, in_query: bool) -> Self {
        Arc::make_mut(&mut self.config).token_in_query = in_query;
        self
    }

    /// Sets the retry policy; see [`PingClient`] for what is retried.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, PingClient, ping::RetryPolicy};
    ///
    /// let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?
    ///     .retry(RetryPolicy::never());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        Arc::make_mut(&mut self.config).retry = policy;
        self
    }

    /// Bounds each attempt, from sending the request until the response headers arrive
    /// (default [`DEFAULT_REQUEST_TIMEOUT`]), with `tower::timeout`. Reading the (discarded)
    /// response body gets what is left of it. Any duration works: `Duration::MAX` means
    /// "wait as long as it takes".
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_livefyre::{Network, PingClient};
    ///
    /// let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?
    ///     .request_timeout(Duration::from_secs(3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.config).request_timeout = timeout;
        self
    }
}

impl<C> PingClient<C> {
    /// Sets how long each system token the client sends lives (default
    /// [`DEFAULT_PING_TOKEN_TTL`], 5 minutes; `expires` is in whole seconds). A token is
    /// reused until it is half this old, then built again, so every token sent has at least
    /// half of it left.
    ///
    /// Keep it well above the [`request_timeout`](Self::request_timeout) plus the skew you
    /// expect between your clock and Livefyre's: a token that expires before Livefyre reads it
    /// gets `403` ([`PingError::Forbidden`](crate::PingError::Forbidden)), which is not
    /// retried. Longer lifetimes make a leaked token worth more.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_livefyre::{Network, PingClient};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let network = Network::new("labs.fyre.co", "key")?;
    /// let checker = network.clone();
    /// // A stand-in for Livefyre that reads the token's lifetime.
    /// let http = tower::service_fn(move |request: http::Request<http_body_util::Full<bytes::Bytes>>| {
    ///     let checker = checker.clone();
    ///     async move {
    ///         use http_body_util::BodyExt as _;
    ///         let body = request.into_body().collect().await?.to_bytes();
    ///         let (_, token) = form_urlencoded::parse(&body).next().unwrap();
    ///         let expires = checker.validate_livefyre_token(&token).unwrap().expires();
    ///         let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    ///         assert!(expires <= now.as_secs_f64() + 120.0);
    ///         Ok::<_, Box<dyn std::error::Error + Send + Sync>>(http::Response::new(
    ///             http_body_util::Full::new(bytes::Bytes::new()),
    ///         ))
    ///     }
    /// });
    /// let client = PingClient::with_client(network, http).token_ttl(Duration::from_secs(120));
    /// client.sync_user(&"ann".parse()?).await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        let config = Arc::make_mut(&mut self.config);
        let network = config.tokens.network().clone();
        config.tokens = Arc::new(SystemTokens::new(network, ttl));
        self
    }
}

impl<C> fmt::Debug for PingClient<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PingClient")
            .field("base_url", &self.config.base_url)
            .field("network", &self.config.tokens.network().name())
            .finish_non_exhaustive()
    }
}
