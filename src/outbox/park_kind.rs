//! [`ParkKind`]: which kind of failure parked a row, as the `park_kind` column stores it.

/// Which kind of failure parked a row.
///
/// # Example
///
/// ```
/// use tower_livefyre::outbox::ParkKind;
/// assert_eq!(ParkKind::NeverPulled.as_str(), "never_pulled");
/// assert_eq!("refused".parse::<ParkKind>(), Ok(ParkKind::Refused));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub enum ParkKind {
    /// Livefyre (or a proxy before it) refused the ping: a 403 (wrong key or network) or
    /// another 4xx. Fix the cause, then requeue.
    Refused,
    /// Livefyre accepted every ping, but no pull of this user reached a confirming pull
    /// endpoint (see [`Relay::confirm_pulls`](super::Relay::confirm_pulls)).
    NeverPulled,
    /// The row's id is not a Livefyre user id (the row was written by hand); never sent.
    InvalidUserId,
}

impl ParkKind {
    /// The kind as stored in the `park_kind` column: `refused`, `never_pulled`,
    /// `invalid_user_id`.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(tower_livefyre::outbox::ParkKind::Refused.as_str(), "refused");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::NeverPulled => "never_pulled",
            Self::InvalidUserId => "invalid_user_id",
        }
    }
}

impl std::fmt::Display for ParkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ParkKind {
    type Err = UnknownParkKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Refused, Self::NeverPulled, Self::InvalidUserId]
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or(UnknownParkKind)
    }
}

/// A `park_kind` that is none of [`ParkKind`]'s.
///
/// # Example
///
/// ```
/// use tower_livefyre::outbox::ParkKind;
/// assert!("lost".parse::<ParkKind>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown park kind")]
#[cfg_attr(docsrs, doc(cfg(feature = "outbox")))]
pub struct UnknownParkKind;
