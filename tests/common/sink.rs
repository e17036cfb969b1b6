//! A loopback stand-in for Livefyre's ping route whose answers the test scripts: a status,
//! a `Retry-After`, or "hold until released". It records every ping, and every moment two
//! pings for one user overlapped.

#![allow(dead_code)] // each test binary uses a part

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header::RETRY_AFTER};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::Notify;

/// How one ping is answered.
#[derive(Clone)]
pub enum Answer {
    Status(u16),
    /// 503 with `Retry-After: secs`.
    RetryAfter(u64),
    /// Waits for the notify, then 200.
    Hold(Arc<Notify>),
    /// A slow Livefyre: 200 after this long.
    Delay(Duration),
}

#[derive(Default)]
pub struct Record {
    /// Ids in arrival order.
    pub arrived: Vec<String>,
    /// `(id, status)` in completion order.
    pub answered: Vec<(String, u16)>,
    /// Pings of one user that were in flight at the same time.
    pub overlaps: usize,
    in_flight: HashMap<String, usize>,
    script: HashMap<String, VecDeque<Answer>>,
}

impl Record {
    pub fn count(&self, id: &str) -> usize {
        self.arrived.iter().filter(|a| *a == id).count()
    }
    pub fn answered_ok(&self, id: &str) -> usize {
        self.answered
            .iter()
            .filter(|(a, s)| a == id && *s == 200)
            .count()
    }
}

#[derive(Default)]
struct Shared {
    record: Mutex<Record>,
    changed: Notify,
    /// [`Sink::wait_answered`]'s target: one wake when it is reached, not one per ping.
    target: AtomicUsize,
    reached: Notify,
}

pub struct Sink {
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Sink {
    pub async fn start() -> Sink {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/api/v3_0/user/{id}/refresh", post(ping))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Sink {
            url,
            shared,
            server,
        }
    }

    /// The next answers for `id`, in order; then 200.
    pub fn script(&self, id: &str, answers: impl IntoIterator<Item = Answer>) {
        let mut record = self.shared.record.lock().unwrap();
        record
            .script
            .entry(id.to_owned())
            .or_default()
            .extend(answers);
    }

    pub fn read<T>(&self, f: impl FnOnce(&Record) -> T) -> T {
        f(&self.shared.record.lock().unwrap())
    }

    /// Waits (30 s at most) until `n` pings have been answered, woken once rather than at
    /// every ping (for benchmarks).
    pub async fn wait_answered(&self, n: usize) {
        self.shared.target.store(n, Ordering::Release);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.read(|r| r.answered.len()) < n {
            if tokio::time::timeout_at(deadline, self.shared.reached.notified())
                .await
                .is_err()
            {
                panic!("timed out waiting for {n} answered pings");
            }
        }
    }

    /// Waits (30 s at most) until `done` holds for the record.
    pub async fn wait(&self, what: &str, done: impl Fn(&Record) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.read(&done) {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                let arrived = self.read(|r| r.arrived.len());
                panic!("timed out waiting for {what} ({arrived} pings arrived)");
            }
        }
    }
}

async fn ping(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let answer = {
        let mut record = shared.record.lock().unwrap();
        record.arrived.push(id.clone());
        let in_flight = record.in_flight.entry(id.clone()).or_default();
        *in_flight += 1;
        if *in_flight > 1 {
            record.overlaps += 1;
        }
        let answer = record.script.get_mut(&id).and_then(VecDeque::pop_front);
        answer.unwrap_or(Answer::Status(200))
    };
    shared.changed.notify_waiters();
    // Counts the ping out even when the client hangs up first (the handler is dropped).
    let _in_flight = InFlight(shared.clone(), id.clone());
    let (status, retry_after) = match answer {
        Answer::Status(status) => (status, None),
        Answer::RetryAfter(secs) => (503, Some(secs)),
        Answer::Hold(release) => {
            release.notified().await;
            (200, None)
        }
        Answer::Delay(delay) => {
            tokio::time::sleep(delay).await;
            (200, None)
        }
    };
    let answered = {
        let mut record = shared.record.lock().unwrap();
        record.answered.push((id, status));
        record.answered.len()
    };
    shared.changed.notify_waiters();
    if answered == shared.target.load(Ordering::Acquire) {
        shared.reached.notify_one();
    }
    let mut response = StatusCode::from_u16(status).unwrap().into_response();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

struct InFlight(Arc<Shared>, String);

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut record) = self.0.record.lock()
            && let Some(n) = record.in_flight.get_mut(&self.1)
        {
            *n -= 1;
        }
        self.0.changed.notify_waiters();
    }
}
