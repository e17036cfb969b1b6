//! [`lock`]: a mutex lock that outlives a panic elsewhere.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// A panic elsewhere while holding a lock leaves consistent data (every update is a few
/// plain assignments), so a poisoned lock is used as is rather than spreading panics.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
