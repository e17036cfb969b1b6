//! [`EmulatorBuilder`]: where the emulator listens and how it pulls.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::pull::Puller;
use super::server::{self, App};
use super::store::State;
use super::{Emulator, EmulatorError, FaultPlan, queue};
use crate::Network;

/// Default number of pull workers.
pub const DEFAULT_WORKERS: usize = 4;
/// Default time a pull may take, connection to last body byte.
pub const DEFAULT_PULL_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on a body the emulator reads: a pull's answer or a request to it.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Default number of records each log (pulls, pings) keeps before dropping the oldest.
pub const DEFAULT_LOG_CAPACITY: usize = 100_000;

/// Configures and starts an [`Emulator`]; made by [`Emulator::builder`].
///
/// Defaults: listen on `127.0.0.1:0` (a free port), 4 workers, 5 s pull timeout, 64 KiB
/// bodies, 100,000 records per log, no ping faults.
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
        }
    }

    /// The address to listen on; port 0 picks a free one ([`Emulator::local_addr`] tells
    /// which).
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
            max_body_bytes: self.max_body_bytes,
        });

        let mut tasks = JoinSet::new();
        tasks.spawn(server::serve(listener, app, stop.clone()));
        for _ in 0..self.workers {
            tasks.spawn(queue::worker(state.clone(), puller.clone(), stop.clone()));
        }
        tasks.spawn(queue::timer(state.clone(), stop.clone()));
        Ok(Emulator {
            local_addr,
            state,
            shutdown,
            tasks,
        })
    }
}
