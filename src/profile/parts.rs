//! The parts of a [`Profile`](super::Profile): name, e-mail notifications, display rules.

use serde::{Deserialize, Serialize};

use super::lenient::{self, Lenient};

/// How often Livefyre e-mails a user about one kind of event.
///
/// Serialized as the lowercase strings `"immediately"`, `"often"` and `"never"`.
///
/// ```
/// use tower_livefyre::profile::Frequency;
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
