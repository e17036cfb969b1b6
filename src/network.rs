//! [`Network`]: a Livefyre network's name and its signing key.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::token::error::TokenError;
use crate::token::{
    self, DEFAULT_MAX_TOKEN_LEN, DEFAULT_TOKEN_TTL, Keys, LivefyreClaims, SYSTEM_USER,
};
use crate::user_id::UserId;

/// A Livefyre network: its name (for example `labs.fyre.co`) and its shared secret, the
/// *network key*.
///
/// Both halves of Ping for Pull need it: the pull endpoint checks that Livefyre's `lftoken`
/// was signed with the key for this network, and the ping client signs its own system token
/// with it. Keys are used as the raw UTF-8 bytes of the string, never base64-decoded, exactly
/// as every official Livefyre library did.
///
/// Cloning is cheap (an [`Arc`] inside). [`Debug`](fmt::Debug) shows the name and how many
/// keys there are, never a key.
///
/// # Example
///
/// ```
/// use tower_livefyre::Network;
///
/// let network = Network::new("labs.fyre.co", "the-network-key")?;
/// assert_eq!(network.name(), "labs.fyre.co");
/// assert_eq!(network.short_name(), "labs");
/// assert!(!format!("{network:?}").contains("the-network-key"));
/// # Ok::<(), tower_livefyre::NetworkError>(())
/// ```
#[derive(Clone)]
pub struct Network {
    /// The name (as `domain`) and the keys; the token module builds and checks with them.
    inner: Arc<Keys>,
}

/// Why a [`Network`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// The network name is empty.
    #[error("the Livefyre network name is empty")]
    EmptyName,
    /// The network name is not a host name (dot-separated labels of letters, digits and `-`).
    #[error("the Livefyre network name {0:?} is not a host name such as `labs.fyre.co`")]
    InvalidName(String),
    /// A network key is empty.
    #[error("the Livefyre network key is empty")]
    EmptyKey,
}

impl Network {
    /// Creates a network from its name and its current key.
    ///
    /// The name must look like a host name (`labs.fyre.co`); the `.fyre.co` suffix is not
    /// required because the documentation's own sample uses `test.fyre.com`. The key must not
    /// be empty.
    ///
    /// # Errors
    ///
    /// [`NetworkError`] when the name or the key is unusable.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, NetworkError};
    ///
    /// assert!(Network::new("labs.fyre.co", "key").is_ok());
    /// assert_eq!(Network::new("labs.fyre.co", "").unwrap_err(), NetworkError::EmptyKey);
    /// assert!(matches!(Network::new("not a host", "key"), Err(NetworkError::InvalidName(_))));
    /// ```
    pub fn new(name: impl Into<String>, key: impl AsRef<[u8]>) -> Result<Self, NetworkError> {
        let name = name.into();
        check_name(&name)?;
        let key = non_empty_key(key.as_ref())?;
        Ok(Self {
            inner: Arc::new(Keys::new(name, key)),
        })
    }

    /// Also accepts tokens signed with a previous key, for key rotation.
    ///
    /// New tokens are always signed with the current key; validation tries the current key
    /// first, then the previous ones in the order they were added.
    ///
    /// # Errors
    ///
    /// [`NetworkError::EmptyKey`] when `key` is empty.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::Network;
    ///
    /// let old = Network::new("labs.fyre.co", "old-key")?;
    /// let token = old.build_livefyre_token()?;
    ///
    /// let rotated = Network::new("labs.fyre.co", "new-key")?.with_previous_key("old-key")?;
    /// assert!(rotated.validate_livefyre_token(&token).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_previous_key(mut self, key: impl AsRef<[u8]>) -> Result<Self, NetworkError> {
        let key = non_empty_key(key.as_ref())?;
        Arc::make_mut(&mut self.inner).add_previous(key);
        Ok(self)
    }

    /// The full network name, for example `labs.fyre.co`; tokens carry it as `domain`.
    #[must_use]
    pub fn name(&self) -> &str {
        self.inner.domain()
    }

    /// The first label of the name (`labs` for `labs.fyre.co`), used in Livefyre's API hosts
    /// such as `https://labs.quill.fyre.co`.
    #[must_use]
    pub fn short_name(&self) -> &str {
        let name = self.name();
        name.split('.').next().unwrap_or(name)
    }

    /// The name and keys, for the checks that take a length cap of their own (the layer).
    pub(crate) fn keys(&self) -> &Keys {
        &self.inner
    }
}

impl Network {
    /// Builds a user auth token for `user_id`, valid for `ttl`, like the official libraries'
    /// `buildUserAuthToken`.
    ///
    /// The header is `{"alg":"HS256","typ":"JWT"}`, the claims `domain`, `user_id`,
    /// `display_name`, `expires` in that order, with `expires` an integer.
    ///
    /// # Errors
    ///
    /// [`TokenError::DisplayNameTooLong`] past [`MAX_DISPLAY_NAME_CHARS`](crate::token::MAX_DISPLAY_NAME_CHARS) characters. The id
    /// is a [`UserId`], valid by construction.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_livefyre::{Network, TokenError};
    ///
    /// let network = Network::new("labs.fyre.co", "key")?;
    /// let ann = "ann.lee".parse()?;
    /// let token = network.build_user_auth_token(&ann, "Ann Lee", Duration::from_secs(3600))?;
    /// assert_eq!(token.split('.').count(), 3);
    ///
    /// let refused = network.build_user_auth_token(&ann, &"x".repeat(51), Duration::from_secs(60));
    /// assert_eq!(refused, Err(TokenError::DisplayNameTooLong { chars: 51 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_user_auth_token(
        &self,
        user_id: &UserId,
        display_name: &str,
        ttl: Duration,
    ) -> Result<String, TokenError> {
        self.build_user_auth_token_at(user_id, display_name, ttl, SystemTime::now())
    }

    /// [`build_user_auth_token`](Self::build_user_auth_token) with the clock given, so that
    /// the token is reproducible byte for byte.
    ///
    /// `expires` is `now` in whole Unix seconds plus `ttl` in whole seconds.
    ///
    /// # Errors
    ///
    /// As [`build_user_auth_token`](Self::build_user_auth_token).
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_livefyre::{Network, UserId};
    ///
    /// let network = Network::new("labs.fyre.co", "key")?;
    /// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let a = network.build_user_auth_token_at(&UserId::SYSTEM, "system", Duration::from_secs(60), now)?;
    /// let b = network.build_user_auth_token_at(&UserId::SYSTEM, "system", Duration::from_secs(60), now)?;
    /// assert_eq!(a, b);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_user_auth_token_at(
        &self,
        user_id: &UserId,
        display_name: &str,
        ttl: Duration,
        now: SystemTime,
    ) -> Result<String, TokenError> {
        token::build(&self.inner, user_id, display_name, ttl, now)
    }

    /// Builds the system token (`user_id` and `display_name` `system`, valid 24 hours), like
    /// the official libraries' `buildLivefyreToken`. The ping client sends it to Livefyre.
    ///
    /// # Errors
    ///
    /// [`TokenError::Signing`] only if the cryptography backend fails.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::Network;
    ///
    /// let network = Network::new("labs.fyre.co", "key")?;
    /// let token = network.build_livefyre_token()?;
    /// assert_eq!(network.validate_livefyre_token(&token)?.user_id(), "system");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_livefyre_token(&self) -> Result<String, TokenError> {
        self.build_user_auth_token(&UserId::SYSTEM, SYSTEM_USER, DEFAULT_TOKEN_TTL)
    }

    /// Validates a system token against the real clock, with no leeway, like the official
    /// libraries' `validateLivefyreToken`.
    ///
    /// # Errors
    ///
    /// The [`TokenError`] naming the first check that failed.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, TokenError};
    ///
    /// let network = Network::new("labs.fyre.co", "key")?;
    /// let other = Network::new("labs.fyre.co", "another key")?;
    /// let token = other.build_livefyre_token()?;
    /// assert_eq!(network.validate_livefyre_token(&token), Err(TokenError::BadSignature));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validate_livefyre_token(&self, token: &str) -> Result<LivefyreClaims, TokenError> {
        self.validate_livefyre_token_at(token, SystemTime::now(), Duration::ZERO)
    }

    /// Validates a system token at the instant `now`, with `leeway` for clock skew.
    ///
    /// Expiry is judged in whole seconds, as the official libraries did (`expires >= now`
    /// with both in integer seconds, a float `expires` truncated): a token with
    /// `expires = T` is valid through the whole second `T`, that is while `now - leeway` is
    /// before `T + 1 s`.
    ///
    /// Checks, in order: length (at most [`DEFAULT_MAX_TOKEN_LEN`]), three base64url parts
    /// without padding, header `alg` exactly `HS256` (any or no `typ`; `kid` and other header
    /// fields ignored), the HMAC-SHA256 signature with any of the network's keys (constant-time
    /// comparison), then the claims: `domain` equal to the network name, `user_id` equal to
    /// `system`, `expires` a JSON number (integer or float, at most `f64::MAX`) not in the past. Other claims are
    /// ignored.
    ///
    /// Each thread remembers the last few tokens it found valid for this network value: a
    /// repeated token (Livefyre sends one system token for a burst of pulls) is recognised
    /// by a constant-time comparison instead of being decoded and MACed again, with the same
    /// answer, and its `expires` is checked against `now` every time.
    ///
    /// # Errors
    ///
    /// The [`TokenError`] naming the first check that failed.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_livefyre::{Network, TokenError};
    ///
    /// // The sample token from Livefyre's documentation, signed with `testkeytest`.
    /// let sample = "eyJhbGciOiJIUzI1NiJ9.eyJkb21haW4iOiJ0ZXN0LmZ5cmUuY29tIiwidXNlcl9pZCI6InN5c3RlbSIsImRpc3BsYXlfbmFtZSI6InN5c3RlbSIsImV4cGlyZXMiOjEzOTY2NTUwODN9.33GuJF_ou2O6CCV22Y3PlLUgP2Igy9vAXfmLONkt-Yo";
    /// let network = Network::new("test.fyre.com", "testkeytest")?;
    ///
    /// let before = UNIX_EPOCH + Duration::from_secs(1_396_655_083);
    /// assert!(network.validate_livefyre_token_at(sample, before, Duration::ZERO).is_ok());
    ///
    /// let after = before + Duration::from_secs(1);
    /// assert_eq!(
    ///     network.validate_livefyre_token_at(sample, after, Duration::ZERO),
    ///     Err(TokenError::Expired)
    /// );
    /// assert!(network.validate_livefyre_token_at(sample, after, Duration::from_secs(1)).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validate_livefyre_token_at(
        &self,
        token: &str,
        now: SystemTime,
        leeway: Duration,
    ) -> Result<LivefyreClaims, TokenError> {
        token::validate(&self.inner, token, now, leeway, DEFAULT_MAX_TOKEN_LEN)
    }
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("name", &self.name())
            .field("keys", &self.inner.len())
            .finish_non_exhaustive()
    }
}

fn non_empty_key(key: &[u8]) -> Result<&[u8], NetworkError> {
    if key.is_empty() {
        Err(NetworkError::EmptyKey)
    } else {
        Ok(key)
    }
}

/// A host name: 1–253 bytes of dot-separated labels, each 1–63 letters, digits or `-`.
fn check_name(name: &str) -> Result<(), NetworkError> {
    if name.is_empty() {
        return Err(NetworkError::EmptyName);
    }
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if name.len() <= 253 && name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(NetworkError::InvalidName(name.to_owned()))
    }
}
