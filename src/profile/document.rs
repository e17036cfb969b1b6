//! [`Profile`]: the document a pull answers with.

use serde::{Deserialize, Serialize};

use super::lenient;
use super::parts::{DisplayRules, EmailNotifications, Name};
use crate::user_id::UserId;

/// A Livefyre user profile, as returned to a Ping-for-Pull profile request.
///
/// Only `id` and `display_name` are required; every other field is omitted
/// from the JSON when `None`. There is deliberately no `Default`: a profile
/// without an id is never valid, so [`Profile::new`] is the constructor. The id is a
/// [`UserId`], so a profile always has a valid one, and deserializing checks it.
///
/// ```
/// use tower_livefyre::Profile;
/// use tower_livefyre::profile::DisplayRules;
///
/// let profile = Profile::new("u1".parse()?, "Ann")
///     .with_email("ann@example.com")
///     .with_tags(["staff"])
///     .with_display_rules(DisplayRules::new().with_bio(true));
/// assert_eq!(
///     serde_json::to_string(&profile).unwrap(),
///     r#"{"id":"u1","display_name":"Ann","email":"ann@example.com","tags":["staff"],"display_rules":{"bio":true}}"#
/// );
/// assert!(serde_json::from_str::<Profile>(r#"{"id":"a b","display_name":"Ann"}"#).is_err());
/// # Ok::<(), tower_livefyre::UserIdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// The user's Livefyre id (`id`).
    pub id: UserId,
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

impl Profile {
    /// Creates a profile with the two required fields and nothing else set.
    ///
    /// The id is a [`UserId`]: write `"u1".parse()?` for a literal, or pass on the id a
    /// [`ProfileSource`](crate::ProfileSource) was asked for (`id.clone()`).
    ///
    /// ```
    /// use tower_livefyre::Profile;
    ///
    /// let profile = Profile::new("u1".parse()?, "Ann");
    /// assert_eq!(profile.id, "u1");
    /// assert_eq!(serde_json::to_string(&profile)?, r#"{"id":"u1","display_name":"Ann"}"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(id: UserId, display_name: impl Into<String>) -> Self {
        Self {
            id,
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
