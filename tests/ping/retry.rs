//! `PingClient`'s tower stack against tower-test's mock under paused Tokio time: which
//! failures are retried and how often, the waits between attempts (`Retry-After` in seconds
//! and as a date, its cap, full jitter), per-attempt timeouts, and durations too large to add
//! to an `Instant`. No sockets, no real sleeps: the clock only moves when every task waits.
#![cfg(feature = "ping")]

use crate::common;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use common::{network, uid};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt as _, Full};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower_livefyre::{PingClient, PingError, UserId, ping::RetryPolicy};
use tower_test::mock;

type Mock = mock::Mock<Request<Full<Bytes>>, Response<Full<Bytes>>>;
type Handle = mock::Handle<Request<Full<Bytes>>, Response<Full<Bytes>>>;
type Reply = mock::SendResponse<Response<Full<Bytes>>>;

const MS: fn(u64) -> Duration = Duration::from_millis;
const SECS: fn(u64) -> Duration = Duration::from_secs;

/// Tokio's timer fires on whole milliseconds, so a wait of `d` is seen as up to 1 ms longer.
const TICK: Duration = Duration::from_millis(1);

fn mocked(policy: RetryPolicy) -> (PingClient<Mock>, Handle) {
    let (http, handle) = mock::pair();
    (
        PingClient::with_client(network(), http).retry(policy),
        handle,
    )
}

fn answer(status: u16) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
}

fn answer_retry_after(status: u16, retry_after: &str) -> Response<Full<Bytes>> {
    let mut response = answer(status);
    response
        .headers_mut()
        .insert("retry-after", retry_after.parse().unwrap());
    response
}

fn ping(client: &PingClient<Mock>) -> JoinHandle<Result<(), PingError>> {
    let client = client.clone();
    tokio::spawn(async move { client.sync_user(&uid("ann.lee")).await })
}

/// The next request, the (virtual) time it arrived, and the handle to answer it.
async fn next(handle: &mut Handle) -> (Instant, Request<Full<Bytes>>, Reply) {
    let (request, reply) = handle.next_request().await.expect("the client hung up");
    (Instant::now(), request, reply)
}

/// Answers every request with `status` until the call ends; returns its outcome and the
/// number of requests made.
async fn run_against(status: u16, policy: RetryPolicy) -> (Result<(), PingError>, usize) {
    let (client, mut handle) = mocked(policy);
    let mut call = ping(&client);
    let mut requests = 0;
    loop {
        tokio::select! {
            outcome = &mut call => return (outcome.unwrap(), requests),
            Some((_, reply)) = handle.next_request() => {
                requests += 1;
                reply.send_response(answer(status));
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn retry_decisions_per_status() {
    let policy = RetryPolicy::default().with_max_attempts(3);
    for (status, retried) in [
        (408, true),
        (429, true),
        (500, true),
        (502, true),
        (503, true),
        (504, true),
        (400, false),
        (401, false),
        (404, false),
        (409, false),
        (410, false),
        (422, false),
        (301, false),
    ] {
        let (outcome, requests) = run_against(status, policy).await;
        let error = outcome.unwrap_err();
        let expected = if retried { 3 } else { 1 };
        assert_eq!(requests, expected, "{status}");
        assert!(
            matches!(error, PingError::Status { status: s, attempts, retry_after: None }
                if s.as_u16() == status && attempts == expected as u32),
            "{status}: {error:?}"
        );
        assert_eq!(error.is_retryable(), retried, "{status}");
        assert_eq!(error.is_permanent(), !retried, "{status}");
    }

    let (outcome, requests) = run_against(403, policy).await;
    let error = outcome.unwrap_err();
    assert!(
        matches!(error, PingError::Forbidden { attempts: 1 }),
        "{error:?}"
    );
    assert!(error.is_permanent());
    assert_eq!(requests, 1);

    for status in [200, 202, 204] {
        let (outcome, requests) = run_against(status, policy).await;
        assert!(outcome.is_ok(), "{status}: {outcome:?}");
        assert_eq!(requests, 1, "{status}");
    }
}

#[tokio::test(start_paused = true)]
async fn transport_errors_are_retried_up_to_the_bound() {
    let (client, mut handle) = mocked(RetryPolicy::default().with_max_attempts(3));
    let call = ping(&client);
    for _ in 0..3 {
        let (_, _, reply) = next(&mut handle).await;
        reply.send_error("connection reset by peer");
    }
    let error = call.await.unwrap().unwrap_err();
    assert!(
        matches!(error, PingError::Transport { attempts: 3, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(
        std::error::Error::source(&error).unwrap().to_string(),
        "connection reset by peer"
    );
}

#[tokio::test(start_paused = true)]
async fn never_makes_exactly_one_attempt() {
    let (outcome, requests) = run_against(503, RetryPolicy::never()).await;
    let error = outcome.unwrap_err();
    assert_eq!(requests, 1);
    assert_eq!(error.attempts(), 1);
    assert!(error.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn a_retry_resends_the_same_request() {
    let (client, mut handle) = mocked(RetryPolicy::default());
    let call = ping(&client);
    let (_, first, reply) = next(&mut handle).await;
    reply.send_response(answer(500));
    let (_, second, reply) = next(&mut handle).await;
    reply.send_response(answer(200));
    call.await.unwrap().unwrap();

    assert_eq!(first.method(), "POST");
    assert_eq!(
        first.uri(),
        "https://labs.quill.fyre.co/api/v3_0/user/ann.lee/refresh"
    );
    assert_eq!(
        first.headers()["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(second.method(), first.method());
    assert_eq!(second.uri(), first.uri());
    assert_eq!(second.headers(), first.headers());
    let first = first.into_body().collect().await.unwrap().to_bytes();
    let second = second.into_body().collect().await.unwrap().to_bytes();
    assert!(first.starts_with(b"lftoken=ey"), "{first:?}");
    assert_eq!(second, first);
}

#[tokio::test(start_paused = true)]
async fn retry_after_seconds_set_the_wait() {
    let policy = RetryPolicy::default().with_max_backoff(SECS(60));
    let (client, mut handle) = mocked(policy);
    let call = ping(&client);
    let (sent, _, reply) = next(&mut handle).await;
    reply.send_response(answer_retry_after(503, "7"));
    let (again, _, reply) = next(&mut handle).await;
    reply.send_response(answer(200));
    call.await.unwrap().unwrap();
    let waited = again - sent;
    assert!(waited >= SECS(7) && waited <= SECS(7) + TICK, "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn retry_after_http_date_sets_the_wait() {
    let policy = RetryPolicy::default().with_max_backoff(SECS(60));
    let (client, mut handle) = mocked(policy);
    let call = ping(&client);
    let (sent, _, reply) = next(&mut handle).await;
    // An HTTP-date has whole seconds, so "now + 30 s" is 29 to 30 s away.
    let date = httpdate::fmt_http_date(SystemTime::now() + SECS(30));
    reply.send_response(answer_retry_after(429, &date));
    let (again, _, reply) = next(&mut handle).await;
    reply.send_response(answer(200));
    call.await.unwrap().unwrap();
    let waited = again - sent;
    assert!(
        waited >= SECS(29) && waited <= SECS(30) + TICK,
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_capped_at_the_max_backoff() {
    let policy = RetryPolicy::default().with_max_backoff(SECS(5));
    let (client, mut handle) = mocked(policy);
    let call = ping(&client);
    let (sent, _, reply) = next(&mut handle).await;
    reply.send_response(answer_retry_after(503, "3600"));
    let (again, _, reply) = next(&mut handle).await;
    reply.send_response(answer(200));
    call.await.unwrap().unwrap();
    let waited = again - sent;
    assert!(waited >= SECS(5) && waited <= SECS(5) + TICK, "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn the_last_answers_retry_after_is_reported_uncapped() {
    let policy = RetryPolicy::default()
        .with_max_attempts(2)
        .with_max_backoff(SECS(1));
    let (client, mut handle) = mocked(policy);
    let call = ping(&client);
    let (_, _, reply) = next(&mut handle).await;
    reply.send_response(answer_retry_after(429, "1"));
    let (_, _, reply) = next(&mut handle).await;
    reply.send_response(answer_retry_after(429, "120"));
    let error = call.await.unwrap().unwrap_err();
    assert_eq!(error.attempts(), 2);
    assert_eq!(error.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(error.retry_after(), Some(SECS(120)));
}

/// Full jitter, end to end: each wait is within `[0, ceiling]`, and over many calls the waits
/// cover the whole range, so a jitter stuck at zero, at the ceiling or at any one value fails.
#[tokio::test(start_paused = true)]
async fn backoff_waits_are_jittered_over_the_whole_ceiling() {
    const CALLS: usize = 300;
    let ceiling = SECS(1);
    let policy = RetryPolicy::default()
        .with_base_backoff(ceiling)
        .with_max_backoff(ceiling);
    let (client, mut handle) = mocked(policy);
    let mut waits = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let call = ping(&client);
        let (sent, _, reply) = next(&mut handle).await;
        reply.send_response(answer(503));
        let (again, _, reply) = next(&mut handle).await;
        reply.send_response(answer(200));
        call.await.unwrap().unwrap();
        waits.push(again - sent);
    }
    assert!(
        waits.iter().all(|wait| *wait <= ceiling + TICK),
        "{waits:?}"
    );
    // Five equal buckets: about 60 each; fewer than 20 in one is ~6 standard deviations
    // off, so this fails only when the waits are not spread over the range.
    let mut buckets = [0usize; 5];
    for wait in &waits {
        let index = (wait.as_nanos() * 5 / ceiling.as_nanos()).min(4) as usize;
        buckets[index] += 1;
    }
    assert!(buckets.iter().all(|count| *count >= 20), "{buckets:?}");
    let mut distinct: Vec<_> = waits.iter().map(Duration::as_millis).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() > 100,
        "only {} distinct waits",
        distinct.len()
    );
}

/// The ceiling doubles with each failed attempt: 100, 200, 400 ms.
#[tokio::test(start_paused = true)]
async fn backoff_ceiling_doubles_per_attempt() {
    const CALLS: usize = 100;
    let policy = RetryPolicy::default()
        .with_max_attempts(4)
        .with_base_backoff(MS(100))
        .with_max_backoff(SECS(10));
    let (client, mut handle) = mocked(policy);
    let mut longest = [Duration::ZERO; 3];
    for _ in 0..CALLS {
        let call = ping(&client);
        let (mut sent, _, reply) = next(&mut handle).await;
        reply.send_response(answer(500));
        for slot in &mut longest {
            let (again, _, reply) = next(&mut handle).await;
            reply.send_response(answer(500));
            *slot = (*slot).max(again - sent);
            sent = again;
        }
        let error = call.await.unwrap().unwrap_err();
        assert_eq!(error.attempts(), 4);
    }
    for (index, ceiling) in [MS(100), MS(200), MS(400)].into_iter().enumerate() {
        assert!(longest[index] <= ceiling + TICK, "{longest:?}");
        // The longest of 100 uniform waits is above half the ceiling unless the jitter is
        // broken (probability 2^-100).
        assert!(longest[index] > ceiling / 2, "{longest:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn each_attempt_has_its_own_timeout() {
    let policy = RetryPolicy::default()
        .with_max_attempts(3)
        .with_base_backoff(MS(10))
        .with_max_backoff(MS(10));
    let (client, mut handle) = mocked(policy);
    let client = client.request_timeout(SECS(2));
    let call = ping(&client);
    let mut unanswered = Vec::new();
    let (mut sent, _, reply) = next(&mut handle).await;
    unanswered.push(reply);
    for _ in 0..2 {
        let (again, _, reply) = next(&mut handle).await;
        unanswered.push(reply);
        let gap = again - sent;
        assert!(gap >= SECS(2) && gap <= SECS(2) + MS(10) + TICK, "{gap:?}");
        sent = again;
    }
    let error = call.await.unwrap().unwrap_err();
    assert!(
        matches!(error, PingError::Timeout { attempts: 3, timeout } if timeout == SECS(2)),
        "{error:?}"
    );
    assert!(error.is_retryable());
    let last = Instant::now() - sent;
    assert!(last >= SECS(2) && last <= SECS(2) + TICK, "{last:?}");
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_attempt_is_followed_by_one_that_succeeds() {
    let (client, mut handle) = mocked(RetryPolicy::default());
    let client = client.request_timeout(SECS(1));
    let call = ping(&client);
    let (sent, _, slow) = next(&mut handle).await;
    let (again, _, reply) = next(&mut handle).await;
    reply.send_response(answer(204));
    call.await.unwrap().unwrap();
    drop(slow);
    // The 1 s timeout, then at most the first backoff ceiling (200 ms by default).
    let gap = again - sent;
    assert!(gap >= SECS(1) && gap <= SECS(1) + MS(200) + TICK, "{gap:?}");
}

/// `Duration::MAX` means "no timeout": nothing overflows, and an answer after a day counts.
#[tokio::test(start_paused = true)]
async fn a_duration_max_timeout_waits_for_a_slow_answer() {
    let (client, mut handle) = mocked(RetryPolicy::never());
    let client = client.request_timeout(Duration::MAX);
    let call = ping(&client);
    let (_, _, reply) = next(&mut handle).await;
    tokio::time::sleep(SECS(86_400)).await;
    assert!(!call.is_finished());
    reply.send_response(answer(200));
    call.await.unwrap().unwrap();
}

/// A `Retry-After` too large for an `Instant`, under a `Duration::MAX` cap: the call waits
/// (about 30 years, Tokio's clamp) instead of panicking.
#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_does_not_overflow() {
    let (client, mut handle) = mocked(RetryPolicy::default().with_max_backoff(Duration::MAX));
    let client = client.request_timeout(Duration::MAX);
    let call = ping(&client);
    let (_, _, reply) = next(&mut handle).await;
    reply.send_response(answer_retry_after(503, "99999999999999999999999"));
    let retried = tokio::time::timeout(SECS(365 * 86_400), handle.next_request()).await;
    assert!(retried.is_err(), "retried within a year");
    assert!(!call.is_finished(), "the call ended: {:?}", call.await);
    call.abort();
}

/// A `Duration::MAX` base backoff: the jittered wait (up to 584 years of nanoseconds) is
/// slept without overflowing; whether it ends within the hour is up to the dice, a panic is
/// never allowed.
#[tokio::test(start_paused = true)]
async fn a_duration_max_backoff_does_not_overflow() {
    let policy = RetryPolicy::default()
        .with_base_backoff(Duration::MAX)
        .with_max_backoff(Duration::MAX);
    let (client, mut handle) = mocked(policy);
    let call = ping(&client);
    let (_, _, reply) = next(&mut handle).await;
    reply.send_response(answer(503));
    match tokio::time::timeout(SECS(3600), handle.next_request()).await {
        Ok(Some((_, reply))) => {
            reply.send_response(answer(200));
            call.await.unwrap().unwrap();
        }
        Ok(None) => panic!("the client hung up: {:?}", call.await),
        Err(_) => {
            assert!(!call.is_finished(), "the call ended: {:?}", call.await);
            call.abort();
        }
    }
}

#[tokio::test(start_paused = true)]
async fn sync_users_keeps_order_and_bounds_concurrency_through_the_stack() {
    let (client, mut handle) = mocked(RetryPolicy::default());
    // No timeout, so that held requests stay in flight while the clock moves.
    let client = client.request_timeout(Duration::MAX);
    let ids: Vec<UserId> = (0..20).map(|n| uid(&format!("user-{n}"))).collect();
    let mut call = {
        let (client, ids) = (client.clone(), ids.clone());
        tokio::spawn(async move { client.sync_users(ids, 4).await })
    };
    // Four in flight at most: hold four requests, and see that no fifth arrives.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(next(&mut handle).await);
    }
    let fifth = tokio::time::timeout(SECS(60), handle.next_request()).await;
    assert!(fifth.is_err(), "a fifth request went out");
    // Fail the first id once (retried), answer the rest.
    let mut failed_once = false;
    for (_, request, reply) in held {
        if request.uri().path().contains("/user-0/") && !failed_once {
            failed_once = true;
            reply.send_response(answer(503));
        } else {
            reply.send_response(answer(200));
        }
    }
    let outcomes = loop {
        tokio::select! {
            outcomes = &mut call => break outcomes.unwrap(),
            Some((_, reply)) = handle.next_request() => reply.send_response(answer(200)),
        }
    };
    let got: Vec<&str> = outcomes.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(got, ids);
    assert!(failed_once);
    assert!(outcomes.iter().all(|(_, outcome)| outcome.is_ok()));
}

/// A response body the test controls: `Stalled` never yields a frame; `Long` yields up to
/// 10,000 frames of 1 KiB (10 MiB) and counts them.
enum TestBody {
    Stalled,
    Long(Arc<AtomicUsize>),
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match &*self {
            Self::Stalled => Poll::Pending,
            Self::Long(frames) => {
                if frames.fetch_add(1, Ordering::SeqCst) >= 10_000 {
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&[b'x'; 1024])))))
            }
        }
    }
}

fn mocked_with_body(policy: RetryPolicy) -> (PingClient<BodyMock>, BodyHandle) {
    let (http, handle) = mock::pair();
    (
        PingClient::with_client(network(), http).retry(policy),
        handle,
    )
}

type BodyMock = mock::Mock<Request<Full<Bytes>>, Response<TestBody>>;
type BodyHandle = mock::Handle<Request<Full<Bytes>>, Response<TestBody>>;

/// The outcome is decided by the status; reading the discarded body only gets what is left
/// of the attempt's timeout, and a stalled body neither hangs the call nor turns a 2xx into
/// a failure.
#[tokio::test(start_paused = true)]
async fn a_stalled_body_gets_what_is_left_of_the_timeout() {
    let (client, mut handle) = mocked_with_body(RetryPolicy::never());
    let client = client.request_timeout(SECS(5));
    let call = tokio::spawn(async move { client.sync_user(&uid("ann.lee")).await });
    let (_, reply) = handle.next_request().await.unwrap();
    let sent = Instant::now();
    tokio::time::sleep(SECS(2)).await;
    reply.send_response(Response::new(TestBody::Stalled));
    let outcome = tokio::time::timeout(SECS(60), call).await;
    outcome
        .expect("the stalled body hung the call")
        .unwrap()
        .unwrap();
    assert_eq!(Instant::now() - sent, SECS(5));
}

/// At most 64 KiB of a discarded body is read: a 10 MiB body ends the call after 65 frames.
#[tokio::test(start_paused = true)]
async fn a_long_body_is_read_up_to_the_cap() {
    let frames = Arc::new(AtomicUsize::new(0));
    let (client, mut handle) = mocked_with_body(RetryPolicy::never());
    let call = tokio::spawn(async move { client.sync_user(&uid("ann.lee")).await });
    let (_, reply) = handle.next_request().await.unwrap();
    let mut response = Response::new(TestBody::Long(frames.clone()));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    reply.send_response(response);
    let error = call.await.unwrap().unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(frames.load(Ordering::SeqCst), 65);
}
