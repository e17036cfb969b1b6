//! The lifetime of every token `PingClient` sends: pings and the registration, in the form
//! body and in the query, carry system tokens that live minutes
//! ([`DEFAULT_PING_TOKEN_TTL`], or what `token_ttl` says), not the 24 hours of
//! `Network::build_livefyre_token`. Against tower-test's mock: no sockets, no sleeps.
#![cfg(feature = "ping")]

use crate::common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::{NETWORK, network, uid};
use http::{Request, Response};
use http_body_util::{BodyExt as _, Full};
use tower_livefyre::{
    PingClient, PingError,
    ping::{DEFAULT_PING_TOKEN_TTL, RetryPolicy},
    url::PullUrlTemplate,
};
use tower_test::mock;

type Mock = mock::Mock<Request<Full<Bytes>>, Response<Full<Bytes>>>;
type Handle = mock::Handle<Request<Full<Bytes>>, Response<Full<Bytes>>>;

/// The bound the issue asks for: no token the ping client sends lives past ten minutes.
const AT_MOST: Duration = Duration::from_secs(10 * 60);

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn answer(status: u16) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    response
}

/// The value of `name` among the request's parameters (its body, else its query).
async fn param(request: Request<Full<Bytes>>, name: &str) -> String {
    let query = request.uri().query().unwrap_or_default().to_owned();
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let find = |raw: &[u8]| {
        form_urlencoded::parse(raw)
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    };
    find(&body)
        .or_else(|| find(query.as_bytes()))
        .unwrap_or_else(|| panic!("no {name} in the request"))
}

/// Checks that `token` is a valid system token of the test network and returns how many
/// seconds from `sent` (Unix seconds, when the request was seen) it lives.
fn lifetime(token: &str, sent: f64) -> f64 {
    let claims = network().validate_livefyre_token(token).unwrap();
    assert_eq!(claims.user_id(), "system");
    assert_eq!(claims.domain(), NETWORK);
    claims.expires() - sent
}

/// Runs `call` against the mock, answering each request with `status`, and returns the
/// lifetime of the token under `name` in each request, in order.
async fn lifetimes<F>(
    client: PingClient<Mock>,
    mut handle: Handle,
    name: &str,
    statuses: &[u16],
    call: impl FnOnce(PingClient<Mock>) -> F,
) -> (Result<(), PingError>, Vec<f64>)
where
    F: Future<Output = Result<(), PingError>> + Send + 'static,
{
    let call = tokio::spawn(call(client));
    let mut seen = Vec::new();
    for &status in statuses {
        let (request, reply) = handle.next_request().await.expect("a request");
        let sent = now_secs();
        seen.push(lifetime(&param(request, name).await, sent));
        reply.send_response(answer(status));
    }
    (call.await.unwrap(), seen)
}

fn mocked() -> (PingClient<Mock>, Handle) {
    let (http, handle) = mock::pair();
    (PingClient::with_client(network(), http), handle)
}

/// The token lives about `ttl` from when it was sent: not longer (a second of slack for
/// `expires` being whole seconds), and not much shorter.
fn assert_lives(lifetime: f64, ttl: Duration) {
    let ttl = ttl.as_secs_f64();
    assert!(
        lifetime <= ttl + 1.0,
        "lives {lifetime} s, more than {ttl} s"
    );
    assert!(
        lifetime >= ttl - 5.0,
        "lives {lifetime} s, far less than {ttl} s"
    );
}

#[tokio::test]
async fn a_ping_sends_a_token_of_minutes() {
    let (client, handle) = mocked();
    let (outcome, seen) = lifetimes(client, handle, "lftoken", &[200], |client| async move {
        client.sync_user(&uid("ann.lee")).await
    })
    .await;
    outcome.unwrap();
    assert!(seen[0] <= AT_MOST.as_secs_f64(), "lives {} s", seen[0]);
    assert_lives(seen[0], DEFAULT_PING_TOKEN_TTL);
}

#[tokio::test]
async fn a_ping_in_query_mode_sends_a_token_of_minutes() {
    let (client, handle) = mocked();
    let client = client.token_in_query(true);
    let (outcome, seen) = lifetimes(client, handle, "lftoken", &[200], |client| async move {
        client.sync_user(&uid("ann.lee")).await
    })
    .await;
    outcome.unwrap();
    assert_lives(seen[0], DEFAULT_PING_TOKEN_TTL);
}

#[tokio::test]
async fn the_registration_sends_a_token_of_minutes() {
    let template: PullUrlTemplate = "https://example.com/pull?id={id}".parse().unwrap();
    for in_query in [false, true] {
        let (client, handle) = mocked();
        let client = client.token_in_query(in_query);
        let template = template.clone();
        let (outcome, seen) =
            lifetimes(client, handle, "actor_token", &[204], |client| async move {
                client.set_user_sync_url(&template).await
            })
            .await;
        outcome.unwrap();
        assert!(seen[0] <= AT_MOST.as_secs_f64(), "lives {} s", seen[0]);
        assert_lives(seen[0], DEFAULT_PING_TOKEN_TTL);
    }
}

#[tokio::test]
async fn token_ttl_sets_the_lifetime() {
    let (client, handle) = mocked();
    let client = client.token_ttl(Duration::from_secs(90));
    let (outcome, seen) = lifetimes(client, handle, "lftoken", &[200], |client| async move {
        client.sync_user(&uid("bob")).await
    })
    .await;
    outcome.unwrap();
    assert_lives(seen[0], Duration::from_secs(90));
}

#[tokio::test]
async fn every_attempt_of_a_retried_call_is_signed() {
    let (client, handle) = mocked();
    let client = client.retry(
        RetryPolicy::default()
            .with_max_attempts(3)
            .with_base_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(2)),
    );
    let (outcome, seen) = lifetimes(
        client,
        handle,
        "lftoken",
        &[503, 503, 200],
        |client| async move { client.sync_user(&uid("ann.lee")).await },
    )
    .await;
    outcome.unwrap();
    assert_eq!(seen.len(), 3);
    for lifetime in seen {
        assert_lives(lifetime, DEFAULT_PING_TOKEN_TTL);
    }
}

#[tokio::test]
async fn the_token_comes_first_and_the_other_parameters_are_kept() {
    let template = "https://example.com/users/{id}/pull?a=1&b=2";
    for in_query in [false, true] {
        let (client, mut handle) = mocked();
        let client = client.token_in_query(in_query);
        let call =
            tokio::spawn(async move { client.set_user_sync_url(&template.parse().unwrap()).await });
        let (request, reply) = handle.next_request().await.unwrap();
        let query = request.uri().query().map(str::to_owned);
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let raw = if in_query {
            assert!(body.is_empty());
            query.unwrap().into_bytes()
        } else {
            assert_eq!(query, None);
            body.to_vec()
        };
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&raw).into_owned().collect();
        assert_eq!(pairs.len(), 2, "{pairs:?}");
        assert_eq!(pairs[0].0, "actor_token");
        assert_eq!(pairs[1], ("pull_profile_url".into(), template.into()));
        reply.send_response(answer(204));
        call.await.unwrap().unwrap();
    }
}
