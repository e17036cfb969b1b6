//! Token validation: this crate vs jsonwebtoken's own `decode` vs a floor.
//!
//! The floor is the least work any HS256 validation must do: base64url-decode payload and
//! signature, HMAC-SHA256 with a key prepared once, and serde_json into a borrowed struct.
//! Target: ours ≤ 1.5× the floor, for a token seen for the first time (`tower_livefyre`
//! cycles through more distinct tokens than the per-thread cache of valid tokens holds).
//! `tower_livefyre_repeated` is the same token again, as in a burst of pulls.
//! Run with `cargo bench --bench lftoken`.

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use fixtures::{KEY, NETWORK, OwnedClaims, floor, prepared_key};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tower_livefyre::{Network, UserId};

#[path = "support/fixtures.rs"]
mod fixtures;

fn validation(c: &mut Criterion) {
    let network = Network::new(NETWORK, KEY).unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let issued = now - Duration::from_secs(3600);
    let token = network
        .build_user_auth_token_at(
            &UserId::SYSTEM,
            "system",
            Duration::from_secs(86_400),
            issued,
        )
        .unwrap();

    // Distinct tokens (one `expires` second apart), more than the cache of valid tokens holds.
    let first_sight: Vec<String> = (0..16)
        .map(|n| {
            network
                .build_user_auth_token_at(
                    &UserId::SYSTEM,
                    "system",
                    Duration::from_secs(86_400 + n),
                    issued,
                )
                .unwrap()
        })
        .collect();

    let mut group = c.benchmark_group("validate");

    let mut next = first_sight.iter().cycle();
    group.bench_function("tower_livefyre", |b| {
        b.iter(|| {
            let token = next.next().unwrap();
            network
                .validate_livefyre_token_at(black_box(token), now, Duration::ZERO)
                .unwrap()
        })
    });
    group.bench_function("tower_livefyre_repeated", |b| {
        b.iter(|| {
            network
                .validate_livefyre_token_at(black_box(&token), now, Duration::ZERO)
                .unwrap()
        })
    });

    // jsonwebtoken configured for Livefyre's claims: no standard claims, no `exp`.
    let key = DecodingKey::from_secret(KEY.as_bytes());
    let mut jwt_validation = Validation::new(Algorithm::HS256);
    jwt_validation.required_spec_claims.clear();
    jwt_validation.validate_exp = false;
    jwt_validation.validate_aud = false;
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| {
            let data =
                jsonwebtoken::decode::<OwnedClaims>(black_box(&token), &key, &jwt_validation)
                    .unwrap();
            assert!(data.claims.domain == NETWORK && data.claims.user_id == "system");
            data.claims.expires
        })
    });

    let prepared = prepared_key();
    group.bench_function("floor", |b| b.iter(|| floor(&prepared, black_box(&token))));

    group.finish();
}

criterion_group!(benches, validation);
criterion_main!(benches);
