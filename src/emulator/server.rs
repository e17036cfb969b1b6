//! The emulator's HTTP server: routing and the handlers. The API itself is documented once,
//! in the [module documentation](super).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use percent_encoding::percent_decode_str;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use serde::Serialize;

use super::params::{BodyLimits, Params, Refused, read_body};
use super::state::State;
use super::{FaultPlan, GRACE, PingAnswer, PingFault, PingRecord, fault_json, stopped};
use crate::network::Network;
use crate::url::PullUrlTemplate;
use crate::user_id::UserId;

/// What the handlers need.
pub(super) struct App {
    pub(super) network: Network,
    pub(super) state: Arc<State>,
    /// How much of a request body is read, and for how long.
    pub(super) body: BodyLimits,
    /// How long a client may take to send a request's headers; also how long an idle
    /// keep-alive connection stays open. `None`: no limit.
    pub(super) header_read_timeout: Option<Duration>,
}

/// The error that makes hyper close a connection without answering: a
/// [`PingFault::Drop`].
#[derive(Debug)]
struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the connection was dropped by an emulated fault")
    }
}

impl std::error::Error for Dropped {}

/// Accepts connections until shutdown is signalled, then closes the listener at once and
/// gives open connections [`GRACE`] to finish.
///
/// At most `max_connections` are open at once: each holds a permit, and with none left the
/// loop stops accepting until one closes (new clients wait in the kernel's backlog).
pub(super) async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    max_connections: usize,
    shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(
        max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let mut connections = JoinSet::new();
    let mut stop = shutdown.clone();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit,
            () = stopped(&mut stop) => break,
        };
        // The semaphore is never closed.
        let Ok(permit) = permit else { break };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let (app, shutdown) = (app.clone(), shutdown.clone());
                    connections.spawn(async move {
                        connection(stream, app, shutdown).await;
                        drop(permit);
                    });
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
    let header_read_timeout = app.header_read_timeout;
    let service = service_fn(move |request| {
        let app = app.clone();
        async move { app.handle(request).await }
    });
    let mut builder = http1::Builder::new();
    // The timer is what makes the header-read timeout fire; it also bounds how long an
    // idle keep-alive connection waits for its next request.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
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
    Page,
    Ping(&'p str),
    Profile(&'p str),
    Pulls,
    Pings,
    Faults,
    NotFound,
}

fn route(path: &str) -> Route<'_> {
    let segment = |rest: &'_ str| !rest.contains('/');
    if path == "/" {
        return Route::Register;
    }
    match path {
        "/_emulator/" | "/_emulator" => return Route::Page,
        "/_emulator/pulls" => return Route::Pulls,
        "/_emulator/pings" => return Route::Pings,
        "/_emulator/faults" => return Route::Faults,
        _ => {}
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
    async fn handle(&self, request: Request<Incoming>) -> Result<Reply, Dropped> {
        let method = request.method().clone();
        let post = method == Method::POST;
        let get = method == Method::GET || method == Method::HEAD;
        let reply = match route(request.uri().path()) {
            Route::Register if post => self.register(request).await,
            Route::Ping(raw_id) if post => {
                let raw_id = raw_id.to_owned();
                return self.ping(&raw_id, request).await;
            }
            Route::Register | Route::Ping(_) => not_allowed("POST"),
            Route::Profile(raw_id) if get => self.profile(raw_id),
            Route::Page if get => html(super::page::render(&self.network, &self.state)),
            Route::Pulls if get => json(&self.state.pulls.pull_log()),
            Route::Pings if get => self.pings(&request),
            Route::Profile(_) | Route::Pulls | Route::Pings | Route::Page => {
                not_allowed("GET, HEAD")
            }
            Route::Faults if post => self.set_faults(request).await,
            Route::Faults if method == Method::DELETE => {
                self.state.faults.set(FaultPlan::new());
                empty(StatusCode::NO_CONTENT)
            }
            Route::Faults => not_allowed("POST, DELETE"),
            Route::NotFound => empty(StatusCode::NOT_FOUND),
        };
        Ok(reply)
    }

    /// `POST /api/v3_0/user/{id}/refresh`: the ping. Pings of a valid id meet the faults in
    /// force and are logged, whatever their answer.
    async fn ping(&self, raw_id: &str, request: Request<Incoming>) -> Result<Reply, Dropped> {
        let arrived = SystemTime::now();
        let id = match percent_decode_str(raw_id).decode_utf8().map(UserId::new) {
            Ok(Ok(id)) => id,
            Ok(Err(invalid)) => {
                return Ok(self.refuse_invalid_id(request, invalid.to_string()).await);
            }
            Err(_) => {
                let reason = "the user id is not UTF-8".to_owned();
                return Ok(self.refuse_invalid_id(request, reason).await);
            }
        };
        let (answer, late) = match self.answer_ping(&id, request).await {
            Ok((reply, late)) => (Ok(reply), late),
            Err(Dropped) => (Err(Dropped), None),
        };
        let logged = match &answer {
            Ok(reply) => PingAnswer::Status(reply.status().as_u16()),
            Err(Dropped) => PingAnswer::Dropped,
        };
        tracing::debug!(%id, answer = %logged, "emulator ping");
        self.state
            .pings
            .record(PingRecord::new(id.clone(), arrived, logged));
        // After the record, so the delay counts from the logged `answered`.
        if let Some(delay) = late {
            self.state.pulls.request_late_pull(&id, delay);
        }
        answer
    }

    /// The answer to a ping, and the delay of its late pull when it is accepted under a
    /// [`PingFault::LatePull`] (the caller schedules it once the ping is logged).
    async fn answer_ping(
        &self,
        id: &UserId,
        request: Request<Incoming>,
    ) -> Result<(Reply, Option<Duration>), Dropped> {
        let params = match Params::read(request, self.body).await {
            Ok(params) => params,
            Err(refused) => return Ok((refused_reply(refused), None)),
        };
        let fault = self.state.faults.next();
        match fault {
            None | Some(PingFault::NoPull | PingFault::LatePull { .. }) => {}
            Some(PingFault::Drop) => return Err(Dropped),
            Some(PingFault::Slow { delay }) => tokio::time::sleep(delay).await,
            Some(fault) => return Ok((fault_reply(fault), None)),
        }
        if !self.token_ok(params.get("lftoken"), "ping") {
            return Ok((empty(StatusCode::FORBIDDEN), None));
        }
        if self.state.pulls.template().is_none() {
            let reply = text(
                StatusCode::CONFLICT,
                "no pull URL is registered: POST / with actor_token and pull_profile_url first",
            );
            return Ok((reply, None));
        }
        let full = || text(StatusCode::SERVICE_UNAVAILABLE, "the pull queue is full");
        Ok(match fault {
            Some(PingFault::NoPull) => (empty(StatusCode::OK), None),
            Some(PingFault::LatePull { .. }) if self.state.pulls.late_pulls_full() => {
                (full(), None)
            }
            Some(PingFault::LatePull { delay }) => (empty(StatusCode::OK), Some(delay)),
            _ => match self.state.pulls.request_pull(id) {
                Ok(()) => (empty(StatusCode::OK), None),
                Err(_full) => (full(), None),
            },
        })
    }

    /// A ping whose path holds no valid user id: 403 for a bad token (checked first, as
    /// for every ping), else 400.
    async fn refuse_invalid_id(&self, request: Request<Incoming>, reason: String) -> Reply {
        let params = match Params::read(request, self.body).await {
            Ok(params) => params,
            Err(refused) => return refused_reply(refused),
        };
        if !self.token_ok(params.get("lftoken"), "ping") {
            return empty(StatusCode::FORBIDDEN);
        }
        text(StatusCode::BAD_REQUEST, reason)
    }

    /// `POST /_emulator/faults`: replaces the faults in force.
    async fn set_faults(&self, request: Request<Incoming>) -> Reply {
        let body = match read_body(request, self.body).await {
            Ok(body) => body,
            Err(refused) => return refused_reply(refused),
        };
        match fault_json::parse_plan(&body) {
            Ok(plan) => {
                self.state.faults.set(plan);
                empty(StatusCode::NO_CONTENT)
            }
            Err(problem) => text(StatusCode::BAD_REQUEST, problem),
        }
    }

    /// `GET /_emulator/pings`, optionally `?id=…` for one user's.
    fn pings(&self, request: &Request<Incoming>) -> Reply {
        let query = request.uri().query().unwrap_or_default().as_bytes();
        let only =
            form_urlencoded::parse(query).find_map(|(name, id)| (name == "id").then_some(id));
        let mut log = self.state.pings.records();
        if let Some(only) = only {
            log.retain(|record| record.id.as_str() == only);
        }
        json(&log)
    }

    /// `POST /`: registering the pull URL template.
    async fn register(&self, request: Request<Incoming>) -> Reply {
        let params = match Params::read(request, self.body).await {
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
        let template = match PullUrlTemplate::parse(template) {
            Ok(template) => template,
            Err(problem) => return text(StatusCode::BAD_REQUEST, problem.to_string()),
        };
        self.state.pulls.set_template(template);
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
        let profile = id.ok().and_then(|id| self.state.pulls.profile(&id));
        match profile {
            Some(profile) => json(&profile),
            None => empty(StatusCode::NOT_FOUND),
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
        Refused::TimedOut => {
            let mut reply = text(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
            );
            // The rest of the body may still come: do not read it as the next request.
            reply
                .headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            reply
        }
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

fn text(status: StatusCode, message: impl Into<Bytes>) -> Reply {
    let mut response = reply(status, message);
    let plain = HeaderValue::from_static("text/plain; charset=utf-8");
    response.headers_mut().insert(CONTENT_TYPE, plain);
    response
}

fn json(value: &impl Serialize) -> Reply {
    let Ok(body) = serde_json::to_vec(value) else {
        // Plain strings, numbers and enums always serialize.
        return empty(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let mut response = reply(StatusCode::OK, body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn html(page: String) -> Reply {
    let mut response = reply(StatusCode::OK, page);
    let headers = response.headers_mut();
    let html = HeaderValue::from_static("text/html; charset=utf-8");
    headers.insert(CONTENT_TYPE, html);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Nothing on the page runs or loads: say so, so a profile that slipped past escaping
    // still could not.
    let policy =
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";
    headers.insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    response
}

fn fault_reply(fault: PingFault) -> Reply {
    let status = fault
        .status()
        .and_then(|status| StatusCode::from_u16(status).ok())
        .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut response = text(status, "emulated fault");
    if let Some(seconds) = fault.retry_after() {
        response.headers_mut().insert(RETRY_AFTER, seconds.into());
    }
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
        assert!(matches!(route("/_emulator/"), Route::Page));
        assert!(matches!(route("/_emulator"), Route::Page));
        assert!(matches!(route("/elsewhere"), Route::NotFound));
    }
}
