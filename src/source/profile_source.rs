//! [`ProfileSource`]: the trait, and its implementations for maps and `Arc`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{Future, ready};
use std::sync::Arc;

use crate::box_error::BoxError;
use crate::profile::document::Profile;
use crate::user_id::UserId;

/// Looks up the Ping-for-Pull profile of a user by id: your user database, seen by Livefyre.
///
/// Return `Ok(None)` for an unknown user (the pull answers 404) and `Err` when the lookup
/// itself fails (the pull answers 500 and the error is logged). The id is a [`UserId`]:
/// checked once, where the request came in, to be a Livefyre user id (`[A-Za-z0-9_.-]+`, at
/// most 256 bytes), so it is safe to put into SQL parameters, file names or URLs.
///
/// Implemented for a `HashMap` from `String` or [`UserId`] (any key that borrows as `str`) to
/// [`Profile`], for `Arc<T>`, and for closures through [`profile_source_fn`](crate::source::profile_source_fn).
///
/// # Example
///
/// ```
/// use std::convert::Infallible;
/// use tower_livefyre::{Profile, ProfileSource, UserId};
///
/// struct Users; // your database pool, for example
///
/// impl ProfileSource for Users {
///     type Error = Infallible;
///
///     async fn profile(&self, id: &UserId) -> Result<Option<Profile>, Self::Error> {
///         Ok((id == "ann").then(|| Profile::new(id.clone(), "Ann Lee")))
///     }
/// }
/// ```
pub trait ProfileSource: Send + Sync + 'static {
    /// Why a lookup failed.
    type Error: Into<BoxError>;

    /// The profile of the user `id`, or `None` when there is no such user.
    fn profile(
        &self,
        id: &UserId,
    ) -> impl Future<Output = Result<Option<Profile>, Self::Error>> + Send;

    /// The profile of `id` if this source holds it in memory and can lend it at once;
    /// `None` (the default) to have [`profile`](Self::profile) asked instead.
    ///
    /// The id has passed the [`UserId`] check already; it comes as a `&str` borrowed from the
    /// request so that this path copies nothing.
    ///
    /// [`PullService`](crate::PullService) asks this first: a profile lent here is checked and
    /// serialized where it is, with no copy, no task and no timer. Sources that own their
    /// profiles (the `HashMap` implementation, a preloaded directory) implement it; the
    /// answer must agree with [`profile`](Self::profile), which is still asked whenever
    /// this returns `None` (so an unknown id is reported there).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use tower_livefyre::{Profile, ProfileSource};
    ///
    /// let users = HashMap::from([("ann".to_owned(), Profile::new("ann".parse()?, "Ann Lee"))]);
    /// assert_eq!(users.profile_ref("ann").map(|p| p.display_name.as_str()), Some("Ann Lee"));
    /// assert!(users.profile_ref("bob").is_none());
    /// # Ok::<(), tower_livefyre::UserIdError>(())
    /// ```
    fn profile_ref(&self, id: &str) -> Option<&Profile> {
        let _ = id;
        None
    }
}

/// An in-memory source: handy for tests and small static directories. The keys are
/// `String`s or [`UserId`]s (anything that borrows as `str`).
///
/// ```
/// use std::collections::HashMap;
/// use tower_livefyre::{Profile, ProfileSource, UserId};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let ann: UserId = "ann".parse()?;
/// let users = HashMap::from([(ann.clone(), Profile::new(ann.clone(), "Ann Lee"))]);
/// assert!(users.profile(&ann).await?.is_some());
/// assert!(users.profile(&"bob".parse()?).await?.is_none());
/// # Ok(()) }
/// ```
impl<K, H> ProfileSource for HashMap<K, Profile, H>
where
    K: std::borrow::Borrow<str> + std::hash::Hash + Eq + Send + Sync + 'static,
    H: std::hash::BuildHasher + Send + Sync + 'static,
{
    type Error = Infallible;

    fn profile(
        &self,
        id: &UserId,
    ) -> impl Future<Output = Result<Option<Profile>, Infallible>> + Send {
        ready(Ok(self.get(id.as_str()).cloned()))
    }

    fn profile_ref(&self, id: &str) -> Option<&Profile> {
        self.get(id)
    }
}

impl<T: ProfileSource + ?Sized> ProfileSource for Arc<T> {
    type Error = T::Error;

    fn profile(
        &self,
        id: &UserId,
    ) -> impl Future<Output = Result<Option<Profile>, Self::Error>> + Send {
        (**self).profile(id)
    }

    fn profile_ref(&self, id: &str) -> Option<&Profile> {
        (**self).profile_ref(id)
    }
}
