//! Integration tests for the Ping-for-Pull profile document.

use tower_livefyre::{
    Profile, ProfileError, UserId, UserIdError,
    profile::{DisplayRules, EmailNotifications, Frequency, Name},
    url::{PullUrlTemplate, PullUrlTemplateError, WebUrlError},
};

/// Every top-level key, in the documented serialization order.
const TOP_LEVEL_KEYS: [&str; 17] = [
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
    "nickname",
    "websites",
    "display_rules",
    "moderator",
    "gravatar_disabled",
];

fn full_profile() -> Profile {
    Profile::new(
        "user_1.a-b".parse().unwrap(),
        "Zoë \"Z\" Ångström\nsecond line",
    )
    .with_name(
        Name::new()
            .with_formatted("Zoë Ångström")
            .with_first("Zoë")
            .with_middle("Ö")
            .with_last("Ångström"),
    )
    .with_email("zoë@example.com")
    .with_image_url("https://example.com/avatar.png")
    .with_profile_url("http://example.com/u/1")
    .with_settings_url("https://example.com/settings?tab=1")
    .with_tags(["staff", "beta_tester"])
    .with_autofollow_conversations(true)
    .with_email_notifications(
        EmailNotifications::new()
            .with_comments(Frequency::Immediately)
            .with_replies(Frequency::Often)
            .with_likes(Frequency::Never)
            .with_moderator_comments(Frequency::Often)
            .with_moderator_flags(Frequency::Immediately),
    )
    .with_location("Zürich 🇨🇭")
    .with_bio("Line one\nLine two\t— 日本語")
    .with_nickname("zee")
    .with_websites(["https://zoe.example", "http://blog.example/feed"])
    .with_display_rules(
        DisplayRules::new()
            .with_bio(true)
            .with_location(false)
            .with_gender(false)
            .with_name(true)
            .with_image(true)
            .with_remote_profile_url(false),
    )
    .with_moderator(false)
    .with_gravatar_disabled(true)
}

fn parse(json: &str) -> Result<Profile, serde_json::Error> {
    serde_json::from_str(json)
}

#[test]
fn full_profile_round_trips_with_every_key_in_order() {
    let profile = full_profile();
    let json = serde_json::to_string(&profile).unwrap();

    assert_eq!(parse(&json).unwrap(), profile);

    // The first occurrence of each quoted key is the top-level one, because
    // `name`, `bio` and `location` come before `display_rules`.
    let positions: Vec<usize> = TOP_LEVEL_KEYS
        .iter()
        .map(|key| {
            json.find(&format!("\"{key}\":"))
                .unwrap_or_else(|| panic!("missing key {key} in {json}"))
        })
        .collect();
    assert!(positions.is_sorted(), "keys out of order: {json}");

    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value.as_object().unwrap().len(), TOP_LEVEL_KEYS.len());
    assert_eq!(value["name"].as_object().unwrap().len(), 4);
    assert_eq!(value["email_notifications"].as_object().unwrap().len(), 5);
    assert_eq!(value["display_rules"].as_object().unwrap().len(), 6);
    // Booleans and frequencies are written natively, not as strings.
    assert_eq!(value["autofollow_conversations"], serde_json::json!(true));
    assert_eq!(value["display_rules"]["location"], serde_json::json!(false));
    assert_eq!(
        value["email_notifications"]["replies"],
        serde_json::json!("often")
    );

    assert_eq!(profile.validate(), Ok(()));
}

#[test]
fn minimal_profile_serializes_exactly() {
    let profile = Profile::new("u1".parse().unwrap(), "Ann");
    let json = serde_json::to_string(&profile).unwrap();
    assert_eq!(json, r#"{"id":"u1","display_name":"Ann"}"#);
    assert_eq!(parse(&json).unwrap(), profile);
}

#[test]
fn empty_tags_are_sent_as_empty_array() {
    let profile = Profile::new("u1".parse().unwrap(), "Ann").with_tags(Vec::<String>::new());
    let json = serde_json::to_string(&profile).unwrap();
    assert_eq!(json, r#"{"id":"u1","display_name":"Ann","tags":[]}"#);
    assert_eq!(parse(&json).unwrap().tags, Some(vec![]));
}

#[test]
fn docs_style_string_booleans_parse() {
    let profile = parse(
        r#"{"id":"u1","display_name":"Ann",
            "autofollow_conversations":"true","moderator":"false",
            "gravatar_disabled":true,
            "display_rules":{"bio":"true","name":"","image":false},
            "email_notifications":{"comments":"often","replies":"","likes":null}}"#,
    )
    .unwrap();
    assert_eq!(profile.autofollow_conversations, Some(true));
    assert_eq!(profile.moderator, Some(false));
    assert_eq!(profile.gravatar_disabled, Some(true));
    assert_eq!(
        profile.display_rules,
        Some(DisplayRules::new().with_bio(true).with_image(false))
    );
    assert_eq!(
        profile.email_notifications,
        Some(EmailNotifications::new().with_comments(Frequency::Often))
    );
}

#[test]
fn empty_string_and_null_mean_absent() {
    let profile = parse(
        r#"{"id":"u1","display_name":"Ann","autofollow_conversations":"",
            "moderator":null,"gravatar_disabled":"","name":null}"#,
    )
    .unwrap();
    assert_eq!(profile, Profile::new("u1".parse().unwrap(), "Ann"));
}

#[test]
fn invalid_lenient_values_are_errors() {
    let cases = [
        (r#""moderator":"yes""#, "yes"),
        (r#""moderator":1"#, "integer"),
        (r#""moderator":"TRUE""#, "TRUE"),
        (r#""autofollow_conversations":[]"#, "sequence"),
        (r#""display_rules":{"bio":"no"}"#, "no"),
        (r#""email_notifications":{"likes":"hourly"}"#, "hourly"),
        (r#""email_notifications":{"likes":true}"#, "boolean"),
        (r#""email_notifications":{"likes":"Often"}"#, "Often"),
    ];
    for (field, mention) in cases {
        let json = format!(r#"{{"id":"u1","display_name":"Ann",{field}}}"#);
        let err = parse(&json).expect_err(&json).to_string();
        assert!(err.contains(mention), "{json}: {err}");
    }
}

#[test]
fn unknown_keys_are_ignored() {
    let profile = parse(
        r#"{"id":"u1","display_name":"Ann","gender":"x","extra":{"a":[1]},
            "display_rules":{"shoe_size":"true"},"email":"a@b.c"}"#,
    )
    .unwrap();
    assert_eq!(
        profile,
        Profile::new("u1".parse().unwrap(), "Ann")
            .with_email("a@b.c")
            .with_display_rules(DisplayRules::new())
    );
}

#[test]
fn required_fields_are_required() {
    assert!(parse(r#"{"display_name":"Ann"}"#).is_err());
    assert!(parse(r#"{"id":"u1"}"#).is_err());
}

#[test]
fn validate_reports_each_rule_naming_the_field() {
    let base = || Profile::new("u1".parse().unwrap(), "Ann");
    let long_tag = "a".repeat(64);
    let cases: Vec<(Profile, ProfileError, &str)> = vec![
        (
            Profile::new("u1".parse().unwrap(), ""),
            ProfileError::EmptyDisplayName,
            "`display_name`",
        ),
        (
            Profile::new("u1".parse().unwrap(), " \n\t"),
            ProfileError::EmptyDisplayName,
            "`display_name`",
        ),
        (
            base().with_tags(["ok", ""]),
            ProfileError::InvalidTag {
                index: 1,
                tag: String::new(),
            },
            "`tags[1]`",
        ),
        (
            base().with_tags(["has-dash"]),
            ProfileError::InvalidTag {
                index: 0,
                tag: "has-dash".into(),
            },
            "`tags[0]`",
        ),
        (
            base().with_tags([long_tag.as_str()]),
            ProfileError::InvalidTag {
                index: 0,
                tag: long_tag.clone(),
            },
            "`tags[0]`",
        ),
        (
            base().with_websites(["http://a.example", "http://b.example", "http://c.example"]),
            ProfileError::TooManyWebsites { count: 3 },
            "`websites`",
        ),
        (
            base().with_image_url("/relative.png"),
            ProfileError::InvalidUrl {
                field: "image_url".into(),
                reason: WebUrlError::NotHttp,
            },
            "`image_url`",
        ),
        (
            base().with_profile_url("ftp://example.com/u"),
            ProfileError::InvalidUrl {
                field: "profile_url".into(),
                reason: WebUrlError::NotHttp,
            },
            "`profile_url`",
        ),
        (
            base().with_settings_url("http://:80/settings"),
            ProfileError::InvalidUrl {
                field: "settings_url".into(),
                reason: WebUrlError::NoHost,
            },
            "`settings_url`",
        ),
        (
            base().with_websites(["https://ok.example", "example.com"]),
            ProfileError::InvalidUrl {
                field: "websites[1]".into(),
                reason: WebUrlError::NotHttp,
            },
            "`websites[1]`",
        ),
        (
            base().with_websites(["not a url"]),
            ProfileError::InvalidUrl {
                field: "websites[0]".into(),
                reason: WebUrlError::NotHttp,
            },
            "`websites[0]`",
        ),
    ];
    for (profile, expected, field) in cases {
        let err = profile.validate().expect_err(&format!("{profile:?}"));
        assert_eq!(err, expected);
        let message = err.to_string();
        assert!(message.contains(field), "{message:?} should name {field}");
    }
}

#[test]
fn validate_returns_first_violation_in_field_order() {
    let profile = Profile::new("u1".parse().unwrap(), "Ann")
        .with_image_url("nope")
        .with_settings_url("nope")
        .with_tags(["bad tag"])
        .with_websites(["a", "b", "c"]);
    assert_eq!(
        profile.validate(),
        Err(ProfileError::InvalidUrl {
            field: "image_url".into(),
            reason: WebUrlError::NotHttp,
        })
    );
    let profile = profile.with_image_url("https://example.com/a.png");
    assert_eq!(
        profile.validate(),
        Err(ProfileError::InvalidUrl {
            field: "settings_url".into(),
            reason: WebUrlError::NotHttp,
        })
    );
    let profile = profile.with_settings_url("https://example.com/s");
    assert_eq!(
        profile.validate(),
        Err(ProfileError::InvalidTag {
            index: 0,
            tag: "bad tag".into()
        })
    );
    let profile = profile.with_tags(["good_tag"]);
    assert_eq!(
        profile.validate(),
        Err(ProfileError::TooManyWebsites { count: 3 })
    );
    let profile = Profile::new("u1".parse().unwrap(), "").with_image_url("nope");
    assert_eq!(profile.validate(), Err(ProfileError::EmptyDisplayName));
}

#[test]
fn validate_accepts_edge_cases() {
    let tag_63 = format!("{}_9", "Ab".repeat(30) + "c");
    assert_eq!(tag_63.len(), 63);
    let profile = Profile::new("A-z_0.9".parse().unwrap(), " Ann ")
        .with_tags([tag_63.as_str(), "x"])
        .with_image_url("HTTPS://EXAMPLE.COM/a.png")
        .with_profile_url("http://[::1]:8080/u?x=1")
        .with_settings_url("Http://example.com")
        .with_websites(["https://a.example", "http://b.example/path"]);
    assert_eq!(profile.validate(), Ok(()));
    let empty_tags = profile.clone().with_tags(Vec::<String>::new());
    assert_eq!(empty_tags.validate(), Ok(()));
    assert_eq!(Profile::new(".-_".parse().unwrap(), "x").validate(), Ok(()));
}

/// The id is a `UserId`: a profile with a bad one cannot be built or deserialized, and the
/// reason is the id rule's own.
#[test]
fn profile_ids_follow_the_user_id_rule() {
    for (id, error) in [
        ("", UserIdError::Empty),
        (
            "a b",
            UserIdError::InvalidByte {
                index: 1,
                byte: b' ',
            },
        ),
        (
            "a/b",
            UserIdError::InvalidByte {
                index: 1,
                byte: b'/',
            },
        ),
        (
            "zoë",
            UserIdError::InvalidByte {
                index: 2,
                byte: 0xc3,
            },
        ),
    ] {
        assert_eq!(id.parse::<UserId>(), Err(error), "{id:?}");
        let json = format!(
            r#"{{"id":{},"display_name":"Ann"}}"#,
            serde_json::to_string(id).unwrap()
        );
        let refused = parse(&json).unwrap_err().to_string();
        assert!(refused.contains("user id"), "{id:?}: {refused}");
    }
}

/// Issue 9, defect 4: profile URLs with a malformed authority are refused, by the same rule
/// as pull URL templates.
#[test]
fn profile_urls_with_malformed_authorities_are_refused() {
    for (url, reason) in [
        ("http://[::1]garbage/", WebUrlError::InvalidHost),
        ("http://]/", WebUrlError::InvalidHost),
        ("http://a:1:2/", WebUrlError::InvalidPort),
        ("http://a@b@c/", WebUrlError::InvalidUserinfo),
        ("http://%00/", WebUrlError::InvalidHost),
    ] {
        let profile = Profile::new("u1".parse().unwrap(), "Ann").with_image_url(url);
        assert_eq!(
            profile.validate(),
            Err(ProfileError::InvalidUrl {
                field: "image_url".into(),
                reason
            }),
            "{url}"
        );
        let template = PullUrlTemplate::parse(format!("{url}pull?id={{id}}"));
        assert_eq!(
            template,
            Err(PullUrlTemplateError::NotWebUrl(reason)),
            "{url}"
        );
    }
}
