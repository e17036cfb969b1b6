//! [`PingClient`]: the *ping* half of Ping for Pull, and the one-time registration of the
//! pull URL.
//!
//! The module is private, so the user guide (when to ping, registration, retries, bulk
//! re-sync) lives on [`PingClient`] itself, where rustdoc shows it.
//!
//! Layout, data flowing one way:
//!
//! - `calls` (the three calls) → `client` (the type, its guide and its configuration);
//! - `calls` → `send` (the tower stack `Retry<PingRetry, Sign<Classify<Timeout<C>>>>`) →
//!   `policy` (the `tower::retry::Policy`), `sign` (each attempt's token, from `token`, the
//!   short-lived system token reused for half its life) and `classify` (one attempt's
//!   outcome) → `retry` ([`RetryPolicy`]), `retry_after`, `error`;
//! - `client` → `transport` (the [`DefaultClient`]) and `validate` (the base URL).

mod calls;
mod classify;
mod client;
mod config_error;
mod error;
mod policy;
mod retry;
mod retry_after;
mod send;
mod sign;
mod token;
mod transport;
mod validate;

pub use client::{DEFAULT_PING_TOKEN_TTL, DEFAULT_REQUEST_TIMEOUT, PingClient};
pub use config_error::PingConfigError;
pub use error::PingError;
pub use retry::RetryPolicy;
pub use transport::DefaultClient;
