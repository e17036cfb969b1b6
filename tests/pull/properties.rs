//! Property tests: token mutations, arbitrary pull queries, profile round trips.

use crate::common;

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
    Network, Profile, PullService, TokenError,
    lftoken::Lftoken,
    profile::{DisplayRules, EmailNotifications, Frequency, Name},
    pull_endpoint,
    token::DEFAULT_MAX_TOKEN_LEN,
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

/// Validates the edited token and checks the property: accepted ⇒ the edit gave the original
/// back. Edits that are not UTF-8 never reach `&str`: they are rejected as cases, not counted.
/// The original is validated first, so the edit meets the per-thread memory of valid tokens
/// as well as the full check.
fn check_mutation(original: &str, mutated: Vec<u8>) -> Result<(), TestCaseError> {
    prop_assert_eq!(validate(original), Ok(()));
    let mutated = String::from_utf8(mutated);
    prop_assume!(mutated.is_ok(), "not UTF-8");
    let mutated = mutated.unwrap_or_default();
    if validate(&mutated).is_ok() {
        prop_assert_eq!(mutated.as_str(), original, "a mutated token was accepted");
    }
    Ok(())
}

#[test]
fn the_token_under_mutation_is_valid() {
    assert_eq!(validate(&valid_token()), Ok(()));
}

/// The bytes of a multi-byte edit (single-byte edits are all tried below): 2 to 8 of them,
/// mostly ASCII (the token's alphabet and its neighbours) so that most edits stay UTF-8.
fn edit_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop_oneof![9 => 0_u8..0x80, 1 => any::<u8>()], 2..=8)
}

proptest! {
    #[test]
    fn a_replaced_run_is_refused(position in any::<Index>(), bytes in edit_bytes()) {
        let original = valid_token();
        let start = position.index(original.len() - bytes.len() + 1);
        let mut mutated = original.clone().into_bytes();
        mutated.splice(start..start + bytes.len(), bytes);
        check_mutation(&original, mutated)?;
    }

    #[test]
    fn a_deleted_run_is_refused(position in any::<Index>(), len in 2_usize..=8) {
        let original = valid_token();
        let start = position.index(original.len() - len + 1);
        let mut mutated = original.clone().into_bytes();
        mutated.drain(start..start + len);
        check_mutation(&original, mutated)?;
    }

    #[test]
    fn an_inserted_run_is_refused(position in any::<Index>(), bytes in edit_bytes()) {
        let original = valid_token();
        let at = position.index(original.len() + 1);
        let mut mutated = original.clone().into_bytes();
        mutated.splice(at..at, bytes);
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

/// Form decoding of one raw name or value (`+` is a space, `%XX` a byte); `None` unless the
/// bytes are UTF-8.
fn form_decode(raw: &str) -> Option<String> {
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&raw.replace('+', " ")).collect();
    String::from_utf8(bytes).ok()
}

/// The value of the parameter `name` when the query has exactly one such pair (names
/// compared decoded), its raw value is at most `max` bytes, and it decodes to non-empty UTF-8.
fn only_value(query: &str, name: &str, max: usize) -> Option<String> {
    let mut raw_values = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(raw_name).as_deref() == Some(name)).then_some(raw_value)
        });
    let raw = raw_values.next()?;
    if raw_values.next().is_some() || raw.len() > max {
        return None;
    }
    form_decode(raw).filter(|value| !value.is_empty())
}

/// What the endpoint must answer, derived from the request alone by the behaviour table
/// (written here independently of the crate's parser): the status, and for a 200 the id
/// whose profile is served.
fn expected_answer(
    method: &Method,
    query: &str,
    users: &HashMap<String, Profile>,
) -> (StatusCode, Option<String>) {
    let token = valid_token();
    if only_value(query, "lftoken", DEFAULT_MAX_TOKEN_LEN).as_deref() != Some(token.as_str()) {
        return (StatusCode::FORBIDDEN, None);
    }
    if !matches!(*method, Method::GET | Method::HEAD) {
        return (StatusCode::METHOD_NOT_ALLOWED, None);
    }
    let is_livefyre_id = |id: &String| {
        id.len() <= 256
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    };
    // A percent-encoded id may take three bytes per byte of the 256 it decodes to.
    match only_value(query, "id", 3 * 256).filter(is_livefyre_id) {
        None => (StatusCode::BAD_REQUEST, None),
        Some(id) if users.contains_key(&id) => (StatusCode::OK, Some(id)),
        Some(_) => (StatusCode::NOT_FOUND, None),
    }
}

/// A thousand and one users, each with its own display name, so a wrong one shows.
fn users() -> &'static HashMap<String, Profile> {
    static USERS: OnceLock<HashMap<String, Profile>> = OnceLock::new();
    USERS.get_or_init(|| {
        (0..1000)
            .map(|n| format!("user{n}"))
            .chain(["ann".to_owned()])
            .map(|id| {
                (
                    id.clone(),
                    Profile::new(id.parse().unwrap(), format!("Someone {id}")),
                )
            })
            .collect()
    })
}

proptest! {
    // Enough cases for a few dozen 200s and 404s among the refusals.
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_queries_get_the_answer_the_table_gives(
        query in query(),
        method in prop_oneof![Just(Method::GET), Just(Method::HEAD), Just(Method::POST)],
    ) {
        let uri = Uri::try_from(format!("/livefyre/pull?{query}"));
        prop_assume!(uri.is_ok(), "not a URI");
        let uri = uri.unwrap();
        let users = users();
        // The query as the service sees it (a `#` starts a fragment, which is not sent).
        let sent = uri.query().unwrap_or_default();
        let (expected_status, expected_id) = expected_answer(&method, sent, users);
        static ENDPOINT: OnceLock<Lftoken<PullService<HashMap<String, Profile>>>> = OnceLock::new();
        let endpoint = ENDPOINT.get_or_init(|| pull_endpoint(network(), users.clone())).clone();
        let request = Request::builder().method(method).uri(uri.clone()).body(()).unwrap();
        let (status, body) = runtime().block_on(async {
            let response = endpoint.oneshot(request).await.unwrap();
            let status = response.status();
            (status, response.into_body().collect().await.unwrap().to_bytes())
        });
        prop_assert_eq!(status, expected_status, "for {:?}", query);
        match expected_id {
            Some(id) => {
                let profile: Profile = serde_json::from_slice(&body).unwrap();
                prop_assert_eq!(&profile, &users[&id], "for {:?}", query);
            }
            None => prop_assert!(body.is_empty()),
        }
    }
}

/// Any text of up to 24 characters, sometimes empty. Control characters (`\n`, `\t`,
/// `\u{0}`…), quotes, backslashes and the JSON-sensitive separators come often, so the round
/// trip sees every escape.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(any_char(), 0..=24).prop_map(String::from_iter)
}

fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        1 => prop::char::range('\u{0}', '\u{1f}'),
        1 => prop::sample::select(vec!['"', '\\', '/', '\u{7f}', '\u{2028}', '\u{2029}', '\u{feff}']),
    ]
}

fn web_url() -> impl Strategy<Value = String> {
    "(http|https|HTTP|hTTpS)://[a-z0-9-]{1,12}(\\.[a-z]{2,6}){0,2}(:[0-9]{1,4})?(/[A-Za-z0-9._~%-]{0,8}){0,3}(\\?[a-z]{1,4}=[A-Za-z0-9]{0,4})?"
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
        // Any text with at least one character that is not whitespace.
        (
            text(),
            any_char().prop_filter("not whitespace", |c| !c.is_whitespace()),
            text(),
        )
            .prop_map(|(a, b, c)| format!("{a}{b}{c}")),
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
            let mut profile = Profile::new(id.parse().unwrap(), display_name);
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
