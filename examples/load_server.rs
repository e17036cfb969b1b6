//! The target of `scripts/load.sh`: one hyper HTTP/1.1 server, two handlers.
//!
//! `cargo run --release --example load_server -- bare` answers with the requested demo
//! profile's JSON, no checks: the least any pull endpoint does (find `id` in the query, look
//! it up, serialize). `… -- pull` serves the same profile through
//! `pull_endpoint` (token gate + `PullService` over an in-memory map). Both use the same
//! accept loop and connection settings, so the difference is the crate's per-request work.
//!
//! `LOAD_SOURCE=sqlite` is the realistic mode: both handlers read the profile from the server
//! example's SQLite `users` table (`examples/server/users.rs`: the same schema, the same
//! `SELECT … WHERE id = $1` and the same row-to-profile code, through one sqlx `AnyPool`),
//! `bare` by calling that lookup itself, `pull` through the example's `SqlUsers` source. The
//! table is created and seeded with the demo profiles at start (the server example's write
//! path, which also queues their pings in an outbox table nobody relays here). The gate's cost
//! then shows beside a real lookup's.
//!
//! Environment: `LISTEN_ADDR` (default `127.0.0.1:3100`), `LOAD_WORKERS` (tokio worker
//! threads, default one per core), `LIVEFYRE_NETWORK`, `LIVEFYRE_NETWORK_KEY` (as the other
//! examples), `LOAD_SOURCE` (`memory`, the default, or `sqlite`), `DATABASE_URL` (with
//! `sqlite`; default a `tower-livefyre-load.db` in the temporary directory),
//! `LOAD_METRICS=prometheus` (installs `metrics-exporter-prometheus`'s recorder, to measure
//! the cost of the crate's metrics with a real recorder; they are emitted only when the
//! server is built with `--features metrics`, as `LOAD_FEATURES=metrics scripts/load.sh` does).

mod support;
#[path = "server/users.rs"]
#[allow(dead_code)] // the server example's users table; only its schema, seed and lookup here
mod users;

use std::convert::Infallible;
use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use sqlx::AnyPool;
use tokio::net::TcpListener;
use tower::service_fn;
use tower_livefyre::outbox::Outbox;
use tower_livefyre::{Profile, pull_endpoint};

fn main() -> ExitCode {
    support::exit_code(start())
}

/// Builds the runtime (`LOAD_WORKERS` threads, default one per core) and serves.
fn start() -> Result<(), Box<dyn Error>> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = support::var("LOAD_WORKERS")? {
        let workers = n.parse().map_err(|e| format!("LOAD_WORKERS {n:?}: {e}"))?;
        runtime.worker_threads(workers);
    }
    runtime.enable_all().build()?.block_on(run())
}

async fn run() -> Result<(), Box<dyn Error>> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    // Kept alive for the life of the server: the recorder's histograms are drained by upkeep.
    let _prometheus = match support::var("LOAD_METRICS")?.as_deref() {
        None | Some("") => None,
        Some("prometheus") => {
            let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
                .install_recorder()
                .map_err(|e| format!("installing the Prometheus recorder: {e}"))?;
            let upkeep = handle.clone();
            Some(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    upkeep.run_upkeep();
                }
            }))
        }
        Some(other) => return Err(format!("LOAD_METRICS {other:?}: expected `prometheus`").into()),
    };
    let (network, _) = support::network_from_env()?;
    let profiles = support::demo_profiles();
    let source = support::var("LOAD_SOURCE")?.unwrap_or_else(|| "memory".to_owned());
    let pool = match source.as_str() {
        "memory" => None,
        "sqlite" => Some(open_users(profiles.values().cloned().collect()).await?),
        other => {
            return Err(format!("LOAD_SOURCE must be memory or sqlite (got {other:?})").into());
        }
    };
    let listener = TcpListener::bind(support::listen_addr("127.0.0.1:3100")?).await?;

    if let Some(pool) = pool {
        return match mode.as_str() {
            "bare" => {
                // The same lookup as `SqlUsers` (a pooled connection, `users::load`), then
                // serialize; no token, id or profile checks.
                let bare = service_fn(move |request: Request<Incoming>| {
                    let query = request.uri().query().unwrap_or_default().as_bytes();
                    let id = form_urlencoded::parse(query)
                        .find_map(|(k, v)| (k == "id").then(|| v.into_owned()));
                    let pool = pool.clone();
                    async move {
                        let profile = match id {
                            Some(id) => match pool.acquire().await {
                                Ok(mut conn) => users::load(&mut conn, &id).await,
                                Err(error) => Err(error.into()),
                            },
                            None => Ok(None),
                        };
                        Ok::<_, Infallible>(support::json_response(profile.ok().flatten().as_ref()))
                    }
                });
                serve(listener, bare).await
            }
            "pull" => serve(listener, pull_endpoint(network, users::SqlUsers(pool))).await,
            other => Err(format!("usage: load_server bare|pull (got {other:?})").into()),
        };
    }

    match mode.as_str() {
        "bare" => {
            // What any hand-written pull endpoint does at the least: find the id in the query,
            // look the user up, serialize. No token, id or profile checks.
            let profiles = Arc::new(profiles);
            let bare = service_fn(move |request: Request<Incoming>| {
                let query = request.uri().query().unwrap_or_default().as_bytes();
                let id = form_urlencoded::parse(query).find_map(|(k, v)| (k == "id").then_some(v));
                let profile = id.and_then(|id| profiles.get(id.as_ref()));
                std::future::ready(Ok::<_, Infallible>(support::json_response(profile)))
            });
            serve(listener, bare).await
        }
        "pull" => serve(listener, pull_endpoint(network, profiles)).await,
        other => Err(format!("usage: load_server bare|pull (got {other:?})").into()),
    }
}

/// The server example's `users` table in SQLite at `DATABASE_URL`, created if missing and
/// holding `profiles` (stored through the example's own write path).
async fn open_users(profiles: Vec<Profile>) -> Result<AnyPool, Box<dyn Error>> {
    let default = format!(
        "sqlite://{}?mode=rwc",
        std::env::temp_dir()
            .join("tower-livefyre-load.db")
            .display()
    );
    let url = support::var("DATABASE_URL")?.unwrap_or(default);
    if !url.starts_with("sqlite:") {
        return Err(
            format!("LOAD_SOURCE=sqlite needs a sqlite: DATABASE_URL (got {url:?})").into(),
        );
    }
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(&url)
        .await
        .map_err(|e| format!("DATABASE_URL: cannot connect: {e}"))?;
    // As the server example: readers never wait for a writer.
    sqlx::query("PRAGMA journal_mode = WAL")
        .execute(&pool)
        .await?;
    sqlx::query(users::CREATE_USERS).execute(&pool).await?;
    let outbox = Outbox::new(pool.clone());
    outbox.migrate().await?;
    let mut tx = pool.begin().await?;
    users::store_changed(&mut tx, &outbox, &profiles).await?;
    tx.commit().await?;
    Ok(pool)
}

async fn serve<S>(listener: TcpListener, service: S) -> Result<(), Box<dyn Error>>
where
    S: tower::Service<Request<Incoming>, Response = Response<Full<Bytes>>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    println!("listening on http://{}", listener.local_addr()?);
    let shutdown = support::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
