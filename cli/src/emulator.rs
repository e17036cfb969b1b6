//! `livefyre emulator`: the library's emulator as a server, configured like
//! `examples/emulator.rs` (`LIVEFYRE_NETWORK`, `LIVEFYRE_NETWORK_KEY`, `LISTEN_ADDR`), and
//! like the other subcommands (`--network`, `--key-file`, `--listen`).

use std::net::SocketAddr;
use std::process::ExitCode;

use tower_livefyre::emulator::Emulator;

use crate::args::EmulatorArgs;
use crate::error::CliError;
use crate::key::{self, DEMO_NETWORK};

const DEFAULT_LISTEN: &str = "127.0.0.1:3001";

pub async fn run(args: EmulatorArgs) -> Result<ExitCode, CliError> {
    let network = key::credentials(&args.network, Some(DEMO_NETWORK))?.network;
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
