//! [`PingLog`]: the pings the emulator received, newest last, with what it answered.

use std::sync::Mutex;

use super::bounded_log::BoundedLog;
use super::lock::lock;
use super::ping_record::PingRecord;

pub(super) struct PingLog {
    records: Mutex<BoundedLog<PingRecord>>,
}

impl PingLog {
    /// An empty log keeping at most `capacity` records.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            records: Mutex::new(BoundedLog::new(capacity)),
        }
    }

    pub(super) fn record(&self, record: PingRecord) {
        lock(&self.records).push(record);
    }

    pub(super) fn records(&self) -> Vec<PingRecord> {
        lock(&self.records).to_vec()
    }
}
