//! The outbox's costs, side by side in one run:
//!
//! - `enqueue/*`: a transaction that inserts one row into an app table, with and without
//!   `Outbox::enqueue` in it (SQLite file; Postgres when there is one, see
//!   `tests/outbox/pg.rs`).
//! - `drain/*`: 10,000 pings to a loopback sink answering 200, through the relay (claim,
//!   ping, delete) against `PingClient::sync_users` alone, both with 16 in flight. Each
//!   iteration is one whole drain; pings/s = 10,000 / time. The relay runs for the whole
//!   benchmark, as in an app; an iteration runs from the commit of 10,000 enqueues until
//!   every ping is answered and every row deleted.
//!
//! Run with `cargo bench --bench outbox`.

#[path = "../tests/outbox/pg.rs"]
mod pg;
#[path = "../tests/outbox/sink.rs"]
mod sink;

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use tokio::runtime::Runtime;
use tower_livefyre::outbox::{Backend, Outbox};
use tower_livefyre::{Network, PingClient, UserId};

const DRAIN: usize = 10_000;
const CONCURRENCY: usize = 16;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn network() -> Network {
    Network::new("labs.fyre.co", "labs-network-key-for-benchmarks").unwrap()
}

async fn sqlite_outbox(dir: &std::path::Path) -> Outbox<Sqlite> {
    // WAL, as the outbox docs recommend; `synchronous` stays FULL: every commit is durable.
    let options = SqliteConnectOptions::new()
        .filename(dir.join("bench.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    let pool = SqlitePoolOptions::new()
        .connect_with(options)
        .await
        .unwrap();
    let outbox = Outbox::new(pool);
    outbox.migrate().await.unwrap();
    outbox
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tower-livefyre-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One app write, with or without its ping, committed.
async fn app_write<DB: Backend>(outbox: &Outbox<DB>, n: u64, with_ping: bool)
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    let mut tx = outbox.pool().begin().await.unwrap();
    sqlx::query("INSERT INTO app_events (n) VALUES ($1)")
        .bind(n as i64)
        .execute(&mut *tx)
        .await
        .unwrap();
    if with_ping {
        outbox
            .enqueue(&mut tx, &UserId::new(format!("user{}", n % 1000)).unwrap())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

fn enqueue(c: &mut Criterion) {
    let rt = runtime();
    let dir = temp_dir();
    let sqlite = rt.block_on(sqlite_outbox(&dir));
    let postgres = rt.block_on(async {
        let outbox = Outbox::new(pg::pool().await?);
        outbox.migrate().await.unwrap();
        Some(outbox)
    });
    let mut group = c.benchmark_group("enqueue");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    fn both<DB: Backend>(
        group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        rt: &Runtime,
        name: &str,
        outbox: &Outbox<DB>,
    ) where
        for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
        for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        DB::Arguments: sqlx::IntoArguments<DB>,
    {
        rt.block_on(async {
            sqlx::query("CREATE TABLE IF NOT EXISTS app_events (n BIGINT NOT NULL)")
                .execute(outbox.pool())
                .await
                .unwrap();
        });
        for with_ping in [false, true] {
            let label = if with_ping {
                "tx_with_enqueue"
            } else {
                "tx_alone"
            };
            let mut n = 0;
            group.bench_function(BenchmarkId::new(name, label), |b| {
                b.iter(|| {
                    n += 1;
                    rt.block_on(app_write(outbox, n, with_ping));
                });
            });
        }
    }
    both(&mut group, &rt, "sqlite", &sqlite);
    if let Some(postgres) = &postgres {
        both(&mut group, &rt, "postgres", postgres);
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A relay running for the whole benchmark, as in an app, and the handle the app enqueues
/// through: another handle, so that its enqueues wake no relay before the commit.
struct Running<DB: Backend> {
    app: Outbox<DB>,
    relay_side: Outbox<DB>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl<DB: Backend> Running<DB> {
    fn start(outbox: Outbox<DB>, sink: &sink::Sink) -> Self {
        let client = PingClient::new(network())
            .unwrap()
            .base_url(&sink.url)
            .unwrap();
        let relay_side = Outbox::new(outbox.pool().clone());
        let relay = relay_side
            .relay(client)
            .concurrency(CONCURRENCY)
            .poll_interval(Duration::from_secs(3600));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            relay
                .run(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Running {
            app: outbox,
            relay_side,
            stop: Some(stop),
            task,
        }
    }

    /// Queues `DRAIN` users in one transaction, then times from its commit until every ping
    /// is answered and every row deleted.
    async fn drain(&self, sink: &sink::Sink) -> Duration {
        let mut tx = self.app.pool().begin().await.unwrap();
        for i in 0..DRAIN {
            let id = UserId::new(format!("user{i}")).unwrap();
            self.app.enqueue(&mut tx, &id).await.unwrap();
        }
        let before = sink.read(|r| r.answered.len());
        let started = Instant::now();
        tx.commit().await.unwrap();
        self.relay_side.wake();
        sink.wait_answered(before + DRAIN).await;
        // The last outcomes are written a moment after the last answer.
        while self.app.stats().await.unwrap().pending > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        started.elapsed()
    }

    async fn stop(mut self) {
        let _ = self.stop.take().map(|stop| stop.send(()));
        self.task.await.unwrap();
    }
}

fn drain(c: &mut Criterion) {
    let rt = runtime();
    let dir = temp_dir();
    let sink = rt.block_on(sink::Sink::start());
    let sqlite = rt.block_on(sqlite_outbox(&dir));
    let postgres = rt.block_on(async {
        let outbox = Outbox::new(pg::pool().await?);
        outbox.migrate().await.unwrap();
        Some(outbox)
    });
    let client = PingClient::new(network())
        .unwrap()
        .base_url(&sink.url)
        .unwrap();
    let ids: Vec<UserId> = (0..DRAIN)
        .map(|i| UserId::new(format!("user{i}")).unwrap())
        .collect();

    let mut group = c.benchmark_group("drain");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(DRAIN as u64));
    group.bench_function("sync_users_alone", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    let results = client.sync_users(ids.iter().cloned(), CONCURRENCY).await;
                    assert!(results.iter().all(|(_, r)| r.is_ok()));
                }
                started.elapsed()
            })
        });
    });
    fn relay<DB: Backend>(
        group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        rt: &Runtime,
        sink: &sink::Sink,
        name: &str,
        outbox: Outbox<DB>,
    ) {
        let running = rt.block_on(async { Running::start(outbox, sink) });
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += running.drain(sink).await;
                    }
                    total
                })
            });
        });
        rt.block_on(running.stop());
    }
    relay(&mut group, &rt, &sink, "relay_sqlite", sqlite);
    if let Some(postgres) = postgres {
        relay(&mut group, &rt, &sink, "relay_postgres", postgres);
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, enqueue, drain);
criterion_main!(benches);
