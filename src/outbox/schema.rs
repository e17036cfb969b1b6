//! The outbox tables: their SQL for SQLite and Postgres, and [`Outbox::migrate`].

use super::{Backend, Outbox, OutboxError};

/// The outbox's tables as SQL for SQLite: one row per user with an undelivered change,
/// and the counter its generations come from. [`Outbox::migrate`] runs it (it is
/// idempotent, and adds the columns an older version of this crate did not create); if you
/// manage your schema with your own migration tool, copy it into a migration instead.
///
/// | column | meaning |
/// |---|---|
/// | `user_id` | the Livefyre user id; one row per user, however many changes are waiting |
/// | `generation` | renewed by every enqueue, from a counter shared by all users, so it never repeats, not even after the row was deleted; an outcome is written only if it is unchanged |
/// | `due_at` | when the next attempt may start (milliseconds since the Unix epoch, database clock); for a row awaiting its pull, when it is pinged again |
/// | `attempts` | failed attempts since the last accepted ping |
/// | `last_error`, `park_kind` | why the last attempt failed or the row parked, and which kind of failure parked it (`refused`, `never_pulled`, `invalid_user_id`); kept until the next accepted ping |
/// | `lease_owner`, `lease_token`, `lease_until` | the relay delivering the row, the claim it answers to, and until when it may; an expired lease is reclaimed |
/// | `parked_at` | set when delivery failed for good: the row waits for a requeue or a new enqueue |
/// | `ping_generation` | the generation the last claimed ping announced: a pull served after that claim may confirm it |
/// | `awaiting_since`, `unpulled_pings` | pull confirmation: when Livefyre accepted the last ping, and how many accepted pings no pull followed |
/// | `created_at`, `updated_at` | when the row was first enqueued and last changed |
///
/// # Example
///
/// ```
/// use tower_livefyre::outbox::SQLITE_SCHEMA;
/// assert!(SQLITE_SCHEMA.starts_with("CREATE TABLE IF NOT EXISTS livefyre_outbox"));
/// ```
pub const SQLITE_SCHEMA: &str = super::sql::SQLITE_SCHEMA;

/// [`SQLITE_SCHEMA`]'s table for Postgres, with a sequence for the generations (no
/// transaction ever waits for another to take one).
///
/// # Example
///
/// ```
/// use tower_livefyre::outbox::POSTGRES_SCHEMA;
/// assert!(POSTGRES_SCHEMA.contains("CREATE SEQUENCE IF NOT EXISTS livefyre_outbox_generation"));
/// ```
pub const POSTGRES_SCHEMA: &str = super::sql::POSTGRES_SCHEMA;

impl<DB: Backend> Outbox<DB> {
    /// Creates the outbox tables and indexes ([`SQLITE_SCHEMA`], [`POSTGRES_SCHEMA`]) unless
    /// they exist, and adds the columns a table from an older version lacks. Safe to call
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
