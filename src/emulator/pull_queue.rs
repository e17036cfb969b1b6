//! [`PullQueue`]: the pulls the emulator owes, and what finishing one updates.
//!
//! The queue, the per-user bookkeeping, the remote profiles, the registered template and
//! the pull log sit behind one mutex, so that finishing a pull (profile, log, in-flight
//! flag) is atomic for every observer. No lock is held across an `.await`.
//!
//! The queue implements the coalescing described under "Pulls" in the module documentation:
//! an id waits in the queue at most once, and is never taken while it is in flight. Late
//! pulls (a [`PingFault::LatePull`](super::PingFault::LatePull)) wait beside it, by due
//! time, until the timer task moves them into the queue, where they coalesce as a ping
//! arriving then would.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::futures::Notified;
use tokio::sync::{Notify, watch};

use super::bounded_log::BoundedLog;
use super::lock::lock;
use super::pull_record::PullRecord;
use crate::profile::document::Profile;
use crate::url::PullUrlTemplate;
use crate::user_id::UserId;

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

pub(super) struct PullQueue {
    book: Mutex<Book>,
    /// Wakes idle workers: a pull was queued or an id stopped being in flight.
    work: Notify,
    /// Counts completed pulls; `wait_for_pull` watches it.
    completed: watch::Sender<u64>,
    /// Wakes the timer task: a late pull was scheduled.
    late_scheduled: Notify,
}

struct Book {
    template: Option<PullUrlTemplate>,
    /// Ids waiting for a worker, oldest first; each at most once.
    queue: VecDeque<UserId>,
    users: HashMap<UserId, User>,
    /// How many ids are being pulled right now.
    in_flight: usize,
    /// Late pulls not yet queued, by due time (and a sequence number, so that two due at
    /// the same instant are both kept); at most [`MAX_QUEUED`].
    late: BTreeMap<(Instant, u64), UserId>,
    /// The next late pull's sequence number.
    late_sequence: u64,
    log: BoundedLog<PullRecord>,
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

impl Book {
    /// Puts `id` in the queue unless it is waiting there already: `Ok(true)` when it was
    /// added (a worker should be woken). Counts no request.
    fn enqueue(&mut self, id: &UserId) -> Result<bool, QueueFull> {
        if self.users.get(id).is_some_and(|user| user.queued) {
            return Ok(false);
        }
        if self.queue.len() >= MAX_QUEUED {
            return Err(QueueFull);
        }
        self.users.entry(id.clone()).or_default().queued = true;
        self.queue.push_back(id.clone());
        Ok(true)
    }
}

impl PullQueue {
    /// An empty queue whose pull log keeps at most `log_capacity` records.
    pub(super) fn new(log_capacity: usize) -> Self {
        Self {
            book: Mutex::new(Book {
                template: None,
                queue: VecDeque::new(),
                users: HashMap::new(),
                in_flight: 0,
                late: BTreeMap::new(),
                late_sequence: 0,
                log: BoundedLog::new(log_capacity),
            }),
            work: Notify::new(),
            completed: watch::Sender::new(0),
            late_scheduled: Notify::new(),
        }
    }

    pub(super) fn template(&self) -> Option<PullUrlTemplate> {
        lock(&self.book).template.clone()
    }

    pub(super) fn set_template(&self, template: PullUrlTemplate) {
        lock(&self.book).template = Some(template);
    }

    pub(super) fn profile(&self, id: &str) -> Option<Profile> {
        lock(&self.book)
            .users
            .get(id)
            .and_then(|user| user.profile.clone())
    }

    /// Every remote profile, by id.
    pub(super) fn profiles(&self) -> Vec<Profile> {
        let pulls = lock(&self.book);
        let mut profiles: Vec<Profile> = pulls
            .users
            .values()
            .filter_map(|user| user.profile.clone())
            .collect();
        drop(pulls);
        profiles.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        profiles
    }

    /// Schedules a pull of `id`, unless one is already waiting.
    pub(super) fn request_pull(&self, id: &UserId) -> Result<(), QueueFull> {
        let mut pulls = lock(&self.book);
        let queued = pulls.enqueue(id)?;
        pulls.users.entry(id.clone()).or_default().requested += 1;
        drop(pulls);
        if queued {
            self.work.notify_waiters();
        }
        Ok(())
    }

    /// Whether no more late pulls can be scheduled now.
    pub(super) fn late_pulls_full(&self) -> bool {
        lock(&self.book).late.len() >= MAX_QUEUED
    }

    /// Counts a request for `id` now, and queues its pull `delay` from now (never, if that
    /// is too far to represent). The caller checked [`late_pulls_full`](Self::late_pulls_full)
    /// before accepting the ping; a few concurrent pings may pass the bound by as many.
    pub(super) fn request_late_pull(&self, id: &UserId, delay: Duration) {
        let mut guard = lock(&self.book);
        let pulls = &mut *guard;
        pulls.users.entry(id.clone()).or_default().requested += 1;
        let Some(due) = Instant::now().checked_add(delay) else {
            return;
        };
        let sequence = pulls.late_sequence;
        pulls.late_sequence += 1;
        pulls.late.insert((due, sequence), id.clone());
        drop(guard);
        self.late_scheduled.notify_one();
    }

    /// Moves the late pulls due by `now` into the queue, and returns when the next one is
    /// due. A late pull meeting a full queue is dropped, as a ping meeting it would be
    /// refused.
    pub(super) fn queue_due_late_pulls(&self, now: Instant) -> Option<Instant> {
        let mut pulls = lock(&self.book);
        let mut queued_any = false;
        while let Some(entry) = pulls.late.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let id = entry.remove();
            match pulls.enqueue(&id) {
                Ok(queued) => queued_any |= queued,
                Err(QueueFull) => {
                    tracing::debug!(%id, "emulator late pull dropped: the queue is full")
                }
            }
        }
        let next = pulls.late.first_key_value().map(|((due, _), _)| *due);
        drop(pulls);
        if queued_any {
            self.work.notify_waiters();
        }
        next
    }

    /// Resolves when a late pull was scheduled since the last call (a permit is kept, so
    /// one scheduled while the timer was busy is not missed).
    pub(super) async fn late_pull_scheduled(&self) {
        self.late_scheduled.notified().await;
    }

    /// Resolves when a job may have become available. Enable it before
    /// [`take_job`](Self::take_job), so a job queued in between is not missed.
    pub(super) fn work_notified(&self) -> Notified<'_> {
        self.work.notified()
    }

    /// The oldest queued id that is not being pulled right now.
    pub(super) fn take_job(&self) -> Option<Job> {
        let mut guard = lock(&self.book);
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

    /// Pulls queued, in progress, or late and not yet due.
    pub(super) fn pending_pulls(&self) -> usize {
        let pulls = lock(&self.book);
        pulls.queue.len() + pulls.in_flight + pulls.late.len()
    }

    /// Records the result of a job and makes it visible to `wait_for_pull`.
    pub(super) fn finish(&self, job: Job, record: PullRecord, profile: Option<Profile>) {
        let mut guard = lock(&self.book);
        let pulls = &mut *guard;
        pulls.log.push(record.clone());
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

    pub(super) fn pull_log(&self) -> Vec<PullRecord> {
        lock(&self.book).log.to_vec()
    }

    /// Changes with every completed pull.
    pub(super) fn completions(&self) -> watch::Receiver<u64> {
        self.completed.subscribe()
    }

    /// How many pulls of `id` were requested so far.
    pub(super) fn requested(&self, id: &str) -> u64 {
        lock(&self.book)
            .users
            .get(id)
            .map_or(0, |user| user.requested)
    }

    /// The last completed pull of `id`, if it started after the first `requested` requests.
    pub(super) fn last_covering(&self, id: &str, requested: u64) -> Option<PullRecord> {
        let pulls = lock(&self.book);
        let (covers, record) = pulls.users.get(id)?.last.as_ref()?;
        (*covers >= requested).then(|| record.clone())
    }
}
