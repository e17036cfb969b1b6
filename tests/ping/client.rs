//! `PingClient` against a scripted local HTTP server: what goes over the wire, what is
//! retried and how often, what is refused before any request, and what never leaks.
#![cfg(feature = "ping")]

use crate::common;

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tower_livefyre::{
    PingClient, PingError, UserId,
    ping::{PingConfigError, RetryPolicy},
    url::{PullUrlTemplate, PullUrlTemplateError, WebUrlError},
};

const FORM: &str = "application/x-www-form-urlencoded";

/// One scripted answer.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    delay: Duration,
}

impl Reply {
    fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }
    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
    fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: Option<String>,
    content_type: Option<String>,
    user_agent: Option<String>,
    body: String,
}

impl Seen {
    fn body_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }
    fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    }
}

type Responder = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A local HTTP/1 server answering each request with what the responder says; it records
/// every request when it arrives and the highest number in flight at once. Dropping it
/// aborts the server and its connections.
struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    max_in_flight: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start(responder: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let responder: Responder = Arc::new(responder);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let state = (seen.clone(), in_flight, max_in_flight.clone());
        let task = tokio::spawn(async move {
            // Owned here so that aborting the server also aborts its connections.
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                while connections.try_join_next().is_some() {}
                let (responder, state) = (responder.clone(), state.clone());
                connections.spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let (responder, (seen, in_flight, max_in_flight)) =
                            (responder.clone(), state.clone());
                        async move {
                            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                            max_in_flight.fetch_max(now, Ordering::SeqCst);
                            let (parts, body) = request.into_parts();
                            let body = body.collect().await.unwrap().to_bytes();
                            let header = |name| {
                                parts
                                    .headers
                                    .get(name)
                                    .map(|v| v.to_str().unwrap().to_owned())
                            };
                            let record = Seen {
                                method: parts.method.to_string(),
                                path: parts.uri.path().to_owned(),
                                query: parts.uri.query().map(str::to_owned),
                                content_type: header("content-type"),
                                user_agent: header("user-agent"),
                                body: String::from_utf8(body.to_vec()).unwrap(),
                            };
                            seen.lock().unwrap().push(record.clone());
                            let reply = responder(&record);
                            tokio::time::sleep(reply.delay).await;
                            in_flight.fetch_sub(1, Ordering::SeqCst);
                            let mut response = Response::builder().status(reply.status);
                            for (name, value) in reply.headers {
                                response = response.header(name, value);
                            }
                            Ok::<_, Infallible>(response.body(Full::new(Bytes::new())).unwrap())
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url,
            seen,
            max_in_flight,
            task,
        }
    }

    /// Answers with `replies` in order, then 200 once they run out.
    async fn scripted(replies: impl IntoIterator<Item = Reply>) -> Self {
        let queue = Mutex::new(replies.into_iter().collect::<VecDeque<_>>());
        Self::start(move |_| {
            queue
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(Reply::status(200))
        })
        .await
    }

    /// Answers every request with `status`.
    async fn always(status: u16) -> Self {
        Self::start(move |_| Reply::status(status)).await
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

/// Retries with waits of at most a few milliseconds, so the suite stays fast.
fn quick(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(max_attempts)
        .with_base_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

fn client(server: &Server) -> PingClient {
    PingClient::new(network())
        .unwrap()
        .base_url(&server.url)
        .unwrap()
        .retry(quick(4))
}

/// The token must be a valid system token of the test network.
fn assert_system_token(token: &str) {
    let claims = network().validate_livefyre_token(token).unwrap();
    assert_eq!(claims.user_id(), "system");
    assert_eq!(claims.domain(), NETWORK);
}

#[tokio::test]
async fn sync_user_posts_the_token_in_a_form_body() {
    let server = Server::always(200).await;
    client(&server).sync_user(&uid("ann.lee")).await.unwrap();

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/v3_0/user/ann.lee/refresh");
    assert_eq!(request.query, None);
    assert_eq!(request.content_type.as_deref(), Some(FORM));
    let ua = request.user_agent.as_deref().unwrap();
    assert_eq!(ua, concat!("tower-livefyre/", env!("CARGO_PKG_VERSION")));
    let pairs = request.body_pairs();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_eq!(pairs[0].0, "lftoken");
    assert_system_token(&pairs[0].1);
}

#[tokio::test]
async fn token_in_query_puts_it_in_the_query_with_an_empty_body() {
    let server = Server::always(200).await;
    let client = client(&server).token_in_query(true);
    client.sync_user(&uid("ann.lee")).await.unwrap();

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/v3_0/user/ann.lee/refresh");
    assert_eq!(request.body, "");
    assert_eq!(request.content_type, None);
    let pairs = request.query_pairs();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_eq!(pairs[0].0, "lftoken");
    assert_system_token(&pairs[0].1);
}

#[tokio::test]
async fn a_base_url_path_prefix_and_trailing_slash_are_kept_apart() {
    let server = Server::always(200).await;
    let client = PingClient::new(network())
        .unwrap()
        .base_url(format!("{}/livefyre/", server.url))
        .unwrap();
    client.sync_user(&uid("bob")).await.unwrap();
    assert_eq!(
        server.requests()[0].path,
        "/livefyre/api/v3_0/user/bob/refresh"
    );
}

#[tokio::test]
async fn the_default_base_url_is_the_networks_quill_host() {
    let client = PingClient::new(network()).unwrap();
    assert_eq!(client.base_url_str(), "https://labs.quill.fyre.co");
}

#[tokio::test]
async fn bad_base_urls_are_refused() {
    for bad in [
        "labs.quill.fyre.co",
        "/api",
        "ftp://host",
        "http://host/?q=1",
        "http://user:secret@host/",
        "http://host/#top",
        "http://[::1]garbage/",
        "http://a:1:2/",
        "http://%00/",
        "",
    ] {
        let result = PingClient::new(network()).unwrap().base_url(bad);
        assert!(
            matches!(result, Err(PingConfigError::InvalidBaseUrl { .. })),
            "{bad:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_503_is_retried_then_succeeds() {
    let server = Server::scripted([Reply::status(503)]).await;
    client(&server).sync_user(&uid("ann.lee")).await.unwrap();
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn a_429_is_retried_then_succeeds() {
    let server = Server::scripted([Reply::status(429), Reply::status(429)]).await;
    client(&server).sync_user(&uid("ann.lee")).await.unwrap();
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn retry_after_seconds_are_honoured() {
    let server = Server::scripted([Reply::status(503).header("retry-after", "1")]).await;
    let client = client(&server).retry(quick(2).with_max_backoff(Duration::from_secs(5)));
    let started = Instant::now();
    client.sync_user(&uid("ann.lee")).await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn retry_after_is_capped_at_the_max_backoff() {
    let server = Server::scripted([Reply::status(429).header("retry-after", "100")]).await;
    let client = client(&server).retry(quick(2).with_max_backoff(Duration::from_millis(50)));
    let started = Instant::now();
    client.sync_user(&uid("ann.lee")).await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed >= Duration::from_millis(45), "{elapsed:?}");
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn gives_up_after_the_attempt_bound_with_the_last_status() {
    let server = Server::always(500).await;
    let error = client(&server)
        .retry(quick(3))
        .sync_user(&uid("ann.lee"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, PingError::Status { status, attempts: 3, retry_after: None } if status == StatusCode::INTERNAL_SERVER_ERROR),
        "{error:?}"
    );
    assert_eq!(error.attempts(), 3);
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert!(error.to_string().contains("500"), "{error}");
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn a_403_is_forbidden_after_one_request() {
    let server = Server::always(403).await;
    let error = client(&server)
        .sync_user(&uid("ann.lee"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, PingError::Forbidden { attempts: 1 }),
        "{error:?}"
    );
    assert_eq!(error.attempts(), 1);
    assert!(error.to_string().contains("network key"), "{error}");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn a_404_is_a_status_error_after_one_request() {
    let server = Server::always(404).await;
    let error = client(&server)
        .sync_user(&uid("ann.lee"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, PingError::Status { status, attempts: 1, retry_after: None } if status == StatusCode::NOT_FOUND),
        "{error:?}"
    );
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn a_closed_port_is_retried_then_reported_as_a_connect_error() {
    // Bind then drop: nothing listens on the port any more.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);

    let client = PingClient::new(network())
        .unwrap()
        .base_url(url)
        .unwrap()
        .retry(quick(3));
    let error = client.sync_user(&uid("ann.lee")).await.unwrap_err();
    assert!(
        matches!(error, PingError::Connect { attempts: 3, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_per_attempt() {
    let server = Server::start(|_| Reply::status(200).after(Duration::from_secs(3))).await;
    let client = client(&server)
        .retry(quick(2))
        .request_timeout(Duration::from_millis(100));
    let started = Instant::now();
    let error = client.sync_user(&uid("ann.lee")).await.unwrap_err();
    assert!(
        matches!(error, PingError::Timeout { attempts: 2, timeout } if timeout == Duration::from_millis(100)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.count(), 2);
}

/// Ids are `UserId`s: a bad one never reaches the client, so no request can carry it.
#[test]
fn invalid_user_ids_cannot_be_pinged() {
    for id in ["", "a b", "ann\n", "a/b", "ann%2F", "é"] {
        assert!(id.parse::<UserId>().is_err(), "{id:?}");
    }
}

#[tokio::test]
async fn set_user_sync_url_posts_the_template_to_the_root() {
    let template = "https://example.com/livefyre/pull?id={id}&x=a+b";
    let server = Server::always(204).await;
    client(&server)
        .set_user_sync_url(&template.parse().unwrap())
        .await
        .unwrap();

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/");
    assert_eq!(request.query, None);
    assert_eq!(request.content_type.as_deref(), Some(FORM));
    let pairs = request.body_pairs();
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    assert_eq!(pairs[0].0, "actor_token");
    assert_system_token(&pairs[0].1);
    assert_eq!(pairs[1], ("pull_profile_url".into(), template.into()));
}

#[tokio::test]
async fn set_user_sync_url_in_query_mode() {
    let template = "http://example.com/users/{id}/pull";
    let server = Server::always(204).await;
    let client = client(&server).token_in_query(true);
    client
        .set_user_sync_url(&template.parse().unwrap())
        .await
        .unwrap();

    let request = &server.requests()[0];
    assert_eq!(request.path, "/");
    assert_eq!(request.body, "");
    let pairs = request.query_pairs();
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    assert_eq!(pairs[0].0, "actor_token");
    assert_system_token(&pairs[0].1);
    assert_eq!(pairs[1], ("pull_profile_url".into(), template.into()));
}

#[tokio::test]
async fn set_user_sync_url_refusals_are_errors() {
    let server = Server::always(400).await;
    let error = client(&server)
        .set_user_sync_url(&"https://example.com/{id}".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(server.count(), 1);
}

/// Templates are `PullUrlTemplate`s: a bad one never reaches the client. The rule is the one
/// the emulator's registration applies (see tests/emulator/api.rs).
#[test]
fn bad_templates_cannot_be_registered() {
    use PullUrlTemplateError::{MissingPlaceholder, NotWebUrl, PlaceholderNotInPathOrQuery};
    for (template, error) in [
        ("https://example.com/pull?id=", MissingPlaceholder),
        ("/livefyre/pull?id={id}", NotWebUrl(WebUrlError::NotHttp)),
        (
            "ftp://example.com/pull/{id}",
            NotWebUrl(WebUrlError::NotHttp),
        ),
        (
            "www.example-qa.com/user/{id}",
            NotWebUrl(WebUrlError::NotHttp),
        ),
        (
            "https://example.com/pull me?id={id}",
            NotWebUrl(WebUrlError::InvalidCharacter { index: 24 }),
        ),
        ("https://:8080/pull?id={id}", NotWebUrl(WebUrlError::NoHost)),
        // Issue 9, defects 3 and 4.
        ("https://example.com/pull#{id}", PlaceholderNotInPathOrQuery),
        (
            "http://a:1:2/pull?id={id}",
            NotWebUrl(WebUrlError::InvalidPort),
        ),
    ] {
        assert_eq!(
            template.parse::<PullUrlTemplate>(),
            Err(error),
            "{template:?}"
        );
    }
}

#[tokio::test]
async fn sync_users_reports_every_id_in_order_with_bounded_concurrency() {
    let server = Server::start(|_| Reply::status(200).after(Duration::from_millis(1))).await;
    let ids: Vec<UserId> = (0..1000).map(|n| uid(&format!("user-{n}"))).collect();
    let outcomes = client(&server).sync_users(ids.clone(), 32).await;

    assert_eq!(outcomes.len(), 1000);
    for ((id, outcome), expected) in outcomes.iter().zip(&ids) {
        assert_eq!(id, expected);
        assert!(outcome.is_ok(), "{id}: {outcome:?}");
    }
    let paths: HashSet<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths.len(), 1000);
    let expected: HashSet<String> = ids
        .iter()
        .map(|id| format!("/api/v3_0/user/{id}/refresh"))
        .collect();
    assert_eq!(paths, expected);
    let max = server.max_in_flight.load(Ordering::SeqCst);
    assert!((2..=32).contains(&max), "max in flight {max}");
}

#[tokio::test]
async fn sync_users_marks_failures_and_keeps_the_rest() {
    // Ids ending in 0 are refused with 403.
    let server = Server::start(|seen| {
        if seen.path.ends_with("0/refresh") {
            Reply::status(403)
        } else {
            Reply::status(200)
        }
    })
    .await;
    let ids: Vec<UserId> = (0..100).map(|n| uid(&format!("user-{n}"))).collect();
    let outcomes = client(&server).sync_users(ids.iter().cloned(), 8).await;

    assert_eq!(outcomes.len(), 100);
    let mut forbidden = 0;
    for ((id, outcome), expected) in outcomes.iter().zip(&ids) {
        assert_eq!(id, expected);
        match outcome {
            Err(PingError::Forbidden { attempts: 1 }) => {
                assert!(id.ends_with('0'), "{id}");
                forbidden += 1;
            }
            Ok(()) => assert!(!id.ends_with('0'), "{id}"),
            Err(other) => panic!("{id}: {other:?}"),
        }
    }
    assert_eq!(forbidden, 10);
    assert_eq!(server.count(), 100);
}

#[tokio::test]
async fn sync_users_with_concurrency_zero_goes_one_at_a_time() {
    let server = Server::start(|_| Reply::status(200).after(Duration::from_millis(2))).await;
    let outcomes = client(&server)
        .sync_users(["a", "b", "c", "d"].map(uid), 0)
        .await;
    let ids: Vec<_> = outcomes.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d"]);
    assert!(outcomes.iter().all(|(_, outcome)| outcome.is_ok()));
    assert_eq!(server.max_in_flight.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn calls_are_send_futures() {
    fn assert_send<T: Send>(_: &T) {}
    let client = PingClient::new(network()).unwrap();
    let ann = uid("ann");
    assert_send(&client.sync_user(&ann));
    assert_send(&client.sync_users(vec![ann.clone()], 2));
    let template = "https://example.com/{id}".parse().unwrap();
    assert_send(&client.set_user_sync_url(&template));
}

#[tokio::test]
async fn no_key_or_token_in_debug_or_errors() {
    let server = Server::scripted([Reply::status(503), Reply::status(403)]).await;
    let client = client(&server).token_in_query(true);
    let error = client.sync_user(&uid("ann.lee")).await.unwrap_err();
    assert!(
        matches!(error, PingError::Forbidden { attempts: 2 }),
        "{error:?}"
    );
    let token = server.requests()[0].query_pairs()[0].1.clone();
    assert_system_token(&token);
    let debug = format!("{client:?}");
    assert!(
        debug.contains(&server.url) && debug.contains(NETWORK),
        "{debug}"
    );
    for text in [debug, format!("{error:?}"), error.to_string()] {
        for secret in [KEY, token.as_str(), "lftoken", "eyJ"] {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
    }
}
