//! A complete Ping-for-Pull app: axum in front, your SQL `users` table behind, and durable
//! pings through the outbox.
//!
//! ```sh
//! cargo run --example server                                      # serve + relay
//! cargo run --example server -- edit ann.lee display_name="Ann Lee-Park"
//! cargo run --example server -- import profiles.json
//! cargo run --example server -- outbox status                     # JSON: states, parked rows
//! cargo run --example server -- outbox requeue [ID...]
//! ```
//!
//! It serves `GET /livefyre/pull?id={id}&lftoken=…` with [`tower_livefyre::pull_endpoint`]
//! over a [`ProfileSource`] that reads a `users` table through sqlx (SQLite or Postgres), and
//! prints `listening on http://ADDR` once it accepts connections. Every change to `users`
//! (the seed, `edit`, `import`) enqueues its ping in the same transaction
//! ([`tower_livefyre::outbox`]); the relay in the server process delivers them, at least
//! once, even across crashes and Livefyre outages. A change counts as delivered only once
//! Livefyre has pulled it from this endpoint (pull confirmation): a pull that meets a
//! crashed or busy server is followed by another ping. `edit` and `import` work while a server
//! runs on the same `DATABASE_URL`; with Postgres, several servers (each on its own
//! `LISTEN_ADDR`) share the users and the outbox.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `LIVEFYRE_NETWORK` | `demo.fyre.co` | your network's name |
//! | `LIVEFYRE_NETWORK_KEY` | the public demo key (with a warning), for `demo.fyre.co` only; else required | your network key; never printed |
//! | `LISTEN_ADDR` | `127.0.0.1:3000` | where to listen (`127.0.0.1:0` picks a free port) |
//! | `DATABASE_URL` | `sqlite://tower-livefyre-demo.db?mode=rwc` | `sqlite://…` or `postgres://…` |
//! | `PROFILES_SEED` | — | a JSON array of profile documents, upserted at start (changed users are pinged) |
//! | `LIVEFYRE_API_URL` | the network's Livefyre host; with the demo key, the emulator in this process (below) | where pings and the registration go |
//! | `EMULATOR_ADDR` | `127.0.0.1:3001` | demo key and no `LIVEFYRE_API_URL` only: where this process starts the crate's emulator (Livefyre's side: takes the registration and the pings, pulls, keeps the remote profiles; its page is `/_emulator/`); when something already listens there (the emulator example, say), that is used instead. `127.0.0.1:0` picks a free port |
//! | `LIVEFYRE_PULL_URL` | with the demo key, `http://ADDR/livefyre/pull?id={id}` | registered at start (in the background, retried); with your own key only when set |
//! | `RELAY_LEASE_SECS`, `RELAY_CONCURRENCY` | 60, 16 | how long a claimed ping belongs to this process; pings in flight |
//! | `RELAY_PULL_DEADLINE_SECS` | 900; 30 with the demo key | how long a change Livefyre accepted may wait for its pull before it is pinged again (after 3 such pings it parks as never pulled) |
//! | `HEADER_READ_TIMEOUT_SECS` | 10 | how long a client may take to send a request's headers (or an idle keep-alive connection to start the next) before it is disconnected |
//! | `MAX_CONNECTIONS` | 1024 | connections served at once; more wait to be accepted (keep it under `ulimit -n`) |
//! | `ADMIN_ADDR` | `127.0.0.1:3002` | the admin listener, apart from the pull endpoint's: `GET /metrics` (Prometheus text), `/healthz` (200: the process lives), `/readyz` (200 / 503 + JSON: the database answers and the outbox is not stuck), `/admin` (the outbox page: counts, parked and awaiting rows, requeue; `/admin?format=json` its JSON twin). Loopback by default: put auth in front of it before exposing it |
//! | `READY_MAX_PENDING_AGE_SECS` | 600 | `/readyz` answers 503 when the oldest pending change has waited longer |
//! | `RUST_LOG` | `info,sqlx=warn,tower_livefyre::ping=error` | log filter (logs go to stderr) |
//!
//! So `cargo run --example server` alone shows the whole sequence: the demo users are pinged,
//! the emulator pulls them and stores their remote profiles within seconds; it prints the
//! `curl` of a pull, the emulator's page and the admin page.
//!
//! With no seed and an empty table, three demo users are created (`ann.lee`, `bob`,
//! `carla_m`). With the demo key it also prints a ready-to-paste `curl` line carrying a
//! fresh system token; with your own key it prints no token at all. SIGINT or SIGTERM
//! stops it cleanly (in-flight pings finish or go back to the outbox). A panicking source
//! answers 500 and the server keeps serving.

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod edit;
mod emulator;
mod listener;
mod livefyre;
mod outbox_command;
mod users;

use std::{any::Any, error::Error, io::Write, process::ExitCode};

use axum::{Router, http::StatusCode, response::IntoResponse, response::Response};
use sqlx::{AnyPool, Transaction};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_livefyre::outbox::Outbox;
use tower_livefyre::{
    Profile, UserId,
    profile::{DisplayRules, EmailNotifications, Frequency, Name},
    pull_endpoint,
};
use tracing_subscriber::EnvFilter;
use users::{CREATE_USERS, SqlUsers, store_changed};

const DEFAULT_DATABASE_URL: &str = "sqlite://tower-livefyre-demo.db?mode=rwc";

fn demo_users() -> Vec<Profile> {
    vec![
        Profile::new(UserId::from_static("ann.lee"), "Ann Lee")
            .with_name(Name::new().with_first("Ann").with_last("Lee"))
            .with_email("ann.lee@example.com")
            .with_image_url("https://example.com/avatars/ann.lee.png")
            .with_profile_url("https://example.com/users/ann.lee")
            .with_tags(["staff", "beta"])
            .with_email_notifications(
                EmailNotifications::new().with_replies(Frequency::Immediately),
            )
            .with_display_rules(DisplayRules::new().with_name(true)),
        Profile::new(UserId::from_static("bob"), "Bob"),
        Profile::new(UserId::from_static("carla_m"), "Carla M.")
            .with_location("Lisbon")
            .with_bio("Keeps the football threads civil.")
            .with_websites(["https://carla.example.org"])
            .with_autofollow_conversations(false)
            .with_moderator(true)
            .with_email_notifications(
                EmailNotifications::new()
                    .with_moderator_comments(Frequency::Often)
                    .with_moderator_flags(Frequency::Immediately),
            ),
    ]
}

/// Reads a JSON array of profiles: every profile is parsed and validated before anything
/// is stored. `what` names the source in errors.
fn read_profiles(what: &str, path: &str) -> Result<Vec<Profile>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{what}{path}: cannot read it: {e}"))?;
    let profiles: Vec<Profile> = serde_json::from_str(&text)
        .map_err(|e| format!("{what}{path}: not a JSON array of profiles: {e}"))?;
    for (i, p) in profiles.iter().enumerate() {
        p.validate()
            .map_err(|e| format!("{what}{path}: profile #{i} (id {:?}): {e}", p.id))?;
    }
    Ok(profiles)
}

/// 500 with an empty body, like every other failure of the endpoint.
fn panic_response(_panic: Box<dyn Any + Send>) -> Response {
    tracing::error!("the profile source panicked; answered 500");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// The database: the users table and the outbox, created if missing. On Postgres an
/// advisory lock keeps servers starting together from racing to create them.
async fn open_database() -> Result<(AnyPool, Outbox<sqlx::Any>), Box<dyn Error>> {
    let database_url =
        support::var("DATABASE_URL")?.unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(&database_url)
        .await
        .map_err(|e| format!("DATABASE_URL: cannot connect: {e}"))?;
    if is_sqlite(&pool) {
        // WAL: readers (the pull endpoint) never wait for a writer (the relay, an edit).
        // It is a property of the file, kept once set.
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&pool)
            .await?;
    }
    let mut tx = begin_write(&pool).await?;
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_advisory_xact_lock(7102411186220872)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(CREATE_USERS).execute(&mut *tx).await?;
    tx.commit().await?;
    let outbox = Outbox::new(pool.clone());
    outbox.migrate().await?;
    Ok((pool, outbox))
}

/// Whether `pool` is on SQLite (the `Any` driver picks the backend from the URL).
fn is_sqlite(pool: &AnyPool) -> bool {
    pool.connect_options().database_url.scheme() == "sqlite"
}

/// A transaction that reads, then writes. On SQLite it takes the write lock at `BEGIN`
/// (`IMMEDIATE`): a deferred one that reads first fails at once with "database is locked" when
/// it upgrades to a write while the relay (or another command) writes, where this one waits
/// out the busy timeout instead.
async fn begin_write(pool: &AnyPool) -> Result<Transaction<'static, sqlx::Any>, sqlx::Error> {
    if is_sqlite(pool) {
        pool.begin_with("BEGIN IMMEDIATE").await
    } else {
        pool.begin().await
    }
}

/// `edit ID FIELD=VALUE...`: one transaction updates the row and enqueues its ping.
async fn edit(args: &[String]) -> Result<(), Box<dyn Error>> {
    let [id, edits @ ..] = args else {
        return Err("usage: server edit ID FIELD=VALUE...".into());
    };
    let edits = edit::parse(edits)?;
    let (pool, outbox) = open_database().await?;
    let mut tx = begin_write(&pool).await?;
    let mut profile = users::load(&mut tx, id)
        .await
        .map_err(|e| format!("the stored profile of {id:?} is unreadable: {e}"))?
        .ok_or_else(|| format!("no user {id:?}"))?;
    for (field, value) in &edits {
        edit::apply(&mut profile, field, value)?;
    }
    profile
        .validate()
        .map_err(|e| format!("the edited profile of {id:?} is invalid: {e}"))?;
    let changed = store_changed(&mut tx, &outbox, std::slice::from_ref(&profile)).await?;
    tx.commit().await?;
    let fields: Vec<&str> = edits.iter().map(|(field, _)| *field).collect();
    if changed.is_empty() {
        println!("{id}: unchanged ({}); nothing queued", fields.join(", "));
    } else {
        println!("{id}: updated {}; ping queued", fields.join(", "));
    }
    pool.close().await;
    Ok(())
}

/// `import FILE`: upserts the profiles and enqueues the changed ones, one transaction.
async fn import(args: &[String]) -> Result<(), Box<dyn Error>> {
    let [path] = args else {
        return Err("usage: server import FILE".into());
    };
    let profiles = read_profiles("", path)?;
    let (pool, outbox) = open_database().await?;
    let mut tx = begin_write(&pool).await?;
    let changed = store_changed(&mut tx, &outbox, &profiles).await?;
    tx.commit().await?;
    println!(
        "imported {} profiles; {} changed, pings queued",
        profiles.len(),
        changed.len()
    );
    pool.close().await;
    Ok(())
}

async fn serve() -> Result<(), Box<dyn Error>> {
    let (network, demo) = support::network_from_env()?;
    let listen = support::var("LISTEN_ADDR")?.unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let limits = listener::Limits::from_env()?;
    let seed = support::var("PROFILES_SEED")?
        .map(|path| read_profiles("PROFILES_SEED=", &path))
        .transpose()?;
    let api = emulator::api(&network, demo).await?;
    let client = livefyre::client(&network, api.url())?;
    let (pool, outbox) = open_database().await?;
    let relay = livefyre::relay(&outbox, client.clone(), demo)?;

    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await?;
    let profiles = match seed {
        Some(profiles) => profiles,
        None if count == 0 => demo_users(),
        None => Vec::new(),
    };
    let mut tx = begin_write(&pool).await?;
    let changed = store_changed(&mut tx, &outbox, &profiles).await?;
    tx.commit().await?;
    tracing::info!(
        backend = pool.connect_options().database_url.scheme(),
        network = network.name(),
        pings_queued = changed.len(),
        "users table ready"
    );

    let endpoint = ServiceBuilder::new()
        .layer(CatchPanicLayer::custom(panic_response))
        .service(pull_endpoint(
            network.clone(),
            outbox.confirm_pulls(SqlUsers(pool.clone())),
        ));
    let app = Router::new().route_service("/livefyre/pull", endpoint);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("LISTEN_ADDR={listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let admin_listener = admin::bind().await?;
    let admin_addr = admin::addr(&admin_listener)?;
    let admin_routes = admin::router(pool.clone(), outbox.clone(), admin::install_metrics()?)?;

    // Register first (Livefyre answers pings with 409 until a pull URL is registered),
    // then relay until shutdown. The relay retries a 409 anyway, so nothing parks.
    let template = livefyre::pull_url(demo, addr)?;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(async move {
        if let Some(template) = template {
            tokio::select! {
                () = livefyre::register(&client, &template) => {}
                _ = stopped.wait_for(|stop| *stop) => return Ok(()),
            }
        }
        relay
            .run(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await
    });

    let admin = tokio::spawn(admin::serve(admin_listener, admin_routes, stop.subscribe()));

    // Tests read the admin address from the lines before `listening on`. Best effort: a
    // closed stdout (its reader gone) must not take the pull endpoint down with it.
    announce(&format!("admin on http://{admin_addr}"));
    announce(&format!("listening on http://{addr}"));
    if demo {
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM users ORDER BY id LIMIT 1")
            .fetch_optional(&pool)
            .await?;
        let id = id.unwrap_or_else(|| "ann.lee".to_owned());
        let token = network.build_livefyre_token()?;
        announce(&format!(
            "try: curl -i 'http://{addr}/livefyre/pull?id={id}&lftoken={token}'"
        ));
    }
    if let Some(page) = api.emulator_page() {
        announce(&format!("emulator page: {page}"));
    }
    announce(&format!(
        "outbox admin page: http://{admin_addr}/admin (metrics: http://{admin_addr}/metrics)"
    ));

    listener::serve(listener, app, limits, async {
        support::shutdown_signal().await;
        tracing::info!("shutting down");
    })
    .await;
    let _ = stop.send(true);
    relay.await??;
    admin.await??;
    api.shutdown().await;
    pool.close().await;
    Ok(())
}

async fn run() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        None => serve().await,
        Some((command, rest)) if command == "edit" => edit(rest).await,
        Some((command, rest)) if command == "import" => import(rest).await,
        Some((command, rest)) if command == "outbox" => {
            let (_pool, outbox) = open_database().await?;
            outbox_command::run(&outbox, rest).await
        }
        Some((other, _)) => Err(format!(
            "unknown subcommand {other:?}: none (serve), `edit ID FIELD=VALUE...`, `import FILE`, \
             `outbox status` or `outbox requeue [ID...]`"
        )
        .into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    // The ping client's own "giving up" WARN repeats each failed attempt that the relay and
    // the registration loop already report (the relay per outcome, the loop in a summary).
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_livefyre::ping=error"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
    support::exit_code(run().await)
}

/// Prints `line` to stdout, flushed, ignoring a stdout nobody reads any more (`println!`
/// would panic on the closed pipe).
fn announce(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}
