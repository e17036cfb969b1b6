//! [`PingRecord`] and [`PingAnswer`]: what the emulator remembers about each ping.

use std::fmt;
use std::time::SystemTime;

use serde::{Serialize, Serializer};

use super::pull_record::unix_seconds;
use crate::user_id::UserId;

/// How a ping was answered.
///
/// In JSON, a status is a number and a dropped connection is the string `"dropped"`.
///
/// # Example
///
/// ```
/// use tower_livefyre::emulator::PingAnswer;
///
/// assert_eq!(serde_json::to_string(&PingAnswer::Status(503))?, "503");
/// assert_eq!(serde_json::to_string(&PingAnswer::Dropped)?, r#""dropped""#);
/// assert_eq!(PingAnswer::Status(200).to_string(), "200");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PingAnswer {
    /// An HTTP answer with this status.
    Status(u16),
    /// The connection was closed without an answer (a [`PingFault::Drop`](super::PingFault::Drop)).
    Dropped,
}

impl fmt::Display for PingAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status) => write!(f, "{status}"),
            Self::Dropped => f.write_str("dropped"),
        }
    }
}

impl Serialize for PingAnswer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Status(status) => serializer.serialize_u16(*status),
            Self::Dropped => serializer.serialize_str("dropped"),
        }
    }
}

/// One ping the emulator received, as listed by
/// [`Emulator::ping_log`](super::Emulator::ping_log) and `GET /_emulator/pings`.
///
/// Only pings whose path holds a valid user id are recorded. No token is ever kept. In JSON,
/// `arrived` and `answered` are Unix seconds with a fractional part.
///
/// # Example
///
/// ```
/// use tower_livefyre::Network;
/// use tower_livefyre::emulator::{Emulator, PingAnswer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let network = Network::new("labs.fyre.co", "network-key")?;
/// let emulator = Emulator::start(network.clone()).await?;
/// // No pull URL is registered yet: the ping is answered 409, and logged.
/// let url = format!("{}/api/v3_0/user/ann/refresh", emulator.url());
/// let request = http::Request::post(url)
///     .body(http_body_util::Full::new(bytes::Bytes::from(
///         format!("lftoken={}", network.build_livefyre_token()?),
///     )))?;
/// let client = hyper_util::client::legacy::Client::builder(
///     hyper_util::rt::TokioExecutor::new(),
/// )
/// .build_http();
/// assert_eq!(client.request(request).await?.status(), 409);
///
/// let log = emulator.ping_log();
/// assert_eq!(log.len(), 1);
/// assert_eq!((log[0].id.as_str(), log[0].answer), ("ann", PingAnswer::Status(409)));
/// assert!(log[0].arrived <= log[0].answered);
/// assert!(!log[0].accepted());
/// emulator.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PingRecord {
    /// The user id pinged.
    pub id: UserId,
    /// When the ping reached the emulator's handler (its headers were read).
    #[serde(serialize_with = "unix_seconds")]
    pub arrived: SystemTime,
    /// When the answer was handed to the connection, or the connection dropped.
    #[serde(serialize_with = "unix_seconds")]
    pub answered: SystemTime,
    /// The answer.
    pub answer: PingAnswer,
}

impl PingRecord {
    pub(super) fn new(id: UserId, arrived: SystemTime, answer: PingAnswer) -> Self {
        Self {
            id,
            arrived,
            answered: SystemTime::now(),
            answer,
        }
    }

    /// Whether the ping was accepted (200), which queues a pull (later under a
    /// [`LatePull`](super::PingFault::LatePull) fault, none under
    /// [`NoPull`](super::PingFault::NoPull)).
    #[must_use]
    pub fn accepted(&self) -> bool {
        self.answer == PingAnswer::Status(200)
    }

    /// Whether both are pings of one user that were being handled at the same time: each
    /// arrived before the other was answered.
    ///
    /// # Example
    ///
    /// ```
    /// # use tower_livefyre::emulator::PingRecord;
    /// fn no_overlaps(log: &[PingRecord]) -> bool {
    ///     log.iter().enumerate().all(|(i, a)| log[i + 1..].iter().all(|b| !a.overlaps(b)))
    /// }
    /// assert!(no_overlaps(&[]));
    /// ```
    #[must_use]
    pub fn overlaps(&self, other: &Self) -> bool {
        self.id == other.id && self.arrived < other.answered && other.arrived < self.answered
    }
}
