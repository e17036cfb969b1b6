//! The server's side of the ping: where pings go, the pull URL registration, the relay.

use std::error::Error;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sqlx::Any;
use tower_livefyre::outbox::{Outbox, Relay};
use tower_livefyre::{Network, PingClient, url::PullUrlTemplate};

use crate::support;

/// The client for `url` (from [`crate::emulator::api`]), or for the network's Livefyre host.
pub fn client(network: &Network, url: Option<String>) -> Result<PingClient, Box<dyn Error>> {
    let client = PingClient::new(network.clone())?;
    match url {
        Some(url) => Ok(client
            .base_url(&url)
            .map_err(|e| format!("LIVEFYRE_API_URL={url}: {e}"))?),
        None => Ok(client),
    }
}

/// The pull URL to register: `LIVEFYRE_PULL_URL`, or in demo-key mode this server's own.
pub fn pull_url(demo: bool, addr: SocketAddr) -> Result<Option<String>, Box<dyn Error>> {
    let own = || format!("http://{addr}/livefyre/pull?id={{id}}");
    Ok(support::var("LIVEFYRE_PULL_URL")?.or_else(|| demo.then(own)))
}

/// A positive whole number of seconds (or of pings) from `name`, or `default`.
fn number(name: &str, default: u64) -> Result<u64, Box<dyn Error>> {
    match support::var(name)? {
        None => Ok(default),
        Some(text) => match text.parse() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{name}={text:?} is not a positive whole number").into()),
        },
    }
}

/// The relay, with `RELAY_LEASE_SECS`, `RELAY_CONCURRENCY` and `RELAY_PULL_DEADLINE_SECS`
/// when set. Pull confirmation is on: this process serves the pull endpoint, through
/// [`Outbox::confirm_pulls`].
pub fn relay(
    outbox: &Outbox<Any>,
    client: PingClient,
    demo: bool,
) -> Result<Relay<Any>, Box<dyn Error>> {
    let lease = number("RELAY_LEASE_SECS", 60)?;
    let concurrency = number("RELAY_CONCURRENCY", 16)?;
    // Livefyre documents pulls within 1 to 10 minutes; the emulator pulls at once.
    let deadline = number("RELAY_PULL_DEADLINE_SECS", if demo { 30 } else { 900 })?;
    Ok(outbox
        .relay(client)
        .lease(Duration::from_secs(lease))
        .concurrency(usize::try_from(concurrency).unwrap_or(usize::MAX))
        .confirm_pulls(true)
        .pull_deadline(Duration::from_secs(deadline))
        // A laptop demo: do not wait minutes after the emulator comes back.
        .backoff(Duration::from_millis(500), Duration::from_secs(30)))
}

/// How often, at most, a registration that keeps failing says so.
const FAILURE_SUMMARY_EVERY: Duration = Duration::from_secs(60);

/// Registers `template` until Livefyre accepts it, backing off up to 10 s between tries.
/// Gives up (loudly) only on answers retrying cannot change, such as a wrong key. The first
/// failure is a WARN; later ones are summarised (with their count) once a minute at most.
pub async fn register(client: &PingClient, template: &str) {
    let template: PullUrlTemplate = match template.parse() {
        Ok(template) => template,
        Err(error) => {
            tracing::error!(%error, %template, "pull URL refused; pings will park until it is fixed");
            return;
        }
    };
    let mut wait = Duration::from_millis(250);
    let mut failures: u64 = 0;
    let mut unreported: u64 = 0;
    let mut last_report = Instant::now();
    loop {
        match client.set_user_sync_url(&template).await {
            Ok(()) => {
                tracing::info!(%template, failures, "pull URL registered");
                return;
            }
            Err(error) if error.is_permanent() => {
                tracing::error!(%error, "pull URL registration refused; pings will park until it is fixed");
                return;
            }
            Err(error) => {
                failures += 1;
                unreported += 1;
                if failures == 1 {
                    tracing::warn!(%error, "pull URL registration failed; retrying (failures are summarised once a minute)");
                    unreported = 0;
                    last_report = Instant::now();
                } else if last_report.elapsed() >= FAILURE_SUMMARY_EVERY {
                    tracing::warn!(%error, failures, since_last_report = unreported, "pull URL registration still failing; retrying");
                    unreported = 0;
                    last_report = Instant::now();
                } else {
                    tracing::debug!(%error, ?wait, "pull URL registration failed; retrying");
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(10));
            }
        }
    }
}
