//! The emulator's memory and every rule that changes it: the registered template, the pull
//! queue and its per-user bookkeeping, the remote profiles, the pull and ping logs, and the
//! ping faults in force.
//!
//! Pull bookkeeping sits behind one mutex, so that finishing a pull (profile, log, in-flight
//! flag) is atomic for every observer; pings and faults have their own. No lock is held
//! across an `.await`.
//!
//! The queue implements the coalescing described under "Pulls" in the module documentation:
//! an id waits in the queue at most once, and is never taken while it is in flight.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::futures::Notified;
use tokio::sync::{Notify, watch};

use super::fault::{FaultPlan, FaultSchedule, PingFault};
use super::{PingRecord, PullRecord};
use crate::{Profile, PullUrlTemplate, UserId};

/// Most ids waiting at once; past it, pings get 503 instead of growing memory without bound.
const MAX_QUEUED: usize = 100_000;

/// The queue is full.
#[derive(Debug)]
pub(super) struct QueueFull;

/// One pull a worker took from the queue.
pub(super) struct Job {
    pub(super) id: UserId,
    /// The template registered when the job started.
    pub(super) template: Option<PullUrlTemplate>,
    /// `User::requested` when the job started.
    covers: u64,
}

pub(super) struct State {
    pulls: Mutex<Pulls>,
    pings: Mutex<VecDeque<PingRecord>>,
    faults: Mutex<FaultSchedule>,
    /// How many records each log keeps, dropping the oldest.
    log_capacity: usize,
    /// Wakes idle workers: a pull was queued or an id stopped being in flight.
    work: Notify,
    /// Counts completed pulls; `wait_for_pull` watches it.
    completed: watch::Sender<u64>,
}

#[derive(Default)]
struct Pulls {
    template: Option<PullUrlTemplate>,
    /// Ids waiting for a worker, oldest first; each at most once.
    queue: VecDeque<UserId>,
    users: HashMap<UserId, User>,
    /// How many ids are being pulled right now.
    in_flight: usize,
    log: VecDeque<PullRecord>,
}

/// Everything the emulator knows about one user id.
#[derive(Default)]
struct User {
    /// How many pulls were requested (pings accepted) so far.
    requested: u64,
    /// Waiting in the queue, not started.
    queued: bool,
    /// A worker is pulling it right now.
    in_flight: bool,
    /// The remote profile, from the last `stored` pull.
    profile: Option<Profile>,
    /// The last completed pull, with the value of `requested` when it started: it reflects
    /// every request up to that number.
    last: Option<(u64, PullRecord)>,
}

/// A panic elsewhere while holding a lock leaves consistent data (every update is a few
/// plain assignments), so a poisoned lock is used as is rather than spreading panics.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Appends to a log that keeps at most `capacity` records.
fn push_bounded<T>(log: &mut VecDeque<T>, capacity: usize, record: T) {
    if log.len() >= capacity {
        log.pop_front();
    }
    log.push_back(record);
}

impl State {
    pub(super) fn new(faults: FaultPlan, log_capacity: usize) -> Self {
        Self {
            pulls: Mutex::default(),
            pings: Mutex::default(),
            faults: Mutex::new(FaultSchedule::new(faults, Instant::now())),
            log_capacity: log_capacity.max(1),
            work: Notify::new(),
            completed: watch::Sender::new(0),
        }
    }

    // ------------------------------------------------------------ template and profiles

    pub(super) fn template(&self) -> Option<PullUrlTemplate> {
        lock(&self.pulls).template.clone()
    }

    pub(super) fn set_template(&self, template: PullUrlTemplate) {
        lock(&self.pulls).template = Some(template);
    }

    pub(super) fn profile(&self, id: &str) -> Option<Profile> {
        lock(&self.pulls)
            .users
            .get(id)
            .and_then(|user| user.profile.clone())
    }

    // ------------------------------------------------------------ the queue

    /// Schedules a pull of `id`, unless one is already waiting.
    pub(super) fn request_pull(&self, id: &UserId) -> Result<(), QueueFull> {
        let mut guard = lock(&self.pulls);
        let pulls = &mut *guard;
        let already_queued = pulls.users.get(id).is_some_and(|user| user.queued);
        if !already_queued && pulls.queue.len() >= MAX_QUEUED {
            return Err(QueueFull);
        }
        let user = pulls.users.entry(id.clone()).or_default();
        user.requested += 1;
        if !already_queued {
            user.queued = true;
            pulls.queue.push_back(id.clone());
        }
        drop(guard);
        if !already_queued {
            self.work.notify_waiters();
        }
        Ok(())
    }

    /// Resolves when a job may have become available. Enable it before
    /// [`take_job`](Self::take_job), so a job queued in between is not missed.
    pub(super) fn work_notified(&self) -> Notified<'_> {
        self.work.notified()
    }

    /// The oldest queued id that is not being pulled right now.
    pub(super) fn take_job(&self) -> Option<Job> {
        let mut guard = lock(&self.pulls);
        let pulls = &mut *guard;
        let users = &pulls.users;
        let position = pulls
            .queue
            .iter()
            .position(|id| users.get(id).is_none_or(|user| !user.in_flight))?;
        let id = pulls.queue.remove(position)?;
        let template = pulls.template.clone();
        let user = pulls.users.entry(id.clone()).or_default();
        user.queued = false;
        user.in_flight = true;
        pulls.in_flight += 1;
        Some(Job {
            covers: user.requested,
            id,
            template,
        })
    }

    /// Pulls queued or in progress.
    pub(super) fn pending_pulls(&self) -> usize {
        let pulls = lock(&self.pulls);
        pulls.queue.len() + pulls.in_flight
    }

    /// Records the result of a job and makes it visible to `wait_for_pull`.
    pub(super) fn finish(&self, job: Job, record: PullRecord, profile: Option<Profile>) {
        let mut guard = lock(&self.pulls);
        let pulls = &mut *guard;
        push_bounded(&mut pulls.log, self.log_capacity, record.clone());
        pulls.in_flight -= 1;
        let user = pulls.users.entry(job.id).or_default();
        user.in_flight = false;
        if profile.is_some() {
            user.profile = profile;
        }
        user.last = Some((job.covers, record));
        let queued_again = user.queued;
        drop(guard);
        self.completed.send_modify(|count| *count += 1);
        if queued_again {
            // Another worker may be idle while this id waited for us to finish.
            self.work.notify_waiters();
        }
    }

    // ------------------------------------------------------------ completed pulls

    pub(super) fn pull_log(&self) -> Vec<PullRecord> {
        lock(&self.pulls).log.iter().cloned().collect()
    }

    /// Changes with every completed pull.
    pub(super) fn completions(&self) -> watch::Receiver<u64> {
        self.completed.subscribe()
    }

    /// How many pulls of `id` were requested so far.
    pub(super) fn requested(&self, id: &str) -> u64 {
        lock(&self.pulls)
            .users
            .get(id)
            .map_or(0, |user| user.requested)
    }

    /// The last completed pull of `id`, if it started after the first `requested` requests.
    pub(super) fn last_covering(&self, id: &str, requested: u64) -> Option<PullRecord> {
        let pulls = lock(&self.pulls);
        let (covers, record) = pulls.users.get(id)?.last.as_ref()?;
        (*covers >= requested).then(|| record.clone())
    }

    // ------------------------------------------------------------ pings and faults

    pub(super) fn record_ping(&self, record: PingRecord) {
        push_bounded(&mut lock(&self.pings), self.log_capacity, record);
    }

    pub(super) fn ping_log(&self) -> Vec<PingRecord> {
        lock(&self.pings).iter().cloned().collect()
    }

    /// Replaces the faults in force; the plan's first step begins now.
    pub(super) fn set_faults(&self, plan: FaultPlan) {
        *lock(&self.faults) = FaultSchedule::new(plan, Instant::now());
    }

    /// The fault that answers a ping arriving now, if any.
    pub(super) fn next_fault(&self) -> Option<PingFault> {
        // The clock is read under the lock, so the schedule sees times in order.
        let mut faults = lock(&self.faults);
        faults.next(Instant::now())
    }
}
