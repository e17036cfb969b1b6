//! [`LivefyreClaims`]: what a valid token says.

use std::fmt;
use std::sync::Arc;

/// The user id of the system token.
pub const SYSTEM_USER: &str = "system";

/// Longest display name, in characters, that Livefyre documents for a user auth token.
pub const MAX_DISPLAY_NAME_CHARS: usize = 50;

/// The claims of a valid Livefyre token.
///
/// On the pull endpoint, [`LftokenLayer`](crate::LftokenLayer) puts them into the request's
/// extensions. Cloning is cheap (the claims are shared, not copied), which keeps a cached
/// validation free of allocations.
///
/// # Example
///
/// ```
/// use tower_livefyre::Network;
///
/// let network = Network::new("labs.fyre.co", "key")?;
/// let claims = network.validate_livefyre_token(&network.build_livefyre_token()?)?;
/// assert_eq!(claims.domain(), "labs.fyre.co");
/// assert_eq!(claims.user_id(), "system");
/// assert_eq!(claims.display_name(), Some("system"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct LivefyreClaims {
    inner: Arc<Inner>,
}

#[derive(PartialEq)]
struct Inner {
    /// `domain`, `user_id` and `display_name` back to back: one allocation for all three
    /// (claims are built once per token seen for the first time).
    text: Box<str>,
    domain_end: usize,
    user_id_end: usize,
    has_display_name: bool,
    expires: f64,
    /// Verified by a key added with `with_previous_key`, not the current one.
    previous_key: bool,
}

impl LivefyreClaims {
    pub(crate) fn new(
        domain: &str,
        user_id: &str,
        display_name: Option<&str>,
        expires: f64,
        previous_key: bool,
    ) -> Self {
        let name = display_name.unwrap_or_default();
        let mut text = String::with_capacity(domain.len() + user_id.len() + name.len());
        text.push_str(domain);
        text.push_str(user_id);
        text.push_str(name);
        Self {
            inner: Arc::new(Inner {
                text: text.into_boxed_str(),
                domain_end: domain.len(),
                user_id_end: domain.len() + user_id.len(),
                has_display_name: display_name.is_some(),
                expires,
                previous_key,
            }),
        }
    }

    /// The network the token was issued for (`domain`).
    #[must_use]
    pub fn domain(&self) -> &str {
        &self.inner.text[..self.inner.domain_end]
    }

    /// The user the token speaks for (`user_id`); `system` on the pull endpoint.
    #[must_use]
    pub fn user_id(&self) -> &str {
        &self.inner.text[self.inner.domain_end..self.inner.user_id_end]
    }

    /// The display name, when the token carries one as a string.
    #[must_use]
    pub fn display_name(&self) -> Option<&str> {
        let inner = &*self.inner;
        inner
            .has_display_name
            .then(|| &inner.text[inner.user_id_end..])
    }

    /// Expiry in Unix seconds; emitters wrote integers or floats.
    #[must_use]
    pub fn expires(&self) -> f64 {
        self.inner.expires
    }

    /// Whether the token was signed with one of the network's previous keys
    /// ([`Network::with_previous_key`](crate::Network::with_previous_key)) rather than its
    /// current one: once no accepted token is, the previous key can be retired.
    ///
    /// ```
    /// use tower_livefyre::Network;
    ///
    /// let old = Network::new("labs.fyre.co", "old-key")?;
    /// let rotated = Network::new("labs.fyre.co", "new-key")?.with_previous_key("old-key")?;
    /// let claims = rotated.validate_livefyre_token(&old.build_livefyre_token()?)?;
    /// assert!(claims.signed_with_previous_key());
    /// let claims = rotated.validate_livefyre_token(&rotated.build_livefyre_token()?)?;
    /// assert!(!claims.signed_with_previous_key());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn signed_with_previous_key(&self) -> bool {
        self.inner.previous_key
    }
}

impl fmt::Debug for LivefyreClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LivefyreClaims")
            .field("domain", &self.domain())
            .field("user_id", &self.user_id())
            .field("display_name", &self.display_name())
            .field("expires", &self.expires())
            .field("signed_with_previous_key", &self.signed_with_previous_key())
            .finish()
    }
}
