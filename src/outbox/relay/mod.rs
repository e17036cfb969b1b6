//! [`Relay`]: claims due rows, attempts a ping for each, and writes each outcome back.
//!
//! Layout, data flowing one way: this file is the configuration (what a user sets);
//! [`engine`] runs it (claim → attempt → outcome → write-back, as named steps);
//! [`attempt`] turns one claimed row into its outcome; [`schedule`] holds the engine's pure
//! decisions (how many rows to hold, when to claim and write), testable without a database.

mod attempt;
mod engine;
mod schedule;

use std::future::Future;
use std::time::Duration;

use super::{Backend, Outbox, OutboxError};
use crate::ping::client::PingClient;
use crate::ping::{Backoff, RetryPolicy};

/// No wait, lease or deadline exceeds this (ten years): instants and the sums written to
/// the database stay far from overflow whatever the configuration, `Duration::MAX` included.
const MAX_WAIT: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The shortest lease: one that runs out before a ping can be answered would have every row
/// given back unpinged, forever.
const MIN_LEASE: Duration = Duration::from_secs(1);

/// The shortest pull deadline.
const MIN_PULL_DEADLINE: Duration = Duration::from_secs(1);

fn millis(duration: Duration) -> i64 {
    // Within range by the `min`, so the conversion cannot fail.
    i64::try_from(duration.min(MAX_WAIT).as_millis()).unwrap_or(i64::MAX)
}

/// Pull confirmation: how long an accepted ping waits for its pull, and how many such pings
/// a row gets.
#[derive(Clone, Copy, Debug)]
struct Confirmation {
    deadline: Duration,
    max_unpulled_pings: i64,
}

/// What a relay is set to do: everything but the outbox and the client.
#[derive(Clone, Copy, Debug)]
struct Settings {
    concurrency: usize,
    /// `None`: 64 × `concurrency`.
    batch_size: Option<usize>,
    lease: Duration,
    poll_interval: Duration,
    /// Between the attempts of one row (the client makes one attempt per row attempt).
    backoff: Backoff,
    shutdown_grace: Duration,
    coalesce: Duration,
    confirm: bool,
    confirmation: Confirmation,
    /// Pings started per second at most; `None`: no cap.
    max_rate: Option<std::num::NonZeroU32>,
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
    settings: Settings,
    /// This relay's name in `lease_owner`; each claim adds a token of its own.
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
            settings: Settings {
                concurrency: 16,
                batch_size: None,
                lease: Duration::from_secs(60),
                poll_interval: Duration::from_secs(1),
                backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(300)),
                shutdown_grace: Duration::from_secs(10),
                coalesce: Duration::from_millis(50),
                confirm: false,
                confirmation: Confirmation {
                    deadline: Duration::from_secs(15 * 60),
                    max_unpulled_pings: 3,
                },
                max_rate: None,
            },
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
        self.settings.concurrency = pings.max(1);
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
        self.settings.batch_size = Some(rows);
        self
    }

    /// How long a claimed row belongs to this relay (default 60 s, at least 1 s). If the
    /// relay dies, other relays reclaim its rows after this long.
    ///
    /// A ping never outlives its lease: a row is started only in the first half of its lease
    /// (one that waited longer in the relay's queue is given back for the next claim), and an
    /// attempt still unanswered when the lease ends is cancelled and retried later. So no two
    /// pings for one user are ever in flight at once, whatever the lease and the client's
    /// timeout. Make the lease at least twice the client's request timeout (10 s by default),
    /// so that a slow answer is waited for rather than cut short.
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
        self.settings.lease = lease.clamp(MIN_LEASE, MAX_WAIT);
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
        self.settings.poll_interval = interval.clamp(Duration::from_millis(1), MAX_WAIT);
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
        self.settings.backoff = Backoff::new(base, max);
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
        self.settings.shutdown_grace = grace.min(MAX_WAIT);
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
        self.settings.coalesce = window.min(MAX_WAIT);
        self
    }

    /// Starts at most `pings` pings per second, evenly spaced (default 0: no cap). After an
    /// outage the backlog then drains at that pace instead of all at once; rows waiting for
    /// their turn longer than half their lease are given back, as always, so the cap never
    /// lets a lease run out under a ping.
    ///
    /// The cap is per relay: with several processes, Livefyre sees their sum.
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
    /// let relay = outbox.relay(client).max_pings_per_second(50);
    /// # Ok(()) }
    /// ```
    pub fn max_pings_per_second(mut self, pings: u32) -> Self {
        self.settings.max_rate = std::num::NonZeroU32::new(pings);
        self
    }

    /// Turns pull confirmation on: a row is done only when this app's own pull endpoint has
    /// answered 200 for the user after the ping of the row's latest change, not when
    /// Livefyre answered the ping (default: off).
    ///
    /// Livefyre's 200 only means it queued a pull. The pull can still meet a server that
    /// crashed or restarted, a database that was busy for a moment (500, 504), a registered
    /// pull URL that is wrong, or a queue Livefyre dropped; without confirmation the change is
    /// then lost, silently. With it, an accepted ping leaves the row *awaiting its pull*
    /// ([`OutboxStats::awaiting_pull`](super::OutboxStats::awaiting_pull)); a pull answered
    /// 200 by a source wrapped with [`Outbox::confirm_pulls`] deletes it, on whichever
    /// instance it lands; a row still waiting after the [deadline](Self::pull_deadline) is
    /// pinged again, and after [`max_unpulled_pings`](Self::max_unpulled_pings) accepted but
    /// unpulled pings it is parked as [`ParkKind::NeverPulled`](super::ParkKind::NeverPulled).
    ///
    /// Turn it on when the pull endpoint is served by processes that share this outbox's
    /// database and wrap their source with [`Outbox::confirm_pulls`]. Leave it off when the
    /// pull endpoint lives elsewhere (another stack that only pings through this crate):
    /// nothing would confirm, and every row would be re-pinged and then parked.
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
    ///     .confirm_pulls(true)
    ///     .pull_deadline(Duration::from_secs(10 * 60));
    /// # Ok(()) }
    /// ```
    pub fn confirm_pulls(mut self, confirm: bool) -> Self {
        self.settings.confirm = confirm;
        self
    }

    /// With [pull confirmation](Self::confirm_pulls), how long a row whose ping Livefyre
    /// accepted waits for its pull before it is pinged again (default 15 min: Livefyre
    /// documents pulls within 1 to 10 minutes; at least 1 s).
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
    /// let relay = outbox.relay(client).confirm_pulls(true).pull_deadline(Duration::from_secs(30));
    /// # Ok(()) }
    /// ```
    pub fn pull_deadline(mut self, deadline: Duration) -> Self {
        self.settings.confirmation.deadline = deadline.clamp(MIN_PULL_DEADLINE, MAX_WAIT);
        self
    }

    /// With [pull confirmation](Self::confirm_pulls), how many pings Livefyre may accept
    /// for one change with no pull following before the row is parked as
    /// [`ParkKind::NeverPulled`](super::ParkKind::NeverPulled) (default 3, at least 1).
    ///
    /// The count goes on across new changes, so that a user edited every few minutes still
    /// parks when nothing ever pulls; it starts again with a requeue, or with a change to a
    /// parked row.
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
    /// let relay = outbox.relay(client).confirm_pulls(true).max_unpulled_pings(5);
    /// # Ok(()) }
    /// ```
    pub fn max_unpulled_pings(mut self, pings: u32) -> Self {
        self.settings.confirmation.max_unpulled_pings = i64::from(pings.max(1));
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
        engine::Engine::new(self, sql).run(shutdown).await;
        Ok(())
    }
}
