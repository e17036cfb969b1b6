//! `edit ID FIELD=VALUE...`: the fields a user can change, and how a value is read.

use tower_livefyre::{
    Profile,
    profile::{EmailNotifications, Frequency, Name},
};

/// The fields `edit` knows, as the profile document names them (`name.first` is `first_name`).
pub const FIELDS: &[&str] = &[
    "display_name",
    "email",
    "nickname",
    "image_url",
    "profile_url",
    "settings_url",
    "location",
    "bio",
    "first_name",
    "middle_name",
    "last_name",
    "formatted_name",
    "tags",
    "websites",
    "autofollow_conversations",
    "moderator",
    "gravatar_disabled",
    "notify_comments",
    "notify_replies",
    "notify_likes",
    "notify_moderator_comments",
    "notify_moderator_flags",
];

/// Splits `FIELD=VALUE` arguments, refusing unknown fields and missing `=`.
pub fn parse(args: &[String]) -> Result<Vec<(&str, &str)>, String> {
    if args.is_empty() {
        return Err("edit needs at least one FIELD=VALUE".into());
    }
    args.iter()
        .map(|arg| {
            let (field, value) = arg
                .split_once('=')
                .ok_or_else(|| format!("{arg:?} is not FIELD=VALUE"))?;
            if !FIELDS.contains(&field) {
                return Err(format!(
                    "unknown field {field:?}; known fields: {}",
                    FIELDS.join(", ")
                ));
            }
            Ok((field, value))
        })
        .collect()
}

/// Applies one edit. An empty value unsets an optional field; lists are comma-separated;
/// flags are `true`/`false`; notification settings `immediately`/`often`/`never`.
pub fn apply(profile: &mut Profile, field: &str, value: &str) -> Result<(), String> {
    let text = || (!value.is_empty()).then(|| value.to_owned());
    let list =
        || (!value.is_empty()).then(|| value.split(',').map(|s| s.trim().to_owned()).collect());
    let flag = || match value {
        "" => Ok(None),
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        _ => Err(format!("{field} is true, false or empty, not {value:?}")),
    };
    let frequency = || match value {
        "" => Ok(None),
        "immediately" => Ok(Some(Frequency::Immediately)),
        "often" => Ok(Some(Frequency::Often)),
        "never" => Ok(Some(Frequency::Never)),
        _ => Err(format!(
            "{field} is immediately, often, never or empty, not {value:?}"
        )),
    };
    match field {
        "display_name" => profile.display_name = value.to_owned(),
        "email" => profile.email = text(),
        "nickname" => profile.nickname = text(),
        "image_url" => profile.image_url = text(),
        "profile_url" => profile.profile_url = text(),
        "settings_url" => profile.settings_url = text(),
        "location" => profile.location = text(),
        "bio" => profile.bio = text(),
        "first_name" => profile.name.get_or_insert_with(Name::new).first = text(),
        "middle_name" => profile.name.get_or_insert_with(Name::new).middle = text(),
        "last_name" => profile.name.get_or_insert_with(Name::new).last = text(),
        "formatted_name" => profile.name.get_or_insert_with(Name::new).formatted = text(),
        "tags" => profile.tags = list(),
        "websites" => profile.websites = list(),
        "autofollow_conversations" => profile.autofollow_conversations = flag()?,
        "moderator" => profile.moderator = flag()?,
        "gravatar_disabled" => profile.gravatar_disabled = flag()?,
        "notify_comments" => {
            profile
                .email_notifications
                .get_or_insert_with(EmailNotifications::new)
                .comments = frequency()?
        }
        "notify_replies" => {
            profile
                .email_notifications
                .get_or_insert_with(EmailNotifications::new)
                .replies = frequency()?
        }
        "notify_likes" => {
            profile
                .email_notifications
                .get_or_insert_with(EmailNotifications::new)
                .likes = frequency()?
        }
        "notify_moderator_comments" => {
            profile
                .email_notifications
                .get_or_insert_with(EmailNotifications::new)
                .moderator_comments = frequency()?
        }
        "notify_moderator_flags" => {
            profile
                .email_notifications
                .get_or_insert_with(EmailNotifications::new)
                .moderator_flags = frequency()?
        }
        other => return Err(format!("unknown field {other:?}")),
    }
    // Stored as the database reads them back: an empty group is no group.
    if profile
        .name
        .as_ref()
        .is_some_and(|n| *n == Default::default())
    {
        profile.name = None;
    }
    if profile
        .email_notifications
        .as_ref()
        .is_some_and(|m| *m == Default::default())
    {
        profile.email_notifications = None;
    }
    Ok(())
}
