//! [`PullRecord`] and [`PullOutcome`]: what the emulator remembers about each pull attempt.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

use crate::user_id::UserId;

/// How one pull ended.
///
/// Serialized in snake case (`"stored"`, `"not_found"`, …), as in `GET /_emulator/pulls`.
///
/// # Example
///
/// ```
/// use tower_livefyre::emulator::PullOutcome;
///
/// assert_eq!(serde_json::to_string(&PullOutcome::NotFound)?, r#""not_found""#);
/// assert_eq!(PullOutcome::InvalidDocument.to_string(), "invalid_document");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PullOutcome {
    /// 200 with a valid profile for the requested id: it is now the remote profile.
    Stored,
    /// 403: the pull endpoint refused the token. Nothing stored.
    Forbidden,
    /// 404: the pull endpoint does not know the user. Nothing stored.
    NotFound,
    /// Any other status (including other 2xx and redirects, which are not followed).
    HttpError,
    /// 200, but the body is too large, not JSON, not a valid profile, or for another id.
    InvalidDocument,
    /// No complete answer within the pull timeout.
    Timeout,
    /// The connection could not be made (refused, unresolvable host, `https` URL) or broke
    /// before a complete response arrived.
    ConnectError,
}

impl PullOutcome {
    /// The snake-case name, as serialized.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::HttpError => "http_error",
            Self::InvalidDocument => "invalid_document",
            Self::Timeout => "timeout",
            Self::ConnectError => "connect_error",
        }
    }
}

impl fmt::Display for PullOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One completed pull attempt, as listed by [`Emulator::pull_log`](super::Emulator::pull_log)
/// and `GET /_emulator/pulls`.
///
/// It never holds the token: `url` shows `lftoken=REDACTED`, and `reason` is scrubbed.
/// In JSON, `time` is a number of Unix seconds with a fractional part.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::Network;
/// use tower_livefyre::emulator::{Emulator, PullOutcome};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let emulator = Emulator::start(Network::new("labs.fyre.co", "network-key")?).await?;
/// // Nothing serves profiles under the emulator's own inspection path: a 404.
/// emulator.set_pull_url_template(format!("{}/_emulator/profiles/{{id}}", emulator.url()).parse()?);
/// let ann = "ann".parse()?;
/// emulator.request_pull(&ann)?;
///
/// let record = emulator.wait_for_pull(&ann, Duration::from_secs(5)).await?;
/// assert_eq!(record.outcome, PullOutcome::NotFound);
/// assert_eq!(record.status, Some(404));
/// assert!(record.url.ends_with("/_emulator/profiles/ann?lftoken=REDACTED"));
/// let json = serde_json::to_value(&record)?;
/// assert_eq!(json["outcome"], "not_found");
/// assert!(json["time"].is_f64());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PullRecord {
    /// The user id pulled.
    pub id: UserId,
    /// When the attempt finished (JSON: Unix seconds as a float, e.g. `1732371695.125`).
    #[serde(serialize_with = "unix_seconds")]
    pub time: SystemTime,
    /// The HTTP status of the answer, if one arrived.
    pub status: Option<u16>,
    /// How it ended.
    pub outcome: PullOutcome,
    /// Why it did not store a profile, in a sentence; `None` when stored, 403 or 404.
    pub reason: Option<String>,
    /// The URL pulled, with the token replaced by `REDACTED`.
    pub url: String,
}

impl PullRecord {
    pub(super) fn new(id: &UserId, url: String, outcome: PullOutcome) -> Self {
        Self {
            id: id.clone(),
            time: SystemTime::now(),
            status: None,
            outcome,
            reason: None,
            url,
        }
    }

    pub(super) fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub(super) fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// A time before 1970 cannot come from the clock of a sane machine; it shows as 0.
pub(super) fn unix_seconds<S: Serializer>(
    time: &SystemTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64());
    serializer.serialize_f64(seconds)
}
