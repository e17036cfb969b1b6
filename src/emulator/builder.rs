//! [`EmulatorBuilder`]: where the emulator listens and how it pulls.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::params::BodyLimits;
use super::puller::Puller;
use super::server::{self, App};
use super::state::State;
use super::{Emulator, EmulatorError, FaultPlan, workers};
use crate::network::Network;

/// Default number of pull workers.
pub const DEFAULT_WORKERS: usize = 4;
/// Default time a pull may take, connection to last body byte.
pub const DEFAULT_PULL_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on a body the emulator reads: a pull's answer or a request to it.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Default number of records each log (pulls, pings) keeps before dropping the oldest.
pub const DEFAULT_LOG_CAPACITY: usize = 100_000;
/// Default time a client may take to send a request's headers (and an idle keep-alive
/// connection may wait for its next request) before the emulator closes the connection.
///
/// ```
/// # use std::time::Duration;
/// assert_eq!(tower_livefyre::emulator::DEFAULT_HEADER_READ_TIMEOUT, Duration::from_secs(10));
/// ```
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a request body may take to arrive in full before it is answered 408.
///
/// ```
/// # use std::time::Duration;
/// assert_eq!(tower_livefyre::emulator::DEFAULT_BODY_READ_TIMEOUT, Duration::from_secs(10));
/// ```
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on the connections the emulator has open at once.
///
/// ```
/// # use std::time::Duration;
/// assert_eq!(tower_livefyre::emulator::DEFAULT_MAX_CONNECTIONS, 256);
/// ```
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// Past this a timeout is no limit: hyper adds the header-read timeout to an `Instant`.
const NO_LIMIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Configures and starts an [`Emulator`]; made by [`Emulator::builder`].
///
/// Defaults: listen on `127.0.0.1:0` (a free port), 4 workers, 5 s pull timeout, 64 KiB
/// bodies, 100,000 records per log, no ping faults; 10 s to send a request's headers, 10 s
/// for its body, 256 connections at once.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::Network;
/// use tower_livefyre::emulator::{Emulator, FaultLimit, FaultPlan, PingFault};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The first ping is answered 503 with `Retry-After: 1`.
/// let outage = FaultPlan::new()
///     .then(PingFault::Unavailable { retry_after: Some(1) }, FaultLimit::Pings(1));
/// let emulator = Emulator::builder(Network::new("labs.fyre.co", "network-key")?)
///     .listen("127.0.0.1:0".parse()?)
///     .workers(2)
///     .pull_timeout(Duration::from_secs(1))
///     .max_body_bytes(16 * 1024)
///     .log_capacity(1_000)
///     .faults(outage)
///     .header_read_timeout(Duration::from_secs(5))
///     .body_read_timeout(Duration::from_secs(5))
///     .max_connections(64)
///     .start()
///     .await?;
/// assert!(emulator.url().starts_with("http://127.0.0.1:"));
/// emulator.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct EmulatorBuilder {
    network: Network,
    listen: SocketAddr,
    workers: usize,
    pull_timeout: Duration,
    max_body_bytes: usize,
    log_capacity: usize,
    faults: FaultPlan,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    max_connections: usize,
}

impl EmulatorBuilder {
    pub(super) fn new(network: Network) -> Self {
        Self {
            network,
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            workers: DEFAULT_WORKERS,
            pull_timeout: DEFAULT_PULL_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            log_capacity: DEFAULT_LOG_CAPACITY,
            faults: FaultPlan::new(),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }

    /// The address to listen on; port 0 picks a free one ([`Emulator::local_addr`] tells
    /// which).
    ///
    /// Keep it on loopback: the HTTP API has no authentication, so anyone who reaches it can
    /// register a template (which makes the emulator GET that URL), read stored profiles and
    /// drive the faults. `livefyre emulator` refuses other addresses unless told
    /// `--allow-remote-unauthenticated`.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// How many pulls may run at once (different ids only; one id is never pulled twice at
    /// once). At least 1; 0 counts as 1.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// How long a pull may take from connecting to the last body byte before it is
    /// recorded as `timeout`. Any duration works: `Duration::MAX` means no limit, and
    /// `Duration::ZERO` times every pull out.
    pub fn pull_timeout(mut self, timeout: Duration) -> Self {
        self.pull_timeout = timeout;
        self
    }

    /// The largest body the emulator reads: a larger pull answer is recorded as
    /// `invalid_document`, a larger request body is answered 413.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// How many records the pull log and the ping log each keep; past it the oldest go.
    /// At least 1; 0 counts as 1.
    pub fn log_capacity(mut self, records: usize) -> Self {
        self.log_capacity = records.max(1);
        self
    }

    /// Ping faults in force from the start; its first step begins when the emulator starts.
    /// [`Emulator::set_faults`] replaces them at runtime.
    pub fn faults(mut self, plan: FaultPlan) -> Self {
        self.faults = plan;
        self
    }

    /// How long a client may take to send a request's headers (default
    /// [`DEFAULT_HEADER_READ_TIMEOUT`]), and how long an idle keep-alive connection waits for
    /// its next request, before the connection is closed: a client that sends half a request
    /// line and stops does not hold a connection for ever. `Duration::MAX` means no limit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_livefyre::Network;
    /// use tower_livefyre::emulator::Emulator;
    ///
    /// let builder = Emulator::builder(Network::new("labs.fyre.co", "key")?)
    ///     .header_read_timeout(Duration::from_secs(2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a request body may take to arrive in full, from when the emulator starts
    /// reading it (default [`DEFAULT_BODY_READ_TIMEOUT`]); a slower one is answered
    /// `408 Request Timeout` and the connection closed. `Duration::MAX` means no limit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_livefyre::Network;
    /// use tower_livefyre::emulator::Emulator;
    ///
    /// let builder = Emulator::builder(Network::new("labs.fyre.co", "key")?)
    ///     .body_read_timeout(Duration::from_secs(2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// The most connections open at once (default [`DEFAULT_MAX_CONNECTIONS`]; 0 counts as
    /// 1). At the cap the emulator stops accepting: a new client waits in the kernel's
    /// backlog until an open connection closes, and is then served.
    ///
    /// ```
    /// use tower_livefyre::Network;
    /// use tower_livefyre::emulator::Emulator;
    ///
    /// let builder = Emulator::builder(Network::new("labs.fyre.co", "key")?).max_connections(16);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Binds the socket and starts the server and the workers on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`EmulatorError::Bind`] when the address cannot be listened on.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        let bind_error = |source| EmulatorError::Bind {
            addr: self.listen,
            source,
        };
        let listener = TcpListener::bind(self.listen).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;

        let state = Arc::new(State::new(self.faults, self.log_capacity));
        let (shutdown, stop) = watch::channel(false);
        let puller = Arc::new(Puller::new(
            self.network.clone(),
            self.pull_timeout,
            self.max_body_bytes,
        ));
        let app = Arc::new(App {
            network: self.network,
            state: state.clone(),
            body: BodyLimits {
                max: self.max_body_bytes,
                timeout: self.body_read_timeout,
            },
            header_read_timeout: (self.header_read_timeout < NO_LIMIT)
                .then_some(self.header_read_timeout),
        });

        let mut tasks = JoinSet::new();
        tasks.spawn(server::serve(
            listener,
            app,
            self.max_connections,
            stop.clone(),
        ));
        for _ in 0..self.workers {
            tasks.spawn(workers::worker(state.clone(), puller.clone(), stop.clone()));
        }
        tasks.spawn(workers::timer(state.clone(), stop.clone()));
        Ok(Emulator {
            local_addr,
            state,
            shutdown,
            tasks,
        })
    }
}
