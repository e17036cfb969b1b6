//! [`PullService`]: answers Livefyre's pull with the profile from a [`ProfileSource`].

use std::convert::Infallible;
use std::fmt;
use std::future::Future as _;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response};
use http_body_util::Full;
use tower_service::Service;

use super::future::ResponseFuture;
use super::id_location::{IdLocation, PathTemplateError};
use super::rejection::PullRejection;
use crate::box_error::BoxError;
use crate::profile::document::Profile;
use crate::source::profile_source::ProfileSource;
use crate::user_id::UserId;

/// Default time a [`ProfileSource`] has to answer.
pub const DEFAULT_SOURCE_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers Livefyre's pull request with the profile JSON from a [`ProfileSource`].
///
/// It does not check `lftoken`: put it behind [`LftokenLayer`](crate::LftokenLayer), or build
/// both at once with [`pull_endpoint`](crate::pull_endpoint).
///
/// | request | answer |
/// |---|---|
/// | method not GET/HEAD | 405 with `Allow: GET, HEAD` |
/// | id missing, duplicated, or not a [`UserId`] (empty, too long, other bytes) | 400 |
/// | source returns `None` | 404 |
/// | source fails / times out | 500 / 504 |
/// | source returns an invalid profile, or one with another `id` | 500 |
/// | profile found | 200, `application/json`, `cache-control: no-store` |
///
/// Every answer but 200 has an empty body and carries its [`PullRejection`] in the response's
/// extensions. `Error = Infallible` and the body is `Full<Bytes>`, so it drops into axum's
/// `route_service`.
///
/// # Example
///
/// ```
/// use std::collections::HashMap;
/// use http::{Request, StatusCode};
/// use http_body_util::BodyExt;
/// use tower::ServiceExt;
/// use tower_livefyre::{Profile, PullService};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let users = HashMap::from([("ann".to_owned(), Profile::new("ann".parse()?, "Ann Lee"))]);
/// let service = PullService::new(users);
///
/// let response = service.oneshot(Request::get("/pull?id=ann").body(())?).await?;
/// assert_eq!(response.status(), StatusCode::OK);
/// let body = response.into_body().collect().await?.to_bytes();
/// assert_eq!(body, r#"{"id":"ann","display_name":"Ann Lee"}"#);
/// # Ok(()) }
/// ```
#[must_use]
pub struct PullService<S> {
    source: Arc<S>,
    config: Arc<Config>,
}

#[derive(Debug, Clone)]
struct Config {
    timeout: Duration,
    id: IdLocation,
}

impl<S: ProfileSource> PullService<S> {
    /// Serves profiles from `source`, reading the id from the `id` query parameter (the
    /// documented template `https://example.com/some_path/?id={id}`) with a 10 s timeout.
    pub fn new(source: S) -> Self {
        Self {
            source: Arc::new(source),
            config: Arc::new(Config {
                timeout: DEFAULT_SOURCE_TIMEOUT,
                id: IdLocation::Query("id".to_owned()),
            }),
        }
    }
}

impl<S> PullService<S> {
    /// How long the source has to answer before the pull gets 504. Default: 10 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.config).timeout = timeout;
        self
    }

    /// Reads the id from the query parameter `name` instead of `id`.
    ///
    /// ```
    /// # use std::collections::HashMap;
    /// # use tower_livefyre::{Profile, PullService};
    /// // Registered template: https://example.com/livefyre?user={id}
    /// let service = PullService::new(HashMap::<String, Profile>::new()).id_from_query("user");
    /// ```
    pub fn id_from_query(mut self, name: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.config).id = IdLocation::Query(name.into());
        self
    }

    /// Reads the id from the request path, as matched by `template`, such as
    /// `/users/{id}/pull` (the path as this service sees it: after any prefix your router
    /// strips). The id is one percent-decoded path segment.
    ///
    /// # Errors
    ///
    /// [`PathTemplateError`] unless the template starts with `/` and holds `{id}` once.
    ///
    /// ```
    /// # use std::collections::HashMap;
    /// # use tower_livefyre::{Profile, PullService};
    /// let service = PullService::new(HashMap::<String, Profile>::new())
    ///     .id_from_path("/users/{id}/pull")?;
    /// # Ok::<(), tower_livefyre::pull::PathTemplateError>(())
    /// ```
    pub fn id_from_path(mut self, template: &str) -> Result<Self, PathTemplateError> {
        Arc::make_mut(&mut self.config).id = IdLocation::path(template)?;
        Ok(self)
    }
}

impl<S> Clone for PullService<S> {
    fn clone(&self) -> Self {
        Self {
            source: self.source.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S> fmt::Debug for PullService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PullService")
            .field("timeout", &self.config.timeout)
            .field("id", &self.config.id)
            .finish_non_exhaustive()
    }
}

impl<S: ProfileSource, B> Service<Request<B>> for PullService<S> {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        #[cfg_attr(not(feature = "metrics"), allow(clippy::let_unit_value))]
        let started = started();
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            let mut response = refuse(PullRejection::MethodNotAllowed);
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return ResponseFuture::ready(answered(response, started));
        }
        let id = match self.config.id.extract(request.uri()) {
            Ok(id) => id,
            Err(reason) => return ResponseFuture::ready(answered(refuse(reason), started)),
        };
        // A profile held in memory is answered here, with nothing copied or boxed.
        if let Some(profile) = self.source.profile_ref(&id) {
            let response = match check(profile, &id) {
                Ok(()) => profile_response(profile),
                Err(reason) => refuse_logged(reason, &id),
            };
            return ResponseFuture::ready(answered(response, started));
        }
        // Checked by `extract`; the one copy an asynchronous lookup needs anyway.
        let id = UserId::from_checked(id.into_owned());
        let source = self.source.clone();
        let timeout = self.config.timeout;
        ResponseFuture::lookup(async move {
            let response = match lookup(&*source, &id, timeout).await {
                Ok(profile) => profile_response(&profile),
                Err(reason) => refuse_logged(reason, &id),
            };
            answered(response, started)
        })
    }
}

/// When a pull arrived, for `livefyre_pull_duration_seconds`; nothing without the `metrics`
/// feature.
#[cfg(feature = "metrics")]
type Started = std::time::Instant;
#[cfg(not(feature = "metrics"))]
type Started = ();

#[cfg(feature = "metrics")]
fn started() -> Started {
    std::time::Instant::now()
}
#[cfg(not(feature = "metrics"))]
#[inline]
fn started() -> Started {}

/// The answer, counted in `livefyre_pull_answers_total` by its outcome (the rejection in its
/// extensions, if any) with the `metrics` feature; unchanged without it.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
fn answered(response: Response<Full<Bytes>>, started: Started) -> Response<Full<Bytes>> {
    #[cfg(feature = "metrics")]
    {
        let outcome = response.extensions().get::<PullRejection>().map_or(
            crate::metrics::PullOutcome::Ok,
            PullRejection::metric_outcome,
        );
        crate::metrics::pull_answered(outcome, started);
    }
    response
}

/// The profile for `id`, checked to be one Livefyre accepts for that id.
async fn lookup<S: ProfileSource>(
    source: &S,
    id: &UserId,
    timeout: Duration,
) -> Result<Profile, PullRejection> {
    let mut answer = std::pin::pin!(source.profile(id));
    // Sources that answer at once (maps, caches) need no timer: poll once before arming one.
    // The error becomes a `BoxError` at once: the source's own error type need not be `Send`.
    let first = std::future::poll_fn(|cx| {
        Poll::Ready(
            answer
                .as_mut()
                .poll(cx)
                .map(|r| r.map_err(Into::<BoxError>::into)),
        )
    })
    .await;
    let answer: Result<Option<Profile>, BoxError> = match first {
        Poll::Ready(answer) => answer,
        Poll::Pending => tokio::time::timeout(timeout, answer)
            .await
            .map_err(|_| PullRejection::Timeout(timeout))?
            .map_err(Into::into),
    };
    let profile = answer
        .map_err(|error| PullRejection::SourceFailed(Arc::new(error)))?
        .ok_or(PullRejection::NotFound)?;
    check(&profile, id)?;
    Ok(profile)
}

/// Whether `profile` is one Livefyre accepts as the answer for `id`: the one home of the
/// rule, also used by the outbox's pull confirmation.
pub(crate) fn check(profile: &Profile, id: &str) -> Result<(), PullRejection> {
    if profile.id.as_str() != id {
        return Err(PullRejection::IdMismatch);
    }
    profile.validate()?;
    Ok(())
}

fn profile_response(profile: &Profile) -> Response<Full<Bytes>> {
    // A profile is strings, booleans and enums: serializing it does not fail in practice.
    // Room for a typical profile up front, rather than growing from serde_json's 128 bytes.
    let mut json = Vec::with_capacity(512);
    if let Err(error) = serde_json::to_writer(&mut json, profile) {
        return refuse(PullRejection::SourceFailed(Arc::new(error.into())));
    }
    let mut response = Response::new(Full::new(Bytes::from(json)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// [`refuse`], with server errors (the source's fault, not Livefyre's) logged at `error!`.
fn refuse_logged(reason: PullRejection, id: &str) -> Response<Full<Bytes>> {
    if reason.is_server_error() {
        tracing::error!(user_id = %id, %reason, "Livefyre pull failed");
    }
    refuse(reason)
}

/// The empty-bodied answer for `reason`, with the reason in the extensions.
fn refuse(reason: PullRejection) -> Response<Full<Bytes>> {
    tracing::debug!(%reason, "Livefyre pull refused");
    let mut response = Response::new(Full::default());
    *response.status_mut() = reason.status();
    response.extensions_mut().insert(reason);
    response
}
