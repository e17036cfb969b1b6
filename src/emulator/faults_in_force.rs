//! [`FaultsInForce`]: the fault plan the emulator answers pings with, as time goes by.

use std::sync::Mutex;
use std::time::Instant;

use super::fault::{FaultPlan, FaultSchedule, PingFault};
use super::lock::lock;

pub(super) struct FaultsInForce {
    schedule: Mutex<FaultSchedule>,
}

impl FaultsInForce {
    /// `plan` in force, its first step beginning now.
    pub(super) fn new(plan: FaultPlan) -> Self {
        Self {
            schedule: Mutex::new(FaultSchedule::new(plan, Instant::now())),
        }
    }

    /// Replaces the faults in force; the plan's first step begins now.
    pub(super) fn set(&self, plan: FaultPlan) {
        *lock(&self.schedule) = FaultSchedule::new(plan, Instant::now());
    }

    /// The fault steps in force now, described for the emulator's page.
    pub(super) fn describe(&self) -> Vec<(String, String)> {
        let faults = lock(&self.schedule);
        faults.describe(Instant::now())
    }

    /// The fault that answers a ping arriving now, if any.
    pub(super) fn next(&self) -> Option<PingFault> {
        // The clock is read under the lock, so the schedule sees times in order.
        let mut faults = lock(&self.schedule);
        faults.next(Instant::now())
    }
}
