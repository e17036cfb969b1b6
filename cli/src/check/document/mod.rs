//! The field rules of the profile document (`docs/protocol.md`, "The profile document"),
//! applied to the JSON document of a found user.
//!
//! Shapes and types are judged on the raw JSON (the library's parser is lenient by design and
//! would hide booleans sent as strings); the value rules themselves (URLs, tags, websites) are
//! the library's own functions ([`check_profile_url`], [`is_valid_tag`], [`MAX_WEBSITES`]).

use serde_json::{Map, Value};
use tower_livefyre::{
    profile::{MAX_WEBSITES, check_profile_url, is_valid_tag},
    url::WebUrlError,
};

use self::suggest::{
    DISPLAY_RULE_ALIASES, NAME_ALIASES, NOTIFICATION_ALIASES, TOP_ALIASES, suggest,
};
use super::catalog::CheckId;
use super::{Finding, Outcome};

mod suggest;

/// The documented top-level fields.
pub(super) const FIELDS: &[&str] = &[
    "id",
    "display_name",
    "name",
    "email",
    "image_url",
    "profile_url",
    "settings_url",
    "tags",
    "autofollow_conversations",
    "email_notifications",
    "location",
    "bio",
    "websites",
    "display_rules",
    "moderator",
    "gravatar_disabled",
    "nickname",
];
/// The documented keys of `name`.
pub(super) const NAME_FIELDS: &[&str] = &["formatted", "first", "middle", "last"];
const NOTIFICATION_FIELDS: &[&str] = &[
    "comments",
    "replies",
    "likes",
    "moderator_comments",
    "moderator_flags",
];
const DISPLAY_RULE_FIELDS: &[&str] = &[
    "bio",
    "location",
    "gender",
    "name",
    "image",
    "remote_profile_url",
];
const URL_FIELDS: &[&str] = &["image_url", "profile_url", "settings_url"];
const STRING_FIELDS: &[&str] = &["email", "location", "bio", "nickname"];
const BOOLEAN_FIELDS: &[&str] = &["autofollow_conversations", "moderator", "gravatar_disabled"];
const FREQUENCIES: &[&str] = &["immediately", "often", "never"];

/// The findings of every `pull/document/*` check on `doc`, in catalog order.
pub fn check(doc: &Map<String, Value>) -> Vec<(CheckId, Vec<Finding>)> {
    vec![
        (CheckId::DocumentName, name(doc)),
        (CheckId::DocumentUrls, urls(doc)),
        (CheckId::DocumentTags, tags(doc)),
        (CheckId::DocumentWebsites, websites(doc)),
        (
            CheckId::DocumentEmailNotifications,
            email_notifications(doc),
        ),
        (CheckId::DocumentDisplayRules, display_rules(doc)),
        (CheckId::DocumentBooleans, booleans(doc)),
        (CheckId::DocumentFields, fields(doc)),
    ]
}

/// The field, unless absent or `null` (both mean "not set").
fn present<'a>(doc: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    doc.get(field).filter(|value| !value.is_null())
}

fn fail(message: String) -> Finding {
    Finding::new(Outcome::Fail, message)
}

fn name(doc: &Map<String, Value>) -> Vec<Finding> {
    let Some(value) = present(doc, "name") else {
        return Vec::new();
    };
    let Some(name) = value.as_object() else {
        return vec![fail(format!(
            "`name` must be an object with formatted/first/middle/last, found {}; a full name \
             as a string belongs in `name.formatted`",
            kind(value)
        ))];
    };
    let mut findings = Vec::new();
    for (key, value) in name {
        if NAME_FIELDS.contains(&key.as_str()) {
            if !(value.is_string() || value.is_null()) {
                findings.push(fail(format!(
                    "`name.{key}` must be a string, found {}",
                    kind(value)
                )));
            }
        } else {
            findings.push(unknown(
                &format!("name.{key}"),
                suggest(key, NAME_ALIASES, NAME_FIELDS).map(|field| format!("name.{field}")),
            ));
        }
    }
    findings
}

fn urls(doc: &Map<String, Value>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for &field in URL_FIELDS {
        let Some(value) = present(doc, field) else {
            continue;
        };
        match value.as_str() {
            Some(url) => {
                if let Some(why) = url_problem(url) {
                    findings.push(fail(format!(
                        "`{field}` {url:?}: {why} (\"all URLs must be fully qualified\")"
                    )));
                }
            }
            None => findings.push(fail(format!(
                "`{field}` must be a URL string, found {}",
                kind(value)
            ))),
        }
    }
    findings
}

fn tags(doc: &Map<String, Value>) -> Vec<Finding> {
    let Some(value) = present(doc, "tags") else {
        return Vec::new();
    };
    let Some(tags) = value.as_array() else {
        return vec![fail(format!(
            "`tags` must be an array of strings, found {}",
            kind(value)
        ))];
    };
    let mut findings = Vec::new();
    for (index, tag) in tags.iter().enumerate() {
        match tag.as_str() {
            Some(text) => {
                if !is_valid_tag(text) {
                    findings.push(fail(format!(
                        "`tags[{index}]` {text:?} is not 1-63 characters of A-Z, a-z, 0-9 and `_`"
                    )));
                }
            }
            None => findings.push(fail(format!(
                "`tags[{index}]` must be a string, found {}",
                kind(tag)
            ))),
        }
    }
    findings
}

fn websites(doc: &Map<String, Value>) -> Vec<Finding> {
    let Some(value) = present(doc, "websites") else {
        return Vec::new();
    };
    let Some(websites) = value.as_array() else {
        return vec![fail(format!(
            "`websites` must be an array of URL strings, found {}",
            kind(value)
        ))];
    };
    let mut findings = Vec::new();
    if websites.len() > MAX_WEBSITES {
        findings.push(fail(format!(
            "`websites` has {} entries; at most {MAX_WEBSITES} are allowed",
            websites.len()
        )));
    }
    for (index, website) in websites.iter().enumerate() {
        match website.as_str() {
            Some(url) => {
                if let Some(why) = url_problem(url) {
                    findings.push(fail(format!("`websites[{index}]` {url:?}: {why}")));
                }
            }
            None => findings.push(fail(format!(
                "`websites[{index}]` must be a URL string, found {}",
                kind(website)
            ))),
        }
    }
    findings
}

fn email_notifications(doc: &Map<String, Value>) -> Vec<Finding> {
    let Some(value) = present(doc, "email_notifications") else {
        return Vec::new();
    };
    let Some(notifications) = value.as_object() else {
        return vec![fail(format!(
            "`email_notifications` must be an object, found {}",
            kind(value)
        ))];
    };
    let mut findings = Vec::new();
    let has_email = doc
        .get("email")
        .and_then(Value::as_str)
        .is_some_and(|email| !email.is_empty());
    let wants_mail = notifications
        .values()
        .any(|value| matches!(value.as_str(), Some("immediately" | "often")));
    if wants_mail && !has_email {
        findings.push(Finding::new(
            Outcome::Info,
            "`email_notifications` asks for mail but there is no `email`: no mail goes out",
        ));
    }
    for (key, value) in notifications {
        let field = format!("email_notifications.{key}");
        if !NOTIFICATION_FIELDS.contains(&key.as_str()) {
            findings.push(unknown(
                &field,
                suggest(key, NOTIFICATION_ALIASES, NOTIFICATION_FIELDS)
                    .map(|known| format!("email_notifications.{known}")),
            ));
            continue;
        }
        match value {
            Value::Null => {}
            Value::String(text) if text.is_empty() => findings.push(Finding::new(
                Outcome::Info,
                format!("`{field}` is \"\", read as not set; leave the key out instead"),
            )),
            Value::String(text) if key == "moderator_flags" && text == "often" => {
                findings.push(Finding::new(
                    Outcome::Warn,
                    format!(
                        "`{field}` is \"often\"; the v2 docs allow only \"immediately\" or \
                         \"never\" for moderator flags"
                    ),
                ));
            }
            Value::String(text) if FREQUENCIES.contains(&text.as_str()) => {}
            other => findings.push(fail(format!(
                "`{field}` must be \"immediately\", \"often\" or \"never\", found {}",
                shown(other)
            ))),
        }
    }
    findings
}

fn display_rules(doc: &Map<String, Value>) -> Vec<Finding> {
    let Some(value) = present(doc, "display_rules") else {
        return Vec::new();
    };
    let Some(rules) = value.as_object() else {
        return vec![fail(format!(
            "`display_rules` must be an object of booleans, found {}",
            kind(value)
        ))];
    };
    let mut findings = Vec::new();
    for (key, value) in rules {
        let field = format!("display_rules.{key}");
        if !DISPLAY_RULE_FIELDS.contains(&key.as_str()) {
            findings.push(unknown(
                &field,
                suggest(key, DISPLAY_RULE_ALIASES, DISPLAY_RULE_FIELDS)
                    .map(|known| format!("display_rules.{known}")),
            ));
        }
        findings.extend(boolean(&field, value));
    }
    findings
}

fn booleans(doc: &Map<String, Value>) -> Vec<Finding> {
    BOOLEAN_FIELDS
        .iter()
        .filter_map(|&field| doc.get(field).and_then(|value| boolean(field, value)))
        .collect()
}

/// A real boolean is right; `"true"`/`"false"` (as in Livefyre's own example) is a `warn`.
fn boolean(field: &str, value: &Value) -> Option<Finding> {
    match value {
        Value::Bool(_) | Value::Null => None,
        Value::String(text) if text == "true" || text == "false" => Some(Finding::new(
            Outcome::Warn,
            format!(
                "`{field}` is the string \"{text}\"; send the JSON boolean {text} (the field \
                 table types it Boolean; only Livefyre's example wrote strings)"
            ),
        )),
        Value::String(text) if text.is_empty() => Some(Finding::new(
            Outcome::Warn,
            format!("`{field}` is \"\", not a boolean; leave the key out when it is not set"),
        )),
        other => Some(fail(format!(
            "`{field}` must be a boolean, found {}",
            shown(other)
        ))),
    }
}

fn fields(doc: &Map<String, Value>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for &field in STRING_FIELDS {
        if let Some(value) = present(doc, field)
            && !value.is_string()
        {
            findings.push(fail(format!(
                "`{field}` must be a string, found {}",
                kind(value)
            )));
        }
    }
    for key in doc.keys() {
        if !FIELDS.contains(&key.as_str()) {
            findings.push(unknown(key, suggest(key, TOP_ALIASES, FIELDS)));
        }
    }
    findings
}

/// An `info`: Livefyre's handling of unknown keys is undocumented, so this is not a failure.
fn unknown(field: &str, meant: Option<String>) -> Finding {
    let message = match meant {
        Some(meant) => format!("`{field}` is not a documented field; probably meant `{meant}`"),
        None => format!("`{field}` is not a documented field; Livefyre may ignore it"),
    };
    Finding::new(Outcome::Info, message)
}

/// What breaks the library's web-URL rule, if anything.
fn url_problem(url: &str) -> Option<WebUrlError> {
    check_profile_url(url).err()
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A short rendering of a scalar, or its kind.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => format!("{text:?}"),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        other => kind(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn outcomes(doc: Value) -> Vec<(&'static str, Vec<Outcome>)> {
        check(doc.as_object().unwrap())
            .into_iter()
            .filter(|(_, findings)| !findings.is_empty())
            .map(|(def, findings)| (def.id(), findings.iter().map(|f| f.outcome).collect()))
            .collect()
    }

    /// The keys of `value`, sorted.
    fn keys(value: &Value) -> Vec<String> {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    fn sorted(fields: &[&str]) -> Vec<String> {
        let mut fields: Vec<String> = fields.iter().map(|field| (*field).to_owned()).collect();
        fields.sort();
        fields
    }

    /// The field lists restate what the library's `Profile` serializes: a profile with every
    /// field set must have exactly these keys, at every level.
    #[test]
    fn the_field_lists_agree_with_the_librarys_profile() {
        use tower_livefyre::{
            Profile,
            profile::{DisplayRules, EmailNotifications, Frequency, Name},
        };

        let profile = Profile::new("ann".parse().unwrap(), "Ann")
            .with_name(
                Name::new()
                    .with_formatted("Ann Lee")
                    .with_first("Ann")
                    .with_middle("M")
                    .with_last("Lee"),
            )
            .with_email("ann@example.com")
            .with_image_url("https://example.com/a.png")
            .with_profile_url("https://example.com/ann")
            .with_settings_url("https://example.com/settings")
            .with_tags(["staff"])
            .with_autofollow_conversations(true)
            .with_email_notifications(
                EmailNotifications::new()
                    .with_comments(Frequency::Never)
                    .with_replies(Frequency::Often)
                    .with_likes(Frequency::Never)
                    .with_moderator_comments(Frequency::Never)
                    .with_moderator_flags(Frequency::Immediately),
            )
            .with_location("Here")
            .with_bio("Bio")
            .with_nickname("annie")
            .with_websites(["https://ann.example"])
            .with_display_rules(
                DisplayRules::new()
                    .with_bio(true)
                    .with_location(true)
                    .with_gender(true)
                    .with_name(true)
                    .with_image(true)
                    .with_remote_profile_url(true),
            )
            .with_moderator(false)
            .with_gravatar_disabled(false);
        let document = serde_json::to_value(&profile).unwrap();
        assert_eq!(keys(&document), sorted(FIELDS));
        assert_eq!(keys(&document["name"]), sorted(NAME_FIELDS));
        assert_eq!(
            keys(&document["email_notifications"]),
            sorted(NOTIFICATION_FIELDS)
        );
        assert_eq!(
            keys(&document["display_rules"]),
            sorted(DISPLAY_RULE_FIELDS)
        );
        for field in URL_FIELDS.iter().chain(STRING_FIELDS) {
            assert!(document[*field].is_string(), "{field}");
        }
        for field in BOOLEAN_FIELDS {
            assert!(document[*field].is_boolean(), "{field}");
        }
        assert_eq!(outcomes(document), vec![]);
    }

    #[test]
    fn a_documented_profile_has_no_findings() {
        let doc = json!({
            "id": "ann", "display_name": "Ann", "name": {"first": "Ann", "last": "Lee"},
            "email": "ann@example.com", "image_url": "https://example.com/a.png",
            "profile_url": "https://example.com/ann", "tags": ["staff", "a_1"],
            "websites": ["https://a.example", "http://b.example"], "moderator": false,
            "email_notifications": {"replies": "immediately", "moderator_flags": "never"},
            "display_rules": {"bio": true, "image": false}, "nickname": null,
        });
        assert_eq!(outcomes(doc), vec![]);
    }

    #[test]
    fn url_findings_say_why_from_the_library_rule() {
        let findings = urls(
            json!({"image_url": "http://a:1:2/x.png"})
                .as_object()
                .unwrap(),
        );
        let why = WebUrlError::InvalidPort.to_string();
        assert!(
            findings[0].message.contains(&why),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn unknown_fields_are_info_naming_the_field_meant() {
        let findings = fields(json!({"profile": "x"}).as_object().unwrap());
        assert_eq!(findings[0].outcome, Outcome::Info);
        assert!(findings[0].message.contains("probably meant `profile_url`"));
    }

    #[test]
    fn mail_settings_without_an_email_are_info() {
        let without = json!({"email_notifications": {"replies": "often"}});
        assert_eq!(
            outcomes(without),
            vec![("pull/document/email-notifications", vec![Outcome::Info])]
        );
        let with = json!({"email": "a@b.example", "email_notifications": {"replies": "often"}});
        assert_eq!(outcomes(with), vec![]);
        let never = json!({"email_notifications": {"replies": "never"}});
        assert_eq!(outcomes(never), vec![]);
    }

    #[test]
    fn each_rule_is_flagged_by_its_check() {
        let table = [
            (
                json!({"name": {"first_name": "Ann"}}),
                "pull/document/name",
                Outcome::Info,
            ),
            (
                json!({"name": "Ann Lee"}),
                "pull/document/name",
                Outcome::Fail,
            ),
            (
                json!({"name": {"first": 1}}),
                "pull/document/name",
                Outcome::Fail,
            ),
            (
                json!({"image_url": "/a.png"}),
                "pull/document/urls",
                Outcome::Fail,
            ),
            (
                json!({"profile_url": 7}),
                "pull/document/urls",
                Outcome::Fail,
            ),
            (
                json!({"tags": ["no spaces"]}),
                "pull/document/tags",
                Outcome::Fail,
            ),
            (
                json!({"tags": "staff"}),
                "pull/document/tags",
                Outcome::Fail,
            ),
            (json!({"tags": [""]}), "pull/document/tags", Outcome::Fail),
            (
                json!({"websites": ["https://a.x", "https://b.x", "https://c.x"]}),
                "pull/document/websites",
                Outcome::Fail,
            ),
            (
                json!({"websites": ["www.example.com"]}),
                "pull/document/websites",
                Outcome::Fail,
            ),
            (
                json!({"email_notifications": {"replies": "hourly"}}),
                "pull/document/email-notifications",
                Outcome::Fail,
            ),
            (
                json!({"email": "a@b.example", "email_notifications": {"moderator_flags": "often"}}),
                "pull/document/email-notifications",
                Outcome::Warn,
            ),
            (
                json!({"email_notifications": {"reply": "never"}}),
                "pull/document/email-notifications",
                Outcome::Info,
            ),
            (
                json!({"display_rules": {"bio": "true"}}),
                "pull/document/display-rules",
                Outcome::Warn,
            ),
            (
                json!({"display_rules": {"bio": 1}}),
                "pull/document/display-rules",
                Outcome::Fail,
            ),
            (
                json!({"display_rules": {"nameimage": true}}),
                "pull/document/display-rules",
                Outcome::Info,
            ),
            (
                json!({"moderator": "false"}),
                "pull/document/booleans",
                Outcome::Warn,
            ),
            (
                json!({"autofollow_conversations": ""}),
                "pull/document/booleans",
                Outcome::Warn,
            ),
            (
                json!({"gravatar_disabled": 0}),
                "pull/document/booleans",
                Outcome::Fail,
            ),
            (json!({"bio": 5}), "pull/document/fields", Outcome::Fail),
            (
                json!({"profile": "https://x.example"}),
                "pull/document/fields",
                Outcome::Info,
            ),
        ];
        for (doc, id, outcome) in table {
            let shown = doc.to_string();
            assert_eq!(outcomes(doc), vec![(id, vec![outcome])], "{shown}");
        }
    }
}
