//! The cassette: one YAML file per scenario, holding recorded interactions.
//!
//! This module owns the on-disk format and is the only one that knows YAML. Everything else sees
//! [`Cassette`], [`Interaction`], [`RecordedRequest`] and [`RecordedResponse`]. Writes go through
//! [`Cassette::save`], which writes a temporary file next to the target and renames it, so a crash
//! never leaves a half-written cassette. The temporary file is a dot-file,
//! `.<file>.<pid>.<random>.tmp`: a process killed between writing and renaming leaves it behind, loaders
//! ([`load_dir`]) skip it, and [`remove_stale_temp_files`] (run when recording starts) deletes it.
//!
//! # Format, version 1 (and 2)
//! Version 2 adds only `service` on a request of another service than IVS (`service: ivschat`);
//! a cassette of IVS interactions only is still written as version 1 (see [`FORMAT_VERSION`]).
//! ```yaml
//! format: 1
//! api_version: "2020-07-14"
//! ivs_vcr_version: 0.1.0
//! provenance:
//!   kind: recorded            # or `authored`
//!   source: https://ivs.us-west-2.amazonaws.com
//! name: channel-lifecycle
//! matching:                   # optional
//!   ignore_body_paths: [tags.run-id]
//!   headers: [x-my-header]
//!   scrub_account: true       # ARNs carry account 000000000000 (record --scrub-account)
//! interactions:
//!   - request:
//!       method: POST
//!       path: /GetChannel
//!       region: us-west-2
//!       body: { arn: "arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234" }
//!     response:
//!       status: 200
//!       headers: { Content-Type: application/json }
//!       body: { channel: { name: my-channel } }
//! ```
//! Bodies are JSON stored as YAML structures, so they are reviewable and diffable. A body that is
//! not JSON (rare: an HTML error page from a proxy in front of upstream) is kept verbatim under a
//! response's `body_text`.
//!
//! # Loading is strict
//! A file is refused whole, with its path, the line and the reason, when it is not YAML, when a
//! field has the wrong type or is unknown, when its `format` is newer than [`FORMAT_VERSION`], and
//! when it holds what a JSON body cannot: a duplicate key (which YAML forbids, but a plain map would
//! silently keep the last of), a non-string key, a tag such as `!!binary`, or `.nan`/`.inf`. Bodies
//! and header and query maps are read through their own visitors for that reason; a lenient read
//! would replay something other than what the file shows.
//!
//! # The split
//! This file holds the format's types. `load` reads a file strictly (the YAML tag scan and the
//! JSON visitors); `save` writes atomically, walks directories and removes temporary files that
//! a killed recorder left behind.

mod confined;
mod load;
mod save;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::ivs::Service;
pub(crate) use confined::CassetteDir;
use load::{json_body, unique_keys};
pub(crate) use load::{part_readings, scan_findings, Limits, ScanFindings};
pub use save::{
    confined_path, load_dir, load_dir_with_progress, remove_stale_temp_files, yaml_files,
};
pub(crate) use save::{load_dir_limited, write_atomically_private};

/// The newest cassette format version this build reads and writes.
///
/// Version 2 adds one thing: a request's `service` (`ivschat`, `ivs-realtime`), written only for
/// a service other than IVS. A cassette is written in the lowest version that holds it
/// ([`Cassette::needed_format`]): one of IVS interactions only stays version 1, byte for byte as
/// before, and older builds keep reading it; one with a Chat or Real-Time interaction is version
/// 2, which older builds refuse with their "upgrade ivs-vcr" message instead of an unknown field.
pub const FORMAT_VERSION: u32 = 2;

/// The format version of a cassette whose interactions are all IVS's.
pub const IVS_ONLY_FORMAT: u32 = 1;

/// The IVS API version every cassette is for.
pub const IVS_API_VERSION: &str = "2020-07-14";

/// One scenario: a header plus an ordered list of interactions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    /// Format version; a file with a newer one is refused at load.
    pub format: u32,
    /// Always `2020-07-14`.
    pub api_version: String,
    /// The ivs-vcr version that wrote the file.
    pub ivs_vcr_version: String,
    /// Where the interactions come from.
    pub provenance: Provenance,
    /// The cassette's name: its file stem, and the `/cassette/<name>` URL prefix that selects it.
    pub name: String,
    /// What the scenario shows, for people reading the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Per-cassette matching options.
    #[serde(default, skip_serializing_if = "Matching::is_default")]
    pub matching: Matching,
    /// The interactions, in recorded order.
    #[serde(default)]
    pub interactions: Vec<Interaction>,
}

/// Where a cassette's interactions come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Recorded from a live endpoint, or authored by hand.
    pub kind: ProvenanceKind,
    /// The endpoint recorded from, or the reference a hand-authored cassette follows.
    pub source: String,
    /// The API model the interactions follow, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The day of the first recording (`YYYY-MM-DD`). Kept across re-recordings so that an
    /// unchanged API gives an unchanged file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_on: Option<String>,
}

/// How a cassette came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProvenanceKind {
    /// Captured by `ivs-vcr record`.
    Recorded,
    /// Written by hand.
    Authored,
}

/// Per-cassette matching options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matching {
    /// Dotted paths into the request body whose values never take part in matching, for values
    /// an application makes up on every run (`name`, `tags.run-id`, `viewerSessions.*.viewerId`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_body_paths: Vec<String>,
    /// Request headers that must match (by default no header does).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// True when the cassette was recorded with the account scrub (`record --scrub-account`):
    /// every ARN's account is `000000000000`, and replay maps incoming requests' ARNs the same way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub scrub_account: bool,
}

impl Matching {
    fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

/// One request and the response it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    /// What the downstream client asked.
    pub request: RecordedRequest,
    /// What upstream answered.
    pub response: RecordedResponse,
}

/// A request as ivs-vcr sees it: read once, owned, independent of hyper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    /// The service of the IVS family the request is for (`service: ivschat`); written only when it
    /// is not IVS, so that IVS cassettes read as they always did. Worked out on arrival from the
    /// request itself (`Service::route`), so replay matches it like any other part.
    #[serde(
        default,
        skip_serializing_if = "Service::is_ivs",
        serialize_with = "service_id",
        deserialize_with = "service_from_id"
    )]
    pub service: Service,
    /// HTTP method.
    pub method: String,
    /// The raw path as sent on the wire (the ARN of the tag routes stays percent-encoded).
    pub path: String,
    /// Decoded query parameters; repeated keys keep every value.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique_keys"
    )]
    pub query: BTreeMap<String, Vec<String>>,
    /// The AWS region of the request (from its SigV4 credential scope).
    pub region: String,
    /// Request headers kept for matching. Empty unless a cassette asks for headers.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique_keys"
    )]
    pub headers: BTreeMap<String, String>,
    /// The JSON body, stored as a YAML structure; absent when the request has none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json_body"
    )]
    pub body: Option<Value>,
}

fn service_id<S: serde::Serializer>(service: &Service, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(service.id())
}

fn service_from_id<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Service, D::Error> {
    let id = String::deserialize(deserializer)?;
    Service::from_id(&id).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown service `{}`: this ivs-vcr knows {}",
            crate::redact::printable(&id),
            Service::ALL.map(|s| format!("`{}`", s.id())).join(", ")
        ))
    })
}

/// A response as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers that matter to clients, as recorded (never `Content-Length` or `Date`).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique_keys"
    )]
    pub headers: BTreeMap<String, String>,
    /// A JSON body, stored as a YAML structure.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json_body"
    )]
    pub body: Option<Value>,
    /// A body that is not JSON, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
}

impl RecordedResponse {
    /// Sets the body from raw bytes: nothing, JSON, or verbatim text.
    pub fn set_body_bytes(&mut self, bytes: &[u8]) {
        self.body = None;
        self.body_text = None;
        if bytes.is_empty() {
            return;
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(json) => self.body = Some(json),
            Err(_) => self.body_text = Some(String::from_utf8_lossy(bytes).into_owned()),
        }
    }

    /// The body bytes to send: compact JSON, the verbatim text, or nothing.
    pub fn body_bytes(&self) -> Bytes {
        match (&self.body, &self.body_text) {
            // Invariant: serializing a `serde_json::Value` cannot fail.
            (Some(json), _) => Bytes::from(serde_json::to_vec(json).expect("Value serializes")),
            (None, Some(text)) => Bytes::from(text.clone()),
            (None, None) => Bytes::new(),
        }
    }
}

/// Errors of loading and saving cassettes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CassetteError {
    /// The file could not be read or written.
    #[error("cannot access cassette `{path}`")]
    Io {
        /// The cassette file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML or does not follow the format.
    #[error("invalid cassette `{path}`{}: {message}", line_suffix(*.line))]
    Parse {
        /// The cassette file.
        path: PathBuf,
        /// The 1-based line of the problem, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The file was written by a newer ivs-vcr.
    #[error(
        "cassette `{path}` has format version {found}, but this ivs-vcr reads up to version {FORMAT_VERSION}: upgrade ivs-vcr"
    )]
    NewerFormat {
        /// The cassette file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
    },
    /// The file follows the format but holds something that cannot be served.
    #[error("invalid cassette `{path}`: interaction {interaction_idx}: {message}")]
    Invalid {
        /// The cassette file.
        path: PathBuf,
        /// The 0-based index of the interaction.
        interaction_idx: usize,
        /// What is wrong.
        message: String,
    },
    /// A part of the cassette's path below the cassette folder is a symbolic link: following
    /// it could read or write outside the folder.
    #[error("refusing cassette `{path}`: `{link}` is a symbolic link, and cassettes stay inside `{root}`")]
    Symlink {
        /// The cassette file.
        path: PathBuf,
        /// The link.
        link: PathBuf,
        /// The cassette folder.
        root: PathBuf,
    },
    /// The path names something other than a regular file (a directory, a device, a FIFO).
    #[error("refusing cassette `{path}`: not a regular file")]
    NotAFile {
        /// The cassette path.
        path: PathBuf,
    },
    /// The file is larger than a cassette may be: [`Cassette::load`] takes up to 64 MiB, and
    /// [`ReplayServerBuilder::max_cassette_bytes`](crate::ReplayServerBuilder::max_cassette_bytes)
    /// (`ivs-vcr replay --max-cassette-mib`) sets another limit.
    #[error(
        "refusing cassette `{path}`: {} bytes is over the limit of {} bytes (raise it with `--max-cassette-mib {}` on `ivs-vcr replay`, `record`, `diff` or `verify`, or `max_cassette_bytes` on `ReplayServerBuilder` or `RecordServerBuilder`; a load takes about 7 times the file's size in memory)",
        thousands(*.size),
        thousands(*.limit),
        size.div_ceil(1024 * 1024)
    )]
    TooLarge {
        /// The cassette file.
        path: PathBuf,
        /// The file's size in bytes (at least this much, for a file that grew while it was read).
        size: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The file nests mappings and sequences deeper than a cassette may.
    #[error(
        "refusing cassette `{path}` at line {line}: nested deeper than the limit of {limit} levels"
    )]
    TooDeep {
        /// The cassette file.
        path: PathBuf,
        /// The 1-based line where the limit is passed.
        line: usize,
        /// The limit.
        limit: usize,
    },
    /// The file holds a YAML anchor (`&name`) or alias (`*name`). ivs-vcr never writes them,
    /// and serde_yaml expands every alias into a copy of its anchor's value, so a few KB of
    /// them could take GB of memory to load. The message quotes nothing of the file but the
    /// sigil, since a client may be told it.
    #[error(
        "refusing cassette `{path}` at line {line}: YAML {} `{sigil}…` (ivs-vcr never writes anchors or aliases, and each alias would be expanded into a copy of its anchor's value): write the value out in full",
        if *.sigil == '&' { "anchor" } else { "alias" }
    )]
    Alias {
        /// The cassette file.
        path: PathBuf,
        /// The 1-based line of the anchor or alias.
        line: usize,
        /// `&` for an anchor, `*` for an alias.
        sigil: char,
    },
    /// The file holds more interactions than a cassette may: [`Cassette::load`] takes up to
    /// 100,000, and
    /// [`ReplayServerBuilder::max_interactions`](crate::ReplayServerBuilder::max_interactions)
    /// (`ivs-vcr replay --max-interactions`) sets another limit.
    #[error(
        "refusing cassette `{path}`: {} interactions is over the limit of {} (raise it with `--max-interactions {found}` on `ivs-vcr replay`, `record`, `diff` or `verify`, or `max_interactions` on `ReplayServerBuilder` or `RecordServerBuilder`)",
        thousands(*.found as u64),
        thousands(*.limit as u64)
    )]
    TooManyInteractions {
        /// The cassette file.
        path: PathBuf,
        /// The number of interactions in the file.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// A directory holds no cassette.
    #[error("no cassette (*.yaml, *.yml) found under `{path}`")]
    Empty {
        /// The directory.
        path: PathBuf,
    },
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(" at line {l}")).unwrap_or_default()
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

impl Cassette {
    /// A new, empty cassette written by this build.
    pub fn new(name: impl Into<String>, provenance: Provenance) -> Cassette {
        Cassette {
            format: IVS_ONLY_FORMAT,
            api_version: IVS_API_VERSION.to_owned(),
            ivs_vcr_version: env!("CARGO_PKG_VERSION").to_owned(),
            provenance,
            name: name.into(),
            description: None,
            matching: Matching::default(),
            interactions: Vec::new(),
        }
    }
}

impl Cassette {
    /// The lowest format version that holds this cassette: [`IVS_ONLY_FORMAT`], or 2 when an
    /// interaction is for another service than IVS (see [`FORMAT_VERSION`]).
    pub fn needed_format(&self) -> u32 {
        if self
            .interactions
            .iter()
            .any(|i| !i.request.service.is_ivs())
        {
            FORMAT_VERSION
        } else {
            IVS_ONLY_FORMAT
        }
    }
}

impl fmt::Display for ProvenanceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProvenanceKind::Recorded => "recorded",
            ProvenanceKind::Authored => "authored",
        })
    }
}
