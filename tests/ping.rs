//! `PingClient`: over the wire against a scripted local HTTP server (`client`), its retries
//! and timeouts against tower-test's mock under paused time (`retry`), and the lifetime of
//! every token it sends (`tokens`).
#![cfg(feature = "ping")]

mod common;

// The modules live in `ping/`, beside this file: a binary root here (not `ping/main.rs`)
// finds `common/` without a `#[path]`.
mod ping {

    mod client;
    mod retry;
    mod tokens;
}
