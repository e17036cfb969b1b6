//! The emulator end to end: its HTTP API on loopback, real pulls against a small pull
//! endpoint built from `LftokenLayer`, and the ping faults (late and missing pulls too) and ping log.
#![cfg(feature = "emulator")]

mod accepted_faults;
mod api;
mod faults;
mod listener;
mod page;
mod pulls;
mod support;
