//! [`Backend`]: the databases the outbox runs on, and every database call it makes.
//!
//! The calls are written once, in [`store!`], and instantiated for each sqlx driver type:
//! on a concrete type every sqlx bound holds, so no public signature carries them.

use std::future::Future;

use sqlx::postgres::PgListener;
use sqlx::{Any, Pool, Postgres, Sqlite};

use std::sync::Arc;

use super::park_kind::ParkKind;
use super::sql::{ADDED_COLUMNS, CHANNEL, Dialect, POSTGRES, SQLITE, Statements};

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

/// One row of a claim: leased to the relay under the claim's token.
#[derive(Clone, Debug)]
pub(crate) struct Claim {
    pub(crate) user_id: String,
    pub(crate) generation: i64,
    /// Failed attempts before this one.
    pub(crate) attempts: i64,
    /// Pings Livefyre accepted that no pull has confirmed yet.
    pub(crate) unpulled_pings: i64,
    /// Whether the row was awaiting its pull (its deadline passed: this is a re-ping).
    pub(crate) awaiting: bool,
    /// The claim's lease token: every write-back for this row names it.
    pub(crate) token: Arc<str>,
}

/// The outcome of one claimed row, to write back.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Livefyre accepted the ping and pulls are not confirmed: the row is done.
    Delivered(Claim),
    /// Livefyre accepted the ping: the row now awaits its pull (or is re-pinged later).
    AwaitPull(Claim),
    /// Try again after `delay_ms`.
    Retry {
        row: Claim,
        reason: String,
        delay_ms: i64,
    },
    /// Failed for good until a requeue or a new enqueue.
    Park {
        row: Claim,
        reason: String,
        kind: ParkKind,
    },
    /// Not attempted: back to the table as it was.
    Release(Claim),
}

impl Outcome {
    /// The `outcome` label of `livefyre_outbox_outcomes_total`.
    #[cfg(feature = "metrics")]
    pub(crate) fn metric_outcome(&self) -> crate::metrics::OutboxOutcome {
        use crate::metrics::OutboxOutcome as O;
        match self {
            Self::Delivered(_) => O::Delivered,
            Self::AwaitPull(_) => O::AwaitingPull,
            Self::Retry { .. } => O::Retry,
            Self::Park { .. } => O::Parked,
            Self::Release(_) => O::Released,
        }
    }

    fn row(&self) -> &Claim {
        match self {
            Self::Delivered(row) | Self::AwaitPull(row) | Self::Release(row) => row,
            Self::Retry { row, .. } | Self::Park { row, .. } => row,
        }
    }
}

/// A claim to make in a round: up to `limit` due rows, leased for `lease_ms` under `token`.
#[derive(Debug)]
pub(crate) struct ClaimRequest {
    pub(crate) owner: String,
    pub(crate) token: Arc<str>,
    pub(crate) lease_ms: i64,
    pub(crate) limit: i64,
}

/// What one [`private::Store::round`] did.
#[derive(Debug)]
pub(crate) struct RoundResult {
    /// The rows claimed, now leased to the relay.
    pub(crate) claimed: Vec<Claim>,
    /// The user ids whose outcome matched no row: the claim it answered is gone (another
    /// claim took the row after its lease ran out, or a pull confirmed it meanwhile).
    pub(crate) unmatched: Vec<String>,
}

/// `pending, in_flight, awaiting, parked, oldest pending created_at, oldest awaiting_since,
/// max attempts, now` (ms).
pub(crate) type RawStats = (i64, i64, i64, i64, Option<i64>, Option<i64>, i64, i64);

/// `user_id, attempts, last_error, park_kind, parked_at`.
pub(crate) type RawParked = (String, i64, String, String, i64);

/// `user_id, awaiting_since, unpulled_pings, now` (ms).
pub(crate) type RawAwaiting = (String, i64, i64, i64);

/// The outcomes of `kind` as the JSON array the batched statements read.
fn batch(outcomes: &[Outcome], pick: fn(&Outcome) -> bool) -> Option<String> {
    let rows: Vec<_> = outcomes
        .iter()
        .filter(|outcome| pick(outcome))
        .map(|outcome| {
            let row = outcome.row();
            serde_json::json!({ "user_id": row.user_id, "generation": row.generation, "token": &*row.token })
        })
        .collect();
    (!rows.is_empty()).then(|| serde_json::Value::Array(rows).to_string())
}

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

        /// One database round, in one transaction: writes `outcomes` back, then makes
        /// `claim`. A row accepted but enqueued again meanwhile is released by the first
        /// part and may be claimed again by the second.
        fn round(
            pool: &Pool<Self>,
            sql: &'static Statements,
            outcomes: &[Outcome],
            pull_deadline_ms: i64,
            claim: Option<&ClaimRequest>,
        ) -> impl Future<Output = Result<RoundResult, sqlx::Error>> + Send;

        fn release_all(
            pool: &Pool<Self>,
            sql: &'static Statements,
            owner: &str,
        ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;

        /// The generation a pull of `user_id` served now may confirm.
        fn pull_ticket(
            pool: &Pool<Self>,
            sql: &'static Statements,
            user_id: &str,
        ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send;

        /// Deletes the row if it is still at `generation`; returns its age in ms.
        fn confirm_pull(
            pool: &Pool<Self>,
            sql: &'static Statements,
            user_id: &str,
            generation: i64,
        ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send;

        fn stats(
            pool: &Pool<Self>,
            sql: &'static Statements,
        ) -> impl Future<Output = Result<RawStats, sqlx::Error>> + Send;

        fn parked(
            pool: &Pool<Self>,
            sql: &'static Statements,
            limit: i64,
        ) -> impl Future<Output = Result<Vec<RawParked>, sqlx::Error>> + Send;

        fn awaiting(
            pool: &Pool<Self>,
            sql: &'static Statements,
            limit: i64,
        ) -> impl Future<Output = Result<Vec<RawAwaiting>, sqlx::Error>> + Send;

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
                let mut tx = match sql.migrate_begin {
                    Some(begin) => pool.begin_with(begin).await?,
                    None => pool.begin().await?,
                };
                if let Some(lock) = sql.migrate_lock {
                    sqlx::query(lock).execute(&mut *tx).await?;
                }
                // A sequence created now starts past the generations an older version wrote.
                let new_sequence = sql.dialect == Dialect::Postgres
                    && sqlx::query_scalar::<_, i64>(
                        "SELECT COUNT(*) FROM pg_class WHERE relname = 'livefyre_outbox_generation' \
                         AND relnamespace = CAST(current_schema() AS regnamespace)",
                    )
                    .fetch_one(&mut *tx)
                    .await?
                        == 0;
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.schema)).execute(&mut *tx).await?;
                let columns: Vec<String> = sqlx::query_scalar(sql.columns).fetch_all(&mut *tx).await?;
                for (column, kind) in ADDED_COLUMNS {
                    if !columns.iter().any(|have| have == column) {
                        let add = format!("ALTER TABLE livefyre_outbox ADD COLUMN {column} {kind}");
                        sqlx::raw_sql(sqlx::AssertSqlSafe(add)).execute(&mut *tx).await?;
                    }
                }
                if new_sequence {
                    sqlx::query(
                        "SELECT setval('livefyre_outbox_generation', \
                         (SELECT COALESCE(MAX(generation), 0) + 1 FROM livefyre_outbox), false)",
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await
            }

            async fn enqueue(
                conn: &mut Self::Connection,
                sql: &'static Statements,
                user_id: &str,
            ) -> Result<(), sqlx::Error> {
                if let Some(next) = sql.next_generation {
                    sqlx::query(next).execute(&mut *conn).await?;
                }
                sqlx::query(sql.enqueue).bind(user_id).execute(conn).await?;
                Ok(())
            }

            async fn round(
                pool: &Pool<Self>,
                sql: &'static Statements,
                outcomes: &[Outcome],
                pull_deadline_ms: i64,
                claim: Option<&ClaimRequest>,
            ) -> Result<RoundResult, sqlx::Error> {
                async fn claim_rows<'c, E: sqlx::Executor<'c, Database = $db>>(
                    executor: E,
                    sql: &'static Statements,
                    claim: Option<&ClaimRequest>,
                ) -> Result<Vec<Claim>, sqlx::Error> {
                    let Some(claim) = claim.filter(|claim| claim.limit > 0) else {
                        return Ok(Vec::new());
                    };
                    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(sql.claim)
                        .bind(claim.owner.as_str())
                        .bind(&*claim.token)
                        .bind(claim.lease_ms)
                        .bind(claim.limit)
                        .fetch_all(executor)
                        .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(user_id, generation, attempts, unpulled_pings, awaiting)| Claim {
                            user_id,
                            generation,
                            attempts,
                            unpulled_pings,
                            awaiting: awaiting != 0,
                            token: claim.token.clone(),
                        })
                        .collect())
                }

                let claiming = claim.is_some_and(|claim| claim.limit > 0);
                // Nothing to write back: the claim alone is one statement, no transaction
                // (unless its plan is pinned, which takes one).
                if outcomes.is_empty() && (!claiming || sql.claim_plan.is_none()) {
                    let claimed = claim_rows(pool, sql, claim).await?;
                    return Ok(RoundResult { claimed, unmatched: Vec::new() });
                }
                let mut unmatched = Vec::new();
                let mut tx = pool.begin().await?;
                // Accepted rows in one statement per kind; the others are rare, one each. The
                // first statement writes, so SQLite takes its write lock at once.
                let mut done = std::collections::HashSet::new();
                if let Some(rows) = batch(outcomes, |o| matches!(o, Outcome::Delivered(_))) {
                    let deleted: Vec<String> = sqlx::query_scalar(sql.delete_delivered)
                        .bind(rows)
                        .fetch_all(&mut *tx)
                        .await?;
                    done.extend(deleted);
                }
                if let Some(rows) = batch(outcomes, |o| matches!(o, Outcome::AwaitPull(_))) {
                    let awaiting: Vec<String> = sqlx::query_scalar(sql.await_pull)
                        .bind(pull_deadline_ms)
                        .bind(rows)
                        .fetch_all(&mut *tx)
                        .await?;
                    done.extend(awaiting);
                }
                for outcome in outcomes {
                    let row = outcome.row();
                    let token = &*row.token;
                    let user_id = row.user_id.as_str();
                    let written = match outcome {
                        Outcome::Delivered(_) | Outcome::AwaitPull(_) if done.contains(user_id) => continue,
                        Outcome::Delivered(_) | Outcome::AwaitPull(_) => {
                            // Enqueued again while the ping was in flight: keep the row,
                            // due (the enqueue made it due), for one more ping.
                            sqlx::query(sql.release_redelivery)
                                .bind(user_id)
                                .bind(token)
                                .execute(&mut *tx)
                                .await?
                        }
                        Outcome::Retry { reason, delay_ms, .. } => {
                            sqlx::query(sql.retry)
                                .bind(reason.as_str())
                                .bind(*delay_ms)
                                .bind(user_id)
                                .bind(token)
                                .execute(&mut *tx)
                                .await?
                        }
                        Outcome::Release(_) => {
                            sqlx::query(sql.release_one)
                                .bind(user_id)
                                .bind(token)
                                .execute(&mut *tx)
                                .await?
                        }
                        Outcome::Park { reason, kind, .. } => {
                            sqlx::query(sql.park)
                                .bind(reason.as_str())
                                .bind(kind.as_str())
                                .bind(user_id)
                                .bind(token)
                                .execute(&mut *tx)
                                .await?
                        }
                    };
                    if written.rows_affected() == 0 {
                        unmatched.push(row.user_id.clone());
                    }
                }
                if let (Some(plan), true) = (sql.claim_plan, claiming) {
                    sqlx::query(plan).execute(&mut *tx).await?;
                }
                let claimed = claim_rows(&mut *tx, sql, claim).await?;
                tx.commit().await?;
                Ok(RoundResult { claimed, unmatched })
            }

            async fn release_all(
                pool: &Pool<Self>,
                sql: &'static Statements,
                owner: &str,
            ) -> Result<u64, sqlx::Error> {
                let done = sqlx::query(sql.release_all).bind(owner).execute(pool).await?;
                Ok(done.rows_affected())
            }

            async fn pull_ticket(
                pool: &Pool<Self>,
                sql: &'static Statements,
                user_id: &str,
            ) -> Result<Option<i64>, sqlx::Error> {
                sqlx::query_scalar(sql.pull_ticket).bind(user_id).fetch_optional(pool).await
            }

            async fn confirm_pull(
                pool: &Pool<Self>,
                sql: &'static Statements,
                user_id: &str,
                generation: i64,
            ) -> Result<Option<i64>, sqlx::Error> {
                sqlx::query_scalar(sql.confirm_pull)
                    .bind(user_id)
                    .bind(generation)
                    .fetch_optional(pool)
                    .await
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

            async fn awaiting(
                pool: &Pool<Self>,
                sql: &'static Statements,
                limit: i64,
            ) -> Result<Vec<RawAwaiting>, sqlx::Error> {
                sqlx::query_as(sql.awaiting_rows).bind(limit).fetch_all(pool).await
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
