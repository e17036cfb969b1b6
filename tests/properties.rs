//! Property tests: token mutations, arbitrary pull queries, profile round trips.

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use http::{Method, Request, StatusCode, Uri};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::sample::Index;
use tower::ServiceExt;
use tower_livefyre::{
    DisplayRules, EmailNotifications, Frequency, Name, Network, Profile, TokenError, pull_endpoint,
};

/// Validation time for the mutation properties; `valid_token()` expires in 2100.
const NOW: u64 = 1_700_000_000;

fn validate(token: &str) -> Result<(), TokenError> {
    static NETWORK: OnceLock<Network> = OnceLock::new();
    NETWORK
        .get_or_init(network)
        .validate_livefyre_token_at(token, at(NOW), Duration::ZERO)
        .map(drop)
}

/// Validates the edited token, if it is still a string, and checks the property:
/// accepted ⇒ the edit gave the original back.
fn check_mutation(original: &str, mutated: Vec<u8>) -> Result<(), TestCaseError> {
    // A lone byte >= 0x80 makes the bytes non-UTF-8: such input never reaches `&str`.
    let Ok(mutated) = String::from_utf8(mutated) else {
        return Ok(());
    };
    if validate(&mutated).is_ok() {
        prop_assert_eq!(mutated.as_str(), original, "a mutated token was accepted");
    }
    Ok(())
}

#[test]
fn the_token_under_mutation_is_valid() {
    assert_eq!(validate(&valid_token()), Ok(()));
}

proptest! {
    #[test]
    fn a_replaced_byte_is_refused(position in any::<Index>(), byte in any::<u8>()) {
        let original = valid_token();
        let mut mutated = original.clone().into_bytes();
        mutated[position.index(original.len())] = byte;
        check_mutation(&original, mutated)?;
    }

    #[test]
    fn a_deleted_byte_is_refused(position in any::<Index>()) {
        let original = valid_token();
        let mut mutated = original.clone().into_bytes();
        mutated.remove(position.index(original.len()));
        check_mutation(&original, mutated)?;
    }

    #[test]
    fn an_inserted_byte_is_refused(position in any::<Index>(), byte in any::<u8>()) {
        let original = valid_token();
        let mut mutated = original.clone().into_bytes();
        mutated.insert(position.index(original.len() + 1), byte);
        check_mutation(&original, mutated)?;
    }
}

/// The same property, exhaustively: every position with every ASCII byte (other bytes make
/// the input non-UTF-8), every deletion, every insertion.
#[test]
fn every_single_byte_edit_is_refused_unless_it_changes_nothing() {
    let original = valid_token();
    let bytes = original.as_bytes();
    let mut accepted = 0;
    let mut check = |mutated: Vec<u8>| {
        let mutated = String::from_utf8(mutated).expect("ASCII edits of ASCII");
        if validate(&mutated).is_ok() {
            assert_eq!(mutated, original, "a mutated token was accepted");
            accepted += 1;
        }
    };
    for position in 0..=bytes.len() {
        for byte in 0..=0x7f_u8 {
            if position < bytes.len() {
                let mut replaced = bytes.to_vec();
                replaced[position] = byte;
                check(replaced);
            }
            let mut inserted = bytes.to_vec();
            inserted.insert(position, byte);
            check(inserted);
        }
        if position < bytes.len() {
            let mut deleted = bytes.to_vec();
            deleted.remove(position);
            check(deleted);
        }
    }
    // Replacing a byte with itself, once per position, is the only accepted edit.
    assert_eq!(accepted, bytes.len());
}

/// One `&`-separated piece of a pull query.
fn query_piece() -> impl Strategy<Value = String> {
    let token = valid_token();
    let percent_encoded = any::<String>().prop_map(|s| {
        percent_encoding::utf8_percent_encode(&s, percent_encoding::NON_ALPHANUMERIC).to_string()
    });
    prop_oneof![
        1 => Just(format!("lftoken={token}")),
        1 => Just(format!("lf%74oken={token}")),
        1 => "[A-Za-z0-9._=-]{0,12}".prop_map(|v| format!("lftoken={v}")),
        3 => "(ann|user[0-9]{1,3}|nobody|[A-Za-z0-9_.-]{0,12})".prop_map(|id| format!("id={id}")),
        1 => percent_encoded.clone().prop_map(|id| format!("id={id}")),
        1 => percent_encoded,
        1 => "%[0-9A-Fa-f]{2}",
        1 => "%[0-9A-Za-z%]{0,2}",
        1 => any::<String>(),
        1 => "[+=&]{1,3}",
        1 => "(id|lftoken|i%64|x)?[=+]?[A-Za-z%+]{0,6}",
    ]
}

/// Pieces joined with `&`; three times in four with the valid token put in somewhere, so that
/// most queries get past the gate.
fn query() -> impl Strategy<Value = String> {
    let token = valid_token();
    (
        prop::collection::vec(query_piece(), 0..6),
        any::<Index>(),
        0..4,
    )
        .prop_map(move |(mut pieces, at, with_token)| {
            if with_token > 0 {
                pieces.insert(at.index(pieces.len() + 1), format!("lftoken={token}"));
            }
            pieces.join("&")
        })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #[test]
    fn arbitrary_queries_get_a_documented_status(
        query in query(),
        method in prop_oneof![Just(Method::GET), Just(Method::HEAD), Just(Method::POST)],
    ) {
        let Ok(uri) = Uri::try_from(format!("/livefyre/pull?{query}")) else {
            return Ok(());
        };
        let users: HashMap<String, Profile> = (0..1000)
            .map(|n| format!("user{n}"))
            .chain(["ann".to_owned()])
            .map(|id| (id.clone(), Profile::new(id, "Someone")))
            .collect();
        let endpoint = pull_endpoint(network(), users.clone());
        let request = Request::builder().method(method).uri(uri).body(()).unwrap();
        let (status, body) = runtime().block_on(async {
            let response = endpoint.oneshot(request).await.unwrap();
            let status = response.status();
            (status, response.into_body().collect().await.unwrap().to_bytes())
        });
        prop_assert!(
            [200, 400, 403, 404, 405].contains(&status.as_u16()),
            "status {} for {:?}", status, query
        );
        if status == StatusCode::OK {
            let profile: Profile = serde_json::from_slice(&body).unwrap();
            prop_assert_eq!(Some(&profile), users.get(&profile.id));
        } else {
            prop_assert!(body.is_empty());
        }
    }
}

/// Unicode text of up to 24 characters, sometimes empty.
fn text() -> impl Strategy<Value = String> {
    "\\PC{0,24}"
}

fn web_url() -> impl Strategy<Value = String> {
    "(http|https|HTTP|hTTpS)://[a-z0-9-]{1,12}(\\.[a-z]{2,6}){0,2}(:[0-9]{1,5})?(/[A-Za-z0-9._~%-]{0,8}){0,3}(\\?[a-z]{1,4}=[A-Za-z0-9]{0,4})?"
}

fn frequency() -> impl Strategy<Value = Option<Frequency>> {
    prop::option::of(prop_oneof![
        Just(Frequency::Immediately),
        Just(Frequency::Often),
        Just(Frequency::Never),
    ])
}

fn name() -> impl Strategy<Value = Name> {
    (
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(formatted, first, middle, last)| {
            let mut name = Name::new();
            name.formatted = formatted;
            name.first = first;
            name.middle = middle;
            name.last = last;
            name
        })
}

fn email_notifications() -> impl Strategy<Value = EmailNotifications> {
    (
        frequency(),
        frequency(),
        frequency(),
        frequency(),
        frequency(),
    )
        .prop_map(
            |(comments, replies, likes, moderator_comments, moderator_flags)| {
                let mut notifications = EmailNotifications::new();
                notifications.comments = comments;
                notifications.replies = replies;
                notifications.likes = likes;
                notifications.moderator_comments = moderator_comments;
                notifications.moderator_flags = moderator_flags;
                notifications
            },
        )
}

fn display_rules() -> impl Strategy<Value = DisplayRules> {
    prop::array::uniform6(prop::option::of(any::<bool>())).prop_map(
        |[bio, location, gender, name, image, remote_profile_url]| {
            let mut rules = DisplayRules::new();
            rules.bio = bio;
            rules.location = location;
            rules.gender = gender;
            rules.name = name;
            rules.image = image;
            rules.remote_profile_url = remote_profile_url;
            rules
        },
    )
}

/// Valid profiles, with every optional field sometimes set.
fn profile() -> impl Strategy<Value = Profile> {
    let ids_and_strings = (
        "[A-Za-z0-9_.-]{1,40}",
        // At least one character that is not whitespace.
        ("\\PC{0,8}", "[^\\s\\p{C}]", "\\PC{0,8}").prop_map(|(a, b, c)| format!("{a}{b}{c}")),
        prop::option::of(name()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
    );
    let urls = (
        prop::option::of(web_url()),
        prop::option::of(web_url()),
        prop::option::of(web_url()),
        prop::option::of(prop::collection::vec(web_url(), 0..=2)),
        prop::option::of(prop::collection::vec("[A-Za-z0-9_]{1,63}", 0..4)),
    );
    let settings = (
        prop::option::of(any::<bool>()),
        prop::option::of(email_notifications()),
        prop::option::of(display_rules()),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
    );
    (ids_and_strings, urls, settings).prop_map(
        |(
            (id, display_name, name, email, location, bio, nickname),
            (image_url, profile_url, settings_url, websites, tags),
            (autofollow, notifications, rules, moderator, gravatar_disabled),
        )| {
            let mut profile = Profile::new(id, display_name);
            profile.name = name;
            profile.email = email;
            profile.image_url = image_url;
            profile.profile_url = profile_url;
            profile.settings_url = settings_url;
            profile.tags = tags;
            profile.autofollow_conversations = autofollow;
            profile.email_notifications = notifications;
            profile.location = location;
            profile.bio = bio;
            profile.nickname = nickname;
            profile.websites = websites;
            profile.display_rules = rules;
            profile.moderator = moderator;
            profile.gravatar_disabled = gravatar_disabled;
            profile
        },
    )
}

proptest! {
    #[test]
    fn valid_profiles_round_trip_through_json(profile in profile()) {
        prop_assert_eq!(profile.validate(), Ok(()), "the strategy makes valid profiles");
        let json = serde_json::to_string(&profile).unwrap();
        let parsed: Profile = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&parsed, &profile, "{}", json);
        prop_assert_eq!(parsed.validate(), Ok(()));
        prop_assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
    }
}
