//! `PingClient`: over the wire against a scripted local HTTP server (`client`), its retries
//! and timeouts against tower-test's mock under paused time (`retry`), and the lifetime of
//! every token it sends (`tokens`).
#![cfg(feature = "ping")]

#[path = "../common/mod.rs"]
mod common;

mod client;
mod retry;
mod tokens;
