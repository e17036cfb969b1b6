//! Ping faults: [`PingFault`], [`FaultLimit`], [`FaultPlan`], and the schedule that decides
//! which fault (if any) answers each ping.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How the emulator answers a ping while a fault is active: instead of accepting it, or by
/// accepting it and then pulling late or never.
///
/// A fault is met after the body is read and before the token is read, as a load balancer
/// in front of a Livefyre that is down would meet it. [`Unavailable`](Self::Unavailable),
/// [`TooManyRequests`](Self::TooManyRequests), [`Forbidden`](Self::Forbidden) and
/// [`Drop`](Self::Drop) answer in place of the usual answer and queue no pull;
/// [`Slow`](Self::Slow), [`NoPull`](Self::NoPull) and [`LatePull`](Self::LatePull) let the
/// ping be handled as usual and change only when it is answered or what an accepted ping
/// does about its pull.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::emulator::PingFault;
///
/// let outage = PingFault::Unavailable { retry_after: Some(2) };
/// assert_eq!(outage.status(), Some(503));
/// assert_eq!(PingFault::Slow { delay: Duration::from_millis(300) }.status(), None);
/// assert_eq!(PingFault::Drop.status(), None);
/// // Accepted pings: the usual 200, then no pull, or a pull 300 ms later.
/// assert_eq!(PingFault::NoPull.status(), None);
/// assert_eq!(PingFault::LatePull { delay: Duration::from_millis(300) }.retry_after(), None);
/// ```
///
/// An accepted ping that is never pulled, and one whose pull waits:
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::Network;
/// use tower_livefyre::emulator::{Emulator, FaultLimit, FaultPlan, PingFault};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let network = Network::new("labs.fyre.co", "network-key")?;
/// let late = PingFault::LatePull { delay: Duration::from_secs(60) };
/// let plan = FaultPlan::new()
///     .then(PingFault::NoPull, FaultLimit::Pings(1))
///     .then(late, FaultLimit::Pings(1));
/// let emulator = Emulator::builder(network.clone()).faults(plan).start().await?;
/// emulator.set_pull_url_template(format!("{}/_emulator/profiles/{{id}}", emulator.url()).parse()?);
///
/// let client = hyper_util::client::legacy::Client::builder(
///     hyper_util::rt::TokioExecutor::new(),
/// )
/// .build_http();
/// let ping = || {
///     http::Request::post(format!("{}/api/v3_0/user/ann/refresh", emulator.url()))
///         .body(http_body_util::Full::new(bytes::Bytes::from(
///             format!("lftoken={}", network.build_livefyre_token().unwrap()),
///         )))
/// };
/// // `no_pull`: 200, logged as accepted, and nothing to pull.
/// assert_eq!(client.request(ping()?).await?.status(), 200);
/// assert!(emulator.ping_log()[0].accepted());
/// assert_eq!(emulator.pending_pulls(), 0);
/// // `late_pull`: 200 at once; the pull waits its minute.
/// assert_eq!(client.request(ping()?).await?.status(), 200);
/// assert_eq!(emulator.pending_pulls(), 1);
/// assert!(emulator.pull_log().is_empty());
/// // Shutdown drops the late pull with the rest of the queue.
/// emulator.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PingFault {
    /// 503 Service Unavailable, with `Retry-After: <seconds>` when set.
    Unavailable {
        /// The `Retry-After` header, in seconds; none when `None`.
        retry_after: Option<u64>,
    },
    /// 429 Too Many Requests, with `Retry-After: <seconds>` when set.
    TooManyRequests {
        /// The `Retry-After` header, in seconds; none when `None`.
        retry_after: Option<u64>,
    },
    /// 403 Forbidden, as Livefyre answers a token signed with the wrong key: a permanent
    /// failure for a client, whatever the token really was.
    Forbidden,
    /// Waits `delay`, then handles the ping as usual (so an accepted one queues a pull).
    Slow {
        /// How long the answer is held back.
        delay: Duration,
    },
    /// Closes the connection without any answer.
    Drop,
    /// Handles the ping as usual, but an accepted one (200) queues no pull: Livefyre took the
    /// ping and never pulled. The ping log shows it accepted; the pull log never shows a pull
    /// for it. It is not a request for [`Emulator::wait_for_pull`](super::Emulator::wait_for_pull),
    /// which does not wait for it.
    NoPull,
    /// Handles the ping as usual, but an accepted one (200, answered at once) has its pull
    /// queued only `delay` after the answer was handed to the connection (the ping log's
    /// `answered`), so it starts no sooner. Other pulls, of this id or others, are not held
    /// up: a later normal ping of the same id queues its pull as usual, and this one still
    /// comes after its delay. A delay too long for the clock (`Duration::MAX`) never ends:
    /// the pull never comes. Shutdown drops late pulls not yet due.
    LatePull {
        /// How long after the answer the pull is queued.
        delay: Duration,
    },
}

impl PingFault {
    /// The status this fault answers with; `None` for [`Slow`](Self::Slow) (the usual
    /// answer, later), [`NoPull`](Self::NoPull) and [`LatePull`](Self::LatePull) (the usual
    /// answer) and [`Drop`](Self::Drop) (no answer).
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unavailable { .. } => Some(503),
            Self::TooManyRequests { .. } => Some(429),
            Self::Forbidden => Some(403),
            Self::Slow { .. } | Self::Drop | Self::NoPull | Self::LatePull { .. } => None,
        }
    }

    /// The `Retry-After` seconds sent with the answer, if any.
    #[must_use]
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Unavailable { retry_after } | Self::TooManyRequests { retry_after } => {
                *retry_after
            }
            Self::Forbidden
            | Self::Slow { .. }
            | Self::Drop
            | Self::NoPull
            | Self::LatePull { .. } => None,
        }
    }
}

/// How long one step of a [`FaultPlan`] lasts.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::emulator::FaultLimit;
///
/// let limits = [
///     FaultLimit::Pings(3),
///     FaultLimit::For(Duration::from_secs(10)),
///     FaultLimit::UntilCleared,
/// ];
/// assert_eq!(limits.len(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultLimit {
    /// The next this many pings (with a valid user id); 0 skips the step.
    Pings(u64),
    /// Every ping arriving within this long after the step began. The step begins when the
    /// plan is installed (for the first step) or when the step before it ended. A window too
    /// long to add to the clock (`Duration::MAX`) never ends.
    For(Duration),
    /// Every ping, until the plan is replaced or cleared.
    UntilCleared,
}

/// A sequence of ping faults, each for a number of pings or a time window; when the last step
/// ends, pings are answered normally again.
///
/// Install it with [`EmulatorBuilder::faults`](super::EmulatorBuilder::faults),
/// [`Emulator::set_faults`](super::Emulator::set_faults) or `POST /_emulator/faults` (see
/// the [module documentation](super) for its JSON form).
///
/// # Example
///
/// An outage: 503 for ten seconds, then 503 with `Retry-After: 2` for three more pings, then
/// recovery.
///
/// ```
/// use std::time::Duration;
/// use tower_livefyre::emulator::{FaultLimit, FaultPlan, PingFault};
///
/// let outage = FaultPlan::new()
///     .then(PingFault::Unavailable { retry_after: None }, FaultLimit::For(Duration::from_secs(10)))
///     .then(PingFault::Unavailable { retry_after: Some(2) }, FaultLimit::Pings(3));
/// assert_eq!(outage.steps().len(), 2);
/// assert!(FaultPlan::new().steps().is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct FaultPlan {
    steps: Vec<(PingFault, FaultLimit)>,
}

impl FaultPlan {
    /// An empty plan: every ping is answered normally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a step: `fault` answers pings until `limit` is reached.
    pub fn then(mut self, fault: PingFault, limit: FaultLimit) -> Self {
        self.steps.push((fault, limit));
        self
    }

    /// The steps, in order.
    #[must_use]
    pub fn steps(&self) -> &[(PingFault, FaultLimit)] {
        &self.steps
    }
}

/// A step being played: what is left of its limit.
#[derive(Debug)]
enum Remaining {
    Pings(u64),
    /// The end of the window; `None` when it is too far away to represent.
    Until(Option<Instant>),
    Forever,
}

/// An installed [`FaultPlan`], played against the pings as they arrive.
#[derive(Debug, Default)]
pub(super) struct FaultSchedule {
    /// The steps not started yet, in order.
    waiting: VecDeque<(PingFault, FaultLimit)>,
    /// The step in force, if any.
    current: Option<(PingFault, Remaining)>,
}

impl FaultSchedule {
    /// Installs `plan` at `now`: its first step begins at once.
    pub(super) fn new(plan: FaultPlan, now: Instant) -> Self {
        let mut schedule = Self {
            waiting: plan.steps.into(),
            current: None,
        };
        schedule.begin_next(now);
        schedule
    }

    /// The fault that answers a ping arriving at `now` (times never go backwards), or
    /// `None` for a normal answer.
    pub(super) fn next(&mut self, now: Instant) -> Option<PingFault> {
        loop {
            let (fault, remaining) = self.current.as_mut()?;
            let fault = *fault;
            match remaining {
                Remaining::Forever => return Some(fault),
                Remaining::Pings(left) => {
                    *left -= 1;
                    if *left == 0 {
                        self.begin_next(now);
                    }
                    return Some(fault);
                }
                Remaining::Until(None) => return Some(fault),
                Remaining::Until(Some(end)) if now < *end => return Some(fault),
                // The window closed before this ping: the next step began when it closed.
                Remaining::Until(Some(end)) => {
                    let ended = *end;
                    self.begin_next(ended);
                }
            }
        }
    }

    /// The steps in force at `now`, for the emulator's page: the current one with what is
    /// left of it, then the ones waiting, each as (fault, how long).
    pub(super) fn describe(&self, now: Instant) -> Vec<(String, String)> {
        let mut steps = Vec::new();
        if let Some((fault, remaining)) = &self.current {
            let left = match remaining {
                Remaining::Pings(left) => format!("{left} more ping(s)"),
                Remaining::Until(Some(end)) if *end > now => {
                    format!("{} ms more", end.duration_since(now).as_millis())
                }
                // A window that closed with no ping since: the next step begins at the
                // next ping.
                Remaining::Until(Some(_)) => "over at the next ping".to_owned(),
                Remaining::Until(None) | Remaining::Forever => "until cleared".to_owned(),
            };
            steps.push((describe_fault(*fault), format!("now, {left}")));
        }
        for (fault, limit) in &self.waiting {
            let limit = match limit {
                FaultLimit::Pings(count) => format!("then {count} ping(s)"),
                FaultLimit::For(window) => format!("then for {} ms", window.as_millis()),
                FaultLimit::UntilCleared => "then until cleared".to_owned(),
            };
            steps.push((describe_fault(*fault), limit));
        }
        steps
    }

    /// Starts the next step with pings left in it, at `start`.
    fn begin_next(&mut self, start: Instant) {
        self.current = None;
        while let Some((fault, limit)) = self.waiting.pop_front() {
            let remaining = match limit {
                FaultLimit::Pings(0) => continue,
                FaultLimit::Pings(count) => Remaining::Pings(count),
                FaultLimit::For(window) => Remaining::Until(start.checked_add(window)),
                FaultLimit::UntilCleared => Remaining::Forever,
            };
            self.current = Some((fault, remaining));
            return;
        }
    }
}

/// A fault as the JSON form names it, with its answer and settings.
fn describe_fault(fault: PingFault) -> String {
    let retry = |retry_after: Option<u64>| {
        retry_after.map_or(String::new(), |seconds| format!(", Retry-After: {seconds}"))
    };
    match fault {
        PingFault::Unavailable { retry_after } => {
            format!("unavailable (503{})", retry(retry_after))
        }
        PingFault::TooManyRequests { retry_after } => {
            format!("too_many_requests (429{})", retry(retry_after))
        }
        PingFault::Forbidden => "forbidden (403)".to_owned(),
        PingFault::Slow { delay } => format!("slow (answered {} ms late)", delay.as_millis()),
        PingFault::Drop => "drop (no answer)".to_owned(),
        PingFault::NoPull => "no_pull (200, never pulled)".to_owned(),
        PingFault::LatePull { delay } => {
            format!("late_pull (200, pulled {} ms later)", delay.as_millis())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNAVAILABLE: PingFault = PingFault::Unavailable { retry_after: None };
    const LATER: PingFault = PingFault::Unavailable {
        retry_after: Some(2),
    };

    /// The faults answering pings at these offsets (in seconds) from the installation.
    fn play(plan: FaultPlan, offsets: &[u64]) -> Vec<Option<PingFault>> {
        let start = Instant::now();
        let mut schedule = FaultSchedule::new(plan, start);
        offsets
            .iter()
            .map(|&offset| schedule.next(start + Duration::from_secs(offset)))
            .collect()
    }

    #[test]
    fn steps_play_in_order_then_pings_are_answered_normally() {
        let secs = |s| FaultLimit::For(Duration::from_secs(s));
        // A plan, when pings arrive (seconds after it is installed), the faults they meet.
        type Case = (FaultPlan, &'static [u64], Vec<Option<PingFault>>);
        let cases: Vec<Case> = vec![
            (FaultPlan::new(), &[0, 1], vec![None, None]),
            (
                FaultPlan::new().then(PingFault::Drop, FaultLimit::Pings(2)),
                &[0, 0, 0],
                vec![Some(PingFault::Drop), Some(PingFault::Drop), None],
            ),
            (
                FaultPlan::new()
                    .then(PingFault::Drop, FaultLimit::Pings(0))
                    .then(UNAVAILABLE, FaultLimit::Pings(1)),
                &[0, 0],
                vec![Some(UNAVAILABLE), None],
            ),
            // 503 for 10 s, then Retry-After for 2 pings, then recovery.
            (
                FaultPlan::new()
                    .then(UNAVAILABLE, secs(10))
                    .then(LATER, FaultLimit::Pings(2)),
                &[0, 9, 10, 30, 31],
                vec![
                    Some(UNAVAILABLE),
                    Some(UNAVAILABLE),
                    Some(LATER),
                    Some(LATER),
                    None,
                ],
            ),
            // The second window starts when the first closes, not at the next ping.
            (
                FaultPlan::new()
                    .then(UNAVAILABLE, secs(10))
                    .then(LATER, secs(5)),
                &[0, 12, 15, 16],
                vec![Some(UNAVAILABLE), Some(LATER), None, None],
            ),
            (
                FaultPlan::new().then(PingFault::Forbidden, FaultLimit::UntilCleared),
                &[0, 1_000_000],
                vec![Some(PingFault::Forbidden); 2],
            ),
            (
                FaultPlan::new().then(PingFault::Drop, FaultLimit::For(Duration::MAX)),
                &[0, 4_294_967_295],
                vec![Some(PingFault::Drop); 2],
            ),
        ];
        for (plan, offsets, expected) in cases {
            assert_eq!(play(plan.clone(), offsets), expected, "{plan:?}");
        }
    }

    #[test]
    fn the_plan_in_force_is_described_step_by_step() {
        let start = Instant::now();
        let plan = FaultPlan::new()
            .then(LATER, FaultLimit::Pings(2))
            .then(PingFault::Drop, FaultLimit::For(Duration::from_secs(1)))
            .then(PingFault::NoPull, FaultLimit::UntilCleared);
        let mut schedule = FaultSchedule::new(plan, start);
        assert_eq!(schedule.next(start), Some(LATER));
        let described = schedule.describe(start);
        let expected = [
            ("unavailable (503, Retry-After: 2)", "now, 1 more ping(s)"),
            ("drop (no answer)", "then for 1000 ms"),
            ("no_pull (200, never pulled)", "then until cleared"),
        ];
        let described: Vec<(&str, &str)> = described
            .iter()
            .map(|(fault, limit)| (fault.as_str(), limit.as_str()))
            .collect();
        assert_eq!(described, expected);
        assert!(
            FaultSchedule::new(FaultPlan::new(), start)
                .describe(start)
                .is_empty()
        );
    }

    #[test]
    fn statuses_and_retry_after() {
        assert_eq!(LATER.status(), Some(503));
        assert_eq!(LATER.retry_after(), Some(2));
        let slow = PingFault::TooManyRequests {
            retry_after: Some(7),
        };
        assert_eq!((slow.status(), slow.retry_after()), (Some(429), Some(7)));
        assert_eq!(PingFault::Forbidden.status(), Some(403));
        assert_eq!(PingFault::Drop.retry_after(), None);
        let late = PingFault::LatePull {
            delay: Duration::from_millis(300),
        };
        for accepted in [PingFault::NoPull, late] {
            assert_eq!((accepted.status(), accepted.retry_after()), (None, None));
        }
    }
}
