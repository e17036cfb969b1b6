//! The relay's engine: claim → attempt → outcome → write-back, as named steps.
//!
//! Database rounds (a write-back of the outcomes so far, with or without a claim of the next
//! rows, in one transaction) run as tasks beside the attempts, so pings never wait for the
//! database. On Postgres a write-back alone may run beside a claim; on SQLite, with its
//! single writer, one round at a time.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::stream::{FuturesUnordered, StreamExt as _};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::attempt::{attempt, give_back};
use super::schedule::{Holding, write_back_due};
use super::{MAX_WAIT, Relay, millis};
use crate::outbox::Backend;
use crate::outbox::sql::{Dialect, Statements};
use crate::outbox::store::{Claim, ClaimRequest, Outcome, RoundResult};

type Attempt = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// `instant + duration` (at most ten years on), or a day on where the clock cannot reach
/// that far: no configuration panics.
fn after(instant: Instant, duration: Duration) -> Instant {
    instant
        .checked_add(duration.min(MAX_WAIT))
        .or_else(|| instant.checked_add(Duration::from_secs(24 * 3600)))
        .unwrap_or(instant)
}

/// What a database round did.
struct Round {
    /// When it began: the claimed rows' leases run from (just after) then.
    started: Instant,
    /// How many rows it asked for (0: it only wrote outcomes).
    asked: usize,
    /// The rows it claimed; `None` when the round failed.
    claimed: Option<Vec<Claim>>,
    /// Whether it wrote outcomes.
    wrote: bool,
}

pub(super) struct Engine<DB: Backend> {
    relay: Relay<DB>,
    sql: &'static Statements,
    holding: Holding,
    /// Claimed rows not started yet, with when their claim began.
    queue: VecDeque<(Instant, Claim)>,
    in_flight: FuturesUnordered<Attempt>,
    /// Outcomes not written back yet.
    outcomes: Vec<Outcome>,
    /// The running claim (which also writes the outcomes so far) and write-back.
    claiming: Option<JoinHandle<Round>>,
    writing: Option<JoinHandle<Round>>,
    /// Whether a claim may find rows (a wake, a poll, an outcome written), and whether the
    /// last one came back full (a backlog: claim again without waiting for the window).
    wanted: bool,
    backlog: bool,
    window_end: Instant,
    /// Set once shutdown was asked: when in-flight attempts are cancelled.
    stop_by: Option<Instant>,
    /// Claims made, for each claim's lease token.
    claims: u64,
    /// The ping rate cap, and when it lets the next ping start (while one waits for it).
    limiter: Option<governor::DefaultDirectRateLimiter>,
    next_start: Option<Instant>,
    /// The last publication of the outbox gauges (`Outbox::record_metrics`), if any.
    #[cfg(feature = "metrics")]
    stats: Option<(Instant, JoinHandle<()>)>,
}

impl<DB: Backend> Engine<DB> {
    pub(super) fn new(relay: Relay<DB>, sql: &'static Statements) -> Self {
        let settings = relay.settings;
        Self {
            // Under a rate cap, hold no more than can start within half a lease: the rest
            // would only be given back.
            holding: match settings.max_rate {
                Some(rate) => Holding::new(settings.concurrency, settings.batch_size).at_most(
                    usize::try_from(
                        u128::from(rate.get()) * (settings.lease / 2).as_millis() / 1000,
                    )
                    .unwrap_or(usize::MAX),
                ),
                None => Holding::new(settings.concurrency, settings.batch_size),
            },
            relay,
            sql,
            queue: VecDeque::new(),
            in_flight: FuturesUnordered::new(),
            outcomes: Vec::new(),
            claiming: None,
            writing: None,
            wanted: true,
            backlog: false,
            window_end: Instant::now(),
            stop_by: None,
            claims: 0,
            // One ping every 1/rate s, no bursts: a recovering backlog is paced from the first.
            limiter: settings.max_rate.map(|rate| {
                let quota =
                    governor::Quota::per_second(rate).allow_burst(std::num::NonZeroU32::MIN);
                governor::RateLimiter::direct(quota)
            }),
            next_start: None,
            #[cfg(feature = "metrics")]
            stats: None,
        }
    }

    /// Delivers until `shutdown`, then finishes what is in flight (up to the grace) and gives
    /// back every row still held.
    pub(super) async fn run(mut self, shutdown: impl Future<Output = ()>) {
        let listener = spawn_listener(&self.relay).await;
        let _abort_listener = listener.map(AbortOnDrop);
        let settings = self.relay.settings;
        let mut shutdown = pin!(shutdown);
        // The first claim is made at once; the first poll one interval later.
        let mut ticker = tokio::time::interval_at(
            after(Instant::now(), settings.poll_interval),
            settings.poll_interval,
        );
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let wake = self.relay.outbox.wake.clone();

        loop {
            self.start_attempts();
            let waiting_for_window = self.claim_if_due();
            self.write_back_if_due();
            if self.finished() {
                break;
            }
            tokio::select! {
                () = &mut shutdown, if self.stop_by.is_none() => {
                    self.stop_by = Some(after(Instant::now(), settings.shutdown_grace));
                }
                Some(first) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                    self.keep(first);
                    while let Some(Some(more)) = self.in_flight.next().now_or_never() {
                        self.keep(more);
                    }
                    self.wanted = true;
                }
                round = join(&mut self.claiming), if self.claiming.is_some() => self.claimed(round),
                // A written outcome may have made a row due again (one enqueued during its
                // ping, or given back).
                round = join(&mut self.writing), if self.writing.is_some() => self.wanted |= round.wrote,
                () = wake.notified(), if self.stop_by.is_none() => self.wanted = true,
                _ = ticker.tick(), if self.stop_by.is_none() => {
                    self.wanted = true;
                    self.window_end = Instant::now();
                    #[cfg(feature = "metrics")]
                    self.publish_stats();
                }
                () = tokio::time::sleep_until(self.window_end), if waiting_for_window => {}
                () = sleep_until(self.next_start), if self.next_start.is_some() => self.next_start = None,
                () = sleep_until(self.stop_by), if self.stop_by.is_some() => break,
            }
        }
        self.give_back_all().await;
    }

    /// Starts queued rows while there is room in flight; a row queued for half its lease is
    /// given back instead.
    fn start_attempts(&mut self) {
        let settings = self.relay.settings;
        let start_by = settings.lease / 2;
        while self.stop_by.is_none() && self.in_flight.len() < settings.concurrency {
            let Some((claimed_at, row)) = self.queue.pop_front() else {
                break;
            };
            if claimed_at.elapsed() < start_by {
                if let Some(wait) = self.rate_wait() {
                    self.next_start = Some(after(Instant::now(), wait));
                    self.queue.push_front((claimed_at, row));
                    break;
                }
                let lease_end = after(claimed_at, settings.lease);
                let client = self.relay.client.clone();
                self.in_flight
                    .push(Box::pin(attempt(client, settings, row, lease_end)));
            } else {
                self.keep(give_back(row));
            }
        }
    }

    /// How long the rate cap makes the next ping wait; `None`: it may start now (and counts).
    fn rate_wait(&self) -> Option<Duration> {
        use governor::clock::Clock as _;
        let limiter = self.limiter.as_ref()?;
        let refused = limiter.check().err()?;
        Some(refused.wait_time_from(governor::clock::DefaultClock::default().now()))
    }

    /// Keeps an outcome for the next write-back; with the `metrics` feature, counts it.
    fn keep(&mut self, outcome: Outcome) {
        #[cfg(feature = "metrics")]
        crate::metrics::outbox_outcome(outcome.metric_outcome());
        self.outcomes.push(outcome);
    }

    /// Publishes the outbox gauges on a task of its own, at most once a second and one
    /// publication at a time, so that a slow stats query never holds the relay up.
    #[cfg(feature = "metrics")]
    fn publish_stats(&mut self) {
        let busy = self
            .stats
            .as_ref()
            .is_some_and(|(at, task)| !task.is_finished() || at.elapsed() < Duration::from_secs(1));
        if busy {
            return;
        }
        let outbox = self.relay.outbox.clone();
        let task = tokio::spawn(async move {
            if let Err(error) = outbox.record_metrics().await {
                tracing::debug!(
                    target: "tower_livefyre::outbox",
                    %error,
                    "reading the outbox stats for the metrics failed; trying again later"
                );
            }
        });
        self.stats = Some((Instant::now(), task));
    }

    /// Claims the next rows (writing back the outcomes so far) when they may be found and
    /// there is room. Returns whether a claim waits for the coalescing window.
    fn claim_if_due(&mut self) -> bool {
        let one_writer = self.sql.dialect == Dialect::Sqlite;
        let can_claim = self.claiming.is_none() && !(one_writer && self.writing.is_some());
        let size = self
            .holding
            .claim_size(self.queue.len(), self.in_flight.len())
            .filter(|_| self.stop_by.is_none() && self.wanted);
        let Some(size) = size.filter(|_| can_claim) else {
            return false;
        };
        if !self.backlog && Instant::now() < self.window_end {
            return true;
        }
        self.window_end = after(Instant::now(), self.relay.settings.coalesce);
        self.wanted = false;
        self.claims += 1;
        let claim = ClaimRequest {
            owner: self.relay.owner.clone(),
            token: Arc::from(format!("{}.{}", self.relay.owner, self.claims)),
            lease_ms: millis(self.relay.settings.lease),
            limit: i64::try_from(size).unwrap_or(i64::MAX),
        };
        let outcomes = std::mem::take(&mut self.outcomes);
        self.claiming = Some(self.spawn_round(outcomes, Some(claim), size));
        false
    }

    /// Writes the outcomes so far on their own, when they are many, nothing else is in
    /// flight, or the relay is stopping.
    fn write_back_if_due(&mut self) {
        let one_writer = self.sql.dialect == Dialect::Sqlite;
        let can_write = self.writing.is_none() && !(one_writer && self.claiming.is_some());
        let write_at = self.relay.settings.concurrency.saturating_mul(4);
        let due = write_back_due(
            self.outcomes.len(),
            write_at,
            self.in_flight.len(),
            self.stop_by.is_some(),
        );
        if can_write && due {
            let outcomes = std::mem::take(&mut self.outcomes);
            self.writing = Some(self.spawn_round(outcomes, None, 0));
        }
    }

    /// A claim came back: queue its rows, and grow or reset what may be held.
    fn claimed(&mut self, round: Round) {
        match round.claimed {
            Some(rows) => {
                self.backlog = self.holding.claimed(round.asked, rows.len());
                let started = round.started;
                self.queue
                    .extend(rows.into_iter().map(|row| (started, row)));
            }
            None => {
                self.backlog = false;
                self.holding.failed();
            }
        }
        self.wanted |= self.backlog || round.wrote;
    }

    /// Whether the relay has stopped and has nothing left to write.
    fn finished(&self) -> bool {
        self.stop_by.is_some()
            && self.in_flight.is_empty()
            && self.claiming.is_none()
            && self.writing.is_none()
            && self.outcomes.is_empty()
    }

    /// Cancels what is still in flight; writes the last outcomes; gives back the rest.
    async fn give_back_all(mut self) {
        self.in_flight = FuturesUnordered::new();
        join_if_any(&mut self.claiming).await;
        join_if_any(&mut self.writing).await;
        if !self.outcomes.is_empty() {
            let outcomes = std::mem::take(&mut self.outcomes);
            // Logged inside the round; nothing is left to do with its result.
            let _ = self.spawn_round(outcomes, None, 0).await;
        }
        let pool = self.relay.outbox.pool();
        match DB::release_all(pool, self.sql, &self.relay.owner).await {
            Ok(released) => tracing::info!(
                target: "tower_livefyre::outbox",
                released,
                "relay stopped"
            ),
            Err(error) => tracing::error!(
                target: "tower_livefyre::outbox",
                %error,
                "relay stopped, but releasing its rows failed; they are reclaimed when the lease expires"
            ),
        }
    }

    /// Starts a database round on a task of its own: writes `outcomes` back and makes
    /// `claim`, in one transaction. Logs what went wrong.
    fn spawn_round(
        &self,
        outcomes: Vec<Outcome>,
        claim: Option<ClaimRequest>,
        asked: usize,
    ) -> JoinHandle<Round> {
        let pool = self.relay.outbox.pool().clone();
        let sql = self.sql;
        let deadline_ms = millis(self.relay.settings.confirmation.deadline);
        tokio::spawn(async move {
            let started = Instant::now();
            let wrote = !outcomes.is_empty();
            let result = DB::round(&pool, sql, &outcomes, deadline_ms, claim.as_ref()).await;
            let claimed = match result {
                Ok(RoundResult { claimed, unmatched }) => {
                    for user_id in unmatched {
                        tracing::debug!(
                            target: "tower_livefyre::outbox",
                            user_id,
                            "outcome dropped: its claim is gone (a pull confirmed the row, or its lease ran out and it was claimed again)"
                        );
                    }
                    Some(claimed)
                }
                Err(error) => {
                    if wrote {
                        tracing::error!(
                            target: "tower_livefyre::outbox",
                            %error,
                            rows = outcomes.len(),
                            "writing delivery outcomes failed; the rows are pinged again when their lease expires"
                        );
                    }
                    if asked > 0 {
                        tracing::error!(
                            target: "tower_livefyre::outbox",
                            %error,
                            "claiming due rows failed; trying again at the next poll"
                        );
                    }
                    None
                }
            };
            Round {
                started,
                asked,
                wrote: wrote && claimed.is_some(),
                claimed,
            }
        })
    }
}

/// On Postgres, a task that wakes the relay on every `NOTIFY` of an enqueue or requeue.
async fn spawn_listener<DB: Backend>(relay: &Relay<DB>) -> Option<JoinHandle<()>> {
    let mut listener = match DB::listen(relay.outbox.pool()).await {
        Ok(listener) => listener?,
        Err(error) => {
            tracing::warn!(
                target: "tower_livefyre::outbox",
                %error,
                "LISTEN failed: the relay polls only"
            );
            return None;
        }
    };
    let wake = relay.outbox.wake.clone();
    let pause = relay.settings.poll_interval;
    Some(tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(_) => wake.notify_one(),
                Err(error) => {
                    tracing::warn!(target: "tower_livefyre::outbox", %error, "LISTEN connection failed");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }))
}

/// Waits for the round in `slot` (pending forever when there is none) and empties the slot.
/// A round that panicked counts as failed: its rows are reclaimed when their lease expires.
async fn join(slot: &mut Option<JoinHandle<Round>>) -> Round {
    match slot {
        Some(handle) => {
            let round = handle.await.unwrap_or_else(|_| Round {
                started: Instant::now(),
                asked: 0,
                claimed: None,
                wrote: false,
            });
            *slot = None;
            round
        }
        None => std::future::pending().await,
    }
}

/// [`join`], or nothing when the slot is empty.
async fn join_if_any(slot: &mut Option<JoinHandle<Round>>) {
    if slot.is_some() {
        join(slot).await;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Aborts the listener task when the relay stops, on every path.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
