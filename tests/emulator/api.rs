//! Registration, pings, routes and shutdown.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::Request;
use http::header::{ALLOW, CONTENT_TYPE};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower_livefyre::emulator::{Emulator, EmulatorError, PullOutcome};
use tower_livefyre::{Network, Profile, UserId, url::PullUrlTemplate};

use super::support::*;

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
        emulator
            .pull_url_template()
            .as_ref()
            .map(PullUrlTemplate::as_str),
        Some("http://example.com/pull?id={id}")
    );

    let query = form(&[
        ("actor_token", &token()),
        ("pull_profile_url", "https://e.com/u/{id}"),
    ]);
    let reply = post(format!("{}/?{query}", emulator.url()), "").await;
    assert_eq!(reply.status, 204);
    assert_eq!(
        emulator
            .pull_url_template()
            .as_ref()
            .map(PullUrlTemplate::as_str),
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
        // Issue 9, defect 3: `{id}` only in the fragment, which is never sent.
        "http://h/pull#{id}",
        // Issue 9, defect 4: malformed authorities.
        "http://[::1]garbage/{id}",
        "http://]/{id}",
        "http://a:1:2/{id}",
        "http://a@b@c/{id}",
        "http://%00/{id}",
    ] {
        let reply = register(&emulator, bad).await;
        assert_eq!(reply.status, 400, "{bad}");
        // The reason is the one `PullUrlTemplate` gives, as the ping client sees it.
        let reason = PullUrlTemplate::parse(bad).unwrap_err().to_string();
        assert_eq!(reply.body, reason, "{bad}");
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
        .build_user_auth_token_at(&UserId::SYSTEM, "system", day, SystemTime::now() - 2 * day)
        .unwrap();
    let wrong_key = Network::new(NETWORK, "another key")
        .unwrap()
        .build_livefyre_token()
        .unwrap();
    let wrong_network = Network::new("other.fyre.co", KEY)
        .unwrap()
        .build_livefyre_token()
        .unwrap();
    let user = network()
        .build_user_auth_token(&uid("ann"), "Ann", day)
        .unwrap();
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
    let ann = Profile::new("ann".parse().unwrap(), "Ann Lee").with_email("ann@example.com");
    server.serve_profile(&ann);

    let record = pull_of(&emulator, "ann").await;
    assert_eq!(record.outcome, PullOutcome::Stored);
    assert_eq!(record.status, Some(200));
    assert_eq!(record.reason, None);
    assert_eq!(emulator.remote_profile(&uid("ann")), Some(ann.clone()));

    // The documentation's `v3.0` path, with the token in the query this time.
    let bob = Profile::new("bob".parse().unwrap(), "Bob");
    server.serve_profile(&bob);
    let url = format!(
        "{}/api/v3.0/user/bob/refresh?lftoken={}",
        emulator.url(),
        token()
    );
    assert_eq!(post(url, "").await.status, 200);
    let record = emulator.wait_for_pull(&uid("bob"), WAIT).await.unwrap();
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
    server.serve_profile(&Profile::new("ann".parse().unwrap(), "Ann"));
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
        .wait_for_pull(&uid("ann"), Duration::from_millis(300))
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

// ---------------------------------------------------------------- the rest

#[tokio::test]
async fn unknown_paths_are_404_and_big_bodies_413() {
    let emulator = Emulator::start(network()).await.unwrap();
    for path in [
        "/nope",
        "/api/v3_0/user/ann",
        "/api/v3_0/user/a/b/refresh",
        "/_emulator/nope",
        "/_emulator/profiles",
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
