//! [`BoxError`]: the error type both halves pass along when they do not know the concrete one.
//!
//! Its own module, below everything: the pull side (a profile source's error) and the ping
//! side (a transport's error) both use it, and neither imports the other.

/// A boxed error, as returned by user-written profile lookups and HTTP clients.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
