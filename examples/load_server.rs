//! The target of `scripts/load.sh`: one hyper HTTP/1.1 server, two handlers.
//!
//! `cargo run --release --example load_server -- bare` answers with the requested demo
//! profile's JSON, no checks: the least any pull endpoint does (find `id` in the query, look
//! it up, serialize). `… -- pull` serves the same profile through
//! `pull_endpoint` (token gate + `PullService` over an in-memory map). Both use the same
//! accept loop and connection settings, so the difference is the crate's per-request work.
//!
//! Environment: `LISTEN_ADDR` (default `127.0.0.1:3100`), `LOAD_WORKERS` (tokio worker
//! threads, default one per core), `LIVEFYRE_NETWORK`, `LIVEFYRE_NETWORK_KEY` (as the other examples),
//! `LOAD_METRICS=prometheus` (installs `metrics-exporter-prometheus`'s recorder, to measure
//! the cost of the crate's metrics with a real recorder; they are emitted only when the
//! server is built with `--features metrics`, as `LOAD_FEATURES=metrics scripts/load.sh` does).

mod support;

use std::convert::Infallible;
use std::error::Error;
use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::service_fn;
use tower_livefyre::pull_endpoint;

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
    let listener = TcpListener::bind(support::listen_addr("127.0.0.1:3100")?).await?;

    match mode.as_str() {
        "bare" => {
            // What any hand-written pull endpoint does at the least: find the id in the query,
            // look the user up, serialize. No token, id or profile checks.
            let profiles = Arc::new(profiles);
            let bare = service_fn(move |request: Request<Incoming>| {
                let query = request.uri().query().unwrap_or_default().as_bytes();
                let id = form_urlencoded::parse(query).find_map(|(k, v)| (k == "id").then_some(v));
                let mut response = match id.and_then(|id| profiles.get(id.as_ref())) {
                    Some(profile) => Response::new(Full::new(Bytes::from(
                        serde_json::to_vec(profile).unwrap_or_default(),
                    ))),
                    None => Response::new(Full::default()),
                };
                let headers = response.headers_mut();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                std::future::ready(Ok::<_, Infallible>(response))
            });
            serve(listener, bare).await
        }
        "pull" => serve(listener, pull_endpoint(network, profiles)).await,
        other => Err(format!("usage: load_server bare|pull (got {other:?})").into()),
    }
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
