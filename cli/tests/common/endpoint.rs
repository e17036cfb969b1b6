//! Loopback pull endpoints on their own thread and runtime: the library's `pull_endpoint`,
//! or a hand-written one with one deliberate flaw.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
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
use tower_livefyre::{Network, Profile, TokenError, profile::Name, pull_endpoint};

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
    /// Puts the token it got into `image_url` and `tags[0]`, encoded so.
    EchoesIntoProfile(Echo),
    /// Puts the token it got into a response header, encoded so.
    EchoesIntoHeader(Echo),
    /// Passes the gate, then fails: 500 for every accepted token.
    FailsAfterTheGate,
    /// Answers the valid pull for the known user with a 100 KiB body.
    HugeProfile,
    /// Answers the expired token with a 403 and a 100 KiB body.
    HugeAnswerToExpired,
    /// Sends a `Content-Type` with a C1 control character (a terminal escape).
    ControlCharactersInContentType,
}

/// How an echoing endpoint encodes the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// As it came.
    Verbatim,
    /// Every character as a JSON `\uXXXX` escape.
    JsonEscaped,
    /// Every byte as `%XX`.
    PercentEncoded,
}

impl Echo {
    pub const ALL: [Echo; 3] = [Echo::Verbatim, Echo::JsonEscaped, Echo::PercentEncoded];

    /// `token` as this echo writes it into a JSON document's raw text or a header.
    fn encode(self, token: &str) -> String {
        match self {
            Echo::Verbatim => token.to_owned(),
            Echo::JsonEscaped => token.bytes().map(|b| format!("\\u{b:04x}")).collect(),
            Echo::PercentEncoded => token.bytes().map(|b| format!("%{b:02X}")).collect(),
        }
    }
}

/// 100 KiB: past the checker's 64 KiB cap.
const HUGE: usize = 100 * 1024;

/// A running endpoint; stopped on drop.
pub struct Endpoint {
    pub addr: SocketAddr,
    /// Every token a hand-written endpoint received, in `lftoken` or `Authorization`.
    tokens: Arc<Mutex<Vec<String>>>,
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
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let recorded = tokens.clone();
        let mut endpoint = Self::serve(move |stream| {
            let recorded = recorded.clone();
            let service = service_fn(move |request| {
                record_tokens(&recorded, &request);
                async move { Ok::<_, Infallible>(answer(flaw, &request)) }
            });
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        });
        endpoint.tokens = tokens;
        endpoint
    }

    /// An endpoint that answers every request with `answer`, as raw bytes: for answers
    /// hyper's server would never send.
    pub fn raw(answer: &'static [u8]) -> Self {
        Self::serve(move |stream| {
            tokio::spawn(async move {
                let Ok(mut stream) = stream.into_std() else {
                    return;
                };
                let _ = tokio::task::spawn_blocking(move || {
                    let _ = stream.set_nonblocking(false);
                    let mut request = [0u8; 4096];
                    let _ = stream.read(&mut request);
                    let _ = stream.write_all(answer);
                })
                .await;
            });
        })
    }

    /// Every token received so far.
    pub fn tokens(&self) -> Vec<String> {
        self.tokens.lock().unwrap().clone()
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
            tokens: Arc::default(),
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

fn record_tokens(recorded: &Mutex<Vec<String>>, request: &Request<Incoming>) {
    let query = request.uri().query().unwrap_or_default();
    let mut tokens: Vec<String> = form_urlencoded_pairs(query)
        .into_iter()
        .filter(|(name, value)| name == "lftoken" && !value.is_empty())
        .map(|(_, value)| value)
        .collect();
    if let Some(bearer) = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    {
        tokens.push(bearer.to_owned());
    }
    recorded.lock().unwrap().extend(tokens);
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
    let token = pairs
        .iter()
        .find(|(name, _)| name == "lftoken")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    if flaw == Flaw::HugeAnswerToExpired
        && network().validate_livefyre_token(&token) == Err(TokenError::Expired)
    {
        return respond(StatusCode::FORBIDDEN, "text/plain", &"x".repeat(HUGE));
    }
    if flaw != Flaw::IgnoresToken && !token_accepted(flaw, &pairs) {
        let mut response = match flaw {
            Flaw::ForbiddenWithBody => respond(
                StatusCode::FORBIDDEN,
                "text/plain",
                "Forbidden: bad lftoken",
            ),
            Flaw::Unauthorized => respond(StatusCode::UNAUTHORIZED, "", ""),
            _ => respond(StatusCode::FORBIDDEN, "", ""),
        };
        if let Flaw::EchoesIntoHeader(echo) = flaw {
            echo_header(&mut response, echo, &token);
        }
        return response;
    }
    if flaw == Flaw::FailsAfterTheGate {
        return respond(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "crashed");
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
    let mut body = document(flaw).to_string();
    match flaw {
        Flaw::EchoesIntoProfile(echo) => body = body.replace(ECHO_MARK, &echo.encode(&token)),
        Flaw::HugeProfile => body = format!("{body}{}", " ".repeat(HUGE)),
        _ => {}
    }
    let mut response = respond(StatusCode::OK, "application/json", &body);
    match flaw {
        Flaw::EchoesToken => echo_header(&mut response, Echo::Verbatim, &token),
        Flaw::EchoesIntoHeader(echo) => echo_header(&mut response, echo, &token),
        Flaw::ControlCharactersInContentType => {
            response.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_bytes(b"application/json\xc2\x9b31m;x").unwrap(),
            );
        }
        _ => {}
    }
    response
}

/// Stands for the token in a document, replaced by its encoding in the raw JSON text.
const ECHO_MARK: &str = "ECHO-MARK";

fn echo_header(response: &mut Response<Full<Bytes>>, echo: Echo, token: &str) {
    if !token.is_empty() {
        response
            .headers_mut()
            .insert("x-debug-lftoken", echo.encode(token).parse().unwrap());
    }
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
        Flaw::EchoesIntoProfile(_) => {
            document["image_url"] = json!(ECHO_MARK);
            document["tags"] = json!([ECHO_MARK]);
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
