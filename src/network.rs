//! [`Network`]: a Livefyre network's name and its signing key.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use jsonwebtoken::EncodingKey;
use sha2::Sha256;

/// A Livefyre network: its name (for example `labs.fyre.co`) and its shared secret, the
/// *network key*.
///
/// Both halves of Ping for Pull need it: the pull endpoint checks that Livefyre's `lftoken`
/// was signed with the key for this network, and the ping client signs its own system token
/// with it. Keys are used as the raw UTF-8 bytes of the string, never base64-decoded, exactly
/// as every official Livefyre library did.
///
/// Cloning is cheap (an [`Arc`] inside). [`Debug`](fmt::Debug) shows the name and how many
/// keys there are, never a key.
///
/// # Example
///
/// ```
/// use tower_livefyre::Network;
///
/// let network = Network::new("labs.fyre.co", "the-network-key")?;
/// assert_eq!(network.name(), "labs.fyre.co");
/// assert_eq!(network.short_name(), "labs");
/// assert!(!format!("{network:?}").contains("the-network-key"));
/// # Ok::<(), tower_livefyre::NetworkError>(())
/// ```
#[derive(Clone)]
pub struct Network {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    /// Process-unique, and new whenever the name or keys change: the key of the per-thread
    /// cache of valid tokens, so that cache never answers for another network or key set.
    id: u64,
    name: String,
    signing_key: EncodingKey,
    /// The current key first, then previous keys in the order they were added.
    verifying_keys: Vec<VerifyingKey>,
}

/// Why a [`Network`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// The network name is empty.
    #[error("the Livefyre network name is empty")]
    EmptyName,
    /// The network name is not a host name (dot-separated labels of letters, digits and `-`).
    #[error("the Livefyre network name {0:?} is not a host name such as `labs.fyre.co`")]
    InvalidName(String),
    /// A network key is empty.
    #[error("the Livefyre network key is empty")]
    EmptyKey,
}

impl Network {
    /// Creates a network from its name and its current key.
    ///
    /// The name must look like a host name (`labs.fyre.co`); the `.fyre.co` suffix is not
    /// required because the documentation's own sample uses `test.fyre.com`. The key must not
    /// be empty.
    ///
    /// # Errors
    ///
    /// [`NetworkError`] when the name or the key is unusable.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, NetworkError};
    ///
    /// assert!(Network::new("labs.fyre.co", "key").is_ok());
    /// assert_eq!(Network::new("labs.fyre.co", "").unwrap_err(), NetworkError::EmptyKey);
    /// assert!(matches!(Network::new("not a host", "key"), Err(NetworkError::InvalidName(_))));
    /// ```
    pub fn new(name: impl Into<String>, key: impl AsRef<[u8]>) -> Result<Self, NetworkError> {
        let name = name.into();
        check_name(&name)?;
        let key = non_empty_key(key.as_ref())?;
        Ok(Self {
            inner: Arc::new(Inner {
                id: next_id(),
                name,
                signing_key: EncodingKey::from_secret(key),
                verifying_keys: vec![VerifyingKey::new(key)],
            }),
        })
    }

    /// Also accepts tokens signed with a previous key, for key rotation.
    ///
    /// New tokens are always signed with the current key; validation tries the current key
    /// first, then the previous ones in the order they were added.
    ///
    /// # Errors
    ///
    /// [`NetworkError::EmptyKey`] when `key` is empty.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::Network;
    ///
    /// let old = Network::new("labs.fyre.co", "old-key")?;
    /// let token = old.build_livefyre_token()?;
    ///
    /// let rotated = Network::new("labs.fyre.co", "new-key")?.with_previous_key("old-key")?;
    /// assert!(rotated.validate_livefyre_token(&token).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_previous_key(mut self, key: impl AsRef<[u8]>) -> Result<Self, NetworkError> {
        let key = non_empty_key(key.as_ref())?;
        let inner = Arc::make_mut(&mut self.inner);
        inner.verifying_keys.push(VerifyingKey::new(key));
        inner.id = next_id();
        Ok(self)
    }

    /// The full network name, for example `labs.fyre.co`; tokens carry it as `domain`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The first label of the name (`labs` for `labs.fyre.co`), used in Livefyre's API hosts
    /// such as `https://labs.quill.fyre.co`.
    #[must_use]
    pub fn short_name(&self) -> &str {
        self.inner
            .name
            .split('.')
            .next()
            .unwrap_or(&self.inner.name)
    }

    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }

    pub(crate) fn signing_key(&self) -> &EncodingKey {
        &self.inner.signing_key
    }

    pub(crate) fn verifying_keys(&self) -> &[VerifyingKey] {
        &self.inner.verifying_keys
    }
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("name", &self.inner.name)
            .field("keys", &self.inner.verifying_keys.len())
            .finish_non_exhaustive()
    }
}

/// A key tokens are checked against: HMAC-SHA256 with the key already hashed into its state.
///
/// Preparing the state hashes the key (two SHA-256 blocks, about a quarter of a validation),
/// so it is done once here; the state is `Send + Sync`, so every thread checks against this
/// one copy, cloning it per token.
#[derive(Clone)]
pub(crate) struct VerifyingKey {
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
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8; 32]) -> bool {
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

fn non_empty_key(key: &[u8]) -> Result<&[u8], NetworkError> {
    if key.is_empty() {
        Err(NetworkError::EmptyKey)
    } else {
        Ok(key)
    }
}

/// A host name: 1–253 bytes of dot-separated labels, each 1–63 letters, digits or `-`.
fn check_name(name: &str) -> Result<(), NetworkError> {
    if name.is_empty() {
        return Err(NetworkError::EmptyName);
    }
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if name.len() <= 253 && name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(NetworkError::InvalidName(name.to_owned()))
    }
}
