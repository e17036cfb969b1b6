//! The three calls of [`PingClient`]: [`sync_user`](PingClient::sync_user),
//! [`sync_users`](PingClient::sync_users) and
//! [`set_user_sync_url`](PingClient::set_user_sync_url).

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{Request, Response, Uri};
use http_body::Body;
use http_body_util::Full;
use tower_service::Service;

use super::client::PingClient;
use super::error::PingError;
use super::send::{Call, send};
use super::sign::Slot;
use crate::box_error::BoxError;
use crate::url::PullUrlTemplate;
use crate::user_id::UserId;

impl<C, B> PingClient<C>
where
    C: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone,
    C::Error: Into<BoxError>,
    B: Body,
{
    /// Pings Livefyre: "the profile of `user_id` changed, pull it". Livefyre then pulls it
    /// from the registered URL within minutes.
    ///
    /// Sends `POST {base}/api/v3_0/user/{user_id}/refresh` with `lftoken=<system token>`,
    /// retrying as the [`RetryPolicy`](crate::ping::RetryPolicy) says. Any `2xx` answer is success.
    ///
    /// # Errors
    ///
    /// The [`PingError`] of the last attempt.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use tower_livefyre::{Network, PingClient, PingError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = PingClient::new(Network::new("labs.fyre.co", "network-key")?)?;
    /// match client.sync_user(&"ann.lee".parse()?).await {
    ///     Ok(()) => {}
    ///     Err(PingError::Forbidden { .. }) => eprintln!("check LIVEFYRE_NETWORK and its key"),
    ///     Err(other) => eprintln!("ping failed after {} attempts: {other}", other.attempts()),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn sync_user(&self, user_id: &UserId) -> Result<(), PingError> {
        // Valid ids need no escaping; encoding anyway keeps the path right if the id rules
        // ever widen.
        let path = format!("/api/v3_0/user/{}/refresh", crate::url::encode(user_id));
        self.post(&path, "lftoken", String::new()).await
    }

    /// Pings every id in `ids`, at most `concurrency` at a time (0 counts as 1), and returns
    /// one `(id, outcome)` per input id, in input order.
    ///
    /// Each id gets the full [`sync_user`](Self::sync_user) treatment, retries included; a
    /// failure does not stop the others.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use tower_livefyre::{Network, PingClient, UserId};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = PingClient::new(Network::new("labs.fyre.co", "network-key")?)?;
    /// let ids: Vec<UserId> = ["ann.lee", "bob", "carol_1"]
    ///     .into_iter()
    ///     .map(str::parse)
    ///     .collect::<Result<_, _>>()?;
    /// for (id, outcome) in client.sync_users(ids, 16).await {
    ///     if let Err(error) = outcome {
    ///         eprintln!("{id}: {error}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn sync_users<I>(
        &self,
        ids: I,
        concurrency: usize,
    ) -> Vec<(UserId, Result<(), PingError>)>
    where
        I: IntoIterator<Item = UserId>,
    {
        // `buffered` keeps input order and never holds more than `concurrency` pings in
        // flight, so nothing is dropped or reordered.
        futures_util::stream::iter(ids)
            .map(|id| async move {
                let outcome = self.sync_user(&id).await;
                (id, outcome)
            })
            .buffered(concurrency.max(1))
            .collect()
            .await
    }

    /// Registers the URL template Livefyre pulls profiles from, like the official libraries'
    /// `setUserSyncUrl`. Needed once per network (Studio can do the same).
    ///
    /// Sends `POST {base}/` with `actor_token=<system token>` and `pull_profile_url=<template>`.
    /// Livefyre answered 204; any `2xx` is success.
    ///
    /// # Errors
    ///
    /// The [`PingError`] of the last attempt. The template was checked when the
    /// [`PullUrlTemplate`] was parsed.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::{Network, PingClient, url::{PullUrlTemplate, PullUrlTemplateError}};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = PingClient::new(Network::new("labs.fyre.co", "network-key")?)?;
    /// // Refused before any request can be made: no `{id}`.
    /// let refused = "https://example.com/pull".parse::<PullUrlTemplate>();
    /// assert_eq!(refused, Err(PullUrlTemplateError::MissingPlaceholder));
    /// # let _ = client;
    /// # Ok(()) }
    /// ```
    pub async fn set_user_sync_url(&self, template: &PullUrlTemplate) -> Result<(), PingError> {
        let params = form_urlencoded::Serializer::new(String::new())
            .append_pair("pull_profile_url", template.as_str())
            .finish();
        self.post("/", "actor_token", params).await
    }

    /// POSTs to `path` the system token as `token_param`, then `params`, in the body or in
    /// the query.
    async fn post(
        &self,
        path: &str,
        token_param: &'static str,
        params: String,
    ) -> Result<(), PingError> {
        let config = &*self.config;
        let uri = format!("{}{path}", config.base_url);
        let uri: Uri = uri.parse().map_err(PingError::InvalidRequestUrl)?;
        let call = Call {
            uri,
            slot: Slot {
                name: token_param,
                in_query: config.token_in_query,
            },
            params: Bytes::from(params),
            tokens: config.tokens.clone(),
            retry: config.retry,
            timeout: config.request_timeout,
        };
        send(self.http.clone(), call).await
    }
}
