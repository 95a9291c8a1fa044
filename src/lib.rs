//! ivs-vcr: record and replay the Amazon Interactive Video Service (IVS) API.
//!
//! Point an AWS client (boto3, the aws CLI, the JS SDK v3, aws-sdk-rust) at ivs-vcr instead of
//! `ivs.<region>.amazonaws.com` and it answers from YAML *cassettes*, offline, with no AWS account.
//! This crate is both the `ivs-vcr` binary and a library for Rust tests.
//!
//! # Replay in a test
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ivs_vcr::{Cassette, ReplayServer};
//! use std::io::{Read, Write};
//!
//! let cassette = Cassette::from_yaml(r#"
//! format: 1
//! api_version: "2020-07-14"
//! ivs_vcr_version: 0.1.0
//! provenance: { kind: authored, source: doc example }
//! name: doc
//! interactions:
//!   - request: { method: POST, path: /ListChannels, region: us-west-2, body: {} }
//!     response: { status: 200, headers: { Content-Type: application/json }, body: { channels: [] } }
//! "#, "doc.yaml".as_ref())?;
//! let server = ReplayServer::start(cassette).await;
//!
//! // Any HTTP client works; an SDK would be given `server.uri()` as its endpoint URL.
//! let addr = server.addr();
//! let answer = tokio::task::spawn_blocking(move || {
//!     let mut stream = std::net::TcpStream::connect(addr).unwrap();
//!     // `Host` must name the server (see "Security" in the README).
//!     let request = format!("POST /ListChannels HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}");
//!     stream.write_all(request.as_bytes()).unwrap();
//!     let mut answer = String::new();
//!     stream.read_to_string(&mut answer).unwrap();
//!     answer
//! }).await?;
//! assert!(answer.starts_with("HTTP/1.1 200 OK"));
//! assert!(answer.ends_with(r#"{"channels":[]}"#));
//! server.verify(); // panics if a request went unmatched; also runs on drop
//! # Ok(()) }
//! ```
//!
//! # Cassettes
//! One YAML file per scenario (see [`cassette`] for the format): a header (format version, IVS API
//! version, the ivs-vcr version that wrote it, provenance) and a list of interactions, each a
//! request (method, path, query, region, JSON body as YAML) and its response (status, headers,
//! JSON body as YAML).
//!
//! # Matching
//! A request matches an interaction when method, path (the `/tags/` ARN percent-decoded), query
//! (as a set per key), region (from the SigV4 credential scope) and canonical JSON body are equal.
//! Key order, whitespace, `\u` escapes, signatures, dates, SDK invocation ids and user agents never
//! matter. A cassette can ignore body paths (`matching.ignore_body_paths`) and match on chosen
//! headers (`matching.headers`). The n-th identical request gets the n-th recorded answer; once
//! they are used up the last repeats, unless [`ReplayServerBuilder::strict_sequence`] is on.
//!
//! # Unmatched requests
//! An unmatched request never gets another request's answer. It gets HTTP 400 with
//! `x-amzn-ErrorType: IvsVcrUnmatchedRequestException` and a message, under the `message` key
//! every SDK reads, naming the nearest recorded interaction and the first field that differs.
//! [`MatchLevel::Operation`] opts into answering any request with a recorded success of the same
//! operation, marked by `x-ivs-vcr-match: operation`.
//!
//! Secret request members (PutMetadata `metadata`, private key material) are compared as the
//! `ivs-vcr-redacted:<hash>` placeholders cassettes store, and a cassette with
//! `matching.scrub_account: true` compares every ARN with its account replaced by `000000000000`.
//!
//! # Recording
//! [`RecordServer`] (`ivs-vcr record`) is a reverse proxy to `https://ivs.<region>.amazonaws.com`:
//! it takes the region from the client's SigV4 credential scope and refuses anything that is not
//! an AWS region name before connecting, re-signs each request with the operator's credentials, and writes what it sees to `<dir>/<name>.yaml` without signatures, dates, SDK ids,
//! per-run request ids or secret values, in an order that does not depend on timing. [`RecordMode`]
//! chooses between forwarding and replaying; upstream 5xx answers are passed on, not recorded.
//!
//! # Drift
//! [`diff::diff`] (`ivs-vcr diff OLD NEW`) pairs the interactions of two cassette sets and compares
//! their answers by shape: fields added or removed, changed types, new enum values, changed status
//! codes or error types. Ids, timestamps and request ids that change on every recording are not drift.
//!
//! # Emulation
//! [`ReplayServer::emulator`] (`ivs-vcr replay` without `--cassettes`) is a stateful, in-memory IVS
//! account driven by AWS's service model: what a test creates it can get, list, tag and delete;
//! invalid requests fail as IVS fails them; `POST /_ivs-vcr/streams/start` takes a channel live.
//! With cassettes, [`OnMiss::Emulate`] answers what no cassette matches from the emulator. Both
//! servers answer a control plane under `/_ivs-vcr/` (health, reset, state, streams, summary,
//! injected faults).
//!
//! # Bundled cassettes
//! The bundled cassettes are compiled in (`ivs-vcr replay --with-bundled` serves them): every IVS
//! and IVS Chat operation, its success and each modeled error, authored from the API references, and the
//! emulator's conformance suite (`ivs-vcr verify`). [`ReplayServerBuilder::region_portable`]
//! serves them to clients of any region.
//!
//! # What is API and what is not
//! The API is what this page lists at its root: [`Cassette`] and its parts, [`ReplayServer`] and
//! [`RecordServer`] with their builders, summaries ([`ReplaySummary`], [`RecordSummary`]) and
//! errors ([`ReplayError`], [`RecordError`]), [`RecordMode`], [`MatchLevel`], [`OnMiss`], the two
//! response headers ([`MATCH_HEADER`], [`SOURCE_HEADER`]), and the [`cassette`] and [`diff`] modules.
//!
//! `__private` (hidden from these docs) holds what the binary, the tests, the benchmarks and the
//! fuzz targets reach into: normalization, redaction, the bundled cassettes, the HTTP helpers,
//! fault rules. It is not API: it changes without notice, in any release. `ivs` (the catalog),
//! `fault` and `verify` (behind `ivs-vcr verify`) are not API either.
#![warn(missing_docs)]

mod answer;
mod body_path;

mod bundled;
pub mod cassette;
mod clock;
mod control;
pub mod diff;
mod emulator;
#[doc(hidden)]
pub mod fault;
mod http;
#[doc(hidden)]
pub mod ivs;
#[allow(dead_code)] // Its users land with Real-Time tokens and private channels.
mod jwt;
mod live;
mod matcher;
mod normalize;
mod record;
mod redact;
mod replay;
mod seeded;
mod upstream;
#[doc(hidden)]
pub mod verify;

pub use cassette::{Cassette, CassetteError, Interaction, RecordedRequest, RecordedResponse};
pub use emulator::state_file::StateFileError;
pub use http::{MATCH_HEADER, SOURCE_HEADER};
pub use matcher::MatchLevel;
pub use record::{
    RecordError, RecordMode, RecordOperationSummary, RecordServer, RecordServerBuilder,
    RecordSummary, Skipped,
};
pub use redact::{Finding as SecretFinding, SecretKind};
pub use replay::{
    OnMiss, ReplayError, ReplayOperationSummary, ReplayServer, ReplayServerBuilder, ReplaySummary,
    UnusedInteraction,
};
pub use upstream::{SignError, UpstreamError};

/// Not API: what the binary, tests, benchmarks and fuzz targets need. Changes without notice.
#[doc(hidden)]
pub mod __private {
    /// The bundled cassettes.
    pub mod bundled {
        pub use crate::bundled::*;
    }
    /// Normalization and fingerprints.
    pub mod normalize {
        pub use crate::normalize::*;
    }
    /// Secret placeholders, the account scrub and the secret scan.
    pub mod redact {
        pub use crate::redact::*;
    }
    /// ARN parsing, re-regioning, scrubbing and masking.
    pub mod arn {
        pub use crate::ivs::arn::*;
    }
    pub use crate::fault::FaultRule;
    /// What RTMP ingest parses (FLV bodies, the SPS, the remuxer), for the `ingest_media` fuzz
    /// target.
    pub fn fuzz_ingest(data: &[u8]) {
        crate::live::ingest::fuzz(data);
    }
    pub use crate::http::{error_response, split_cassette_prefix, CASSETTE_PREFIX};
    pub use crate::live::chat::{ChatDoor, DoorGrant, DoorRoom};
    pub use crate::matcher::SequenceEnd;
    pub use crate::record::{is_valid_cassette_name, DEFAULT_CASSETTE_NAME};
    pub use crate::replay::DEFAULT_REGION;
    pub use crate::upstream::{Endpoint, AWS_ENDPOINT};

    /// The interactions of a part of a cassette (the items of its `interactions` sequence), as
    /// the fast reader reads them and as serde_yaml does: the first is `None` or equal to the
    /// second (the `cassette_items` fuzz target holds it to that).
    pub fn cassette_part_readings(
        part: &str,
    ) -> (
        Option<Vec<crate::Interaction>>,
        Option<Vec<crate::Interaction>>,
    ) {
        crate::cassette::part_readings(part)
    }

    /// An origin as `--allow-origin` compares it (scheme, host, port), or `None` when the text
    /// is no `http(s)://host[:port]` origin nor `null`.
    pub fn normalize_origin(origin: &str) -> Option<String> {
        crate::http::normalize_origin(origin)
    }

    /// What the loader's lexical scan finds in `text` with a nesting limit of `depth`: why it
    /// refuses the file before parsing (`too deep`, `anchor`, `alias` or `%TAG`) with the line,
    /// and the first tag JSON cannot hold with its line (the `cassette_scan` fuzz target holds
    /// it to libyaml's events).
    pub fn cassette_scan(text: &str, depth: usize) -> crate::cassette::ScanFindings {
        crate::cassette::scan_findings(text, depth)
    }

    /// Checks an `--events-url`: Ok for an absolute `http://` URL, else what to give instead.
    pub fn check_events_url(url: &str) -> Result<(), String> {
        crate::live::events::check_url(url)
    }

    /// `1234567` as `1,234,567`, as cassette errors write counts.
    pub fn thousands(n: u64) -> String {
        crate::cassette::thousands(n)
    }

    /// [`crate::diff::load_cassettes`] holding each file to at most `max_bytes` and
    /// `max_interactions` (`--max-cassette-mib` and `--max-interactions` of `diff` and `verify`).
    pub fn load_cassettes_limited(
        path: &std::path::Path,
        max_bytes: u64,
        max_interactions: usize,
    ) -> Result<Vec<(std::path::PathBuf, crate::Cassette)>, crate::CassetteError> {
        let limits = crate::cassette::Limits {
            bytes: max_bytes,
            interactions: max_interactions,
            ..crate::cassette::Limits::DEFAULT
        };
        crate::diff::load_cassettes_limited(path, limits)
    }
}
