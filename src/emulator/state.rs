//! [`State`]: everything the emulator holds, in three parts with locks of their own.

use super::fault::FaultPlan;
use super::faults_in_force::FaultsInForce;
use super::ping_log::PingLog;
use super::pull_queue::PullQueue;

pub(super) struct State {
    /// The pulls owed and done: queue, remote profiles, template, pull log.
    pub(super) pulls: PullQueue,
    /// The pings received.
    pub(super) pings: PingLog,
    /// The faults pings are answered with.
    pub(super) faults: FaultsInForce,
}

impl State {
    /// An empty emulator state; each log keeps at most `log_capacity` records.
    pub(super) fn new(faults: FaultPlan, log_capacity: usize) -> Self {
        Self {
            pulls: PullQueue::new(log_capacity),
            pings: PingLog::new(log_capacity),
            faults: FaultsInForce::new(faults),
        }
    }
}
