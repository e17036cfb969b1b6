//! The engine's pure decisions: how many rows to hold, when to claim, when to write back.
//! No database, no clock: the engine passes what it knows.

/// How many claimed rows (queued or in flight) the relay may hold: two rounds of pings at
/// first, doubling after every claim that came back full (a backlog) up to the batch size,
/// and back to two rounds after a claim that came back short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Holding {
    least: usize,
    most: usize,
    now: usize,
}

impl Holding {
    pub(super) fn new(concurrency: usize, batch_size: Option<usize>) -> Self {
        let least = concurrency.saturating_mul(2);
        let most = batch_size
            .unwrap_or(concurrency.saturating_mul(64))
            .max(least);
        Self {
            least,
            most,
            now: least,
        }
    }

    /// Holds at most `rows` (at least 1), whatever the concurrency and the batch size.
    pub(super) fn at_most(mut self, rows: usize) -> Self {
        let rows = rows.max(1);
        self.least = self.least.min(rows);
        self.most = self.most.min(rows);
        self.now = self.least;
        self
    }

    /// How many rows the next claim may ask for, given those held; `None` while more than
    /// half of what may be held is still queued (the next rows arrive before it runs dry).
    pub(super) fn claim_size(&self, queued: usize, in_flight: usize) -> Option<usize> {
        let room = self.now.saturating_sub(queued + in_flight);
        (queued <= self.now.div_ceil(2) && room > 0).then_some(room)
    }

    /// After a claim that asked for `asked` rows and got `got`: whether it was full.
    pub(super) fn claimed(&mut self, asked: usize, got: usize) -> bool {
        let full = got == asked;
        self.now = if full {
            self.now.saturating_mul(2).min(self.most)
        } else {
            self.least
        };
        full
    }

    /// After a claim that failed.
    pub(super) fn failed(&mut self) {
        self.now = self.least;
    }
}

/// Whether the outcomes gathered so far are written now on their own (rather than with the
/// next claim): once there are `write_at` of them, when nothing else is in flight, or when
/// the relay is stopping.
pub(super) fn write_back_due(
    outcomes: usize,
    write_at: usize,
    in_flight: usize,
    stopping: bool,
) -> bool {
    outcomes > 0 && (outcomes >= write_at || in_flight == 0 || stopping)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holding_grows_while_claims_come_back_full_and_starts_over_after_a_short_one() {
        let mut holding = Holding::new(4, Some(40));
        assert_eq!(holding.claim_size(0, 0), Some(8));
        assert!(holding.claimed(8, 8));
        assert_eq!(holding.claim_size(0, 4), Some(12));
        assert!(holding.claimed(12, 12));
        assert_eq!(holding.claim_size(0, 0), Some(32));
        assert!(holding.claimed(32, 32));
        assert_eq!(
            holding.claim_size(0, 0),
            Some(40),
            "capped at the batch size"
        );
        assert!(!holding.claimed(40, 3));
        assert_eq!(holding.claim_size(0, 0), Some(8));
        holding.failed();
        assert_eq!(holding.claim_size(0, 0), Some(8));
    }

    #[test]
    fn a_claim_waits_while_more_than_half_is_queued_or_nothing_fits() {
        let holding = Holding::new(4, None);
        let table = [
            ((0, 0), Some(8)),
            ((4, 0), Some(4)),
            ((5, 0), None),
            ((0, 8), None),
            ((2, 4), Some(2)),
        ];
        for ((queued, in_flight), expected) in table {
            assert_eq!(
                holding.claim_size(queued, in_flight),
                expected,
                "{queued} {in_flight}"
            );
        }
    }

    #[test]
    fn the_batch_size_is_never_below_two_rounds() {
        let mut holding = Holding::new(16, Some(1));
        assert_eq!(holding.claim_size(0, 0), Some(32));
        holding.claimed(32, 32);
        assert_eq!(holding.claim_size(0, 0), Some(32));
        let huge = Holding::new(usize::MAX, None);
        assert_eq!(huge.claim_size(0, 0), Some(usize::MAX));
    }

    #[test]
    fn a_rate_cap_lowers_what_is_held() {
        let mut holding = Holding::new(16, None).at_most(10);
        assert_eq!(holding.claim_size(0, 0), Some(10));
        holding.claimed(10, 10);
        assert_eq!(holding.claim_size(0, 0), Some(10));
        assert_eq!(Holding::new(16, None).at_most(0).claim_size(0, 0), Some(1));
    }

    #[test]
    fn write_backs() {
        let table = [
            ((0, 4, 0, true), false),
            ((1, 4, 3, false), false),
            ((4, 4, 3, false), true),
            ((1, 4, 0, false), true),
            ((1, 4, 3, true), true),
        ];
        for ((outcomes, write_at, in_flight, stopping), expected) in table {
            assert_eq!(
                write_back_due(outcomes, write_at, in_flight, stopping),
                expected,
                "{outcomes} {write_at} {in_flight} {stopping}"
            );
        }
    }
}
