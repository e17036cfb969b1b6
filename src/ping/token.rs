//! [`SystemTokens`]: the short-lived system token the ping client signs its calls with, built
//! once and reused for at most half its lifetime.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::network::Network;

use crate::token::SYSTEM_USER;

use crate::token::error::TokenError;

use crate::user_id::UserId;

/// The system tokens of one [`PingClient`](super::PingClient) configuration (shared by its
/// clones): one token at a time, rebuilt once it is half its lifetime old.
///
/// Reusing a token saves an HMAC and a JSON encoding per ping on the hot path (the relay's);
/// rebuilding it at half its life means every token sent still has at least half its
/// lifetime left, which is the margin for a clock behind Livefyre's.
pub(super) struct SystemTokens {
    network: Network,
    ttl: Duration,
    current: Mutex<Option<Built>>,
}

/// A token and when (by the wall clock, as its `expires`) it was built.
struct Built {
    token: Arc<str>,
    at: SystemTime,
}

impl SystemTokens {
    pub(super) fn new(network: Network, ttl: Duration) -> Self {
        Self {
            network,
            ttl,
            current: Mutex::new(None),
        }
    }

    pub(super) fn network(&self) -> &Network {
        &self.network
    }

    /// A system token valid for at least half the lifetime from now.
    pub(super) fn token(&self) -> Result<Arc<str>, TokenError> {
        self.token_at(SystemTime::now())
    }

    /// [`token`](Self::token) with the clock given.
    fn token_at(&self, now: SystemTime) -> Result<Arc<str>, TokenError> {
        // The lock is held while a token is built (about a microsecond), so a burst of pings
        // after expiry builds one token, not one each. A panic cannot leave `Built` half
        // written, so a poisoned lock is used as is.
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(built) = current.as_ref()
            && self.reusable(built, now)
        {
            return Ok(built.token.clone());
        }
        let token: Arc<str> = self
            .network
            .build_user_auth_token_at(&UserId::SYSTEM, SYSTEM_USER, self.ttl, now)?
            .into();
        *current = Some(Built {
            token: token.clone(),
            at: now,
        });
        Ok(token)
    }

    /// Whether `built` is younger than half the lifetime at `now`. A clock that went back
    /// past the build time makes its age unknown: built again.
    fn reusable(&self, built: &Built, now: SystemTime) -> bool {
        now.duration_since(built.at)
            .is_ok_and(|age| age < self.ttl / 2)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::SystemTokens;
    use crate::network::Network;

    fn expires(network: &Network, token: &str, now: std::time::SystemTime) -> f64 {
        network
            .validate_livefyre_token_at(token, now, Duration::ZERO)
            .unwrap()
            .expires()
    }

    #[test]
    fn a_token_is_reused_for_under_half_its_life_then_rebuilt() {
        let network = Network::new("labs.fyre.co", "key").unwrap();
        let tokens = SystemTokens::new(network.clone(), Duration::from_secs(300));
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);

        let first = tokens.token_at(start).unwrap();
        assert_eq!(expires(&network, &first, start), 1_700_000_300.0);
        let later = start + Duration::from_secs(149);
        assert_eq!(tokens.token_at(later).unwrap(), first);

        let half = start + Duration::from_secs(150);
        let second = tokens.token_at(half).unwrap();
        assert_ne!(second, first);
        assert_eq!(expires(&network, &second, half), 1_700_000_450.0);
    }

    #[test]
    fn a_clock_that_went_back_gets_a_new_token() {
        let network = Network::new("labs.fyre.co", "key").unwrap();
        let tokens = SystemTokens::new(network.clone(), Duration::from_secs(300));
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let first = tokens.token_at(start).unwrap();
        let earlier = start - Duration::from_secs(60);
        let rebuilt = tokens.token_at(earlier).unwrap();
        assert_ne!(rebuilt, first);
        assert_eq!(
            expires(&network, &rebuilt, earlier),
            1_699_999_940.0 + 300.0
        );
    }

    #[test]
    fn a_zero_lifetime_builds_a_token_every_time() {
        let network = Network::new("labs.fyre.co", "key").unwrap();
        let tokens = SystemTokens::new(network.clone(), Duration::ZERO);
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let first = tokens.token_at(start).unwrap();
        let next = start + Duration::from_secs(1);
        assert_ne!(tokens.token_at(next).unwrap(), first);
    }
}
