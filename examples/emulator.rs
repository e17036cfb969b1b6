//! Livefyre on your laptop: the emulator as a standalone server.
//!
//! ```sh
//! cargo run --features emulator --example emulator
//! ```
//!
//! Environment: `LIVEFYRE_NETWORK` (default `demo.fyre.co`), `LIVEFYRE_NETWORK_KEY` (required
//! unless the network is `demo.fyre.co`, which defaults to the public demo key, with a
//! warning), `LISTEN_ADDR` (default `127.0.0.1:3001`). Stops on Ctrl-C or SIGTERM.
//!
//! The emulator's API has no authentication (whoever reaches it can make it fetch URLs, read
//! stored profiles and drive faults), so keep it on loopback: with the public demo key a
//! non-loopback `LISTEN_ADDR` is an error, with your own key a warning.
//!
//! Its HTTP API is in the `tower_livefyre::emulator` module documentation. To try how your
//! app lives through an outage, for example ten seconds of 503 and then three with
//! `Retry-After`, and to see what the pings met:
//!
//! ```sh
//! curl -X POST http://127.0.0.1:3001/_emulator/faults -d '[
//!   {"fault": "unavailable", "for_ms": 10000},
//!   {"fault": "unavailable", "retry_after": 2, "pings": 3}]'
//! curl http://127.0.0.1:3001/_emulator/pings
//! curl -X DELETE http://127.0.0.1:3001/_emulator/faults
//! ```
//!
//! Or pings that are accepted and then pulled never (the next three) or two minutes late:
//!
//! ```sh
//! curl -X POST http://127.0.0.1:3001/_emulator/faults -d '[
//!   {"fault": "no_pull", "pings": 3},
//!   {"fault": "late_pull", "delay_ms": 120000, "pings": 1}]'
//! ```

mod support;

use std::error::Error;
use std::process::ExitCode;

use tower_livefyre::emulator::Emulator;

#[tokio::main]
async fn main() -> ExitCode {
    support::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let (network, demo) = support::network_from_env()?;
    let listen = support::listen_addr("127.0.0.1:3001")?;
    if !listen.ip().to_canonical().is_loopback() {
        if demo {
            return Err(format!(
                "LISTEN_ADDR={listen} is not a loopback address, and the emulator runs with the \
                 public demo key, which anyone can sign with: listen on 127.0.0.1, or set your \
                 own LIVEFYRE_NETWORK and LIVEFYRE_NETWORK_KEY"
            )
            .into());
        }
        eprintln!(
            "WARNING: LISTEN_ADDR={listen} is not a loopback address: anyone who can reach it \
             can use the emulator's API, which has no authentication."
        );
    }
    let emulator = Emulator::builder(network).listen(listen).start().await?;
    println!("listening on {}", emulator.url());

    support::shutdown_signal().await;
    emulator.shutdown().await;
    eprintln!("stopped");
    Ok(())
}
