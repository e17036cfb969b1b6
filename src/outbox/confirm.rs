//! [`ConfirmPulls`]: the pull side of pull confirmation. Wraps the pull endpoint's
//! [`ProfileSource`], so a pull that serves a change confirms it in the outbox.

use std::fmt;
use std::time::Duration;

use super::{Backend, Outbox};
use crate::profile::document::Profile;
use crate::pull::service::check as check_profile;
use crate::source::profile_source::ProfileSource;
use crate::user_id::UserId;

/// How long a pull waits for the outbox to say what it may confirm. Past it the pull is
/// answered all the same and confirms nothing (the row is pinged again after its deadline).
const TICKET_WAIT: Duration = Duration::from_secs(1);

/// A [`ProfileSource`] that confirms, in the outbox, the changes its pulls serve: built by
/// [`Outbox::confirm_pulls`], used with [`Relay::confirm_pulls`](super::Relay::confirm_pulls).
///
/// For each pull it first reads, in the outbox, the generation of the user's row if a ping
/// for it was claimed (the claim commits before the ping is sent, so the change is already
/// in your database), then asks your source. If your source returns a profile the pull
/// endpoint will answer 200 with (one whose id matches and which passes
/// [`Profile::validate`]), a task of its own deletes the row, but only if no enqueue renewed
/// it since that first read. The ordering is the database's: no clocks are compared, and the
/// pull may land on any instance sharing the outbox.
///
/// It never fails or changes the pull's answer: when the outbox cannot be read (within 1 s)
/// or the confirmation cannot be written, the pull is answered as without it and the row is
/// simply pinged again after its deadline. A pull answered 404, 500 or 504, or refused at the
/// token (403, your source is never asked), confirms nothing.
///
/// # Example
///
/// ```
/// use std::collections::HashMap;
/// use sqlx::SqlitePool;
/// use tower_livefyre::outbox::Outbox;
/// use tower_livefyre::{Network, Profile, pull_endpoint};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
/// outbox.migrate().await?;
/// let users: HashMap<String, Profile> = HashMap::new(); // your users table
/// let network = Network::new("labs.fyre.co", "network-key")?;
/// // The pull endpoint, as usual, with its source wrapped: one call.
/// let endpoint = pull_endpoint(network, outbox.confirm_pulls(users));
/// # let _ = endpoint;
/// # Ok(()) }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub struct ConfirmPulls<S, DB: Backend> {
    source: S,
    outbox: Outbox<DB>,
}

impl<DB: Backend> Outbox<DB> {
    /// Wraps the pull endpoint's `source` so that the pulls it serves confirm their rows:
    /// see [`ConfirmPulls`] and [`Relay::confirm_pulls`](super::Relay::confirm_pulls).
    ///
    /// # Example
    ///
    /// See [`ConfirmPulls`].
    pub fn confirm_pulls<S: ProfileSource>(&self, source: S) -> ConfirmPulls<S, DB> {
        ConfirmPulls {
            source,
            outbox: self.clone(),
        }
    }
}

impl<S: ProfileSource, DB: Backend> ConfirmPulls<S, DB> {
    /// The wrapped source.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::collections::HashMap;
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::{Profile, outbox::Outbox};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// let source = outbox.confirm_pulls(HashMap::<String, Profile>::new());
    /// assert!(source.get_ref().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.source
    }

    /// The generation this pull may confirm, if a ping of the row's latest change was
    /// claimed. Any failure means: confirm nothing.
    async fn ticket(&self, id: &UserId) -> Option<i64> {
        let sql = self.outbox.statements().ok()?;
        let read = DB::pull_ticket(self.outbox.pool(), sql, id.as_str());
        match tokio::time::timeout(TICKET_WAIT, read).await {
            Ok(Ok(ticket)) => ticket,
            Ok(Err(error)) => {
                tracing::warn!(
                    target: "tower_livefyre::outbox",
                    user_id = %id,
                    %error,
                    "pull confirmation: reading the outbox failed; this pull confirms nothing"
                );
                None
            }
            Err(_) => {
                tracing::warn!(
                    target: "tower_livefyre::outbox",
                    user_id = %id,
                    "pull confirmation: the outbox did not answer within 1 s; this pull confirms nothing"
                );
                None
            }
        }
    }

    /// Deletes the row at `generation`, on a task of its own: the answer never waits.
    fn confirm(&self, id: &UserId, generation: i64) {
        let Ok(sql) = self.outbox.statements() else {
            return;
        };
        let pool = self.outbox.pool().clone();
        let id = id.clone();
        tokio::spawn(async move {
            match DB::confirm_pull(&pool, sql, id.as_str(), generation).await {
                Ok(Some(age_ms)) => {
                    tracing::info!(
                        target: "tower_livefyre::outbox",
                        user_id = %id,
                        generation,
                        since_enqueue_ms = age_ms,
                        "pull confirmed; change delivered"
                    );
                    #[cfg(feature = "metrics")]
                    crate::metrics::outbox_confirmed(std::time::Duration::from_millis(
                        u64::try_from(age_ms).unwrap_or(0),
                    ));
                }
                Ok(None) => tracing::debug!(
                    target: "tower_livefyre::outbox",
                    user_id = %id,
                    generation,
                    "pull served, but the row changed since; it is pinged again"
                ),
                Err(error) => tracing::warn!(
                    target: "tower_livefyre::outbox",
                    user_id = %id,
                    %error,
                    "confirming a pull failed; the row is pinged again after its deadline"
                ),
            }
        });
    }
}

impl<S: ProfileSource, DB: Backend> ProfileSource for ConfirmPulls<S, DB> {
    type Error = S::Error;

    async fn profile(&self, id: &UserId) -> Result<Option<Profile>, Self::Error> {
        // Read first: a profile read after this saw the change the ticket names.
        let ticket = self.ticket(id).await;
        let profile = self.source.profile(id).await?;
        if let (Some(generation), Some(served)) = (ticket, &profile)
            && check_profile(served, id.as_str()).is_ok()
        {
            self.confirm(id, generation);
        }
        Ok(profile)
    }
}

impl<S: fmt::Debug, DB: Backend> fmt::Debug for ConfirmPulls<S, DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfirmPulls")
            .field("source", &self.source)
            .field("outbox", &self.outbox)
            .finish()
    }
}
