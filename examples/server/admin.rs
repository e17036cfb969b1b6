//! The admin listener (`ADMIN_ADDR`), apart from the pull endpoint's so that nothing
//! operational is exposed where Livefyre calls: `GET /metrics` (Prometheus text),
//! `GET /healthz`, `GET /readyz`, and the outbox page under `/admin`.

use std::error::Error;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};
use sqlx::{Any, AnyPool};
use tokio::net::TcpListener;
use tower_livefyre::outbox::Outbox;

use crate::support;

/// Where the admin listener listens by default.
const DEFAULT_ADMIN_ADDR: &str = "127.0.0.1:3002";

/// How long a readiness check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// What the admin routes share.
#[derive(Clone)]
struct Admin {
    pool: AnyPool,
    outbox: Outbox<Any>,
    metrics: PrometheusHandle,
    /// `/readyz` fails when the oldest pending change has waited longer.
    max_pending_age: Duration,
}

/// Binds `ADMIN_ADDR` (default `127.0.0.1:3002`; `127.0.0.1:0` picks a free port).
pub async fn bind() -> Result<TcpListener, Box<dyn Error>> {
    let addr = support::var("ADMIN_ADDR")?.unwrap_or_else(|| DEFAULT_ADMIN_ADDR.to_owned());
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("ADMIN_ADDR={addr}: {e}"))?;
    Ok(listener)
}

/// Installs the Prometheus recorder (the library's `livefyre_*` metrics, when its `metrics`
/// feature is on, and this example's own) and keeps its histograms trimmed.
pub fn install_metrics() -> Result<PrometheusHandle, Box<dyn Error>> {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("cannot install the Prometheus recorder: {e}"))?;
    metrics::describe_gauge!(
        "process_start_time_seconds",
        metrics::Unit::Seconds,
        "Start time of the process since the Unix epoch."
    );
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64());
    metrics::gauge!("process_start_time_seconds").set(started);
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// The admin routes. `READY_MAX_PENDING_AGE_SECS` (default 600) bounds the oldest pending
/// change's age for `/readyz`.
pub fn router(
    pool: AnyPool,
    outbox: Outbox<Any>,
    metrics: PrometheusHandle,
) -> Result<Router, Box<dyn Error>> {
    let max_pending_age = match support::var("READY_MAX_PENDING_AGE_SECS")? {
        None => Duration::from_secs(600),
        Some(text) => match text.parse() {
            Ok(secs) if secs > 0 => Duration::from_secs(secs),
            _ => {
                return Err(format!(
                    "READY_MAX_PENDING_AGE_SECS={text:?} is not a positive whole number"
                )
                .into());
            }
        },
    };
    let page = outbox.admin();
    let state = Admin {
        pool,
        outbox,
        metrics,
        max_pending_age,
    };
    Ok(Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        // The page routes relative to its mount: `/admin` and `/admin/` are the page,
        // `/admin/requeue` its POST. Put your own auth in front of it outside a laptop.
        .nest_service("/admin", page)
        .with_state(state))
}

/// Serves the admin routes until `stopped` turns true.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await
}

/// The address the admin listener got.
pub fn addr(listener: &TcpListener) -> std::io::Result<SocketAddr> {
    listener.local_addr()
}

async fn render_metrics(State(admin): State<Admin>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        admin.metrics.render(),
    )
        .into_response()
}

/// 200 when the database answers `SELECT 1` and the outbox stats can be read with the
/// oldest pending change younger than the bound; else 503. Either way a JSON body names
/// each check and what failed.
async fn readyz(State(admin): State<Admin>) -> Response {
    let database =
        match tokio::time::timeout(CHECK_TIMEOUT, sqlx::query("SELECT 1").execute(&admin.pool))
            .await
        {
            Ok(Ok(_)) => json!({ "ok": true }),
            Ok(Err(error)) => json!({ "ok": false, "error": error.to_string() }),
            Err(_) => {
                json!({ "ok": false, "error": format!("no answer within {CHECK_TIMEOUT:?}") })
            }
        };
    let limit = admin.max_pending_age.as_secs();
    let outbox = match tokio::time::timeout(CHECK_TIMEOUT, admin.outbox.stats()).await {
        Ok(Ok(stats)) => {
            let oldest = stats.oldest_pending_age.map(|age| age.as_secs());
            let stuck = oldest.is_some_and(|age| age > limit);
            let mut check = json!({
                "ok": !stuck,
                "pending": stats.pending,
                "parked": stats.parked,
                "oldest_pending_age_secs": oldest,
                "max_pending_age_secs": limit,
            });
            if stuck {
                check["error"] = Value::from(format!(
                    "the oldest pending change has waited more than {limit} s"
                ));
            }
            check
        }
        Ok(Err(error)) => json!({ "ok": false, "error": error.to_string() }),
        Err(_) => json!({ "ok": false, "error": format!("no answer within {CHECK_TIMEOUT:?}") }),
    };
    let failed: Vec<&str> = [("database", &database), ("outbox", &outbox)]
        .into_iter()
        .filter(|(_, check)| check["ok"] != true)
        .map(|(name, _)| name)
        .collect();
    let status = if failed.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "ready": failed.is_empty(),
        "failed": failed,
        "checks": { "database": database, "outbox": outbox },
    });
    let headers = [
        (header::CONTENT_TYPE, "application/json"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    (status, headers, body.to_string()).into_response()
}
