//! [`Config`]: the gate's settings, shared by every service one layer builds.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::network::Network;
use crate::token::DEFAULT_MAX_TOKEN_LEN;

/// What every [`Lftoken`](super::Lftoken) built by one layer shares.
#[derive(Clone)]
pub(super) struct Config {
    pub(super) network: Network,
    pub(super) leeway: Duration,
    pub(super) max_token_len: usize,
    pub(super) strip_token: bool,
    pub(super) clock: Option<Arc<dyn Fn() -> SystemTime + Send + Sync>>,
}

impl Config {
    /// The defaults of [`LftokenLayer::new`](crate::LftokenLayer::new): no leeway, tokens up
    /// to [`DEFAULT_MAX_TOKEN_LEN`] bytes, the token stripped, the real clock.
    pub(super) fn new(network: Network) -> Self {
        Self {
            network,
            leeway: Duration::ZERO,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            strip_token: true,
            clock: None,
        }
    }

    pub(super) fn now(&self) -> SystemTime {
        self.clock
            .as_ref()
            .map_or_else(SystemTime::now, |clock| clock())
    }
}
