//! Why a request was refused, and how the refusal is answered.

use http::{Response, StatusCode};

use crate::token::error::TokenError;

/// Why [`Lftoken`](super::Lftoken) refused a request.
///
/// Every refusal carries its reason in the response's extensions (and at `tracing::debug!`),
/// so that tests and metrics can tell causes apart while Livefyre only sees a bare 403.
/// No variant holds the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LftokenRejection {
    /// No `lftoken` query parameter.
    #[error("no lftoken query parameter")]
    Missing,
    /// `lftoken` is present but empty.
    #[error("the lftoken query parameter is empty")]
    Empty,
    /// `lftoken` appears more than once.
    #[error("more than one lftoken query parameter")]
    Duplicated,
    /// `lftoken` does not percent-decode to UTF-8.
    #[error("the lftoken query parameter is not UTF-8")]
    NotUtf8,
    /// `lftoken` is longer, still encoded, than the layer's cap.
    #[error("the lftoken query parameter is longer than {max} bytes")]
    TooLong {
        /// The cap, [`LftokenLayer::max_token_len`](crate::LftokenLayer::max_token_len).
        max: usize,
    },
    /// The token failed validation.
    #[error("invalid lftoken: {0}")]
    Invalid(#[from] TokenError),
}

/// Builds the response for a refused request.
///
/// Implemented by [`DefaultRejection`] (403, empty body) and by every
/// `Fn(&LftokenRejection) -> Response<B>`, for [`LftokenLayer::with_rejection_response`](crate::LftokenLayer::with_rejection_response).
pub trait MakeRejection<B> {
    /// The response for a request refused for `reason`.
    fn make_rejection(&self, reason: &LftokenRejection) -> Response<B>;
}

/// The documented answer: `403 Forbidden` with an empty body (`B::default()`).
///
/// # Example
///
/// ```
/// use http::StatusCode;
/// use tower_livefyre::{LftokenRejection, lftoken::{DefaultRejection, MakeRejection}};
///
/// let response: http::Response<String> = DefaultRejection.make_rejection(&LftokenRejection::Missing);
/// assert_eq!(response.status(), StatusCode::FORBIDDEN);
/// assert!(response.body().is_empty());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejection;

impl<B: Default> MakeRejection<B> for DefaultRejection {
    fn make_rejection(&self, _reason: &LftokenRejection) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = StatusCode::FORBIDDEN;
        response
    }
}

impl<B, F> MakeRejection<B> for F
where
    F: Fn(&LftokenRejection) -> Response<B>,
{
    fn make_rejection(&self, reason: &LftokenRejection) -> Response<B> {
        self(reason)
    }
}

#[cfg(feature = "metrics")]
impl LftokenRejection {
    /// The `reason` label of `livefyre_lftoken_rejections_total`: a fixed set, exhaustive
    /// over the variants so that a new one needs a label.
    pub(crate) fn metric_reason(&self) -> crate::metrics::RejectionReason {
        use crate::metrics::RejectionReason as R;
        match self {
            Self::Missing => R::Missing,
            Self::Empty => R::Empty,
            Self::Duplicated => R::Duplicated,
            Self::NotUtf8 => R::NotUtf8,
            Self::TooLong { .. } => R::TooLong,
            Self::Invalid(error) => match error {
                TokenError::Malformed(_) => R::Malformed,
                TokenError::UnsupportedAlgorithm => R::UnsupportedAlgorithm,
                TokenError::BadSignature => R::BadSignature,
                TokenError::MissingClaim(_) => R::MissingClaim,
                TokenError::MistypedClaim(_) => R::MistypedClaim,
                TokenError::ClaimOutOfRange(_) => R::ClaimOutOfRange,
                TokenError::WrongDomain => R::WrongDomain,
                TokenError::NotSystemUser => R::NotSystemUser,
                TokenError::Expired => R::Expired,
                TokenError::TooLong { .. } => R::TooLong,
                TokenError::DisplayNameTooLong { .. } | TokenError::Signing => R::Invalid,
            },
        }
    }
}
