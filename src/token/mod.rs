//! Livefyre tokens: building them as the official libraries did, and validating them.
//!
//! A Livefyre token is a compact JWS signed with HS256 and the network key, carrying the
//! custom claims `domain`, `user_id`, `display_name` and `expires` (Unix seconds; no standard
//! `exp`). The *system token* is the one with `user_id == "system"`; it is what Livefyre
//! sends as `lftoken` on every pull, and what the ping client sends to Livefyre.

mod cache;
mod claims;
mod validate;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use serde::Serialize;

pub use self::claims::LivefyreClaims;
pub(crate) use self::validate::validate;
use crate::{Network, UserId};

/// Lifetime of [`Network::build_livefyre_token`]: 24 hours, as in every official library.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(86_400);

/// The longest token [`Network::validate_livefyre_token`] looks at, in bytes.
///
/// Real tokens are about 200 bytes; the cap bounds the work an anonymous caller can cause.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 4096;

/// The user id of the system token.
pub const SYSTEM_USER: &str = "system";

/// Longest display name, in characters, that Livefyre documents for a user auth token.
pub const MAX_DISPLAY_NAME_CHARS: usize = 50;

/// The header every token built here carries, byte for byte (the Java and Node libraries'
/// order).
const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Why a token could not be built or was refused.
///
/// None of the variants holds the token or any part of it, so an error can be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a compact JWS with base64url (unpadded) parts holding JSON objects.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// Longer than the configured maximum.
    #[error("token is {len} bytes, more than the {max} allowed")]
    TooLong {
        /// Length of the token, in bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The header's `alg` is missing or is not exactly `HS256`.
    #[error("token algorithm is not HS256")]
    UnsupportedAlgorithm,
    /// The HMAC-SHA256 signature does not match any of the network's keys.
    #[error("token signature does not match the network key")]
    BadSignature,
    /// A required claim is absent.
    #[error("token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type (`domain`/`user_id` must be strings, `expires` a number).
    #[error("token claim `{0}` has the wrong type")]
    MistypedClaim(&'static str),
    /// `domain` is not this network's name (compared exactly, case-sensitively).
    #[error("token was issued for another network")]
    WrongDomain,
    /// `user_id` is not exactly `system`.
    #[error("token is not a system token")]
    NotSystemUser,
    /// `expires` (plus leeway) is before now.
    #[error("token expired")]
    Expired,
    /// A claim is a number too large for a 64-bit float, such as `1e400`.
    #[error("token claim `{0}` is a number out of range")]
    ClaimOutOfRange(&'static str),
    /// A display name over [`MAX_DISPLAY_NAME_CHARS`] characters.
    #[error("display name has {chars} characters, more than the {MAX_DISPLAY_NAME_CHARS} allowed")]
    DisplayNameTooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// The cryptography backend refused to sign (it does not for HS256 with a non-empty key).
    #[error("the token could not be signed")]
    Signing,
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
    /// [`TokenError::DisplayNameTooLong`] past [`MAX_DISPLAY_NAME_CHARS`] characters. The id
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
        let chars = display_name.chars().count();
        if chars > MAX_DISPLAY_NAME_CHARS {
            return Err(TokenError::DisplayNameTooLong { chars });
        }
        let claims = OutgoingClaims {
            domain: self.name(),
            user_id: user_id.as_str(),
            display_name,
            expires: unix_seconds(now).saturating_add(ttl.as_secs()),
        };
        // Serializing four plain fields cannot fail.
        let payload = serde_json::to_vec(&claims).map_err(|_| TokenError::Signing)?;

        let mut token = URL_SAFE_NO_PAD.encode(HEADER_JSON);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        // Use the RustCrypto provider directly rather than jsonwebtoken's process-wide
        // default, which panics when feature unification enables two backends.
        let signer = (DEFAULT_PROVIDER.signer_factory)(&Algorithm::HS256, self.signing_key())
            .map_err(|_| TokenError::Signing)?;
        let signature = signer
            .try_sign(token.as_bytes())
            .map_err(|_| TokenError::Signing)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
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
        validate(self, token, now, leeway, DEFAULT_MAX_TOKEN_LEN)
    }
}

fn unix_seconds(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

#[derive(Serialize)]
struct OutgoingClaims<'a> {
    domain: &'a str,
    user_id: &'a str,
    display_name: &'a str,
    expires: u64,
}
