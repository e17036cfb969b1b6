//! Fault injection over real HTTP: a `ProfileSource` that panics, fails, hangs or answers,
//! depending on the id, behind `pull_endpoint`.

use crate::common;

use std::any::Any;
use std::error::Error as _;
use std::sync::Once;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_livefyre::{BoxError, LftokenLayer, Profile, ProfileSource, PullService, UserId};

/// Every panic of the source says this, so the panic hook can keep the test output quiet.
const PANIC_MARKER: &str = "fault injection: the profile source panicked";
/// Header the panic handler sets, to tell a caught panic from an error (both are 500).
const CAUGHT: &str = "x-caught-panic";
const TIMEOUT: Duration = Duration::from_millis(200);
const REQUESTS: usize = 600;

/// The kind of fault the id asks for: `panic…`, `error…`, `hang…`, anything else answers.
struct Faulty;

impl ProfileSource for Faulty {
    type Error = BoxError;

    async fn profile(&self, id: &UserId) -> Result<Option<Profile>, BoxError> {
        if id.starts_with("panic") {
            panic!("{PANIC_MARKER} for {id}");
        } else if id.starts_with("error") {
            Err(format!("the user database failed for {id}").into())
        } else if id.starts_with("hang") {
            std::future::pending().await
        } else {
            Ok(Some(Profile::new(id.clone(), format!("Good {id}"))))
        }
    }
}

/// Silences the injected panics (and only them) in the test output.
fn quiet_injected_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or_default();
            if !message.contains(PANIC_MARKER) {
                default(info);
            }
        }));
    });
}

fn endpoint() -> tower_livefyre::lftoken::Lftoken<PullService<Faulty>> {
    LftokenLayer::new(network()).layer(PullService::new(Faulty).timeout(TIMEOUT))
}

/// 500 with a marker header, and only for the injected panics.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Full<Bytes>> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(
        message.contains(PANIC_MARKER),
        "unexpected panic: {message}"
    );
    Response::builder()
        .status(StatusCode::INTERNAL_SERVER_ERROR)
        .header(CAUGHT, "1")
        .body(Full::default())
        .unwrap()
}

fn pull_url(served: &Served, id: &str) -> String {
    format!(
        "{}/livefyre/pull?id={id}&lftoken={}",
        served.url(),
        valid_token()
    )
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Panic,
    Error,
    Hang,
    Good,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_gets_its_status_under_concurrency() {
    quiet_injected_panics();
    let service = CatchPanicLayer::custom(panic_response).layer(endpoint());
    let served = serve(service).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();

    let mut requests = JoinSet::new();
    for n in 0..REQUESTS {
        let (kind, id) = match n % 4 {
            0 => (Kind::Panic, format!("panic{n}")),
            1 => (Kind::Error, format!("error{n}")),
            2 => (Kind::Hang, format!("hang{n}")),
            _ => (Kind::Good, format!("good{n}")),
        };
        let uri = pull_url(&served, &id);
        let client = client.clone();
        requests.spawn(async move {
            let response = client.get(uri.parse().unwrap()).await.unwrap();
            let (parts, body) = response.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            (kind, id, parts, body)
        });
    }

    let mut seen = [0usize; 4];
    while let Some(answer) = requests.join_next().await {
        let (kind, id, parts, body) = answer.unwrap();
        let caught = parts.headers.contains_key(CAUGHT);
        match kind {
            Kind::Panic => {
                assert_eq!(parts.status, StatusCode::INTERNAL_SERVER_ERROR, "{id}");
                assert!(caught, "{id}: not answered by the panic handler");
                assert!(body.is_empty(), "{id}");
            }
            Kind::Error => {
                assert_eq!(parts.status, StatusCode::INTERNAL_SERVER_ERROR, "{id}");
                assert!(!caught, "{id}");
                assert!(body.is_empty(), "{id}");
            }
            Kind::Hang => {
                assert_eq!(parts.status, StatusCode::GATEWAY_TIMEOUT, "{id}");
                assert!(!caught, "{id}");
                assert!(body.is_empty(), "{id}");
            }
            Kind::Good => {
                assert_eq!(parts.status, StatusCode::OK, "{id}");
                assert_eq!(parts.headers["content-type"], "application/json", "{id}");
                let expected = format!(r#"{{"id":"{id}","display_name":"Good {id}"}}"#);
                assert_eq!(body, expected.as_bytes(), "{id}");
            }
        }
        seen[kind as usize] += 1;
    }
    assert_eq!(seen, [REQUESTS / 4; 4], "every request answered once");

    // Still serving, on a fresh connection and on a pooled one.
    for _ in 0..2 {
        let response = client
            .get(pull_url(&served, "after").parse().unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, r#"{"id":"after","display_name":"Good after"}"#);
    }
}

/// Sends one raw HTTP/1.1 GET on a new connection and reads until the server closes it.
async fn raw_get(served: &Served, id: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(served.addr).await.unwrap();
    let request = format!(
        "GET /livefyre/pull?id={id}&lftoken={} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
        valid_token(),
        served.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap_or_default();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Without `CatchPanicLayer` a panicking source takes down its connection's task: hyper never
/// writes a response and the socket is closed, but the accept loop (and every other
/// connection) carries on.
#[tokio::test]
async fn without_catch_panic_the_connection_is_dropped_and_the_server_goes_on() {
    quiet_injected_panics();
    let served = serve(endpoint()).await;

    let before = raw_get(&served, "good1").await;
    assert!(before.starts_with("HTTP/1.1 200 OK\r\n"), "{before}");

    for n in 0..3 {
        let answer = raw_get(&served, &format!("panic{n}")).await;
        assert_eq!(answer, "", "no response at all, just a closed connection");
    }
    // The pooled client sees the same thing as an error, not a response.
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let error = client
        .get(pull_url(&served, "panic9").parse().unwrap())
        .await
        .unwrap_err();
    let hyper_error = error
        .source()
        .and_then(|source| source.downcast_ref::<hyper::Error>());
    assert!(
        !error.is_connect() && hyper_error.is_some_and(hyper::Error::is_incomplete_message),
        "connected, then closed before a response: {error:?}"
    );

    let after = raw_get(&served, "good2").await;
    assert!(after.starts_with("HTTP/1.1 200 OK\r\n"), "{after}");
    assert!(
        after.ends_with(r#"{"id":"good2","display_name":"Good good2"}"#),
        "{after}"
    );
    let response = client
        .get(pull_url(&served, "good3").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
