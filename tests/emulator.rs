//! The emulator end to end: its HTTP API on loopback, real pulls against a small pull
//! endpoint built from `LftokenLayer`, and the ping faults (late and missing pulls too) and ping log;
//! and the whole Ping-for-Pull sequence, `PingClient` to the emulator to `pull_endpoint`, with
//! the sequence example (`sequence`).
#![cfg(feature = "emulator")]

mod common;

// The modules live in `emulator/`, beside this file: a binary root here (not `emulator/main.rs`)
// finds `common/` without a `#[path]`.
mod emulator {

    mod accepted_faults;
    mod api;
    mod faults;
    mod listener;
    mod page;
    mod pulls;
    mod sequence;
    mod support;
}
