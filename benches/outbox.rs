//! The outbox's costs, side by side in one run:
//!
//! - `enqueue/*`: a transaction that inserts one row into an app table, with and without
//!   `Outbox::enqueue` in it (SQLite file; Postgres when there is one, see
//!   `tests/common/pg.rs`).
//! - `drain/*`: 10,000 pings to a loopback sink answering 200, through the relay (claim,
//!   ping, delete) against `PingClient::sync_users` alone, both with 16 in flight. Each
//!   iteration is one whole drain; pings/s = 10,000 / time. The relay runs for the whole
//!   benchmark, as in an app; an iteration runs from the commit of 10,000 enqueues until
//!   every ping is answered and every row deleted.
//!
//! - `pull/*`: in-process pulls (`pull_endpoint`, a valid token, no sockets) whose source
//!   reads a `users` table, without pull confirmation, with it for users that have no
//!   outbox row (the steady state: one indexed read more), and with it for users whose row
//!   each pull confirms (that read, and a delete on a task beside the answer).
//!
//! - `latency`: the time from an edit's commit until the remote profile holds it, at a steady
//!   edit rate against the emulator (which pulls at once) through a relay with pull
//!   confirmation and an HTTP pull endpoint on SQLite: p50 and p99, printed (not a criterion
//!   measurement: a distribution, not a mean).
//!
//! Run with `cargo bench --bench outbox` (`-- latency` for the last alone).

#[path = "../tests/common/pg.rs"]
mod pg;
#[path = "../tests/common/sink.rs"]
mod sink;

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::Request;
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, Postgres, SqlitePool};
use tokio::runtime::Runtime;
use tower::ServiceExt as _;
use tower_livefyre::outbox::{Backend, Outbox};
use tower_livefyre::{
    BoxError, Network, PingClient, Profile, ProfileSource, UserId, pull_endpoint,
};

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

/// The SQLite outbox in `dir`, and the Postgres one when there is a server (see
/// `tests/common/pg.rs`), both migrated.
async fn outboxes(dir: &std::path::Path) -> (Outbox<Sqlite>, Option<Outbox<Postgres>>) {
    let sqlite = sqlite_outbox(dir).await;
    let postgres = match pg::pool().await {
        Some(pool) => {
            let outbox = Outbox::new(pool);
            outbox.migrate().await.unwrap();
            Some(outbox)
        }
        None => None,
    };
    (sqlite, postgres)
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
    let (sqlite, postgres) = rt.block_on(outboxes(&dir));
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
        while self.app.stats().await.unwrap().undelivered() > 0 {
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
    let (sqlite, postgres) = rt.block_on(outboxes(&dir));
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

/// A `users` table as the pull source: one indexed read per pull.
macro_rules! sql_users {
    ($name:ident, $pool:ty) => {
        #[derive(Clone)]
        struct $name($pool);

        impl ProfileSource for $name {
            type Error = BoxError;

            async fn profile(&self, id: &UserId) -> Result<Option<Profile>, BoxError> {
                let name: Option<String> =
                    sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(&self.0)
                        .await?;
                Ok(name.map(|name| Profile::new(id.clone(), name)))
            }
        }
    };
}
sql_users!(SqliteUsers, SqlitePool);
sql_users!(PgUsers, PgPool);

const USERS: usize = 2_000;

/// `USERS` users in the table, and their outbox rows claimed for a ping (as the relay leaves
/// them), so that a confirming pull of each deletes one.
async fn users_awaiting_pulls<DB: Backend>(outbox: &Outbox<DB>, create: &str)
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    // A write first (it waits for the confirmations still running from the last batch, where a
    // read first would fail on SQLite when it upgrades), and the rows that batch left.
    let mut tx = outbox.pool().begin().await.unwrap();
    sqlx::query("DELETE FROM livefyre_outbox")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(create.to_owned()))
        .execute(&mut *tx)
        .await
        .unwrap();
    for i in 0..USERS {
        let id = format!("user{i}");
        sqlx::query(
            "INSERT INTO users (id, display_name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id.clone())
        .bind(format!("User {i}"))
        .execute(&mut *tx)
        .await
        .unwrap();
        outbox
            .enqueue(&mut tx, &UserId::new(id).unwrap())
            .await
            .unwrap();
    }
    sqlx::query("UPDATE livefyre_outbox SET ping_generation = generation")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn pull(c: &mut Criterion) {
    let rt = runtime();
    let dir = temp_dir();
    let (sqlite, postgres) = rt.block_on(outboxes(&dir));
    let create =
        "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, display_name TEXT NOT NULL)";
    let token = network().build_livefyre_token().unwrap();
    let request = |i: usize| {
        Request::get(format!("/pull?id=user{}&lftoken={token}", i % USERS))
            .body(())
            .unwrap()
    };
    let mut group = c.benchmark_group("pull");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(1));

    /// Times `iters` pulls through `endpoint`, each for the next user.
    macro_rules! bench_pulls {
        ($name:expr, $endpoint:expr, $setup:expr) => {{
            let endpoint = $endpoint;
            group.bench_function($name, |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        let mut left = iters as usize;
                        while left > 0 {
                            $setup.await;
                            let batch = left.min(USERS);
                            let started = Instant::now();
                            for i in 0..batch {
                                let answer = endpoint.clone().oneshot(request(i)).await.unwrap();
                                assert_eq!(answer.status(), 200);
                            }
                            total += started.elapsed();
                            left -= batch;
                        }
                        total
                    })
                });
            });
        }};
    }
    rt.block_on(users_awaiting_pulls(&sqlite, create));
    let plain = pull_endpoint(network(), SqliteUsers(sqlite.pool().clone()));
    bench_pulls!("sqlite/plain", plain, async {});
    let confirming = pull_endpoint(
        network(),
        sqlite.confirm_pulls(SqliteUsers(sqlite.pool().clone())),
    );
    // Every row confirmed by the first pass: later pulls find none.
    bench_pulls!("sqlite/confirming_no_row", confirming.clone(), async {});
    bench_pulls!(
        "sqlite/confirming_each",
        confirming,
        users_awaiting_pulls(&sqlite, create)
    );
    if let Some(postgres) = postgres {
        rt.block_on(users_awaiting_pulls::<Postgres>(&postgres, create));
        let plain = pull_endpoint(network(), PgUsers(postgres.pool().clone()));
        bench_pulls!("postgres/plain", plain, async {});
        let confirming = pull_endpoint(
            network(),
            postgres.confirm_pulls(PgUsers(postgres.pool().clone())),
        );
        bench_pulls!("postgres/confirming_no_row", confirming.clone(), async {});
        bench_pulls!(
            "postgres/confirming_each",
            confirming,
            users_awaiting_pulls(&postgres, create)
        );
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Edits per second in `latency`, and for how long.
const EDIT_RATE: u64 = 50;
const EDIT_SECS: u64 = 20;

fn latency(_: &mut Criterion) {
    // Criterion's filter is a positional argument; honour it for this measurement too.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench = args.iter().any(|a| a == "--bench");
    let filter = args.iter().find(|a| !a.starts_with('-'));
    // A plain substring or a regex alternation that names it.
    if filter.is_some_and(|f| !"latency".contains(f.as_str()) && !f.contains("latency")) {
        return;
    }
    // `cargo test --benches` runs each body once: a short run.
    let (rate, secs) = if bench {
        (EDIT_RATE, EDIT_SECS)
    } else {
        (20, 1)
    };
    let rt = runtime();
    let dir = temp_dir();
    rt.block_on(async {
        let outbox = sqlite_outbox(&dir).await;
        let users = 1_000usize;
        let create = "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, display_name TEXT NOT NULL)";
        users_awaiting_pulls(&outbox, create).await;
        sqlx::query("DELETE FROM livefyre_outbox")
            .execute(outbox.pool())
            .await
            .unwrap();

        let emulator = tower_livefyre::emulator::Emulator::start(network()).await.unwrap();
        let endpoint = pull_endpoint(network(), outbox.confirm_pulls(SqliteUsers(outbox.pool().clone())));
        let app = axum::Router::new().route_service("/pull", endpoint);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let template = tower_livefyre::url::PullUrlTemplate::parse(format!("http://{addr}/pull?id={{id}}")).unwrap();
        emulator.set_pull_url_template(template);
        let client = PingClient::new(network()).unwrap().base_url(emulator.url()).unwrap();
        let relay = outbox.relay(client).concurrency(CONCURRENCY).confirm_pulls(true);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let relay = tokio::spawn(relay.run(async {
            let _ = stopped.await;
        }));

        // One edit every 1/rate s, each to the next user; watch for the remote profile.
        let edits = (rate * secs) as usize;
        let mut committed: Vec<(UserId, String, Instant)> = Vec::with_capacity(edits);
        let mut latencies = Vec::with_capacity(edits);
        let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
        let mut waiting = std::collections::VecDeque::new();
        let mut n = 0;
        while latencies.len() < edits {
            tokio::select! {
                _ = ticker.tick(), if n < edits => {
                    let id = UserId::new(format!("user{}", n % users)).unwrap();
                    let name = format!("Edit {n}");
                    let mut tx = outbox.pool().begin().await.unwrap();
                    sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
                        .bind(&name)
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    outbox.enqueue(&mut tx, &id).await.unwrap();
                    tx.commit().await.unwrap();
                    committed.push((id, name, Instant::now()));
                    waiting.push_back(n);
                    n += 1;
                }
                () = tokio::time::sleep(Duration::from_millis(2)) => {
                    waiting.retain(|&i| {
                        let (id, name, at) = &committed[i];
                        let stored = emulator.remote_profile(id).is_some_and(|p| &p.display_name == name);
                        if stored {
                            latencies.push(at.elapsed());
                        }
                        !stored
                    });
                }
            }
        }
        let _ = stop.send(());
        relay.await.unwrap().unwrap();
        server.abort();
        latencies.sort();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        println!(
            "latency/commit_to_remote_profile: {} edits at {rate}/s, confirmation on (SQLite, emulator): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            latencies.len(),
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            latencies.last().unwrap().as_secs_f64() * 1e3,
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, enqueue, drain, pull, latency);
criterion_main!(benches);
