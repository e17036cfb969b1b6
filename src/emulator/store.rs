//! The emulator's memory: the registered template, the remote profiles, the pull log, and the
//! per-user bookkeeping that the queue (`queue.rs`) and `wait_for_pull` share.
//!
//! One mutex guards it all, so that finishing a pull (profile, log, in-flight flag) is atomic
//! for every observer. It is never held across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::{Notify, watch};

use super::PullRecord;
use crate::Profile;

/// The pull log keeps this many records, dropping the oldest, so that a long-running
/// emulator does not grow without bound.
pub(super) const MAX_LOG_RECORDS: usize = 10_000;

pub(super) struct State {
    pub(super) inner: Mutex<Inner>,
    /// Wakes idle workers: a pull was queued or an id stopped being in flight.
    pub(super) work: Notify,
    /// Counts completed pulls; `wait_for_pull` watches it.
    pub(super) completed: watch::Sender<u64>,
}

#[derive(Default)]
pub(super) struct Inner {
    pub(super) template: Option<String>,
    /// Ids waiting for a worker, oldest first; each at most once.
    pub(super) queue: VecDeque<String>,
    pub(super) users: HashMap<String, User>,
    pub(super) log: VecDeque<PullRecord>,
}

/// Everything the emulator knows about one user id.
#[derive(Default)]
pub(super) struct User {
    /// How many pulls were requested (pings accepted) so far.
    pub(super) requested: u64,
    /// Waiting in the queue, not started.
    pub(super) queued: bool,
    /// A worker is pulling it right now.
    pub(super) in_flight: bool,
    /// The remote profile, from the last `stored` pull.
    pub(super) profile: Option<Profile>,
    /// The last completed pull, with the value of `requested` when it started: it reflects
    /// every request up to that number.
    pub(super) last: Option<(u64, PullRecord)>,
}

impl State {
    pub(super) fn new() -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            work: Notify::new(),
            completed: watch::Sender::new(0),
        }
    }

    /// A panic elsewhere while holding the lock leaves consistent data (every update is a
    /// few plain assignments), so a poisoned lock is used as is rather than spreading panics.
    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn template(&self) -> Option<String> {
        self.lock().template.clone()
    }

    pub(super) fn set_template(&self, template: String) {
        self.lock().template = Some(template);
    }

    pub(super) fn profile(&self, id: &str) -> Option<Profile> {
        self.lock()
            .users
            .get(id)
            .and_then(|user| user.profile.clone())
    }

    pub(super) fn log(&self) -> Vec<PullRecord> {
        self.lock().log.iter().cloned().collect()
    }

    /// How many pulls of `id` were requested so far.
    pub(super) fn requested(&self, id: &str) -> u64 {
        self.lock().users.get(id).map_or(0, |user| user.requested)
    }

    /// The last completed pull of `id`, if it started after the first `requested` requests.
    pub(super) fn last_covering(&self, id: &str, requested: u64) -> Option<PullRecord> {
        let inner = self.lock();
        let (covers, record) = inner.users.get(id)?.last.as_ref()?;
        (*covers >= requested).then(|| record.clone())
    }
}

impl Inner {
    pub(super) fn push_log(&mut self, record: PullRecord) {
        if self.log.len() >= MAX_LOG_RECORDS {
            self.log.pop_front();
        }
        self.log.push_back(record);
    }
}
