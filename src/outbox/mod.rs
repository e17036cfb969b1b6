//! Durable pings (feature `outbox`): a transactional outbox on SQLite or Postgres.
//!
//! Calling [`PingClient::sync_user`](crate::PingClient::sync_user) after your commit loses
//! the update when the process dies between the two, when a deploy stops it, or when
//! Livefyre is down for longer than the client retries. With the outbox, the ping is written
//! **in the same transaction as the profile change** ([`Outbox::enqueue`]) and a [`Relay`]
//! delivers it later, at least once:
//!
//! - **One row per user** ([`SQLITE_SCHEMA`]): a hundred edits before delivery are one ping.
//!   Each enqueue gives the row a new generation (from a counter that never repeats); an
//!   outcome is written only if the generation is unchanged, so an edit made while its ping
//!   was in flight is pinged again.
//! - **Delivered means pulled** (with [`Relay::confirm_pulls`]): Livefyre's 200 leaves the row
//!   *awaiting its pull*; the pull your endpoint serves through [`Outbox::confirm_pulls`]
//!   deletes it, on any instance. No pull by the [deadline](Relay::pull_deadline) means another
//!   ping; after [`max_unpulled_pings`](Relay::max_unpulled_pings) of them the row is parked as
//!   [`ParkKind::NeverPulled`]. Without confirmation, Livefyre's 200 deletes the row.
//! - **Leases**: a relay claims due rows in batches under a lease (Postgres
//!   `FOR UPDATE SKIP LOCKED`, SQLite's single writer), so any number of relays in any number
//!   of processes share one database, never ping one user twice at once, and a crashed
//!   relay's rows are reclaimed when its lease expires. Every claim has its own lease token,
//!   which every write-back checks, and an attempt never outlives its lease.
//! - **Failures**: 429, 5xx, timeouts and connection failures are retried with exponential
//!   backoff and full jitter, honouring `Retry-After`; 403 (wrong key or network) and other
//!   4xx **park** the row ([`ParkKind::Refused`]) with the reason until a requeue
//!   ([`Outbox::requeue_all`], [`Outbox::requeue`]) or the user's next change. An undelivered
//!   change is never deleted.
//! - **Operations**: [`Outbox::stats`] (rows per state, oldest ages) for health checks,
//!   [`Outbox::parked`] with reasons and kinds, and a `tracing` event per outcome, per
//!   confirmed pull and per re-ping (target `tower_livefyre::outbox`), never with a token.
//!
//! # Layout
//!
//! Data flows one way (`a → b`: `a` uses `b`):
//!
//! - `admin` ([`OutboxAdmin`]) → `admin/page` (its HTML and JSON), `admin/csrf` (the checks
//!   on its `POST`s) and `ops` (stats, parked and awaiting rows, requeues);
//! - `relay` (the [`Relay`]'s configuration) → `relay/engine` (claim → attempt → outcome →
//!   write-back) → `relay/schedule` (the engine's pure decisions) and `relay/attempt` (one
//!   claimed row becomes its outcome) → `delivery` (one ping through
//!   [`PingClient`](crate::PingClient), and the verdict on its answer);
//! - `admin`, `relay`, `confirm` ([`ConfirmPulls`], the pull side), `ops` and `schema` (the
//!   tables, [`Outbox::migrate`]) → this file ([`Outbox`]) → `store` ([`Backend`]: every
//!   database call, per driver) → `sql` (every statement, per dialect);
//! - this file, `admin`, `ops`, `relay` and `schema` → `error` ([`OutboxError`]);
//! - `ops`, `store` and `relay/attempt` → `park_kind` ([`ParkKind`], as the `park_kind`
//!   column stores it).
//!
//! `python3 scripts/module-deps.py` checks that no two files depend on each other.
//!
//! Runs on [`sqlx::Sqlite`], [`sqlx::Postgres`], and [`sqlx::Any`] connected to either.
//! The feature needs Rust 1.94 (sqlx 0.9). On SQLite, use WAL
//! ([`SqliteConnectOptions::journal_mode`](sqlx::sqlite::SqliteConnectOptions::journal_mode)):
//! readers then never wait for the relay's writes, and a commit costs one sync, not a journal
//! file created and deleted.
//!
//! # Example
//!
//! ```
//! use sqlx::SqlitePool;
//! use tower_livefyre::outbox::Outbox;
//! use tower_livefyre::{Network, PingClient, UserId};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = SqlitePool::connect("sqlite::memory:").await?;
//! sqlx::query("CREATE TABLE users (id TEXT PRIMARY KEY, display_name TEXT)")
//!     .execute(&pool)
//!     .await?;
//! let outbox = Outbox::new(pool.clone());
//! outbox.migrate().await?;
//!
//! // The profile change and its ping commit together, or not at all.
//! let mut tx = pool.begin().await?;
//! sqlx::query("INSERT INTO users VALUES ('ann.lee', 'Ann Lee')").execute(&mut *tx).await?;
//! outbox.enqueue(&mut tx, &UserId::from_static("ann.lee")).await?;
//! tx.commit().await?;
//! assert_eq!(outbox.stats().await?.pending, 1);
//!
//! // Usually in a task of its own, for the life of the process:
//! let client = PingClient::new(Network::new("labs.fyre.co", "network-key")?)?;
//! let relay = outbox.relay(client);
//! # let _ = relay;
//! // tokio::spawn(relay.run(shutdown_signal()));
//! # Ok(()) }
//! ```

mod admin;
mod confirm;
mod delivery;
mod error;
mod ops;
mod park_kind;
mod relay;
mod schema;
mod sql;
mod store;

use std::fmt;
use std::sync::Arc;

use sqlx::{Pool, Transaction};

use crate::user_id::UserId;
use tokio::sync::Notify;

pub use admin::{AdminRejection, OutboxAdmin, ResponseFuture as AdminResponseFuture};
pub use confirm::ConfirmPulls;
pub use error::OutboxError;
pub use ops::{AwaitingPull, OutboxStats, ParkedPing};
pub use park_kind::{ParkKind, UnknownParkKind};
pub use relay::Relay;
pub use schema::{POSTGRES_SCHEMA, SQLITE_SCHEMA};
pub use store::Backend;

use sql::Statements;

/// The outbox of one database: enqueue pings in your transactions, start a [`Relay`],
/// read [`stats`](Self::stats). Cheap to clone; clones share the pool and wake the same
/// relays.
///
/// # Example
///
/// ```
/// use sqlx::PgPool;
/// use tower_livefyre::outbox::Outbox;
///
/// # async fn demo(pool: PgPool) -> Result<(), tower_livefyre::outbox::OutboxError> {
/// let outbox = Outbox::new(pool);
/// outbox.migrate().await?;
/// # Ok(()) }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub struct Outbox<DB: Backend> {
    pool: Pool<DB>,
    /// `Err(name)`: an `Any` pool on a database the outbox does not run on.
    statements: Result<&'static Statements, String>,
    /// Wakes this process's relays after an enqueue through this handle.
    wake: Arc<Notify>,
}

impl<DB: Backend> Outbox<DB> {
    /// The outbox in `pool`'s database. Call [`migrate`](Self::migrate) once (or create
    /// [`SQLITE_SCHEMA`] or [`POSTGRES_SCHEMA`] with your migration tool) before anything else.
    ///
    /// # Example
    ///
    /// ```
    /// use sqlx::SqlitePool;
    /// use tower_livefyre::outbox::Outbox;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sqlx::Error> {
    /// let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn new(pool: Pool<DB>) -> Self {
        Self {
            statements: DB::statements(&pool),
            pool,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The pool the outbox uses.
    ///
    /// # Example
    ///
    /// ```
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::outbox::Outbox;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sqlx::Error> {
    /// let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// let tx = outbox.pool().begin().await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// Queues a ping for `user_id` in the caller's transaction, in one statement: inserts
    /// the user's row due now, or bumps its generation and makes it due now. It commits or
    /// rolls back with `tx`; relays only see it after the commit.
    ///
    /// The relays of this process are woken at once. On SQLite the relay's claim then waits
    /// for your commit (one writer at a time); on Postgres the statement also notifies the
    /// relays of every process, at commit. Other relays poll.
    ///
    /// A parked row stays parked (the next requeue delivers the latest state).
    ///
    /// # Errors
    ///
    /// [`OutboxError::Database`] when the statement fails (the transaction is then aborted
    /// on Postgres: roll it back).
    ///
    /// # Example
    ///
    /// ```
    /// use sqlx::SqlitePool;
    /// use tower_livefyre::UserId;
    /// use tower_livefyre::outbox::Outbox;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// outbox.migrate().await?;
    /// let ann: UserId = "ann.lee".parse()?; // ids Livefyre would refuse stop here
    ///
    /// let mut tx = outbox.pool().begin().await?;
    /// outbox.enqueue(&mut tx, &ann).await?;
    /// outbox.enqueue(&mut tx, &ann).await?; // coalesced: still one row
    /// tx.commit().await?;
    /// assert_eq!(outbox.stats().await?.pending, 1);
    ///
    /// let mut tx = outbox.pool().begin().await?;
    /// outbox.enqueue(&mut tx, &UserId::from_static("bob")).await?;
    /// tx.rollback().await?; // and the ping with it
    /// assert_eq!(outbox.stats().await?.pending, 1);
    /// # Ok(()) }
    /// ```
    pub async fn enqueue(
        &self,
        tx: &mut Transaction<'_, DB>,
        user_id: &UserId,
    ) -> Result<(), OutboxError> {
        let sql = self.statements()?;
        DB::enqueue(&mut **tx, sql, user_id.as_str()).await?;
        self.wake();
        Ok(())
    }

    /// Wakes this process's relays now, as an enqueue does. Useful after enqueueing
    /// through another handle, or after changing rows by hand.
    ///
    /// # Example
    ///
    /// ```
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::outbox::Outbox;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sqlx::Error> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// outbox.wake();
    /// # Ok(()) }
    /// ```
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn statements(&self) -> Result<&'static Statements, OutboxError> {
        self.statements
            .as_ref()
            .copied()
            .map_err(|name| OutboxError::UnsupportedDatabase(name.clone()))
    }
}

impl<DB: Backend> Clone for Outbox<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            statements: self.statements.clone(),
            wake: Arc::clone(&self.wake),
        }
    }
}

impl<DB: Backend> fmt::Debug for Outbox<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dialect = self.statements.as_ref().map(|sql| sql.dialect);
        f.debug_struct("Outbox")
            .field("dialect", &dialect)
            .finish_non_exhaustive()
    }
}
