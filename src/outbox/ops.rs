//! Operations: [`Outbox::stats`] for health checks, [`Outbox::parked`], and requeues.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Backend, Outbox, OutboxError};
use crate::UserId;

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
/// assert_eq!((stats.pending, stats.parked, stats.max_attempts), (1, 0, 0));
/// assert!(stats.oldest_pending_age.is_some());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub struct OutboxStats {
    /// Users with an undelivered ping that a relay will deliver (in flight included).
    pub pending: u64,
    /// Users whose ping failed for good and waits for a requeue.
    pub parked: u64,
    /// Pending users a relay holds a live lease on right now.
    pub in_flight: u64,
    /// How long the oldest pending user has waited since its first undelivered change.
    pub oldest_pending_age: Option<Duration>,
    /// The most failed attempts of any row, parked or pending.
    pub max_attempts: u64,
}

/// A parked row: a ping that failed for good, with the reason.
///
/// # Example
///
/// ```
/// # fn show(parked: &tower_livefyre::outbox::ParkedPing) {
/// eprintln!("{} parked after {} attempts: {}", parked.user_id, parked.attempts, parked.reason);
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
    /// Why the last attempt failed, e.g. `Livefyre answered 403 Forbidden: …`.
    pub reason: String,
    /// When the row was parked (database clock).
    pub parked_at: SystemTime,
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn millis(value: i64) -> Duration {
    Duration::from_millis(count(value))
}

impl<DB: Backend> Outbox<DB> {
    /// Counts pending, parked and in-flight rows, with the age of the oldest pending one
    /// and the most attempts: what a health check needs. One query.
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
        let (pending, parked, in_flight, oldest, max_attempts, now) =
            DB::stats(&self.pool, sql).await?;
        Ok(OutboxStats {
            pending: count(pending),
            parked: count(parked),
            in_flight: count(in_flight),
            oldest_pending_age: oldest.map(|created| millis(now.saturating_sub(created))),
            max_attempts: count(max_attempts),
        })
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
            .map(|(user_id, attempts, reason, parked_at)| ParkedPing {
                user_id,
                attempts: count(attempts),
                reason,
                parked_at: UNIX_EPOCH + millis(parked_at),
            })
            .collect())
    }

    /// Makes every parked row due again (attempts reset), for after you fixed what parked
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
