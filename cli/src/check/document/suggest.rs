//! Which documented field an unknown one probably stands for: names real endpoints used, then
//! close spellings.

/// Names real endpoints used for documented fields (normalized: lower case, no `-`).
pub(super) const TOP_ALIASES: &[(&str, &str)] = &[
    ("first_name", "name.first"),
    ("firstname", "name.first"),
    ("given_name", "name.first"),
    ("first", "name.first"),
    ("last_name", "name.last"),
    ("lastname", "name.last"),
    ("family_name", "name.last"),
    ("surname", "name.last"),
    ("last", "name.last"),
    ("middle_name", "name.middle"),
    ("full_name", "name.formatted"),
    ("fullname", "name.formatted"),
    ("formatted_name", "name.formatted"),
    ("profile", "profile_url"),
    ("profile_link", "profile_url"),
    ("url", "profile_url"),
    ("avatar", "image_url"),
    ("avatar_url", "image_url"),
    ("image", "image_url"),
    ("picture", "image_url"),
    ("photo", "image_url"),
    ("settings", "settings_url"),
    ("displayname", "display_name"),
    ("username", "display_name"),
    ("nick", "nickname"),
    ("website", "websites"),
    ("homepage", "websites"),
    ("tag", "tags"),
    ("groups", "tags"),
    ("mail", "email"),
    ("email_address", "email"),
    ("notifications", "email_notifications"),
    ("user_id", "id"),
    ("uid", "id"),
    ("about", "bio"),
    ("description", "bio"),
    ("is_moderator", "moderator"),
    ("autofollow", "autofollow_conversations"),
];
/// Names real endpoints used for the keys of `name`.
pub(super) const NAME_ALIASES: &[(&str, &str)] = &[
    ("first_name", "first"),
    ("firstname", "first"),
    ("given", "first"),
    ("given_name", "first"),
    ("last_name", "last"),
    ("lastname", "last"),
    ("family", "last"),
    ("family_name", "last"),
    ("surname", "last"),
    ("middle_name", "middle"),
    ("full", "formatted"),
    ("full_name", "formatted"),
    ("display", "formatted"),
];
/// Names used for the keys of `email_notifications`.
pub(super) const NOTIFICATION_ALIASES: &[(&str, &str)] = &[
    ("reply", "replies"),
    ("like", "likes"),
    ("comment", "comments"),
    ("flags", "moderator_flags"),
];
/// Names used for the keys of `display_rules`.
pub(super) const DISPLAY_RULE_ALIASES: &[(&str, &str)] = &[
    ("nameimage", "name` and `image"),
    ("profile_url", "remote_profile_url"),
    ("avatar", "image"),
];

/// The documented field `key` probably stands for: a known alias first, then a close spelling.
pub(super) fn suggest(key: &str, aliases: &[(&str, &str)], known: &[&str]) -> Option<String> {
    let normalized = key.to_ascii_lowercase().replace('-', "_");
    if let Some((_, meant)) = aliases.iter().find(|(alias, _)| *alias == normalized) {
        return Some((*meant).to_owned());
    }
    if let Some(field) = known.iter().find(|field| **field == normalized) {
        return Some((*field).to_owned());
    }
    known
        .iter()
        .map(|field| (edit_distance(&normalized, field), field))
        .filter(|(distance, _)| *distance <= 2 && normalized.len() > 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, field)| (*field).to_owned())
}

/// Levenshtein distance over bytes (field names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.as_bytes().iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::super::{FIELDS, NAME_FIELDS};
    use super::*;

    #[test]
    fn unknown_fields_name_what_they_probably_meant() {
        let table = [
            ("first_name", TOP_ALIASES, FIELDS, Some("name.first")),
            ("profile", TOP_ALIASES, FIELDS, Some("profile_url")),
            ("displayName", TOP_ALIASES, FIELDS, Some("display_name")),
            ("imageurl", TOP_ALIASES, FIELDS, Some("image_url")),
            ("website", TOP_ALIASES, FIELDS, Some("websites")),
            ("favourite_colour", TOP_ALIASES, FIELDS, None),
            ("first_name", NAME_ALIASES, NAME_FIELDS, Some("first")),
            ("lst", NAME_ALIASES, NAME_FIELDS, None),
        ];
        for (key, aliases, known, meant) in table {
            assert_eq!(suggest(key, aliases, known).as_deref(), meant, "{key}");
        }
    }
}
