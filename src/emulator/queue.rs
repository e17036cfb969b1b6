//! The pull queue and its workers.
//!
//! Requests for one id coalesce: while the id waits in the queue, more pings change nothing;
//! while it is being pulled, the next ping queues exactly one more pull, which starts only
//! after the running one ends. So one id is never pulled twice at once, a burst of pings
//! costs at most two pulls, and the last pull always starts after the last ping.

use std::sync::Arc;

use tokio::sync::watch;

use super::pull::Puller;
use super::stopped;
use super::store::State;
use crate::Profile;

/// Most ids waiting at once; past it, pings get 503 instead of growing memory without bound.
pub(super) const MAX_QUEUED: usize = 10_000;

/// The queue is full.
#[derive(Debug)]
pub(super) struct QueueFull;

/// One pull a worker took from the queue.
pub(super) struct Job {
    pub(super) id: String,
    /// The template registered when the job started.
    pub(super) template: Option<String>,
    /// `User::requested` when the job started.
    covers: u64,
}

impl State {
    /// Schedules a pull of `id`, unless one is already waiting.
    pub(super) fn request_pull(&self, id: &str) -> Result<(), QueueFull> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let already_queued = inner.users.get(id).is_some_and(|user| user.queued);
        if !already_queued && inner.queue.len() >= MAX_QUEUED {
            return Err(QueueFull);
        }
        let user = inner.users.entry(id.to_owned()).or_default();
        user.requested += 1;
        if !already_queued {
            user.queued = true;
            inner.queue.push_back(id.to_owned());
        }
        drop(guard);
        if !already_queued {
            self.work.notify_waiters();
        }
        Ok(())
    }

    /// The oldest queued id that is not being pulled right now.
    fn take_job(&self) -> Option<Job> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let users = &inner.users;
        let position = inner
            .queue
            .iter()
            .position(|id| users.get(id).is_none_or(|user| !user.in_flight))?;
        let id = inner.queue.remove(position)?;
        let template = inner.template.clone();
        let user = inner.users.entry(id.clone()).or_default();
        user.queued = false;
        user.in_flight = true;
        Some(Job {
            covers: user.requested,
            id,
            template,
        })
    }

    /// Records the result of a job and makes it visible to `wait_for_pull`.
    fn finish(&self, job: Job, record: super::PullRecord, profile: Option<Profile>) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        inner.push_log(record.clone());
        let user = inner.users.entry(job.id).or_default();
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
}

/// A worker: takes jobs until shutdown is signalled. A pull in progress when the signal
/// comes is finished (the emulator's shutdown aborts it after a grace period).
pub(super) async fn worker(
    state: Arc<State>,
    puller: Arc<Puller>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        // Register interest before looking, so a job queued in between is not missed.
        let notified = state.work.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if *shutdown.borrow() {
            return;
        }
        let Some(job) = state.take_job() else {
            tokio::select! {
                () = &mut notified => continue,
                () = stopped(&mut shutdown) => return,
            }
        };
        let (record, profile) = puller.pull(&job.id, job.template.as_deref()).await;
        tracing::debug!(
            id = %record.id,
            outcome = %record.outcome,
            status = ?record.status,
            url = %record.url,
            "emulator pull finished"
        );
        state.finish(job, record, profile);
    }
}
