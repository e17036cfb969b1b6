//! [`profile_source_fn`]: a [`ProfileSource`] from an async closure.

use std::fmt;
use std::future::Future;

use super::profile_source::ProfileSource;
use crate::box_error::BoxError;
use crate::profile::document::Profile;
use crate::user_id::UserId;

/// A [`ProfileSource`] from an async closure that takes the id as an owned [`UserId`].
///
/// # Example
///
/// ```
/// use tower_livefyre::source::profile_source_fn;
/// use tower_livefyre::{Profile, ProfileSource, UserId};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let source = profile_source_fn(|id: UserId| async move {
///     // Look the user up in your database here.
///     Ok::<_, std::io::Error>(Some(Profile::new(id, "Someone")))
/// });
/// let ann = "ann".parse()?;
/// assert_eq!(source.profile(&ann).await?.unwrap().id, ann);
/// # Ok(()) }
/// ```
pub fn profile_source_fn<F, Fut, E>(f: F) -> ProfileSourceFn<F>
where
    F: Fn(UserId) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Profile>, E>> + Send,
    E: Into<BoxError>,
{
    ProfileSourceFn { f }
}

/// The [`ProfileSource`] returned by [`profile_source_fn`].
#[derive(Clone, Copy)]
pub struct ProfileSourceFn<F> {
    f: F,
}

impl<F, Fut, E> ProfileSource for ProfileSourceFn<F>
where
    F: Fn(UserId) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Profile>, E>> + Send,
    E: Into<BoxError>,
{
    type Error = E;

    fn profile(&self, id: &UserId) -> impl Future<Output = Result<Option<Profile>, E>> + Send {
        (self.f)(id.clone())
    }
}

impl<F> fmt::Debug for ProfileSourceFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileSourceFn").finish_non_exhaustive()
    }
}
