//! The black-box tests, as one binary: each module drives the real server (through aws-sdk-ivs or
//! raw HTTP) or the real `ivs-vcr` binary, and `support` holds what they share.

mod bench_latencies;
mod bundled;
mod chat;
mod chat_socket;
mod cli;
mod clock;
mod diff;
mod emulator;
mod faults;
mod hardening;
mod ivs_catalog;
mod live;
mod properties;
mod record;
mod record_faults;
mod replay;
mod security;
mod support;
mod verify;
