//! Why [`PullService`](crate::PullService) did not answer with a profile.

use std::sync::Arc;

use http::StatusCode;

use crate::box_error::BoxError;

use crate::profile::validate::ProfileError;

use crate::user_id::UserIdError;

/// Why a pull did not return a profile; carried in the response's extensions.
///
/// Livefyre only sees the status and an empty body; the reason is for your logs, metrics and
/// tests. Client mistakes are logged at `debug!`, failures of your [`ProfileSource`](crate::ProfileSource)
/// at `error!`.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PullRejection {
    /// The method is not GET or HEAD (405).
    #[error("method not allowed; the pull is a GET")]
    MethodNotAllowed,
    /// No id in the request (400).
    #[error("the request has no user id")]
    MissingId,
    /// The id parameter appears more than once (400).
    #[error("more than one user id")]
    DuplicateId,
    /// The id, percent-decoded, is not a Livefyre user id: empty, too long, or a byte
    /// outside `[A-Za-z0-9_.-]` (400).
    #[error("the user id is not a Livefyre user id: {0}")]
    InvalidId(#[source] UserIdError),
    /// The source has no such user (404).
    #[error("no such user")]
    NotFound,
    /// The source failed (500).
    #[error("the profile source failed: {0}")]
    SourceFailed(Arc<BoxError>),
    /// The source did not answer in time (504).
    #[error("the profile source did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The source returned a profile that breaks Livefyre's rules (500).
    #[error("the profile source returned an invalid profile: {0}")]
    InvalidProfile(#[from] ProfileError),
    /// The source returned the profile of another user (500).
    #[error("the profile source returned a profile with another id")]
    IdMismatch,
}

impl PullRejection {
    /// The status this rejection is answered with.
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_livefyre::PullRejection;
    ///
    /// assert_eq!(PullRejection::NotFound.status(), StatusCode::NOT_FOUND);
    /// ```
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::MissingId | Self::DuplicateId | Self::InvalidId(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::SourceFailed(_) | Self::InvalidProfile(_) | Self::IdMismatch => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// Whether this is a failure of the server side (5xx) rather than of the request.
    #[must_use]
    pub fn is_server_error(&self) -> bool {
        self.status().is_server_error()
    }
}

#[cfg(feature = "metrics")]
impl PullRejection {
    /// The `outcome` label of `livefyre_pull_answers_total`.
    pub(crate) fn metric_outcome(&self) -> crate::metrics::PullOutcome {
        use crate::metrics::PullOutcome as O;
        match self {
            Self::MethodNotAllowed => O::MethodNotAllowed,
            Self::MissingId | Self::DuplicateId | Self::InvalidId(_) => O::BadRequest,
            Self::NotFound => O::NotFound,
            Self::SourceFailed(_) => O::SourceFailed,
            Self::Timeout(_) => O::Timeout,
            Self::InvalidProfile(_) => O::InvalidProfile,
            Self::IdMismatch => O::IdMismatch,
        }
    }
}
