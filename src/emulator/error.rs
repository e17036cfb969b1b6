//! [`EmulatorError`]: why the emulator could not do what was asked.

use std::net::SocketAddr;
use std::time::Duration;

use crate::user_id::UserId;

/// Why an [`Emulator`](super::Emulator) call failed.
///
/// No variant holds a token or a key.
///
/// # Example
///
/// ```
/// use tower_livefyre::Network;
/// use tower_livefyre::emulator::{Emulator, EmulatorError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let emulator = Emulator::start(Network::new("labs.fyre.co", "network-key")?).await?;
/// assert!(matches!(emulator.request_pull(&"ann".parse()?), Err(EmulatorError::NoPullUrl)));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The listening socket could not be opened.
    #[error("the emulator could not listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// [`wait_for_pull`](super::Emulator::wait_for_pull) gave up.
    #[error("no pull of user {id:?} completed within {timeout:?}")]
    Timeout {
        /// The user id waited for.
        id: UserId,
        /// How long it waited.
        timeout: Duration,
    },
    /// A pull was requested before any pull URL was registered.
    #[error("no pull URL is registered")]
    NoPullUrl,
    /// Too many distinct ids are waiting to be pulled.
    #[error("the pull queue is full")]
    QueueFull,
}
