//! [`OutboxError`].

/// Why an outbox call failed. Holds no token or key, so it can be logged.
///
/// # Example
///
/// ```
/// use sqlx::SqlitePool;
/// use tower_livefyre::outbox::{Outbox, OutboxError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
/// // No `migrate()` yet: the table is missing.
/// assert!(matches!(outbox.stats().await, Err(OutboxError::Database(_))));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub enum OutboxError {
    /// The pool of an [`Outbox<Any>`](super::Outbox) is connected to a database the outbox
    /// does not run on (only SQLite and Postgres).
    #[error("the outbox runs on SQLite and Postgres, not on `{0}`")]
    UnsupportedDatabase(String),
    /// The database call failed.
    #[error("outbox database call failed: {0}")]
    Database(#[from] sqlx::Error),
}
