//! Pull confirmation: a row is done when the app's own pull endpoint served the change
//! after its ping, not when Livefyre answered the ping. The tests play Livefyre's pull
//! through the public pull endpoint (`pull_endpoint` over `Outbox::confirm_pulls`), or let the
//! emulator pull over HTTP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, StatusCode};
use tokio::sync::Notify;
use tower::ServiceExt as _;
use tower_livefyre::emulator::{Emulator, FaultLimit, FaultPlan, PingFault};
use tower_livefyre::outbox::{Backend, ConfirmPulls, Outbox, ParkKind, Relay};
use tower_livefyre::{
    BoxError, Profile, ProfileSource, PullService, UserId, lftoken::Lftoken, pull_endpoint,
    url::PullUrlTemplate,
};

use super::sink::{Answer, Sink};
use super::{client, drained, enqueue, id, ms, network, start, until};

/// What the scripted source answers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Lookup {
    Found,
    Missing,
    Fails,
}

/// A source whose answer the test sets, and which can be held inside a lookup.
#[derive(Clone)]
struct Users {
    lookup: Arc<Mutex<Lookup>>,
    hold: Arc<Mutex<Option<Arc<Notify>>>>,
    entered: Arc<Notify>,
}

impl Users {
    fn new() -> Self {
        Self {
            lookup: Arc::new(Mutex::new(Lookup::Found)),
            hold: Arc::new(Mutex::new(None)),
            entered: Arc::new(Notify::new()),
        }
    }

    fn set(&self, lookup: Lookup) {
        *self.lookup.lock().unwrap() = lookup;
    }

    /// Pulls answered by an endpoint on `outbox`, confirming.
    fn endpoint<DB: Backend>(&self, outbox: &Outbox<DB>) -> Endpoint<DB> {
        pull_endpoint(network(), outbox.confirm_pulls(self.clone()))
    }
}

type Endpoint<DB> = Lftoken<PullService<ConfirmPulls<Users, DB>>>;

impl ProfileSource for Users {
    type Error = BoxError;

    async fn profile(&self, id: &UserId) -> Result<Option<Profile>, BoxError> {
        self.entered.notify_one();
        let hold = self.hold.lock().unwrap().clone();
        if let Some(hold) = hold {
            hold.notified().await;
        }
        let lookup = *self.lookup.lock().unwrap();
        match lookup {
            Lookup::Found => Ok(Some(Profile::new(id.clone(), format!("User {id}")))),
            Lookup::Missing => Ok(None),
            Lookup::Fails => Err("the users table is busy".into()),
        }
    }
}

/// One pull of `user`, as Livefyre makes it (`valid`: with a valid system token).
async fn pull<DB: Backend>(endpoint: &Endpoint<DB>, user: &str, valid: bool) -> StatusCode {
    let token = if valid {
        network().build_livefyre_token().unwrap()
    } else {
        "not.a.token".to_owned()
    };
    let request = Request::get(format!("/pull?id={user}&lftoken={token}"))
        .body(())
        .unwrap();
    endpoint.clone().oneshot(request).await.unwrap().status()
}

/// Lets a spawned confirmation, if one was wrongly started, reach the database.
async fn settle() {
    tokio::time::sleep(ms(150)).await;
}

/// A relay pinging `sink` with pull confirmation on, polling every 50 ms.
fn confirming<DB: Backend>(outbox: &Outbox<DB>, sink: &Sink) -> Relay<DB> {
    outbox
        .relay(client(&sink.url))
        .confirm_pulls(true)
        .poll_interval(ms(50))
}

async fn awaiting<DB: Backend>(outbox: &Outbox<DB>, rows: u64) {
    until("rows awaiting their pull", || async {
        outbox.stats().await.unwrap().awaiting_pull == rows
    })
    .await;
}

pub(super) async fn a_pinged_row_stays_until_its_pull_and_refused_pulls_confirm_nothing<
    DB: Backend,
>(
    outbox: Outbox<DB>,
) {
    let sink = Sink::start().await;
    let users = Users::new();
    let endpoint = users.endpoint(&outbox);
    // A pull before the ping (nothing claimed yet) confirms nothing.
    enqueue(&outbox, "ann.lee").await;
    assert_eq!(pull(&endpoint, "ann.lee", true).await, StatusCode::OK);
    settle().await;
    assert_eq!(outbox.stats().await.unwrap().pending, 1);

    let relay = start(confirming(&outbox, &sink));
    awaiting(&outbox, 1).await;
    let stats = outbox.stats().await.unwrap();
    assert_eq!((stats.pending, stats.in_flight, stats.parked), (0, 0, 0));
    assert!(stats.oldest_awaiting_pull_age.is_some());
    // `awaiting` lists the row the count counts.
    let rows = outbox.awaiting(10).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].user_id.as_str(), rows[0].unpulled_pings),
        ("ann.lee", 1)
    );
    assert!(rows[0].age <= stats.oldest_awaiting_pull_age.unwrap() + ms(1000));

    // Another user's pull, a refused token (403), an unknown user (404), a failing source
    // (500): the row stays.
    assert_eq!(pull(&endpoint, "bob", true).await, StatusCode::OK);
    assert_eq!(
        pull(&endpoint, "ann.lee", false).await,
        StatusCode::FORBIDDEN
    );
    users.set(Lookup::Missing);
    assert_eq!(
        pull(&endpoint, "ann.lee", true).await,
        StatusCode::NOT_FOUND
    );
    users.set(Lookup::Fails);
    assert_eq!(
        pull(&endpoint, "ann.lee", true).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    settle().await;
    assert_eq!(outbox.stats().await.unwrap().awaiting_pull, 1);

    // The pull that serves the change deletes the row.
    users.set(Lookup::Found);
    assert_eq!(pull(&endpoint, "ann.lee", true).await, StatusCode::OK);
    drained(&outbox).await;
    relay.stop().await;
    assert_eq!(sink.read(|r| r.count("ann.lee")), 1);
}

pub(super) async fn an_enqueue_between_ping_and_pull_keeps_the_row_and_repings<DB: Backend>(
    outbox: Outbox<DB>,
) {
    let sink = Sink::start().await;
    let users = Users::new();
    let endpoint = users.endpoint(&outbox);
    let relay = start(confirming(&outbox, &sink));
    enqueue(&outbox, "ann.lee").await;
    awaiting(&outbox, 1).await;

    // A change while the row awaits its pull: due again at once, and pinged again.
    enqueue(&outbox, "ann.lee").await;
    sink.wait("the second ping", |r| r.answered_ok("ann.lee") == 2)
        .await;
    awaiting(&outbox, 1).await;

    // A pull that read the outbox before a change and served the profile after it: the
    // change it may not have served keeps the row.
    let hold = Arc::new(Notify::new());
    *users.hold.lock().unwrap() = Some(hold.clone());
    let held = tokio::spawn({
        let endpoint = endpoint.clone();
        async move { pull(&endpoint, "ann.lee", true).await }
    });
    users.entered.notified().await;
    enqueue(&outbox, "ann.lee").await;
    hold.notify_one();
    assert_eq!(held.await.unwrap(), StatusCode::OK);
    *users.hold.lock().unwrap() = None;
    sink.wait("the third ping", |r| r.answered_ok("ann.lee") == 3)
        .await;
    awaiting(&outbox, 1).await;

    assert_eq!(pull(&endpoint, "ann.lee", true).await, StatusCode::OK);
    drained(&outbox).await;
    relay.stop().await;
    assert_eq!(sink.read(|r| (r.count("ann.lee"), r.overlaps)), (3, 0));
}

pub(super) async fn unpulled_pings_are_repeated_then_parked_and_a_new_change_revives_the_row<
    DB: Backend,
>(
    outbox: Outbox<DB>,
) {
    let sink = Sink::start().await;
    let users = Users::new();
    let endpoint = users.endpoint(&outbox);
    let relay = start(
        confirming(&outbox, &sink)
            .pull_deadline(Duration::from_secs(1))
            .max_unpulled_pings(2),
    );
    enqueue(&outbox, "ann.lee").await;
    until("the never-pulled row parked", || async {
        outbox.stats().await.unwrap().parked == 1
    })
    .await;
    assert_eq!(sink.read(|r| r.answered_ok("ann.lee")), 2);
    let parked = outbox.parked(10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].kind, ParkKind::NeverPulled);
    assert!(
        parked[0]
            .reason
            .contains("accepted 2 pings but never pulled")
            && parked[0].reason.contains("livefyre check"),
        "{}",
        parked[0].reason
    );

    // A new change makes it due again; this time Livefyre's pull arrives.
    enqueue(&outbox, "ann.lee").await;
    sink.wait("the ping after the change", |r| {
        r.answered_ok("ann.lee") == 3
    })
    .await;
    awaiting(&outbox, 1).await;
    assert_eq!(pull(&endpoint, "ann.lee", true).await, StatusCode::OK);
    drained(&outbox).await;
    relay.stop().await;
}

pub(super) async fn no_pull_at_the_emulator_is_repinged_and_delivered<DB: Backend>(
    outbox: Outbox<DB>,
) {
    // Livefyre accepts the first ping and never pulls; the re-ping after the deadline is
    // pulled, over HTTP, from a confirming endpoint.
    let plan = FaultPlan::new().then(PingFault::NoPull, FaultLimit::Pings(1));
    let emulator = Emulator::start(network()).await.unwrap();
    emulator.set_faults(plan);
    let users = Users::new();
    let app = axum::Router::new().route_service("/pull", users.endpoint(&outbox));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let template = PullUrlTemplate::parse(format!("http://{addr}/pull?id={{id}}")).unwrap();
    emulator.set_pull_url_template(template);

    let relay = start(
        outbox
            .relay(client(&emulator.url()))
            .confirm_pulls(true)
            .pull_deadline(Duration::from_secs(1))
            .poll_interval(ms(50)),
    );
    enqueue(&outbox, "ann.lee").await;
    drained(&outbox).await;
    relay.stop().await;
    assert_eq!(emulator.ping_counts()[&id("ann.lee")], 2);
    assert_eq!(emulator.pull_log().len(), 1);
    assert!(emulator.remote_profile(&id("ann.lee")).is_some());
    server.abort();
}

pub(super) async fn a_ping_slower_than_the_lease_neither_overlaps_nor_deletes_a_newer_row<
    DB: Backend,
>(
    outbox: Outbox<DB>,
) {
    // The first ping takes 2.5 s under a 1 s lease. It must not overlap a second ping for the
    // same user, and its late success must not delete the row of a change made after, whose
    // pings all hang.
    let sink = Sink::start().await;
    let never = Arc::new(Notify::new());
    let hanging = std::iter::repeat_with(|| Answer::Hold(never.clone())).take(50);
    sink.script(
        "ann.lee",
        [Answer::Delay(ms(2500)), Answer::Status(200)]
            .into_iter()
            .chain(hanging),
    );
    let relay = outbox
        .relay(client(&sink.url).request_timeout(Duration::from_secs(60)))
        .lease(Duration::from_secs(1))
        .backoff(ms(100), ms(100))
        .poll_interval(ms(50))
        .shutdown_grace(ms(50));
    let relay = start(relay);
    enqueue(&outbox, "ann.lee").await;
    sink.wait("a ping answered 200", |r| r.answered_ok("ann.lee") == 1)
        .await;
    // A newer change, whose ping hangs: its row must stay until that ping is answered.
    until("the first change delivered", || async {
        outbox.stats().await.unwrap().is_empty()
    })
    .await;
    enqueue(&outbox, "ann.lee").await;
    sink.wait("the newer change's ping", |r| r.count("ann.lee") == 3)
        .await;
    // Past the moment the first ping would have been answered.
    tokio::time::sleep(ms(3000)).await;
    let stats = outbox.stats().await.unwrap();
    assert_eq!(
        stats.undelivered(),
        1,
        "the newer change was lost: {stats:?}"
    );
    relay.stop().await;
    assert_eq!(sink.read(|r| r.overlaps), 0);
}

/// Three changes to one user, each delivered (its row deleted) before the next: the
/// generations `generation` reads from the table only ever grow.
pub(super) async fn generations_never_repeat_across_a_delete<DB, F, Fut>(
    outbox: Outbox<DB>,
    generation: F,
) where
    DB: Backend,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = i64>,
{
    let sink = Sink::start().await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        enqueue(&outbox, "ann.lee").await;
        seen.push(generation().await);
        let relay = start(outbox.relay(client(&sink.url)));
        drained(&outbox).await;
        relay.stop().await;
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
}

const GENERATION: &str = "SELECT generation FROM livefyre_outbox WHERE user_id = 'ann.lee'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generations_never_repeat_across_a_delete_on_sqlite() {
    let file = super::SqliteFile::new();
    let outbox = file.outbox().await;
    let pool = outbox.pool().clone();
    generations_never_repeat_across_a_delete(outbox, || async {
        sqlx::query_scalar(GENERATION)
            .fetch_one(&pool)
            .await
            .unwrap()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generations_never_repeat_across_a_delete_on_postgres() {
    let Some(pool) = super::pg::pool().await else {
        return;
    };
    let outbox = Outbox::new(pool.clone());
    outbox.migrate().await.unwrap();
    generations_never_repeat_across_a_delete(outbox, || async {
        sqlx::query_scalar(GENERATION)
            .fetch_one(&pool)
            .await
            .unwrap()
    })
    .await;
}

pub(super) async fn zero_and_max_settings_neither_panic_nor_spin<DB: Backend>(outbox: Outbox<DB>) {
    let sink = Sink::start().await;
    let zero = Duration::ZERO;
    let relay = outbox
        .relay(client(&sink.url))
        .concurrency(0)
        .batch_size(0)
        .lease(zero)
        .poll_interval(zero)
        .coalesce_window(zero)
        .shutdown_grace(zero)
        .backoff(zero, zero)
        .confirm_pulls(false)
        .pull_deadline(zero);
    let relay = start(relay);
    for user in ["u0", "u1", "u2"] {
        enqueue(&outbox, user).await;
    }
    drained(&outbox).await;
    relay.stop().await;

    // Enqueued first: the relay's first claim, at once, finds it (with a coalescing window of
    // ten years there is no second claim).
    enqueue(&outbox, "u3").await;
    let max = Duration::MAX;
    let relay = outbox
        .relay(client(&sink.url))
        .concurrency(usize::MAX)
        .batch_size(usize::MAX)
        .lease(max)
        .poll_interval(max)
        .coalesce_window(max)
        .shutdown_grace(max)
        .backoff(max, max)
        .confirm_pulls(true)
        .pull_deadline(max)
        .max_unpulled_pings(u32::MAX);
    let relay = start(relay);
    until("the ping", || async {
        outbox.stats().await.unwrap().awaiting_pull == 1
    })
    .await;
    relay.stop().await;
    sink.read(|r| {
        let counts: Vec<_> = ["u0", "u1", "u2", "u3"]
            .iter()
            .map(|u| r.count(u))
            .collect();
        assert_eq!((counts, r.overlaps), (vec![1; 4], 0), "{:?}", r.arrived);
    });
}

pub(super) async fn a_rate_cap_paces_a_drain<DB: Backend>(outbox: Outbox<DB>) {
    // 60 rows at 40 pings/s: the first at once, then one every 25 ms, so the last starts
    // after 59 × 25 ms = 1.475 s.
    let sink = Sink::start().await;
    let mut tx = outbox.pool().begin().await.unwrap();
    for n in 0..60 {
        outbox
            .enqueue(&mut tx, &id(&format!("u{n}")))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let started = tokio::time::Instant::now();
    let relay = start(outbox.relay(client(&sink.url)).max_pings_per_second(40));
    sink.wait("every ping", |r| r.arrived.len() == 60).await;
    let took = started.elapsed();
    drained(&outbox).await;
    relay.stop().await;
    let expected = Duration::from_millis(1475);
    assert!(
        took >= expected && took <= expected.mul_f64(1.1),
        "60 pings at 40/s took {took:?}; expected {expected:?} to 110 % of it"
    );
}
