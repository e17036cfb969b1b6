//! A Livefyre outage: the emulator answers 503 for 10 s, then 503 with `Retry-After: 2` for
//! 4 s, then recovers. Every ping is delivered, and the attempts stay bounded: backoff with
//! full jitter during the outage, no sooner than `Retry-After` asked after it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use tower_livefyre::emulator::{Emulator, FaultLimit, FaultPlan, PingAnswer, PingFault};
use tower_livefyre::{Profile, pull_endpoint};

use super::{SqliteFile, client, drained, enqueue, ms, network, start, until};

const USERS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_ridden_out_with_bounded_attempts() {
    let profiles: HashMap<String, Profile> = (0..USERS)
        .map(|i| {
            (
                format!("user{i}"),
                Profile::new(format!("user{i}").parse().unwrap(), format!("User {i}")),
            )
        })
        .collect();
    let app = axum::Router::new()
        .route_service("/livefyre/pull", pull_endpoint(network(), profiles.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let outage = FaultPlan::new()
        .then(
            PingFault::Unavailable { retry_after: None },
            FaultLimit::For(Duration::from_secs(10)),
        )
        .then(
            PingFault::Unavailable {
                retry_after: Some(2),
            },
            FaultLimit::For(Duration::from_secs(4)),
        );
    // The plan is installed somewhere in between: its phases are known to within this.
    let before = SystemTime::now();
    let emulator = Emulator::builder(network())
        .faults(outage)
        .start()
        .await
        .unwrap();
    let after = SystemTime::now();
    emulator.set_pull_url_template(
        format!("http://{app_addr}/livefyre/pull?id={{id}}")
            .parse()
            .unwrap(),
    );

    let file = SqliteFile::new();
    let outbox = file.outbox().await;
    for id in profiles.keys() {
        enqueue(&outbox, id).await;
    }
    let relay = outbox
        .relay(client(&emulator.url()))
        .poll_interval(ms(100))
        .backoff(ms(500), Duration::from_secs(5));
    let relay = start(relay);

    until("every profile at Livefyre", || async {
        profiles
            .keys()
            .all(|id| emulator.remote_profile(&id.parse().unwrap()).is_some())
    })
    .await;
    drained(&outbox).await;
    relay.stop().await;
    server.abort();

    let log = emulator.ping_log();
    let failed = log.iter().filter(|p| !p.accepted()).count();
    let mut per_user: HashMap<&str, Vec<_>> = HashMap::new();
    for ping in &log {
        per_user.entry(ping.id.as_str()).or_default().push(ping);
    }
    let most = per_user.values().map(Vec::len).max().unwrap();
    eprintln!(
        "outage: {USERS} users, {} pings, {failed} answered 503, at most {most} attempts per user",
        log.len()
    );
    assert!(log.iter().all(|p| p.answer != PingAnswer::Dropped));
    assert_eq!(
        log.len() - failed,
        USERS,
        "one accepted ping per user: {per_user:?}"
    );
    // 14 s of outage, backoff from 0.5 s doubling to 5 s with full jitter, then 2 s waits:
    // simulated, 9.8 attempts per user on average, and the unluckiest of 200 users makes
    // 14 (18 in the worst of 2,000 simulated runs). A hot loop (one attempt per 100 ms
    // poll) would make about 140.
    assert!(most <= 24, "{most} attempts for one user: a hot loop");
    assert!(log.len() <= USERS * 12, "{} pings in all", log.len());

    // After a 503 with Retry-After: 2 (a ping that arrived surely within the second phase,
    // 10–14 s after the plan was installed), the next try waits 2 s.
    let in_phase_two = |at: SystemTime| at >= after + ms(10_200) && at <= before + ms(13_800);
    let mut checked = 0;
    for pings in per_user.values() {
        for pair in pings.windows(2) {
            if pair[0].answer == PingAnswer::Status(503) && in_phase_two(pair[0].arrived) {
                let waited = pair[1].arrived.duration_since(pair[0].answered).unwrap();
                assert!(
                    waited >= ms(1_900),
                    "retried after {waited:?} despite Retry-After: 2"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no retry after a Retry-After answer was seen");
}
