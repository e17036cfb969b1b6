//! [`pull_endpoint`]: the gate and the pull service in one call.

use tower_layer::Layer;

use super::service::PullService;
use crate::lftoken::Lftoken;
use crate::lftoken::layer::LftokenLayer;
use crate::network::Network;
use crate::source::profile_source::ProfileSource;

/// The secure default in one call: `LftokenLayer::new(network).layer(PullService::new(source))`.
///
/// Requests without a valid system token get 403 with an empty body; the others get the
/// profile JSON (see [`PullService`] for every answer). Both halves stay configurable:
/// build them separately for a custom leeway, timeout or id location.
///
/// # Example
///
/// ```
/// use std::collections::HashMap;
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
/// use tower_livefyre::{Network, Profile, pull_endpoint};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let network = Network::new("labs.fyre.co", "network-key")?;
/// let users = HashMap::from([("ann".to_owned(), Profile::new("ann".parse()?, "Ann Lee"))]);
/// let endpoint = pull_endpoint(network.clone(), users);
///
/// let token = network.build_livefyre_token()?;
/// let pull = Request::get(format!("/livefyre/pull?id=ann&lftoken={token}")).body(())?;
/// assert_eq!(endpoint.clone().oneshot(pull).await?.status(), StatusCode::OK);
///
/// let forged = Request::get("/livefyre/pull?id=ann&lftoken=x.y.z").body(())?;
/// assert_eq!(endpoint.oneshot(forged).await?.status(), StatusCode::FORBIDDEN);
/// # Ok(()) }
/// ```
pub fn pull_endpoint<S: ProfileSource>(network: Network, source: S) -> Lftoken<PullService<S>> {
    LftokenLayer::new(network).layer(PullService::new(source))
}
