//! [`BoundedLog`]: a log that keeps the last so many records.

use std::collections::VecDeque;

pub(super) struct BoundedLog<T> {
    records: VecDeque<T>,
    capacity: usize,
}

impl<T: Clone> BoundedLog<T> {
    /// An empty log keeping at most `capacity` records (at least one).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            records: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Appends `record`, dropping the oldest when full.
    pub(super) fn push(&mut self, record: T) {
        if self.records.len() >= self.capacity {
            self.records.pop_front();
        }
        self.records.push_back(record);
    }

    /// The records, oldest first.
    pub(super) fn to_vec(&self) -> Vec<T> {
        self.records.iter().cloned().collect()
    }
}
