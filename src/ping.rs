//! [`PingClient`]: the *ping* half of Ping for Pull, and the one-time registration of the
//! pull URL.
//!
//! The module is private, so the user guide (when to ping, registration, retries, bulk
//! re-sync) lives on [`PingClient`] itself, where rustdoc shows it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::token::is_valid_user_id;
use crate::{Network, TokenError};

/// How long one attempt may take, from sending the request to the response headers: 10 s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

const USER_AGENT_VALUE: &str = concat!("tower-livefyre/", env!("CARGO_PKG_VERSION"));
const FORM: &str = "application/x-www-form-urlencoded";

/// At most this much of a response body is read; draining lets hyper reuse the connection,
/// and Livefyre's answers to these calls are empty or tiny anyway.
const MAX_DRAINED_BODY: usize = 64 * 1024;

/// Everything but RFC 3986 unreserved characters is escaped in the id's path segment.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The id put into a pull URL template to check that the result is a URL.
const SAMPLE_ID: &str = "sample-user.id_0";

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Sends pings ([`sync_user`](Self::sync_user), [`sync_users`](Self::sync_users)) and the
/// pull URL registration ([`set_user_sync_url`](Self::set_user_sync_url)) to Livefyre, each
/// signed with a fresh system token of the network.
///
/// Cloning is cheap (an [`Arc`] inside) and clones share one connection pool. Every method
/// needs a Tokio runtime. [`Debug`](fmt::Debug) shows the base URL and the network name only,
/// never the key or a token.
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
/// by [`PingClient::request_timeout`] (10 s by default). Livefyre's answers `429` and `5xx`,
/// connection failures, other transport failures and per-attempt timeouts are retried after
/// an exponential backoff with full jitter; a `Retry-After` header (delta-seconds or an
/// IMF-fixdate HTTP-date) replaces the backoff, capped at [`RetryPolicy::max_backoff`].
/// Retrying is safe because a ping only asks Livefyre to pull again. `403` (wrong network key
/// or name) and every other `4xx` are returned at once. After the last attempt the last
/// error is returned; [`PingError::attempts`] tells how many requests were made.
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
/// let client = PingClient::new(network);
///
/// // Once per network (or in Studio):
/// client.set_user_sync_url("https://example.com/livefyre/pull?id={id}").await?;
///
/// // Whenever a profile changes:
/// client.sync_user("ann.lee").await?;
/// # Ok(()) }
/// ```
///
/// # Configuration
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::{Network, PingClient, PingError, RetryPolicy};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let network = Network::new("labs.fyre.co", "network-key")?;
/// let client = PingClient::new(network)
///     .base_url("http://127.0.0.1:3001/")? // the emulator, say
///     .retry(RetryPolicy::default().with_max_attempts(3))
///     .request_timeout(Duration::from_secs(5));
///
/// assert_eq!(
///     format!("{client:?}"),
///     r#"PingClient { base_url: "http://127.0.0.1:3001", network: "labs.fyre.co", .. }"#
/// );
/// // Bad ids are refused before any request is made.
/// assert!(matches!(client.sync_user("ann lee").await, Err(PingError::InvalidUserId(_))));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PingClient {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    network: Network,
    /// Scheme, authority and path prefix, without a trailing slash.
    base_url: String,
    token_in_query: bool,
    retry: RetryPolicy,
    request_timeout: Duration,
    /// The TLS setup can only fail if the ring provider lacks the default protocol
    /// versions; the error is kept and reported by every call rather than panicking in `new`.
    http: Result<HttpClient, rustls::Error>,
}

impl PingClient {
    /// A client for `network`, talking to `https://{short name}.quill.fyre.co` with the
    /// default [`RetryPolicy`], a [`DEFAULT_REQUEST_TIMEOUT`] per attempt, and the token in
    /// the form body.
    ///
    /// TLS uses rustls with the ring provider and the Mozilla roots of `webpki-roots`; plain
    /// `http://` base URLs (tests, the emulator) work too.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, PingClient};
    ///
    /// let client = PingClient::new(Network::new("labs.fyre.co", "key")?);
    /// assert_eq!(client.base_url_str(), "https://labs.quill.fyre.co");
    /// # Ok::<(), tower_livefyre::NetworkError>(())
    /// ```
    #[must_use]
    pub fn new(network: Network) -> Self {
        let base_url = format!("https://{}.quill.fyre.co", network.short_name());
        Self {
            inner: Arc::new(Inner {
                network,
                base_url,
                token_in_query: false,
                retry: RetryPolicy::default(),
                request_timeout: DEFAULT_REQUEST_TIMEOUT,
                http: http_client(),
            }),
        }
    }

    /// Sends requests to `url` instead of Livefyre's host: an absolute `http` or `https` URL,
    /// optionally with a path prefix; a trailing slash is ignored.
    ///
    /// # Errors
    ///
    /// [`PingError::InvalidBaseUrl`] for a relative URL, another scheme, credentials, a query
    /// or a fragment.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, PingClient, PingError};
    ///
    /// let client = PingClient::new(Network::new("labs.fyre.co", "key")?);
    /// let local = client.clone().base_url("http://localhost:3001/")?;
    /// assert_eq!(local.base_url_str(), "http://localhost:3001");
    /// assert!(matches!(client.base_url("localhost:3001"), Err(PingError::InvalidBaseUrl { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn base_url(mut self, url: impl AsRef<str>) -> Result<Self, PingError> {
        let base_url = check_base_url(url.as_ref())?;
        Arc::make_mut(&mut self.inner).base_url = base_url;
        Ok(self)
    }

    /// The base URL requests go to, without a trailing slash.
    #[must_use]
    pub fn base_url_str(&self) -> &str {
        &self.inner.base_url
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
    /// let client = PingClient::new(Network::new("labs.fyre.co", "key")?).token_in_query(true);
    /// # Ok::<(), tower_livefyre::NetworkError>(())
    /// ```
    #[must_use]
    pub fn token_in_query(mut self, in_query: bool) -> Self {
        Arc::make_mut(&mut self.inner).token_in_query = in_query;
        self
    }

    /// Sets the retry policy; see [`PingClient`] for what is retried.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, PingClient, RetryPolicy};
    ///
    /// let client = PingClient::new(Network::new("labs.fyre.co", "key")?).retry(RetryPolicy::never());
    /// # Ok::<(), tower_livefyre::NetworkError>(())
    /// ```
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        Arc::make_mut(&mut self.inner).retry = policy;
        self
    }

    /// Bounds each attempt, from sending the request until the response headers arrive
    /// (default [`DEFAULT_REQUEST_TIMEOUT`]). Reading the (discarded) response body gets what
    /// is left of it.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_livefyre::{Network, PingClient};
    ///
    /// let client = PingClient::new(Network::new("labs.fyre.co", "key")?)
    ///     .request_timeout(Duration::from_secs(3));
    /// # Ok::<(), tower_livefyre::NetworkError>(())
    /// ```
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.inner).request_timeout = timeout;
        self
    }

    /// Pings Livefyre: "the profile of `user_id` changed, pull it". Livefyre then pulls it
    /// from the registered URL within minutes.
    ///
    /// Sends `POST {base}/api/v3_0/user/{user_id}/refresh` with `lftoken=<system token>`,
    /// retrying as the [`RetryPolicy`] says. Any `2xx` answer is success.
    ///
    /// # Errors
    ///
    /// [`PingError::InvalidUserId`] (before any request) unless the id fully matches
    /// `[A-Za-z0-9_.-]+`; otherwise the [`PingError`] of the last attempt.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use tower_livefyre::{Network, PingClient, PingError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = PingClient::new(Network::new("labs.fyre.co", "network-key")?);
    /// match client.sync_user("ann.lee").await {
    ///     Ok(()) => {}
    ///     Err(PingError::Forbidden) => eprintln!("check LIVEFYRE_NETWORK and its key"),
    ///     Err(other) => eprintln!("ping failed after {} attempts: {other}", other.attempts()),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn sync_user(&self, user_id: &str) -> Result<(), PingError> {
        if !is_valid_user_id(user_id) {
            return Err(PingError::InvalidUserId(user_id.to_owned()));
        }
        let token = self.inner.network.build_livefyre_token()?;
        // Valid ids need no escaping; encoding anyway keeps the path right if the id rules
        // ever widen.
        let path = format!(
            "/api/v3_0/user/{}/refresh",
            utf8_percent_encode(user_id, PATH_SEGMENT)
        );
        let params = form_urlencoded::Serializer::new(String::new())
            .append_pair("lftoken", &token)
            .finish();
        self.post(&path, params).await
    }

    /// Pings every id in `ids`, at most `concurrency` at a time (0 counts as 1), and returns
    /// one `(id, outcome)` per input id, in input order.
    ///
    /// Each id gets the full [`sync_user`](Self::sync_user) treatment, retries included; an
    /// invalid id gets [`PingError::InvalidUserId`] without a request and does not stop the
    /// others.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use tower_livefyre::{Network, PingClient};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = PingClient::new(Network::new("labs.fyre.co", "network-key")?);
    /// let ids = vec!["ann.lee", "bob", "carol_1"];
    /// for (id, outcome) in client.sync_users(ids, 16).await {
    ///     if let Err(error) = outcome {
    ///         eprintln!("{id}: {error}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn sync_users<I>(
        &self,
        ids: I,
        concurrency: usize,
    ) -> Vec<(String, Result<(), PingError>)>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        // `buffered` keeps input order and never holds more than `concurrency` pings in
        // flight, so nothing is dropped or reordered.
        futures_util::stream::iter(ids)
            .map(|id| {
                let id: String = id.into();
                async move {
                    let outcome = self.sync_user(&id).await;
                    (id, outcome)
                }
            })
            .buffered(concurrency.max(1))
            .collect()
            .await
    }

    /// Registers the URL template Livefyre pulls profiles from, like the official libraries'
    /// `setUserSyncUrl`. Needed once per network (Studio can do the same).
    ///
    /// Sends `POST {base}/` with `actor_token=<system token>` and `pull_profile_url=<template>`.
    /// Livefyre answered 204; any `2xx` is success.
    ///
    /// # Errors
    ///
    /// [`PingError::InvalidTemplate`] (before any request) unless the template contains the
    /// literal `{id}` and is an absolute `http` or `https` URL once `{id}` is filled in;
    /// otherwise the [`PingError`] of the last attempt.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, PingClient, PingError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = PingClient::new(Network::new("labs.fyre.co", "network-key")?);
    /// // Refused before any request: no `{id}`.
    /// let refused = client.set_user_sync_url("https://example.com/pull").await;
    /// assert!(matches!(refused, Err(PingError::InvalidTemplate { .. })));
    /// # Ok(()) }
    /// ```
    pub async fn set_user_sync_url(&self, template: &str) -> Result<(), PingError> {
        check_template(template)?;
        let token = self.inner.network.build_livefyre_token()?;
        let params = form_urlencoded::Serializer::new(String::new())
            .append_pair("actor_token", &token)
            .append_pair("pull_profile_url", template)
            .finish();
        self.post("/", params).await
    }

    /// POSTs `params` to `path` (the token inside, in the body or the query) with retries.
    async fn post(&self, path: &str, params: String) -> Result<(), PingError> {
        let inner = &*self.inner;
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
            let failure = match self.attempt(http, &uri, &body, attempt).await {
                Ok(()) => return Ok(()),
                Err(failure) => failure,
            };
            let (error, retry_after) = match failure {
                Failure::Retry { error, retry_after } if attempt < max_attempts => {
                    (error, retry_after)
                }
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
    async fn attempt(
        &self,
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

        let timeout = self.inner.request_timeout;
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
}

impl fmt::Debug for PingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PingClient")
            .field("base_url", &self.inner.base_url)
            .field("network", &self.inner.network.name())
            .finish_non_exhaustive()
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

fn http_client() -> Result<HttpClient, rustls::Error> {
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

fn check_base_url(url: &str) -> Result<String, PingError> {
    let invalid = |reason| PingError::InvalidBaseUrl { reason };
    if url.contains('#') {
        return Err(invalid("it has a fragment"));
    }
    let uri: Uri = url
        .parse()
        .map_err(|_| invalid("it is not a valid absolute URL"))?;
    let scheme = uri
        .scheme_str()
        .ok_or_else(|| invalid("it is not absolute (`http://…` or `https://…`)"))?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(invalid("its scheme is neither http nor https"));
    }
    let authority = uri.authority().ok_or_else(|| invalid("it has no host"))?;
    if authority.host().is_empty() {
        return Err(invalid("it has no host"));
    }
    // Credentials would end up in `Debug` output and logs.
    if authority.as_str().contains('@') {
        return Err(invalid("it holds credentials"));
    }
    if uri.query().is_some() {
        return Err(invalid("it has a query"));
    }
    Ok(format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        authority,
        uri.path().trim_end_matches('/')
    ))
}

fn check_template(template: &str) -> Result<(), PingError> {
    let invalid = |reason| PingError::InvalidTemplate { reason };
    if !template.contains("{id}") {
        return Err(invalid("it does not contain the literal `{id}`"));
    }
    // `{` is not a URI character, so check the URL Livefyre will actually call.
    let uri: Uri = template
        .replace("{id}", SAMPLE_ID)
        .parse()
        .map_err(|_| invalid("it is not a valid URL once `{id}` is filled in"))?;
    match uri.scheme_str() {
        Some(scheme)
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => {}
        Some(_) => return Err(invalid("its scheme is neither http nor https")),
        None => return Err(invalid("it is not an absolute URL (`https://…`)")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    Ok(())
}

/// How many attempts a call makes and how long it waits between them.
///
/// The wait before attempt *n + 1* is uniformly random between zero and
/// `min(max_backoff, base_backoff × 2ⁿ⁻¹)` ("full jitter"), unless the response carried a
/// `Retry-After` header: then that delay is used, capped at `max_backoff`.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::RetryPolicy;
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_attempts(), 4);
/// assert_eq!(policy.base_backoff(), Duration::from_millis(200));
/// assert_eq!(policy.max_backoff(), Duration::from_secs(10));
///
/// let patient = policy.with_max_attempts(8).with_max_backoff(Duration::from_secs(60));
/// assert_eq!(patient.max_attempts(), 8);
/// assert_eq!(RetryPolicy::never().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_backoff: Duration,
    max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts in all, backoff from 200 ms up to 10 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    #[must_use]
    pub fn never() -> Self {
        Self::default().with_max_attempts(1)
    }

    /// Sets the number of attempts in all, the first included; 0 counts as 1.
    #[must_use]
    pub const fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = if attempts == 0 { 1 } else { attempts };
        self
    }

    /// Sets the backoff ceiling before the first retry; it doubles for each later one.
    #[must_use]
    pub const fn with_base_backoff(mut self, backoff: Duration) -> Self {
        self.base_backoff = backoff;
        self
    }

    /// Sets the longest wait between two attempts, also the cap on `Retry-After`.
    #[must_use]
    pub const fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The number of attempts in all, at least 1.
    #[must_use]
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff ceiling before the first retry.
    #[must_use]
    pub const fn base_backoff(&self) -> Duration {
        self.base_backoff
    }

    /// The longest wait between two attempts.
    #[must_use]
    pub const fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The ceiling of the wait after failed attempt `attempt` (1-based).
    fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    fn jittered_backoff(&self, attempt: u32) -> Duration {
        let ceiling = u64::try_from(self.backoff_ceiling(attempt).as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=ceiling))
    }
}

/// Why a call to [`PingClient`] failed.
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
    /// The base URL given to [`PingClient::base_url`] was refused.
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

/// The delay a `Retry-After` header asks for: delta-seconds, or an IMF-fixdate HTTP-date
/// (the obsolete RFC 850 and asctime forms are ignored). A date in the past means now.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 means "very long"; the cap applies anyway.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = parse_imf_fixdate(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_imf_fixdate(value: &str) -> Option<SystemTime> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let b = value.as_bytes();
    let number = |from: usize, to: usize| -> Option<u64> {
        b.get(from..to)?.iter().try_fold(0u64, |acc, &digit| {
            digit
                .is_ascii_digit()
                .then(|| acc * 10 + u64::from(digit - b'0'))
        })
    };
    let punctuation_ok = b.len() == 29
        && b.get(3..5) == Some(b", ")
        && b.get(7) == Some(&b' ')
        && b.get(11) == Some(&b' ')
        && b.get(16) == Some(&b' ')
        && b.get(19) == Some(&b':')
        && b.get(22) == Some(&b':')
        && b.get(25..) == Some(b" GMT");
    if !punctuation_ok {
        return None;
    }
    let month = MONTHS
        .iter()
        .position(|m| b.get(8..11) == Some(&m[..]))
        .and_then(|index| u64::try_from(index + 1).ok())?;
    let (day, year) = (number(5, 7)?, number(12, 16)?);
    let (hour, minute, second) = (number(17, 19)?, number(20, 22)?, number(23, 25)?);
    if !(1..=31).contains(&day) || year < 1970 || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm, years counted from March).
    let y = if month <= 2 { year - 1 } else { year };
    let (era, year_of_era) = (y / 400, y % 400);
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = (era * 146_097 + day_of_era).checked_sub(719_468)?;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imf_fixdate() {
        let at = |s| parse_imf_fixdate(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(at("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(at("Tue, 29 Feb 2000 23:59:59 GMT"), Some(951_868_799));
        assert_eq!(at("Wed, 01 Mar 2000 00:00:00 GMT"), Some(951_868_800));
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 UTC"), None);
        assert_eq!(at("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(at("Sun, 06 Foo 1994 08:49:37 GMT"), None);
        assert_eq!(at("Sun, 0x Nov 1994 08:49:37 GMT"), None);
        assert_eq!(at("Sun, 06 Nov 1994 24:49:37 GMT"), None);
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 GMTé"), None);
        assert_eq!(at(""), None);
    }

    #[test]
    fn retry_after_header() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            retry_after(&headers, now)
        };
        assert_eq!(with("3"), Some(Duration::from_secs(3)));
        assert_eq!(with(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            with("99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            with("Sun, 06 Nov 1994 08:49:47 GMT"),
            Some(Duration::from_secs(10))
        );
        assert_eq!(with("Sun, 06 Nov 1994 08:49:27 GMT"), Some(Duration::ZERO));
        assert_eq!(with("-1"), None);
        assert_eq!(with("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_grows_to_the_cap() {
        let policy = RetryPolicy::default()
            .with_base_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(1));
        let ceilings: Vec<_> = (1..=6).map(|n| policy.backoff_ceiling(n)).collect();
        let ms = Duration::from_millis;
        assert_eq!(
            ceilings,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(policy.backoff_ceiling(u32::MAX), ms(1000));
        for attempt in 1..=40 {
            assert!(policy.jittered_backoff(attempt) <= policy.backoff_ceiling(attempt));
        }
    }

    #[test]
    fn templates() {
        assert!(check_template("https://example.com/pull?id={id}").is_ok());
        assert!(check_template("http://example.com/users/{id}/pull").is_ok());
        for bad in [
            "https://example.com/pull",
            "/pull/{id}",
            "www.example-qa.com/user/{id}",
            "ftp://example.com/{id}",
            "https://exa mple.com/{id}",
            "",
        ] {
            assert!(
                matches!(check_template(bad), Err(PingError::InvalidTemplate { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            check_base_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            check_base_url("HTTPS://h.example/p//").unwrap(),
            "https://h.example/p"
        );
        for bad in [
            "",
            "h.example",
            "/x",
            "ftp://h",
            "http://u:p@h",
            "http://h/?q",
            "http://h/#f",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad:?}");
        }
    }
}
