//! The whole app with durable pings, process by process: `examples/server` runs the relay,
//! its `edit` and `import` subcommands enqueue, the emulator is Livefyre. A relay process
//! is SIGKILLed mid-drain and restarted; three relay processes share one Postgres.

mod common;
#[path = "outbox/pg.rs"]
mod pg;

use std::collections::HashMap;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::example::{Example, example_path};
use common::uid;
use sqlx::Sqlite;
use sqlx::sqlite::SqlitePoolOptions;
use tower_livefyre::emulator::Emulator;
use tower_livefyre::outbox::{Backend, Outbox};
use tower_livefyre::{Network, Profile, ProfileSource, UserId, pull_endpoint};

/// The examples' demo network and its public key: demo-key mode registers by itself.
fn demo_network() -> Network {
    Network::new("demo.fyre.co", "tower-livefyre-demo-network-key").unwrap()
}

/// A fresh directory, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "tower-livefyre-durable-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn sqlite_url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.join("app.db").display())
    }

    fn write_profiles(&self, name: &str, profiles: &[Profile]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, serde_json::to_string(profiles).unwrap()).unwrap();
        path.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A subcommand of the server example, to completion.
fn subcommand(database_url: &str, args: &[&str]) -> Output {
    Command::new(example_path("server"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Polls `check` until it holds, within `limit`.
async fn until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn drained<DB: Backend>(outbox: &Outbox<DB>, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let stats = outbox.stats().await.unwrap();
        if stats.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "outbox not drained: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A pull endpoint that outlives the relay processes: Livefyre's pulls never race a crash.
async fn serve_pulls<S>(source: S) -> (String, tokio::task::JoinHandle<()>)
where
    S: ProfileSource + Send + Sync + 'static,
{
    let app =
        axum::Router::new().route_service("/livefyre/pull", pull_endpoint(demo_network(), source));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}/livefyre/pull?id={{id}}"), task)
}

fn users(n: usize) -> Vec<Profile> {
    (0..n)
        .map(|i| Profile::new(uid(&format!("user{i:05}")), format!("User {i}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_and_import_are_delivered_by_the_running_server() {
    let emulator = Emulator::start(demo_network()).await.unwrap();
    let dir = TempDir::new();
    let db = dir.sqlite_url();
    let _server = Example::start(
        "server",
        &[("DATABASE_URL", &db), ("LIVEFYRE_API_URL", &emulator.url())],
    );
    // The demo users were enqueued at first start, and delivered once registered.
    until(
        "the demo users at Livefyre",
        Duration::from_secs(30),
        || {
            ["ann.lee", "bob", "carla_m"]
                .iter()
                .all(|id| emulator.remote_profile(&uid(id)).is_some())
        },
    )
    .await;

    let out = subcommand(
        &db,
        &["edit", "ann.lee", "display_name=Ann Lee-Park", "bio=Hi"],
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout, "ann.lee: updated display_name, bio; ping queued\n");
    until("the edit at Livefyre", Duration::from_secs(30), || {
        emulator
            .remote_profile(&uid("ann.lee"))
            .is_some_and(|p| p.display_name == "Ann Lee-Park" && p.bio.as_deref() == Some("Hi"))
    })
    .await;

    for (args, message) in [
        (
            &["edit", "nobody", "bio=x"][..],
            "error: no user \"nobody\"",
        ),
        (
            &["edit", "ann.lee", "colour=red"],
            "error: unknown field \"colour\"",
        ),
        (
            &["edit", "ann.lee", "display_name"],
            "error: \"display_name\" is not FIELD=VALUE",
        ),
        (
            &["edit", "ann.lee", "image_url=not a url"],
            "error: the edited profile of \"ann.lee\" is invalid",
        ),
        (
            &["edit", "ann.lee"],
            "error: edit needs at least one FIELD=VALUE",
        ),
        (&["import"], "error: usage: server import FILE"),
        (&["frobnicate"], "error: unknown subcommand \"frobnicate\""),
    ] {
        let out = subcommand(&db, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with(message), "{args:?}: {stderr}");
    }

    // bob is unchanged (no ping), dora is new (one ping).
    let file = dir.write_profiles(
        "import.json",
        &[
            Profile::new("bob".parse().unwrap(), "Bob"),
            Profile::new("dora".parse().unwrap(), "Dora"),
        ],
    );
    let out = subcommand(&db, &["import", &file]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "imported 2 profiles; 1 changed, pings queued\n"
    );
    until("the import at Livefyre", Duration::from_secs(30), || {
        emulator.remote_profile(&uid("dora")).is_some()
    })
    .await;
    let counts = emulator.ping_counts();
    assert_eq!(
        (counts["bob"], counts["dora"], counts["ann.lee"]),
        (1, 1, 2),
        "{counts:?}"
    );
    assert!(emulator.overlapping_pings().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_drain_loses_nothing() {
    const USERS: usize = 5_000;
    let emulator = Emulator::start(demo_network()).await.unwrap();
    let seed = users(USERS);
    let profiles: HashMap<UserId, Profile> =
        seed.iter().map(|p| (p.id.clone(), p.clone())).collect();
    let (pull_url, _pulls) = serve_pulls(profiles).await;
    let dir = TempDir::new();
    let db = dir.sqlite_url();
    let seed_file = dir.write_profiles("seed.json", &seed);
    let env = [
        ("DATABASE_URL", db.as_str()),
        ("LIVEFYRE_API_URL", &emulator.url()),
        ("LIVEFYRE_PULL_URL", &pull_url),
        ("RELAY_LEASE_SECS", "2"),
        ("RELAY_CONCURRENCY", "16"),
    ];
    let mut first = Example::start(
        "server",
        &[&env[..], &[("PROFILES_SEED", &seed_file)]].concat(),
    );
    until("a fifth of the pings", Duration::from_secs(60), || {
        emulator.ping_log().len() >= USERS / 5
    })
    .await;
    first.child.kill().unwrap(); // SIGKILL: no shutdown, leases left behind
    first.child.wait().unwrap();
    let at_kill = emulator.ping_log().len();

    let outbox = Outbox::<Sqlite>::new(SqlitePoolOptions::new().connect(&db).await.unwrap());
    let stats = outbox.stats().await.unwrap();
    assert!(
        stats.undelivered() > 0,
        "the relay finished before the kill: {stats:?}"
    );

    let _second = Example::start("server", &env);
    drained(&outbox, Duration::from_secs(120)).await;
    until("every profile at Livefyre", Duration::from_secs(60), || {
        seed.iter()
            .all(|p| emulator.remote_profile(&p.id).is_some())
    })
    .await;
    let counts = emulator.ping_counts();
    assert_eq!(counts.len(), USERS);
    let pings: usize = counts.values().sum();
    eprintln!(
        "crash test: killed after {at_kill} pings with {} pending; {pings} pings for {USERS} users: {} duplicates",
        stats.undelivered(),
        pings - USERS
    );
    // Only pings whose outcome was not written yet are sent again: the relay writes outcomes
    // every 4 × 16 pings, so those, the 16 in flight, and what finished during the database
    // round then running. Writing only with each claim (up to 64 × 16 held) gave 432.
    assert!(pings - USERS <= 16 * 16, "{} duplicates", pings - USERS);
    assert!(emulator.overlapping_pings().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_relays_on_postgres_drain_while_enqueues_continue() {
    const USERS: usize = 10_000;
    let Some((pool, url)) = pg::database().await else {
        return;
    };
    let emulator = Emulator::start(demo_network()).await.unwrap();
    // Pulls read the users table the relays' app writes.
    let source = {
        let pool = pool.clone();
        tower_livefyre::profile_source_fn(move |id: UserId| {
            let pool = pool.clone();
            async move {
                let name: Option<String> =
                    sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(&pool)
                        .await?;
                Ok::<_, sqlx::Error>(name.map(|name| Profile::new(id, name)))
            }
        })
    };
    let (pull_url, _pulls) = serve_pulls(source).await;
    let dir = TempDir::new();
    let seed = users(USERS);
    let seed_file = dir.write_profiles("seed.json", &seed);
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("LIVEFYRE_API_URL", &emulator.url()),
        ("LIVEFYRE_PULL_URL", &pull_url),
    ];
    // The first process seeds (and enqueues) all users, then three relay together.
    let first = Example::start(
        "server",
        &[&env[..], &[("PROFILES_SEED", &seed_file)]].concat(),
    );
    let others = [
        Example::start("server", &env),
        Example::start("server", &env),
    ];

    // Meanwhile the app keeps changing users, each change with its ping in one transaction.
    let outbox = Outbox::new(pool.clone());
    for i in 0..500 {
        let id = format!("user{:05}", (i * 7919) % USERS);
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
            .bind(format!("Edited {i}"))
            .bind(&id)
            .execute(&mut *tx)
            .await
            .unwrap();
        outbox.enqueue(&mut tx, &id.parse().unwrap()).await.unwrap();
        tx.commit().await.unwrap();
    }
    drained(&outbox, Duration::from_secs(240)).await;

    // Every user's last state is at Livefyre.
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, display_name FROM users")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), USERS);
    until(
        "every last state at Livefyre",
        Duration::from_secs(60),
        || {
            rows.iter().all(|(id, name)| {
                emulator
                    .remote_profile(&uid(id))
                    .is_some_and(|p| &p.display_name == name)
            })
        },
    )
    .await;
    let counts = emulator.ping_counts();
    let pings: usize = counts.values().sum();
    eprintln!("three relays: {pings} pings for {USERS} users and 500 edits");
    assert_eq!(counts.len(), USERS);
    assert_eq!(emulator.overlapping_pings(), Vec::new());
    drop((first, others));
}
