//! What the emulator tests share: the network, a pull endpoint, HTTP helpers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::sync::watch;
use tower::{Layer, ServiceExt, service_fn};
use tower_livefyre::emulator::{Emulator, PullRecord};
use tower_livefyre::{LftokenLayer, Network, Profile, UserId};

pub(crate) const NETWORK: &str = "labs.fyre.co";
pub(crate) const KEY: &str = "labs-network-key-for-emulator-tests";
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// A user id from a literal the test knows to be valid.
pub(crate) fn uid(id: &str) -> UserId {
    id.parse().unwrap()
}

pub(crate) fn network() -> Network {
    Network::new(NETWORK, KEY).unwrap()
}

pub(crate) fn token() -> String {
    network().build_livefyre_token().unwrap()
}

// ---------------------------------------------------------------- a pull endpoint

/// A pull endpoint: `LftokenLayer` (with its own key) in front of a map of raw bodies,
/// keyed by the id from `?id=` or from `/users/{id}/pull`. It records every request's
/// path and query as received, token included.
#[derive(Clone)]
pub(crate) struct PullServer {
    pub(crate) addr: SocketAddr,
    bodies: Arc<Mutex<HashMap<String, String>>>,
    /// Each request's path and query, with the time it arrived.
    seen: Arc<Mutex<Vec<(SystemTime, String)>>>,
    /// Answers wait while this is `false` (see [`PullServer::hold`]).
    open: Arc<watch::Sender<bool>>,
}

impl PullServer {
    pub(crate) async fn start(key: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Self {
            addr: listener.local_addr().unwrap(),
            bodies: Arc::default(),
            seen: Arc::default(),
            open: Arc::new(watch::Sender::new(true)),
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
            let arrived = SystemTime::now();
            seen.lock()
                .unwrap()
                .push((arrived, uri.unwrap_or_default()));
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
        let _ = self.open.subscribe().wait_for(|open| *open).await;
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

    pub(crate) fn serve(&self, id: &str, body: impl Into<String>) {
        self.bodies
            .lock()
            .unwrap()
            .insert(id.to_owned(), body.into());
    }

    pub(crate) fn serve_profile(&self, profile: &Profile) {
        self.serve(&profile.id, serde_json::to_string(profile).unwrap());
    }

    pub(crate) fn seen(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.iter().map(|(_, uri)| uri.clone()).collect()
    }

    /// When each request arrived (before it was answered), in the order of [`seen`](Self::seen).
    pub(crate) fn arrivals(&self) -> Vec<SystemTime> {
        let seen = self.seen.lock().unwrap();
        seen.iter().map(|(arrived, _)| *arrived).collect()
    }

    /// Holds every answer (requests are still recorded in `seen`) until [`release`](Self::release).
    pub(crate) fn hold(&self) {
        self.open.send_replace(false);
    }

    pub(crate) fn release(&self) {
        self.open.send_replace(true);
    }

    pub(crate) fn template(&self) -> String {
        format!("http://{}/pull?id={{id}}", self.addr)
    }
}

// ---------------------------------------------------------------- waiting

/// Polls `done` until it holds, failing the test after [`WAIT`]: the way to wait for
/// something that has no notification, instead of sleeping for a guessed time.
pub(crate) async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "not within {WAIT:?}: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------- HTTP helpers

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

pub(crate) async fn send(request: Request<Full<Bytes>>) -> Reply {
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

pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    serializer.extend_pairs(pairs);
    serializer.finish()
}

pub(crate) async fn post(url: String, body: impl Into<Bytes>) -> Reply {
    let request = Request::post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(body.into()))
        .unwrap();
    send(request).await
}

pub(crate) async fn get(url: String) -> Reply {
    send(Request::get(url).body(Full::default()).unwrap()).await
}

pub(crate) async fn register(emulator: &Emulator, template: &str) -> Reply {
    let body = form(&[("actor_token", &token()), ("pull_profile_url", template)]);
    post(format!("{}/", emulator.url()), body).await
}

pub(crate) async fn ping(emulator: &Emulator, id: &str) -> Reply {
    let url = format!("{}/api/v3_0/user/{id}/refresh", emulator.url());
    post(url, form(&[("lftoken", &token())])).await
}

/// An emulator with a registered pull endpoint serving `ann`.
pub(crate) async fn pinged_setup(key: &str) -> (Emulator, PullServer) {
    let emulator = Emulator::start(network()).await.unwrap();
    let server = PullServer::start(key).await;
    assert_eq!(register(&emulator, &server.template()).await.status, 204);
    (emulator, server)
}

pub(crate) async fn pull_of(emulator: &Emulator, id: &str) -> PullRecord {
    assert_eq!(ping(emulator, id).await.status, 200);
    emulator.wait_for_pull(&uid(id), WAIT).await.unwrap()
}
