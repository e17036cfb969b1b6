//! The pages, tried in a real browser: headless Chromium over WebDriver (see
//! `tests/common/browser.rs` for the harness, and how it skips locally and fails in CI when
//! Chromium is missing). Each test leaves a screenshot in `target/screenshots/`, and in
//! `docs/` with `UPDATE_SCREENSHOTS=1`.
#![cfg(feature = "emulator")]

mod common;

// The modules live in `browser/`, beside this file: a binary root here (not `browser/main.rs`)
// finds `common/` without a `#[path]`.
mod browser {

    #[cfg(feature = "outbox")]
    mod admin_page;
    mod check_report;
    mod emulator_page;
}
