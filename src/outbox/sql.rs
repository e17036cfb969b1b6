//! Every statement the outbox runs, per SQL dialect. Parameters are numbered in the order
//! they first appear: SQLite numbers `$N` parameters by first appearance.
//!
//! Every write-back names the claim it answers (`lease_token`, one per claim): an outcome
//! meant for an older claim of the same row (the lease ran out and the row was claimed
//! again, by this relay or another) matches nothing and is dropped.

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
    /// The tables, indexes and generation counter ([`super::SQLITE_SCHEMA`] or
    /// [`super::POSTGRES_SCHEMA`]).
    pub(crate) schema: &'static str,
    /// How the migration's transaction begins, when not with the driver's `BEGIN`: it reads
    /// (the schema, the columns) before it writes, and SQLite fails a deferred transaction
    /// at its first write, without waiting, when another connection wrote after its first
    /// read. `BEGIN IMMEDIATE` takes the write lock at the start and waits for it.
    pub(crate) migrate_begin: Option<&'static str>,
    /// Run in one transaction before the schema, so that concurrent migrations wait.
    pub(crate) migrate_lock: Option<&'static str>,
    /// The columns the table has, to add those an older version did not create.
    pub(crate) columns: &'static str,
    /// Run before [`enqueue`](Self::enqueue) in the same transaction (SQLite's counter).
    pub(crate) next_generation: Option<&'static str>,
    /// `$1` user id. Inserts the row due now, or gives it a new generation and makes it due
    /// now (a parked row too: a new change deserves a new try).
    pub(crate) enqueue: &'static str,
    /// `$1` owner, `$2` claim token, `$3` lease in ms, `$4` batch size. Returns
    /// `user_id, generation, attempts, unpulled_pings, awaiting (0/1)`.
    pub(crate) claim: &'static str,
    /// Run just before [`claim`](Self::claim), in its transaction: pins its plan.
    pub(crate) claim_plan: Option<&'static str>,
    /// `$1` a JSON array of `{"user_id", "generation", "token"}`: deletes those rows still at
    /// that generation and claim. Returns the deleted `user_id`s.
    pub(crate) delete_delivered: &'static str,
    /// `$1` pull deadline in ms, `$2` a JSON array as for
    /// [`delete_delivered`](Self::delete_delivered): those rows now await their pull.
    /// Returns their `user_id`s.
    pub(crate) await_pull: &'static str,
    /// `$1` user id, `$2` claim token: accepted, but enqueued again meanwhile.
    pub(crate) release_redelivery: &'static str,
    /// `$1` reason, `$2` delay in ms, `$3` user id, `$4` claim token.
    pub(crate) retry: &'static str,
    /// `$1` reason, `$2` kind, `$3` user id, `$4` claim token.
    pub(crate) park: &'static str,
    /// `$1` user id, `$2` claim token: gives back a row not attempted.
    pub(crate) release_one: &'static str,
    /// `$1` owner: gives back every row the relay still holds.
    pub(crate) release_all: &'static str,
    /// `$1` user id: the generation a pull may confirm (the row's, once claimed for a ping).
    pub(crate) pull_ticket: &'static str,
    /// `$1` user id, `$2` generation: the pull served it. Returns how long ago (ms, database
    /// clock) the row was first enqueued.
    pub(crate) confirm_pull: &'static str,
    /// `pending, in_flight, awaiting, parked, oldest pending created_at, oldest
    /// awaiting_since, max attempts, now`.
    pub(crate) stats: &'static str,
    /// `$1` limit. `user_id, attempts, last_error, park_kind, parked_at`.
    pub(crate) parked: &'static str,
    /// `$1` limit. `user_id, awaiting_since, unpulled_pings, now` of the rows awaiting their
    /// pull and not leased (the `awaiting` of `stats`), the longest waiting first.
    pub(crate) awaiting_rows: &'static str,
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

/// The table, the same on both dialects.
macro_rules! table {
    () => {
        "CREATE TABLE IF NOT EXISTS livefyre_outbox (
    user_id         TEXT PRIMARY KEY,
    generation      BIGINT NOT NULL,
    due_at          BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    park_kind       TEXT,
    lease_owner     TEXT,
    lease_token     TEXT,
    lease_until     BIGINT,
    parked_at       BIGINT,
    ping_generation BIGINT,
    awaiting_since  BIGINT,
    unpulled_pings  BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS livefyre_outbox_due ON livefyre_outbox (due_at) WHERE parked_at IS NULL;
CREATE INDEX IF NOT EXISTS livefyre_outbox_lease ON livefyre_outbox (lease_owner) WHERE lease_owner IS NOT NULL;
"
    };
}

pub(crate) const SQLITE_SCHEMA: &str = concat!(
    table!(),
    // One counter for every user's generations, so that none ever repeats, even after a
    // delete. SQLite has one writer at a time anyway, so a counter row costs no concurrency.
    "CREATE TABLE IF NOT EXISTS livefyre_outbox_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT OR IGNORE INTO livefyre_outbox_generation (id, value)
    SELECT 1, COALESCE(MAX(generation), 0) FROM livefyre_outbox;
"
);

pub(crate) const POSTGRES_SCHEMA: &str = concat!(
    table!(),
    // A sequence, not a counter row: `nextval` never waits for another transaction.
    "CREATE SEQUENCE IF NOT EXISTS livefyre_outbox_generation;
"
);

/// `pending, in_flight, awaiting, parked`: each row is in exactly one of these states.
macro_rules! stats {
    ($d:tt) => {
        concat!(
            "SELECT \
             COALESCE(SUM(CASE WHEN parked_at IS NULL AND NOT (",
            leased!($d),
            ") \
               AND awaiting_since IS NULL THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN parked_at IS NULL AND (",
            leased!($d),
            ") THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN parked_at IS NULL AND NOT (",
            leased!($d),
            ") \
               AND awaiting_since IS NOT NULL THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN parked_at IS NULL THEN 0 ELSE 1 END), 0), \
             MIN(CASE WHEN parked_at IS NULL AND awaiting_since IS NULL THEN created_at END), \
             MIN(CASE WHEN parked_at IS NULL THEN awaiting_since END), \
             COALESCE(MAX(attempts), 0), ",
            now_ms!($d),
            " FROM livefyre_outbox"
        )
    };
}

/// Whether a relay holds a live lease on the row.
macro_rules! leased {
    ($d:tt) => {
        concat!("lease_until IS NOT NULL AND lease_until > ", now_ms!($d))
    };
}

/// The statements both dialects share, with their clock.
macro_rules! statements {
    ($d:tt, $dialect:expr, schema: $schema:expr, columns: $columns:expr,
     next_generation: $next:expr, enqueue: $enqueue:expr, claim: $claim:expr,
     claim_plan: $claim_plan:expr, delete: $delete:expr, await_pull: $await_pull:expr,
     migrate_begin: $begin:expr, migrate_lock: $lock:expr, notify: $notify:expr $(,)?) => {
        Statements {
            dialect: $dialect,
            schema: $schema,
            migrate_begin: $begin,
            migrate_lock: $lock,
            columns: $columns,
            next_generation: $next,
            enqueue: $enqueue,
            claim: $claim,
            claim_plan: $claim_plan,
            delete_delivered: $delete,
            await_pull: $await_pull,
            release_redelivery: concat!(
                "UPDATE livefyre_outbox SET lease_owner = NULL, lease_token = NULL, \
                 lease_until = NULL, attempts = 0, last_error = NULL, park_kind = NULL, \
                 updated_at = ",
                now_ms!($d),
                " WHERE user_id = $1 AND lease_token = $2"
            ),
            retry: concat!(
                "UPDATE livefyre_outbox SET lease_owner = NULL, lease_token = NULL, \
                 lease_until = NULL, awaiting_since = NULL, \
                 attempts = attempts + 1, last_error = $1, due_at = ",
                now_ms!($d),
                " + $2, updated_at = ",
                now_ms!($d),
                " WHERE user_id = $3 AND lease_token = $4"
            ),
            park: concat!(
                "UPDATE livefyre_outbox SET lease_owner = NULL, lease_token = NULL, \
                 lease_until = NULL, awaiting_since = NULL, \
                 attempts = attempts + 1, last_error = $1, park_kind = $2, parked_at = ",
                now_ms!($d),
                ", updated_at = ",
                now_ms!($d),
                " WHERE user_id = $3 AND lease_token = $4"
            ),
            release_one: "UPDATE livefyre_outbox SET lease_owner = NULL, lease_token = NULL, \
                lease_until = NULL WHERE user_id = $1 AND lease_token = $2",
            release_all: "UPDATE livefyre_outbox SET lease_owner = NULL, lease_token = NULL, \
                lease_until = NULL WHERE lease_owner = $1",
            pull_ticket: "SELECT generation FROM livefyre_outbox \
                WHERE user_id = $1 AND ping_generation = generation",
            confirm_pull: concat!(
                "DELETE FROM livefyre_outbox \
                 WHERE user_id = $1 AND generation = $2 AND ping_generation = $2 RETURNING ",
                now_ms!($d),
                " - created_at"
            ),
            stats: stats!($d),
            parked: "SELECT user_id, attempts, COALESCE(last_error, ''), \
                COALESCE(park_kind, 'refused'), parked_at \
                FROM livefyre_outbox WHERE parked_at IS NOT NULL \
                ORDER BY parked_at, user_id LIMIT $1",
            awaiting_rows: concat!(
                "SELECT user_id, awaiting_since, unpulled_pings, ",
                now_ms!($d),
                " FROM livefyre_outbox WHERE parked_at IS NULL AND awaiting_since IS NOT NULL \
                 AND NOT (",
                leased!($d),
                ") ORDER BY awaiting_since, user_id LIMIT $1"
            ),
            requeue_all: requeue!($d, ""),
            requeue_one: requeue!($d, " AND user_id = $1"),
            notify: $notify,
        }
    };
}

/// Makes parked rows due now, attempts and unanswered pings reset; `$where` picks them.
macro_rules! requeue {
    ($d:tt, $where:literal) => {
        concat!(
            "UPDATE livefyre_outbox SET parked_at = NULL, attempts = 0, unpulled_pings = 0, \
             due_at = ",
            now_ms!($d),
            ", updated_at = ",
            now_ms!($d),
            " WHERE parked_at IS NOT NULL",
            $where
        )
    };
}

/// The insert-or-renew, one statement, with `$generation` as the new generation. A row
/// awaiting its pull is due again at once; a parked one too, with a fresh count (its
/// reason stays in `last_error` until the next delivery).
macro_rules! upsert {
    ($d:tt, $generation:expr) => {
        concat!(
            "INSERT INTO livefyre_outbox (user_id, generation, due_at, created_at, updated_at) \
             VALUES ($1, ",
            $generation,
            ", ",
            now_ms!($d),
            ", ",
            now_ms!($d),
            ", ",
            now_ms!($d),
            ") \
             ON CONFLICT (user_id) DO UPDATE SET generation = excluded.generation, \
             due_at = excluded.due_at, updated_at = excluded.updated_at, awaiting_since = NULL, \
             attempts = CASE WHEN livefyre_outbox.parked_at IS NULL \
               THEN livefyre_outbox.attempts ELSE 0 END, \
             unpulled_pings = CASE WHEN livefyre_outbox.parked_at IS NULL \
               THEN livefyre_outbox.unpulled_pings ELSE 0 END, \
             parked_at = NULL"
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
            ") ORDER BY due_at LIMIT $4"
        )
    };
}

/// What a claim sets: the lease, and the generation the coming ping announces.
macro_rules! lease {
    ($d:tt) => {
        concat!(
            "lease_owner = $1, lease_token = $2, lease_until = ",
            now_ms!($d),
            " + $3, ping_generation = generation, updated_at = ",
            now_ms!($d)
        )
    };
}

/// What a claim returns.
macro_rules! claimed {
    () => {
        " RETURNING user_id, generation, attempts, unpulled_pings, \
         CAST(CASE WHEN awaiting_since IS NULL THEN 0 ELSE 1 END AS BIGINT)"
    };
}

/// What an accepted ping sets when the row now awaits its pull; `$1` is the deadline.
macro_rules! awaiting {
    ($d:tt) => {
        concat!(
            "lease_owner = NULL, lease_token = NULL, lease_until = NULL, attempts = 0, \
             last_error = NULL, park_kind = NULL, awaiting_since = ",
            now_ms!($d),
            ", unpulled_pings = unpulled_pings + 1, due_at = ",
            now_ms!($d),
            " + $1, updated_at = ",
            now_ms!($d)
        )
    };
}

/// The Postgres channel relays listen on; enqueue and requeue notify it.
pub(crate) const CHANNEL: &str = "livefyre_outbox";

pub(crate) static SQLITE: Statements = statements! {
    sqlite, Dialect::Sqlite,
    schema: SQLITE_SCHEMA,
    columns: "SELECT name FROM pragma_table_info('livefyre_outbox')",
    next_generation: Some("UPDATE livefyre_outbox_generation SET value = value + 1 WHERE id = 1"),
    enqueue: upsert!(sqlite, "(SELECT value FROM livefyre_outbox_generation WHERE id = 1)"),
    // One statement takes SQLite's single write lock, so no two relays claim a row twice.
    claim: concat!(
        "UPDATE livefyre_outbox SET ", lease!(sqlite), " WHERE user_id IN (",
        claimable!(sqlite), ")", claimed!()
    ),
    // SQLite's planner walks the due index in order without statistics.
    claim_plan: None,
    delete: "DELETE FROM livefyre_outbox WHERE (user_id, generation, lease_token) IN \
        (SELECT json_extract(value, '$.user_id'), json_extract(value, '$.generation'), \
         json_extract(value, '$.token') FROM json_each($1)) RETURNING user_id",
    await_pull: concat!(
        "UPDATE livefyre_outbox SET ", awaiting!(sqlite),
        " WHERE (user_id, generation, lease_token) IN \
         (SELECT json_extract(value, '$.user_id'), json_extract(value, '$.generation'), \
          json_extract(value, '$.token') FROM json_each($2)) RETURNING user_id"
    ),
    migrate_begin: Some("BEGIN IMMEDIATE"),
    migrate_lock: None,
    notify: None,
};

pub(crate) static POSTGRES: Statements = statements! {
    postgres, Dialect::Postgres,
    schema: POSTGRES_SCHEMA,
    columns: "SELECT column_name::text FROM information_schema.columns \
        WHERE table_name = 'livefyre_outbox' AND table_schema = current_schema()",
    next_generation: None,
    // NOTIFY inside the caller's transaction is delivered at commit, and not at all on
    // rollback: relays in every process wake exactly when the row becomes visible.
    enqueue: concat!(
        "WITH queued AS (", upsert!(postgres, "nextval('livefyre_outbox_generation')"),
        " RETURNING 1) SELECT pg_notify('livefyre_outbox', '') FROM queued"
    ),
    // SKIP LOCKED: concurrent relays claim disjoint rows without waiting for each other. The
    // claimed rows are found again by key (`= ANY`), never by joining the whole table.
    claim: concat!(
        "WITH due AS (", claimable!(postgres), " FOR UPDATE SKIP LOCKED) \
         UPDATE livefyre_outbox SET ", lease!(postgres),
        " WHERE user_id = ANY(ARRAY(SELECT user_id FROM due))", claimed!()
    ),
    // A stale estimate (the table swings from empty to a large backlog between two ANALYZEs)
    // makes the planner sort every due row on each claim. Walking the due index in order is
    // right at every size, so the claim's transaction pins that plan.
    claim_plan: Some(
        "SELECT set_config('enable_seqscan', 'off', true), \
         set_config('enable_bitmapscan', 'off', true)"
    ),
    // The `= ANY` on the key makes the rows be found by key, never by scanning the table.
    delete: "DELETE FROM livefyre_outbox AS o USING jsonb_to_recordset(CAST($1 AS jsonb)) \
        AS d(user_id TEXT, generation BIGINT, token TEXT) \
        WHERE o.user_id = ANY(ARRAY(SELECT jsonb_array_elements(CAST($1 AS jsonb)) ->> 'user_id')) \
        AND o.user_id = d.user_id AND o.generation = d.generation AND o.lease_token = d.token \
        RETURNING o.user_id",
    await_pull: concat!(
        "UPDATE livefyre_outbox AS o SET ", awaiting!(postgres),
        " FROM jsonb_to_recordset(CAST($2 AS jsonb)) \
         AS d(user_id TEXT, generation BIGINT, token TEXT) \
         WHERE o.user_id = ANY(ARRAY(SELECT jsonb_array_elements(CAST($2 AS jsonb)) ->> 'user_id')) \
         AND o.user_id = d.user_id AND o.generation = d.generation AND o.lease_token = d.token \
         RETURNING o.user_id"
    ),
    migrate_begin: None,
    migrate_lock: Some("SELECT pg_advisory_xact_lock(7102411186220871)"),
    notify: Some("SELECT pg_notify('livefyre_outbox', '')"),
};

/// The columns added since the first release, with their SQL type: added by
/// [`Outbox::migrate`](super::Outbox::migrate) to a table an older version created.
pub(crate) const ADDED_COLUMNS: &[(&str, &str)] = &[
    ("park_kind", "TEXT"),
    ("lease_token", "TEXT"),
    ("ping_generation", "BIGINT"),
    ("awaiting_since", "BIGINT"),
    ("unpulled_pings", "BIGINT NOT NULL DEFAULT 0"),
];
