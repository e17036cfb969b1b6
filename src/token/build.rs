//! [`build`]: a token as the official libraries built it, byte for byte.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use serde::Serialize;

use super::claims::MAX_DISPLAY_NAME_CHARS;
use super::error::TokenError;
use super::keys::Keys;
use crate::user_id::UserId;

/// Lifetime of [`Network::build_livefyre_token`](crate::Network::build_livefyre_token): 24 hours, as in every official library.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(86_400);

/// The header every token built here carries, byte for byte (the Java and Node libraries'
/// order).
pub(super) const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Builds a token for `user_id` with the claims `domain`, `user_id`, `display_name` and
/// `expires` in that order (the official libraries' order), `expires` being `now` in whole
/// Unix seconds plus `ttl` in whole seconds, under the header `{"alg":"HS256","typ":"JWT"}`.
pub(crate) fn build(
    keys: &Keys,
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
        domain: keys.domain(),
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
    let signer = (DEFAULT_PROVIDER.signer_factory)(&Algorithm::HS256, keys.signing())
        .map_err(|_| TokenError::Signing)?;
    let signature = signer
        .try_sign(token.as_bytes())
        .map_err(|_| TokenError::Signing)?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
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
