//! The whole app with durable pings, process by process: `examples/server` runs the relay
//! and serves the pulls (confirming them), its `edit` and `import` subcommands enqueue, the
//! emulator is Livefyre. A server is SIGKILLed mid-drain and restarted; three relay
//! processes share one Postgres while a fourth process serves and confirms the pulls.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::pg;
use crate::common::example::{Example, example_path};
use crate::common::scratch::Scratch;
use crate::common::uid;
use sqlx::Sqlite;
use sqlx::sqlite::SqlitePoolOptions;
use tower_livefyre::emulator::Emulator;
use tower_livefyre::outbox::{Backend, Outbox};
use tower_livefyre::{Network, Profile, ProfileSource, UserId, pull_endpoint};

/// The examples' demo network and its public key: demo-key mode registers by itself.
fn demo_network() -> Network {
    Network::new("demo.fyre.co", "tower-livefyre-demo-network-key").unwrap()
}

/// Writes `profiles` as the JSON array a seed or an import reads; returns the file's path.
fn write_profiles(dir: &Scratch, name: &str, profiles: &[Profile]) -> String {
    let json = serde_json::to_string(profiles).unwrap();
    dir.write(name, json).display().to_string()
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
    let dir = Scratch::new("durable");
    let db = dir.sqlite_url("app.db");
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
    let file = write_profiles(
        &dir,
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

    // `outbox status` and `outbox requeue`: every change confirmed by its pull, then a row
    // written by hand with an id Livefyre refuses, parked unsent.
    let outbox = Outbox::<Sqlite>::new(SqlitePoolOptions::new().connect(&db).await.unwrap());
    drained(&outbox, Duration::from_secs(30)).await;
    let status = |db: &str| -> serde_json::Value {
        let out = subcommand(db, &["outbox", "status"]);
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let empty = status(&db);
    for state in ["pending", "in_flight", "awaiting_pull", "parked"] {
        assert_eq!(empty[state], 0, "{state}: {empty}");
    }
    assert_eq!(empty["parked_rows"], serde_json::json!([]));
    sqlx::query(
        "INSERT INTO livefyre_outbox (user_id, generation, due_at, created_at, updated_at) \
         VALUES ('bad id', 0, 0, 0, 0)",
    )
    .execute(outbox.pool())
    .await
    .unwrap();
    outbox.wake();
    until_async(
        "the hand-written row parked",
        Duration::from_secs(30),
        || async { outbox.stats().await.unwrap().parked == 1 },
    )
    .await;
    let parked = status(&db);
    assert_eq!(parked["parked"], 1, "{parked}");
    let row = &parked["parked_rows"][0];
    assert_eq!(
        (&row["user_id"], &row["kind"]),
        (
            &serde_json::json!("bad id"),
            &serde_json::json!("invalid_user_id")
        ),
        "{parked}"
    );
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .contains("invalid Livefyre user id"),
        "{parked}"
    );
    let out = subcommand(&db, &["outbox", "requeue", "bob"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "requeued 0 parked rows\n"
    );
    let out = subcommand(&db, &["outbox", "requeue"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "requeued 1 parked rows\n"
    );
    let out = subcommand(&db, &["outbox", "requeue", "bad id"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = subcommand(&db, &["outbox", "frobnicate"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("usage: server outbox status"),
        "{out:?}"
    );
}

/// Polls the async `check` until it holds, within `limit`.
async fn until_async<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_drain_loses_nothing() {
    // A one-instance app: the killed process runs the relay *and* serves the pulls, so the
    // pulls Livefyre queued for the pings it sent meet a dead server. Pull confirmation
    // pings those users again once the restarted server is up.
    const USERS: usize = 5_000;
    let emulator = Emulator::start(demo_network()).await.unwrap();
    let seed = users(USERS);
    let dir = Scratch::new("durable");
    let db = dir.sqlite_url("app.db");
    let seed_file = write_profiles(&dir, "seed.json", &seed);
    let env = [
        ("DATABASE_URL", db.as_str()),
        ("LIVEFYRE_API_URL", &emulator.url()),
        ("RELAY_LEASE_SECS", "2"),
        ("RELAY_CONCURRENCY", "16"),
        // The demo-key default, 30 s: a deadline much shorter than the pull queue's lag under
        // this load (5 s gave 2,121 duplicates) re-pings users whose pull is merely late.
        ("RELAY_PULL_DEADLINE_SECS", "30"),
    ];
    let mut first = Example::start(
        "server",
        &[&env[..], &[("PROFILES_SEED", &seed_file)]].concat(),
    );
    until("a fifth of the pings", Duration::from_secs(60), || {
        emulator.ping_log().len() >= USERS / 5
    })
    .await;
    first.child.kill().unwrap(); // SIGKILL: no shutdown, leases left behind, pulls refused
    first.child.wait().unwrap();
    let at_kill = emulator.ping_log().len();

    let outbox = Outbox::<Sqlite>::new(SqlitePoolOptions::new().connect(&db).await.unwrap());
    let stats = outbox.stats().await.unwrap();
    assert!(
        stats.undelivered() > 0,
        "the relay finished before the kill: {stats:?}"
    );

    let _second = Example::start("server", &env);
    drained(&outbox, Duration::from_secs(180)).await;
    until("every profile at Livefyre", Duration::from_secs(60), || {
        seed.iter()
            .all(|p| emulator.remote_profile(&p.id).is_some())
    })
    .await;
    let counts = emulator.ping_counts();
    assert_eq!(counts.len(), USERS);
    let pings: usize = counts.values().sum();
    let failed_pulls = emulator
        .pull_log()
        .iter()
        .filter(|pull| pull.status != Some(200))
        .count();
    eprintln!(
        "crash test: killed after {at_kill} pings with {} undelivered; {failed_pulls} pulls \
         failed; {pings} pings for {USERS} users: {} duplicates",
        stats.undelivered(),
        pings - USERS
    );
    // Sent again: the pings whose outcome was not written yet (the relay writes outcomes every
    // 4 × 16 pings, plus the 16 in flight and what finished during the round then running),
    // and one re-ping for each user whose pull met the dead server.
    assert!(
        pings - USERS <= 16 * 16 + failed_pulls,
        "{} duplicates",
        pings - USERS
    );
    assert!(emulator.overlapping_pings().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_relays_on_postgres_drain_and_pulls_on_another_process_confirm() {
    const USERS: usize = 10_000;
    let Some((pool, url)) = pg::database().await else {
        return;
    };
    let emulator = Emulator::start(demo_network()).await.unwrap();
    // Pulls read the users table the relays' app writes.
    let source = {
        let pool = pool.clone();
        tower_livefyre::source::profile_source_fn(move |id: UserId| {
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
    // The pulls land on this process, never on the three that ping: each confirmation
    // crosses processes, through Postgres.
    let outbox = Outbox::new(pool.clone());
    let (pull_url, _pulls) = serve_pulls(outbox.confirm_pulls(source)).await;
    let dir = Scratch::new("durable");
    let seed = users(USERS);
    let seed_file = write_profiles(&dir, "seed.json", &seed);
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
