//! [`PingClient`]: the *ping* half of Ping for Pull, and the one-time registration of the
//! pull URL.
//!
//! The module is private, so the user guide (when to ping, registration, retries, bulk
//! re-sync) lives on [`PingClient`] itself, where rustdoc shows it.

mod client;
mod error;
mod retry;
mod send;
mod validate;

pub use client::{DEFAULT_REQUEST_TIMEOUT, PingClient};
pub use error::PingError;
pub use retry::RetryPolicy;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
