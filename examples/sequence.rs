//! Livefyre's Ping-for-Pull sequence, told step by step while it runs:
//!
//! ```sh
//! cargo run --example sequence --features emulator
//! ```
//!
//! Everything happens in this process, on loopback ports. *Your app* is an in-memory user
//! database with its pull endpoint ([`pull_endpoint`], served by hyper); *Livefyre* is the
//! crate's [`Emulator`]. The seven steps are the ones Livefyre documented:
//!
//! 1. a user's profile changes in your database;
//! 2. your app pings Livefyre with the user id ([`PingClient::sync_user`]); Livefyre answers 200;
//! 3. Livefyre queues the work;
//! 4. Livefyre pulls: `GET` on the URL you registered, `{id}` filled in, `lftoken` appended;
//! 5. your endpoint validates `lftoken` and answers with the profile JSON;
//! 6. Livefyre stores that document as the user's *remote profile*;
//! 7. the remote profile is what Livefyre now holds and shows.
//!
//! Environment: `LIVEFYRE_NETWORK` and `LIVEFYRE_NETWORK_KEY`, as in the other examples (the
//! public demo key by default, for `demo.fyre.co` only). No token or key is ever printed.

mod support;

use std::collections::HashMap;
use std::convert::Infallible;
use std::error::Error;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use http::header::CONTENT_TYPE;
use http::{Request, StatusCode, Uri};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tower::{ServiceExt, service_fn};
use tower_livefyre::emulator::{Emulator, PullOutcome};
use tower_livefyre::{
    PingClient, Profile, ProfileSource, UserId, pull_endpoint, url::PullUrlTemplate,
};

/// "Your database": profiles by user id, editable while the pull endpoint serves them.
struct Users(RwLock<HashMap<UserId, Profile>>);

impl Users {
    /// Commits a new version of a profile.
    fn save(&self, profile: Profile) {
        let mut table = self.0.write().expect("users lock");
        table.insert(profile.id.clone(), profile);
    }
}

impl ProfileSource for Users {
    type Error = Infallible;

    async fn profile(&self, id: &UserId) -> Result<Option<Profile>, Infallible> {
        Ok(self.0.read().expect("users lock").get(id).cloned())
    }
}

/// What the pull endpoint saw of one pull: the request line (token hidden) and its answer.
type Seen = (String, StatusCode, String);

#[tokio::main]
async fn main() -> ExitCode {
    support::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    let (network, _demo_key) = support::network_from_env()?;
    let users = Arc::new(Users(RwLock::new(support::demo_profiles())));

    // Your app: the pull endpoint over your database, on a free loopback port. The wrapper
    // only reports what the endpoint saw, so that steps 4 and 5 can be told below.
    let endpoint = pull_endpoint(network.clone(), users.clone());
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Seen>();
    let app = service_fn(move |request: Request<Incoming>| {
        let (endpoint, seen_tx) = (endpoint.clone(), seen_tx.clone());
        let line = format!("{} {}", request.method(), without_token(request.uri()));
        async move {
            let response = endpoint.oneshot(request).await?;
            let content_type = response.headers().get(CONTENT_TYPE);
            let content_type = content_type.and_then(|v| v.to_str().ok()).unwrap_or("-");
            let _ = seen_tx.send((line, response.status(), content_type.to_owned()));
            Ok::<_, Infallible>(response)
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let pull_url = format!("http://{}/livefyre/pull?id={{id}}", listener.local_addr()?);
    let (stop, mut stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                Ok((stream, _)) = listener.accept() => {
                    let service = TowerToHyperService::new(app.clone());
                    connections.spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
                }
                _ = &mut stopped => break,
            }
        }
        while connections.join_next().await.is_some() {}
    });

    // Livefyre: the emulator, and the client your app uses to talk to it.
    let livefyre = Emulator::start(network.clone()).await?;
    let client = PingClient::new(network.clone())?.base_url(livefyre.url())?;
    let (name, livefyre_url) = (network.name(), livefyre.url());
    println!("Ping for Pull, step by step, for network {name}");
    println!("  your pull endpoint:  {pull_url}");
    println!("  Livefyre (emulator): {livefyre_url}");

    // Once per network (Studio can do the same): where Livefyre pulls profiles from.
    let pull_url: PullUrlTemplate = pull_url.parse()?;
    client.set_user_sync_url(&pull_url).await?;
    println!("  pull URL registered with PingClient::set_user_sync_url (once per network)");

    let id: &UserId = &"ann.lee".parse()?;
    let before = users.profile(id).await?.ok_or("no demo user")?;
    println!("\nIn your database, {id} is:\n    {}", json(&before));
    if livefyre.remote_profile(id).is_none() {
        println!("Livefyre holds no remote profile of {id} yet.");
    }

    let mut edited = before.clone();
    edited.display_name = "Ann Lee-Park".to_owned();
    edited.email = Some("ann.park@example.com".to_owned());
    // A new avatar URL: Livefyre re-fetches an image only when its URL changes.
    edited.image_url = Some("https://example.com/avatars/ann.lee-2.png".to_owned());
    users.save(edited.clone());
    println!("\n(1) Your app commits an edit of {id} to your database:");
    println!("    {}", json(&edited));

    client.sync_user(id).await?;
    println!("(2) Once the edit is committed, your app pings Livefyre: sync_user({id:?}),");
    println!("    POST /api/v3_0/user/{id}/refresh with a system token; Livefyre answers 200");
    println!("(3) Livefyre queues a pull of {id} (1-10 minutes in production; here at once)");

    let record = livefyre.wait_for_pull(id, Duration::from_secs(10)).await?;
    let (request, status, content_type) = seen_rx.recv().await.ok_or("no pull seen")?;
    println!("(4) Livefyre pulls from your endpoint, with a fresh system token:");
    println!("    {request}");
    println!("(5) Your endpoint validates lftoken (HS256, network key, domain, user `system`,");
    println!("    expiry) and answers {status} {content_type}: the profile JSON");
    if record.outcome != PullOutcome::Stored {
        return Err(format!("the pull ended as {}: {:?}", record.outcome, record.reason).into());
    }
    println!("(6) Livefyre checks the document and stores it as {id}'s remote profile");

    let remote = livefyre.remote_profile(id);
    if remote.as_ref() != Some(&edited) {
        return Err("the remote profile differs from your database".into());
    }
    let (url, code, outcome) = (&record.url, record.status.unwrap_or(0), record.outcome);
    println!("(7) Livefyre now holds the new profile of {id}. Its pull log:");
    println!("    {id}: GET {url} -> {code} {outcome}");
    println!("    and the remote profile:");
    println!("{}", serde_json::to_string_pretty(&remote)?);

    // Livefyre first (it is the client of your endpoint), then your server.
    livefyre.shutdown().await;
    let _ = stop.send(());
    server.await?;
    Ok(())
}

fn json(profile: &Profile) -> String {
    serde_json::to_string(profile).unwrap_or_default()
}

/// `path?query` with the `lftoken` value hidden: a token is a credential, never printed.
fn without_token(uri: &Uri) -> String {
    let query: Vec<&str> = (uri.query().unwrap_or_default().split('&'))
        .map(|pair| match pair.split_once('=') {
            Some(("lftoken", _)) => "lftoken=REDACTED",
            _ => pair,
        })
        .collect();
    format!("{}?{}", uri.path(), query.join("&"))
}
