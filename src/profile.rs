//! The user profile document a customer's server returns to Livefyre's
//! Ping-for-Pull profile request.
//!
//! Serialization is strict and compact: absent fields are omitted and booleans
//! are real JSON booleans. Deserialization is lenient in the way Livefyre's own
//! documentation is: booleans may arrive as `"true"`/`"false"`, and `""` or
//! `null` mean "not set". [`Profile::validate`] checks the documented limits
//! on ids, tags, websites and URLs before a profile is sent.

use serde::{Deserialize, Serialize};

/// Livefyre accepts at most this many entries in `websites`.
const MAX_WEBSITES: usize = 2;
/// Livefyre tags are at most this many characters long.
const MAX_TAG_LEN: usize = 63;

/// How often Livefyre e-mails a user about one kind of event.
///
/// Serialized as the lowercase strings `"immediately"`, `"often"` and `"never"`.
///
/// ```
/// use tower_livefyre::Frequency;
///
/// assert_eq!(serde_json::to_string(&Frequency::Often).unwrap(), r#""often""#);
/// let parsed: Frequency = serde_json::from_str(r#""never""#).unwrap();
/// assert_eq!(parsed, Frequency::Never);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    /// Send an e-mail for every event as it happens.
    Immediately,
    /// Batch events into periodic digest e-mails.
    Often,
    /// Never e-mail about this event.
    Never,
}

/// The parts of a user's real name (`name` in the profile JSON).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Name {
    /// The full name as it should be displayed (`formatted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Given name (`first`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// Middle name (`middle`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle: Option<String>,
    /// Family name (`last`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
}

/// Per-event e-mail notification settings (`email_notifications`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EmailNotifications {
    /// Comments on conversations the user follows (`comments`).
    #[serde(deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<Frequency>,
    /// Replies to the user's comments (`replies`).
    #[serde(deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replies: Option<Frequency>,
    /// Likes of the user's comments (`likes`).
    #[serde(deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likes: Option<Frequency>,
    /// Comments awaiting moderation, for moderators (`moderator_comments`).
    #[serde(deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderator_comments: Option<Frequency>,
    /// Flagged comments, for moderators (`moderator_flags`).
    #[serde(deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderator_flags: Option<Frequency>,
}

/// Which profile parts Livefyre may show publicly (`display_rules`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DisplayRules {
    /// Show the biography (`bio`).
    #[serde(deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bio: Option<bool>,
    /// Show the location (`location`).
    #[serde(deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<bool>,
    /// Show the gender (`gender`).
    #[serde(deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<bool>,
    /// Show the real name (`name`).
    #[serde(deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<bool>,
    /// Show the avatar image (`image`).
    #[serde(deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<bool>,
    /// Link to the profile on the customer's site (`remote_profile_url`).
    #[serde(deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_profile_url: Option<bool>,
}

/// A Livefyre user profile, as returned to a Ping-for-Pull profile request.
///
/// Only `id` and `display_name` are required; every other field is omitted
/// from the JSON when `None`. There is deliberately no `Default`: a profile
/// without an id is never valid, so [`Profile::new`] is the constructor.
///
/// ```
/// use tower_livefyre::{DisplayRules, Profile};
///
/// let profile = Profile::new("u1", "Ann")
///     .with_email("ann@example.com")
///     .with_tags(["staff"])
///     .with_display_rules(DisplayRules::new().with_bio(true));
/// assert_eq!(
///     serde_json::to_string(&profile).unwrap(),
///     r#"{"id":"u1","display_name":"Ann","email":"ann@example.com","tags":["staff"],"display_rules":{"bio":true}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// The user's Livefyre id (`id`), limited to `[A-Za-z0-9_.-]`.
    pub id: String,
    /// The name shown next to the user's comments (`display_name`).
    pub display_name: String,
    /// The user's real name (`name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// E-mail address for notifications (`email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Absolute http(s) URL of the avatar (`image_url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Absolute http(s) URL of the user's public profile (`profile_url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_url: Option<String>,
    /// Absolute http(s) URL of the user's settings page (`settings_url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings_url: Option<String>,
    /// Tags (`tags`). `Some(vec![])` is sent as `[]`, which clears the tags
    /// Livefyre holds, while `None` leaves them untouched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Follow conversations the user comments on (`autofollow_conversations`).
    #[serde(default, deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autofollow_conversations: Option<bool>,
    /// E-mail notification settings (`email_notifications`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_notifications: Option<EmailNotifications>,
    /// Free-form location (`location`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Free-form biography (`bio`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    /// Nickname (`nickname`); not in the v3 docs, but older docs and real
    /// clients use it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Up to two absolute http(s) URLs of the user's websites (`websites`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub websites: Option<Vec<String>>,
    /// Which profile parts may be shown publicly (`display_rules`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_rules: Option<DisplayRules>,
    /// Whether the user is a moderator (`moderator`).
    #[serde(default, deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderator: Option<bool>,
    /// Suppress the Gravatar fallback avatar (`gravatar_disabled`).
    #[serde(default, deserialize_with = "lenient::option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gravatar_disabled: Option<bool>,
}

/// A rule from Livefyre's profile documentation that a [`Profile`] breaks.
///
/// Every message names the offending JSON field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// `id` is the empty string.
    #[error("profile `id` is empty")]
    EmptyId,
    /// `id` contains a character outside `[A-Za-z0-9_.-]`.
    #[error("profile `id` may only contain A-Z, a-z, 0-9, `_`, `.` and `-`")]
    InvalidId,
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
    /// A URL field is not an absolute http or https URL with a host.
    #[error("profile `{field}` must be an absolute http or https URL with a host")]
    InvalidUrl {
        /// The JSON field, e.g. `image_url` or `websites[1]`.
        field: String,
    },
}

impl Profile {
    /// Creates a profile with the two required fields and nothing else set.
    ///
    /// ```
    /// use tower_livefyre::Profile;
    ///
    /// let profile = Profile::new("u1", "Ann");
    /// assert_eq!(profile.id, "u1");
    /// assert_eq!(serde_json::to_string(&profile).unwrap(), r#"{"id":"u1","display_name":"Ann"}"#);
    /// ```
    pub fn new(id: impl Into<String>, display_name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            display_name: display_name.into(),
            name: None,
            email: None,
            image_url: None,
            profile_url: None,
            settings_url: None,
            tags: None,
            autofollow_conversations: None,
            email_notifications: None,
            location: None,
            bio: None,
            nickname: None,
            websites: None,
            display_rules: None,
            moderator: None,
            gravatar_disabled: None,
        }
    }

    /// Checks the documented limits and returns the first violation, in
    /// field order.
    ///
    /// ```
    /// use tower_livefyre::{Profile, ProfileError};
    ///
    /// assert_eq!(Profile::new("u1", "Ann").validate(), Ok(()));
    /// let bad = Profile::new("u1", "Ann").with_image_url("ftp://example.com/a.png");
    /// assert_eq!(bad.validate(), Err(ProfileError::InvalidUrl { field: "image_url".into() }));
    /// ```
    pub fn validate(&self) -> Result<(), ProfileError> {
        if self.id.is_empty() {
            return Err(ProfileError::EmptyId);
        }
        if !crate::token::is_valid_user_id(&self.id) {
            return Err(ProfileError::InvalidId);
        }
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
                && !is_web_url(url)
            {
                return Err(ProfileError::InvalidUrl {
                    field: field.to_owned(),
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
        if let Some(index) = websites.iter().position(|w| !is_web_url(w)) {
            return Err(ProfileError::InvalidUrl {
                field: format!("websites[{index}]"),
            });
        }
        Ok(())
    }
}

/// Tags are ASCII, so the byte length is the character count.
fn is_valid_tag(tag: &str) -> bool {
    (1..=MAX_TAG_LEN).contains(&tag.len())
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// An absolute `http`/`https` URL (scheme case-insensitive) with a non-empty host, made only
/// of the characters RFC 3986 allows in a URI. Checked in place on bytes: this runs on every
/// pull, and parsing into `http::Uri` would copy each URL.
pub(crate) fn is_web_url(value: &str) -> bool {
    let bytes = value.as_bytes();
    let has_prefix = |prefix: &[u8]| {
        bytes
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    };
    let rest = if has_prefix(b"http://") {
        &bytes[7..]
    } else if has_prefix(b"https://") {
        &bytes[8..]
    } else {
        return false;
    };
    if !bytes.iter().all(|&b| URI_BYTES[usize::from(b)]) {
        return false;
    }
    let authority_len = rest
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let host_and_port = match authority.iter().rposition(|&b| b == b'@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    let (host, port) = match host_and_port.strip_prefix(b"[") {
        // An IPv6 literal: `[::1]` or `[::1]:8080`.
        Some(literal) => match literal.iter().position(|&b| b == b']') {
            Some(end) => (&literal[..end], literal[end + 1..].strip_prefix(b":")),
            None => return false,
        },
        None => match host_and_port.iter().rposition(|&b| b == b':') {
            Some(colon) => (&host_and_port[..colon], Some(&host_and_port[colon + 1..])),
            None => (host_and_port, None),
        },
    };
    !host.is_empty() && port.is_none_or(|port| port.iter().all(u8::is_ascii_digit))
}

/// The bytes RFC 3986 allows in a URI: unreserved, reserved and `%` (percent-encoding).
static URI_BYTES: [bool; 256] = {
    let allowed =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%";
    let mut table = [false; 256];
    let mut i = 0;
    while i < allowed.len() {
        table[allowed[i] as usize] = true;
        i += 1;
    }
    table
};

/// Generates chainable `with_<field>` setters that store `Some(value)`; needed
/// because `#[non_exhaustive]` rules out struct literals outside the crate.
macro_rules! setters {
    ($ty:ident { $($setter:ident($field:ident: $arg:ty) => $value:expr;)* }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets `", stringify!($field), "`.")]
                #[must_use]
                pub fn $setter(mut self, $field: $arg) -> Self {
                    self.$field = Some($value);
                    self
                }
            )*
        }
    };
}

setters!(Profile {
    with_name(name: Name) => name;
    with_email(email: impl Into<String>) => email.into();
    with_image_url(image_url: impl Into<String>) => image_url.into();
    with_profile_url(profile_url: impl Into<String>) => profile_url.into();
    with_settings_url(settings_url: impl Into<String>) => settings_url.into();
    with_tags(tags: impl IntoIterator<Item = impl Into<String>>) =>
        tags.into_iter().map(Into::into).collect();
    with_autofollow_conversations(autofollow_conversations: bool) => autofollow_conversations;
    with_email_notifications(email_notifications: EmailNotifications) => email_notifications;
    with_location(location: impl Into<String>) => location.into();
    with_bio(bio: impl Into<String>) => bio.into();
    with_nickname(nickname: impl Into<String>) => nickname.into();
    with_websites(websites: impl IntoIterator<Item = impl Into<String>>) =>
        websites.into_iter().map(Into::into).collect();
    with_display_rules(display_rules: DisplayRules) => display_rules;
    with_moderator(moderator: bool) => moderator;
    with_gravatar_disabled(gravatar_disabled: bool) => gravatar_disabled;
});

setters!(Name {
    with_formatted(formatted: impl Into<String>) => formatted.into();
    with_first(first: impl Into<String>) => first.into();
    with_middle(middle: impl Into<String>) => middle.into();
    with_last(last: impl Into<String>) => last.into();
});

setters!(EmailNotifications {
    with_comments(comments: Frequency) => comments;
    with_replies(replies: Frequency) => replies;
    with_likes(likes: Frequency) => likes;
    with_moderator_comments(moderator_comments: Frequency) => moderator_comments;
    with_moderator_flags(moderator_flags: Frequency) => moderator_flags;
});

setters!(DisplayRules {
    with_bio(bio: bool) => bio;
    with_location(location: bool) => location;
    with_gender(gender: bool) => gender;
    with_name(name: bool) => name;
    with_image(image: bool) => image;
    with_remote_profile_url(remote_profile_url: bool) => remote_profile_url;
});

impl Name {
    /// Creates a name with every part absent.
    pub fn new() -> Self {
        Self::default()
    }
}

impl EmailNotifications {
    /// Creates notification settings with every event absent (Livefyre's default).
    pub fn new() -> Self {
        Self::default()
    }
}

impl DisplayRules {
    /// Creates display rules with every rule absent (Livefyre's default).
    pub fn new() -> Self {
        Self::default()
    }
}

/// Lenient `deserialize_with` support: Livefyre's docs show booleans as
/// strings (`"true"`), and customers send `""` or `null` for "not set".
mod lenient {
    use super::Frequency;
    use serde::de::{Deserializer, Error, Unexpected, Visitor};
    use std::{fmt, marker::PhantomData};

    /// A value that may arrive as a JSON string instead of its native type.
    pub(super) trait Lenient: Sized {
        /// Describes the accepted inputs in error messages.
        const EXPECTING: &'static str;
        /// Converts a JSON boolean; `None` rejects it.
        fn from_bool(_: bool) -> Option<Self> {
            None
        }
        /// Converts a non-empty JSON string; `None` rejects it.
        fn parse(s: &str) -> Option<Self>;
    }

    impl Lenient for bool {
        const EXPECTING: &'static str = r#"a boolean, "true", "false", "" or null"#;
        fn from_bool(b: bool) -> Option<Self> {
            Some(b)
        }
        fn parse(s: &str) -> Option<Self> {
            match s {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }
        }
    }

    impl Lenient for Frequency {
        const EXPECTING: &'static str = r#""immediately", "often", "never", "" or null"#;
        fn parse(s: &str) -> Option<Self> {
            match s {
                "immediately" => Some(Self::Immediately),
                "often" => Some(Self::Often),
                "never" => Some(Self::Never),
                _ => None,
            }
        }
    }

    /// Deserializes `Option<T>`, treating `""` and `null` as `None`.
    pub(super) fn option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Lenient,
    {
        deserializer.deserialize_option(OptionVisitor(PhantomData))
    }

    struct OptionVisitor<T>(PhantomData<T>);

    impl<'de, T: Lenient> Visitor<'de> for OptionVisitor<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::EXPECTING)
        }

        fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_bool<E: Error>(self, b: bool) -> Result<Self::Value, E> {
            match T::from_bool(b) {
                Some(value) => Ok(Some(value)),
                None => Err(E::invalid_type(Unexpected::Bool(b), &self)),
            }
        }

        fn visit_str<E: Error>(self, s: &str) -> Result<Self::Value, E> {
            if s.is_empty() {
                return Ok(None);
            }
            match T::parse(s) {
                Some(value) => Ok(Some(value)),
                None => Err(E::invalid_value(Unexpected::Str(s), &self)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_web_url;

    #[test]
    fn web_urls() {
        for url in [
            "http://example.com",
            "https://example.com/a.png",
            "HTTPS://EXAMPLE.COM/a.png",
            "http://example.com:8080/u?x=1#top",
            "http://[::1]:8080/u",
            "http://[::1]",
            "http://user:pw@example.com/",
            "https://example.com/%C3%BC?q=a+b&r=(1)",
        ] {
            assert!(is_web_url(url), "{url}");
        }
        for url in [
            "",
            "example.com/a.png",
            "/a.png",
            "//example.com/a.png",
            "ftp://example.com/a.png",
            "javascript://example.com/%0Aalert(1)x",
            "http:/example.com",
            "http://",
            "http:///a.png",
            "http://:80/",
            "http://user@/",
            "http://[::1/",
            "http://example.com:port/",
            "http://example.com/a b.png",
            "http://example.com/ü.png",
            "http://example.com/a\n",
            "http://exa<mple>.com/",
            "httpx://example.com",
        ] {
            assert!(!is_web_url(url), "{url:?}");
        }
    }
}
