//! The outbox table: its SQL, the same for SQLite and Postgres, and [`Outbox::migrate`].

use super::{Backend, Outbox, OutboxError};

/// The table the outbox keeps, one row per user with an undelivered ping, as SQL that runs
/// unchanged on SQLite and on Postgres. [`Outbox::migrate`] runs it (it is idempotent); if
/// you manage your schema with your own migration tool, copy it into a migration instead.
///
/// | column | meaning |
/// |---|---|
/// | `user_id` | the Livefyre user id; one row per user, however many changes are waiting |
/// | `generation` | bumped by every enqueue; a delivery deletes the row only if it is unchanged |
/// | `due_at` | when the next attempt may start (milliseconds since the Unix epoch, database clock) |
/// | `attempts` | failed attempts since the last successful delivery |
/// | `last_error` | why the last attempt failed, or why the row is parked |
/// | `lease_owner`, `lease_until` | the relay delivering the row and until when it may; an expired lease is reclaimed |
/// | `parked_at` | set when delivery failed for good (403, another 4xx): the row waits for a requeue |
/// | `created_at`, `updated_at` | when the row was first enqueued and last changed |
///
/// # Example
///
/// ```
/// assert!(tower_livefyre::outbox::SCHEMA.starts_with("CREATE TABLE IF NOT EXISTS livefyre_outbox"));
/// ```
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS livefyre_outbox (
    user_id     TEXT PRIMARY KEY,
    generation  BIGINT NOT NULL,
    due_at      BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT,
    lease_owner TEXT,
    lease_until BIGINT,
    parked_at   BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS livefyre_outbox_due ON livefyre_outbox (due_at) WHERE parked_at IS NULL;
CREATE INDEX IF NOT EXISTS livefyre_outbox_lease ON livefyre_outbox (lease_owner) WHERE lease_owner IS NOT NULL;
";

impl<DB: Backend> Outbox<DB> {
    /// Creates the outbox table and its indexes ([`SCHEMA`]) unless they exist. Safe to call
    /// at every start, from several processes at once (on Postgres an advisory lock
    /// serialises them).
    ///
    /// # Errors
    ///
    /// [`OutboxError::Database`] when the statements fail, [`OutboxError::UnsupportedDatabase`]
    /// for an `Any` pool on another database than SQLite or Postgres.
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
    /// outbox.migrate().await?; // idempotent
    /// assert_eq!(outbox.stats().await?.pending, 0);
    /// # Ok(()) }
    /// ```
    pub async fn migrate(&self) -> Result<(), OutboxError> {
        let sql = self.statements()?;
        DB::migrate(&self.pool, sql).await?;
        Ok(())
    }
}
