//! `Network::validate_livefyre_token_at` on arbitrary strings and on mutations of valid tokens.
//!
//! Oracles: it never panics; whatever it accepts is one of the valid tokens it was seeded with
//! (nobody here can forge an HMAC), with claims that match the network and the clock; and a
//! token edited byte by byte (replace, delete, insert) is accepted only if the edits gave the
//! original string back.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use tower_livefyre::{Network, UserId};

/// A network, the instant to validate at and the tokens valid for it then.
struct Case {
    network: Network,
    now: SystemTime,
    valid: Vec<String>,
}

const LEEWAY: Duration = Duration::from_secs(30);

#[derive(Deserialize)]
struct Vector {
    network: String,
    key: String,
    token: String,
    valid: bool,
    now: Option<u64>,
}

fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        // The test suite's network, with a token minted here.
        let labs = Network::new("labs.fyre.co", "labs-network-key-for-tests").unwrap();
        let now = at(1_700_000_000);
        let minted = labs
            .build_user_auth_token_at(&UserId::SYSTEM, "system", Duration::from_secs(86_400), now)
            .unwrap();
        let mut cases = vec![Case {
            network: labs,
            now,
            valid: vec![minted],
        }];
        // The interop vectors (PyJWT, node jsonwebtoken, the documentation's sample).
        let vectors: Vec<Vector> =
            serde_json::from_str(include_str!("../../tests/data/lftokens.json")).unwrap();
        for vector in vectors.into_iter().filter(|v| v.valid) {
            let now = at(vector.now.unwrap_or(1_700_000_000));
            let found = cases.iter_mut().find(|c| {
                c.network.name() == vector.network
                    && c.now == now
                    && c.network
                        .validate_livefyre_token_at(&vector.token, now, LEEWAY)
                        .is_ok()
            });
            match found {
                Some(case) => case.valid.push(vector.token),
                None => cases.push(Case {
                    network: Network::new(vector.network, &vector.key).unwrap(),
                    now,
                    valid: vec![vector.token],
                }),
            }
        }
        for case in &cases {
            for token in &case.valid {
                case.network
                    .validate_livefyre_token_at(token, case.now, LEEWAY)
                    .expect("a seed token is valid");
            }
        }
        cases
    })
}

/// Validates `token` for `case`; accepted tokens must be seeds, with sane claims.
fn accepted(case: &Case, token: &str) -> bool {
    let Ok(claims) = case
        .network
        .validate_livefyre_token_at(token, case.now, LEEWAY)
    else {
        return false;
    };
    assert_eq!(claims.domain(), case.network.name());
    assert_eq!(claims.user_id(), "system");
    let now = case.now.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    assert!(claims.expires() + LEEWAY.as_secs_f64() >= now);
    true
}

/// Applies the edits encoded in `spec` (4 bytes each: position, operation, byte) to `token`.
fn mutate(token: &str, spec: &[u8]) -> Vec<u8> {
    let mut bytes = token.as_bytes().to_vec();
    for edit in spec.chunks_exact(4).take(8) {
        let position = usize::from(u16::from_le_bytes([edit[0], edit[1]]));
        let byte = edit[3];
        match edit[2] % 3 {
            0 if !bytes.is_empty() => {
                let at = position % bytes.len();
                bytes[at] = byte;
            }
            1 if !bytes.is_empty() => {
                bytes.remove(position % bytes.len());
            }
            _ => bytes.insert(position % (bytes.len() + 1), byte),
        }
    }
    bytes
}

fuzz_target!(|data: &[u8]| {
    let cases = cases();
    if let Ok(text) = std::str::from_utf8(data) {
        for case in cases {
            if accepted(case, text) {
                assert!(case.valid.iter().any(|t| t == text), "forged: {text:?}");
            }
        }
    }
    // Mutation mode: the first byte picks a seed token, the rest edits it.
    let Some((&pick, spec)) = data.split_first() else {
        return;
    };
    let seeds: Vec<(&Case, &String)> = cases
        .iter()
        .flat_map(|case| case.valid.iter().map(move |token| (case, token)))
        .collect();
    let (case, original) = seeds[usize::from(pick) % seeds.len()];
    let mutated = mutate(original, spec);
    if let Ok(text) = std::str::from_utf8(&mutated)
        && accepted(case, text)
    {
        assert_eq!(text, original, "a mutation was accepted");
    }
});
