//! [`Backend`]: the databases the outbox runs on, and every database call it makes.
//!
//! The calls are written once, in [`store!`], and instantiated for each sqlx driver type:
//! on a concrete type every sqlx bound holds, so no public signature carries them.

use std::future::Future;

use sqlx::postgres::PgListener;
use sqlx::{Any, Pool, Postgres, Sqlite};

use super::schema::SCHEMA;
use super::sql::{CHANNEL, Dialect, POSTGRES, SQLITE, Statements};

/// A database the outbox runs on: [`sqlx::Sqlite`], [`sqlx::Postgres`], or [`sqlx::Any`]
/// connected to either. Sealed: the outbox's SQL is written for these.
///
/// # Example
///
/// ```
/// use tower_livefyre::outbox::{Backend, Outbox};
///
/// fn relay_pool<DB: Backend>(outbox: &Outbox<DB>) -> &sqlx::Pool<DB> {
///     outbox.pool()
/// }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub trait Backend: private::Store {}

impl Backend for Sqlite {}
impl Backend for Postgres {}
impl Backend for Any {}

/// A row the relay leased.
#[derive(Clone, Debug)]
pub(crate) struct Claimed {
    pub(crate) user_id: String,
    pub(crate) generation: i64,
    /// Failed attempts before this one.
    pub(crate) attempts: i64,
}

/// What to write back for one delivery attempt.
#[derive(Debug)]
pub(crate) enum Settlement {
    Delivered {
        user_id: String,
        generation: i64,
    },
    Retry {
        user_id: String,
        reason: String,
        delay_ms: i64,
    },
    Park {
        user_id: String,
        reason: String,
    },
    /// Not attempted: back to the table as it was.
    Release {
        user_id: String,
    },
}

/// What one [`private::Store::exchange`] did.
#[derive(Debug)]
pub(crate) struct Exchanged {
    /// The rows claimed, now leased to the relay.
    pub(crate) claimed: Vec<Claimed>,
    /// The user ids whose lease was lost (another relay reclaimed the row), whose outcome
    /// was therefore not written.
    pub(crate) lost: Vec<String>,
}

/// `pending, parked, in_flight, oldest pending created_at, max attempts, now` (ms).
pub(crate) type RawStats = (i64, i64, i64, Option<i64>, i64, i64);

/// `user_id, attempts, last_error, parked_at`.
pub(crate) type RawParked = (String, i64, String, i64);

pub(crate) mod private {
    use super::*;

    /// The database calls, per driver type. Public in a private module: the sealed pattern,
    /// so its crate-private argument types are fine.
    #[allow(unreachable_pub, private_interfaces, private_bounds)]
    pub trait Store: sqlx::Database {
        /// The dialect of `pool`'s database, or its name when the outbox cannot run on it.
        fn statements(pool: &Pool<Self>) -> Result<&'static Statements, String>;

        /// A listener on [`CHANNEL`], where the database has one.
        fn listen(
            pool: &Pool<Self>,
        ) -> impl Future<Output = Result<Option<PgListener>, sqlx::Error>> + Send;

        fn migrate(
            pool: &Pool<Self>,
            sql: &'static Statements,
        ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

        fn enqueue(
            conn: &mut Self::Connection,
            sql: &'static Statements,
            user_id: &str,
        ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

        /// One database round, in one transaction: writes `outcomes` back, then claims up
        /// to `limit` due rows (none when 0). A row delivered but enqueued again meanwhile
        /// is released by the first part and may be claimed again by the second.
        fn exchange(
            pool: &Pool<Self>,
            sql: &'static Statements,
            owner: &str,
            outcomes: &[Settlement],
            lease_ms: i64,
            limit: i64,
        ) -> impl Future<Output = Result<Exchanged, sqlx::Error>> + Send;

        fn release_all(
            pool: &Pool<Self>,
            sql: &'static Statements,
            owner: &str,
        ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;

        fn stats(
            pool: &Pool<Self>,
            sql: &'static Statements,
        ) -> impl Future<Output = Result<RawStats, sqlx::Error>> + Send;

        fn parked(
            pool: &Pool<Self>,
            sql: &'static Statements,
            limit: i64,
        ) -> impl Future<Output = Result<Vec<RawParked>, sqlx::Error>> + Send;

        /// Requeues every parked row, or `user_id`'s; returns how many.
        fn requeue(
            pool: &Pool<Self>,
            sql: &'static Statements,
            user_id: Option<&str>,
        ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
    }
}

/// Implements [`private::Store`] for `$db`; `statements` and `listen` differ per driver.
macro_rules! store {
    ($db:ty, statements($sp:ident) $statements:block, listen($lp:ident) $listen:block) => {
        #[allow(private_interfaces)]
        impl private::Store for $db {
            fn statements($sp: &Pool<Self>) -> Result<&'static Statements, String> $statements

            async fn listen($lp: &Pool<Self>) -> Result<Option<PgListener>, sqlx::Error> $listen

            async fn migrate(pool: &Pool<Self>, sql: &'static Statements) -> Result<(), sqlx::Error> {
                let mut tx = pool.begin().await?;
                if let Some(lock) = sql.migrate_lock {
                    sqlx::query(lock).execute(&mut *tx).await?;
                }
                sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;
                tx.commit().await
            }

            async fn enqueue(
                conn: &mut Self::Connection,
                sql: &'static Statements,
                user_id: &str,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(sql.enqueue).bind(user_id).execute(conn).await?;
                Ok(())
            }

            async fn exchange(
                pool: &Pool<Self>,
                sql: &'static Statements,
                owner: &str,
                outcomes: &[Settlement],
                lease_ms: i64,
                limit: i64,
            ) -> Result<Exchanged, sqlx::Error> {
                async fn claim<'c, E: sqlx::Executor<'c, Database = $db>>(
                    executor: E,
                    sql: &'static Statements,
                    owner: &str,
                    lease_ms: i64,
                    limit: i64,
                ) -> Result<Vec<Claimed>, sqlx::Error> {
                    if limit == 0 {
                        return Ok(Vec::new());
                    }
                    let rows: Vec<(String, i64, i64)> = sqlx::query_as(sql.claim)
                        .bind(owner)
                        .bind(lease_ms)
                        .bind(limit)
                        .fetch_all(executor)
                        .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(user_id, generation, attempts)| Claimed { user_id, generation, attempts })
                        .collect())
                }

                // Nothing to write back: the claim alone is one statement, no transaction
                // (unless its plan is pinned, which takes one).
                if outcomes.is_empty() && (limit == 0 || sql.claim_plan.is_none()) {
                    let claimed = claim(pool, sql, owner, lease_ms, limit).await?;
                    return Ok(Exchanged { claimed, lost: Vec::new() });
                }
                let mut lost = Vec::new();
                let mut tx = pool.begin().await?;
                // Every delivered row in one statement; the others are rare, one each. The
                // first statement writes, so SQLite takes its write lock at once.
                let delivered: Vec<_> = outcomes
                    .iter()
                    .filter_map(|outcome| match outcome {
                        Settlement::Delivered { user_id, generation } => Some(
                            serde_json::json!({ "user_id": user_id, "generation": generation }),
                        ),
                        _ => None,
                    })
                    .collect();
                let deleted: std::collections::HashSet<String> = if delivered.is_empty() {
                    Default::default()
                } else {
                    sqlx::query_scalar(sql.delete_delivered)
                        .bind(owner)
                        .bind(serde_json::Value::Array(delivered).to_string())
                        .fetch_all(&mut *tx)
                        .await?
                        .into_iter()
                        .collect()
                };
                for outcome in outcomes {
                    let (user_id, written) = match outcome {
                        Settlement::Delivered { user_id, .. } if deleted.contains(user_id) => continue,
                        Settlement::Delivered { user_id, .. } => {
                            // Enqueued again while the ping was in flight: keep the row,
                            // due (the enqueue made it due), for one more ping.
                            let released = sqlx::query(sql.release_redelivery)
                                .bind(user_id.as_str())
                                .bind(owner)
                                .execute(&mut *tx)
                                .await?;
                            (user_id, released.rows_affected() > 0)
                        }
                        Settlement::Retry { user_id, reason, delay_ms } => {
                            let done = sqlx::query(sql.retry)
                                .bind(reason.as_str())
                                .bind(*delay_ms)
                                .bind(user_id.as_str())
                                .bind(owner)
                                .execute(&mut *tx)
                                .await?;
                            (user_id, done.rows_affected() > 0)
                        }
                        Settlement::Release { user_id } => {
                            let done = sqlx::query(sql.release_one)
                                .bind(user_id.as_str())
                                .bind(owner)
                                .execute(&mut *tx)
                                .await?;
                            (user_id, done.rows_affected() > 0)
                        }
                        Settlement::Park { user_id, reason } => {
                            let done = sqlx::query(sql.park)
                                .bind(reason.as_str())
                                .bind(user_id.as_str())
                                .bind(owner)
                                .execute(&mut *tx)
                                .await?;
                            (user_id, done.rows_affected() > 0)
                        }
                    };
                    if !written {
                        lost.push(user_id.clone());
                    }
                }
                if let (Some(plan), true) = (sql.claim_plan, limit > 0) {
                    sqlx::query(plan).execute(&mut *tx).await?;
                }
                let claimed = claim(&mut *tx, sql, owner, lease_ms, limit).await?;
                tx.commit().await?;
                Ok(Exchanged { claimed, lost })
            }

            async fn release_all(
                pool: &Pool<Self>,
                sql: &'static Statements,
                owner: &str,
            ) -> Result<u64, sqlx::Error> {
                let done = sqlx::query(sql.release_all).bind(owner).execute(pool).await?;
                Ok(done.rows_affected())
            }

            async fn stats(pool: &Pool<Self>, sql: &'static Statements) -> Result<RawStats, sqlx::Error> {
                sqlx::query_as(sql.stats).fetch_one(pool).await
            }

            async fn parked(
                pool: &Pool<Self>,
                sql: &'static Statements,
                limit: i64,
            ) -> Result<Vec<RawParked>, sqlx::Error> {
                sqlx::query_as(sql.parked).bind(limit).fetch_all(pool).await
            }

            async fn requeue(
                pool: &Pool<Self>,
                sql: &'static Statements,
                user_id: Option<&str>,
            ) -> Result<u64, sqlx::Error> {
                let done = match user_id {
                    Some(id) => sqlx::query(sql.requeue_one).bind(id).execute(pool).await?,
                    None => sqlx::query(sql.requeue_all).execute(pool).await?,
                };
                if let (Some(notify), true) = (sql.notify, done.rows_affected() > 0) {
                    sqlx::query(notify).execute(pool).await?;
                }
                Ok(done.rows_affected())
            }
        }
    };
}

store!(Sqlite, statements(_pool) { Ok(&SQLITE) }, listen(_pool) { Ok(None) });

store!(
    Postgres,
    statements(_pool) { Ok(&POSTGRES) },
    listen(pool) {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(listener))
    }
);

store!(
    Any,
    statements(pool) {
        match pool.connect_options().database_url.scheme() {
            "sqlite" => Ok(&SQLITE),
            "postgres" | "postgresql" => Ok(&POSTGRES),
            other => Err(other.to_owned()),
        }
    },
    listen(pool) {
        let options = pool.connect_options();
        if <Self as private::Store>::statements(pool).map(|sql| sql.dialect) != Ok(Dialect::Postgres) {
            return Ok(None);
        }
        let mut listener = PgListener::connect(options.database_url.as_str()).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(listener))
    }
);
