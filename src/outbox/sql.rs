//! Every statement the outbox runs, per SQL dialect. Parameters are numbered in the order
//! they first appear: SQLite numbers `$N` parameters by first appearance.

/// The SQL dialects the outbox speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// The statements of one dialect.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) dialect: Dialect,
    /// Run in one transaction before [`super::SCHEMA`], so that concurrent migrations wait.
    pub(crate) migrate_lock: Option<&'static str>,
    /// `$1` user id. Inserts the row due now, or bumps its generation and makes it due now.
    pub(crate) enqueue: &'static str,
    /// `$1` owner, `$2` lease in ms, `$3` batch size. Returns `user_id, generation, attempts`.
    pub(crate) claim: &'static str,
    /// Run just before [`claim`](Self::claim), in its transaction: pins its plan.
    pub(crate) claim_plan: Option<&'static str>,
    /// `$1` owner, `$2` a JSON array of `{"user_id": …, "generation": …}`: deletes those
    /// rows still at that generation, in one statement. Returns the deleted `user_id`s.
    pub(crate) delete_delivered: &'static str,
    /// `$1` user id, `$2` owner: delivered, but enqueued again meanwhile.
    pub(crate) release_redelivery: &'static str,
    /// `$1` reason, `$2` delay in ms, `$3` user id, `$4` owner.
    pub(crate) retry: &'static str,
    /// `$1` reason, `$2` user id, `$3` owner.
    pub(crate) park: &'static str,
    /// `$1` user id, `$2` owner: gives back a row not attempted.
    pub(crate) release_one: &'static str,
    /// `$1` owner: gives back every row the relay still holds.
    pub(crate) release_all: &'static str,
    /// `pending, parked, in_flight, oldest pending created_at, max attempts, now`.
    pub(crate) stats: &'static str,
    /// `$1` limit. `user_id, attempts, last_error, parked_at`.
    pub(crate) parked: &'static str,
    pub(crate) requeue_all: &'static str,
    /// `$1` user id.
    pub(crate) requeue_one: &'static str,
    /// Wakes the relays of every process (Postgres), after a requeue.
    pub(crate) notify: Option<&'static str>,
}

/// The database clock in milliseconds since the Unix epoch: every relay of a shared
/// database then agrees on what "due" and "expired" mean, whatever its own clock says.
macro_rules! now_ms {
    (sqlite) => {
        "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
    };
    // `statement_timestamp()` is stable within a statement, so indexes still apply.
    (postgres) => {
        "CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)"
    };
}

/// The statements both dialects share, with their clock.
macro_rules! statements {
    ($d:tt, $dialect:expr, enqueue: $enqueue:expr, claim: $claim:expr,
     claim_plan: $claim_plan:expr, delete: $delete:expr,
     migrate_lock: $lock:expr,
     requeue_all: $requeue_all:expr, requeue_one: $requeue_one:expr,
     notify: $notify:expr $(,)?) => {
        Statements {
            dialect: $dialect,
            migrate_lock: $lock,
            enqueue: $enqueue,
            claim: $claim,
            claim_plan: $claim_plan,
            delete_delivered: $delete,
            release_redelivery: concat!(
                "UPDATE livefyre_outbox SET lease_owner = NULL, lease_until = NULL, attempts = 0, \
                 last_error = NULL, updated_at = ",
                now_ms!($d),
                " WHERE user_id = $1 AND lease_owner = $2"
            ),
            retry: concat!(
                "UPDATE livefyre_outbox SET lease_owner = NULL, lease_until = NULL, \
                 attempts = attempts + 1, last_error = $1, due_at = ",
                now_ms!($d),
                " + $2, \
                 updated_at = ",
                now_ms!($d),
                " WHERE user_id = $3 AND lease_owner = $4"
            ),
            park: concat!(
                "UPDATE livefyre_outbox SET lease_owner = NULL, lease_until = NULL, \
                 attempts = attempts + 1, last_error = $1, parked_at = ",
                now_ms!($d),
                ", \
                 updated_at = ",
                now_ms!($d),
                " WHERE user_id = $2 AND lease_owner = $3"
            ),
            release_one: "UPDATE livefyre_outbox SET lease_owner = NULL, lease_until = NULL \
                WHERE user_id = $1 AND lease_owner = $2",
            release_all: "UPDATE livefyre_outbox SET lease_owner = NULL, lease_until = NULL \
                WHERE lease_owner = $1",
            stats: concat!(
                "SELECT COALESCE(SUM(CASE WHEN parked_at IS NULL THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN parked_at IS NULL THEN 0 ELSE 1 END), 0), \
                 COALESCE(SUM(CASE WHEN lease_until > ",
                now_ms!($d),
                " THEN 1 ELSE 0 END), 0), \
                 MIN(CASE WHEN parked_at IS NULL THEN created_at END), \
                 COALESCE(MAX(attempts), 0), ",
                now_ms!($d),
                " FROM livefyre_outbox"
            ),
            parked: "SELECT user_id, attempts, COALESCE(last_error, ''), parked_at \
                FROM livefyre_outbox WHERE parked_at IS NOT NULL \
                ORDER BY parked_at, user_id LIMIT $1",
            requeue_all: $requeue_all,
            requeue_one: $requeue_one,
            notify: $notify,
        }
    };
}

/// Makes parked rows due now, attempts reset; `$where` picks them.
macro_rules! requeue {
    ($d:tt, $where:literal) => {
        concat!(
            "UPDATE livefyre_outbox SET parked_at = NULL, attempts = 0, due_at = ",
            now_ms!($d),
            ", updated_at = ",
            now_ms!($d),
            " WHERE parked_at IS NOT NULL",
            $where
        )
    };
}

/// The insert-or-bump, one statement.
macro_rules! upsert {
    ($d:tt) => {
        concat!(
            "INSERT INTO livefyre_outbox (user_id, generation, due_at, created_at, updated_at) \
             VALUES ($1, 1, ",
            now_ms!($d),
            ", ",
            now_ms!($d),
            ", ",
            now_ms!($d),
            ") \
             ON CONFLICT (user_id) DO UPDATE SET generation = livefyre_outbox.generation + 1, \
             due_at = excluded.due_at, updated_at = excluded.updated_at"
        )
    };
}

/// The rows a claim may take: not parked, due, and not leased (or the lease expired).
macro_rules! claimable {
    ($d:tt) => {
        concat!(
            "SELECT user_id FROM livefyre_outbox WHERE parked_at IS NULL AND due_at <= ",
            now_ms!($d),
            " AND (lease_until IS NULL OR lease_until <= ",
            now_ms!($d),
            ") ORDER BY due_at LIMIT $3"
        )
    };
}

/// The Postgres channel relays listen on; enqueue and requeue notify it.
pub(crate) const CHANNEL: &str = "livefyre_outbox";

pub(crate) static SQLITE: Statements = statements! {
    sqlite, Dialect::Sqlite,
    // One statement takes SQLite's single write lock, so no two relays claim a row twice.
    enqueue: upsert!(sqlite),
    claim: concat!(
        "UPDATE livefyre_outbox SET lease_owner = $1, lease_until = ", now_ms!(sqlite), " + $2, \
         updated_at = ", now_ms!(sqlite), " WHERE user_id IN (", claimable!(sqlite), ") \
         RETURNING user_id, generation, attempts"
    ),
    // SQLite's planner walks the due index in order without statistics.
    claim_plan: None,
    delete: "DELETE FROM livefyre_outbox WHERE lease_owner = $1 AND (user_id, generation) IN \
        (SELECT json_extract(value, '$.user_id'), json_extract(value, '$.generation') \
         FROM json_each($2)) RETURNING user_id",
    migrate_lock: None,
    requeue_all: requeue!(sqlite, ""),
    requeue_one: requeue!(sqlite, " AND user_id = $1"),
    notify: None,
};

pub(crate) static POSTGRES: Statements = statements! {
    postgres, Dialect::Postgres,
    // NOTIFY inside the caller's transaction is delivered at commit, and not at all on
    // rollback: relays in every process wake exactly when the row becomes visible.
    enqueue: concat!(
        "WITH queued AS (", upsert!(postgres), " RETURNING 1) \
         SELECT pg_notify('livefyre_outbox', '') FROM queued"
    ),
    // SKIP LOCKED: concurrent relays claim disjoint rows without waiting for each other. The
    // claimed rows are found again by key (`= ANY`), never by joining the whole table.
    claim: concat!(
        "WITH due AS (", claimable!(postgres), " FOR UPDATE SKIP LOCKED) \
         UPDATE livefyre_outbox SET lease_owner = $1, lease_until = ", now_ms!(postgres),
        " + $2, updated_at = ", now_ms!(postgres), " WHERE user_id = ANY(ARRAY(SELECT user_id FROM due)) \
         RETURNING user_id, generation, attempts"
    ),
    // A stale estimate (the table swings from empty to a large backlog between two ANALYZEs)
    // makes the planner sort every due row on each claim. Walking the due index in order is
    // right at every size, so the claim's transaction pins that plan.
    claim_plan: Some(
        "SELECT set_config('enable_seqscan', 'off', true), \
         set_config('enable_bitmapscan', 'off', true)"
    ),
    // The `= ANY` on the key makes the rows be found by key, never by scanning the table.
    delete: "DELETE FROM livefyre_outbox AS o USING jsonb_to_recordset(CAST($2 AS jsonb)) \
        AS d(user_id TEXT, generation BIGINT) \
        WHERE o.user_id = ANY(ARRAY(SELECT jsonb_array_elements(CAST($2 AS jsonb)) ->> 'user_id')) \
        AND o.lease_owner = $1 AND o.user_id = d.user_id AND o.generation = d.generation \
        RETURNING o.user_id",
    migrate_lock: Some("SELECT pg_advisory_xact_lock(7102411186220871)"),
    requeue_all: requeue!(postgres, ""),
    requeue_one: requeue!(postgres, " AND user_id = $1"),
    notify: Some("SELECT pg_notify('livefyre_outbox', '')"),
};
