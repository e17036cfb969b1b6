//! [`Relay`]: claims due rows, pings, and writes each outcome back.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::stream::{FuturesUnordered, StreamExt as _};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::delivery::{Outcome, deliver};
use super::sql::{Dialect, Statements};
use super::store::{Claimed, Exchanged, Settlement};
use super::{Backend, Outbox, OutboxError};
use crate::{PingClient, RetryPolicy};

/// No wait or lease written to the database exceeds this (ten years): the sums stay far
/// from `BIGINT` overflow whatever the configuration.
const MAX_MILLIS: u128 = 10 * 365 * 24 * 3600 * 1000;

fn millis(duration: Duration) -> i64 {
    // Within range by the `min`, so the conversion cannot fail.
    i64::try_from(duration.as_millis().min(MAX_MILLIS)).unwrap_or(i64::MAX)
}

/// Delivers the outbox's pings: claims due rows in batches under a lease, pings each
/// through [`PingClient`] with bounded concurrency, and writes the outcome back (delete,
/// retry later, or park). Build it with [`Outbox::relay`], run it with [`Relay::run`].
///
/// Run one per process, as many processes as you like on one Postgres database: leases
/// keep two relays from pinging one user at once, and a dead relay's rows are reclaimed
/// when its lease expires. The relay wakes at once after an enqueue through the same
/// [`Outbox`] (and, on Postgres, after any enqueue anywhere, through `LISTEN/NOTIFY`);
/// otherwise it polls.
///
/// Database errors never stop it: it logs them and tries again at the next poll.
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use sqlx::PgPool;
/// use tower_livefyre::outbox::Outbox;
/// use tower_livefyre::{Network, PingClient};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let outbox = Outbox::new(PgPool::connect("postgres://localhost/app").await?);
/// let client = PingClient::new(Network::new("labs.fyre.co", "network-key")?)?;
/// let relay = outbox
///     .relay(client)
///     .concurrency(32)
///     .lease(Duration::from_secs(60))
///     .poll_interval(Duration::from_secs(2));
/// let relay = tokio::spawn(relay.run(async {
///     let _ = tokio::signal::ctrl_c().await;
/// }));
/// // … serve requests, enqueue in transactions …
/// relay.await??;
/// # Ok(()) }
/// ```
#[must_use = "a relay does nothing until `run` is awaited"]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub struct Relay<DB: Backend> {
    outbox: Outbox<DB>,
    client: PingClient,
    concurrency: usize,
    /// `None`: 64 × `concurrency`.
    batch_size: Option<usize>,
    lease: Duration,
    poll_interval: Duration,
    /// Only its backoff is used: the client makes one attempt per row attempt.
    backoff: RetryPolicy,
    shutdown_grace: Duration,
    coalesce: Duration,
    owner: String,
}

impl<DB: Backend> Outbox<DB> {
    /// A relay delivering this outbox's pings through `client`, with 16 pings in flight,
    /// claims of up to 1,024 rows (growing while a backlog lasts), a 60 s lease, a 1 s poll, a 50 ms coalescing window, backoff from 1 s up to 5 min,
    /// and 10 s to finish in-flight pings at shutdown.
    ///
    /// The relay makes one request per attempt (the client's own retries are turned off):
    /// it retries itself, durably. A claimed row is started only in the first half of its
    /// lease, so a lease of at least twice the client's request timeout (10 s by default)
    /// never runs out under a ping in flight.
    ///
    /// # Example
    ///
    /// ```
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::outbox::Outbox;
    /// use tower_livefyre::{Network, PingClient};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// let relay = outbox.relay(PingClient::new(Network::new("labs.fyre.co", "key")?)?);
    /// # Ok(()) }
    /// ```
    pub fn relay(&self, client: PingClient) -> Relay<DB> {
        Relay {
            outbox: self.clone(),
            client: client.retry(RetryPolicy::never()),
            concurrency: 16,
            batch_size: None,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            backoff: RetryPolicy::default()
                .with_base_backoff(Duration::from_secs(1))
                .with_max_backoff(Duration::from_secs(300)),
            shutdown_grace: Duration::from_secs(10),
            coalesce: Duration::from_millis(50),
            owner: format!("{}-{:016x}", std::process::id(), fastrand::u64(..)),
        }
    }
}

impl<DB: Backend> Relay<DB> {
    /// At most `pings` requests in flight (at least 1; default 16).
    ///
    /// # Example
    ///
    /// ```
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::{Network, PingClient, outbox::Outbox};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// # let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?;
    /// let relay = outbox.relay(client).concurrency(64);
    /// # Ok(()) }
    /// ```
    pub fn concurrency(mut self, pings: usize) -> Self {
        self.concurrency = pings.max(1);
        self
    }

    /// At most `rows` claimed and not yet finished, queued or in flight (default 64 ×
    /// [`concurrency`](Self::concurrency); never fewer than twice the concurrency).
    ///
    /// The relay holds two rounds of pings at first, and doubles that after every claim that
    /// came back full (a backlog), up to this; a claim that finds fewer rows starts it over.
    /// It claims more rows when half of what it holds is left to start, and writes outcomes
    /// back with that claim, in one transaction: a database round per half batch, not per
    /// ping, running beside the pings. So a small backlog is shared between relays, and a
    /// large one is drained in large rounds. A crashed relay's held pings are the ones that
    /// may be sent twice.
    ///
    /// # Example
    ///
    /// ```
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::{Network, PingClient, outbox::Outbox};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// # let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?;
    /// let relay = outbox.relay(client).concurrency(8).batch_size(64);
    /// # Ok(()) }
    /// ```
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.batch_size = Some(rows);
        self
    }

    /// How long a claimed row belongs to this relay (default 60 s). If the relay dies, other
    /// relays reclaim its rows after this long.
    ///
    /// A row is started only in the first half of its lease; one that waited longer in the
    /// relay's queue (slow pings ahead of it) is given back for the next claim instead. Make
    /// the lease at least twice the client's request timeout, so that it never runs out under
    /// a ping in flight.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::{Network, PingClient, outbox::Outbox};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// # let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?;
    /// let relay = outbox.relay(client).lease(Duration::from_secs(30));
    /// # Ok(()) }
    /// ```
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How often the relay looks for due rows when nothing woke it (default 1 s): rows
    /// enqueued by other processes on SQLite, retries coming due, expired leases.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::{Network, PingClient, outbox::Outbox};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// # let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?;
    /// let relay = outbox.relay(client).poll_interval(Duration::from_millis(250));
    /// # Ok(()) }
    /// ```
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Retry waits: the first after a failure is uniform in `0..=base`, each later one up to
    /// twice as long, capped at `max` (defaults 1 s and 5 min). A `Retry-After` answer
    /// replaces the draw, capped at `max` too.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::{Network, PingClient, outbox::Outbox};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// # let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?;
    /// let relay = outbox
    ///     .relay(client)
    ///     .backoff(Duration::from_millis(500), Duration::from_secs(60));
    /// # Ok(()) }
    /// ```
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff = self.backoff.with_base_backoff(base).with_max_backoff(max);
        self
    }

    /// How long [`run`](Self::run) waits for in-flight pings once shutdown is asked
    /// (default 10 s); the rest are cancelled and their rows released for another relay.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::{Network, PingClient, outbox::Outbox};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// # let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?;
    /// let relay = outbox.relay(client).shutdown_grace(Duration::from_secs(2));
    /// # Ok(()) }
    /// ```
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// When the relay has caught up, it claims at most once per `window` (default 50 ms)
    /// however often enqueues wake it: a burst of changes to one user (a form saved field by
    /// field, an import) then costs a ping or two, not one per change. A backlog is drained
    /// without pause, and a poll always claims at once.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sqlx::SqlitePool;
    /// # use tower_livefyre::{Network, PingClient, outbox::Outbox};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// # let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?;
    /// let relay = outbox.relay(client).coalesce_window(Duration::from_millis(200));
    /// # Ok(()) }
    /// ```
    pub fn coalesce_window(mut self, window: Duration) -> Self {
        self.coalesce = window;
        self
    }

    /// Delivers pings until `shutdown` resolves; then stops claiming, lets in-flight pings
    /// finish (up to the [grace](Self::shutdown_grace)), writes their outcomes, and releases
    /// every row it still holds.
    ///
    /// # Errors
    ///
    /// Only [`OutboxError::UnsupportedDatabase`], at once. Database and delivery failures
    /// are logged and retried, never returned.
    ///
    /// # Example
    ///
    /// ```
    /// use sqlx::SqlitePool;
    /// use tower_livefyre::outbox::Outbox;
    /// use tower_livefyre::{Network, PingClient};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let outbox = Outbox::new(SqlitePool::connect("sqlite::memory:").await?);
    /// outbox.migrate().await?;
    /// let client = PingClient::new(Network::new("labs.fyre.co", "key")?)?;
    /// // Stops at once here: the shutdown future is already complete.
    /// outbox.relay(client).run(async {}).await?;
    /// # Ok(()) }
    /// ```
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), OutboxError> {
        let sql = self.outbox.statements()?;
        let listener = self.spawn_listener().await;
        let _abort_listener = listener.map(AbortOnDrop);

        let mut shutdown = pin!(shutdown);
        // The first claim is made at once below; the first poll one interval later.
        let mut ticker =
            tokio::time::interval_at(Instant::now() + self.poll_interval, self.poll_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut in_flight = FuturesUnordered::new();
        // Claimed rows queued or in flight: `held` at most, which grows from `least` to
        // `batch` while claims come back full.
        let least = self.concurrency.saturating_mul(2);
        let batch = (self.batch_size)
            .unwrap_or(self.concurrency.saturating_mul(64))
            .max(least);
        let mut held = least;
        // Outcomes are written at least every four rounds of pings: what a crash can make
        // the next relay send again.
        let write_at = self.concurrency.saturating_mul(4);
        // A row still queued this long after its claim is given back, not started.
        let start_by = self.lease / 2;
        // Claimed rows not started yet (with when their claim began), and outcomes not
        // written yet.
        let mut queue: VecDeque<(Instant, Claimed)> = VecDeque::new();
        let mut done: Vec<Settlement> = Vec::new();
        // Database rounds run as tasks beside the pings, so pings never wait for the
        // database: a claim (which also writes the outcomes so far) and a write of outcomes
        // alone. On Postgres the two may run at once; on SQLite, with its single writer,
        // one at a time.
        let one_writer = sql.dialect == Dialect::Sqlite;
        let mut claiming: Option<JoinHandle<Round>> = None;
        let mut writing: Option<JoinHandle<Round>> = None;
        // Whether a claim may find rows (a wake, a poll, a completion), and whether the last
        // claim was full (a backlog: claim again without waiting for the window).
        let (mut wanted, mut backlog) = (true, false);
        let mut window_end = Instant::now();
        let mut deadline: Option<Instant> = None;

        loop {
            while deadline.is_none() && in_flight.len() < self.concurrency {
                let Some((claimed_at, row)) = queue.pop_front() else {
                    break;
                };
                if claimed_at.elapsed() < start_by {
                    in_flight.push(attempt(self.client.clone(), self.backoff, row));
                } else {
                    done.push(give_back(row));
                }
            }
            // Claim while half of what is held is still queued, so that the next rows arrive
            // before the queue runs dry.
            let half = held.div_ceil(2);
            let room = held.saturating_sub(queue.len() + in_flight.len());
            let claim_due = deadline.is_none() && wanted && queue.len() <= half && room > 0;
            let window_open = backlog || Instant::now() >= window_end;
            let can_claim = claiming.is_none() && !(one_writer && writing.is_some());
            if can_claim && claim_due && window_open {
                window_end = Instant::now() + self.coalesce;
                wanted = false;
                claiming = Some(self.spawn_round(sql, std::mem::take(&mut done), room));
            }
            // Outcomes go with the next claim, or on their own four rounds at a time, or at once
            // when nothing else is in flight or the relay is stopping.
            let can_write = writing.is_none() && !(one_writer && claiming.is_some());
            if can_write
                && !done.is_empty()
                && (done.len() >= write_at || in_flight.is_empty() || deadline.is_some())
            {
                writing = Some(self.spawn_round(sql, std::mem::take(&mut done), 0));
            }
            let idle = claiming.is_none() && writing.is_none();
            if deadline.is_some() && in_flight.is_empty() && idle && done.is_empty() {
                break;
            }
            let wait_for_window = can_claim && claim_due && !window_open;
            tokio::select! {
                () = &mut shutdown, if deadline.is_none() => {
                    deadline = Some(Instant::now() + self.shutdown_grace);
                }
                Some(first) = in_flight.next(), if !in_flight.is_empty() => {
                    done.push(first);
                    while let Some(Some(more)) = in_flight.next().now_or_never() {
                        done.push(more);
                    }
                    wanted = true;
                }
                finished = join(&mut claiming), if claiming.is_some() => {
                    // A full claim means a backlog: claim again without waiting for the
                    // window.
                    match finished.claimed {
                        Some(rows) => {
                            backlog = rows.len() == finished.asked;
                            queue.extend(rows.into_iter().map(|row| (finished.started, row)));
                        }
                        None => backlog = false,
                    }
                    held = if backlog { held.saturating_mul(2).min(batch) } else { least };
                    wanted |= backlog || finished.wrote;
                }
                // A written outcome may have made a row due again (one enqueued during its
                // ping, or given back).
                finished = join(&mut writing), if writing.is_some() => wanted |= finished.wrote,
                () = self.outbox.wake.notified(), if deadline.is_none() => wanted = true,
                _ = ticker.tick(), if deadline.is_none() => {
                    wanted = true;
                    window_end = Instant::now();
                }
                () = tokio::time::sleep_until(window_end), if wait_for_window => {}
                () = sleep_until(deadline), if deadline.is_some() => break,
            }
        }

        // Cancels what is still in flight. Its rows, and the queued ones, are released below,
        // once the last rounds (one may be claiming) have finished.
        drop(in_flight);
        join_if_any(&mut claiming).await;
        join_if_any(&mut writing).await;
        if !done.is_empty() {
            // Logged inside the round; nothing is left to do with its result.
            let _ = self.spawn_round(sql, done, 0).await;
        }
        match DB::release_all(self.outbox.pool(), sql, &self.owner).await {
            Ok(released) => tracing::info!(
                target: "tower_livefyre::outbox",
                released,
                "relay stopped"
            ),
            Err(error) => tracing::error!(
                target: "tower_livefyre::outbox",
                %error,
                "relay stopped, but releasing its rows failed; they are reclaimed when the lease expires"
            ),
        }
        Ok(())
    }

    /// Starts a database round: writes `outcomes` back and claims up to `limit` rows (none
    /// when 0), in one transaction, on a task of its own. Logs what went wrong.
    fn spawn_round(
        &self,
        sql: &'static Statements,
        outcomes: Vec<Settlement>,
        limit: usize,
    ) -> JoinHandle<Round> {
        let pool = self.outbox.pool().clone();
        let owner = self.owner.clone();
        let lease_ms = millis(self.lease);
        let sql_limit = i64::try_from(limit).unwrap_or(i64::MAX);
        tokio::spawn(async move {
            let started = Instant::now();
            let wrote = !outcomes.is_empty();
            let claimed = match DB::exchange(&pool, sql, &owner, &outcomes, lease_ms, sql_limit)
                .await
            {
                Ok(Exchanged { claimed, lost }) => {
                    for user_id in lost {
                        tracing::warn!(
                            target: "tower_livefyre::outbox",
                            user_id,
                            "lease lost before the outcome was written: another relay reclaimed the row and pings it again"
                        );
                    }
                    Some(claimed)
                }
                Err(error) => {
                    if !outcomes.is_empty() {
                        tracing::error!(
                            target: "tower_livefyre::outbox",
                            %error,
                            rows = outcomes.len(),
                            "writing delivery outcomes failed; the rows are pinged again when their lease expires"
                        );
                    }
                    if limit > 0 {
                        tracing::error!(
                            target: "tower_livefyre::outbox",
                            %error,
                            "claiming due rows failed; trying again at the next poll"
                        );
                    }
                    None
                }
            };
            Round {
                started,
                asked: limit,
                wrote: wrote && claimed.is_some(),
                claimed,
            }
        })
    }

    /// On Postgres, a task that wakes the relay on every `NOTIFY` of an enqueue or requeue.
    async fn spawn_listener(&self) -> Option<tokio::task::JoinHandle<()>> {
        let mut listener = match DB::listen(self.outbox.pool()).await {
            Ok(listener) => listener?,
            Err(error) => {
                tracing::warn!(
                    target: "tower_livefyre::outbox",
                    %error,
                    "LISTEN failed: the relay polls only"
                );
                return None;
            }
        };
        let wake = self.outbox.wake.clone();
        let pause = self.poll_interval;
        Some(tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(_) => wake.notify_one(),
                    Err(error) => {
                        tracing::warn!(target: "tower_livefyre::outbox", %error, "LISTEN connection failed");
                        tokio::time::sleep(pause).await;
                    }
                }
            }
        }))
    }
}

/// One attempt for `row`, and what to write back. Logs the outcome (never a token: the
/// errors hold none).
async fn attempt(client: PingClient, backoff: RetryPolicy, row: Claimed) -> Settlement {
    let Claimed {
        user_id,
        generation,
        attempts,
    } = row;
    let failures = u32::try_from(attempts.saturating_add(1)).unwrap_or(u32::MAX);
    match deliver(&client, &user_id).await {
        Outcome::Delivered => {
            tracing::info!(target: "tower_livefyre::outbox", user_id, generation, "ping delivered");
            Settlement::Delivered {
                user_id,
                generation,
            }
        }
        Outcome::Retry {
            reason,
            retry_after,
        } => {
            let delay = backoff.delay(failures, retry_after);
            tracing::warn!(
                target: "tower_livefyre::outbox",
                user_id,
                attempts = failures,
                delay_ms = millis(delay),
                %reason,
                "ping failed; retrying later"
            );
            Settlement::Retry {
                user_id,
                reason,
                delay_ms: millis(delay),
            }
        }
        Outcome::Park { reason } => {
            tracing::error!(
                target: "tower_livefyre::outbox",
                user_id,
                attempts = failures,
                %reason,
                "ping failed for good; row parked until requeued"
            );
            Settlement::Park { user_id, reason }
        }
    }
}

/// What a database round did.
struct Round {
    /// When it began: the claimed rows' leases run from (just after) then.
    started: Instant,
    /// How many rows it asked for (0: it only wrote outcomes).
    asked: usize,
    /// The rows it claimed; `None` when the round failed.
    claimed: Option<Vec<Claimed>>,
    /// Whether it wrote outcomes.
    wrote: bool,
}

/// Waits for the round in `slot` (pending forever when there is none) and empties the slot.
/// A round that panicked counts as failed: its rows are reclaimed when their lease expires.
async fn join(slot: &mut Option<JoinHandle<Round>>) -> Round {
    match slot {
        Some(handle) => {
            let round = handle.await.unwrap_or_else(|_| Round {
                started: Instant::now(),
                asked: 0,
                claimed: None,
                wrote: false,
            });
            *slot = None;
            round
        }
        None => std::future::pending().await,
    }
}

/// [`join`], or nothing when the slot is empty.
async fn join_if_any(slot: &mut Option<JoinHandle<Round>>) {
    if slot.is_some() {
        join(slot).await;
    }
}

/// A queued row too old to start within its lease: it goes back to the table, due as it
/// was, for the next claim (this relay's or another's).
fn give_back(row: Claimed) -> Settlement {
    tracing::debug!(
        target: "tower_livefyre::outbox",
        user_id = row.user_id,
        "row queued for half its lease; given back for the next claim"
    );
    Settlement::Release {
        user_id: row.user_id,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Aborts the listener task when the relay stops, on every path.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
