//! The `metrics` feature: a recorder installed for the test (a local one, on the test's own
//! thread, so tests do not see each other's metrics) finds every metric of the table in
//! `tower_livefyre::metrics`, with its labels, after a pull, a refused pull, a ping and an
//! outbox delivery confirmed by its pull.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use crate::common::scratch::Scratch;
use http::{Request, StatusCode};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use sqlx::sqlite::SqlitePoolOptions;
use tower::ServiceExt as _;
use tower_livefyre::emulator::Emulator;
use tower_livefyre::metrics::{
    LFTOKEN_ACCEPTED_TOTAL, LFTOKEN_REJECTIONS_TOTAL, OUTBOX_DELIVERY_SECONDS,
    OUTBOX_OLDEST_AGE_SECONDS, OUTBOX_OUTCOMES_TOTAL, OUTBOX_ROWS, PING_ATTEMPTS_TOTAL,
    PING_DURATION_SECONDS, PULL_ANSWERS_TOTAL, PULL_DURATION_SECONDS,
};
use tower_livefyre::outbox::Outbox;
use tower_livefyre::{Network, PingClient, Profile, UserId, pull_endpoint, url::PullUrlTemplate};

const NAME: &str = "labs.fyre.co";
const KEY: &str = "labs-network-key-for-tests";
const OLD_KEY: &str = "the-key-before-the-rotation";

fn network() -> Network {
    Network::new(NAME, KEY)
        .unwrap()
        .with_previous_key(OLD_KEY)
        .unwrap()
}

fn uid(id: &str) -> UserId {
    id.parse().unwrap()
}

fn users() -> HashMap<String, Profile> {
    ["ann.lee", "bob"]
        .into_iter()
        .map(|id| (id.to_owned(), Profile::new(uid(id), format!("User {id}"))))
        .collect()
}

/// Runs `test` on a current-thread runtime with a recorder of its own: every task it spawns
/// runs on this thread, so every metric lands in this recorder.
fn with_recorder<F: Future<Output = ()>>(test: impl FnOnce() -> F) -> Snapshotter {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || runtime.block_on(test()));
    snapshotter
}

/// The metrics of a snapshot: name and sorted `label=value` pairs to the value.
struct Seen(HashMap<(String, Vec<String>), DebugValue>);

impl Seen {
    fn new(snapshotter: &Snapshotter) -> Self {
        Self(
            snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, _, _, value)| {
                    let key = key.key();
                    let mut labels: Vec<String> = key
                        .labels()
                        .map(|label| format!("{}={}", label.key(), label.value()))
                        .collect();
                    labels.sort();
                    ((key.name().to_owned(), labels), value)
                })
                .collect(),
        )
    }

    fn get(&self, name: &str, labels: &[&str]) -> &DebugValue {
        let key = (
            name.to_owned(),
            labels.iter().map(|l| (*l).to_owned()).collect(),
        );
        self.0.get(&key).unwrap_or_else(|| {
            let mut names: Vec<_> = self.0.keys().collect();
            names.sort();
            panic!("no {name} {labels:?} among {names:#?}")
        })
    }

    fn counter(&self, name: &str, labels: &[&str]) -> u64 {
        match self.get(name, labels) {
            DebugValue::Counter(n) => *n,
            other => panic!("{name} {labels:?} is not a counter: {other:?}"),
        }
    }

    fn gauge(&self, name: &str, labels: &[&str]) -> f64 {
        match self.get(name, labels) {
            DebugValue::Gauge(value) => value.into_inner(),
            other => panic!("{name} {labels:?} is not a gauge: {other:?}"),
        }
    }

    fn histogram(&self, name: &str) -> Vec<f64> {
        match self.get(name, &[]) {
            DebugValue::Histogram(values) => values.iter().map(|v| v.into_inner()).collect(),
            other => panic!("{name} is not a histogram: {other:?}"),
        }
    }

    /// No label value is a user id, a URL or a token.
    fn assert_bounded_labels(&self) {
        for (name, labels) in self.0.keys() {
            assert!(name.starts_with("livefyre_"), "{name}");
            for label in labels {
                let value = label.split_once('=').unwrap().1;
                assert!(
                    value
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{name} {label}"
                );
                assert!(
                    !["ann", "bob", "http", "ey"]
                        .iter()
                        .any(|s| value.starts_with(s))
                );
            }
        }
    }
}

async fn pull<S, B>(endpoint: &S, uri: String) -> StatusCode
where
    S: tower::Service<Request<()>, Response = http::Response<B>> + Clone,
    S::Error: std::fmt::Debug,
{
    endpoint
        .clone()
        .oneshot(Request::get(uri).body(()).unwrap())
        .await
        .unwrap()
        .status()
}

#[test]
fn pulls_refusals_and_token_keys_are_counted() {
    let snapshotter = with_recorder(|| async {
        let endpoint = pull_endpoint(network(), users());
        let current = network().build_livefyre_token().unwrap();
        let previous = Network::new(NAME, OLD_KEY)
            .unwrap()
            .build_livefyre_token()
            .unwrap();
        let forged = Network::new(NAME, "not-the-key")
            .unwrap()
            .build_livefyre_token()
            .unwrap();
        let cases = [
            (
                format!("/pull?id=ann.lee&lftoken={current}"),
                StatusCode::OK,
            ),
            (format!("/pull?id=bob&lftoken={previous}"), StatusCode::OK),
            (
                format!("/pull?id=carol&lftoken={current}"),
                StatusCode::NOT_FOUND,
            ),
            (format!("/pull?lftoken={current}"), StatusCode::BAD_REQUEST),
            (
                format!("/pull?id=ann.lee&lftoken={forged}"),
                StatusCode::FORBIDDEN,
            ),
            ("/pull?id=ann.lee".to_owned(), StatusCode::FORBIDDEN),
            (
                "/pull?id=ann.lee&lftoken=a.b".to_owned(),
                StatusCode::FORBIDDEN,
            ),
        ];
        for (uri, status) in cases {
            assert_eq!(pull(&endpoint, uri.clone()).await, status, "{uri}");
        }
    });
    let seen = Seen::new(&snapshotter);
    seen.assert_bounded_labels();
    assert_eq!(seen.counter(PULL_ANSWERS_TOTAL, &["outcome=ok"]), 2);
    assert_eq!(seen.counter(PULL_ANSWERS_TOTAL, &["outcome=not_found"]), 1);
    assert_eq!(
        seen.counter(PULL_ANSWERS_TOTAL, &["outcome=bad_request"]),
        1
    );
    assert_eq!(seen.histogram(PULL_DURATION_SECONDS).len(), 4);
    assert_eq!(seen.counter(LFTOKEN_ACCEPTED_TOTAL, &["key=current"]), 3);
    assert_eq!(seen.counter(LFTOKEN_ACCEPTED_TOTAL, &["key=previous"]), 1);
    assert_eq!(
        seen.counter(LFTOKEN_REJECTIONS_TOTAL, &["reason=bad_signature"]),
        1
    );
    assert_eq!(
        seen.counter(LFTOKEN_REJECTIONS_TOTAL, &["reason=missing"]),
        1
    );
    assert_eq!(
        seen.counter(LFTOKEN_REJECTIONS_TOTAL, &["reason=malformed"]),
        1
    );
}

#[test]
fn a_ping_and_an_outbox_delivery_confirmed_by_its_pull_are_counted() {
    let dir = Scratch::new("metrics");
    let db = dir.sqlite_url("app.db");
    let snapshotter = with_recorder(|| async {
        let emulator = Emulator::start(network()).await.unwrap();
        let pool = SqlitePoolOptions::new().connect(&db).await.unwrap();
        let outbox = Outbox::new(pool);
        outbox.migrate().await.unwrap();

        // The app's pull endpoint, confirming the pulls it serves.
        let app = axum::Router::new().route_service(
            "/livefyre/pull",
            pull_endpoint(network(), outbox.confirm_pulls(users())),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let client = PingClient::new(network())
            .unwrap()
            .base_url(emulator.url())
            .unwrap();
        let template: PullUrlTemplate = format!("http://{addr}/livefyre/pull?id={{id}}")
            .parse()
            .unwrap();
        client.set_user_sync_url(&template).await.unwrap();

        // A ping of its own, then one through the outbox, with pull confirmation.
        client.sync_user(&uid("ann.lee")).await.unwrap();
        let mut tx = outbox.pool().begin().await.unwrap();
        outbox.enqueue(&mut tx, &uid("bob")).await.unwrap();
        tx.commit().await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let relay = tokio::spawn(
            outbox
                .relay(client.clone())
                .confirm_pulls(true)
                .poll_interval(Duration::from_millis(50))
                .run(async move {
                    let _ = stopped.await;
                }),
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !outbox.stats().await.unwrap().is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "not drained");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The relay's poll ticks publish the gauges; once more now that the row is gone.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = stop.send(());
        relay.await.unwrap().unwrap();
        outbox.record_metrics().await.unwrap();
        server.abort();
        emulator.shutdown().await;
    });
    let seen = Seen::new(&snapshotter);
    seen.assert_bounded_labels();
    // Registration, the direct ping and the outbox's.
    assert_eq!(seen.counter(PING_ATTEMPTS_TOTAL, &["outcome=ok"]), 3);
    assert_eq!(seen.histogram(PING_DURATION_SECONDS).len(), 3);
    assert!(seen.counter(PULL_ANSWERS_TOTAL, &["outcome=ok"]) >= 2);
    assert!(seen.counter(LFTOKEN_ACCEPTED_TOTAL, &["key=current"]) >= 2);
    assert_eq!(
        seen.counter(OUTBOX_OUTCOMES_TOTAL, &["outcome=awaiting_pull"]),
        1
    );
    assert_eq!(
        seen.counter(OUTBOX_OUTCOMES_TOTAL, &["outcome=confirmed"]),
        1
    );
    let delivery = seen.histogram(OUTBOX_DELIVERY_SECONDS);
    assert_eq!(delivery.len(), 1);
    assert!((0.0..30.0).contains(&delivery[0]), "{delivery:?}");
    for state in ["pending", "in_flight", "awaiting_pull", "parked"] {
        assert_eq!(seen.gauge(OUTBOX_ROWS, &[&format!("state={state}")]), 0.0);
    }
    for state in ["pending", "awaiting_pull"] {
        let label = format!("state={state}");
        assert_eq!(seen.gauge(OUTBOX_OLDEST_AGE_SECONDS, &[&label]), 0.0);
    }
}

#[test]
fn outbox_gauges_show_rows_by_state_and_the_oldest_age() {
    let snapshotter = with_recorder(|| async {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let outbox = Outbox::new(pool);
        outbox.migrate().await.unwrap();
        let mut tx = outbox.pool().begin().await.unwrap();
        outbox.enqueue(&mut tx, &uid("ann.lee")).await.unwrap();
        outbox.enqueue(&mut tx, &uid("bob")).await.unwrap();
        tx.commit().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let stats = outbox.record_metrics().await.unwrap();
        assert_eq!(stats.pending, 2);
    });
    let seen = Seen::new(&snapshotter);
    assert_eq!(seen.gauge(OUTBOX_ROWS, &["state=pending"]), 2.0);
    assert_eq!(seen.gauge(OUTBOX_ROWS, &["state=parked"]), 0.0);
    let age = seen.gauge(OUTBOX_OLDEST_AGE_SECONDS, &["state=pending"]);
    assert!(age > 0.0 && age < 60.0, "{age}");
}

#[test]
fn describe_gives_units_to_the_installed_recorder() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        tower_livefyre::metrics::describe();
        metrics::counter!(PULL_ANSWERS_TOTAL, "outcome" => "ok").increment(1);
    });
    let (_, unit, description, _) = snapshotter.snapshot().into_vec().remove(0);
    assert_eq!(unit, Some(metrics::Unit::Count));
    assert!(description.is_some());
}
