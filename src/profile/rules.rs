//! The value rules of Livefyre's profile document, one function each, for code that judges
//! a document it did not build (the `livefyre check` command, a test of your own endpoint).
//! [`Profile::validate`](super::Profile::validate) applies the same functions.

use crate::url::WebUrlError;
use crate::url::check_web_url;

/// Livefyre accepts at most this many entries in `websites`.
pub const MAX_WEBSITES: usize = 2;

/// Livefyre tags are at most this many characters long.
pub const MAX_TAG_LEN: usize = 63;

/// Whether `tag` is a Livefyre tag: 1 to [`MAX_TAG_LEN`] characters of `A-Z`, `a-z`, `0-9`
/// and `_`.
///
/// ```
/// use tower_livefyre::profile::is_valid_tag;
///
/// assert!(is_valid_tag("early_adopter"));
/// assert!(!is_valid_tag("early adopter"));
/// assert!(!is_valid_tag(""));
/// assert!(!is_valid_tag(&"a".repeat(64)));
/// ```
pub fn is_valid_tag(tag: &str) -> bool {
    // Tags are ASCII, so the byte length is the character count.
    (1..=MAX_TAG_LEN).contains(&tag.len())
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks the rule every URL of a profile (`image_url`, `profile_url`, `settings_url`,
/// `websites`) follows: an absolute `http` or `https` URL with a well-formed host.
///
/// # Errors
///
/// The [`WebUrlError`] saying what breaks the rule.
///
/// ```
/// use tower_livefyre::{url::WebUrlError, profile::check_profile_url};
///
/// assert_eq!(check_profile_url("https://example.com/ann.png"), Ok(()));
/// assert_eq!(check_profile_url("/ann.png"), Err(WebUrlError::NotHttp));
/// assert_eq!(check_profile_url("http://a:1:2/x.png"), Err(WebUrlError::InvalidPort));
/// ```
pub fn check_profile_url(url: &str) -> Result<(), WebUrlError> {
    check_web_url(url)
}
