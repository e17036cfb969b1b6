//! The pull workers: each takes jobs from the queue in [`State`] and pulls them, one at a
//! time, until shutdown.

use std::sync::Arc;

use tokio::sync::watch;

use super::pull::Puller;
use super::stopped;
use super::store::State;

/// A worker: takes jobs until shutdown is signalled. A pull in progress when the signal
/// comes is finished (the emulator's shutdown aborts it after a grace period).
pub(super) async fn worker(
    state: Arc<State>,
    puller: Arc<Puller>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        // Register interest before looking, so a job queued in between is not missed.
        let notified = state.work_notified();
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
        let (record, profile) = puller.pull(&job.id, job.template.as_ref()).await;
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
