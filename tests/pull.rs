//! The pull side: every row of the behaviour table through `pull_endpoint` (`endpoint`), a
//! profile source that panics, fails or hangs behind it over real HTTP (`source_faults`), the
//! profile document (`profile`), and property tests over tokens, pull queries and profiles
//! (`properties`).

mod common;

// The modules live in `pull/`, beside this file: a binary root here (not `pull/main.rs`)
// finds `common/` without a `#[path]`.
mod pull {

    mod endpoint;
    mod profile;
    mod properties;
    mod source_faults;
}
