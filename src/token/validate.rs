//! Validating a Livefyre token: the checks, in the order the errors report them.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::cache;
use super::claims::{LivefyreClaims, SYSTEM_USER};
use super::error::TokenError;
use super::keys::{Keys, VerifyingKey};

/// The longest token [`Network::validate_livefyre_token`](crate::Network::validate_livefyre_token) looks at, in bytes.
///
/// Real tokens are about 200 bytes; the cap bounds the work an anonymous caller can cause.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 4096;

/// The base64url text of the headers the official libraries emitted, all `alg` HS256:
/// `{"alg":"HS256","typ":"JWT"}` (Java, Node), `{"typ":"JWT","alg":"HS256"}` (Python, Ruby,
/// PHP) and `{"alg":"HS256"}` (the documentation's sample). Base64url without padding has one
/// encoding per byte string, so a match needs no decoding or parsing.
const KNOWN_HEADERS: [&str; 3] = [
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9",
    "eyJhbGciOiJIUzI1NiJ9",
];

/// Decoded payloads up to this many bytes need no allocation.
const PAYLOAD_ON_STACK: usize = 512;

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

/// The whole validation, with the length cap as a parameter so the layer can set it.
pub(crate) fn validate(
    keys: &Keys,
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
    let claims = match cache::valid_token(keys, token) {
        Some(claims) => claims,
        None => {
            let claims = validate_all_but_expiry(keys, token)?;
            cache::remember_valid_token(keys, token, &claims);
            claims
        }
    };
    // Expiry last, as before any caching: it is the one check whose answer changes with time.
    if is_expired(claims.expires(), now, leeway) {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// Whether a token with this `expires` is expired at `now`, judged as the official libraries
/// did: `expires >= now` in whole seconds (floats truncated, the clock floored), so the token
/// is valid through the whole second `expires`. The leeway moves the clock back first, so a
/// sub-second leeway counts too. Integer-valued `f64`s compare exactly, and nothing overflows:
/// a leeway past the clock leaves it at 0.
fn is_expired(expires: f64, now: SystemTime, leeway: Duration) -> bool {
    let now = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(leeway)
        .as_secs();
    // `as` is exact for every second count below 2^53 (the year 285 million).
    now as f64 > expires.trunc()
}

/// Every check but expiry, in order: parts, header, signature, claims.
fn validate_all_but_expiry(keys: &Keys, token: &str) -> Result<LivefyreClaims, TokenError> {
    let Some((header_b64, payload_b64, signature_b64)) = three_parts(token) else {
        return Err(TokenError::Malformed("expected three dot-separated parts"));
    };

    if !KNOWN_HEADERS.contains(&header_b64) {
        check_header(header_b64)?;
    }

    // Authenticate before parsing the payload: nothing unsigned reaches the JSON parser
    // beyond the header.
    let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
    let key_index = verify_signature(keys.verifying(), signed.as_bytes(), signature_b64)?;

    // Decoded on the stack when it fits (Livefyre's payloads are about 120 bytes).
    let mut on_stack = [0u8; PAYLOAD_ON_STACK];
    let on_heap;
    let payload = if base64::decoded_len_estimate(payload_b64.len()) <= PAYLOAD_ON_STACK {
        let len = URL_SAFE_NO_PAD
            .decode_slice(payload_b64, &mut on_stack)
            .map_err(payload_not_base64)?;
        &on_stack[..len]
    } else {
        on_heap = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(payload_not_base64)?;
        &on_heap[..]
    };
    let claims = read_claims(payload)?;

    let domain = claims.domain?.into_string("domain")?;
    if domain != keys.domain() {
        return Err(TokenError::WrongDomain);
    }
    let user_id = claims.user_id?.into_string("user_id")?;
    if user_id != SYSTEM_USER {
        return Err(TokenError::NotSystemUser);
    }
    let expires = match claims.expires? {
        Claim::Number(expires) => expires,
        Claim::Absent => return Err(TokenError::MissingClaim("expires")),
        Claim::Str(_) | Claim::Other => return Err(TokenError::MistypedClaim("expires")),
    };
    let display_name = match &claims.display_name {
        Claim::Str(name) => Some(name.as_ref()),
        _ => None,
    };
    Ok(LivefyreClaims::new(
        &domain,
        &user_id,
        display_name,
        expires,
        key_index > 0,
    ))
}

/// The three dot-separated parts of a token; `None` unless there are exactly two dots.
/// (memchr's SIMD search: `str::split` scans a byte at a time, a tenth of a first-sight
/// validation's non-hashing work.)
fn three_parts(token: &str) -> Option<(&str, &str, &str)> {
    let mut dots = memchr::memchr_iter(b'.', token.as_bytes());
    let (first, second) = (dots.next()?, dots.next()?);
    if dots.next().is_some() {
        return None;
    }
    Some((
        &token[..first],
        &token[first + 1..second],
        &token[second + 1..],
    ))
}

fn payload_not_base64<E>(_: E) -> TokenError {
    TokenError::Malformed("payload is not unpadded base64url")
}

/// The index in `keys` of the first key that verifies the signature (0: the current key).
fn verify_signature(
    keys: &[VerifyingKey],
    signed: &[u8],
    signature_b64: &str,
) -> Result<usize, TokenError> {
    let mut signature = [0u8; 32];
    match URL_SAFE_NO_PAD.decode_slice(signature_b64, &mut signature) {
        Ok(32) => {}
        _ => return Err(TokenError::BadSignature),
    }
    keys.iter()
        .position(|key| key.verifies(signed, &signature))
        .ok_or(TokenError::BadSignature)
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

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(default, borrow)]
    alg: Claim<'a>,
}

/// The claims this crate reads, each as found or with the reason it cannot be read; the checks
/// take them in their own order, so the first failing check names the error.
struct Claims<'a> {
    domain: Result<Claim<'a>, TokenError>,
    user_id: Result<Claim<'a>, TokenError>,
    expires: Result<Claim<'a>, TokenError>,
    /// One that is not a string (or not a representable number) is ignored.
    display_name: Claim<'a>,
}

/// The claims of a decoded payload, in one parse when it succeeds (every real token does).
/// Otherwise the payload is parsed again with each claim kept as JSON text ([`RawClaims`]) and
/// read on its own, so that a number serde_json cannot hold (`1e400`) is named with its claim,
/// and only a payload that is not a JSON object is malformed. Both ways read every payload
/// the same: the first parse fails whenever one of the claim reads would.
fn read_claims(payload: &[u8]) -> Result<Claims<'_>, TokenError> {
    if let Ok(claims) = parse_object::<TypedClaims<'_>>(payload, "") {
        return Ok(Claims {
            domain: Ok(claims.domain),
            user_id: Ok(claims.user_id),
            expires: Ok(claims.expires),
            display_name: claims.display_name,
        });
    }
    let raw: RawClaims<'_> = parse_object(payload, "payload is not a JSON object")?;
    Ok(Claims {
        domain: Claim::read(raw.domain, "domain"),
        user_id: Claim::read(raw.user_id, "user_id"),
        expires: Claim::read(raw.expires, "expires"),
        display_name: Claim::read(raw.display_name, "display_name").unwrap_or_default(),
    })
}

/// The claims this crate reads, parsed in place.
#[derive(Deserialize)]
struct TypedClaims<'a> {
    #[serde(default, borrow)]
    domain: Claim<'a>,
    #[serde(default, borrow)]
    user_id: Claim<'a>,
    #[serde(default, borrow)]
    display_name: Claim<'a>,
    #[serde(default, borrow)]
    expires: Claim<'a>,
}

/// The claims this crate reads, kept as JSON text: a number serde_json cannot hold (`1e400`)
/// fails the parse of one claim, which can then be named, rather than of the whole payload.
#[derive(Deserialize)]
struct RawClaims<'a> {
    #[serde(default, borrow, deserialize_with = "present")]
    domain: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    user_id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    display_name: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    expires: Option<&'a RawValue>,
}

/// A claim that is in the payload, `null` included (which `Option`'s own `Deserialize` would
/// turn into `None`, "absent", where it is a claim of the wrong type).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
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
    /// The claim `name` from its JSON text, which the payload's parse found well-formed: only
    /// a number out of `f64`'s range fails here.
    fn read(raw: Option<&'a RawValue>, name: &'static str) -> Result<Self, TokenError> {
        match raw {
            Some(raw) => {
                serde_json::from_str(raw.get()).map_err(|_| TokenError::ClaimOutOfRange(name))
            }
            None => Ok(Claim::Absent),
        }
    }

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
    fn three_parts_needs_exactly_two_dots() {
        let cases = [
            ("a.b.c", Some(("a", "b", "c"))),
            ("..", Some(("", "", ""))),
            ("a.b.", Some(("a", "b", ""))),
            (".b.c", Some(("", "b", "c"))),
            ("a.b", None),
            ("abc", None),
            ("", None),
            ("a.b.c.d", None),
            ("a..b.c", None),
        ];
        for (token, expected) in cases {
            assert_eq!(three_parts(token), expected, "{token:?}");
        }
    }

    #[test]
    fn known_headers_are_what_they_claim() {
        let decoded: Vec<Vec<u8>> = KNOWN_HEADERS
            .iter()
            .map(|text| URL_SAFE_NO_PAD.decode(text).unwrap())
            .collect();
        assert_eq!(decoded[0], super::super::build::HEADER_JSON.as_bytes());
        assert_eq!(decoded[1], br#"{"typ":"JWT","alg":"HS256"}"#);
        assert_eq!(decoded[2], br#"{"alg":"HS256"}"#);
        // The slow path agrees with the fast one.
        for text in KNOWN_HEADERS {
            assert_eq!(check_header(text), Ok(()));
        }
    }
}
