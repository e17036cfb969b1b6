//! The whole Ping-for-Pull sequence over real HTTP on loopback: `PingClient` pings the
//! `Emulator`, which pulls from `pull_endpoint` served by hyper, and stores what it got.
#![cfg(all(feature = "ping", feature = "emulator"))]

use crate::common;

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use tower::service_fn;
use tower_livefyre::emulator::{Emulator, PullOutcome};
use tower_livefyre::{
    Network, PingClient, Profile, ProfileSource, UserId, pull_endpoint, url::PullUrlTemplate,
};

use common::example::wait_with_output;
use common::{KEY, NETWORK, Served, network, serve, uid};

const WAIT: Duration = Duration::from_secs(10);

/// An editable in-memory user database.
#[derive(Default)]
struct Users(RwLock<HashMap<UserId, Profile>>);

impl Users {
    fn with(profiles: impl IntoIterator<Item = Profile>) -> Arc<Self> {
        let users = Self::default();
        for profile in profiles {
            users.put(profile);
        }
        Arc::new(users)
    }

    fn put(&self, profile: Profile) {
        self.0.write().unwrap().insert(profile.id.clone(), profile);
    }

    fn get(&self, id: &str) -> Profile {
        self.0.read().unwrap()[id].clone()
    }
}

impl ProfileSource for Users {
    type Error = Infallible;

    async fn profile(&self, id: &UserId) -> Result<Option<Profile>, Infallible> {
        Ok(self.0.read().unwrap().get(id).cloned())
    }
}

/// Livefyre (the emulator) and a client pointed at it, with `pull_url` registered through
/// `set_user_sync_url` as a real integration would.
async fn livefyre(workers: usize, pull_url: String) -> (Emulator, PingClient) {
    let emulator = Emulator::builder(network())
        .workers(workers)
        .start()
        .await
        .unwrap();
    let client = PingClient::new(network())
        .unwrap()
        .base_url(emulator.url())
        .unwrap();
    let pull_url: PullUrlTemplate = pull_url.parse().unwrap();
    client.set_user_sync_url(&pull_url).await.unwrap();
    assert_eq!(emulator.pull_url_template(), Some(pull_url));
    (emulator, client)
}

/// `pull_endpoint` over `users`, checking tokens against `key`, served on loopback.
async fn pull_server(key: &str, users: Arc<Users>) -> Served {
    let network = Network::new(NETWORK, key).unwrap();
    serve(pull_endpoint(network, users)).await
}

fn template(served: &Served) -> String {
    format!("{}/livefyre/pull?id={{id}}", served.url())
}

fn ann() -> Profile {
    Profile::new("ann.lee".parse().unwrap(), "Ann Lee")
        .with_email("ann@example.com")
        .with_tags(["staff"])
}

#[tokio::test]
async fn a_ping_makes_livefyre_pull_and_store_the_profile_and_an_edit_replaces_it() {
    let users = Users::with([ann(), Profile::new("bob".parse().unwrap(), "Bob")]);
    let served = pull_server(KEY, users.clone()).await;
    let (emulator, client) = livefyre(4, template(&served)).await;
    assert_eq!(emulator.remote_profile(&uid("ann.lee")), None);

    client.sync_user(&uid("ann.lee")).await.unwrap();
    let first = emulator.wait_for_pull(&uid("ann.lee"), WAIT).await.unwrap();
    assert_eq!(first.outcome, PullOutcome::Stored, "{first:?}");
    assert_eq!(first.status, Some(200));
    assert!(
        first
            .url
            .ends_with("/livefyre/pull?id=ann.lee&lftoken=REDACTED"),
        "{}",
        first.url
    );
    assert_eq!(
        emulator.remote_profile(&uid("ann.lee")),
        Some(users.get("ann.lee"))
    );
    assert_eq!(
        emulator.remote_profile(&uid("bob")),
        None,
        "bob was not pinged"
    );

    // An edit in the database changes nothing at Livefyre until the next ping.
    let mut edited = ann()
        .with_image_url("https://example.com/ann-2.png")
        .with_tags(["staff", "moderators"]);
    edited.display_name = "Ann Lee-Park".to_owned();
    users.put(edited.clone());
    assert_eq!(emulator.remote_profile(&uid("ann.lee")), Some(ann()));

    client.sync_user(&uid("ann.lee")).await.unwrap();
    let second = emulator.wait_for_pull(&uid("ann.lee"), WAIT).await.unwrap();
    assert_eq!(second.outcome, PullOutcome::Stored, "{second:?}");
    assert_eq!(emulator.remote_profile(&uid("ann.lee")), Some(edited));
    assert_eq!(emulator.pull_log().len(), 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_pull_endpoint_with_the_wrong_key_is_forbidden_and_nothing_is_stored() {
    let served = pull_server("not-the-network-key", Users::with([ann()])).await;
    let (emulator, client) = livefyre(4, template(&served)).await;

    // Livefyre accepts the ping (the client's key is right); its pull is refused.
    client.sync_user(&uid("ann.lee")).await.unwrap();
    let record = emulator.wait_for_pull(&uid("ann.lee"), WAIT).await.unwrap();
    assert_eq!(record.outcome, PullOutcome::Forbidden, "{record:?}");
    assert_eq!(record.status, Some(403));
    assert_eq!(emulator.remote_profile(&uid("ann.lee")), None);
    assert_eq!(emulator.pull_log(), vec![record]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_unknown_id_is_not_found_and_nothing_is_stored() {
    let served = pull_server(KEY, Users::with([ann()])).await;
    let (emulator, client) = livefyre(4, template(&served)).await;

    client.sync_user(&uid("nobody")).await.unwrap();
    let record = emulator.wait_for_pull(&uid("nobody"), WAIT).await.unwrap();
    assert_eq!(record.outcome, PullOutcome::NotFound, "{record:?}");
    assert_eq!(record.status, Some(404));
    assert_eq!(emulator.remote_profile(&uid("nobody")), None);
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_invalid_document_is_refused_with_the_field_named() {
    // A careless endpoint: 200 with a document `Profile::validate` refuses, no token check.
    let documents = HashMap::from([
        (
            "ftp".to_owned(),
            Profile::new("ftp".parse().unwrap(), "Ftp")
                .with_image_url("ftp://example.com/avatar.png"),
        ),
        (
            "tagged".to_owned(),
            Profile::new("tagged".parse().unwrap(), "Tagged").with_tags(["ok", "not a tag"]),
        ),
    ]);
    let careless = service_fn(move |request: Request<Incoming>| {
        let query = request.uri().query().unwrap_or_default().to_owned();
        let id = form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "id")
            .map(|(_, id)| id.into_owned())
            .unwrap_or_default();
        let body = serde_json::to_vec(&documents[&id]).unwrap();
        async move { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body)))) }
    });
    let served = serve(careless).await;
    let (emulator, client) = livefyre(4, template(&served)).await;

    let outcomes = client.sync_users(["ftp", "tagged"].map(uid), 2).await;
    assert!(
        outcomes.iter().all(|(_, outcome)| outcome.is_ok()),
        "{outcomes:?}"
    );
    for (id, field) in [("ftp", "`image_url`"), ("tagged", "`tags[1]`")] {
        let record = emulator.wait_for_pull(&uid(id), WAIT).await.unwrap();
        assert_eq!(record.outcome, PullOutcome::InvalidDocument, "{record:?}");
        assert_eq!(record.status, Some(200));
        let reason = record.reason.unwrap_or_default();
        assert!(reason.contains(field), "{id}: {reason}");
        assert_eq!(emulator.remote_profile(&uid(id)), None);
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_resync_of_1000_users_stores_every_profile() {
    let profiles: Vec<Profile> = (0..1000)
        .map(|n| {
            let profile = Profile::new(uid(&format!("user-{n}")), format!("User {n}"));
            if n % 3 == 0 {
                profile.with_email(format!("user-{n}@example.com"))
            } else {
                profile.with_tags([format!("group_{}", n % 7)])
            }
        })
        .collect();
    let users = Users::with(profiles.clone());
    let served = pull_server(KEY, users).await;
    let (emulator, client) = livefyre(16, template(&served)).await;
    let started = Instant::now();

    let ids: Vec<UserId> = profiles.iter().map(|p| p.id.clone()).collect();
    let outcomes = client.sync_users(ids.clone(), 32).await;
    assert_eq!(outcomes.len(), 1000);
    for ((id, outcome), expected) in outcomes.iter().zip(&ids) {
        assert_eq!(id, expected);
        assert!(outcome.is_ok(), "{id}: {outcome:?}");
    }

    // Every id gets a completed pull that answers its ping, within one deadline.
    let deadline = Instant::now() + Duration::from_secs(20);
    for id in &ids {
        let left = deadline.saturating_duration_since(Instant::now());
        let record = emulator.wait_for_pull(id, left).await.unwrap();
        assert_eq!(record.outcome, PullOutcome::Stored, "{record:?}");
    }
    for profile in &profiles {
        assert_eq!(
            emulator.remote_profile(&profile.id).as_ref(),
            Some(profile),
            "{}",
            profile.id
        );
    }
    let log = emulator.pull_log();
    assert_eq!(log.len(), 1000, "one pull per ping");
    let stored: HashSet<&str> = log
        .iter()
        .filter(|record| record.outcome == PullOutcome::Stored)
        .map(|record| record.id.as_str())
        .collect();
    assert_eq!(stored.len(), 1000, "none lost");
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
    emulator.shutdown().await;
}

// ---------------------------------------------------------------- the example

/// `target/<profile>/examples/sequence`, which `cargo test` builds along with the tests.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let mut dir = exe.parent().unwrap();
    if dir.ends_with("deps") {
        dir = dir.parent().unwrap();
    }
    let binary = dir
        .join("examples")
        .join(format!("sequence{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "the example binary {} is missing: `cargo test --all-features` builds it, \
         `cargo test --all-features --test emulator` alone does not; run \
         `cargo build --features emulator --example sequence` first",
        binary.display()
    );
    binary
}

#[test]
fn the_sequence_example_tells_the_seven_steps_and_ends_with_the_remote_profile() {
    const SECRET: &str = "sequence-example-secret-network-key";
    let child = Command::new(example_binary())
        .env("LIVEFYRE_NETWORK", NETWORK)
        .env("LIVEFYRE_NETWORK_KEY", SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, output) = wait_with_output(child, Duration::from_secs(30));
    let (stdout, stderr) = (output.stdout, output.stderr);
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");

    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!text.contains("eyJ"), "a token in {name}:\n{text}");
        assert!(!text.contains(SECRET), "the key in {name}:\n{text}");
    }

    // The seven steps, in order, each at the start of a line, each saying what it is.
    let lines: Vec<&str> = stdout.lines().collect();
    let step = |n: usize| {
        lines
            .iter()
            .position(|line| line.starts_with(&format!("({n}) ")))
            .unwrap_or_else(|| panic!("step ({n}) missing:\n{stdout}"))
    };
    let positions: Vec<usize> = (1..=7).map(step).collect();
    assert!(positions.is_sorted(), "{positions:?}\n{stdout}");
    let words = [
        "edit", "ping", "queue", "pull", "validate", "store", "holds",
    ];
    for (position, word) in positions.iter().zip(words) {
        let line = lines[*position].to_lowercase();
        assert!(line.contains(word), "{word:?} not in {line:?}");
    }
    let pull_log_line = lines[positions[6] + 1];
    assert!(
        pull_log_line.contains("lftoken=REDACTED") && pull_log_line.ends_with("-> 200 stored"),
        "{pull_log_line}"
    );

    // Step 1 shows the edited profile; the output ends with the same profile, as Livefyre
    // now holds it, in pretty JSON.
    let edited: Profile = serde_json::from_str(lines[positions[0] + 1].trim()).unwrap();
    let start = lines
        .iter()
        .rposition(|line| *line == "{")
        .expect("no pretty JSON at the end");
    let remote: Profile = serde_json::from_str(&lines[start..].join("\n")).unwrap();
    assert_eq!(remote, edited);
    assert_eq!(remote.id, "ann.lee");
    assert!(stdout.ends_with("}\n"), "{stdout}");
}
