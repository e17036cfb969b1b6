//! The emulator end to end: its HTTP API on loopback, and real pulls against a small pull
//! endpoint built from `LftokenLayer`.
#![cfg(feature = "emulator")]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tower::{Layer, ServiceExt, service_fn};
use tower_livefyre::emulator::{Emulator, EmulatorError, PullOutcome, PullRecord};
use tower_livefyre::{LftokenLayer, Network, Profile};

const NETWORK: &str = "labs.fyre.co";
const KEY: &str = "labs-network-key-for-emulator-tests";
const WAIT: Duration = Duration::from_secs(5);

fn network() -> Network {
    Network::new(NETWORK, KEY).unwrap()
}

fn token() -> String {
    network().build_livefyre_token().unwrap()
}

// ---------------------------------------------------------------- a pull endpoint

/// A pull endpoint: `LftokenLayer` (with its own key) in front of a map of raw bodies,
/// keyed by the id from `?id=` or from `/users/{id}/pull`. It records every request's
/// path and query as received, token included.
#[derive(Clone)]
struct PullServer {
    addr: SocketAddr,
    bodies: Arc<Mutex<HashMap<String, String>>>,
    seen: Arc<Mutex<Vec<String>>>,
    delay: Duration,
}

impl PullServer {
    async fn start(key: &str, delay: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Self {
            addr: listener.local_addr().unwrap(),
            bodies: Arc::default(),
            seen: Arc::default(),
            delay,
        };
        let answer = server.clone();
        let gated = LftokenLayer::new(Network::new(NETWORK, key).unwrap()).layer(service_fn(
            move |request: Request<Incoming>| {
                let server = answer.clone();
                async move { Ok::<_, Infallible>(server.answer(&request).await) }
            },
        ));
        let seen = server.seen.clone();
        let recorder = service_fn(move |request: Request<Incoming>| {
            let uri = request.uri().path_and_query().map(ToString::to_string);
            seen.lock().unwrap().push(uri.unwrap_or_default());
            gated.clone().oneshot(request)
        });
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let service = TowerToHyperService::new(recorder.clone());
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        server
    }

    async fn answer(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        tokio::time::sleep(self.delay).await;
        let from_query = request.uri().query().and_then(|query| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "id")
                .map(|(_, id)| id.into_owned())
        });
        let from_path = request
            .uri()
            .path()
            .strip_prefix("/users/")
            .and_then(|rest| rest.strip_suffix("/pull"))
            .map(str::to_owned);
        let id = from_query.or(from_path).unwrap_or_default();
        let body = self.bodies.lock().unwrap().get(&id).cloned();
        let mut response = Response::new(Full::new(Bytes::from(body.clone().unwrap_or_default())));
        if body.is_none() {
            *response.status_mut() = StatusCode::NOT_FOUND;
        }
        response
    }

    fn serve(&self, id: &str, body: impl Into<String>) {
        self.bodies
            .lock()
            .unwrap()
            .insert(id.to_owned(), body.into());
    }

    fn serve_profile(&self, profile: &Profile) {
        self.serve(&profile.id, serde_json::to_string(profile).unwrap());
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    fn template(&self) -> String {
        format!("http://{}/pull?id={{id}}", self.addr)
    }
}

// ---------------------------------------------------------------- HTTP helpers

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send(request: Request<Full<Bytes>>) -> Reply {
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = client.request(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    serializer.extend_pairs(pairs);
    serializer.finish()
}

async fn post(url: String, body: impl Into<Bytes>) -> Reply {
    let request = Request::post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(body.into()))
        .unwrap();
    send(request).await
}

async fn get(url: String) -> Reply {
    send(Request::get(url).body(Full::default()).unwrap()).await
}

async fn register(emulator: &Emulator, template: &str) -> Reply {
    let body = form(&[("actor_token", &token()), ("pull_profile_url", template)]);
    post(format!("{}/", emulator.url()), body).await
}

async fn ping(emulator: &Emulator, id: &str) -> Reply {
    let url = format!("{}/api/v3_0/user/{id}/refresh", emulator.url());
    post(url, form(&[("lftoken", &token())])).await
}

/// An emulator with a registered pull endpoint serving `ann`.
async fn pinged_setup(key: &str) -> (Emulator, PullServer) {
    let emulator = Emulator::start(network()).await.unwrap();
    let server = PullServer::start(key, Duration::ZERO).await;
    assert_eq!(register(&emulator, &server.template()).await.status, 204);
    (emulator, server)
}

async fn pull_of(emulator: &Emulator, id: &str) -> PullRecord {
    assert_eq!(ping(emulator, id).await.status, 200);
    emulator.wait_for_pull(id, WAIT).await.unwrap()
}

// ---------------------------------------------------------------- registration

#[tokio::test]
async fn registration_accepts_a_form_body_or_the_query() {
    let emulator = Emulator::start(network()).await.unwrap();
    assert_eq!(
        register(&emulator, "http://example.com/pull?id={id}")
            .await
            .status,
        204
    );
    assert_eq!(
        emulator.pull_url_template().as_deref(),
        Some("http://example.com/pull?id={id}")
    );

    let query = form(&[
        ("actor_token", &token()),
        ("pull_profile_url", "https://e.com/u/{id}"),
    ]);
    let reply = post(format!("{}/?{query}", emulator.url()), "").await;
    assert_eq!(reply.status, 204);
    assert_eq!(
        emulator.pull_url_template().as_deref(),
        Some("https://e.com/u/{id}")
    );
}

#[tokio::test]
async fn registration_refuses_templates_without_id_or_not_absolute_http() {
    let emulator = Emulator::start(network()).await.unwrap();
    for bad in [
        "http://example.com/pull",
        "/pull?id={id}",
        "example.com/{id}",
        "ftp://e.com/{id}",
    ] {
        let reply = register(&emulator, bad).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert!(!reply.body.is_empty(), "{bad}: the 400 should say why");
    }
    let missing = post(
        format!("{}/", emulator.url()),
        form(&[("actor_token", &token())]),
    )
    .await;
    assert_eq!(missing.status, 400);
    assert_eq!(emulator.pull_url_template(), None);
}

#[tokio::test]
async fn registration_refuses_bad_tokens() {
    let emulator = Emulator::start(network()).await.unwrap();
    let day = Duration::from_secs(86_400);
    let expired = network()
        .build_user_auth_token_at("system", "system", day, SystemTime::now() - 2 * day)
        .unwrap();
    let wrong_key = Network::new(NETWORK, "another key")
        .unwrap()
        .build_livefyre_token()
        .unwrap();
    let wrong_network = Network::new("other.fyre.co", KEY)
        .unwrap()
        .build_livefyre_token()
        .unwrap();
    let user = network().build_user_auth_token("ann", "Ann", day).unwrap();
    for bad in ["", "garbage", &expired, &wrong_key, &wrong_network, &user] {
        let body = form(&[
            ("actor_token", bad),
            ("pull_profile_url", "http://e.com/{id}"),
        ]);
        let reply = post(format!("{}/", emulator.url()), body).await;
        assert_eq!(reply.status, 403);
        assert!(reply.body.is_empty());
    }
    let no_token = form(&[("pull_profile_url", "http://e.com/{id}")]);
    assert_eq!(
        post(format!("{}/", emulator.url()), no_token).await.status,
        403
    );
    assert_eq!(emulator.pull_url_template(), None);
}

// ---------------------------------------------------------------- ping

#[tokio::test]
async fn ping_on_both_paths_pulls_the_profile() {
    let (emulator, server) = pinged_setup(KEY).await;
    let ann = Profile::new("ann", "Ann Lee").with_email("ann@example.com");
    server.serve_profile(&ann);

    let record = pull_of(&emulator, "ann").await;
    assert_eq!(record.outcome, PullOutcome::Stored);
    assert_eq!(record.status, Some(200));
    assert_eq!(record.reason, None);
    assert_eq!(emulator.remote_profile("ann"), Some(ann.clone()));

    // The documentation's `v3.0` path, with the token in the query this time.
    let bob = Profile::new("bob", "Bob");
    server.serve_profile(&bob);
    let url = format!(
        "{}/api/v3.0/user/bob/refresh?lftoken={}",
        emulator.url(),
        token()
    );
    assert_eq!(post(url, "").await.status, 200);
    let record = emulator.wait_for_pull("bob", WAIT).await.unwrap();
    assert_eq!(record.outcome, PullOutcome::Stored);

    for (id, profile) in [("ann", &ann), ("bob", &bob)] {
        let reply = get(format!("{}/_emulator/profiles/{id}", emulator.url())).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.headers[CONTENT_TYPE], "application/json");
        assert_eq!(
            serde_json::from_str::<Profile>(&reply.body).unwrap(),
            *profile
        );
    }
    let unknown = get(format!("{}/_emulator/profiles/carl", emulator.url())).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn ping_with_a_bad_token_is_refused_and_pulls_nothing() {
    let (emulator, server) = pinged_setup(KEY).await;
    server.serve_profile(&Profile::new("ann", "Ann"));
    let other = Network::new(NETWORK, "another key")
        .unwrap()
        .build_livefyre_token()
        .unwrap();
    for body in [
        form(&[("lftoken", &other)]),
        String::new(),
        "lftoken=x.y.z".to_owned(),
    ] {
        let reply = post(
            format!("{}/api/v3_0/user/ann/refresh", emulator.url()),
            body,
        )
        .await;
        assert_eq!(reply.status, 403);
        assert!(reply.body.is_empty());
    }
    let waited = emulator
        .wait_for_pull("ann", Duration::from_millis(300))
        .await;
    assert!(matches!(waited, Err(EmulatorError::Timeout { .. })));
    assert!(emulator.pull_log().is_empty());
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn ping_with_an_invalid_id_is_400() {
    let (emulator, _server) = pinged_setup(KEY).await;
    for id in ["bad%20id", "", "%FF", "a%2Fb", "%C3%A9"] {
        let reply = ping(&emulator, id).await;
        assert_eq!(reply.status, 400, "{id:?}");
    }
    assert!(emulator.pull_log().is_empty());
}

#[tokio::test]
async fn ping_before_registration_is_409_with_a_reason() {
    let emulator = Emulator::start(network()).await.unwrap();
    let reply = ping(&emulator, "ann").await;
    assert_eq!(reply.status, 409);
    assert!(reply.body.contains("pull_profile_url"), "{}", reply.body);
}

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    let emulator = Emulator::start(network()).await.unwrap();
    for path in [
        "/api/v3_0/user/ann/refresh",
        "/api/v3.0/user/ann/refresh",
        "/",
    ] {
        let reply = get(format!("{}{path}", emulator.url())).await;
        assert_eq!(reply.status, 405, "{path}");
        assert_eq!(reply.headers[ALLOW], "POST");
    }
    let reply = post(format!("{}/_emulator/pulls", emulator.url()), "").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.headers[ALLOW], "GET, HEAD");
}

// ---------------------------------------------------------------- pull outcomes

#[tokio::test]
async fn a_pull_endpoint_with_another_key_is_forbidden() {
    let (emulator, server) = pinged_setup("the wrong key").await;
    server.serve_profile(&Profile::new("ann", "Ann"));
    let record = pull_of(&emulator, "ann").await;
    assert_eq!(
        (record.outcome, record.status),
        (PullOutcome::Forbidden, Some(403))
    );
    assert_eq!(emulator.remote_profile("ann"), None);
}

#[tokio::test]
async fn an_unknown_user_is_not_found() {
    let (emulator, _server) = pinged_setup(KEY).await;
    let record = pull_of(&emulator, "nobody").await;
    assert_eq!(
        (record.outcome, record.status),
        (PullOutcome::NotFound, Some(404))
    );
    assert_eq!(emulator.remote_profile("nobody"), None);
}

#[tokio::test]
async fn bad_documents_are_invalid_and_keep_the_old_profile() {
    let (emulator, server) = pinged_setup(KEY).await;
    let good = Profile::new("ann", "Ann");
    server.serve_profile(&good);
    assert_eq!(pull_of(&emulator, "ann").await.outcome, PullOutcome::Stored);

    let bad_image = Profile::new("ann", "Ann").with_image_url("not a url");
    let cases = [
        ("not json".to_owned(), "not a profile document"),
        (
            serde_json::to_string(&Profile::new("bob", "Bob")).unwrap(),
            "`id`",
        ),
        (serde_json::to_string(&bad_image).unwrap(), "image_url"),
        (r#"{"id":"ann"}"#.to_owned(), "display_name"),
    ];
    for (body, named) in cases {
        server.serve("ann", body.clone());
        let record = pull_of(&emulator, "ann").await;
        assert_eq!(record.outcome, PullOutcome::InvalidDocument, "{body}");
        assert_eq!(record.status, Some(200));
        let reason = record.reason.unwrap();
        assert!(reason.contains(named), "{body}: {reason}");
        assert_eq!(emulator.remote_profile("ann"), Some(good.clone()));
    }
}

#[tokio::test]
async fn a_body_over_the_cap_is_invalid() {
    let emulator = Emulator::builder(network())
        .max_body_bytes(1024)
        .start()
        .await
        .unwrap();
    let server = PullServer::start(KEY, Duration::ZERO).await;
    emulator.set_pull_url_template(server.template()).unwrap();
    server.serve_profile(&Profile::new("ann", "A".repeat(2000)));
    let record = pull_of(&emulator, "ann").await;
    assert_eq!(record.outcome, PullOutcome::InvalidDocument);
    assert!(record.reason.unwrap().contains("1024"));
}

#[tokio::test]
async fn a_slow_pull_endpoint_times_out() {
    let emulator = Emulator::builder(network())
        .pull_timeout(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let server = PullServer::start(KEY, Duration::from_secs(2)).await;
    server.serve_profile(&Profile::new("ann", "Ann"));
    emulator.set_pull_url_template(server.template()).unwrap();
    let started = Instant::now();
    let record = pull_of(&emulator, "ann").await;
    assert_eq!(record.outcome, PullOutcome::Timeout);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(emulator.remote_profile("ann"), None);
}

/// Regression (issue 9, defect 1): `Instant::now() + Duration::MAX` panicked in the worker,
/// so the pull was never recorded and `wait_for_pull` timed out. Every timeout the setter
/// accepts must work, "effectively none" included, for every pull after the first too.
#[tokio::test]
async fn any_pull_timeout_works_even_duration_max() {
    for timeout in [Duration::MAX, Duration::from_secs(u64::MAX), Duration::ZERO] {
        let emulator = Emulator::builder(network())
            .workers(1)
            .pull_timeout(timeout)
            .start()
            .await
            .unwrap();
        let server = PullServer::start(KEY, Duration::ZERO).await;
        server.serve_profile(&Profile::new("ann", "Ann"));
        server.serve_profile(&Profile::new("bob", "Bob"));
        emulator.set_pull_url_template(server.template()).unwrap();
        // Zero leaves no time for any answer; anything else is enough for loopback.
        let expected = if timeout.is_zero() {
            PullOutcome::Timeout
        } else {
            PullOutcome::Stored
        };
        for id in ["ann", "bob"] {
            let record = pull_of(&emulator, id).await;
            assert_eq!(record.outcome, expected, "{timeout:?} {id}");
        }
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn a_closed_port_or_an_https_url_is_a_connect_error() {
    let emulator = Emulator::start(network()).await.unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert_eq!(
        register(&emulator, &format!("http://{closed}/p?id={{id}}"))
            .await
            .status,
        204
    );
    let record = pull_of(&emulator, "ann").await;
    assert_eq!(
        (record.outcome, record.status),
        (PullOutcome::ConnectError, None)
    );
    assert!(record.reason.is_some());

    assert_eq!(
        register(&emulator, "https://127.0.0.1:1/p?id={id}")
            .await
            .status,
        204
    );
    let record = pull_of(&emulator, "ann").await;
    assert_eq!(record.outcome, PullOutcome::ConnectError);
    assert!(record.reason.unwrap().contains("http://"));
}

#[tokio::test]
async fn lftoken_is_appended_with_the_right_separator() {
    let (emulator, server) = pinged_setup(KEY).await;
    server.serve_profile(&Profile::new("ann", "Ann"));
    assert_eq!(pull_of(&emulator, "ann").await.outcome, PullOutcome::Stored);

    let path_template = format!("http://{}/users/{{id}}/pull", server.addr);
    assert_eq!(register(&emulator, &path_template).await.status, 204);
    let record = pull_of(&emulator, "ann").await;
    assert_eq!(record.outcome, PullOutcome::Stored);
    assert_eq!(
        record.url,
        format!("http://{}/users/ann/pull?lftoken=REDACTED", server.addr)
    );

    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let query_token = seen[0]
        .strip_prefix("/pull?id=ann&lftoken=")
        .expect(&seen[0]);
    let path_token = seen[1]
        .strip_prefix("/users/ann/pull?lftoken=")
        .expect(&seen[1]);
    for token in [query_token, path_token] {
        assert_eq!(
            network().validate_livefyre_token(token).unwrap().user_id(),
            "system"
        );
    }
}

#[tokio::test]
async fn the_pull_log_never_shows_the_token() {
    let (emulator, server) = pinged_setup(KEY).await;
    server.serve_profile(&Profile::new("ann", "Ann"));
    pull_of(&emulator, "ann").await;
    pull_of(&emulator, "bob").await;

    let reply = get(format!("{}/_emulator/pulls", emulator.url())).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers[CONTENT_TYPE], "application/json");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        let (_, token) = request.split_once("lftoken=").unwrap();
        assert!(token.len() > 20);
        assert!(!reply.body.contains(token));
        assert!(!format!("{:?}", emulator.pull_log()).contains(token));
    }

    let pulls: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let pulls = pulls.as_array().unwrap();
    assert_eq!(pulls.len(), 2);
    assert_eq!(pulls[0]["id"], "ann");
    assert_eq!(pulls[0]["outcome"], "stored");
    assert_eq!(pulls[0]["status"], 200);
    assert!(pulls[0]["reason"].is_null());
    assert!(pulls[0]["time"].as_f64().unwrap() > 1.7e9);
    let url = format!("http://{}/pull?id=ann&lftoken=REDACTED", server.addr);
    assert_eq!(pulls[0]["url"], url.as_str());
    assert_eq!(pulls[1]["outcome"], "not_found");
}

// ---------------------------------------------------------------- coalescing

#[tokio::test]
async fn a_burst_of_pings_coalesces_and_ends_with_the_newest_profile() {
    let emulator = Emulator::start(network()).await.unwrap();
    let server = PullServer::start(KEY, Duration::from_millis(300)).await;
    emulator.set_pull_url_template(server.template()).unwrap();
    for version in 1..=20 {
        server.serve_profile(&Profile::new("ann", format!("Ann v{version}")));
        assert_eq!(ping(&emulator, "ann").await.status, 200);
    }
    let record = emulator.wait_for_pull("ann", WAIT).await.unwrap();
    assert_eq!(record.outcome, PullOutcome::Stored);
    assert_eq!(
        emulator.remote_profile("ann").unwrap().display_name,
        "Ann v20"
    );
    // Longer than one pull: anything still queued would show up in the log by then.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let pulls = emulator.pull_log().len();
    assert!((1..=3).contains(&pulls), "{pulls} pulls for 20 pings");
    assert_eq!(server.seen().len(), pulls);
}

// ---------------------------------------------------------------- the rest

#[tokio::test]
async fn unknown_paths_are_404_and_big_bodies_413() {
    let emulator = Emulator::start(network()).await.unwrap();
    for path in [
        "/nope",
        "/api/v3_0/user/ann",
        "/api/v3_0/user/a/b/refresh",
        "/_emulator",
    ] {
        assert_eq!(
            get(format!("{}{path}", emulator.url())).await.status,
            404,
            "{path}"
        );
    }
    let big = format!("lftoken={}&pad={}", token(), "x".repeat(70 * 1024));
    let reply = post(format!("{}/api/v3_0/user/ann/refresh", emulator.url()), big).await;
    assert_eq!(reply.status, 413);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_shutdown_the_port_is_closed() {
    let emulator = Emulator::start(network()).await.unwrap();
    let addr = emulator.local_addr();
    // A keep-alive connection left open must not hold the shutdown up.
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = Request::get(format!("{}/_emulator/pulls", emulator.url()))
        .body(Full::default())
        .unwrap();
    assert_eq!(client.request(request).await.unwrap().status(), 200);

    let started = Instant::now();
    emulator.shutdown().await;
    assert!(started.elapsed() < Duration::from_millis(900));
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn wait_for_pull_returns_a_pull_that_already_finished() {
    let (emulator, server) = pinged_setup(KEY).await;
    server.serve_profile(&Profile::new("ann", "Ann"));
    assert_eq!(ping(&emulator, "ann").await.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(emulator.pull_log().len(), 1);
    let record = emulator
        .wait_for_pull("ann", Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(record.outcome, PullOutcome::Stored);
    assert!(!format!("{emulator:?}").contains(KEY));
}
