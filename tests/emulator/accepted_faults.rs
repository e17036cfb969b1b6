//! The faults of accepted pings: `no_pull` (answered 200, never pulled) and `late_pull`
//! (answered 200 at once, pulled later), through the public API and the HTTP control route.

use std::time::{Duration, Instant};

use http::header::CONTENT_TYPE;
use tower_livefyre::Profile;
use tower_livefyre::emulator::{
    Emulator, FaultLimit, FaultPlan, PingAnswer, PingFault, PullOutcome,
};

use super::support::*;

const LATE: Duration = Duration::from_millis(300);

/// An emulator (as `builder` makes it) with a registered pull endpoint serving ann and bob.
async fn setup(builder: tower_livefyre::emulator::EmulatorBuilder) -> (Emulator, PullServer) {
    let emulator = builder.start().await.unwrap();
    let server = PullServer::start(KEY).await;
    assert_eq!(register(&emulator, &server.template()).await.status, 204);
    for (id, name) in [("ann", "Ann"), ("bob", "Bob")] {
        server.serve_profile(&Profile::new(uid(id), name));
    }
    (emulator, server)
}

fn pulled_ids(emulator: &Emulator) -> Vec<String> {
    let log = emulator.pull_log();
    log.iter().map(|record| record.id.to_string()).collect()
}

#[tokio::test]
async fn a_no_pull_ping_is_accepted_and_never_pulled_and_the_next_ping_is() {
    let (emulator, server) = setup(Emulator::builder(network())).await;
    emulator.set_faults(FaultPlan::new().then(PingFault::NoPull, FaultLimit::Pings(1)));

    assert_eq!(ping(&emulator, "ann").await.status, 200);
    assert_eq!(emulator.pending_pulls(), 0);
    // The next ping is pulled; once that pull is done, the log holds it alone.
    let record = pull_of(&emulator, "ann").await;
    assert_eq!(record.outcome, PullOutcome::Stored);
    assert_eq!(pulled_ids(&emulator), ["ann"]);
    assert_eq!(server.seen().len(), 1);

    let log = emulator.ping_log();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|record| record.accepted()), "{log:?}");
    // The one pull started after the second ping, not the first.
    assert!(server.arrivals()[0] >= log[1].answered);
}

#[tokio::test]
async fn no_pull_for_a_window_from_the_builder_until_cleared() {
    let window = FaultLimit::For(Duration::from_secs(60));
    let builder =
        Emulator::builder(network()).faults(FaultPlan::new().then(PingFault::NoPull, window));
    let (emulator, _server) = setup(builder).await;
    for id in ["ann", "bob", "ann"] {
        assert_eq!(ping(&emulator, id).await.status, 200);
    }
    assert_eq!(emulator.pending_pulls(), 0);
    // No ping of bob counts as a request: a wait for it finds nothing.
    let none = emulator
        .wait_for_pull(&uid("bob"), Duration::from_millis(50))
        .await;
    assert!(none.is_err(), "{none:?}");

    emulator.set_faults(FaultPlan::new());
    assert_eq!(pull_of(&emulator, "bob").await.outcome, PullOutcome::Stored);
    assert_eq!(pulled_ids(&emulator), ["bob"]);
    assert_eq!(emulator.ping_counts()["ann"], 2);
}

#[tokio::test]
async fn a_no_pull_ping_with_a_bad_token_is_refused_and_spends_the_step() {
    let (emulator, _server) = setup(Emulator::builder(network())).await;
    emulator.set_faults(FaultPlan::new().then(PingFault::NoPull, FaultLimit::Pings(1)));
    let url = format!("{}/api/v3_0/user/ann/refresh", emulator.url());
    assert_eq!(post(url, "lftoken=forged").await.status, 403);
    assert_eq!(pull_of(&emulator, "ann").await.outcome, PullOutcome::Stored);
    let answers: Vec<_> = emulator.ping_log().iter().map(|r| r.answer).collect();
    assert_eq!(answers, [PingAnswer::Status(403), PingAnswer::Status(200)]);
}

#[tokio::test]
async fn a_late_pull_starts_its_delay_after_the_ping_was_answered() {
    let (emulator, server) = setup(Emulator::builder(network())).await;
    emulator.set_faults(
        FaultPlan::new().then(PingFault::LatePull { delay: LATE }, FaultLimit::Pings(1)),
    );

    let sent = Instant::now();
    assert_eq!(ping(&emulator, "ann").await.status, 200);
    // Answered at once, and the pull is waiting.
    assert!(sent.elapsed() < LATE, "answered after {:?}", sent.elapsed());
    assert_eq!(emulator.pending_pulls(), 1);
    assert!(emulator.pull_log().is_empty());

    let record = emulator.wait_for_pull(&uid("ann"), WAIT).await.unwrap();
    assert_eq!(record.outcome, PullOutcome::Stored);
    let answered = emulator.ping_log()[0].answered;
    let started = server.arrivals()[0];
    let after = started.duration_since(answered).unwrap();
    assert!(after >= LATE, "the pull started {after:?} after the answer");
    assert_eq!(emulator.pending_pulls(), 0);
    assert_eq!(pulled_ids(&emulator), ["ann"]);
}

#[tokio::test]
async fn a_late_pull_holds_up_no_other_pull_and_a_normal_ping_meanwhile_is_pulled_too() {
    // One worker: if the late pull held it, nothing else could be pulled.
    let (emulator, _server) = setup(Emulator::builder(network()).workers(1)).await;
    // Long enough for the pulls below to run first on a loaded machine.
    let delay = Duration::from_secs(2);
    emulator.set_faults(FaultPlan::new().then(PingFault::LatePull { delay }, FaultLimit::Pings(1)));
    let sent = Instant::now();
    assert_eq!(ping(&emulator, "ann").await.status, 200);

    assert_eq!(pull_of(&emulator, "bob").await.outcome, PullOutcome::Stored);
    // A normal ping of ann while her late pull waits: pulled as usual...
    assert_eq!(pull_of(&emulator, "ann").await.outcome, PullOutcome::Stored);
    assert!(sent.elapsed() < delay, "{:?}", sent.elapsed());
    assert_eq!(pulled_ids(&emulator), ["bob", "ann"]);
    assert_eq!(emulator.pending_pulls(), 1);
    // ...and the late one still comes.
    eventually("the late pull of ann", || emulator.pull_log().len() == 3).await;
    assert!(sent.elapsed() >= delay);
    assert_eq!(pulled_ids(&emulator), ["bob", "ann", "ann"]);
    assert_eq!(emulator.pending_pulls(), 0);
}

#[tokio::test]
async fn shutdown_drops_late_pulls_at_once_and_a_delay_past_the_clock_never_pulls() {
    let (emulator, _server) = setup(Emulator::builder(network())).await;
    let hour = PingFault::LatePull {
        delay: Duration::from_secs(3600),
    };
    let never = PingFault::LatePull {
        delay: Duration::MAX,
    };
    emulator.set_faults(
        FaultPlan::new()
            .then(never, FaultLimit::Pings(1))
            .then(hour, FaultLimit::Pings(1)),
    );
    assert_eq!(ping(&emulator, "ann").await.status, 200);
    assert_eq!(emulator.pending_pulls(), 0);
    assert_eq!(ping(&emulator, "bob").await.status, 200);
    assert_eq!(emulator.pending_pulls(), 1);

    let started = Instant::now();
    emulator.shutdown().await;
    // Within the grace the emulator gives pulls in progress; none is.
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_control_route_takes_no_pull_and_late_pull() {
    let (emulator, server) = setup(Emulator::builder(network())).await;
    let plan = r#"[{"fault": "no_pull", "pings": 1},
                   {"fault": "late_pull", "delay_ms": 300, "pings": 1}]"#;
    assert_eq!(
        post(format!("{}/_emulator/faults", emulator.url()), plan)
            .await
            .status,
        204
    );

    assert_eq!(ping(&emulator, "ann").await.status, 200);
    assert_eq!(emulator.pending_pulls(), 0);
    assert_eq!(ping(&emulator, "ann").await.status, 200);
    assert_eq!(emulator.pending_pulls(), 1);
    let record = emulator.wait_for_pull(&uid("ann"), WAIT).await.unwrap();
    assert_eq!(record.outcome, PullOutcome::Stored);
    let log = emulator.ping_log();
    let after = server.arrivals()[0]
        .duration_since(log[1].answered)
        .unwrap();
    assert!(after >= LATE, "{after:?}");
    // The plan is over: the third ping is pulled as usual, and only two pulls ever ran.
    assert_eq!(pull_of(&emulator, "ann").await.outcome, PullOutcome::Stored);
    assert_eq!(pulled_ids(&emulator), ["ann", "ann"]);
    assert!(emulator.ping_log().iter().all(|record| record.accepted()));
}

#[tokio::test]
async fn the_control_route_refuses_late_pull_without_delay_ms_and_unknown_faults() {
    let (emulator, _server) = setup(Emulator::builder(network())).await;
    let faults = format!("{}/_emulator/faults", emulator.url());
    assert_eq!(
        post(faults.clone(), r#"[{"fault": "no_pull"}]"#)
            .await
            .status,
        204
    );

    for (bad, reason) in [
        (
            r#"[{"fault": "late_pull", "pings": 1}]"#,
            "step 0: a late_pull fault needs delay_ms",
        ),
        (
            r#"[{"fault": "no_pull", "pings": 1}, {"fault": "late_pulls", "delay_ms": 5}]"#,
            r#"step 1: unknown fault "late_pulls"; the faults are unavailable, too_many_requests, forbidden, slow, drop, no_pull, late_pull"#,
        ),
        (
            r#"[{"fault": "no_pull", "delay_ms": 5}]"#,
            "step 0: delay_ms goes only with slow or late_pull",
        ),
    ] {
        let reply = post(faults.clone(), bad).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.headers[CONTENT_TYPE], "text/plain; charset=utf-8");
        assert_eq!(reply.body, reason, "{bad}");
    }
    // The plan in force is unchanged: still no pull.
    assert_eq!(ping(&emulator, "ann").await.status, 200);
    assert_eq!(emulator.pending_pulls(), 0);
    assert!(emulator.pull_log().is_empty());
}
