//! Its own binary: it sets the process-wide tracing subscriber (`set_global_default`).
//!
//! The relay logs one event per delivery outcome (delivered, retried, parked), at TRACE
//! never with a token or the key. One global subscriber, alone in this binary.

mod common;

use std::time::Duration;

use common::captured::Captured;
use common::scratch::Scratch;

use common::sink::{Answer, Sink};
use sqlx::sqlite::SqlitePoolOptions;
use tower_livefyre::outbox::Outbox;
use tower_livefyre::{Network, PingClient};

const KEY: &str = "outbox-logs-network-key";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_per_outcome_and_never_a_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();

    let sink = Sink::start().await;
    sink.script("bob", [Answer::Status(503)]);
    sink.script("carla", [Answer::Status(403)]);
    // A file, as apps use: a shared-cache in-memory database answers "table is locked" to a
    // read during the relay's write instead of waiting.
    let dir = Scratch::new("logs");
    let url = dir.sqlite_url("app.db");
    let outbox = Outbox::new(SqlitePoolOptions::new().connect(&url).await.unwrap());
    outbox.migrate().await.unwrap();
    let mut tx = outbox.pool().begin().await.unwrap();
    for id in ["ann", "bob", "carla"] {
        outbox.enqueue(&mut tx, &id.parse().unwrap()).await.unwrap();
    }
    tx.commit().await.unwrap();

    let network = Network::new("labs.fyre.co", KEY).unwrap();
    let client = PingClient::new(network.clone())
        .unwrap()
        .base_url(&sink.url)
        .unwrap();
    let relay = outbox
        .relay(client)
        .backoff(Duration::from_millis(5), Duration::from_millis(20));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(relay.run(async {
        let _ = stopped.await;
    }));
    sink.wait("ann and bob delivered, carla refused", |r| {
        r.answered_ok("ann") == 1 && r.answered_ok("bob") == 1 && r.count("carla") == 1
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while outbox.stats().await.unwrap().undelivered() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "not settled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(());
    relay.await.unwrap().unwrap();

    let logs = captured.text();
    let count = |needle: &str| logs.lines().filter(|l| l.contains(needle)).count();
    let outcomes: Vec<&str> = logs.lines().filter(|l| l.contains("outbox:")).collect();
    assert_eq!(count("ping delivered"), 2, "{outcomes:#?}");
    assert_eq!(count("ping failed; retrying later"), 1, "{outcomes:#?}");
    let parked: Vec<_> = outcomes
        .iter()
        .filter(|l| l.contains("row parked"))
        .collect();
    assert_eq!(parked.len(), 1, "{outcomes:#?}");
    assert!(parked[0].contains("user_id=\"carla\"") && parked[0].contains("403 Forbidden"));
    // A token's header always starts so; the key never appears in any form.
    let token = network.build_livefyre_token().unwrap();
    assert!(token.starts_with("eyJ"));
    assert!(!logs.contains("eyJ"), "a token in the logs:\n{logs}");
    assert!(!logs.contains(KEY), "the key in the logs");
}
