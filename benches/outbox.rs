//! The outbox's costs, side by side in one run:
//!
//! - `enqueue/*`: a transaction that inserts one row into an app table, with and without
//!   `Outbox::enqueue` in it (SQLite file; Postgres when there is one, see
//!   `tests/outbox/pg.rs`).
//! - `drain/*`: 2,000 pings to a loopback sink answering 200, through the relay (claim,
//!   ping, delete) against `PingClient::sync_users` alone, both with 16 in flight. Each
//!   iteration is one whole drain; pings/s = 2,000 / time.
//!
//! Run with `cargo bench --bench outbox`.

#[path = "../tests/outbox/pg.rs"]
mod pg;
#[path = "../tests/outbox/sink.rs"]
mod sink;

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sqlx::{Sqlite, sqlite::SqlitePoolOptions};
use tokio::runtime::Runtime;
use tower_livefyre::outbox::{Backend, Outbox};
use tower_livefyre::{Network, PingClient, UserId};

const DRAIN: usize = 2_000;
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
    let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let pool = SqlitePoolOptions::new().connect(&url).await.unwrap();
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

/// Fills the outbox with `DRAIN` users, then times the relay until the outbox is empty.
async fn relay_drain<DB: Backend>(outbox: &Outbox<DB>, sink: &sink::Sink) -> Duration {
    let mut tx = outbox.pool().begin().await.unwrap();
    for i in 0..DRAIN {
        let id = UserId::new(format!("user{i}")).unwrap();
        outbox.enqueue(&mut tx, &id).await.unwrap();
    }
    tx.commit().await.unwrap();
    let client = PingClient::new(network())
        .unwrap()
        .base_url(&sink.url)
        .unwrap();
    let before = sink.read(|r| r.answered.len());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let relay = tokio::spawn(outbox.relay(client).concurrency(CONCURRENCY).run(async {
        let _ = stopped.await;
    }));
    sink.wait("the drain", |r| r.answered.len() >= before + DRAIN)
        .await;
    while outbox.stats().await.unwrap().pending > 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    relay.await.unwrap().unwrap();
    elapsed
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
    group.bench_function("relay_sqlite", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += relay_drain(&sqlite, &sink).await;
                }
                total
            })
        });
    });
    if let Some(postgres) = &postgres {
        group.bench_function("relay_postgres", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += relay_drain(postgres, &sink).await;
                    }
                    total
                })
            });
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, enqueue, drain);
criterion_main!(benches);
