//! `livefyre emulator`: the library's emulator as a server, configured like
//! `examples/emulator.rs` (`LIVEFYRE_NETWORK`, `LIVEFYRE_NETWORK_KEY`, `LISTEN_ADDR`), and
//! like the other subcommands (`--network`, `--key-file`, `--listen`).
//!
//! The emulator's HTTP API has no authentication: whoever reaches it can register a
//! template (so the emulator GETs any http URL they name, and shows the results in
//! `/_emulator/pulls`), read stored profiles with their emails, and drive the faults. So it
//! listens on loopback only, unless `--allow-remote-unauthenticated` says the risk is
//! understood; with the public demo key, which anyone can sign with, never.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use tower_livefyre::emulator::Emulator;

use crate::args::EmulatorArgs;
use crate::error::CliError;
use crate::key::{self, DEMO_KEY, DEMO_NETWORK};

const DEFAULT_LISTEN: &str = "127.0.0.1:3001";

pub async fn run(args: EmulatorArgs) -> Result<ExitCode, CliError> {
    let credentials = key::credentials(&args.network, Some(DEMO_NETWORK))?;
    let listen = match args.listen {
        Some(listen) => listen,
        None => {
            let addr = var("LISTEN_ADDR")?.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
            addr.parse::<SocketAddr>().map_err(|error| {
                CliError::Usage(format!("LISTEN_ADDR {addr:?} is not an address: {error}"))
            })?
        }
    };
    let demo_key = credentials.key.bytes() == DEMO_KEY.as_bytes();
    check_listen(listen, demo_key, args.allow_remote_unauthenticated)?;
    let emulator = Emulator::builder(credentials.network)
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

/// Refuses a non-loopback `listen` unless `allowed`, and always with the demo key.
fn check_listen(listen: SocketAddr, demo_key: bool, allowed: bool) -> Result<(), CliError> {
    if is_loopback(listen.ip()) {
        return Ok(());
    }
    if demo_key {
        return Err(CliError::Usage(format!(
            "refusing to listen on {listen}: it is not a loopback address, and the emulator \
             runs with the public demo key, so anyone who reaches it could sign tokens for it; \
             listen on 127.0.0.1, or set your own key"
        )));
    }
    if !allowed {
        return Err(CliError::Usage(format!(
            "refusing to listen on {listen}: it is not a loopback address, and the emulator's \
             API has no authentication (anyone who reaches it can make it fetch URLs, read \
             stored profiles and drive faults); listen on 127.0.0.1, or pass \
             --allow-remote-unauthenticated"
        )));
    }
    eprintln!(
        "WARNING: listening on {listen} with --allow-remote-unauthenticated: anyone who can \
         reach it can use the emulator's API."
    );
    Ok(())
}

/// Loopback, IPv4-mapped IPv6 (`::ffff:127.0.0.1`) included.
fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
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
