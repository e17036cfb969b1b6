//! The emulator end to end: its HTTP API on loopback, real pulls against a small pull
//! endpoint built from `LftokenLayer`, and the ping faults and ping log.
#![cfg(feature = "emulator")]

mod api;
mod faults;
mod listener;
mod pulls;
mod support;
