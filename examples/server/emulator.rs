//! Demo-key mode with `LIVEFYRE_API_URL` unset: Livefyre's side runs in this process (the
//! crate's emulator), so `cargo run --example server` alone shows the whole sequence.

use std::error::Error;
use std::io::ErrorKind;
use std::net::SocketAddr;

use tower_livefyre::Network;
use tower_livefyre::emulator::{Emulator, EmulatorError};

use crate::support;

/// Where the in-process emulator listens by default: the emulator example's address.
const DEFAULT_EMULATOR_ADDR: &str = "127.0.0.1:3001";

/// Where pings and the registration go.
pub enum Api {
    /// `LIVEFYRE_API_URL`, or the network's Livefyre host with a real key.
    Configured(Option<String>),
    /// The emulator running in this process.
    InProcess(Emulator),
    /// Something already listened on the emulator's address (the emulator example, say):
    /// it is used.
    Existing(SocketAddr),
}

impl Api {
    /// The base URL for the ping client, when it is not the network's Livefyre host.
    pub fn url(&self) -> Option<String> {
        match self {
            Self::Configured(url) => url.clone(),
            Self::InProcess(emulator) => Some(emulator.url()),
            Self::Existing(addr) => Some(format!("http://{addr}")),
        }
    }

    /// The emulator's page, when pings go to an emulator.
    pub fn emulator_page(&self) -> Option<String> {
        match self {
            Self::Configured(_) => None,
            Self::InProcess(emulator) => Some(format!("{}/_emulator/", emulator.url())),
            Self::Existing(addr) => Some(format!("http://{addr}/_emulator/")),
        }
    }

    /// Stops the in-process emulator, if any.
    pub async fn shutdown(self) {
        if let Self::InProcess(emulator) = self {
            emulator.shutdown().await;
        }
    }
}

/// `LIVEFYRE_API_URL` when set; else, in demo-key mode, the emulator started in this process
/// on `EMULATOR_ADDR` (default `127.0.0.1:3001`), or what already listens there.
pub async fn api(network: &Network, demo: bool) -> Result<Api, Box<dyn Error>> {
    let configured = support::var("LIVEFYRE_API_URL")?;
    if configured.is_some() || !demo {
        return Ok(Api::Configured(configured));
    }
    let text = support::var("EMULATOR_ADDR")?.unwrap_or_else(|| DEFAULT_EMULATOR_ADDR.to_owned());
    let addr: SocketAddr = text
        .parse()
        .map_err(|e| format!("EMULATOR_ADDR={text:?} is not an address: {e}"))?;
    match Emulator::builder(network.clone())
        .listen(addr)
        .start()
        .await
    {
        Ok(emulator) => {
            tracing::info!(url = %emulator.url(), "Livefyre emulator started in this process");
            Ok(Api::InProcess(emulator))
        }
        Err(EmulatorError::Bind { source, .. }) if source.kind() == ErrorKind::AddrInUse => {
            tracing::info!(%addr, "something already listens on EMULATOR_ADDR; pinging it");
            Ok(Api::Existing(addr))
        }
        Err(error) => Err(format!("EMULATOR_ADDR={addr}: {error}").into()),
    }
}
