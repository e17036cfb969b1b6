//! `livefyre emulator`: the library's emulator as a server, configured like
//! `examples/emulator.rs` (`LIVEFYRE_NETWORK`, `LIVEFYRE_NETWORK_KEY`, `LISTEN_ADDR`).

use std::net::SocketAddr;
use std::process::ExitCode;

use tower_livefyre::Network;
use tower_livefyre::emulator::Emulator;

use crate::args::EmulatorArgs;
use crate::error::CliError;
use crate::key::{DEMO_KEY, DEMO_NETWORK};

const DEFAULT_LISTEN: &str = "127.0.0.1:3001";

pub async fn run(args: EmulatorArgs) -> Result<ExitCode, CliError> {
    let network = network_from_env()?;
    let listen = match args.listen {
        Some(listen) => listen,
        None => {
            let addr = var("LISTEN_ADDR")?.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
            addr.parse::<SocketAddr>().map_err(|error| {
                CliError::Usage(format!("LISTEN_ADDR {addr:?} is not an address: {error}"))
            })?
        }
    };
    let emulator = Emulator::builder(network)
        .listen(listen)
        .start()
        .await
        .map_err(|error| CliError::Failed(format!("cannot start the emulator: {error}")))?;
    println!("listening on {}", emulator.url());
    shutdown_signal().await;
    emulator.shutdown().await;
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// As the example: the network from `LIVEFYRE_NETWORK` (default the demo network), the key
/// from `LIVEFYRE_NETWORK_KEY` (default the public demo key, with a warning).
fn network_from_env() -> Result<Network, CliError> {
    let name = var("LIVEFYRE_NETWORK")?.unwrap_or_else(|| DEMO_NETWORK.to_owned());
    let key = var("LIVEFYRE_NETWORK_KEY")?;
    if key.as_deref().is_none_or(|key| key == DEMO_KEY) {
        eprintln!("WARNING: LIVEFYRE_NETWORK_KEY: using the PUBLIC DEMO KEY, known to everyone.");
        eprintln!(
            "WARNING: anyone can forge pull tokens for it: set your own key outside your laptop."
        );
    }
    Network::new(name, key.as_deref().unwrap_or(DEMO_KEY)).map_err(|error| {
        CliError::Usage(format!("LIVEFYRE_NETWORK / LIVEFYRE_NETWORK_KEY: {error}"))
    })
}

fn var(name: &str) -> Result<Option<String>, CliError> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(CliError::Usage(format!("{name} is not valid UTF-8")))
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
