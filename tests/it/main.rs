//! The black-box tests, as one binary: each module drives the real server (through aws-sdk-ivs or
//! raw HTTP) or the real `ivs-vcr` binary, and `support` holds what they share.

mod bundled;
mod cli;
mod diff;
mod emulator;
mod faults;
mod hardening;
mod properties;
mod record;
mod record_faults;
mod replay;
mod support;
mod verify;
