//! The whole tower stack per request, no network: gate + `PullService` + in-memory source,
//! for a valid token (200) and a forged one (403); and profile serialization.
//!
//! Two patterns of valid tokens: `accept` repeats one token (a burst of pulls: after the
//! first, each hits the per-thread memory of valid tokens), `accept_first_sight` cycles
//! through more distinct tokens than that memory holds, so each is validated in full. Each
//! has a `bare` twin over the same URIs (find `id`, look up, serialize; no checks): the
//! difference is the crate's own work.
//! Run with `cargo bench --bench pull`.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fixtures::{bare_response, first_sight_uris, profile};
use http::{Request, StatusCode};
use tower::{Service, ServiceExt};
use tower_livefyre::{Network, pull_endpoint};

#[path = "support/fixtures.rs"]
mod fixtures;

fn stack(c: &mut Criterion) {
    let network = Network::new("labs.fyre.co", "labs-network-key-for-benchmarks").unwrap();
    let users = HashMap::from([("ann.lee".to_owned(), profile())]);
    let endpoint = pull_endpoint(network.clone(), users);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let valid = format!(
        "/livefyre/pull?id=ann.lee&lftoken={}",
        network.build_livefyre_token().unwrap()
    );
    let forged = format!(
        "/livefyre/pull?id=ann.lee&lftoken={}",
        Network::new("labs.fyre.co", "another-key")
            .unwrap()
            .build_livefyre_token()
            .unwrap()
    );

    // Distinct valid tokens (one `expires` second apart): 8 times the 8 a thread remembers.
    let first_sight = first_sight_uris(&network, 64);

    let mut group = c.benchmark_group("stack");
    for (name, uris, status) in [
        ("accept", std::slice::from_ref(&valid), StatusCode::OK),
        ("accept_first_sight", &first_sight[..], StatusCode::OK),
        (
            "reject",
            std::slice::from_ref(&forged),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let mut service = endpoint.clone();
        let mut uris = uris.iter().cycle();
        group.bench_function(name, |b| {
            b.iter(|| {
                let uri = uris.next().unwrap();
                let request = Request::get(black_box(uri.as_str())).body(()).unwrap();
                let response = runtime.block_on(async {
                    ServiceExt::<Request<()>>::ready(&mut service)
                        .await
                        .unwrap();
                    service.call(request).await.unwrap()
                });
                assert_eq!(response.status(), status);
                response
            })
        });
    }
    // The least a hand-written endpoint does, as `examples/load_server.rs`'s `bare` handler:
    // find `id`, look it up, serialize. The difference to `accept` is the crate's own work.
    let profiles = HashMap::from([("ann.lee".to_owned(), profile())]);
    for (name, uris) in [
        ("bare", std::slice::from_ref(&valid)),
        ("bare_first_sight", &first_sight[..]),
    ] {
        let mut uris = uris.iter().cycle();
        group.bench_function(name, |b| {
            b.iter(|| {
                let uri = uris.next().unwrap();
                let request = Request::get(black_box(uri.as_str())).body(()).unwrap();
                let query = request.uri().query().unwrap_or_default().as_bytes();
                let id = form_urlencoded::parse(query).find_map(|(k, v)| (k == "id").then_some(v));
                let profile = id.and_then(|id| profiles.get(id.as_ref()));
                assert!(profile.is_some());
                bare_response(profile)
            })
        });
    }
    group.finish();

    let profile = profile();
    c.bench_function("profile/serialize", |b| {
        b.iter(|| serde_json::to_vec(black_box(&profile)).unwrap())
    });
    c.bench_function("profile/validate", |b| {
        b.iter(|| black_box(&profile).validate().unwrap())
    });
}

criterion_group!(benches, stack);
criterion_main!(benches);
