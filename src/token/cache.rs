//! The per-thread memory of tokens already found valid.
//!
//! Thread-local, so the hot path takes no lock, and keyed by [`Keys`]' process-unique id
//! (new with every name or key set), so two networks never share an entry.

use std::cell::RefCell;

use constant_time_eq::constant_time_eq;

use super::claims::LivefyreClaims;
use super::keys::Keys;

/// How many valid tokens each thread remembers.
const CACHED_TOKENS: usize = 8;

/// Longer valid tokens are not remembered (real ones are about 200 bytes), which bounds the
/// cache at `CACHED_TOKENS` × this many bytes per thread.
const MAX_CACHED_TOKEN_LEN: usize = 1024;

/// How many bytes at the end of a token [`same_token`] compares first.
const TAIL: usize = 32;

/// A token that passed every check but expiry, for one key set.
struct ValidToken {
    keys: u64,
    /// A buffer reused for the next token once this one is the least recently used.
    token: Vec<u8>,
    claims: LivefyreClaims,
}

thread_local! {
    /// The tokens this thread found valid last, most recent first. Livefyre signs pulls with
    /// a system token that only changes when its `expires` second does (the token is a pure
    /// function of the claims), so a burst of pulls repeats one token; validating it again
    /// would re-decode, re-MAC and re-parse the same bytes to the same answer.
    static VALID_TOKENS: RefCell<Vec<ValidToken>> = const { RefCell::new(Vec::new()) };
}

/// The claims of `token` if this thread has already found it valid with `keys` (its
/// expiry is for the caller to check again).
///
/// The bytes are compared in constant time: a token is a credential, and an early-exit
/// comparison would let a caller learn a cached token's prefix from response times.
pub(super) fn valid_token(keys: &Keys, token: &str) -> Option<LivefyreClaims> {
    // During thread teardown there is no memory: every token is checked in full.
    VALID_TOKENS
        .try_with(|cache| {
            let mut cache = cache.borrow_mut();
            let position = cache.iter().position(|entry| {
                entry.keys == keys.id() && same_token(&entry.token, token.as_bytes())
            })?;
            cache[..=position].rotate_right(1);
            Some(cache[0].claims.clone())
        })
        .ok()
        .flatten()
}

/// Whether two tokens are equal, in time that depends on their lengths only.
///
/// The tails (the end of the signature) are compared first, so a token seen for the first
/// time is told apart from each remembered one in a few bytes rather than all of them. Both
/// comparisons are constant-time, so timing shows at most whether 32 bytes of HMAC output
/// match a remembered token's, which needs that token; never how long a prefix matches.
fn same_token(remembered: &[u8], token: &[u8]) -> bool {
    if remembered.len() != token.len() {
        return false;
    }
    let tail = token.len().saturating_sub(TAIL);
    constant_time_eq(&remembered[tail..], &token[tail..]) && constant_time_eq(remembered, token)
}

/// Remembers that `token` passed every check but expiry with `keys`.
pub(super) fn remember_valid_token(keys: &Keys, token: &str, claims: &LivefyreClaims) {
    if token.len() > MAX_CACHED_TOKEN_LEN {
        return;
    }
    // During thread teardown nothing is remembered.
    let _ = VALID_TOKENS.try_with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() < CACHED_TOKENS {
            cache.push(ValidToken {
                keys: keys.id(),
                token: Vec::new(),
                claims: claims.clone(),
            });
        }
        // The least recently used entry takes the new token: once the memory is full, a
        // token seen for the first time is copied into the buffer of the one it replaces
        // rather than into a new allocation (tokens of one emitter have about one length).
        let oldest = cache.len() - 1;
        let entry = &mut cache[oldest];
        entry.keys = keys.id();
        entry.token.clear();
        entry.token.extend_from_slice(token.as_bytes());
        entry.claims = claims.clone();
        cache.rotate_right(1);
    });
}

#[cfg(test)]
mod tests {
    use super::same_token;

    #[test]
    fn same_token_is_byte_equality() {
        let long = "a".repeat(100);
        let mut first_byte = long.clone().into_bytes();
        first_byte[0] = b'b';
        let mut last_byte = long.clone().into_bytes();
        last_byte[99] = b'b';
        let cases: [(&[u8], &[u8], bool); 7] = [
            (long.as_bytes(), long.as_bytes(), true),
            (long.as_bytes(), &first_byte, false),
            (long.as_bytes(), &last_byte, false),
            (long.as_bytes(), &long.as_bytes()[1..], false),
            (b"short", b"short", true),
            (b"short", b"shorT", false),
            (b"", b"", true),
        ];
        for (remembered, token, equal) in cases {
            assert_eq!(
                same_token(remembered, token),
                equal,
                "{remembered:?} vs {token:?}"
            );
            assert_eq!(
                same_token(token, remembered),
                equal,
                "{token:?} vs {remembered:?}"
            );
        }
    }
}
