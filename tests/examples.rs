//! The examples, compiled and run as child processes over real HTTP: the server example
//! (`server`) and its admin listener (`server_admin`), the raw-hyper and tonic/tonic-web
//! examples (`stacks`), and how every example fails closed without its network key
//! (`fail_closed`).

mod common;

// The modules live in `examples/`, beside this file: a binary root here (not `examples/main.rs`)
// finds `common/` without a `#[path]`.
mod examples {

    mod fail_closed;
    mod server;
    mod server_admin;
    mod stacks;
}
