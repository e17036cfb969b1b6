//! Pull outcomes, timeouts, the pull log, coalescing and `wait_for_pull`.

use std::time::Duration;

use http::header::CONTENT_TYPE;
use tower_livefyre::Profile;
use tower_livefyre::emulator::{Emulator, PullOutcome};

use super::support::*;

// ---------------------------------------------------------------- pull outcomes

#[tokio::test]
async fn a_pull_endpoint_with_another_key_is_forbidden() {
    let (emulator, server) = pinged_setup("the wrong key").await;
    server.serve_profile(&Profile::new("ann".parse().unwrap(), "Ann"));
    let record = pull_of(&emulator, "ann").await;
    assert_eq!(
        (record.outcome, record.status),
        (PullOutcome::Forbidden, Some(403))
    );
    assert_eq!(emulator.remote_profile(&uid("ann")), None);
}

#[tokio::test]
async fn an_unknown_user_is_not_found() {
    let (emulator, _server) = pinged_setup(KEY).await;
    let record = pull_of(&emulator, "nobody").await;
    assert_eq!(
        (record.outcome, record.status),
        (PullOutcome::NotFound, Some(404))
    );
    assert_eq!(emulator.remote_profile(&uid("nobody")), None);
}

#[tokio::test]
async fn bad_documents_are_invalid_and_keep_the_old_profile() {
    let (emulator, server) = pinged_setup(KEY).await;
    let good = Profile::new("ann".parse().unwrap(), "Ann");
    server.serve_profile(&good);
    assert_eq!(pull_of(&emulator, "ann").await.outcome, PullOutcome::Stored);

    let bad_image = Profile::new("ann".parse().unwrap(), "Ann").with_image_url("not a url");
    let cases = [
        ("not json".to_owned(), "not a profile document"),
        (
            serde_json::to_string(&Profile::new("bob".parse().unwrap(), "Bob")).unwrap(),
            "`id`",
        ),
        (serde_json::to_string(&bad_image).unwrap(), "image_url"),
        (r#"{"id":"ann"}"#.to_owned(), "display_name"),
    ];
    for (body, named) in cases {
        server.serve("ann", body.clone());
        let record = pull_of(&emulator, "ann").await;
        assert_eq!(record.outcome, PullOutcome::InvalidDocument, "{body}");
        assert_eq!(record.status, Some(200));
        let reason = record.reason.unwrap();
        assert!(reason.contains(named), "{body}: {reason}");
        assert_eq!(emulator.remote_profile(&uid("ann")), Some(good.clone()));
    }
}

#[tokio::test]
async fn a_body_over_the_cap_is_invalid() {
    let emulator = Emulator::builder(network())
        .max_body_bytes(1024)
        .start()
        .await
        .unwrap();
    let server = PullServer::start(KEY).await;
    emulator.set_pull_url_template(server.template().parse().unwrap());
    server.serve_profile(&Profile::new("ann".parse().unwrap(), "A".repeat(2000)));
    let record = pull_of(&emulator, "ann").await;
    assert_eq!(record.outcome, PullOutcome::InvalidDocument);
    assert!(record.reason.unwrap().contains("1024"));
}

#[tokio::test]
async fn a_slow_pull_endpoint_times_out() {
    let emulator = Emulator::builder(network())
        .pull_timeout(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    // An endpoint that never answers: only the pull timeout can end the pull (and
    // `pull_of` gives up after `WAIT`, far longer than the timeout).
    let server = PullServer::start(KEY).await;
    server.hold();
    server.serve_profile(&Profile::new("ann".parse().unwrap(), "Ann"));
    emulator.set_pull_url_template(server.template().parse().unwrap());
    let record = pull_of(&emulator, "ann").await;
    assert_eq!(record.outcome, PullOutcome::Timeout);
    assert!(record.reason.unwrap().contains("200ms"));
    assert_eq!(emulator.remote_profile(&uid("ann")), None);
}

/// Regression (issue 9, defect 1): `Instant::now() + Duration::MAX` panicked in the worker,
/// so the pull was never recorded and `wait_for_pull` timed out. Every timeout the setter
/// accepts must work, "effectively none" included, for every pull after the first too.
#[tokio::test]
async fn any_pull_timeout_works_even_duration_max() {
    for timeout in [Duration::MAX, Duration::from_secs(u64::MAX), Duration::ZERO] {
        let emulator = Emulator::builder(network())
            .workers(1)
            .pull_timeout(timeout)
            .start()
            .await
            .unwrap();
        let server = PullServer::start(KEY).await;
        server.serve_profile(&Profile::new("ann".parse().unwrap(), "Ann"));
        server.serve_profile(&Profile::new("bob".parse().unwrap(), "Bob"));
        emulator.set_pull_url_template(server.template().parse().unwrap());
        // Zero leaves no time for any answer; anything else is enough for loopback.
        let expected = if timeout.is_zero() {
            PullOutcome::Timeout
        } else {
            PullOutcome::Stored
        };
        for id in ["ann", "bob"] {
            let record = pull_of(&emulator, id).await;
            assert_eq!(record.outcome, expected, "{timeout:?} {id}");
        }
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn a_closed_port_or_an_https_url_is_a_connect_error() {
    let emulator = Emulator::start(network()).await.unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert_eq!(
        register(&emulator, &format!("http://{closed}/p?id={{id}}"))
            .await
            .status,
        204
    );
    let record = pull_of(&emulator, "ann").await;
    assert_eq!(
        (record.outcome, record.status),
        (PullOutcome::ConnectError, None)
    );
    assert!(record.reason.is_some());

    assert_eq!(
        register(&emulator, "https://127.0.0.1:1/p?id={id}")
            .await
            .status,
        204
    );
    let record = pull_of(&emulator, "ann").await;
    assert_eq!(record.outcome, PullOutcome::ConnectError);
    assert!(record.reason.unwrap().contains("http://"));
}

#[tokio::test]
async fn lftoken_is_appended_with_the_right_separator() {
    let (emulator, server) = pinged_setup(KEY).await;
    server.serve_profile(&Profile::new("ann".parse().unwrap(), "Ann"));
    assert_eq!(pull_of(&emulator, "ann").await.outcome, PullOutcome::Stored);

    let path_template = format!("http://{}/users/{{id}}/pull", server.addr);
    assert_eq!(register(&emulator, &path_template).await.status, 204);
    let record = pull_of(&emulator, "ann").await;
    assert_eq!(record.outcome, PullOutcome::Stored);
    assert_eq!(
        record.url,
        format!("http://{}/users/ann/pull?lftoken=REDACTED", server.addr)
    );

    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let query_token = seen[0]
        .strip_prefix("/pull?id=ann&lftoken=")
        .expect(&seen[0]);
    let path_token = seen[1]
        .strip_prefix("/users/ann/pull?lftoken=")
        .expect(&seen[1]);
    for token in [query_token, path_token] {
        assert_eq!(
            network().validate_livefyre_token(token).unwrap().user_id(),
            "system"
        );
    }
}

#[tokio::test]
async fn the_pull_log_never_shows_the_token() {
    let (emulator, server) = pinged_setup(KEY).await;
    server.serve_profile(&Profile::new("ann".parse().unwrap(), "Ann"));
    pull_of(&emulator, "ann").await;
    pull_of(&emulator, "bob").await;

    let reply = get(format!("{}/_emulator/pulls", emulator.url())).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers[CONTENT_TYPE], "application/json");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        let (_, token) = request.split_once("lftoken=").unwrap();
        assert!(token.len() > 20);
        assert!(!reply.body.contains(token));
        assert!(!format!("{:?}", emulator.pull_log()).contains(token));
    }

    let pulls: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let pulls = pulls.as_array().unwrap();
    assert_eq!(pulls.len(), 2);
    assert_eq!(pulls[0]["id"], "ann");
    assert_eq!(pulls[0]["outcome"], "stored");
    assert_eq!(pulls[0]["status"], 200);
    assert!(pulls[0]["reason"].is_null());
    assert!(pulls[0]["time"].as_f64().unwrap() > 1.7e9);
    let url = format!("http://{}/pull?id=ann&lftoken=REDACTED", server.addr);
    assert_eq!(pulls[0]["url"], url.as_str());
    assert_eq!(pulls[1]["outcome"], "not_found");
}

// ---------------------------------------------------------------- coalescing

/// The queue's promise: a burst costs at most two pulls, one in flight and one queued
/// behind it, and the last starts after the last ping. The pull server holds its answer
/// until every ping is accepted, so the burst surely meets a pull in flight: exactly two.
#[tokio::test]
async fn a_burst_of_pings_coalesces_into_two_pulls_ending_with_the_newest_profile() {
    let (emulator, server) = pinged_setup(KEY).await;
    server.hold();
    server.serve_profile(&Profile::new("ann".parse().unwrap(), "Ann v1"));
    assert_eq!(ping(&emulator, "ann").await.status, 200);
    eventually("the first pull reaches the pull server", || {
        server.seen().len() == 1
    })
    .await;
    for version in 2..=20 {
        server.serve_profile(&Profile::new(
            "ann".parse().unwrap(),
            format!("Ann v{version}"),
        ));
        assert_eq!(ping(&emulator, "ann").await.status, 200);
    }
    assert_eq!(
        server.seen().len(),
        1,
        "a second pull started during the first"
    );
    // Exactly what the queue promises: the pull in flight and one queued behind it.
    assert_eq!(emulator.pending_pulls(), 2);
    server.release();

    let record = emulator.wait_for_pull(&uid("ann"), WAIT).await.unwrap();
    assert_eq!(record.outcome, PullOutcome::Stored);
    assert_eq!(
        emulator.remote_profile(&uid("ann")).unwrap().display_name,
        "Ann v20"
    );
    // The pull that covers the last ping has completed and nothing is left to pull.
    assert_eq!(emulator.pending_pulls(), 0);
    assert_eq!(emulator.pull_log().len(), 2, "{:?}", emulator.pull_log());
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn wait_for_pull_returns_a_pull_that_already_finished() {
    let (emulator, server) = pinged_setup(KEY).await;
    server.serve_profile(&Profile::new("ann".parse().unwrap(), "Ann"));
    assert_eq!(ping(&emulator, "ann").await.status, 200);
    eventually("the pull completes", || emulator.pull_log().len() == 1).await;
    let record = emulator
        .wait_for_pull(&uid("ann"), Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(record.outcome, PullOutcome::Stored);
    assert!(!format!("{emulator:?}").contains(KEY));
}
