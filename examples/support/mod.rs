//! What the examples share: configuration from the environment, demo users, shutdown.
#![allow(dead_code)] // each example uses a different part

use std::collections::HashMap;
use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response};
use http_body_util::Full;
use tower_livefyre::{
    Network, Profile, UserId,
    profile::{EmailNotifications, Frequency, Name},
};

/// The public demo key: fine on a laptop, never in production.
pub const DEMO_KEY: &str = "tower-livefyre-demo-network-key";

/// The default of `LIVEFYRE_NETWORK`, and the only network the public demo key may serve.
pub const DEMO_NETWORK: &str = "demo.fyre.co";

/// The variables the examples read; any other `LIVEFYRE_*` name is probably a misspelling.
const KNOWN_VARS: &[&str] = &[
    "LIVEFYRE_NETWORK",
    "LIVEFYRE_NETWORK_KEY",
    "LIVEFYRE_API_URL",
    "LIVEFYRE_PULL_URL",
];

/// The network from `LIVEFYRE_NETWORK` (default `demo.fyre.co`) and `LIVEFYRE_NETWORK_KEY`.
///
/// Fails closed: the public demo key is used only for the demo network, and only when no key
/// is set (with a loud warning on stderr); any other network without a key, or with the public
/// demo key, is an error. The flag says whether the demo key is in use: only then may an
/// example print a token.
pub fn network_from_env() -> Result<(Network, bool), Box<dyn Error>> {
    let name = var("LIVEFYRE_NETWORK")?.unwrap_or_else(|| DEMO_NETWORK.to_owned());
    let is_demo_network = name.eq_ignore_ascii_case(DEMO_NETWORK);
    let key = match var("LIVEFYRE_NETWORK_KEY")? {
        Some(key) if key == DEMO_KEY && !is_demo_network => {
            return Err(format!(
                "LIVEFYRE_NETWORK_KEY is the public demo key, which only serves {DEMO_NETWORK}: \
                 set the key of {name:?}"
            )
            .into());
        }
        Some(key) => key,
        None if is_demo_network => DEMO_KEY.to_owned(),
        None => {
            return Err(format!(
                "LIVEFYRE_NETWORK_KEY is not set: network {name:?} needs its own key \
                 (the public demo key only serves {DEMO_NETWORK}){}",
                misspelling_hint()
            )
            .into());
        }
    };
    let demo = key == DEMO_KEY;
    if demo {
        eprintln!("WARNING: LIVEFYRE_NETWORK_KEY: using the PUBLIC DEMO KEY, known to everyone.");
        eprintln!(
            "WARNING: anyone can forge pull tokens for it: set your own key outside your laptop."
        );
    }
    let network = Network::new(name, key)
        .map_err(|e| format!("LIVEFYRE_NETWORK / LIVEFYRE_NETWORK_KEY: {e}"))?;
    Ok((network, demo))
}

/// Names (never values) of set `LIVEFYRE*` variables the examples do not read.
fn misspelling_hint() -> String {
    let unknown: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| {
            name.to_ascii_uppercase().starts_with("LIVEFYRE")
                && !KNOWN_VARS.contains(&name.as_str())
        })
        .collect();
    if unknown.is_empty() {
        String::new()
    } else {
        format!(
            "; unknown variables set (misspelled?): {}",
            unknown.join(", ")
        )
    }
}

/// The exit of an example: `error: …` on stderr and status 1 on failure.
pub fn exit_code(result: Result<(), Box<dyn Error>>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok(None)` when unset; a set-but-empty value is used as is (an empty key is an error).
pub fn var(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
    }
}

/// `LISTEN_ADDR`, or `default`.
pub fn listen_addr(default: &str) -> Result<SocketAddr, Box<dyn Error>> {
    let addr = var("LISTEN_ADDR")?.unwrap_or_else(|| default.to_owned());
    addr.parse()
        .map_err(|error| format!("LISTEN_ADDR {addr:?} is not an address: {error}").into())
}

/// A few users for the in-memory examples.
pub fn demo_profiles() -> HashMap<UserId, Profile> {
    let ann = Profile::new(UserId::from_static("ann.lee"), "Ann Lee")
        .with_name(Name::new().with_first("Ann").with_last("Lee"))
        .with_email("ann.lee@example.com")
        .with_image_url("https://example.com/avatars/ann.lee.png")
        .with_tags(["staff", "early_adopter"])
        .with_email_notifications(
            EmailNotifications::new()
                .with_replies(Frequency::Immediately)
                .with_comments(Frequency::Often),
        );
    let bob = Profile::new(UserId::from_static("bob"), "Bob");
    [ann, bob]
        .into_iter()
        .map(|profile| (profile.id.clone(), profile))
        .collect()
}

/// The answer of `load_server`'s bare handlers (and of the benches' bare twin): the
/// profile's JSON, or an empty body; no checks.
pub fn json_response(profile: Option<&Profile>) -> Response<Full<Bytes>> {
    let mut response = match profile {
        Some(profile) => Response::new(Full::new(Bytes::from(
            serde_json::to_vec(profile).unwrap_or_default(),
        ))),
        None => Response::new(Full::default()),
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
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
