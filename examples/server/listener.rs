//! The accept loop: the app over hyper's HTTP/1.1, with a header-read timeout and a cap on
//! open connections, so that clients that connect and then send nothing (or half a request
//! line) cannot pile up until the process runs out of file descriptors.
//!
//! - Header-read timeout (`HEADER_READ_TIMEOUT_SECS`, default 10): a client has that long to
//!   send a request's headers, and an idle keep-alive connection that long to start its next
//!   request; then hyper closes the connection. Livefyre's pulls send their headers at once.
//! - Connection cap (`MAX_CONNECTIONS`, default 1024): each open connection holds a permit of
//!   a semaphore, and with none left the loop stops accepting; new clients wait in the
//!   kernel's backlog until a connection closes. Keep it under the process's file-descriptor
//!   limit (`ulimit -n`), less what the database pool and the relay need.
//!
//! HTTP/1.1 only: that is what Livefyre pulls with, and it is the protocol hyper's
//! header-read timeout covers (`axum::serve` would also take HTTP/2, with no such timeout).

use std::error::Error;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::support;

/// The default of `HEADER_READ_TIMEOUT_SECS`.
const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// The default of `MAX_CONNECTIONS`.
const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// How slow and how many clients may be.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    /// `HEADER_READ_TIMEOUT_SECS` and `MAX_CONNECTIONS`, each a whole number of at least 1.
    pub fn from_env() -> Result<Self, Box<dyn Error>> {
        let secs = positive("HEADER_READ_TIMEOUT_SECS", DEFAULT_HEADER_READ_TIMEOUT_SECS)?;
        let max_connections = positive("MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS as u64)?;
        Ok(Self {
            header_read_timeout: Duration::from_secs(secs),
            max_connections: usize::try_from(max_connections)
                .unwrap_or(usize::MAX)
                .min(Semaphore::MAX_PERMITS),
        })
    }
}

/// The variable `name` as a whole number of at least 1 (and at most a year's seconds, so
/// that it fits hyper's timer), or `default` when unset.
fn positive(name: &str, default: u64) -> Result<u64, Box<dyn Error>> {
    const MAX: u64 = 365 * 24 * 3600;
    let Some(value) = support::var(name)? else {
        return Ok(default);
    };
    match value.trim().parse::<u64>() {
        Ok(n) if (1..=MAX).contains(&n) => Ok(n),
        _ => Err(format!("{name}={value:?}: give a whole number from 1 to {MAX}").into()),
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets every
/// open connection finish its request in flight, and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // A permit first: at the cap, nothing more is accepted until a connection closes.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit,
            () = &mut shutdown => break,
        };
        // The semaphore is never closed.
        let Ok(permit) = permit else { break };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: wait for some to close rather
                    // than spin (axum::serve does the same).
                    tracing::error!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let mut stopped = stopped.clone();
        connections.spawn(async move {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => log_end(result),
                () = async { drop(stopped.wait_for(|stop| *stop).await) } => {
                    connection.as_mut().graceful_shutdown();
                    log_end(connection.await);
                }
            }
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(error) = result {
        // A header-read timeout, a client that went away: routine, not the app's failure.
        tracing::debug!(%error, "connection ended with an error");
    }
}
