//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod browser;
pub mod captured;
pub mod example;
pub mod pg;
pub mod scratch;
pub mod sink;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tower_livefyre::{Network, UserId};

pub const NETWORK: &str = "labs.fyre.co";
pub const KEY: &str = "labs-network-key-for-tests";

/// A user id from a literal the test knows to be valid.
pub fn uid(id: &str) -> UserId {
    id.parse().unwrap()
}

pub fn network() -> Network {
    Network::new(NETWORK, KEY).unwrap()
}

/// Unix seconds as a `SystemTime`.
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// HMAC-SHA256 of `message` with `key`, base64url without padding.
pub fn hs256(key: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    b64(mac.finalize().into_bytes())
}

/// A token with exactly this header and payload JSON, signed with HS256 and `key`.
pub fn forge(header: &str, payload: &str, key: &str) -> String {
    let signed = format!("{}.{}", b64(header), b64(payload));
    let signature = hs256(key, &signed);
    format!("{signed}.{signature}")
}

/// Claims JSON for `labs.fyre.co` with the given `expires` literal.
pub fn claims_expiring(expires: &str) -> String {
    format!(
        r#"{{"domain":"{NETWORK}","user_id":"system","display_name":"system","expires":{expires}}}"#
    )
}

pub const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// A valid system token for `network()`, expiring in 2100.
pub fn valid_token() -> String {
    forge(HEADER, &claims_expiring("4102444800"), KEY)
}

/// Serves `service` over HTTP/1.1 on `127.0.0.1:0` until the returned handle is dropped.
pub async fn serve<S, B>(service: S) -> Served
where
    S: tower::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    Served { addr, task }
}

/// A server started by [`serve`]; stops when dropped.
pub struct Served {
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One HTTP/1.1 request with a fresh connection: status, headers and the whole body.
pub async fn fetch(
    method: http::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<bytes::Bytes>,
) -> (http::StatusCode, http::HeaderMap, bytes::Bytes) {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let mut request = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(http_body_util::Full::new(body.into()))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, body)
}
