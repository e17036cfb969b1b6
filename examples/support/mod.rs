//! What the examples share: configuration from the environment, demo users, shutdown.
#![allow(dead_code)] // each example uses a different part

use std::collections::HashMap;
use std::error::Error;
use std::net::SocketAddr;

use tower_livefyre::{EmailNotifications, Frequency, Name, Network, Profile};

/// The public demo key: fine on a laptop, never in production.
pub const DEMO_KEY: &str = "tower-livefyre-demo-network-key";

/// The network from `LIVEFYRE_NETWORK` (default `demo.fyre.co`) and `LIVEFYRE_NETWORK_KEY`
/// (default the demo key, with a warning). The flag says whether the demo key is in use.
pub fn network_from_env() -> Result<(Network, bool), Box<dyn Error>> {
    let name = std::env::var("LIVEFYRE_NETWORK").unwrap_or_else(|_| "demo.fyre.co".to_owned());
    let (key, demo) = match std::env::var("LIVEFYRE_NETWORK_KEY") {
        Ok(key) if !key.is_empty() => (key, false),
        _ => {
            eprintln!(
                "WARNING: LIVEFYRE_NETWORK_KEY is not set; using the PUBLIC demo key. \
                 Anyone can mint tokens for it. Never use it in production."
            );
            (DEMO_KEY.to_owned(), true)
        }
    };
    let demo = demo || key == DEMO_KEY;
    Ok((Network::new(name, key)?, demo))
}

/// `LISTEN_ADDR`, or `default`.
pub fn listen_addr(default: &str) -> Result<SocketAddr, Box<dyn Error>> {
    let addr = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| default.to_owned());
    addr.parse()
        .map_err(|error| format!("LISTEN_ADDR {addr:?} is not an address: {error}").into())
}

/// A few users for the in-memory examples.
pub fn demo_profiles() -> HashMap<String, Profile> {
    let ann = Profile::new("ann.lee", "Ann Lee")
        .with_name(Name::new().with_first("Ann").with_last("Lee"))
        .with_email("ann.lee@example.com")
        .with_image_url("https://example.com/avatars/ann.lee.png")
        .with_tags(["staff", "early_adopter"])
        .with_email_notifications(
            EmailNotifications::new()
                .with_replies(Frequency::Immediately)
                .with_comments(Frequency::Often),
        );
    let bob = Profile::new("bob", "Bob");
    [ann, bob]
        .into_iter()
        .map(|profile| (profile.id.clone(), profile))
        .collect()
}

/// The `curl` line that pulls `id` like Livefyre would, for demo-key mode only.
pub fn demo_curl(network: &Network, addr: SocketAddr, id: &str) -> Result<String, Box<dyn Error>> {
    let token = network.build_livefyre_token()?;
    Ok(format!(
        "curl -i 'http://{addr}/livefyre/pull?id={id}&lftoken={token}'"
    ))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
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
