//! [`Profile::validate`]: Livefyre's documented limits, and [`ProfileError`].

use super::document::Profile;
use super::rules::{MAX_WEBSITES, check_profile_url as check_web_url, is_valid_tag};
use crate::url::WebUrlError;

/// A rule from Livefyre's profile documentation that a [`Profile`] breaks.
///
/// Every message names the offending JSON field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// `display_name` is empty or only whitespace.
    #[error("profile `display_name` is empty or only whitespace")]
    EmptyDisplayName,
    /// A tag is empty, longer than 63 characters or not `[A-Za-z0-9_]`.
    #[error(
        "profile `tags[{index}]` ({tag:?}) must be 1 to 63 characters of A-Z, a-z, 0-9 and `_`"
    )]
    InvalidTag {
        /// Position of the tag in `tags`.
        index: usize,
        /// The offending tag.
        tag: String,
    },
    /// `websites` has more than two entries.
    #[error("profile `websites` has {count} entries but at most 2 are allowed")]
    TooManyWebsites {
        /// How many entries `websites` has.
        count: usize,
    },
    /// A URL field breaks the web-URL rule (an absolute http or https URL with a
    /// well-formed host).
    #[error("profile `{field}` must be an absolute http or https URL with a host: {reason}")]
    InvalidUrl {
        /// The JSON field, e.g. `image_url` or `websites[1]`.
        field: String,
        /// What is wrong with it.
        #[source]
        reason: WebUrlError,
    },
}

impl Profile {
    /// Checks the documented limits and returns the first violation, in
    /// field order. The `id` needs no check: a [`UserId`](crate::UserId) is valid.
    ///
    /// ```
    /// use tower_livefyre::{Profile, ProfileError, url::WebUrlError};
    ///
    /// assert_eq!(Profile::new("u1".parse()?, "Ann").validate(), Ok(()));
    /// let bad = Profile::new("u1".parse()?, "Ann").with_image_url("ftp://example.com/a.png");
    /// assert_eq!(
    ///     bad.validate(),
    ///     Err(ProfileError::InvalidUrl { field: "image_url".into(), reason: WebUrlError::NotHttp })
    /// );
    /// # Ok::<(), tower_livefyre::UserIdError>(())
    /// ```
    pub fn validate(&self) -> Result<(), ProfileError> {
        if self.display_name.trim().is_empty() {
            return Err(ProfileError::EmptyDisplayName);
        }
        let urls = [
            ("image_url", &self.image_url),
            ("profile_url", &self.profile_url),
            ("settings_url", &self.settings_url),
        ];
        for (field, url) in urls {
            if let Some(url) = url
                && let Err(reason) = check_web_url(url)
            {
                return Err(ProfileError::InvalidUrl {
                    field: field.to_owned(),
                    reason,
                });
            }
        }
        let tags = self.tags.as_deref().unwrap_or_default();
        if let Some((index, tag)) = tags.iter().enumerate().find(|(_, t)| !is_valid_tag(t)) {
            return Err(ProfileError::InvalidTag {
                index,
                tag: tag.clone(),
            });
        }
        let websites = self.websites.as_deref().unwrap_or_default();
        if websites.len() > MAX_WEBSITES {
            return Err(ProfileError::TooManyWebsites {
                count: websites.len(),
            });
        }
        for (index, website) in websites.iter().enumerate() {
            if let Err(reason) = check_web_url(website) {
                return Err(ProfileError::InvalidUrl {
                    field: format!("websites[{index}]"),
                    reason,
                });
            }
        }
        Ok(())
    }
}
