//! [`Keys`]: the domain a network's tokens carry, its signing key, and the keys its tokens
//! are checked against.

use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use jsonwebtoken::EncodingKey;
use sha2::Sha256;

/// What tokens of one network are built and checked with: the `domain` they carry, the
/// current key to sign with, and every key (current first, then previous ones in the order
/// they were added) to check against.
///
/// Each value gets a process-unique id, new whenever a key is added: the per-thread memory
/// of valid tokens is keyed by it, so it never answers for another domain or key set.
#[derive(Clone)]
pub(crate) struct Keys {
    id: u64,
    domain: String,
    signing: EncodingKey,
    verifying: Vec<VerifyingKey>,
}

impl Keys {
    /// Keys for `domain` with `current` as the only key; the caller checked both.
    pub(crate) fn new(domain: String, current: &[u8]) -> Self {
        Self {
            id: next_id(),
            domain,
            signing: EncodingKey::from_secret(current),
            verifying: vec![VerifyingKey::new(current)],
        }
    }

    /// The network name tokens carry as `domain`.
    pub(crate) fn domain(&self) -> &str {
        &self.domain
    }

    /// Also checks against `previous`, after the keys already held; takes a new id.
    pub(crate) fn add_previous(&mut self, previous: &[u8]) {
        self.verifying.push(VerifyingKey::new(previous));
        self.id = next_id();
    }

    /// How many keys tokens are checked against.
    pub(crate) fn len(&self) -> usize {
        self.verifying.len()
    }

    pub(super) fn id(&self) -> u64 {
        self.id
    }

    pub(super) fn signing(&self) -> &EncodingKey {
        &self.signing
    }

    pub(super) fn verifying(&self) -> &[VerifyingKey] {
        &self.verifying
    }
}

/// A key tokens are checked against: HMAC-SHA256 with the key already hashed into its state.
///
/// Preparing the state hashes the key (two SHA-256 blocks, about a quarter of a validation),
/// so it is done once here; the state is `Send + Sync`, so every thread checks against this
/// one copy, cloning it per token.
#[derive(Clone)]
pub(super) struct VerifyingKey {
    /// `None` only if HMAC refused the key, which it never does (it takes keys of any
    /// length); were it to happen, every token would be refused: closed, not open.
    prepared: Option<Hmac<Sha256>>,
}

impl VerifyingKey {
    fn new(key: &[u8]) -> Self {
        Self {
            prepared: Hmac::new_from_slice(key).ok(),
        }
    }

    /// Whether `signature` is the HMAC-SHA256 of `message` under this key, compared in
    /// constant time (`verify_slice` compares with `subtle`).
    pub(super) fn verifies(&self, message: &[u8], signature: &[u8; 32]) -> bool {
        let Some(prepared) = &self.prepared else {
            return false;
        };
        let mut mac = prepared.clone();
        mac.update(message);
        mac.verify_slice(signature).is_ok()
    }
}

/// A process-unique id, the key of the per-thread memory of valid tokens.
fn next_id() -> u64 {
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}
