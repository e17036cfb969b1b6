//! Livefyre *Ping for Pull* for [tower] servers: keep Livefyre's copy of your users' profiles
//! in sync with your own user database.
//!
//! Livefyre is retired: its service no longer runs. The crate's emulator (feature
//! `emulator`) stands in for Livefyre's side, for tests and local development.
//!
//! # The sequence
//!
//! ```text
//!  your app ──(1) ping: POST /api/v3_0/user/{id}/refresh, lftoken=system token──▶ Livefyre
//!           ◀─(2) 200 ────────────────────────────────────────────────────────── (3,4) queue
//!  your app ◀─(5) pull: GET <your URL, {id} filled in>&lftoken=<system token>── Livefyre
//!           ──(6) 200 profile JSON │ 403 empty body │ 404 ───────────────────▶ (7) remote profile
//! ```
//!
//! When a user edits their profile your app *pings* Livefyre with the id (1); Livefyre
//! answers 200 (2), queues the work (3, 4) and later *pulls* (5): it calls the URL you
//! registered, `{id}` replaced and `lftoken=<JWT>` appended. Your endpoint checks the token
//! (HS256 with the network key, `domain` = your network, `user_id` = `system`, not expired)
//! and answers with the profile JSON (6), or 403 with an empty body when the token is missing
//! or bad; Livefyre keeps the profile as the user's remote profile (7).
//!
//! This crate gives you:
//!
//! - [`Network`]: your network's name and key, and the token functions of the official
//!   Livefyre libraries ([`Network::build_livefyre_token`],
//!   [`Network::build_user_auth_token`], [`Network::validate_livefyre_token`]), byte-compatible
//!   with their tokens.
//! - [`LftokenLayer`]: the tower middleware that answers 403 with an empty body unless the
//!   request carries a valid system token.
//! - [`PullService`] over your [`ProfileSource`]: the pull endpoint itself, answering with
//!   the [`Profile`] JSON Livefyre expects; [`pull_endpoint`] puts the gate in front of it.
//! - `PingClient` (feature `ping`, on by default): the ping and the registration of your
//!   pull URL, with retries.
//! - `outbox::Outbox` (feature `outbox`): durable pings, written in your database
//!   transaction and delivered later by a relay.
//! - `emulator::Emulator` (feature `emulator`): the Livefyre side of the sequence, to test an
//!   integration end to end on one machine.
//! - `metrics` (feature `metrics`): counters, gauges and histograms of pulls, refusals, pings
//!   and the outbox through the `metrics` facade; the module's docs hold the table of names.
//!
//! # Modules
//!
//! The types above, [`UserId`] and the errors you match on are at the root. Every other item
//! has one path, in its module:
//!
//! - [`lftoken`]: the gate's service ([`Lftoken`](lftoken::Lftoken)) and the response to a
//!   refusal ([`MakeRejection`](lftoken::MakeRejection),
//!   [`DefaultRejection`](lftoken::DefaultRejection)).
//! - [`pull`]: the pull service's future, the error of a bad id path template
//!   ([`PathTemplateError`](pull::PathTemplateError)), and how long it waits for your source
//!   by default ([`DEFAULT_SOURCE_TIMEOUT`](pull::DEFAULT_SOURCE_TIMEOUT)).
//! - [`token`]: the claims of a valid token ([`LivefyreClaims`](token::LivefyreClaims)), the
//!   token limits and defaults.
//! - [`profile`]: the parts of a [`Profile`] (name, e-mail notifications, display rules) and
//!   the rules it is checked against.
//! - [`source`]: a closure as a [`ProfileSource`]
//!   ([`profile_source_fn`](source::profile_source_fn)).
//! - [`url`]: the pull URL template ([`PullUrlTemplate`](url::PullUrlTemplate)) and its errors.
//! - `ping` (feature `ping`): the client's retries and backoff (`ping::RetryPolicy`,
//!   `ping::Backoff`), its configuration error, its defaults and its default HTTP client.
//! - `outbox` (feature `outbox`): durable pings, the relay and the admin page.
//! - `emulator` (feature `emulator`): Livefyre's side, and the table of its HTTP API.
//! - `metrics` (feature `metrics`): the table of metric names, units and labels.
//!
//! # Quick start
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response, StatusCode};
//! use tower::{Layer, ServiceExt, service_fn};
//! use tower_livefyre::{LftokenLayer, Network};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let network = Network::new("labs.fyre.co", "network-key")?;
//! let pull = LftokenLayer::new(network.clone()).layer(service_fn(|_req: Request<()>| async {
//!     Ok::<_, Infallible>(Response::new(r#"{"id":"ann","display_name":"Ann"}"#.to_owned()))
//! }));
//!
//! // What Livefyre sends: the system token in `lftoken`.
//! let token = network.build_livefyre_token()?;
//! let request = Request::get(format!("/livefyre/pull?id=ann&lftoken={token}")).body(())?;
//! assert_eq!(pull.clone().oneshot(request).await?.status(), StatusCode::OK);
//!
//! // Anyone else gets a bare 403.
//! let request = Request::get("/livefyre/pull?id=ann").body(())?;
//! assert_eq!(pull.oneshot(request).await?.status(), StatusCode::FORBIDDEN);
//! # Ok(()) }
//! ```
//!
//! # Security
//!
//! No type of this crate shows a key or a token in its `Debug` output, its errors or its
//! logs. Only HS256 is accepted; signatures are compared in constant time.
//!
//! [tower]: https://docs.rs/tower

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(unreachable_pub, rust_2018_idioms)]

mod box_error;
#[cfg(feature = "emulator")]
#[cfg_attr(docsrs, doc(cfg(feature = "emulator")))]
pub mod emulator;
pub mod lftoken;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
mod network;
#[cfg(feature = "outbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub mod outbox;
#[cfg(feature = "ping")]
#[cfg_attr(docsrs, doc(cfg(feature = "ping")))]
pub mod ping;
pub mod profile;
pub mod pull;
mod query;
pub mod source;
pub mod token;
pub mod url;
mod user_id;

// The front door: what every integration names. Everything else has its one path in its
// module (`token::LivefyreClaims`, `url::PullUrlTemplate`, `ping::RetryPolicy`, …).
pub use box_error::BoxError;
pub use lftoken::layer::LftokenLayer;
pub use lftoken::rejection::LftokenRejection;
pub use network::{Network, NetworkError};
#[cfg(feature = "ping")]
#[cfg_attr(docsrs, doc(cfg(feature = "ping")))]
pub use ping::client::PingClient;
#[cfg(feature = "ping")]
#[cfg_attr(docsrs, doc(cfg(feature = "ping")))]
pub use ping::error::PingError;
pub use profile::document::Profile;
pub use profile::validate::ProfileError;
pub use pull::endpoint::pull_endpoint;
pub use pull::rejection::PullRejection;
pub use pull::service::PullService;
pub use source::profile_source::ProfileSource;
pub use token::error::TokenError;
pub use user_id::{UserId, UserIdError};
