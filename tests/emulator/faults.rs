//! Ping faults (builder, runtime, HTTP control route) and the ping log.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http::header::{ALLOW, RETRY_AFTER};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower_livefyre::Profile;
use tower_livefyre::emulator::{
    Emulator, FaultLimit, FaultPlan, PingAnswer, PingFault, PingRecord, PullOutcome,
};

use super::support::*;

const UNAVAILABLE: PingFault = PingFault::Unavailable { retry_after: None };

/// A ping that may get no answer at all: `None` when the connection closed without one.
async fn try_ping(emulator: &Emulator, id: &str) -> Option<u16> {
    let url = format!("{}/api/v3_0/user/{id}/refresh", emulator.url());
    let request = Request::post(url)
        .body(Full::new(Bytes::from(form(&[("lftoken", &token())]))))
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http();
    match client.request(request).await {
        Ok(response) => Some(response.status().as_u16()),
        Err(error) => {
            assert!(!error.is_connect(), "{error:?}");
            None
        }
    }
}

fn answers(log: &[PingRecord]) -> Vec<PingAnswer> {
    log.iter().map(|record| record.answer).collect()
}

#[tokio::test]
async fn each_fault_answers_one_ping_then_pings_are_accepted_again() {
    let (emulator, server) = pinged_setup(KEY).await;
    server.serve_profile(&Profile::new("ann".parse().unwrap(), "Ann"));
    emulator.set_faults(
        FaultPlan::new()
            .then(
                PingFault::Unavailable {
                    retry_after: Some(3),
                },
                FaultLimit::Pings(1),
            )
            .then(UNAVAILABLE, FaultLimit::Pings(1))
            .then(
                PingFault::TooManyRequests {
                    retry_after: Some(7),
                },
                FaultLimit::Pings(1),
            )
            .then(PingFault::Forbidden, FaultLimit::Pings(1))
            .then(PingFault::Drop, FaultLimit::Pings(1)),
    );

    let first = ping(&emulator, "ann").await;
    assert_eq!(
        (
            first.status.as_u16(),
            first.headers[RETRY_AFTER].to_str().unwrap()
        ),
        (503, "3")
    );
    let second = ping(&emulator, "ann").await;
    assert_eq!(second.status, 503);
    assert!(!second.headers.contains_key(RETRY_AFTER));
    let third = ping(&emulator, "ann").await;
    assert_eq!(
        (
            third.status.as_u16(),
            third.headers[RETRY_AFTER].to_str().unwrap()
        ),
        (429, "7")
    );
    assert_eq!(ping(&emulator, "ann").await.status, 403);
    assert_eq!(try_ping(&emulator, "ann").await, None);
    // Not one of them queued a pull.
    assert!(emulator.pull_log().is_empty());
    assert!(server.seen().is_empty());

    // The plan is over: accepted and pulled.
    assert_eq!(try_ping(&emulator, "ann").await, Some(200));
    let record = emulator.wait_for_pull(&uid("ann"), WAIT).await.unwrap();
    assert_eq!(record.outcome, PullOutcome::Stored);
    assert_eq!(emulator.pull_log().len(), 1);

    let log = emulator.ping_log();
    let status = PingAnswer::Status;
    assert_eq!(
        answers(&log),
        [
            status(503),
            status(503),
            status(429),
            status(403),
            PingAnswer::Dropped,
            status(200)
        ]
    );
    assert!(log.iter().all(|record| record.id == "ann"));
    assert_eq!(log.iter().filter(|record| record.accepted()).count(), 1);
    assert_eq!(emulator.ping_counts()["ann"], 6);
}

#[tokio::test]
async fn a_fault_answers_before_the_token_is_checked() {
    let (emulator, _server) = pinged_setup(KEY).await;
    emulator.set_faults(FaultPlan::new().then(UNAVAILABLE, FaultLimit::UntilCleared));
    let url = format!("{}/api/v3_0/user/ann/refresh", emulator.url());
    assert_eq!(post(url.clone(), "lftoken=forged").await.status, 503);
    assert_eq!(ping(&emulator, "ann").await.status, 503);
    emulator.set_faults(FaultPlan::new());
    assert_eq!(post(url, "lftoken=forged").await.status, 403);
    assert_eq!(ping(&emulator, "ann").await.status, 200);
}

#[tokio::test]
async fn pings_of_invalid_ids_meet_no_fault_and_are_not_logged() {
    let (emulator, _server) = pinged_setup(KEY).await;
    emulator.set_faults(FaultPlan::new().then(PingFault::Drop, FaultLimit::Pings(1)));
    assert_eq!(ping(&emulator, "bad%20id").await.status, 400);
    assert!(emulator.ping_log().is_empty());
    assert_eq!(try_ping(&emulator, "ann").await, None);
    assert_eq!(answers(&emulator.ping_log()), [PingAnswer::Dropped]);
}

#[tokio::test]
async fn a_time_window_ends_by_itself() {
    let (emulator, _server) = pinged_setup(KEY).await;
    emulator
        .set_faults(FaultPlan::new().then(UNAVAILABLE, FaultLimit::For(Duration::from_secs(1))));
    assert_eq!(ping(&emulator, "ann").await.status, 503);
    // Retrying as a client would, until the window has closed.
    let mut last = 503;
    let deadline = std::time::Instant::now() + WAIT;
    while last == 503 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        last = ping(&emulator, "ann").await.status.as_u16();
    }
    assert_eq!(last, 200);
    // Every 503 came before the first 200.
    let log = answers(&emulator.ping_log());
    let first_accepted = log.iter().position(|a| *a == PingAnswer::Status(200));
    assert_eq!(first_accepted, Some(log.len() - 1), "{log:?}");
    assert!(
        log[..log.len() - 1]
            .iter()
            .all(|answer| *answer == PingAnswer::Status(503))
    );
}

#[tokio::test]
async fn faults_from_the_builder_apply_from_the_start() {
    let plan = FaultPlan::new().then(PingFault::Drop, FaultLimit::Pings(1));
    let emulator = Emulator::builder(network())
        .faults(plan)
        .start()
        .await
        .unwrap();
    assert_eq!(try_ping(&emulator, "ann").await, None);
    // No template is registered: the usual 409 once the fault is spent.
    assert_eq!(try_ping(&emulator, "ann").await, Some(409));
}

#[tokio::test]
async fn a_slow_ping_is_answered_late_and_still_pulls() {
    let (emulator, server) = pinged_setup(KEY).await;
    server.serve_profile(&Profile::new("ann".parse().unwrap(), "Ann"));
    let delay = Duration::from_millis(200);
    emulator.set_faults(FaultPlan::new().then(PingFault::Slow { delay }, FaultLimit::Pings(1)));
    assert_eq!(ping(&emulator, "ann").await.status, 200);
    let record = emulator.wait_for_pull(&uid("ann"), WAIT).await.unwrap();
    assert_eq!(record.outcome, PullOutcome::Stored);
    let log = emulator.ping_log();
    let held = log[0].answered.duration_since(log[0].arrived).unwrap();
    assert!(held >= delay, "answered after {held:?}");
}

#[tokio::test]
async fn overlapping_pings_of_one_user_are_found() {
    let (emulator, _server) = pinged_setup(KEY).await;
    let delay = Duration::from_secs(1);
    emulator.set_faults(FaultPlan::new().then(PingFault::Slow { delay }, FaultLimit::Pings(2)));
    // Two pings of ann at once: both are held, so each arrives before the other is answered.
    let (first, second) = tokio::join!(ping(&emulator, "ann"), ping(&emulator, "ann"));
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (200, 200));
    // One after the other never overlap, for ann or anyone.
    for id in ["ann", "bob", "bob"] {
        assert_eq!(ping(&emulator, id).await.status, 200);
    }
    let overlapping = emulator.overlapping_pings();
    assert_eq!(overlapping.len(), 1, "{overlapping:?}");
    let (a, b) = &overlapping[0];
    assert_eq!((a.id.as_str(), b.id.as_str()), ("ann", "ann"));
    assert!(a.overlaps(b) && b.overlaps(a));
    let counts = emulator.ping_counts();
    assert_eq!((counts["ann"], counts["bob"], counts.len()), (3, 2, 2));
}

#[tokio::test]
async fn the_control_route_sets_and_clears_faults() {
    let (emulator, _server) = pinged_setup(KEY).await;
    let faults = format!("{}/_emulator/faults", emulator.url());
    let plan = r#"[{"fault": "unavailable", "retry_after": 2, "pings": 1},
                   {"fault": "too_many_requests", "pings": 1},
                   {"fault": "drop"}]"#;
    assert_eq!(post(faults.clone(), plan).await.status, 204);
    let first = ping(&emulator, "ann").await;
    assert_eq!(
        (
            first.status.as_u16(),
            first.headers[RETRY_AFTER].to_str().unwrap()
        ),
        (503, "2")
    );
    assert_eq!(ping(&emulator, "ann").await.status, 429);
    for _ in 0..3 {
        assert_eq!(try_ping(&emulator, "ann").await, None);
    }

    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let delete = Request::delete(faults.clone())
        .body(Full::default())
        .unwrap();
    assert_eq!(client.request(delete).await.unwrap().status(), 204);
    assert_eq!(ping(&emulator, "ann").await.status, 200);

    // A bad plan is refused with its reason and changes nothing.
    for (bad, reason) in [
        ("not json", "JSON array"),
        (r#"[{"fault": "slow"}]"#, "delay_ms"),
        (r#"[{"fault": "drop", "for": 5}]"#, "unknown field"),
    ] {
        let reply = post(faults.clone(), bad).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert!(reply.body.contains(reason), "{bad}: {}", reply.body);
    }
    assert_eq!(ping(&emulator, "ann").await.status, 200);
    let big = format!("[{}]", " ".repeat(70 * 1024));
    assert_eq!(post(faults.clone(), big).await.status, 413);

    let reply = get(faults).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.headers[ALLOW], "POST, DELETE");
}

#[tokio::test]
async fn the_ping_log_over_http_shows_ids_times_and_answers_never_tokens() {
    let (emulator, _server) = pinged_setup(KEY).await;
    emulator.set_faults(FaultPlan::new().then(PingFault::Drop, FaultLimit::Pings(1)));
    assert_eq!(try_ping(&emulator, "ann").await, None);
    assert_eq!(ping(&emulator, "ann").await.status, 200);
    assert_eq!(ping(&emulator, "bob").await.status, 200);

    let reply = get(format!("{}/_emulator/pings", emulator.url())).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.headers[http::header::CONTENT_TYPE],
        "application/json"
    );
    assert!(!reply.body.contains("eyJ"), "{}", reply.body);
    let pings: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let pings = pings.as_array().unwrap();
    let shown: Vec<_> = pings
        .iter()
        .map(|ping| (ping["id"].as_str().unwrap(), ping["answer"].clone()))
        .collect();
    assert_eq!(
        shown,
        [
            ("ann", serde_json::json!("dropped")),
            ("ann", serde_json::json!(200)),
            ("bob", serde_json::json!(200))
        ]
    );
    for ping in pings {
        let arrived = ping["arrived"].as_f64().unwrap();
        let answered = ping["answered"].as_f64().unwrap();
        assert!(arrived > 1.7e9 && arrived <= answered, "{ping}");
        assert_eq!(ping.as_object().unwrap().len(), 4, "{ping}");
    }
    assert!(!format!("{:?}", emulator.ping_log()).contains("eyJ"));

    let only_bob = get(format!("{}/_emulator/pings?id=bob", emulator.url())).await;
    let only_bob: serde_json::Value = serde_json::from_str(&only_bob.body).unwrap();
    assert_eq!(only_bob.as_array().unwrap().len(), 1);
    assert_eq!(only_bob[0]["id"], "bob");
}
