//! Nothing `livefyre check` prints holds a token, however an endpoint echoes it, and the
//! tokens it sends live no longer than the run needs.

use crate::common;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::endpoint::{Echo, Endpoint, Flaw};
use common::*;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

const FORMATS: [&str; 5] = ["human", "json", "junit", "tap", "html"];

fn check(endpoint: &Endpoint, format: &str, extra: &[&str]) -> Run {
    check_endpoint(endpoint, format, extra, &[("LIVEFYRE_NETWORK_KEY", KEY)])
}

/// The outcome of check `id` in a JSON report.
fn outcome<'a>(report: &'a Value, id: &str) -> &'a str {
    result_of(report, id)["outcome"].as_str().unwrap()
}

/// The claims of `token`, unverified.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Fails if `text` holds any of `tokens`, or the signature of one.
fn assert_holds_no_token(text: &str, tokens: &[String], what: &str) {
    assert!(!tokens.is_empty(), "{what}: the endpoint received no token");
    for token in tokens {
        assert!(!text.contains(token.as_str()), "{what}: a token:\n{text}");
        let signature = token.rsplit('.').next().unwrap();
        if signature.len() >= 16 {
            assert!(!text.contains(signature), "{what}: a signature:\n{text}");
        }
    }
}

#[test]
fn an_echoed_token_is_printed_in_no_format_and_fails_no_token_echo() {
    for echo in Echo::ALL {
        for flaw in [Flaw::EchoesIntoProfile(echo), Flaw::EchoesIntoHeader(echo)] {
            let endpoint = Endpoint::flawed(flaw);
            for format in FORMATS {
                let run = check(&endpoint, format, &[]);
                assert_eq!(run.code, 1, "{flaw:?} {format}: {}", run.stdout);
                let what = format!("{flaw:?}, --format {format}");
                assert_holds_no_token(&run.stdout, &endpoint.tokens(), &what);
                assert_holds_no_token(&run.stderr, &endpoint.tokens(), &what);
                if format == "json" {
                    let report: Value = serde_json::from_str(&run.stdout).unwrap();
                    assert_eq!(outcome(&report, "pull/no-token-echo"), "fail", "{what}");
                }
            }
        }
    }
}

#[test]
fn the_url_and_tag_findings_quote_the_document_with_the_token_redacted() {
    let endpoint = Endpoint::flawed(Flaw::EchoesIntoProfile(Echo::JsonEscaped));
    let run = check(&endpoint, "json", &["--only", "pull/document"]);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(outcome(&report, "pull/document/urls"), "fail");
    assert_eq!(outcome(&report, "pull/document/tags"), "fail");
    let urls = report["checks"][1]["findings"][0]["message"]
        .as_str()
        .unwrap();
    assert!(urls.contains("<redacted token>"), "{urls}");
}

#[test]
fn the_tokens_check_sends_live_for_its_timeout_plus_a_margin() {
    let endpoint = Endpoint::flawed(Flaw::None);
    let run = check(&endpoint, "json", &["--timeout", "5"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let tokens = endpoint.tokens();
    // The valid pull, ten token probes that carry one, the unknown user; `missing` has none.
    assert!(tokens.len() >= 12, "{tokens:?}");
    let mut expired = 0;
    for token in &tokens {
        let left = claims(token)["expires"].as_f64().unwrap() - now();
        if left < 0.0 {
            expired += 1;
            continue;
        }
        // 5 s of timeout, 30 s of margin, and slack for a slow machine.
        assert!(
            left <= 5.0 + 30.0 + 5.0,
            "a token lives {left} s: {:?}",
            claims(token)
        );
    }
    assert_eq!(expired, 1, "only the expired probe's token is in the past");
}

#[test]
fn the_bad_signature_probe_signs_at_random() {
    let endpoint = Endpoint::flawed(Flaw::None);
    let run = check(&endpoint, "json", &["--only", "pull/token/bad-signature"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let network = common::endpoint::network();
    let tokens = endpoint.tokens();
    let bad: Vec<&String> = tokens
        .iter()
        .filter(|token| {
            network.validate_livefyre_token(token) == Err(tower_livefyre::TokenError::BadSignature)
        })
        .collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    let (signed, signature) = bad[0].rsplit_once('.').unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    let real = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    let same = real
        .bytes()
        .zip(signature.bytes())
        .filter(|(a, b)| a == b)
        .count();
    // A random 43-character base64url signature shares about one character with the real one.
    assert!(
        same < 20,
        "the bad signature is the real one, nearly: {same} of 43 characters"
    );
}

#[test]
fn the_human_report_strips_control_characters_an_endpoint_sends() {
    let endpoint = Endpoint::flawed(Flaw::ControlCharactersInContentType);
    let run = check(&endpoint, "human", &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("got:  200, application/json"),
        "{}",
        run.stdout
    );
    let control: Vec<char> = run
        .stdout
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(control.is_empty(), "{control:?} in\n{}", run.stdout);
}
