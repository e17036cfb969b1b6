//! The pull workers: each takes jobs from the queue in [`State`] and pulls them, one at a
//! time, until shutdown; and the timer that queues late pulls when they are due.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use super::puller::Puller;
use super::state::State;
use super::stopped;

/// A worker: takes jobs until shutdown is signalled. A pull in progress when the signal
/// comes is finished (the emulator's shutdown aborts it after a grace period).
pub(super) async fn worker(
    state: Arc<State>,
    puller: Arc<Puller>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        // Register interest before looking, so a job queued in between is not missed.
        let notified = state.pulls.work_notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if *shutdown.borrow() {
            return;
        }
        let Some(job) = state.pulls.take_job() else {
            tokio::select! {
                () = &mut notified => continue,
                () = stopped(&mut shutdown) => return,
            }
        };
        let (record, profile) = puller.pull(&job.id, job.template.as_ref()).await;
        tracing::debug!(
            id = %record.id,
            outcome = %record.outcome,
            status = ?record.status,
            url = %record.url,
            "emulator pull finished"
        );
        state.pulls.finish(job, record, profile);
    }
}

/// The timer: moves each late pull into the queue when it is due, until shutdown. Late
/// pulls not yet due then are dropped with the emulator.
pub(super) async fn timer(state: Arc<State>, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let next = state.pulls.queue_due_late_pulls(Instant::now());
        let due = async {
            match next {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = due => {}
            () = state.pulls.late_pull_scheduled() => {}
            () = stopped(&mut shutdown) => return,
        }
    }
}
