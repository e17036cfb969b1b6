//! The *ping* half of Ping for Pull, and the one-time registration of the pull URL:
//! [`PingClient`](crate::PingClient) (at the crate root) and what configures it.
//!
//! The user guide (when to ping, registration, retries, bulk re-sync) lives on
//! [`PingClient`](crate::PingClient) itself.
//!
//! Layout, data flowing one way:
//!
//! - `calls` (the three calls) → `client` (the type, its guide and its configuration);
//! - `calls` → `send` (the tower stack `Retry<PingRetry, Sign<Classify<Timeout<C>>>>`) →
//!   `ping_retry` (the `tower::retry::Policy`), `sign` (each attempt's token, from `token`,
//!   the short-lived system token reused for half its life) and `classify` (one attempt's
//!   outcome) → `retry_policy` ([`RetryPolicy`]) → `backoff` ([`Backoff`], also the outbox
//!   relay's), and `retry_after`, `error`;
//! - `client` → `transport` (the [`DefaultClient`]) and `validate` (the base URL).

mod backoff;
mod calls;
mod classify;
pub(crate) mod client;
mod config_error;
pub(crate) mod error;
mod ping_retry;
mod retry_after;
mod retry_policy;
mod send;
mod sign;
mod token;
mod transport;
mod validate;

pub use backoff::Backoff;
pub use client::{DEFAULT_PING_TOKEN_TTL, DEFAULT_REQUEST_TIMEOUT};
pub use config_error::PingConfigError;
pub use retry_policy::RetryPolicy;
pub use transport::DefaultClient;
