//! The pull endpoint on raw hyper 1, no framework: `cargo run --example hyper`.
//!
//! Same environment as the `server` example (`LIVEFYRE_NETWORK`, `LIVEFYRE_NETWORK_KEY`,
//! `LISTEN_ADDR`, default `127.0.0.1:3000`), profiles from an in-memory map. The tower service
//! becomes a hyper service through hyper-util's `TowerToHyperService`; hyper's `Incoming`
//! request body goes straight through the gate.

mod support;

use std::convert::Infallible;
use std::error::Error;
use std::process::ExitCode;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{ServiceExt, service_fn};
use tower_livefyre::pull_endpoint;

#[tokio::main]
async fn main() -> ExitCode {
    support::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let (network, demo) = support::network_from_env()?;
    let endpoint = pull_endpoint(network.clone(), support::demo_profiles());

    // One path is the pull endpoint; everything else is 404.
    let app = service_fn(move |request: Request<Incoming>| {
        let endpoint = endpoint.clone();
        async move {
            if request.uri().path() == "/livefyre/pull" {
                endpoint.oneshot(request).await
            } else {
                let mut response = Response::new(Full::<Bytes>::default());
                *response.status_mut() = StatusCode::NOT_FOUND;
                Ok::<_, Infallible>(response)
            }
        }
    });

    let listener = TcpListener::bind(support::listen_addr("127.0.0.1:3000")?).await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    if demo {
        println!("try: {}", support::demo_curl(&network, addr, "ann.lee")?);
    }

    let shutdown = support::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
    Ok(())
}
