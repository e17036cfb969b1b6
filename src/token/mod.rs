//! Livefyre tokens: building them as the official libraries did, and validating them.
//!
//! A Livefyre token is a compact JWS signed with HS256 and the network key, carrying the
//! custom claims `domain`, `user_id`, `display_name` and `expires` (Unix seconds; no standard
//! `exp`). The *system token* is the one with `user_id == "system"`; it is what Livefyre
//! sends as `lftoken` on every pull, and what the ping client sends to Livefyre.
//!
//! Layout, data flowing one way: `build` (the official libraries' token, byte for byte) and
//! `validate` (every check, in order) → `cache` (the per-thread memory of valid tokens) →
//! `keys` (the domain and the prepared keys), `claims`, `error`.

mod build;
mod cache;
mod claims;
pub(crate) mod error;
mod keys;
mod validate;

pub use build::DEFAULT_TOKEN_TTL;
pub(crate) use build::build;
pub use claims::{LivefyreClaims, MAX_DISPLAY_NAME_CHARS, SYSTEM_USER};
pub(crate) use keys::Keys;
pub use validate::DEFAULT_MAX_TOKEN_LEN;
pub(crate) use validate::validate;
