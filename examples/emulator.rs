//! Livefyre on your laptop: the emulator as a standalone server.
//!
//! ```sh
//! cargo run --features emulator --example emulator
//! ```
//!
//! Environment: `LIVEFYRE_NETWORK` (default `demo.fyre.co`), `LIVEFYRE_NETWORK_KEY` (default
//! a fixed demo key, with a warning), `LISTEN_ADDR` (default `127.0.0.1:3001`). Stops on
//! Ctrl-C or SIGTERM.

use std::error::Error;
use std::net::SocketAddr;

use tower_livefyre::Network;
use tower_livefyre::emulator::Emulator;

/// Used only when `LIVEFYRE_NETWORK_KEY` is unset; anyone can read it here.
const DEMO_KEY: &str = "demo-network-key-do-not-use-in-production";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();

    let name = env_or("LIVEFYRE_NETWORK", "demo.fyre.co");
    let key = std::env::var("LIVEFYRE_NETWORK_KEY").unwrap_or_else(|_| {
        eprintln!("WARNING: LIVEFYRE_NETWORK_KEY is not set; using the public demo key.");
        eprintln!("WARNING: tokens signed with it prove nothing. Set LIVEFYRE_NETWORK_KEY.");
        DEMO_KEY.to_owned()
    });
    let listen: SocketAddr = env_or("LISTEN_ADDR", "127.0.0.1:3001")
        .parse()
        .map_err(|error| {
            format!("LISTEN_ADDR is not an address such as 127.0.0.1:3001: {error}")
        })?;

    let network = Network::new(name, key)?;
    let emulator = Emulator::builder(network).listen(listen).start().await?;
    println!("listening on {}", emulator.url());

    stop_signal().await?;
    emulator.shutdown().await;
    eprintln!("stopped");
    Ok(())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Ctrl-C anywhere, and SIGTERM on Unix (what `docker stop` and systemd send).
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
