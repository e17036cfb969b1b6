//! Per-thread caches on the validation path: prepared HMAC verifiers, and tokens already
//! found valid.
//!
//! Both are thread-local, so the hot path takes no lock, and both are keyed by process-unique
//! ids ([`VerifyingKey`]'s, and [`Network`]'s, which changes with its name or keys), so two
//! networks never share an entry.

use std::cell::RefCell;

use constant_time_eq::constant_time_eq;
use jsonwebtoken::Algorithm;
use jsonwebtoken::crypto::JwtVerifier;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;

use super::LivefyreClaims;
use crate::Network;
use crate::network::VerifyingKey;

/// How many prepared verifiers each thread keeps.
const CACHED_VERIFIERS: usize = 8;

/// How many valid tokens each thread remembers.
const CACHED_TOKENS: usize = 8;

/// Longer valid tokens are not remembered (real ones are about 200 bytes), which bounds the
/// cache at `CACHED_TOKENS` × this many bytes per thread.
const MAX_CACHED_TOKEN_LEN: usize = 1024;

/// A token that passed every check but expiry, for one network.
struct ValidToken {
    network: u64,
    token: Box<[u8]>,
    claims: LivefyreClaims,
}

thread_local! {
    /// Prepared HMAC verifiers of the keys this thread used last, most recent first.
    /// Preparing one hashes the key into the HMAC state (two SHA-256 blocks, a quarter of a
    /// validation), and jsonwebtoken's verifier is neither `Send` nor `Sync`, so it cannot
    /// live in the shared `Network`: each thread keeps its own.
    static VERIFIERS: RefCell<Vec<(u64, Box<dyn JwtVerifier>)>> = const { RefCell::new(Vec::new()) };

    /// The tokens this thread found valid last, most recent first. Livefyre signs pulls with
    /// a system token that only changes when its `expires` second does (the token is a pure
    /// function of the claims), so a burst of pulls repeats one token; validating it again
    /// would re-decode, re-MAC and re-parse the same bytes to the same answer.
    static VALID_TOKENS: RefCell<Vec<ValidToken>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with the prepared HS256 verifier of `key`; `false` if none can be made.
pub(super) fn with_verifier(key: &VerifyingKey, f: impl Fn(&dyn JwtVerifier) -> bool) -> bool {
    // The RustCrypto provider directly: see `build_user_auth_token_at`. Its HMAC verifier
    // compares in constant time.
    let prepare = || (DEFAULT_PROVIDER.verifier_factory)(&Algorithm::HS256, &key.key).ok();
    let cached = VERIFIERS.try_with(|cache| {
        let mut cache = cache.borrow_mut();
        let position = match cache.iter().position(|(id, _)| *id == key.id) {
            Some(position) => position,
            None => {
                let Some(verifier) = prepare() else {
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
    });
    // `Err`: the thread is being torn down (a validation from a thread-local destructor), so
    // there is no cache, but the same answer.
    cached.unwrap_or_else(|_| prepare().is_some_and(|verifier| f(verifier.as_ref())))
}

/// The claims of `token` if this thread has already found it valid for `network` (its
/// expiry is for the caller to check again).
///
/// The bytes are compared in constant time: a token is a credential, and an early-exit
/// comparison would let a caller learn a cached token's prefix from response times.
pub(super) fn valid_token(network: &Network, token: &str) -> Option<LivefyreClaims> {
    // During thread teardown there is no memory: every token is checked in full.
    VALID_TOKENS
        .try_with(|cache| {
            let mut cache = cache.borrow_mut();
            let position = cache.iter().position(|entry| {
                entry.network == network.id()
                    && entry.token.len() == token.len()
                    && constant_time_eq(&entry.token, token.as_bytes())
            })?;
            cache[..=position].rotate_right(1);
            Some(cache[0].claims.clone())
        })
        .ok()
        .flatten()
}

/// Remembers that `token` passed every check but expiry for `network`.
pub(super) fn remember_valid_token(network: &Network, token: &str, claims: &LivefyreClaims) {
    if token.len() > MAX_CACHED_TOKEN_LEN {
        return;
    }
    // During thread teardown nothing is remembered.
    let _ = VALID_TOKENS.try_with(|cache| {
        let mut cache = cache.borrow_mut();
        cache.truncate(CACHED_TOKENS - 1);
        cache.insert(
            0,
            ValidToken {
                network: network.id(),
                token: token.as_bytes().into(),
                claims: claims.clone(),
            },
        );
    });
}
