//! Its own binary: it sets the process-wide tracing subscriber (`set_global_default`).
//!
//! Nothing the crate logs, at any level, holds a token or a key.
//!
//! One test with one global subscriber at TRACE: a scoped subscriber races other test
//! threads over tracing's callsite cache, so the capture lives alone in this binary.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::captured::Captured;

use common::*;
use http::Request;
use tower::{Layer, ServiceExt};
use tower_livefyre::emulator::Emulator;
use tower_livefyre::{
    LftokenLayer, Network, PingClient, Profile, PullService, UserId, ping::RetryPolicy,
    pull_endpoint, source::profile_source_fn,
};

#[test]
fn no_token_or_key_in_any_log() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut secrets = runtime.block_on(exercise_everything());
    secrets.push(KEY.to_owned());

    let logs = captured.text();
    // The capture saw every part of the crate, so its silence about secrets means something.
    for marker in [
        "lftoken refused",
        "token signature does not match",
        "Livefyre pull failed",
        "connection to the user database refused",
        "/api/v3_0/user/ann/refresh",
        "giving up",
        "stored",
    ] {
        assert!(logs.contains(marker), "no {marker:?} in the logs:\n{logs}");
    }
    // Tokens minted inside the crate (the ping client's system tokens, the emulator's pull
    // tokens) are not in `secrets`: no JWT may show at all. The base64url of a JSON header,
    // `{"`, always starts with `eyJ`.
    if let Some(line) = logs.lines().find(|line| line.contains("eyJ")) {
        panic!("a JWT segment reached the logs:\n{line}");
    }
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret reached the logs:\n{logs}"
        );
        for part in secret.split('.').filter(|part| part.len() > 8) {
            assert!(
                !logs.contains(part),
                "part of a token reached the logs:\n{logs}"
            );
        }
    }
}

/// Runs accepted and refused requests through every component; returns the tokens used.
async fn exercise_everything() -> Vec<String> {
    let token = valid_token();
    let wrong_key = forge(HEADER, &claims_expiring("4102444800"), "wrong");
    let mut secrets = vec![token.clone(), wrong_key.clone()];

    // The gate and the pull service, accepted and refused, including source failures.
    let source = profile_source_fn(|id: UserId| async move {
        match id.as_str() {
            "ann" => Ok(Some(Profile::new("ann".parse().unwrap(), "Ann"))),
            "other" => Ok(Some(Profile::new("bob".parse().unwrap(), "Bob"))),
            _ => Err(tower_livefyre::BoxError::from(
                "connection to the user database refused",
            )),
        }
    });
    let endpoint = LftokenLayer::new(network()).layer(PullService::new(source));
    for uri in [
        format!("/p?id=ann&lftoken={token}"),
        format!("/p?id=other&lftoken={token}"),
        format!("/p?id=broken&lftoken={token}"),
        format!("/p?id=ann&lftoken={wrong_key}"),
        format!("/p?id=ann&lftoken={token}&lftoken={token}"),
        format!("/p?id=ann&lftoken={}x", &token[..token.len() - 1]),
        "/p?id=ann".to_owned(),
    ] {
        let request = Request::get(uri).body(()).unwrap();
        endpoint.clone().oneshot(request).await.unwrap();
    }

    // The whole sequence over HTTP: registration, pings (accepted and refused), pulls.
    let users = HashMap::from([(
        "ann".to_owned(),
        Profile::new("ann".parse().unwrap(), "Ann Lee"),
    )]);
    let pull_server = serve(pull_endpoint(network(), users)).await;
    let emulator = Emulator::start(network()).await.unwrap();
    let client = PingClient::new(network())
        .unwrap()
        .base_url(emulator.url())
        .unwrap()
        .retry(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_base_backoff(Duration::from_millis(1)),
        );
    client
        .set_user_sync_url(
            &format!("{}/livefyre/pull?id={{id}}", pull_server.url())
                .parse()
                .unwrap(),
        )
        .await
        .unwrap();
    client.sync_user(&uid("ann")).await.unwrap();
    emulator
        .wait_for_pull(&uid("ann"), Duration::from_secs(10))
        .await
        .unwrap();
    let stranger = Network::new(NETWORK, "a-key-livefyre-does-not-know").unwrap();
    secrets.push(stranger.build_livefyre_token().unwrap());
    let refused = PingClient::new(stranger)
        .unwrap()
        .base_url(emulator.url())
        .unwrap();
    refused.sync_user(&uid("ann")).await.unwrap_err();
    // Nothing listens on the pull server's port once it is dropped: retried, then given up.
    let closed = pull_server.url();
    drop(pull_server);
    let unreachable = PingClient::new(network())
        .unwrap()
        .base_url(closed)
        .unwrap()
        .token_in_query(true)
        .retry(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_base_backoff(Duration::from_millis(1)),
        );
    unreachable.sync_user(&uid("ann")).await.unwrap_err();
    emulator.shutdown().await;
    secrets
}
