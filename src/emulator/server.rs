//! The emulator's HTTP API: ping, registration, and the `/_emulator/…` inspection routes.
//!
//! | request | answer |
//! |---|---|
//! | `POST /api/v3_0/user/{id}/refresh`, `POST /api/v3.0/user/{id}/refresh` | 200 queued · 403 token · 400 id · 409 no pull URL yet · 503 queue full |
//! | `POST /` with `actor_token`, `pull_profile_url` | 204 · 403 token · 400 template |
//! | `GET /_emulator/profiles/{id}` | 200 JSON · 404 |
//! | `GET /_emulator/pulls` | 200 JSON array |
//! | another method on those paths | 405 with `Allow` |
//! | a body over 64 KiB | 413 |
//! | anything else | 404 |

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use percent_encoding::percent_decode_str;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::params::{Params, Refused};
use super::stopped;
use super::store::State;
use super::template;
use crate::Network;
use crate::token::is_valid_user_id;

/// Largest request body read; the forms here are a few hundred bytes.
pub(super) const MAX_REQUEST_BODY: usize = 64 * 1024;

/// How long open connections get to finish their request once shutdown starts.
pub(super) const GRACE: Duration = Duration::from_secs(1);

/// What the handlers need.
pub(super) struct App {
    pub(super) network: Network,
    pub(super) state: Arc<State>,
}

/// Accepts connections until shutdown is signalled, then closes the listener at once and
/// gives open connections [`GRACE`] to finish.
pub(super) async fn serve(listener: TcpListener, app: Arc<App>, shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    let mut stop = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(connection(stream, app.clone(), shutdown.clone()));
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::debug!(%error, "emulator accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = stopped(&mut stop) => break,
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let drained = async { while connections.join_next().await.is_some() {} };
    // Past the grace, dropping the set aborts what is left.
    let _ = tokio::time::timeout(GRACE, drained).await;
}

async fn connection(
    stream: tokio::net::TcpStream,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
) {
    let service = service_fn(move |request| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(app.handle(request).await) }
    });
    let mut builder = http1::Builder::new();
    // The timer makes hyper's default header-read timeout apply to idle clients.
    builder.timer(TokioTimer::new());
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "emulator connection ended with an error");
            }
        }
        () = stopped(&mut shutdown) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

type Reply = Response<Full<Bytes>>;

enum Route<'p> {
    Register,
    Ping(&'p str),
    Profile(&'p str),
    Pulls,
    NotFound,
}

fn route(path: &str) -> Route<'_> {
    let segment = |rest: &'_ str| !rest.contains('/');
    if path == "/" {
        return Route::Register;
    }
    if path == "/_emulator/pulls" {
        return Route::Pulls;
    }
    if let Some(id) = path.strip_prefix("/_emulator/profiles/")
        && !id.is_empty()
        && segment(id)
    {
        return Route::Profile(id);
    }
    let user = path
        .strip_prefix("/api/v3_0/user/")
        .or_else(|| path.strip_prefix("/api/v3.0/user/"));
    if let Some(id) = user.and_then(|rest| rest.strip_suffix("/refresh"))
        && segment(id)
    {
        return Route::Ping(id);
    }
    Route::NotFound
}

impl App {
    async fn handle(&self, request: Request<Incoming>) -> Reply {
        let method = request.method().clone();
        let post = method == Method::POST;
        let get = method == Method::GET || method == Method::HEAD;
        match route(request.uri().path()) {
            Route::Register if post => self.register(request).await,
            Route::Ping(raw_id) if post => {
                let raw_id = raw_id.to_owned();
                self.ping(&raw_id, request).await
            }
            Route::Register | Route::Ping(_) => not_allowed("POST"),
            Route::Profile(raw_id) if get => self.profile(raw_id),
            Route::Pulls if get => self.pulls(),
            Route::Profile(_) | Route::Pulls => not_allowed("GET, HEAD"),
            Route::NotFound => empty(StatusCode::NOT_FOUND),
        }
    }

    /// `POST /api/v3_0/user/{id}/refresh`: the ping.
    async fn ping(&self, raw_id: &str, request: Request<Incoming>) -> Reply {
        let params = match Params::read(request, MAX_REQUEST_BODY).await {
            Ok(params) => params,
            Err(refused) => return refused_reply(refused),
        };
        if !self.token_ok(params.get("lftoken"), "ping") {
            return empty(StatusCode::FORBIDDEN);
        }
        let id = percent_decode_str(raw_id).decode_utf8();
        let Some(id) = id.ok().filter(|id| is_valid_user_id(id)) else {
            return text(
                StatusCode::BAD_REQUEST,
                "the user id must be letters, digits, `_`, `.` and `-`",
            );
        };
        if self.state.template().is_none() {
            return text(
                StatusCode::CONFLICT,
                "no pull URL is registered: POST / with actor_token and pull_profile_url first",
            );
        }
        match self.state.request_pull(&id) {
            Ok(()) => empty(StatusCode::OK),
            Err(_full) => text(StatusCode::SERVICE_UNAVAILABLE, "the pull queue is full"),
        }
    }

    /// `POST /`: registering the pull URL template.
    async fn register(&self, request: Request<Incoming>) -> Reply {
        let params = match Params::read(request, MAX_REQUEST_BODY).await {
            Ok(params) => params,
            Err(refused) => return refused_reply(refused),
        };
        if !self.token_ok(params.get("actor_token"), "registration") {
            return empty(StatusCode::FORBIDDEN);
        }
        let template = match params.get("pull_profile_url") {
            Ok(Some(template)) => template,
            Ok(None) => return text(StatusCode::BAD_REQUEST, "pull_profile_url is missing"),
            Err(_) => return text(StatusCode::BAD_REQUEST, "pull_profile_url is duplicated"),
        };
        if let Err(problem) = template::check(&template) {
            return text(StatusCode::BAD_REQUEST, problem);
        }
        self.state.set_template(template);
        empty(StatusCode::NO_CONTENT)
    }

    /// Whether the parameter holds exactly one valid system token of this network.
    fn token_ok(&self, value: Result<Option<String>, Refused>, what: &str) -> bool {
        let Ok(Some(token)) = value else {
            tracing::debug!(what, "emulator refused a request without exactly one token");
            return false;
        };
        match self.network.validate_livefyre_token(&token) {
            Ok(_claims) => true,
            Err(reason) => {
                tracing::debug!(what, %reason, "emulator refused a token");
                false
            }
        }
    }

    fn profile(&self, raw_id: &str) -> Reply {
        let id = percent_decode_str(raw_id).decode_utf8();
        let profile = id.ok().and_then(|id| self.state.profile(&id));
        match profile.map(|profile| serde_json::to_vec(&profile)) {
            Some(Ok(body)) => json(body),
            _ => empty(StatusCode::NOT_FOUND),
        }
    }

    fn pulls(&self) -> Reply {
        match serde_json::to_vec(&self.state.log()) {
            Ok(body) => json(body),
            // Plain strings, numbers and enums always serialize.
            Err(_) => empty(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

fn refused_reply(refused: Refused) -> Reply {
    match refused {
        Refused::TooLarge => text(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large",
        ),
        Refused::Unreadable => text(
            StatusCode::BAD_REQUEST,
            "the request body could not be read",
        ),
        Refused::Duplicated => text(StatusCode::BAD_REQUEST, "a parameter is duplicated"),
    }
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

fn empty(status: StatusCode) -> Reply {
    reply(status, Bytes::new())
}

fn text(status: StatusCode, message: &'static str) -> Reply {
    let mut response = reply(status, message);
    let plain = HeaderValue::from_static("text/plain; charset=utf-8");
    response.headers_mut().insert(CONTENT_TYPE, plain);
    response
}

fn json(body: Vec<u8>) -> Reply {
    let mut response = reply(StatusCode::OK, body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn not_allowed(allow: &'static str) -> Reply {
    let mut response = empty(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

#[cfg(test)]
mod tests {
    use super::{Route, route};

    #[test]
    fn routes() {
        assert!(matches!(route("/"), Route::Register));
        assert!(matches!(
            route("/api/v3_0/user/ann/refresh"),
            Route::Ping("ann")
        ));
        assert!(matches!(
            route("/api/v3.0/user/a%20b/refresh"),
            Route::Ping("a%20b")
        ));
        assert!(matches!(route("/api/v3_0/user//refresh"), Route::Ping("")));
        assert!(matches!(
            route("/api/v3_0/user/a/b/refresh"),
            Route::NotFound
        ));
        assert!(matches!(
            route("/api/v3_0/user/ann/refresh/"),
            Route::NotFound
        ));
        assert!(matches!(
            route("/_emulator/profiles/ann"),
            Route::Profile("ann")
        ));
        assert!(matches!(route("/_emulator/profiles/"), Route::NotFound));
        assert!(matches!(route("/_emulator/pulls"), Route::Pulls));
        assert!(matches!(route("/elsewhere"), Route::NotFound));
    }
}
