//! [`TokenError`]: why a token could not be built or was refused.

use super::claims::MAX_DISPLAY_NAME_CHARS;

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
