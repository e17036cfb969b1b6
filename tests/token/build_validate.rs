//! Building and validating Livefyre tokens, through the public API.

use crate::common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use tower_livefyre::{Network, NetworkError, TokenError, UserId};

const NOW: u64 = 1_800_000_000;

fn validate(token: &str) -> Result<(), TokenError> {
    network()
        .validate_livefyre_token_at(token, at(NOW), Duration::ZERO)
        .map(|_| ())
}

fn flip_signature_bit(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[0] ^= 1;
    format!("{signed}.{}", b64(bytes))
}

fn swap_payload(token: &str, payload: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], b64(payload), parts[2])
}

/// Signs exactly the given (possibly bad) base64 text.
fn sign_raw(header_b64: &str, payload_b64: &str) -> String {
    let signed = format!("{header_b64}.{payload_b64}");
    let signature = hs256(KEY, &signed);
    format!("{signed}.{signature}")
}

#[test]
fn every_rejection_cause() {
    use TokenError::*;
    let valid_claims = claims_expiring("4102444800");
    let now = NOW.to_string();
    let sixty_kib = format!(
        "{}.{}.{}",
        "a".repeat(20 * 1024),
        "b".repeat(20 * 1024),
        "c".repeat(20 * 1024)
    );
    // A payload whose base64 needs padding, with the padding written out.
    let padded_payload = {
        let mut text = b64(&valid_claims);
        while !text.len().is_multiple_of(4) {
            text.push('=');
        }
        text
    };
    assert!(
        padded_payload.ends_with('='),
        "the case must really be padded"
    );

    let cases: Vec<(&str, String, Result<(), TokenError>)> = vec![
        ("valid", valid_token(), Ok(())),
        // Algorithms.
        (
            "alg none",
            forge(r#"{"alg":"none","typ":"JWT"}"#, &valid_claims, KEY),
            Err(UnsupportedAlgorithm),
        ),
        (
            "alg None",
            forge(r#"{"alg":"None"}"#, &valid_claims, KEY),
            Err(UnsupportedAlgorithm),
        ),
        (
            "alg none unsigned",
            format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(&valid_claims)),
            Err(UnsupportedAlgorithm),
        ),
        (
            "alg HS384",
            forge(r#"{"alg":"HS384","typ":"JWT"}"#, &valid_claims, KEY),
            Err(UnsupportedAlgorithm),
        ),
        (
            "alg HS512",
            forge(r#"{"alg":"HS512","typ":"JWT"}"#, &valid_claims, KEY),
            Err(UnsupportedAlgorithm),
        ),
        (
            "alg RS256 over HMAC",
            forge(r#"{"alg":"RS256","typ":"JWT"}"#, &valid_claims, KEY),
            Err(UnsupportedAlgorithm),
        ),
        (
            "alg lower case",
            forge(r#"{"alg":"hs256"}"#, &valid_claims, KEY),
            Err(UnsupportedAlgorithm),
        ),
        (
            "alg missing",
            forge(r#"{"typ":"JWT"}"#, &valid_claims, KEY),
            Err(UnsupportedAlgorithm),
        ),
        (
            "alg a number",
            forge(r#"{"alg":256}"#, &valid_claims, KEY),
            Err(UnsupportedAlgorithm),
        ),
        // Signatures.
        (
            "signature bit flip",
            flip_signature_bit(&valid_token()),
            Err(BadSignature),
        ),
        (
            "payload swapped",
            swap_payload(&valid_token(), &valid_claims.replace("system", "System")),
            Err(BadSignature),
        ),
        (
            "wrong key",
            forge(HEADER, &valid_claims, "another-key"),
            Err(BadSignature),
        ),
        (
            "signature truncated",
            valid_token()[..valid_token().len() - 2].to_owned(),
            Err(BadSignature),
        ),
        (
            "signature padded",
            format!("{}=", valid_token()),
            Err(BadSignature),
        ),
        (
            "signature empty",
            format!("{}.", valid_token().rsplit_once('.').unwrap().0),
            Err(BadSignature),
        ),
        // Shape.
        (
            "padded base64 payload",
            sign_raw(&b64(HEADER), &padded_payload),
            Err(Malformed("payload is not unpadded base64url")),
        ),
        (
            "two segments",
            valid_token().rsplit_once('.').unwrap().0.to_owned(),
            Err(Malformed("expected three dot-separated parts")),
        ),
        (
            "four segments",
            format!("{}.e30", valid_token()),
            Err(Malformed("expected three dot-separated parts")),
        ),
        (
            "empty",
            String::new(),
            Err(Malformed("expected three dot-separated parts")),
        ),
        (
            "standard base64 alphabet",
            sign_raw(&b64(HEADER).replace('J', "+"), &b64(&valid_claims)),
            Err(Malformed("header is not unpadded base64url")),
        ),
        (
            "header not JSON",
            forge("alg=HS256", &valid_claims, KEY),
            Err(Malformed("header is not a JSON object")),
        ),
        (
            "header an array",
            forge(r#"["HS256"]"#, &valid_claims, KEY),
            Err(Malformed("header is not a JSON object")),
        ),
        (
            "payload not JSON",
            forge(HEADER, "domain=labs.fyre.co", KEY),
            Err(Malformed("payload is not a JSON object")),
        ),
        (
            "payload an array",
            forge(
                HEADER,
                r#"["labs.fyre.co","system","system",4102444800]"#,
                KEY,
            ),
            Err(Malformed("payload is not a JSON object")),
        ),
        (
            "duplicate claim",
            forge(
                HEADER,
                r#"{"domain":"labs.fyre.co","domain":"labs.fyre.co","user_id":"system","expires":4102444800}"#,
                KEY,
            ),
            Err(Malformed("payload is not a JSON object")),
        ),
        (
            "60 KiB",
            sixty_kib,
            Err(TooLong {
                len: 60 * 1024 + 2,
                max: 4096,
            }),
        ),
        // Expiry.
        (
            "expires missing",
            forge(
                HEADER,
                r#"{"domain":"labs.fyre.co","user_id":"system"}"#,
                KEY,
            ),
            Err(MissingClaim("expires")),
        ),
        (
            "expires a string",
            forge(HEADER, &claims_expiring(r#""4102444800""#), KEY),
            Err(MistypedClaim("expires")),
        ),
        (
            "expires null",
            forge(HEADER, &claims_expiring("null"), KEY),
            Err(MistypedClaim("expires")),
        ),
        (
            "expires true",
            forge(HEADER, &claims_expiring("true"), KEY),
            Err(MistypedClaim("expires")),
        ),
        (
            "expires an object",
            forge(HEADER, &claims_expiring(r#"{"at":4102444800}"#), KEY),
            Err(MistypedClaim("expires")),
        ),
        (
            "expires an array",
            forge(HEADER, &claims_expiring("[4102444800]"), KEY),
            Err(MistypedClaim("expires")),
        ),
        (
            "expires exactly now",
            forge(HEADER, &claims_expiring(&now), KEY),
            Ok(()),
        ),
        (
            "expires now - 1",
            forge(HEADER, &claims_expiring(&(NOW - 1).to_string()), KEY),
            Err(Expired),
        ),
        (
            "expires now - 0.5",
            forge(HEADER, &claims_expiring(&format!("{}.5", NOW - 1)), KEY),
            Err(Expired),
        ),
        (
            "expires now + 0.5 float",
            forge(HEADER, &claims_expiring(&format!("{NOW}.5")), KEY),
            Ok(()),
        ),
        (
            "expires in exponent form",
            forge(HEADER, &claims_expiring("4.1e9"), KEY),
            Ok(()),
        ),
        (
            "expires negative",
            forge(HEADER, &claims_expiring("-1"), KEY),
            Err(Expired),
        ),
        // Domain and user.
        (
            "domain wrong case",
            forge(
                HEADER,
                &valid_claims.replace("labs.fyre.co", "LABS.fyre.co"),
                KEY,
            ),
            Err(WrongDomain),
        ),
        (
            "domain short name",
            forge(HEADER, &valid_claims.replace("labs.fyre.co", "labs"), KEY),
            Err(WrongDomain),
        ),
        (
            "domain missing",
            forge(HEADER, r#"{"user_id":"system","expires":4102444800}"#, KEY),
            Err(MissingClaim("domain")),
        ),
        (
            "domain a number",
            forge(
                HEADER,
                r#"{"domain":1,"user_id":"system","expires":4102444800}"#,
                KEY,
            ),
            Err(MistypedClaim("domain")),
        ),
        (
            "domain escaped",
            forge(
                HEADER,
                &valid_claims.replace("labs.fyre.co", r"labs\u002efyre.co"),
                KEY,
            ),
            Ok(()),
        ),
        (
            "user_id wrong case",
            forge(
                HEADER,
                &valid_claims.replacen("\"system\"", "\"System\"", 1),
                KEY,
            ),
            Err(NotSystemUser),
        ),
        (
            "user_id with space",
            forge(
                HEADER,
                &valid_claims.replacen("\"system\"", "\"system \"", 1),
                KEY,
            ),
            Err(NotSystemUser),
        ),
        (
            "user_id another user",
            forge(
                HEADER,
                &valid_claims.replacen("\"system\"", "\"ann\"", 1),
                KEY,
            ),
            Err(NotSystemUser),
        ),
        (
            "user_id missing",
            forge(
                HEADER,
                r#"{"domain":"labs.fyre.co","expires":4102444800}"#,
                KEY,
            ),
            Err(MissingClaim("user_id")),
        ),
        (
            "user_id null",
            forge(
                HEADER,
                r#"{"domain":"labs.fyre.co","user_id":null,"expires":4102444800}"#,
                KEY,
            ),
            Err(MistypedClaim("user_id")),
        ),
        // Accepted variations.
        (
            "no typ",
            forge(r#"{"alg":"HS256"}"#, &valid_claims, KEY),
            Ok(()),
        ),
        (
            "typ lower case first",
            forge(r#"{"typ":"jwt","alg":"HS256"}"#, &valid_claims, KEY),
            Ok(()),
        ),
        (
            "spaced JSON",
            forge(
                r#"{"alg": "HS256", "typ": "JWT"}"#,
                &valid_claims.replace(':', ": "),
                KEY,
            ),
            Ok(()),
        ),
        (
            "kid ignored",
            forge(r#"{"alg":"HS256","kid":"k1"}"#, &valid_claims, KEY),
            Ok(()),
        ),
        (
            "extra claims",
            forge(
                HEADER,
                &valid_claims.replace('}', r#","iat":1,"exp":1,"nested":{"a":[1]}}"#),
                KEY,
            ),
            Ok(()),
        ),
        (
            "no display_name",
            forge(
                HEADER,
                r#"{"domain":"labs.fyre.co","user_id":"system","expires":4102444800}"#,
                KEY,
            ),
            Ok(()),
        ),
        (
            "display_name a number",
            forge(
                HEADER,
                r#"{"domain":"labs.fyre.co","user_id":"system","display_name":7,"expires":4102444800}"#,
                KEY,
            ),
            Ok(()),
        ),
    ];
    for (name, token, expected) in cases {
        assert_eq!(validate(&token), expected, "case {name}");
    }
}

#[test]
fn leeway_extends_expiry_inclusively() {
    let token = forge(HEADER, &claims_expiring(&(NOW - 10).to_string()), KEY);
    let network = network();
    for (leeway, ok) in [(0, false), (9, false), (10, true), (3600, true)] {
        let result =
            network.validate_livefyre_token_at(&token, at(NOW), Duration::from_secs(leeway));
        assert_eq!(result.is_ok(), ok, "leeway {leeway}");
    }
}

/// Issue 9, defect 2: the official libraries compare whole seconds (`expires >= now`, floats
/// truncated), so a token with `expires = T` is valid through the whole second `T`.
#[test]
fn expires_is_compared_in_whole_seconds_like_the_official_libraries() {
    let network = network();
    let after = |millis: u64| at(NOW) + Duration::from_millis(millis);
    let validate_at = |token: &str, millis: u64, leeway_millis: u64| {
        network
            .validate_livefyre_token_at(token, after(millis), Duration::from_millis(leeway_millis))
            .map(|_| ())
    };
    let whole = forge(HEADER, &claims_expiring(&NOW.to_string()), KEY);
    // A float is truncated: `NOW.9` expires with the second `NOW` too.
    let float = forge(HEADER, &claims_expiring(&format!("{NOW}.9")), KEY);
    for token in [&whole, &float] {
        for (millis, leeway, expected) in [
            (0, 0, Ok(())),
            (1, 0, Ok(())),
            (950, 0, Ok(())),
            (999, 0, Ok(())),
            (1000, 0, Err(TokenError::Expired)),
            (1500, 0, Err(TokenError::Expired)),
            // Leeway moves the clock back, in whole seconds or not.
            (1400, 500, Ok(())),
            (1500, 500, Err(TokenError::Expired)),
            (1999, 1000, Ok(())),
            (2000, 1000, Err(TokenError::Expired)),
            (2999, 2000, Ok(())),
            (3000, 2000, Err(TokenError::Expired)),
        ] {
            assert_eq!(
                validate_at(token, millis, leeway),
                expected,
                "now = expires + {millis} ms, leeway {leeway} ms"
            );
        }
    }
    // A leeway larger than the clock does not overflow.
    assert_eq!(validate_at(&whole, 5000, u64::MAX), Ok(()));
}

/// Issue 9, defect 5: a number out of `f64`'s range is refused with a reason naming its
/// claim, not as a malformed payload.
#[test]
fn an_out_of_range_expires_is_named() {
    for literal in ["1e400", "-1e400", "1.5e309"] {
        let token = forge(HEADER, &claims_expiring(literal), KEY);
        let error = validate(&token).unwrap_err();
        assert_eq!(error, TokenError::ClaimOutOfRange("expires"), "{literal}");
        assert!(error.to_string().contains("`expires`"), "{error}");
    }
    // The other claims this crate reads are named the same way.
    let domain = claims_expiring("4102444800").replace(r#""labs.fyre.co""#, "1e400");
    assert_eq!(
        validate(&forge(HEADER, &domain, KEY)),
        Err(TokenError::ClaimOutOfRange("domain"))
    );
    // Claims nobody reads stay ignored, as before, whatever their value.
    let extra = claims_expiring("4102444800").replace('{', r#"{"other":1e400,"#);
    assert_eq!(validate(&forge(HEADER, &extra, KEY)), Ok(()));
    // A display name that is not a string is ignored, this one too.
    let name = claims_expiring("4102444800")
        .replace(r#""display_name":"system""#, r#""display_name":1e400"#);
    assert_eq!(validate(&forge(HEADER, &name, KEY)), Ok(()));
    // The checks keep their order: a wrong domain is named before a later unreadable claim.
    let both = claims_expiring("1e400").replace(r#""labs.fyre.co""#, r#""other.fyre.co""#);
    assert_eq!(
        validate(&forge(HEADER, &both, KEY)),
        Err(TokenError::WrongDomain)
    );
    // `null` is still a claim of the wrong type, not a missing one.
    assert_eq!(
        validate(&forge(HEADER, &claims_expiring("null"), KEY)),
        Err(TokenError::MistypedClaim("expires"))
    );
}

#[test]
fn claims_are_returned() {
    let token = forge(HEADER, &claims_expiring("4102444800.625"), KEY);
    let claims = network()
        .validate_livefyre_token_at(&token, at(NOW), Duration::ZERO)
        .unwrap();
    assert_eq!(claims.domain(), NETWORK);
    assert_eq!(claims.user_id(), "system");
    assert_eq!(claims.display_name(), Some("system"));
    assert_eq!(claims.expires(), 4_102_444_800.625);
}

#[test]
fn previous_keys_validate_and_current_key_signs() {
    let old = Network::new(NETWORK, "old-key").unwrap();
    let rotated = Network::new(NETWORK, "new-key")
        .unwrap()
        .with_previous_key("old-key")
        .unwrap();
    let stranger = Network::new(NETWORK, "other-key").unwrap();

    assert!(
        rotated
            .validate_livefyre_token(&old.build_livefyre_token().unwrap())
            .is_ok()
    );
    let fresh = rotated.build_livefyre_token().unwrap();
    assert!(rotated.validate_livefyre_token(&fresh).is_ok());
    assert_eq!(
        old.validate_livefyre_token(&fresh),
        Err(TokenError::BadSignature)
    );
    assert_eq!(
        rotated.validate_livefyre_token(&stranger.build_livefyre_token().unwrap()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn built_tokens_are_exactly_the_documented_bytes() {
    let token = network()
        .build_user_auth_token_at(
            &"ann.lee".parse().unwrap(),
            "Ann Lee",
            Duration::from_secs(3600),
            at(1_700_000_000),
        )
        .unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(
        URL_SAFE_NO_PAD.decode(parts[0]).unwrap(),
        br#"{"alg":"HS256","typ":"JWT"}"#
    );
    assert_eq!(
        URL_SAFE_NO_PAD.decode(parts[1]).unwrap(),
        br#"{"domain":"labs.fyre.co","user_id":"ann.lee","display_name":"Ann Lee","expires":1700003600}"#
    );
    assert_eq!(parts[2], hs256(KEY, &format!("{}.{}", parts[0], parts[1])));
    assert!(!token.contains('='));
}

#[test]
fn built_system_token_round_trips_with_integer_expires() {
    let network = network();
    let before = std::time::SystemTime::now();
    let token = network.build_livefyre_token().unwrap();
    let payload = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).unwrap())
        .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert!(
        payload["expires"].is_u64(),
        "expires must be an integer: {payload}"
    );
    let claims = network.validate_livefyre_token(&token).unwrap();
    let ttl = claims.expires()
        - before
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as f64;
    assert!((86_399.0..=86_401.0).contains(&ttl), "ttl {ttl}");
}

#[test]
fn byte_identical_to_pyjwt() {
    // The `pyjwt_int_expires` vector was minted by PyJWT the way the Python library did.
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("../data/lftokens.json")).unwrap();
    let pyjwt = vectors
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "pyjwt_int_expires")
        .unwrap();
    let network = Network::new(
        pyjwt["network"].as_str().unwrap(),
        pyjwt["key"].as_str().unwrap(),
    )
    .unwrap();
    let now = 1_700_000_000;
    let token = network
        .build_user_auth_token_at(
            &UserId::SYSTEM,
            "system",
            Duration::from_secs(4_102_444_800 - now),
            at(now),
        )
        .unwrap();
    assert_eq!(token, pyjwt["token"].as_str().unwrap());
}

#[test]
fn builder_input_rules() {
    let network = network();
    let ttl = Duration::from_secs(60);
    // Ids are `UserId`s: a bad one cannot reach the builder at all.
    for id in [
        "", "ann\n", "ann lee", "ann/1", "änn", "a\0", "a+b", "a=b", "\nann",
    ] {
        assert!(id.parse::<UserId>().is_err(), "id {id:?}");
    }
    for id in ["a", "A-b_c.d", "123", "system"] {
        assert!(
            network
                .build_user_auth_token(&id.parse().unwrap(), "Ann", ttl)
                .is_ok(),
            "id {id:?}"
        );
    }
    let ann: UserId = "ann".parse().unwrap();
    assert!(
        network
            .build_user_auth_token(&ann, &"é".repeat(50), ttl)
            .is_ok()
    );
    assert_eq!(
        network.build_user_auth_token(&ann, &"é".repeat(51), ttl),
        Err(TokenError::DisplayNameTooLong { chars: 51 })
    );
}

#[test]
fn network_names_and_keys() {
    for name in [
        "labs.fyre.co",
        "test.fyre.com",
        "example-qa-fyre.co",
        "localhost",
        "a1.b-2.c",
    ] {
        assert!(Network::new(name, "k").is_ok(), "{name}");
    }
    assert_eq!(Network::new("", "k").unwrap_err(), NetworkError::EmptyName);
    for name in [
        "a..b",
        "labs.fyre.co.",
        ".labs",
        "has space.fyre.co",
        "labs/x",
        "lábs.fyre.co",
        &"x".repeat(64),
    ] {
        assert_eq!(
            Network::new(name, "k").unwrap_err(),
            NetworkError::InvalidName(name.to_owned()),
            "{name}"
        );
    }
    assert_eq!(
        Network::new("labs.fyre.co", "").unwrap_err(),
        NetworkError::EmptyKey
    );
    assert_eq!(
        network().with_previous_key("").unwrap_err(),
        NetworkError::EmptyKey
    );
    for (name, short) in [
        ("labs.fyre.co", "labs"),
        ("localhost", "localhost"),
        ("example-qa-fyre.co", "example-qa-fyre"),
    ] {
        assert_eq!(Network::new(name, "k").unwrap().short_name(), short);
    }
}

#[test]
fn errors_and_debug_never_show_keys_or_tokens() {
    let network = network().with_previous_key("previous-secret-key").unwrap();
    let debug = format!("{network:?} {network:#?}");
    assert!(
        !debug.contains(KEY) && !debug.contains("previous-secret-key"),
        "{debug}"
    );
    assert!(debug.contains(NETWORK));

    let token = valid_token();
    let errors = [
        validate(&flip_signature_bit(&token)).unwrap_err(),
        validate(&format!("{token}.x")).unwrap_err(),
        validate(&token[..token.len() - 1]).unwrap_err(),
    ];
    for error in errors {
        let shown = format!("{error} {error:?}");
        for part in token.split('.') {
            assert!(!shown.contains(part), "{shown}");
        }
    }
}

#[test]
fn many_networks_on_one_thread_never_mix_up_keys() {
    // More networks than the per-thread verifier cache holds, used in turns.
    let networks: Vec<Network> = (0..20)
        .map(|n| Network::new(NETWORK, format!("key-{n}")).unwrap())
        .collect();
    let tokens: Vec<String> = networks
        .iter()
        .map(|n| n.build_livefyre_token().unwrap())
        .collect();
    for round in 0..3 {
        for (n, network) in networks.iter().enumerate() {
            assert!(
                network.validate_livefyre_token(&tokens[n]).is_ok(),
                "round {round} network {n}"
            );
            let other = &tokens[(n + 1 + round) % tokens.len()];
            assert_eq!(
                network.validate_livefyre_token(other),
                Err(TokenError::BadSignature)
            );
        }
    }
    // A network rebuilt with the same name but another key is a different network.
    let again = Network::new(NETWORK, "key-0-rotated").unwrap();
    assert_eq!(
        again.validate_livefyre_token(&tokens[0]),
        Err(TokenError::BadSignature)
    );
}

/// A token validated once is remembered per thread; these pin that the memory never answers
/// differently from a full validation.
#[test]
fn a_remembered_token_still_expires() {
    let token = forge(HEADER, &claims_expiring(&NOW.to_string()), KEY);
    let network = network();
    for _ in 0..2 {
        assert!(
            network
                .validate_livefyre_token_at(&token, at(NOW), Duration::ZERO)
                .is_ok()
        );
        assert_eq!(
            network.validate_livefyre_token_at(&token, at(NOW + 1), Duration::ZERO),
            Err(TokenError::Expired)
        );
        assert!(
            network
                .validate_livefyre_token_at(&token, at(NOW + 1), Duration::from_secs(1))
                .is_ok()
        );
    }
}

#[test]
fn a_remembered_token_is_only_valid_for_its_network() {
    let token = forge(HEADER, &claims_expiring(&(NOW + 60).to_string()), KEY);
    let valid =
        |network: &Network| network.validate_livefyre_token_at(&token, at(NOW), Duration::ZERO);
    assert!(valid(&network()).is_ok());
    // Same key, another name: the domain check still runs.
    assert_eq!(
        valid(&Network::new("other.fyre.co", KEY).unwrap()),
        Err(TokenError::WrongDomain)
    );
    // Same name, another key.
    assert_eq!(
        valid(&Network::new(NETWORK, "another-key").unwrap()),
        Err(TokenError::BadSignature)
    );
    // The same network built again (same name and key) accepts it, of course.
    assert!(valid(&network()).is_ok());
}

#[test]
fn a_token_remembered_under_a_previous_key_is_not_valid_without_it() {
    let old = Network::new(NETWORK, "old-key").unwrap();
    let current = Network::new(NETWORK, "new-key").unwrap();
    let rotated = current.clone().with_previous_key("old-key").unwrap();
    let token = old.build_livefyre_token().unwrap();

    assert!(rotated.validate_livefyre_token(&token).is_ok());
    assert!(rotated.validate_livefyre_token(&token).is_ok());
    // `current` shares the signing key with `rotated` but not the previous key.
    assert_eq!(
        current.validate_livefyre_token(&token),
        Err(TokenError::BadSignature)
    );
    // Nor does a network rotated in place keep answering for what it no longer checks:
    // adding a key makes a new network, and the one without the key still refuses.
    let rotated_again = current.with_previous_key("yet-another-key").unwrap();
    assert_eq!(
        rotated_again.validate_livefyre_token(&token),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn a_token_differing_in_one_byte_from_a_remembered_one_is_checked_in_full() {
    let network = network();
    let token = network.build_livefyre_token().unwrap();
    assert!(network.validate_livefyre_token(&token).is_ok());
    let tampered = flip_signature_bit(&token);
    assert_eq!(tampered.len(), token.len());
    assert_eq!(
        network.validate_livefyre_token(&tampered),
        Err(TokenError::BadSignature)
    );
    assert!(network.validate_livefyre_token(&token).is_ok());
}

/// Validations from thread-local destructors answer as any other (no panic, no abort), both
/// while this crate's per-thread token memory still exists and after it is destroyed.
///
/// Rust does not specify the order in which a thread's thread-locals are destroyed, so two
/// destructors validate: one whose thread-local was registered before the crate's (which
/// the first validation creates), one after. Destructors run in registration order or in its
/// reverse (glibc, macOS and std's own list all do one of the two): either way one of the two
/// validations runs after the crate's thread-locals are gone and the other before, so both
/// paths are checked whatever the platform. A panic is caught and reported, not an abort.
#[test]
fn validation_works_during_thread_teardown() {
    use std::cell::RefCell;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::mpsc;

    type Answers = (Result<(), TokenError>, Result<(), TokenError>);
    struct ValidateOnDrop {
        network: Network,
        token: String,
        sender: mpsc::Sender<(&'static str, Result<Answers, String>)>,
        registered: &'static str,
    }
    impl Drop for ValidateOnDrop {
        fn drop(&mut self) {
            let answers = catch_unwind(AssertUnwindSafe(|| {
                let valid = self.network.validate_livefyre_token(&self.token).map(drop);
                let tampered = flip_signature_bit(&self.token);
                let refused = self.network.validate_livefyre_token(&tampered).map(drop);
                (valid, refused)
            }))
            .map_err(|panic| format!("panicked: {:?}", panic.downcast_ref::<String>()));
            let _ = self.sender.send((self.registered, answers));
        }
    }
    thread_local! {
        static BEFORE: RefCell<Option<ValidateOnDrop>> = const { RefCell::new(None) };
        static AFTER: RefCell<Option<ValidateOnDrop>> = const { RefCell::new(None) };
    }

    let (sender, receiver) = mpsc::channel();
    let network = network();
    let token = network.build_livefyre_token().unwrap();
    std::thread::spawn(move || {
        let arm = |registered| ValidateOnDrop {
            network: network.clone(),
            token: token.clone(),
            sender: sender.clone(),
            registered,
        };
        BEFORE.with(|slot| *slot.borrow_mut() = Some(arm("before the crate's")));
        // Creates the crate's thread-locals, and remembers the token in them.
        assert!(network.validate_livefyre_token(&token).is_ok());
        AFTER.with(|slot| *slot.borrow_mut() = Some(arm("after the crate's")));
    })
    .join()
    .unwrap();
    let mut answers: Vec<_> = receiver.iter().collect();
    answers.sort_by_key(|(registered, _)| *registered);
    let expected = Ok((Ok(()), Err(TokenError::BadSignature)));
    assert_eq!(
        answers,
        [
            ("after the crate's", expected.clone()),
            ("before the crate's", expected)
        ]
    );
}
