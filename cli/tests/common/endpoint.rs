//! Loopback pull endpoints on their own thread and runtime: the library's `pull_endpoint`,
//! or a hand-written one with one deliberate flaw.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::thread::JoinHandle;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tower_livefyre::{Name, Network, Profile, TokenError, pull_endpoint};

use super::{KEY, NETWORK, USER};

/// The one thing a broken endpoint gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// Nothing: a hand-written endpoint that follows the protocol.
    None,
    /// Serves every request, token or not.
    IgnoresToken,
    /// Refuses with 403 and a body.
    ForbiddenWithBody,
    /// Refuses with 401.
    Unauthorized,
    /// Takes `alg: none` tokens with the right claims.
    AcceptsAlgNone,
    /// Never checks `expires`.
    AcceptsExpired,
    /// Never checks `domain`.
    AcceptsOtherDomain,
    /// Answers with another user's id.
    OtherUsersId,
    /// Tags with a space and three websites.
    BadTagsThreeWebsites,
    /// `name.first_name` instead of `name.first`.
    FirstNameForFirst,
    /// `"true"`/`"false"` for booleans.
    BooleansAsStrings,
    /// Repeats the token in a response header.
    EchoesToken,
    /// Takes the token from `Authorization: Bearer` when the query has none.
    ReadsAuthorizationHeader,
    /// Takes the first `lftoken` of several.
    TakesFirstOfDuplicates,
    /// Answers 200 with `{}` for users it does not know.
    UnknownUserIs200,
}

/// A running endpoint; stopped on drop.
pub struct Endpoint {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Endpoint {
    /// The library's own `pull_endpoint`, knowing [`USER`].
    pub fn library() -> Self {
        let network = network();
        let profiles: HashMap<String, Profile> = [(
            USER.to_owned(),
            Profile::new(USER.parse().unwrap(), "Ann Lee")
                .with_name(Name::new().with_first("Ann").with_last("Lee"))
                .with_tags(["staff"])
                .with_websites(["https://ann.example"]),
        )]
        .into_iter()
        .collect();
        Self::serve(move |stream| {
            let service =
                TowerToHyperService::new(pull_endpoint(network.clone(), profiles.clone()));
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        })
    }

    /// A hand-written endpoint with `flaw`.
    pub fn flawed(flaw: Flaw) -> Self {
        Self::serve(move |stream| {
            let service =
                service_fn(
                    move |request| async move { Ok::<_, Infallible>(answer(flaw, &request)) },
                );
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        })
    }

    /// `http://ADDR/pull?id={id}`.
    pub fn template(&self) -> String {
        format!("http://{}/pull?id={{id}}", self.addr)
    }

    fn serve(accept: impl Fn(tokio::net::TcpStream) + Send + 'static) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, addr) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready.send(listener.local_addr().unwrap()).unwrap();
                let mut stopped = stopped;
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            if let Ok((stream, _)) = accepted {
                                accept(stream);
                            }
                        }
                    }
                }
            });
        });
        Self {
            addr: addr.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub fn network() -> Network {
    Network::new(NETWORK, KEY).unwrap()
}

fn answer(flaw: Flaw, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let query = request.uri().query().unwrap_or_default();
    let mut pairs: Vec<(String, String)> = form_urlencoded_pairs(query);
    if flaw == Flaw::ReadsAuthorizationHeader
        && !pairs.iter().any(|(name, _)| name == "lftoken")
        && let Some(bearer) = request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
    {
        pairs.push(("lftoken".to_owned(), bearer.to_owned()));
    }
    if flaw == Flaw::TakesFirstOfDuplicates {
        let mut seen = false;
        pairs.retain(|(name, _)| name != "lftoken" || !std::mem::replace(&mut seen, true));
    }
    if flaw != Flaw::IgnoresToken && !token_accepted(flaw, &pairs) {
        return match flaw {
            Flaw::ForbiddenWithBody => respond(
                StatusCode::FORBIDDEN,
                "text/plain",
                "Forbidden: bad lftoken",
            ),
            Flaw::Unauthorized => respond(StatusCode::UNAUTHORIZED, "", ""),
            _ => respond(StatusCode::FORBIDDEN, "", ""),
        };
    }
    let id = pairs
        .iter()
        .find(|(name, _)| name == "id")
        .map(|(_, value)| value.as_str());
    if id != Some(USER) {
        if flaw == Flaw::UnknownUserIs200 {
            return respond(StatusCode::OK, "application/json", "{}");
        }
        return respond(StatusCode::NOT_FOUND, "", "");
    }
    let mut response = respond(
        StatusCode::OK,
        "application/json",
        &document(flaw).to_string(),
    );
    if flaw == Flaw::EchoesToken {
        let token = pairs
            .iter()
            .find(|(name, _)| name == "lftoken")
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        response
            .headers_mut()
            .insert("x-debug-lftoken", token.parse().unwrap());
    }
    response
}

/// Exactly one non-empty `lftoken` in the query, valid apart from what `flaw` lets through.
fn token_accepted(flaw: Flaw, pairs: &[(String, String)]) -> bool {
    let tokens: Vec<&str> = pairs
        .iter()
        .filter(|(name, _)| name == "lftoken")
        .map(|(_, value)| value.as_str())
        .collect();
    let [token] = tokens[..] else {
        return false;
    };
    if token.is_empty() {
        return false;
    }
    let network = network();
    match network.validate_livefyre_token(token) {
        Ok(_) => true,
        Err(TokenError::Expired) => flaw == Flaw::AcceptsExpired,
        Err(TokenError::WrongDomain) => flaw == Flaw::AcceptsOtherDomain,
        Err(TokenError::UnsupportedAlgorithm) if flaw == Flaw::AcceptsAlgNone => {
            claims_ok_without_signature(token)
        }
        Err(_) => false,
    }
}

/// What a validator that honours `alg: none` does: read the claims, skip the signature.
fn claims_ok_without_signature(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(header), Some(claims)) = (parts.next(), parts.next()) else {
        return false;
    };
    let decode = |part: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
    };
    let (Some(header), Some(claims)) = (decode(header), decode(claims)) else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    header["alg"] == "none"
        && claims["domain"] == NETWORK
        && claims["user_id"] == "system"
        && claims["expires"]
            .as_f64()
            .is_some_and(|expires| expires >= now)
}

fn document(flaw: Flaw) -> Value {
    let mut document = json!({
        "id": USER,
        "display_name": "Ann Lee",
        "name": {"first": "Ann", "last": "Lee"},
        "tags": ["staff"],
        "websites": ["https://ann.example"],
        "autofollow_conversations": true,
        "display_rules": {"bio": true},
    });
    match flaw {
        Flaw::OtherUsersId => document["id"] = json!("bob"),
        Flaw::BadTagsThreeWebsites => {
            document["tags"] = json!(["staff", "early adopter"]);
            document["websites"] = json!([
                "https://a.example",
                "https://b.example",
                "https://c.example"
            ]);
        }
        Flaw::FirstNameForFirst => document["name"] = json!({"first_name": "Ann", "last": "Lee"}),
        Flaw::BooleansAsStrings => {
            document["autofollow_conversations"] = json!("true");
            document["display_rules"] = json!({"bio": "false"});
        }
        _ => {}
    }
    document
}

fn respond(status: StatusCode, content_type: &str, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(status);
    if !content_type.is_empty() {
        response = response.header("content-type", content_type);
    }
    response
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}
