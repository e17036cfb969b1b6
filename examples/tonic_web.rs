//! gRPC, grpc-web and the Livefyre pull endpoint on one port, with tonic:
//! `cargo run --example tonic_web`.
//!
//! The gRPC service is tonic-health (`grpc.health.v1.Health`), reachable over HTTP/2 gRPC and,
//! through tonic-web, over HTTP/1.1 grpc-web. tonic-web answers any plain HTTP/1.1 request
//! that is not grpc-web with 400, so its layer wraps the gRPC routes only; Livefyre's plain
//! `GET /livefyre/pull?id=…&lftoken=…` goes to the pull endpoint untouched.
//!
//! Environment as in the `server` example; profiles from an in-memory map.

mod support;

use std::error::Error;
use std::process::ExitCode;

use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_web::GrpcWebLayer;
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

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("", ServingStatus::Serving)
        .await;

    // grpc-web on the gRPC routes only: `layer` wraps the routes added so far.
    let app = Routes::new(health_service)
        .prepare()
        .into_axum_router()
        .layer(GrpcWebLayer::new())
        .route_service(
            "/livefyre/pull",
            pull_endpoint(network.clone(), support::demo_profiles()),
        );

    let listener = tokio::net::TcpListener::bind(support::listen_addr("127.0.0.1:3000")?).await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    if demo {
        println!("try: {}", support::demo_curl(&network, addr, "ann.lee")?);
    }

    Server::builder()
        .accept_http1(true)
        .add_routes(Routes::from(app))
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), support::shutdown_signal())
        .await?;
    Ok(())
}
