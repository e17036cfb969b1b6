//! The hot path against its floor, paired in time: `cargo bench --bench paired`.
//!
//! Each row times B against A in short alternating slices (a pair is ~2 ms of each side in 16
//! slices, A B or B A drawn at random per slice) in one thread, and reports the median and the spread of the per-pair
//! ratios B/A (see `support/pairing.rs`). A busy second on the shared machine then slows both
//! blocks of a pair, not one side of the comparison.
//!
//! **Why a bench binary with its own loop, not a criterion custom measurement**: a criterion
//! `Measurement` decides *what* is read around an iteration batch (a clock, a counter), not
//! *when* each function runs: criterion still warms up and samples one function for seconds,
//! then the other, which is exactly the drift that made `validate/tower_livefyre` /
//! `validate/floor` read 1.50, 1.06 and 0.80 in one hour (issue 20). Pairing needs the two
//! functions interleaved within one sampling loop and a ratio per pair, which criterion's
//! model (one function per benchmark id, statistics per id) does not have. The loop is about
//! 200 lines with no dependency beyond `libc` (already in the tree) for the thread CPU clock.
//!
//! Rows (B vs A):
//!
//! - `null`: the same function on both sides: the spread of a ratio that is 1 by construction,
//!   the instrument's resolution.
//! - `5 %`: A calls the floor 20 times per iteration, B 21 times: 5 % more of the same work,
//!   exactly, with no calibrated spin to get wrong.
//! - `validate/tower_livefyre vs validate/floor`: first sight (16 distinct tokens cycled, more
//!   than the 8 a thread remembers; the floor cycles the same 16) and repeated (one token).
//!   The floor is `benches/lftoken.rs`'s: base64url, HMAC-SHA256 with a prepared key, serde
//!   into borrowed fields.
//! - `stack/pull_endpoint vs stack/bare`: the whole tower stack in process, no sockets, against
//!   a bare `service_fn` doing the same lookup (find `id`, look up in a map, serialize), both
//!   polled once with a no-op waker after building the same request; repeated token and first
//!   sight (64 distinct tokens).
//! - `stack/pull_endpoint vs bare + …`: the same against the floor of an *authenticating*
//!   handler: the bare one that also finds `lftoken` and checks it as the validation floor
//!   does (first sight) or compares it in constant time with the one token it remembers
//!   (repeated). The bare handler checks nothing, so at first sight the validation alone
//!   makes any gate cost more than it; these rows measure what the gate adds beyond that.
//!
//! `cargo bench --bench paired -- stack` runs only the rows whose name contains `stack`;
//! `-- --profile-b NAME` runs only B of the matching rows for `PAIRED_PROFILE_SECS` (10) s,
//! for `perf record`. `PAIRED_PAIRS` (300), `PAIRED_WARMUP` (10), `PAIRED_BLOCK_US` (2000)
//! and `PAIRED_SEED` tune it. Under `cargo test --benches` (no `--bench` argument) every row
//! runs a few tiny pairs, as a smoke test.

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/pairing.rs"]
mod pairing;

use std::collections::HashMap;
use std::convert::Infallible;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use fixtures::{
    KEY, NETWORK, OwnedClaims, bare_response, first_sight_uris, floor, prepared_key, profile,
};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tower::Service;
use tower_livefyre::{Network, Profile, UserId, pull_endpoint};

type Answer = Response<Full<Bytes>>;

/// A future that is ready at its first poll (every service here answers from memory).
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory service did not answer at once"),
    }
}

/// One request through `service`, as hyper would hand it over: ready, then call.
fn respond<S>(service: &mut S, uri: &str) -> Answer
where
    S: Service<Request<()>, Response = Answer, Error = Infallible>,
{
    let request = Request::get(black_box(uri)).body(()).unwrap();
    now(std::future::poll_fn(|cx| service.poll_ready(cx))).unwrap();
    let response = now(service.call(request)).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response
}

/// The bare handler of `examples/load_server.rs` as a service: find `id`, look it up,
/// serialize; no checks.
fn bare(
    profiles: HashMap<String, Profile>,
) -> impl Service<Request<()>, Response = Answer, Error = Infallible> + Clone {
    let profiles = std::sync::Arc::new(profiles);
    tower::service_fn(move |request: Request<()>| {
        let query = request.uri().query().unwrap_or_default().as_bytes();
        let id = form_urlencoded::parse(query).find_map(|(k, v)| (k == "id").then_some(v));
        let profile = id.and_then(|id| profiles.get(id.as_ref()));
        std::future::ready(Ok(bare_response(profile)))
    })
}

/// The bare handler plus the least a gate must do: find `lftoken` too, and either check it
/// as the floor does (`Check::Floor`, a token seen for the first time) or compare it in
/// constant time with the one token it remembers (`Check::Remembered`). This is the physical
/// floor of a pull endpoint: the bare handler does not authenticate at all.
#[derive(Clone, Copy)]
enum Check {
    Floor,
    Remembered,
}

fn bare_with_check(
    profiles: HashMap<String, Profile>,
    check: Check,
    remembered: String,
) -> impl Service<Request<()>, Response = Answer, Error = Infallible> + Clone {
    let profiles = std::sync::Arc::new(profiles);
    let prepared = prepared_key();
    let remembered = std::sync::Arc::new(remembered);
    tower::service_fn(move |request: Request<()>| {
        let query = request.uri().query().unwrap_or_default().as_bytes();
        let (mut id, mut token) = (None, None);
        for (key, value) in form_urlencoded::parse(query) {
            match &*key {
                "id" => id = Some(value),
                "lftoken" => token = Some(value),
                _ => {}
            }
        }
        let token = token.unwrap();
        match check {
            Check::Floor => assert!(floor(&prepared, &token) > 0.0),
            Check::Remembered => {
                assert!(constant_time_eq::constant_time_eq(
                    remembered.as_bytes(),
                    token.as_bytes()
                ));
            }
        }
        let profile = id.and_then(|id| profiles.get(id.as_ref()));
        std::future::ready(Ok(bare_response(profile)))
    })
}

fn main() {
    let mut runner = pairing::Runner::from_env();

    // Validation, at a fixed instant (no clock read), as in `benches/lftoken.rs`.
    let network = Network::new(NETWORK, KEY).unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let issued = at - Duration::from_secs(3600);
    let token_with_ttl = |ttl: u64| {
        network
            .build_user_auth_token_at(&UserId::SYSTEM, "system", Duration::from_secs(ttl), issued)
            .unwrap()
    };
    let token = token_with_ttl(86_400);
    // Distinct tokens (one `expires` second apart), more than the cache of valid tokens holds.
    let first_sight: Vec<String> = (0..16).map(|n| token_with_ttl(86_400 + n)).collect();
    let prepared = prepared_key();
    let validate = |token: &str| {
        network
            .validate_livefyre_token_at(black_box(token), at, Duration::ZERO)
            .unwrap()
    };

    // The instrument's resolution.
    runner.pair(
        "null: validate/floor vs itself",
        || floor(&prepared, black_box(&token)),
        || floor(&prepared, black_box(&token)),
    );
    runner.pair(
        "5 %: floor x21 vs floor x20",
        || {
            (0..20)
                .map(|_| floor(&prepared, black_box(&token)))
                .sum::<f64>()
        },
        || {
            (0..21)
                .map(|_| floor(&prepared, black_box(&token)))
                .sum::<f64>()
        },
    );

    let (mut a, mut b) = (first_sight.iter().cycle(), first_sight.iter().cycle());
    runner.pair(
        "validate/tower_livefyre vs floor, first sight",
        || floor(&prepared, black_box(a.next().unwrap())),
        || validate(b.next().unwrap()),
    );
    runner.pair(
        "validate/tower_livefyre_repeated vs floor",
        || floor(&prepared, black_box(&token)),
        || validate(&token),
    );
    let key = DecodingKey::from_secret(KEY.as_bytes());
    let mut jwt = Validation::new(Algorithm::HS256);
    jwt.required_spec_claims.clear();
    jwt.validate_exp = false;
    jwt.validate_aud = false;
    runner.pair(
        "validate/jsonwebtoken_decode vs floor",
        || floor(&prepared, black_box(&token)),
        || {
            let data = jsonwebtoken::decode::<OwnedClaims>(black_box(&token), &key, &jwt).unwrap();
            assert!(data.claims.domain == NETWORK && data.claims.user_id == "system");
            data.claims.expires
        },
    );

    // The whole stack in process, against the real clock (tokens valid for a day).
    let users = HashMap::from([("ann.lee".to_owned(), profile())]);
    let mut endpoint = pull_endpoint(network.clone(), users.clone());
    let mut bare_service = bare(users.clone());
    let valid = format!(
        "/livefyre/pull?id=ann.lee&lftoken={}",
        network.build_livefyre_token().unwrap()
    );
    // 64 distinct valid tokens: 8 times the 8 a thread remembers.
    let first_sight = first_sight_uris(&network, 64);

    {
        let mut bare_b = bare_service.clone();
        runner.pair(
            "null: stack/bare vs itself",
            || respond(&mut bare_service, &valid),
            || respond(&mut bare_b, &valid),
        );
    }
    runner.pair(
        "stack/pull_endpoint vs bare, repeated token",
        || respond(&mut bare_service, &valid),
        || respond(&mut endpoint, &valid),
    );
    let (mut a, mut b) = (first_sight.iter().cycle(), first_sight.iter().cycle());
    runner.pair(
        "stack/pull_endpoint vs bare, first sight",
        || respond(&mut bare_service, a.next().unwrap()),
        || respond(&mut endpoint, b.next().unwrap()),
    );

    // The same two, against the floor of an authenticating handler.
    let remembered = network.build_livefyre_token().unwrap();
    let valid = format!("/livefyre/pull?id=ann.lee&lftoken={remembered}");
    let mut floor_remembered = bare_with_check(users.clone(), Check::Remembered, remembered);
    let mut endpoint = pull_endpoint(network.clone(), users.clone());
    runner.pair(
        "stack/pull_endpoint vs bare + remembered-token compare, repeated token",
        || respond(&mut floor_remembered, &valid),
        || respond(&mut endpoint, &valid),
    );
    let mut floor_checked = bare_with_check(users, Check::Floor, String::new());
    let (mut a, mut b) = (first_sight.iter().cycle(), first_sight.iter().cycle());
    runner.pair(
        "stack/pull_endpoint vs bare + floor validation, first sight",
        || respond(&mut floor_checked, a.next().unwrap()),
        || respond(&mut endpoint, b.next().unwrap()),
    );

    runner.finish();
    if runner.mode() == pairing::Mode::Smoke {
        // The bodies ran and their asserts held; the loop produced finite ratios.
        for summary in runner.results() {
            assert!(summary.median().is_finite(), "{}", summary.name);
        }
    }
}
