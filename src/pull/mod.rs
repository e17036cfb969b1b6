//! The pull endpoint: [`PullService`](crate::PullService) answers Livefyre's pull with a
//! profile from your [`ProfileSource`](crate::ProfileSource);
//! [`pull_endpoint`](crate::pull_endpoint) puts the [`LftokenLayer`](crate::LftokenLayer) gate
//! in front of it.

pub(crate) mod endpoint;
mod future;
mod id_location;
pub(crate) mod rejection;
pub(crate) mod service;

pub use future::ResponseFuture;
pub use id_location::PathTemplateError;
pub use service::DEFAULT_SOURCE_TIMEOUT;
