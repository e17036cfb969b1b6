//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tower_livefyre::Network;

pub const NETWORK: &str = "labs.fyre.co";
pub const KEY: &str = "labs-network-key-for-tests";

pub fn network() -> Network {
    Network::new(NETWORK, KEY).unwrap()
}

/// Unix seconds as a `SystemTime`.
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// HMAC-SHA256 of `message` with `key`, base64url without padding.
pub fn hs256(key: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    b64(mac.finalize().into_bytes())
}

/// A token with exactly this header and payload JSON, signed with HS256 and `key`.
pub fn forge(header: &str, payload: &str, key: &str) -> String {
    let signed = format!("{}.{}", b64(header), b64(payload));
    let signature = hs256(key, &signed);
    format!("{signed}.{signature}")
}

/// Claims JSON for `labs.fyre.co` with the given `expires` literal.
pub fn claims_expiring(expires: &str) -> String {
    format!(
        r#"{{"domain":"{NETWORK}","user_id":"system","display_name":"system","expires":{expires}}}"#
    )
}

pub const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// A valid system token for `network()`, expiring in 2100.
pub fn valid_token() -> String {
    forge(HEADER, &claims_expiring("4102444800"), KEY)
}
