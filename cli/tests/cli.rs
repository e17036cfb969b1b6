//! The `livefyre` command, run as a child process: `check` against correct and broken
//! endpoints (`check`, `explain`, `reports`, `secrets`, and `server_example` against the real
//! server example), `emulator` with `register` and `ping` (`emulator`, `ping`), where keys
//! come from (`keys`), and `token` (`token`).

mod common;

// The modules live in `tests/cli/`, beside this file: a binary root here (not `cli/main.rs`)
// finds `common/` without a `#[path]`.
mod cli {

    mod check;
    mod emulator;
    mod explain;
    mod keys;
    mod ping;
    mod reports;
    mod secrets;
    mod server_example;
    mod token;
}
