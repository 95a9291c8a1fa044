//! The black-box tests, as one binary: each module drives the real server (through aws-sdk-ivs or
//! raw HTTP) or the real `ivs-vcr` binary, and `support` holds what they share.

mod accounts;
mod bench_latencies;
mod bundled;
mod chat;
mod chat_socket;
mod cli;
mod clock;
mod diff;
mod emulator;
mod events;
mod faults;
mod fidelity;
mod fidelity_chat;
mod fidelity_ids;
mod fidelity_ivs;
mod fidelity_realtime;
mod hardening;
mod ivs_catalog;
mod live;
mod properties;
mod realtime;
mod realtime_vcr;
mod record;
mod record_faults;
mod replay;
mod security;
mod state;
mod support;
mod verify;
