//! The `lftoken` gate: refuses, with 403 and an empty body, every request that does not carry
//! exactly one valid Livefyre system token in its `lftoken` query parameter.
//!
//! Livefyre's pull request is `GET <your URL>&lftoken=<JWT>`; the documentation requires
//! "403 Forbidden with no body" when the token is missing or fails validation. Put
//! [`LftokenLayer`](crate::LftokenLayer) in front of whatever answers the pull ([`PullService`](crate::PullService)
//! in the usual case; [`pull_endpoint`](crate::pull_endpoint) does both in one call).
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use tower_livefyre::token::LivefyreClaims;
//! use tower_livefyre::{LftokenLayer, LftokenRejection, Network};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let network = Network::new("labs.fyre.co", "network-key")?;
//! let service = ServiceBuilder::new()
//!     .layer(LftokenLayer::new(network.clone()))
//!     .service(service_fn(|req: Request<()>| async move {
//!         // Only valid system tokens get here; the token itself is gone from the URI.
//!         assert!(req.extensions().get::<LivefyreClaims>().is_some());
//!         assert_eq!(req.uri(), "/pull?id=ann");
//!         Ok::<_, Infallible>(Response::new(String::from("profile")))
//!     }));
//!
//! let token = network.build_livefyre_token()?;
//! let ok = service.clone().oneshot(
//!     Request::get(format!("/pull?id=ann&lftoken={token}")).body(())?,
//! ).await?;
//! assert_eq!(ok.status(), StatusCode::OK);
//!
//! let refused = service.oneshot(Request::get("/pull?id=ann").body(())?).await?;
//! assert_eq!(refused.status(), StatusCode::FORBIDDEN);
//! assert!(refused.body().is_empty());
//! assert_eq!(refused.extensions().get(), Some(&LftokenRejection::Missing));
//! # Ok(()) }
//! ```

mod config;
mod future;
pub(crate) mod layer;
pub(crate) mod rejection;
mod service;

pub use future::ResponseFuture;
pub use rejection::{DefaultRejection, MakeRejection};
pub use service::Lftoken;
