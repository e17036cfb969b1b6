//! Where [`PullService`](crate::PullService) finds a user's profile: the
//! [`ProfileSource`](crate::ProfileSource) trait (at the crate root, with its implementations
//! for `HashMap` and `Arc`) and [`profile_source_fn`], a source from an async closure.

mod from_fn;
pub(crate) mod profile_source;

pub use from_fn::{ProfileSourceFn, profile_source_fn};
