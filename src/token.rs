//! Livefyre tokens: building them as the official libraries did, and validating them.
//!
//! A Livefyre token is a compact JWS signed with HS256 and the network key, carrying the
//! custom claims `domain`, `user_id`, `display_name` and `expires` (Unix seconds; no standard
//! `exp`). The *system token* is the one with `user_id == "system"`; it is what Livefyre
//! sends as `lftoken` on every pull, and what the ping client sends to Livefyre.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::crypto::JwtVerifier;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::Network;
use crate::network::VerifyingKey;

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

/// The claims of a valid Livefyre token.
///
/// On the pull endpoint, [`LftokenLayer`](crate::LftokenLayer) puts them into the request's
/// extensions.
///
/// # Example
///
/// ```
/// use tower_livefyre::Network;
///
/// let network = Network::new("labs.fyre.co", "key")?;
/// let claims = network.validate_livefyre_token(&network.build_livefyre_token()?)?;
/// assert_eq!(claims.domain, "labs.fyre.co");
/// assert_eq!(claims.user_id, "system");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LivefyreClaims {
    /// The network the token was issued for (`domain`).
    pub domain: String,
    /// The user the token speaks for (`user_id`); `system` on the pull endpoint.
    pub user_id: String,
    /// The display name, when the token carries one as a string.
    pub display_name: Option<String>,
    /// Expiry in Unix seconds; emitters wrote integers or floats.
    pub expires: f64,
}

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
    /// A user id outside `[A-Za-z0-9_.-]+`, which Livefyre refuses.
    #[error("user id {0:?} is not made of letters, digits, `_`, `.` and `-`")]
    InvalidUserId(String),
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
    /// [`TokenError::InvalidUserId`] unless the id fully matches `[A-Za-z0-9_.-]+`;
    /// [`TokenError::DisplayNameTooLong`] past [`MAX_DISPLAY_NAME_CHARS`] characters.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_livefyre::{Network, TokenError};
    ///
    /// let network = Network::new("labs.fyre.co", "key")?;
    /// let token = network.build_user_auth_token("ann.lee", "Ann Lee", Duration::from_secs(3600))?;
    /// assert_eq!(token.split('.').count(), 3);
    ///
    /// let refused = network.build_user_auth_token("ann\n", "Ann", Duration::from_secs(60));
    /// assert!(matches!(refused, Err(TokenError::InvalidUserId(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_user_auth_token(
        &self,
        user_id: &str,
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
    /// use tower_livefyre::Network;
    ///
    /// let network = Network::new("labs.fyre.co", "key")?;
    /// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let a = network.build_user_auth_token_at("system", "system", Duration::from_secs(60), now)?;
    /// let b = network.build_user_auth_token_at("system", "system", Duration::from_secs(60), now)?;
    /// assert_eq!(a, b);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_user_auth_token_at(
        &self,
        user_id: &str,
        display_name: &str,
        ttl: Duration,
        now: SystemTime,
    ) -> Result<String, TokenError> {
        if !is_valid_user_id(user_id) {
            return Err(TokenError::InvalidUserId(user_id.to_owned()));
        }
        let chars = display_name.chars().count();
        if chars > MAX_DISPLAY_NAME_CHARS {
            return Err(TokenError::DisplayNameTooLong { chars });
        }
        let claims = OutgoingClaims {
            domain: self.name(),
            user_id,
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
    /// assert_eq!(network.validate_livefyre_token(&token)?.user_id, "system");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_livefyre_token(&self) -> Result<String, TokenError> {
        self.build_user_auth_token(SYSTEM_USER, SYSTEM_USER, DEFAULT_TOKEN_TTL)
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

    /// Validates a system token at the instant `now`, accepting it until `expires + leeway`
    /// (inclusive).
    ///
    /// Checks, in order: length (at most [`DEFAULT_MAX_TOKEN_LEN`]), three base64url parts
    /// without padding, header `alg` exactly `HS256` (any or no `typ`; `kid` and other header
    /// fields ignored), the HMAC-SHA256 signature with any of the network's keys (constant-time
    /// comparison), then the claims: `domain` equal to the network name, `user_id` equal to
    /// `system`, `expires` a JSON number (integer or float) not in the past. Other claims are
    /// ignored.
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

/// The base64url text of the headers the official libraries emitted, all `alg` HS256:
/// `{"alg":"HS256","typ":"JWT"}` (Java, Node), `{"typ":"JWT","alg":"HS256"}` (Python, Ruby,
/// PHP) and `{"alg":"HS256"}` (the documentation's sample). Base64url without padding has one
/// encoding per byte string, so a match needs no decoding or parsing.
const KNOWN_HEADERS: [&str; 3] = [
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9",
    "eyJhbGciOiJIUzI1NiJ9",
];

/// Any other header: decoded and parsed, and `alg` must be exactly `HS256`.
fn check_header(header_b64: &str) -> Result<(), TokenError> {
    let header = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| TokenError::Malformed("header is not unpadded base64url"))?;
    let header: RawHeader<'_> = parse_object(&header, "header is not a JSON object")?;
    if matches!(header.alg, Claim::Str(ref alg) if alg == "HS256") {
        Ok(())
    } else {
        Err(TokenError::UnsupportedAlgorithm)
    }
}

/// Whether `id` fully matches `[A-Za-z0-9_.-]+`, the user ids Livefyre accepts.
///
/// Checked byte by byte, so there is no trailing-newline loophole as with the official
/// libraries' `^…$` regexes.
pub(crate) fn is_valid_user_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The whole validation, with the length cap as a parameter so the layer can set it.
pub(crate) fn validate(
    network: &Network,
    token: &str,
    now: SystemTime,
    leeway: Duration,
    max_len: usize,
) -> Result<LivefyreClaims, TokenError> {
    if token.len() > max_len {
        return Err(TokenError::TooLong {
            len: token.len(),
            max: max_len,
        });
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("expected three dot-separated parts"));
    };

    if !KNOWN_HEADERS.contains(&header_b64) {
        check_header(header_b64)?;
    }

    // Authenticate before parsing the payload: nothing unsigned reaches the JSON parser
    // beyond the header.
    let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
    verify_signature(network.verifying_keys(), signed.as_bytes(), signature_b64)?;

    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| TokenError::Malformed("payload is not unpadded base64url"))?;
    let claims: RawClaims<'_> = parse_object(&payload, "payload is not a JSON object")?;

    let domain = claims.domain.into_string("domain")?;
    if domain != network.name() {
        return Err(TokenError::WrongDomain);
    }
    let user_id = claims.user_id.into_string("user_id")?;
    if user_id != SYSTEM_USER {
        return Err(TokenError::NotSystemUser);
    }
    let expires = match claims.expires {
        Claim::Number(expires) => expires,
        Claim::Absent => return Err(TokenError::MissingClaim("expires")),
        Claim::Str(_) | Claim::Other => return Err(TokenError::MistypedClaim("expires")),
    };
    let now = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    if expires + leeway.as_secs_f64() < now {
        return Err(TokenError::Expired);
    }
    Ok(LivefyreClaims {
        domain: domain.into_owned(),
        user_id: user_id.into_owned(),
        display_name: match claims.display_name {
            Claim::Str(name) => Some(name.into_owned()),
            _ => None,
        },
        expires,
    })
}

fn verify_signature(
    keys: &[VerifyingKey],
    signed: &[u8],
    signature_b64: &str,
) -> Result<(), TokenError> {
    let mut signature = [0u8; 32];
    match URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut signature) {
        Ok(32) => {}
        _ => return Err(TokenError::BadSignature),
    }
    // jsonwebtoken's verifier takes the signature as a Vec.
    let signature = signature.to_vec();
    let verified = keys
        .iter()
        .any(|key| with_verifier(key, |verifier| verifier.verify(signed, &signature).is_ok()));
    if verified {
        Ok(())
    } else {
        Err(TokenError::BadSignature)
    }
}

/// How many prepared verifiers each thread keeps.
const CACHED_VERIFIERS: usize = 8;

thread_local! {
    /// Prepared HMAC verifiers of the keys this thread used last, most recent first.
    /// Preparing one hashes the key into the HMAC state (two SHA-256 blocks, a quarter of a
    /// validation), and jsonwebtoken's verifier is neither `Send` nor `Sync`, so it cannot
    /// live in the shared `Network`: each thread keeps its own.
    static VERIFIERS: RefCell<Vec<(u64, Box<dyn JwtVerifier>)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with the prepared HS256 verifier of `key`; `false` if none can be made.
fn with_verifier(key: &VerifyingKey, f: impl FnOnce(&dyn JwtVerifier) -> bool) -> bool {
    VERIFIERS.with_borrow_mut(|cache| {
        let position = match cache.iter().position(|(id, _)| *id == key.id) {
            Some(position) => position,
            None => {
                // The RustCrypto provider directly: see `build_user_auth_token_at`. Its HMAC
                // verifier compares in constant time.
                let Ok(verifier) = (DEFAULT_PROVIDER.verifier_factory)(&Algorithm::HS256, &key.key)
                else {
                    return false;
                };
                cache.truncate(CACHED_VERIFIERS - 1);
                cache.push((key.id, verifier));
                cache.len() - 1
            }
        };
        // Most recent first, so the least recently used key is the one truncated.
        cache[..=position].rotate_right(1);
        f(cache[0].1.as_ref())
    })
}

/// Parses a JSON object; serde would also accept an array for a struct, which no JWT has.
fn parse_object<'a, T: Deserialize<'a>>(
    json: &'a [u8],
    problem: &'static str,
) -> Result<T, TokenError> {
    if json.trim_ascii_start().first() != Some(&b'{') {
        return Err(TokenError::Malformed(problem));
    }
    serde_json::from_slice(json).map_err(|_| TokenError::Malformed(problem))
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

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(default, borrow)]
    alg: Claim<'a>,
}

#[derive(Deserialize)]
struct RawClaims<'a> {
    #[serde(default, borrow)]
    domain: Claim<'a>,
    #[serde(default, borrow)]
    user_id: Claim<'a>,
    #[serde(default, borrow)]
    display_name: Claim<'a>,
    #[serde(default, borrow)]
    expires: Claim<'a>,
}

/// A claim as found, so that "missing" and "wrong type" are told apart from malformed JSON.
/// Strings are borrowed from the decoded payload unless they contain escapes.
#[derive(Default)]
enum Claim<'a> {
    #[default]
    Absent,
    Str(Cow<'a, str>),
    Number(f64),
    Other,
}

impl<'a> Claim<'a> {
    fn into_string(self, name: &'static str) -> Result<Cow<'a, str>, TokenError> {
        match self {
            Claim::Str(value) => Ok(value),
            Claim::Absent => Err(TokenError::MissingClaim(name)),
            Claim::Number(_) | Claim::Other => Err(TokenError::MistypedClaim(name)),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Claim<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ClaimVisitor(std::marker::PhantomData))
    }
}

struct ClaimVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ClaimVisitor<'a> {
    type Value = Claim<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Claim::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Claim::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Claim::Str(Cow::Owned(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Claim::Number(v as f64))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Claim::Number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Claim::Number(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Claim::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Claim::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Claim::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Claim::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_headers_are_what_they_claim() {
        let decoded: Vec<Vec<u8>> = KNOWN_HEADERS
            .iter()
            .map(|text| URL_SAFE_NO_PAD.decode(text).unwrap())
            .collect();
        assert_eq!(decoded[0], HEADER_JSON.as_bytes());
        assert_eq!(decoded[1], br#"{"typ":"JWT","alg":"HS256"}"#);
        assert_eq!(decoded[2], br#"{"alg":"HS256"}"#);
        // The slow path agrees with the fast one.
        for text in KNOWN_HEADERS {
            assert_eq!(check_header(text), Ok(()));
        }
    }
}
