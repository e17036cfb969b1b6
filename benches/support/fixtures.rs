//! What the benches share: the network, the floor of HS256 validation, the demo profile,
//! first-sight tokens and the bare handler's answer (the load server's own, from
//! `examples/support`).
#![allow(dead_code)] // each bench uses a different part

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use tower_livefyre::{
    Network, Profile, UserId,
    profile::{EmailNotifications, Frequency, Name},
};

#[path = "../../examples/support/mod.rs"]
mod example_support;

/// What `examples/load_server.rs`'s bare handler answers: the profile's JSON (or an empty
/// body), no checks.
#[allow(unused_imports)] // not every bench has a bare handler
pub use example_support::json_response as bare_response;

pub const NETWORK: &str = "labs.fyre.co";
pub const KEY: &str = "labs-network-key-for-benchmarks";

/// Livefyre's claims as `jsonwebtoken::decode` reads them.
#[derive(Deserialize)]
pub struct OwnedClaims {
    pub domain: String,
    pub user_id: String,
    pub expires: f64,
}

#[derive(Deserialize)]
struct BorrowedClaims<'a> {
    domain: &'a str,
    user_id: &'a str,
    expires: f64,
}

/// The least any HS256 validation does: base64url-decode payload and signature,
/// HMAC-SHA256 with a key prepared once, serde_json into a borrowed struct.
pub fn floor(prepared: &Hmac<Sha256>, token: &str) -> f64 {
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let payload_b64 = signed.split_once('.').unwrap().1;
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let mut mac = prepared.clone();
    mac.update(signed.as_bytes());
    mac.verify_slice(&signature).unwrap();
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).unwrap();
    let claims: BorrowedClaims<'_> = serde_json::from_slice(&payload).unwrap();
    assert!(claims.domain == NETWORK && claims.user_id == "system");
    claims.expires
}

/// The prepared HMAC state of [`KEY`].
pub fn prepared_key() -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap()
}

/// The demo profile every stack bench serves.
pub fn profile() -> Profile {
    Profile::new("ann.lee".parse().unwrap(), "Ann Lee")
        .with_name(Name::new().with_first("Ann").with_last("Lee"))
        .with_email("ann.lee@example.com")
        .with_image_url("https://example.com/avatars/ann.lee.png")
        .with_profile_url("https://example.com/users/ann.lee")
        .with_tags(["staff", "early_adopter"])
        .with_email_notifications(
            EmailNotifications::new()
                .with_replies(Frequency::Immediately)
                .with_comments(Frequency::Often),
        )
}

/// Pull URIs for `ann.lee`, each with its own valid system token (one `expires` second
/// apart, valid for a day from now), so that a cycle through more than a thread remembers
/// validates every token in full.
pub fn first_sight_uris(network: &Network, count: u64) -> Vec<String> {
    (0..count)
        .map(|n| {
            let token = network
                .build_user_auth_token(&UserId::SYSTEM, "system", Duration::from_secs(86_400 + n))
                .unwrap();
            format!("/livefyre/pull?id=ann.lee&lftoken={token}")
        })
        .collect()
}
