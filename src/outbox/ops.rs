//! Operations: [`Outbox::stats`] for health checks, [`Outbox::parked`], [`Outbox::awaiting`],
//! and requeues.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::park_kind::ParkKind;
use super::{Backend, Outbox, OutboxError};
use crate::user_id::UserId;

/// A snapshot of the outbox, for a health check or a metrics endpoint.
///
/// # Example
///
/// ```
/// use sqlx::SqlitePool;
/// use tower_livefyre::outbox::Outbox;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
/// outbox.migrate().await?;
/// let mut tx = outbox.pool().begin().await?;
/// outbox.enqueue(&mut tx, &tower_livefyre::UserId::from_static("ann.lee")).await?;
/// tx.commit().await?;
///
/// let stats = outbox.stats().await?;
/// assert_eq!((stats.pending, stats.in_flight, stats.awaiting_pull, stats.parked), (1, 0, 0, 0));
/// assert!(stats.oldest_pending_age.is_some());
/// assert_eq!(stats.oldest_awaiting_pull_age, None);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub struct OutboxStats {
    /// Users with a change waiting for its ping (due now, or after a retry's backoff), and
    /// no relay holding it. Every row is in exactly one of the four states.
    pub pending: u64,
    /// Users a relay holds a live lease on right now: their ping is queued or in flight.
    pub in_flight: u64,
    /// Users whose ping Livefyre accepted and whose pull has not been confirmed yet (only
    /// with [`Relay::confirm_pulls`](super::Relay::confirm_pulls)).
    pub awaiting_pull: u64,
    /// Users whose ping failed for good and waits for a requeue or a new change.
    pub parked: u64,
    /// How long the oldest user waiting for a ping (pending or in flight) has waited since
    /// its first undelivered change.
    pub oldest_pending_age: Option<Duration>,
    /// How long ago Livefyre accepted the ping of the user that has awaited its pull the
    /// longest.
    pub oldest_awaiting_pull_age: Option<Duration>,
    /// The most failed attempts of any row, parked or pending.
    pub max_attempts: u64,
}

/// A parked row: a ping that failed for good, with the reason.
///
/// # Example
///
/// ```
/// # fn show(parked: &tower_livefyre::outbox::ParkedPing) {
/// eprintln!("{} parked ({}) after {} attempts: {}", parked.user_id, parked.kind, parked.attempts, parked.reason);
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub struct ParkedPing {
    /// The user whose ping is parked.
    pub user_id: String,
    /// Failed attempts, the last one included.
    pub attempts: u64,
    /// Why it parked, e.g. `Livefyre answered 403 Forbidden: …`, or "Livefyre accepted 3
    /// pings but never pulled …".
    pub reason: String,
    /// Which kind of failure parked it.
    pub kind: ParkKind,
    /// When the row was parked (database clock).
    pub parked_at: SystemTime,
}

/// A row whose ping Livefyre accepted and whose pull has not been confirmed yet (only with
/// [`Relay::confirm_pulls`](super::Relay::confirm_pulls)).
///
/// # Example
///
/// ```
/// # fn show(row: &tower_livefyre::outbox::AwaitingPull) {
/// eprintln!("{} awaits its pull for {:?} ({} unanswered pings)", row.user_id, row.age, row.unpulled_pings);
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub struct AwaitingPull {
    /// The user whose pull is awaited.
    pub user_id: String,
    /// When Livefyre accepted the latest ping (database clock).
    pub since: SystemTime,
    /// How long ago that was (database clock).
    pub age: Duration,
    /// Accepted pings of this change that no pull has answered yet, the latest one included.
    pub unpulled_pings: u64,
}

impl OutboxStats {
    /// Whether the outbox holds no row at all: every change was delivered (confirmed, with
    /// pull confirmation) and nothing is parked.
    ///
    /// # Example
    ///
    /// ```
    /// assert!(tower_livefyre::outbox::OutboxStats::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pending == 0 && self.in_flight == 0 && self.awaiting_pull == 0 && self.parked == 0
    }

    /// Rows whose change has not reached Livefyre yet and is still being worked on: pending,
    /// in flight, or awaiting its pull (parked rows excluded).
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(tower_livefyre::outbox::OutboxStats::default().undelivered(), 0);
    /// ```
    #[must_use]
    pub fn undelivered(&self) -> u64 {
        self.pending + self.in_flight + self.awaiting_pull
    }
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn millis(value: i64) -> Duration {
    Duration::from_millis(count(value))
}

impl<DB: Backend> Outbox<DB> {
    /// Counts the rows in each state (pending, in flight, awaiting their pull, parked), with
    /// the age of the oldest pending and oldest awaiting row and the most attempts: what a
    /// health check needs. One query.
    ///
    /// # Errors
    ///
    /// [`OutboxError::Database`] when the query fails.
    ///
    /// # Example
    ///
    /// See [`OutboxStats`].
    pub async fn stats(&self) -> Result<OutboxStats, OutboxError> {
        let sql = self.statements()?;
        let (pending, in_flight, awaiting, parked, oldest, oldest_awaiting, max_attempts, now) =
            DB::stats(&self.pool, sql).await?;
        let age = |since: i64| millis(now.saturating_sub(since));
        Ok(OutboxStats {
            pending: count(pending),
            in_flight: count(in_flight),
            awaiting_pull: count(awaiting),
            parked: count(parked),
            oldest_pending_age: oldest.map(age),
            oldest_awaiting_pull_age: oldest_awaiting.map(age),
            max_attempts: count(max_attempts),
        })
    }

    /// Reads [`stats`](Self::stats) and publishes them as the gauges `livefyre_outbox_rows`
    /// and `livefyre_outbox_oldest_age_seconds` (see [the metrics table](crate::metrics)),
    /// returning them too. A running [`Relay`](super::Relay) calls it at most once a second;
    /// call it yourself, from your `/metrics` handler say, where no relay runs. Feature
    /// `metrics`.
    ///
    /// # Errors
    ///
    /// [`OutboxError::Database`] when the query fails; the gauges keep their last values.
    ///
    /// # Example
    ///
    /// ```
    /// use sqlx::SqlitePool;
    /// use tower_livefyre::outbox::Outbox;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// outbox.migrate().await?;
    /// // With a recorder installed, `livefyre_outbox_rows{state="pending"}` is now 0.
    /// let stats = outbox.record_metrics().await?;
    /// assert!(stats.is_empty());
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub async fn record_metrics(&self) -> Result<OutboxStats, OutboxError> {
        let stats = self.stats().await?;
        crate::metrics::outbox_gauges(
            [
                stats.pending,
                stats.in_flight,
                stats.awaiting_pull,
                stats.parked,
            ],
            [stats.oldest_pending_age, stats.oldest_awaiting_pull_age],
        );
        Ok(stats)
    }

    /// Up to `limit` parked rows with their reasons, the longest parked first.
    ///
    /// # Errors
    ///
    /// [`OutboxError::Database`] when the query fails.
    ///
    /// # Example
    ///
    /// ```
    /// use sqlx::SqlitePool;
    /// use tower_livefyre::outbox::Outbox;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// outbox.migrate().await?;
    /// for parked in outbox.parked(100).await? {
    ///     eprintln!("{}: {}", parked.user_id, parked.reason);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn parked(&self, limit: u32) -> Result<Vec<ParkedPing>, OutboxError> {
        let sql = self.statements()?;
        let rows = DB::parked(&self.pool, sql, i64::from(limit)).await?;
        Ok(rows
            .into_iter()
            .map(|(user_id, attempts, reason, kind, parked_at)| ParkedPing {
                user_id,
                attempts: count(attempts),
                reason,
                // Written by this crate only; a hand-written value reads as a refusal.
                kind: kind.parse().unwrap_or(ParkKind::Refused),
                parked_at: UNIX_EPOCH + millis(parked_at),
            })
            .collect())
    }

    /// Up to `limit` rows awaiting their pull (those [`OutboxStats::awaiting_pull`] counts),
    /// the longest waiting first.
    ///
    /// # Errors
    ///
    /// [`OutboxError::Database`] when the query fails.
    ///
    /// # Example
    ///
    /// ```
    /// use sqlx::SqlitePool;
    /// use tower_livefyre::outbox::Outbox;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// outbox.migrate().await?;
    /// for row in outbox.awaiting(100).await? {
    ///     eprintln!("{}: {} unanswered pings", row.user_id, row.unpulled_pings);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn awaiting(&self, limit: u32) -> Result<Vec<AwaitingPull>, OutboxError> {
        let sql = self.statements()?;
        let rows = DB::awaiting(&self.pool, sql, i64::from(limit)).await?;
        Ok(rows
            .into_iter()
            .map(|(user_id, since, unpulled_pings, now)| AwaitingPull {
                user_id,
                since: UNIX_EPOCH + millis(since),
                age: millis(now.saturating_sub(since)),
                unpulled_pings: count(unpulled_pings),
            })
            .collect())
    }

    /// Makes every parked row due again (attempts and unanswered pings reset), for after you fixed what parked
    /// them (a wrong key, say). Returns how many rows were requeued, and wakes the relays.
    ///
    /// # Errors
    ///
    /// [`OutboxError::Database`] when the update fails.
    ///
    /// # Example
    ///
    /// ```
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::outbox::Outbox;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// # outbox.migrate().await?;
    /// let requeued = outbox.requeue_all().await?;
    /// assert_eq!(requeued, 0);
    /// # Ok(()) }
    /// ```
    pub async fn requeue_all(&self) -> Result<u64, OutboxError> {
        let sql = self.statements()?;
        let requeued = DB::requeue(&self.pool, sql, None).await?;
        self.wake();
        Ok(requeued)
    }

    /// Makes `user_id`'s row due again if it is parked. Returns whether it was.
    ///
    /// # Errors
    ///
    /// [`OutboxError::Database`] when the update fails.
    ///
    /// # Example
    ///
    /// ```
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::outbox::Outbox;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// # outbox.migrate().await?;
    /// let ann = tower_livefyre::UserId::from_static("ann.lee");
    /// assert!(!outbox.requeue(&ann).await?); // it was not parked
    /// # Ok(()) }
    /// ```
    pub async fn requeue(&self, user_id: &UserId) -> Result<bool, OutboxError> {
        let sql = self.statements()?;
        let requeued = DB::requeue(&self.pool, sql, Some(user_id.as_str())).await? > 0;
        if requeued {
            self.wake();
        }
        Ok(requeued)
    }
}
