//! [`Relay`]: claims due rows, pings, and writes each outcome back.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::stream::{FuturesUnordered, StreamExt as _};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use super::delivery::{Outcome, deliver};
use super::sql::Statements;
use super::store::{Claimed, Settlement};
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
    /// a 60 s lease, a 1 s poll, a 50 ms coalescing window, backoff from 1 s up to 5 min,
    /// and 10 s to finish in-flight pings at shutdown.
    ///
    /// The relay makes one request per attempt (the client's own retries are turned off):
    /// it retries itself, durably. The lease must outlast one attempt, that is the client's
    /// request timeout (10 s by default).
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
    /// At most `pings` requests in flight (at least 1; default 16). The relay claims rows
    /// in batches of four times this many (it starts them as slots free up), and writes the
    /// outcomes back in batches too: one claim and a few writes per batch, not per ping. The
    /// lease must cover a batch: four rounds of one attempt each.
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

    /// How long a claimed row belongs to this relay (default 60 s). If the relay dies, other
    /// relays reclaim its rows after this long; it must outlast one ping attempt.
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

        let pool = self.outbox.pool();
        let lease_ms = millis(self.lease);
        let mut shutdown = pin!(shutdown);
        // The first claim is made at once below; the first poll one interval later.
        let mut ticker =
            tokio::time::interval_at(Instant::now() + self.poll_interval, self.poll_interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut in_flight = FuturesUnordered::new();
        // Claimed rows not started yet, and outcomes not written yet: both in batches.
        let batch = self.concurrency.saturating_mul(4);
        let mut queue: VecDeque<Claimed> = VecDeque::new();
        let mut done: Vec<Settlement> = Vec::new();
        // Outcomes are written in the background, so pings keep flowing meanwhile.
        let mut settling: JoinSet<()> = JoinSet::new();
        // Whether a claim may find rows (a wake, a poll, a completion), and whether the last
        // claim was full (a backlog: claim again without waiting for the window).
        let (mut wanted, mut backlog) = (true, false);
        let mut window_end = Instant::now();
        let mut deadline: Option<Instant> = None;

        loop {
            while deadline.is_none() && in_flight.len() < self.concurrency {
                let Some(row) = queue.pop_front() else { break };
                in_flight.push(attempt(self.client.clone(), self.backoff, row));
            }
            // Claim when what is left is at most one round of pings.
            let room = queue.len() + in_flight.len() <= self.concurrency;
            let window_open = backlog || Instant::now() >= window_end;
            if deadline.is_none() && wanted && room && window_open {
                // Outcomes written before claiming: SQLite has one writer, and a row enqueued
                // during its ping is due again only then.
                self.settle(&mut settling, sql, &mut done).await;
                while settling.join_next().await.is_some() {}
                let want = batch - queue.len() - in_flight.len();
                let limit = i64::try_from(want).unwrap_or(i64::MAX);
                window_end = Instant::now() + self.coalesce;
                match DB::claim(pool, sql, &self.owner, lease_ms, limit).await {
                    Ok(rows) => {
                        backlog = rows.len() == want;
                        wanted = backlog;
                        queue.extend(rows);
                    }
                    Err(error) => {
                        tracing::error!(
                            target: "tower_livefyre::outbox",
                            %error,
                            "claiming due rows failed; trying again at the next poll"
                        );
                        (wanted, backlog) = (false, false);
                    }
                }
                continue;
            }
            if deadline.is_some() && in_flight.is_empty() {
                break;
            }
            let wait_for_window = deadline.is_none() && wanted && room;
            tokio::select! {
                () = &mut shutdown, if deadline.is_none() => {
                    deadline = Some(Instant::now() + self.shutdown_grace);
                }
                Some(first) = in_flight.next(), if !in_flight.is_empty() => {
                    done.push(first);
                    while let Some(Some(more)) = in_flight.next().now_or_never() {
                        done.push(more);
                    }
                    // Written a batch at a time, or at once when nothing else is in flight.
                    if done.len() >= self.concurrency || (in_flight.is_empty() && queue.is_empty()) {
                        self.settle(&mut settling, sql, &mut done).await;
                    }
                    wanted = true;
                }
                // Written back: a row enqueued during its ping may be due now.
                Some(_) = settling.join_next(), if !settling.is_empty() => wanted = true,
                () = self.outbox.wake.notified(), if deadline.is_none() => wanted = true,
                _ = ticker.tick(), if deadline.is_none() => {
                    wanted = true;
                    window_end = Instant::now();
                }
                () = tokio::time::sleep_until(window_end), if wait_for_window => {}
                () = sleep_until(deadline), if deadline.is_some() => break,
            }
        }

        while let Some(Some(more)) = in_flight.next().now_or_never() {
            done.push(more);
        }
        self.settle(&mut settling, sql, &mut done).await;
        while settling.join_next().await.is_some() {}
        // Cancels what is still in flight; its rows, and the queued ones, are released below.
        drop(in_flight);
        match DB::release_all(pool, sql, &self.owner).await {
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

    /// Writes `done` back in a background task and empties it; at most two such writes at
    /// a time.
    async fn settle(
        &self,
        settling: &mut JoinSet<()>,
        sql: &'static Statements,
        done: &mut Vec<Settlement>,
    ) {
        if done.is_empty() {
            return;
        }
        while settling.len() >= 2 {
            settling.join_next().await;
        }
        let pool = self.outbox.pool().clone();
        let owner = self.owner.clone();
        let done = std::mem::take(done);
        settling.spawn(async move {
            match DB::settle(&pool, sql, &owner, &done).await {
                Ok(lost) => {
                    for user_id in lost {
                        tracing::warn!(
                            target: "tower_livefyre::outbox",
                            user_id,
                            "lease lost before the outcome was written: another relay reclaimed the row and pings it again"
                        );
                    }
                }
                Err(error) => tracing::error!(
                    target: "tower_livefyre::outbox",
                    %error,
                    rows = done.len(),
                    "writing delivery outcomes failed; the rows are pinged again when their lease expires"
                ),
            }
        });
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
