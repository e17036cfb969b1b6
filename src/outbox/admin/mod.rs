//! [`OutboxAdmin`]: the outbox admin page, a tower service an app mounts where it likes,
//! behind its own auth.

mod csrf;
mod page;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{
    ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use tower_service::Service;

pub use csrf::AdminRejection;

use super::{Backend, Outbox, OutboxError};
use crate::user_id::UserId;
use csrf::CsrfKey;
use page::Snapshot;

/// The largest form body a requeue reads.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The outbox admin page: counts by state, the oldest ages, the parked rows with their
/// reasons and [`ParkKind`](super::ParkKind)s, the rows awaiting their pull, requeue
/// buttons (all, or one user), and a JSON twin. Server-rendered HTML with inline CSS, no
/// JavaScript, nothing fetched from elsewhere, every value escaped.
///
/// It routes relative to where it is mounted (axum's `nest_service("/admin", …)` strips the
/// prefix), and its forms and redirects use relative URLs, so any prefix works:
///
/// | request | answer |
/// |---|---|
/// | `GET /` (or `HEAD`) | the page, `text/html` |
/// | `GET /?format=json`, or `GET /` with `Accept: application/json` | the same data as one JSON object |
/// | `POST /` or `POST /requeue`, form `csrf=…&user=ID` or `csrf=…&all=1` | requeues; `303` back to the page (`?requeued=N`) |
/// | `POST` refused as cross-site, without or with a bad token | `403`, the reason in the body and as an [`AdminRejection`] in the extensions |
/// | `POST` when [`read_only`](Self::read_only) | `405` with `Allow: GET, HEAD` |
/// | any other path | `404` |
///
/// **Auth is the app's**: mount the service behind your own authentication. **Cross-site
/// request protection is the page's**: a `POST` is refused unless the browser's
/// `Sec-Fetch-Site` is `same-origin` or `none` (or, from a client that sends no fetch
/// metadata, `Origin` names the request's `Host`), and unless its form carries a token the
/// page handed out in the last 24 hours, an HMAC under a per-process random key
/// ([`csrf_key`](Self::csrf_key) sets a shared one for several processes behind one
/// address). Every answer forbids framing and caching.
///
/// # Example
///
/// ```
/// use http::{Request, StatusCode};
/// use http_body_util::{BodyExt, Empty};
/// use sqlx::SqlitePool;
/// use tower::ServiceExt;
/// use tower_livefyre::outbox::Outbox;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
/// outbox.migrate().await?;
/// let admin = outbox.admin();
/// // With axum: `Router::new().nest_service("/admin", admin)` behind your auth layer.
///
/// let page = admin.oneshot(Request::get("/").body(Empty::<bytes::Bytes>::new())?).await?;
/// assert_eq!(page.status(), StatusCode::OK);
/// let html = String::from_utf8(page.into_body().collect().await?.to_bytes().to_vec())?;
/// assert!(html.contains("Nothing is parked."));
/// # Ok(()) }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
#[must_use]
pub struct OutboxAdmin<DB: Backend> {
    outbox: Outbox<DB>,
    read_only: bool,
    limit: u32,
    key: CsrfKey,
}

impl<DB: Backend> Outbox<DB> {
    /// The admin page of this outbox: see [`OutboxAdmin`].
    ///
    /// # Example
    ///
    /// ```
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::outbox::Outbox;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sqlx::Error> {
    /// let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// let admin = outbox.admin().read_only(true);
    /// # let _ = admin;
    /// # Ok(()) }
    /// ```
    pub fn admin(&self) -> OutboxAdmin<DB> {
        OutboxAdmin::new(self.clone())
    }
}

impl<DB: Backend> OutboxAdmin<DB> {
    /// The admin page of `outbox`, with requeue buttons, listing up to 100 rows per list, its
    /// CSRF tokens under a random key of this process.
    ///
    /// # Example
    ///
    /// ```
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::outbox::{Outbox, OutboxAdmin};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sqlx::Error> {
    /// let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// let admin = OutboxAdmin::new(outbox);
    /// # let _ = admin;
    /// # Ok(()) }
    /// ```
    pub fn new(outbox: Outbox<DB>) -> Self {
        Self {
            outbox,
            read_only: false,
            limit: 100,
            key: CsrfKey::random(),
        }
    }

    /// Read-only mode: the page shows no buttons, and every `POST` is answered `405`.
    ///
    /// # Example
    ///
    /// ```
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::outbox::Outbox;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sqlx::Error> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// let admin = outbox.admin().read_only(true);
    /// # let _ = admin;
    /// # Ok(()) }
    /// ```
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// How many parked rows, and how many awaiting rows, the page lists at most (default
    /// 100; the counts are always complete).
    ///
    /// # Example
    ///
    /// ```
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::outbox::Outbox;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sqlx::Error> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// let admin = outbox.admin().list_limit(20);
    /// # let _ = admin;
    /// # Ok(()) }
    /// ```
    pub fn list_limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// The key the CSRF tokens are an HMAC under, instead of this process's random one:
    /// give every process behind one address the same secret, so that a form from one is
    /// accepted by the next. Keep it secret; any length works, 32 random bytes are plenty.
    ///
    /// # Example
    ///
    /// ```
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::outbox::Outbox;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sqlx::Error> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// let secret = std::env::var("ADMIN_CSRF_KEY").unwrap_or_default();
    /// # let secret = "a shared secret";
    /// let admin = outbox.admin().csrf_key(secret);
    /// # let _ = admin;
    /// # Ok(()) }
    /// ```
    pub fn csrf_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.key = CsrfKey::new(key.as_ref());
        self
    }
}

impl<DB: Backend> Clone for OutboxAdmin<DB> {
    fn clone(&self) -> Self {
        Self {
            outbox: self.outbox.clone(),
            read_only: self.read_only,
            limit: self.limit,
            key: self.key.clone(),
        }
    }
}

impl<DB: Backend> fmt::Debug for OutboxAdmin<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxAdmin")
            .field("outbox", &self.outbox)
            .field("read_only", &self.read_only)
            .field("list_limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// The future of [`OutboxAdmin`]'s answer. It reads the database, so it is boxed.
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub struct ResponseFuture {
    inner: Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>,
}

impl Future for ResponseFuture {
    type Output = Result<Response<Full<Bytes>>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx).map(Ok)
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<DB, B> Service<Request<B>> for OutboxAdmin<DB>
where
    DB: Backend,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<crate::box_error::BoxError>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let admin = self.clone();
        ResponseFuture {
            inner: Box::pin(async move { admin.answer(request).await }),
        }
    }
}

/// Where a path inside the mount goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `/` (or empty: a mount without a trailing slash).
    Page,
    /// `/requeue`.
    Requeue,
}

impl<DB: Backend> OutboxAdmin<DB> {
    async fn answer<B>(self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<crate::box_error::BoxError>,
    {
        let route = match request.uri().path() {
            "" | "/" => Route::Page,
            "/requeue" => Route::Requeue,
            _ => return plain(StatusCode::NOT_FOUND, "not found"),
        };
        let method = request.method().clone();
        if method == Method::POST {
            return self.requeue(route, request).await;
        }
        if route == Route::Requeue || !(method == Method::GET || method == Method::HEAD) {
            let allow = match (route, self.read_only) {
                (Route::Requeue, _) => "POST",
                (Route::Page, true) => "GET, HEAD",
                (Route::Page, false) => "GET, HEAD, POST",
            };
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            return response;
        }
        let query = request.uri().query().unwrap_or("");
        let mut wants_json = false;
        let mut requeued = None;
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*name {
                "format" => wants_json = value == "json",
                "requeued" => requeued = value.parse::<u64>().ok(),
                _ => {}
            }
        }
        wants_json |= prefers_json(request.headers());
        let snapshot = match self.snapshot().await {
            Ok(snapshot) => snapshot,
            Err(error) => {
                tracing::error!(target: "tower_livefyre::outbox", %error, "the outbox admin page could not read the outbox");
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the outbox could not be read (the reason is in the server log)",
                );
            }
        };
        if wants_json {
            let body = page::json(&snapshot).to_string();
            return respond(StatusCode::OK, "application/json", body);
        }
        let token = (!self.read_only).then(|| self.key.token(SystemTime::now()));
        let html = page::html(&snapshot, token.as_deref(), requeued).into_string();
        respond(StatusCode::OK, "text/html; charset=utf-8", html)
    }

    async fn snapshot(&self) -> Result<Snapshot, OutboxError> {
        Ok(Snapshot {
            stats: self.outbox.stats().await?,
            parked: self.outbox.parked(self.limit).await?,
            awaiting: self.outbox.awaiting(self.limit).await?,
            limit: self.limit,
            read_only: self.read_only,
        })
    }

    async fn requeue<B>(&self, route: Route, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<crate::box_error::BoxError>,
    {
        if self.read_only {
            let mut response = refuse(StatusCode::METHOD_NOT_ALLOWED, AdminRejection::ReadOnly);
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let (parts, body) = request.into_parts();
        if !csrf::same_origin(&parts.headers, parts.uri.authority().map(|a| a.as_str())) {
            return refuse(StatusCode::FORBIDDEN, AdminRejection::CrossSite);
        }
        let Ok(form) = Limited::new(body, MAX_FORM_BYTES).collect().await else {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the form is too large, or its body failed",
            );
        };
        let form = form.to_bytes();
        let (mut token, mut user, mut all) = (None, None, false);
        for (name, value) in form_urlencoded::parse(&form) {
            match &*name {
                "csrf" => token = Some(value.into_owned()),
                "user" => user = Some(value.into_owned()),
                "all" => all = true,
                _ => {}
            }
        }
        match token {
            None => return refuse(StatusCode::FORBIDDEN, AdminRejection::MissingToken),
            Some(token) if !self.key.verify(&token, SystemTime::now()) => {
                return refuse(StatusCode::FORBIDDEN, AdminRejection::BadToken);
            }
            Some(_) => {}
        }
        let requeued = match (user, all) {
            (Some(user), _) => match user.parse::<UserId>() {
                Ok(id) => self.outbox.requeue(&id).await.map(u64::from),
                Err(error) => {
                    return plain(StatusCode::BAD_REQUEST, &format!("user {user:?}: {error}"));
                }
            },
            (None, true) => self.outbox.requeue_all().await,
            (None, false) => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    "name a user (`user=ID`) or all parked rows (`all=1`)",
                );
            }
        };
        let requeued = match requeued {
            Ok(requeued) => requeued,
            Err(error) => {
                tracing::error!(target: "tower_livefyre::outbox", %error, "the outbox admin page could not requeue");
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the requeue failed (the reason is in the server log)",
                );
            }
        };
        tracing::info!(target: "tower_livefyre::outbox", requeued, "requeued from the admin page");
        // Relative, so any mount prefix works: `?…` is the page itself (for `POST /`, the
        // page's own URL), `./?…` its parent (for `POST …/requeue`).
        let location = match route {
            Route::Page => format!("?requeued={requeued}"),
            Route::Requeue => format!("./?requeued={requeued}"),
        };
        let mut response = plain(StatusCode::SEE_OTHER, "requeued; back to the page");
        response.headers_mut().insert(
            LOCATION,
            HeaderValue::try_from(location).expect("digits and ASCII"),
        );
        response
    }
}

/// Whether `Accept` names JSON before (or without) HTML.
fn prefers_json(headers: &http::HeaderMap) -> bool {
    let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let position = |kind: &str| accept.find(kind);
    match (position("application/json"), position("text/html")) {
        (Some(json), Some(html)) => json < html,
        (Some(_), None) => true,
        _ => false,
    }
}

fn refuse(status: StatusCode, reason: AdminRejection) -> Response<Full<Bytes>> {
    tracing::debug!(target: "tower_livefyre::outbox", %reason, "the outbox admin page refused a request");
    let mut response = plain(status, &reason.to_string());
    response.extensions_mut().insert(reason);
    response
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    respond(status, "text/plain; charset=utf-8", format!("{text}\n"))
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}
