//! Livefyre on your laptop: the Livefyre side of Ping for Pull, for end-to-end tests and
//! local development (feature `emulator`).
//!
//! An [`Emulator`] listens on a loopback port and answers like Livefyre's API host: it takes
//! the registration of your pull URL template and your pings, queues the pulls, calls your
//! pull endpoint with a fresh system token, and keeps what it got as the user's *remote
//! profile*. Your test then asks it what happened.
//!
//! # HTTP API
//!
//! This table is the one description of the emulator's HTTP API.
//!
//! | request | answer |
//! |---|---|
//! | `POST /` with `actor_token` (a system token) and `pull_profile_url` (the template) | 204; 403 bad token; 400 (text body: why) for a template [`PullUrlTemplate`] refuses |
//! | `POST /api/v3_0/user/{id}/refresh` (also `/api/v3.0/…`) with `lftoken` | 200 and a pull is queued (late, or none, under a [`late_pull` or `no_pull` fault](#ping-faults)); 403 bad token; 400 (text body: why) for an id that is not a [`UserId`]; **409** (text body) when no template is registered yet; 503 when the pull queue is full; or what a [ping fault](#ping-faults) says |
//! | `GET /_emulator/profiles/{id}` | 200 `application/json`, the remote profile; 404 |
//! | `GET /_emulator/pulls` | 200, a JSON array of [`PullRecord`]s, oldest first |
//! | `GET /_emulator/pings` (optionally `?id=ID`) | 200, a JSON array of [`PingRecord`]s, oldest first: `id`, `arrived`, `answered` (Unix seconds), `answer` (a status, or `"dropped"`) |
//! | `POST /_emulator/faults` with a JSON array of steps | 204, the plan replaces the faults in force; 400 (text body) with the reason |
//! | `DELETE /_emulator/faults` | 204, no more faults |
//! | `GET /_emulator/` (also `/_emulator`) | 200 `text/html`: one page of all of the above — the template, the remote profiles, the pull log with outcomes and reasons, the ping log with answers, the faults in force; inline CSS, no script, reloads itself every 2 s; never a token |
//!
//! Parameters may be in an `application/x-www-form-urlencoded` body or in the query string
//! (Livefyre's own clients used both); the body is read as a form whatever its
//! `Content-Type`. A token is valid when [`Network::validate_livefyre_token`] accepts it.
//! Another method on these paths gets 405 with `Allow`, a body over 64 KiB (the
//! [`max_body_bytes`](EmulatorBuilder::max_body_bytes)) gets 413, and any other path 404.
//!
//! The API has no authentication: keep the emulator on loopback. Slow clients are bounded: a
//! request's headers must arrive within 10 s ([`header_read_timeout`](EmulatorBuilder::header_read_timeout);
//! the connection is closed otherwise, and an idle keep-alive connection too), its body
//! within 10 s more ([`body_read_timeout`](EmulatorBuilder::body_read_timeout); 408 and
//! the connection closed otherwise), and at most 256 connections are open at once
//! ([`max_connections`](EmulatorBuilder::max_connections); more wait to be accepted).
//!
//! # Ping faults
//!
//! To test how a client lives through an outage, pings can be answered with a fault instead
//! of being accepted, or accepted and then pulled late or never: a [`FaultPlan`] is a list
//! of steps, each a [`PingFault`] for a [`FaultLimit`] (a number of pings, a time window, or
//! until cleared), played in order; after the last step pings are answered normally again.
//! Set it with [`EmulatorBuilder::faults`], [`Emulator::set_faults`], or
//! `POST /_emulator/faults`:
//!
//! ```json
//! [
//!   {"fault": "unavailable", "for_ms": 10000},
//!   {"fault": "unavailable", "retry_after": 2, "pings": 5},
//!   {"fault": "slow", "delay_ms": 1500, "pings": 1},
//!   {"fault": "no_pull", "pings": 3},
//!   {"fault": "late_pull", "delay_ms": 120000, "for_ms": 60000}
//! ]
//! ```
//!
//! | `fault` | answer | other fields |
//! |---|---|---|
//! | `"unavailable"` | 503 | `retry_after` (seconds) adds `Retry-After` |
//! | `"too_many_requests"` | 429 | `retry_after` as above |
//! | `"forbidden"` | 403 (a permanent failure for a client) | |
//! | `"slow"` | the usual answer, `delay_ms` later | `delay_ms` (required) |
//! | `"drop"` | none: the connection is closed | |
//! | `"no_pull"` | the usual answer; if it is 200 (accepted), no pull is queued for it | |
//! | `"late_pull"` | the usual answer, at once; if it is 200, its pull is queued `delay_ms` after the answer | `delay_ms` (required) |
//!
//! Each step takes `pings` (a count) or `for_ms` (a window that starts when the step does),
//! or neither (until cleared); unknown fields and unknown `fault` names are refused, and so
//! is `slow` or `late_pull` without `delay_ms`, each with a 400 naming the step. A fault is
//! met after the body is read and before the token is checked; only pings whose path holds
//! a valid user id meet faults, and each such ping spends one ping of the step in force,
//! whatever its answer (a `no_pull` ping with a bad token is still answered 403). Only
//! `slow`, `no_pull` and `late_pull` pings can be accepted. Every such ping, faulty or not,
//! is in the ping log with the time it arrived and the time it was answered (a `no_pull` or
//! `late_pull` ping shows as accepted, `200`), so a test can check that no user was pinged
//! twice at once ([`Emulator::overlapping_pings`]).
//!
//! A `no_pull` ping never appears in the pull log and is no request for
//! [`Emulator::wait_for_pull`]. A `late_pull` ping counts as a request when it is answered;
//! its pull waits beside the queue, without holding up a worker or any other pull, and joins
//! the queue when due, coalescing there as a ping arriving then would (below). A later
//! normal ping of the same id queues its pull as usual, and the late one still comes after
//! its delay: the id is pulled twice. [`Emulator::pending_pulls`] counts late pulls not yet
//! due, and shutdown drops them.
//!
//! # Pulls
//!
//! Each pull is `GET` on the template with `{id}` replaced by the percent-encoded id and
//! `lftoken=<a new system token>` appended (with `&` if the template has a query, else `?`).
//! Only `http://` templates can be pulled; an `https://` one is recorded as `connect_error`.
//! A 200 whose body is a valid [`Profile`] for that id is stored; everything else is
//! recorded with its [`PullOutcome`] and leaves the remote profile as it was.
//!
//! Pings for one id coalesce: while it waits in the queue more pings change nothing; while
//! it is being pulled, a ping queues one more pull that starts after the current one. One id
//! is never pulled twice at once, and the last pull always starts after the last ping, so
//! the remote profile ends up with the newest data.
//!
//! # Layout
//!
//! Data flows one way (`a → b`: `a` uses `b`):
//!
//! - `builder` ([`EmulatorBuilder`]) starts `server` (the HTTP API above, `params` its
//!   parameters, `page` the HTML page, `fault_json` the JSON form of a [`FaultPlan`]) and
//!   `workers` (the pull workers and the late-pull timer), which pull with `puller` (one GET
//!   of your endpoint, judged) — all over `state`;
//! - `state` holds three parts, each behind its own lock (`lock`): `pull_queue` (the queue,
//!   per-user bookkeeping, remote profiles, the template and the pull log, finished
//!   atomically), `ping_log` and `faults_in_force` (the [`FaultPlan`] in `fault`, as time
//!   goes by); both logs are a `bounded_log`;
//! - records: `pull_record` ([`PullRecord`]) and `ping_record` ([`PingRecord`]), `error`
//!   ([`EmulatorError`]).
//!
//! # Example
//!
//! Your pull endpoint (here [`LftokenLayer`](crate::LftokenLayer) over a closure, served by
//! hyper) is pinged through the emulator's HTTP API, exactly as in production:
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::Duration;
//!
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::Full;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::{TokioExecutor, TokioIo};
//! use hyper_util::service::TowerToHyperService;
//! use tower::{Layer, service_fn};
//! use tower_livefyre::emulator::{Emulator, PullOutcome};
//! use tower_livefyre::{LftokenLayer, Network, Profile, UserId};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let network = Network::new("labs.fyre.co", "network-key")?;
//!
//! // Your side: a pull endpoint that knows one user.
//! let endpoint = LftokenLayer::new(network.clone()).layer(service_fn(|_req: Request<_>| async {
//!     let profile = Profile::new(UserId::from_static("ann"), "Ann Lee");
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(serde_json::to_vec(&profile).unwrap()))))
//! }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let pull_addr = listener.local_addr()?;
//! tokio::spawn(async move {
//!     while let Ok((stream, _)) = listener.accept().await {
//!         let service = TowerToHyperService::new(endpoint.clone());
//!         tokio::spawn(hyper::server::conn::http1::Builder::new()
//!             .serve_connection(TokioIo::new(stream), service));
//!     }
//! });
//!
//! // Livefyre's side.
//! let emulator = Emulator::start(network.clone()).await?;
//! let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
//! let post = |path: String, form: String| {
//!     Request::post(format!("{}{path}", emulator.url()))
//!         .header("content-type", "application/x-www-form-urlencoded")
//!         .body(Full::new(Bytes::from(form)))
//! };
//! let token = network.build_livefyre_token()?;
//! let template = format!("http://{pull_addr}/pull?id={{id}}");
//! let form = form_urlencoded::Serializer::new(String::new())
//!     .append_pair("actor_token", &token)
//!     .append_pair("pull_profile_url", &template)
//!     .finish();
//! assert_eq!(client.request(post("/".into(), form)?).await?.status(), 204);
//!
//! let ping = post("/api/v3_0/user/ann/refresh".into(), format!("lftoken={token}"))?;
//! assert_eq!(client.request(ping).await?.status(), 200);
//!
//! let ann = UserId::from_static("ann");
//! let record = emulator.wait_for_pull(&ann, Duration::from_secs(5)).await?;
//! assert_eq!(record.outcome, PullOutcome::Stored);
//! assert_eq!(emulator.remote_profile(&ann), Some(Profile::new(ann, "Ann Lee")));
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::network::Network;

use crate::profile::document::Profile;

use crate::url::PullUrlTemplate;

use crate::user_id::UserId;

mod bounded_log;
mod builder;
mod error;
mod fault;
mod fault_json;
mod faults_in_force;
mod lock;
mod page;
mod params;
mod ping_log;
mod ping_record;
mod pull_queue;
mod pull_record;
mod puller;
mod server;
mod state;
mod workers;

pub use builder::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_LOG_CAPACITY,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS, DEFAULT_PULL_TIMEOUT, DEFAULT_WORKERS,
    EmulatorBuilder,
};
pub use error::EmulatorError;
pub use fault::{FaultLimit, FaultPlan, PingFault};
pub use ping_record::{PingAnswer, PingRecord};
pub use pull_record::{PullOutcome, PullRecord};

use state::State;

/// How long pulls and connections in progress get to finish once shutdown starts.
const GRACE: Duration = Duration::from_secs(1);

/// A running Livefyre emulator; see the [module documentation](self) for its HTTP API.
///
/// Dropping it aborts its tasks; [`shutdown`](Self::shutdown) stops it gracefully.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::Network;
/// use tower_livefyre::emulator::{Emulator, PullOutcome};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let emulator = Emulator::start(Network::new("labs.fyre.co", "network-key")?).await?;
/// assert!(emulator.url().starts_with("http://127.0.0.1:"));
/// assert_eq!(emulator.pull_url_template(), None);
///
/// // A port that was just free: the pull cannot connect.
/// let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
/// emulator.set_pull_url_template(format!("http://{closed}/pull?id={{id}}").parse()?);
/// let ann = "ann".parse()?;
/// emulator.request_pull(&ann)?;
/// let record = emulator.wait_for_pull(&ann, Duration::from_secs(5)).await?;
/// assert_eq!(record.outcome, PullOutcome::ConnectError);
/// assert_eq!(emulator.remote_profile(&ann), None);
/// assert_eq!(emulator.pull_log(), vec![record]);
/// emulator.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Emulator {
    local_addr: SocketAddr,
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
    /// The accept loop and the workers; dropping the set aborts them.
    tasks: JoinSet<()>,
}

impl Emulator {
    /// A builder to configure where the emulator listens and how it pulls.
    pub fn builder(network: Network) -> EmulatorBuilder {
        EmulatorBuilder::new(network)
    }

    /// Starts an emulator with the defaults of [`EmulatorBuilder`] (a free loopback port).
    ///
    /// # Errors
    ///
    /// [`EmulatorError::Bind`] when no socket can be opened.
    pub async fn start(network: Network) -> Result<Self, EmulatorError> {
        Self::builder(network).start().await
    }

    /// The base URL, for example `http://127.0.0.1:40123` (no trailing slash).
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The address it listens on.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The pull URL template registered last, if any.
    #[must_use]
    pub fn pull_url_template(&self) -> Option<PullUrlTemplate> {
        self.state.pulls.template()
    }

    /// Registers the pull URL template directly, as `POST /` does (the template was checked
    /// when it was parsed, by the same rule).
    pub fn set_pull_url_template(&self, template: PullUrlTemplate) {
        self.state.pulls.set_template(template);
    }

    /// Queues a pull of `id` as an accepted ping does (Livefyre also pulled on its own,
    /// the first time it met an unknown user).
    ///
    /// # Errors
    ///
    /// [`EmulatorError::NoPullUrl`] before a template is registered,
    /// [`EmulatorError::QueueFull`].
    pub fn request_pull(&self, id: &UserId) -> Result<(), EmulatorError> {
        if self.state.pulls.template().is_none() {
            return Err(EmulatorError::NoPullUrl);
        }
        self.state
            .pulls
            .request_pull(id)
            .map_err(|_full| EmulatorError::QueueFull)
    }

    /// The remote profile of `id`: what the last `stored` pull returned.
    #[must_use]
    pub fn remote_profile(&self, id: &UserId) -> Option<Profile> {
        self.state.pulls.profile(id)
    }

    /// Every completed pull attempt, oldest first (the last
    /// [`log_capacity`](EmulatorBuilder::log_capacity), 100,000 by default).
    #[must_use]
    pub fn pull_log(&self) -> Vec<PullRecord> {
        self.state.pulls.pull_log()
    }

    /// Every ping received with a valid user id, oldest first, whatever its answer (the
    /// last [`log_capacity`](EmulatorBuilder::log_capacity)). `GET /_emulator/pings` shows
    /// the same records.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::Network;
    /// use tower_livefyre::emulator::Emulator;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let emulator = Emulator::start(Network::new("labs.fyre.co", "network-key")?).await?;
    /// assert!(emulator.ping_log().is_empty());
    /// assert!(emulator.ping_counts().is_empty());
    /// assert!(emulator.overlapping_pings().is_empty());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn ping_log(&self) -> Vec<PingRecord> {
        self.state.pings.records()
    }

    /// How many pings each user id received (every answer counted), from the ping log.
    #[must_use]
    pub fn ping_counts(&self) -> HashMap<UserId, usize> {
        let mut counts = HashMap::new();
        for record in self.state.pings.records() {
            *counts.entry(record.id).or_insert(0) += 1;
        }
        counts
    }

    /// Pairs of pings of one user that were handled at the same time (see
    /// [`PingRecord::overlaps`]), each pair in arrival order; empty when no user was ever
    /// pinged twice at once.
    #[must_use]
    pub fn overlapping_pings(&self) -> Vec<(PingRecord, PingRecord)> {
        let mut by_user: HashMap<UserId, Vec<PingRecord>> = HashMap::new();
        for record in self.state.pings.records() {
            by_user.entry(record.id.clone()).or_default().push(record);
        }
        let mut overlapping = Vec::new();
        for mut pings in by_user.into_values() {
            pings.sort_by_key(|record| record.arrived);
            // The ping answered last among those before: any later arrival before its
            // answer overlaps it.
            let mut latest: Option<&PingRecord> = None;
            for record in &pings {
                if let Some(earlier) = latest.filter(|earlier| earlier.overlaps(record)) {
                    overlapping.push((earlier.clone(), record.clone()));
                }
                if latest.is_none_or(|earlier| record.answered > earlier.answered) {
                    latest = Some(record);
                }
            }
        }
        overlapping.sort_by_key(|(first, _)| first.arrived);
        overlapping
    }

    /// Replaces the ping faults in force with `plan`, whose first step begins now. An
    /// empty plan clears them, as `DELETE /_emulator/faults` does.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_livefyre::Network;
    /// use tower_livefyre::emulator::{Emulator, FaultLimit, FaultPlan, PingFault};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let emulator = Emulator::start(Network::new("labs.fyre.co", "network-key")?).await?;
    /// // An outage from now on, for two seconds.
    /// let outage = PingFault::Unavailable { retry_after: None };
    /// emulator.set_faults(FaultPlan::new().then(outage, FaultLimit::For(Duration::from_secs(2))));
    /// // Over early.
    /// emulator.set_faults(FaultPlan::new());
    /// # Ok(()) }
    /// ```
    pub fn set_faults(&self, plan: FaultPlan) {
        self.state.faults.set(plan);
    }

    /// How many pulls are queued, in progress, or [late](PingFault::LatePull) and not yet
    /// due, right now; 0 when the emulator is idle.
    ///
    /// A burst of pings of one id counts at most 2: one pull in progress and one queued
    /// behind it (and one more for each late pull still waiting).
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::Network;
    /// use tower_livefyre::emulator::Emulator;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let emulator = Emulator::start(Network::new("labs.fyre.co", "network-key")?).await?;
    /// assert_eq!(emulator.pending_pulls(), 0);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn pending_pulls(&self) -> usize {
        self.state.pulls.pending_pulls()
    }

    /// Waits for the pull of `id` that answers every ping accepted before this call, and
    /// returns its record (whatever the outcome).
    ///
    /// Precisely: it returns the latest completed pull of `id` that *started* after the
    /// last ping (or [`request_pull`](Self::request_pull)) of `id` accepted before the call.
    /// If that pull already completed, it returns at once, so a fast pull is never missed.
    /// With no ping of `id` yet, any completed pull of `id` will do.
    /// A [`no_pull`](PingFault::NoPull) ping is not counted; a
    /// [`late_pull`](PingFault::LatePull) one is, from its answer, so the wait covers its
    /// late pull (or any pull of `id` that starts after it).
    ///
    /// # Errors
    ///
    /// [`EmulatorError::Timeout`] when no such pull completes within `timeout`.
    pub async fn wait_for_pull(
        &self,
        id: &UserId,
        timeout: Duration,
    ) -> Result<PullRecord, EmulatorError> {
        // Subscribe before reading the state, so a completion in between is not missed.
        let mut completed = self.state.pulls.completions();
        let requested = self.state.pulls.requested(id);
        let wait = async {
            loop {
                if let Some(record) = self.state.pulls.last_covering(id, requested) {
                    return record;
                }
                if completed.changed().await.is_err() {
                    // The sender lives in `self.state`; this cannot happen while `self` does.
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_elapsed| EmulatorError::Timeout {
                id: id.clone(),
                timeout,
            })
    }

    /// Stops the emulator: the port is closed at once, no new pull starts, and pulls and
    /// requests in progress get a short grace (1 s) before they are cancelled. Returns when
    /// every task has ended. Pulls still waiting in the queue, and late pulls not yet due,
    /// are dropped.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        let tasks = &mut self.tasks;
        let joined = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(GRACE, joined).await.is_err() {
            self.tasks.shutdown().await;
        }
    }
}

/// Resolves once shutdown is signalled, or the emulator is gone. Returns nothing, so no
/// (non-`Send`) borrow of the channel's value is held by the caller.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}
