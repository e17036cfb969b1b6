//! [`LftokenLayer`]: the configuration of the gate.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tower_layer::Layer;

use super::config::Config;
use super::rejection::DefaultRejection;
use super::service::Lftoken;
use crate::network::Network;

/// A [`Layer`] that wraps a service in the [`Lftoken`] gate.
///
/// Defaults: no leeway on `expires`, tokens up to 4096 bytes, `lftoken` stripped from the URI
/// the inner service sees, 403 with an empty body on refusal.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::{LftokenLayer, Network};
///
/// let network = Network::new("labs.fyre.co", "network-key")?;
/// let layer = LftokenLayer::new(network)
///     .leeway(Duration::from_secs(30))
///     .max_token_len(2048);
/// assert!(!format!("{layer:?}").contains("network-key"));
/// # Ok::<(), tower_livefyre::NetworkError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct LftokenLayer<R = DefaultRejection> {
    pub(super) config: Arc<Config>,
    pub(super) make_rejection: R,
}

impl LftokenLayer {
    /// A gate for tokens of `network`.
    pub fn new(network: Network) -> Self {
        Self {
            config: Arc::new(Config::new(network)),
            make_rejection: DefaultRejection,
        }
    }
}

impl<R> LftokenLayer<R> {
    /// Accepts tokens up to `leeway` after their `expires`, for clock skew between Livefyre
    /// and this server. Default: none.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        Arc::make_mut(&mut self.config).leeway = leeway;
        self
    }

    /// Refuses, before decoding anything, an `lftoken` longer than `max` bytes as it appears
    /// in the URI. Default: 4096.
    pub fn max_token_len(mut self, max: usize) -> Self {
        Arc::make_mut(&mut self.config).max_token_len = max;
        self
    }

    /// Whether to remove `lftoken` from the URI before the inner service sees it, so that
    /// access logs and handlers never hold the token. Default: `true`.
    pub fn strip_token(mut self, strip: bool) -> Self {
        Arc::make_mut(&mut self.config).strip_token = strip;
        self
    }

    /// Reads the time from `clock` instead of the system clock, for tests that pin the time.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_livefyre::{LftokenLayer, Network};
    ///
    /// let network = Network::new("test.fyre.com", "testkeytest")?;
    /// let layer = LftokenLayer::new(network)
    ///     .clock(|| UNIX_EPOCH + Duration::from_secs(1_396_655_000));
    /// # Ok::<(), tower_livefyre::NetworkError>(())
    /// ```
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Arc::make_mut(&mut self.config).clock = Some(Arc::new(clock));
        self
    }

    /// Answers refusals with `make_rejection(&reason)` instead of the documented bare 403.
    /// The reason is still added to the response's extensions.
    ///
    /// ```
    /// use http::{Response, StatusCode};
    /// use tower_livefyre::{LftokenLayer, LftokenRejection, Network};
    ///
    /// let network = Network::new("labs.fyre.co", "network-key")?;
    /// let layer = LftokenLayer::new(network).with_rejection_response(|_: &LftokenRejection| {
    ///     Response::builder()
    ///         .status(StatusCode::FORBIDDEN)
    ///         .header("x-livefyre", "refused")
    ///         .body(String::new())
    ///         .unwrap()
    /// });
    /// # Ok::<(), tower_livefyre::NetworkError>(())
    /// ```
    pub fn with_rejection_response<F>(self, make_rejection: F) -> LftokenLayer<F> {
        LftokenLayer {
            config: self.config,
            make_rejection,
        }
    }
}

impl<S, R: Clone> Layer<S> for LftokenLayer<R> {
    type Service = Lftoken<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Lftoken {
            inner,
            config: self.config.clone(),
            make_rejection: self.make_rejection.clone(),
        }
    }
}

impl<R> fmt::Debug for LftokenLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LftokenLayer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("network", &self.network)
            .field("leeway", &self.leeway)
            .field("max_token_len", &self.max_token_len)
            .field("strip_token", &self.strip_token)
            .field("clock", &self.clock.as_ref().map(|_| "custom"))
            .finish()
    }
}
