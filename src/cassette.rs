//! The cassette: one YAML file per scenario, holding recorded interactions.
//!
//! This module owns the on-disk format and is the only one that knows YAML. Everything else sees
//! [`Cassette`], [`Interaction`], [`RecordedRequest`] and [`RecordedResponse`]. Writes go through
//! [`Cassette::save`], which writes a temporary file next to the target and renames it, so a crash
//! never leaves a half-written cassette. The temporary file is a dot-file,
//! `.<file>.<pid>.tmp`: a process killed between writing and renaming leaves it behind, loaders
//! ([`load_dir`]) skip it, and [`remove_stale_temp_files`] (run when recording starts) deletes it.
//!
//! # Format, version 1
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

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The cassette format version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

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
    /// HTTP method.
    pub method: String,
    /// The raw path as sent on the wire (the ARN of the tag routes stays percent-encoded).
    pub path: String,
    /// Decoded query parameters; repeated keys keep every value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, Vec<String>>,
    /// The AWS region of the request (from its SigV4 credential scope).
    pub region: String,
    /// Request headers kept for matching. Empty unless a cassette asks for headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The JSON body, stored as a YAML structure; absent when the request has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// A response as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers that matter to clients, as recorded (never `Content-Length` or `Date`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON body, stored as a YAML structure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

impl Cassette {
    /// A new, empty cassette written by this build.
    pub fn new(name: impl Into<String>, provenance: Provenance) -> Cassette {
        Cassette {
            format: FORMAT_VERSION,
            api_version: IVS_API_VERSION.to_owned(),
            ivs_vcr_version: env!("CARGO_PKG_VERSION").to_owned(),
            provenance,
            name: name.into(),
            description: None,
            matching: Matching::default(),
            interactions: Vec::new(),
        }
    }

    /// Reads and validates one cassette file.
    pub fn load(path: impl AsRef<Path>) -> Result<Cassette, CassetteError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| CassetteError::Io {
            path: path.to_owned(),
            source,
        })?;
        Cassette::from_yaml(&text, path)
    }

    /// Parses and validates cassette text; `path` is used in error messages only.
    pub fn from_yaml(text: &str, path: &Path) -> Result<Cassette, CassetteError> {
        let parse_error = |err: serde_yaml::Error| CassetteError::Parse {
            path: path.to_owned(),
            line: err.location().map(|l| l.line()),
            message: err.to_string(),
        };
        // Peek at the version first, so a newer file is refused for what it is rather than for a
        // field this build does not know.
        #[derive(Deserialize)]
        struct Header {
            format: Option<u32>,
        }
        let header: Header = serde_yaml::from_str(text).map_err(parse_error)?;
        match header.format {
            None => {
                return Err(CassetteError::Parse {
                    path: path.to_owned(),
                    line: None,
                    message: "missing `format` (this file is not an ivs-vcr cassette?)".into(),
                })
            }
            Some(found) if found > FORMAT_VERSION => {
                return Err(CassetteError::NewerFormat {
                    path: path.to_owned(),
                    found,
                })
            }
            Some(_) => {}
        }
        let cassette: Cassette = serde_yaml::from_str(text).map_err(parse_error)?;
        cassette.validate(path)?;
        Ok(cassette)
    }

    fn validate(&self, path: &Path) -> Result<(), CassetteError> {
        let invalid = |interaction_idx, message: String| CassetteError::Invalid {
            path: path.to_owned(),
            interaction_idx,
            message,
        };
        for (idx, interaction) in self.interactions.iter().enumerate() {
            let req = &interaction.request;
            let res = &interaction.response;
            if http::Method::from_bytes(req.method.as_bytes()).is_err() {
                return Err(invalid(idx, format!("bad method `{}`", req.method)));
            }
            if !req.path.starts_with('/') {
                return Err(invalid(
                    idx,
                    format!("path `{}` must start with `/`", req.path),
                ));
            }
            if !(100..=599).contains(&res.status) {
                return Err(invalid(idx, format!("bad status {}", res.status)));
            }
            if res.body.is_some() && res.body_text.is_some() {
                return Err(invalid(idx, "both `body` and `body_text` are set".into()));
            }
            for name in res.headers.keys() {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(invalid(idx, format!("bad response header name `{name}`")));
                }
            }
            for value in res.headers.values() {
                if http::HeaderValue::from_str(value).is_err() {
                    return Err(invalid(idx, format!("bad response header value `{value}`")));
                }
            }
        }
        Ok(())
    }

    /// The cassette as YAML text, deterministic for the same content.
    pub fn to_yaml(&self) -> String {
        // Invariant: every type here serializes to YAML (string keys, no non-finite floats from JSON).
        serde_yaml::to_string(self).expect("cassette serializes")
    }

    /// Writes the cassette atomically: a temporary file in the same directory, then a rename.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), CassetteError> {
        let path = path.as_ref();
        let io = |source| CassetteError::Io {
            path: path.to_owned(),
            source,
        };
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = temp_path(path);
        let result = (|| {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(self.to_yaml().as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(io)
    }
}

/// The temporary file [`Cassette::save`] writes before renaming it over `path`.
fn temp_path(path: &Path) -> PathBuf {
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()))
}

/// The process id in the name of a [`Cassette::save`] temporary file (`.<file>.yaml.<pid>.tmp`),
/// or `None` for any other name.
fn temp_file_pid(name: &str) -> Option<u32> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (target, pid) = inner.rsplit_once('.')?;
    let is_cassette = target.ends_with(".yaml") || target.ends_with(".yml");
    let is_number = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    if is_cassette && is_number {
        pid.parse().ok()
    } else {
        None
    }
}

/// Removes the temporary files that [`Cassette::save`] left under `dir` (recursively) because its
/// process was killed between writing and renaming, and returns their paths. A missing `dir` has
/// none.
///
/// Files of this process, and on Linux of any process still running, are kept: they may be a
/// write in progress of another recorder sharing the directory.
pub fn remove_stale_temp_files(dir: &Path) -> Result<Vec<PathBuf>, CassetteError> {
    fn walk(dir: &Path, removed: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(err),
        };
        let proc = Path::new("/proc/self").exists();
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if path.is_dir() {
                if !name.starts_with('.') {
                    walk(&path, removed)?;
                }
                continue;
            }
            let Some(pid) = temp_file_pid(&name) else {
                continue;
            };
            let running = pid == std::process::id()
                || (proc && Path::new("/proc").join(pid.to_string()).exists());
            if !running {
                std::fs::remove_file(&path)?;
                removed.push(path);
            }
        }
        Ok(())
    }
    let mut removed = Vec::new();
    walk(dir, &mut removed).map_err(|source| CassetteError::Io {
        path: dir.to_owned(),
        source,
    })?;
    Ok(removed)
}

/// Loads every cassette under `dir` (recursively, `*.yaml` and `*.yml`), sorted by path.
///
/// A file that fails to load is returned in the error list and the rest still load, so one bad
/// file does not hide the others; the caller decides whether any error is fatal.
pub fn load_dir(dir: &Path) -> Result<(Vec<Cassette>, Vec<CassetteError>), CassetteError> {
    let mut files = Vec::new();
    collect_yaml_files(dir, &mut files).map_err(|source| CassetteError::Io {
        path: dir.to_owned(),
        source,
    })?;
    files.sort();
    let mut cassettes = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match Cassette::load(&file) {
            Ok(cassette) => cassettes.push(cassette),
            Err(err) => errors.push(err),
        }
    }
    Ok((cassettes, errors))
}

fn collect_yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_yaml_files(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

impl fmt::Display for ProvenanceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProvenanceKind::Recorded => "recorded",
            ProvenanceKind::Authored => "authored",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "format: 1\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: {kind: authored, source: test}\nname: t\ninteractions:\n  - request: {method: POST, path: /GetChannel, region: us-west-2, body: {arn: x}}\n    response: {status: 200, body: {channel: {}}}\n";

    #[test]
    fn round_trips_through_yaml() {
        let c = Cassette::from_yaml(MINIMAL, Path::new("t.yaml")).unwrap();
        let again = Cassette::from_yaml(&c.to_yaml(), Path::new("t.yaml")).unwrap();
        assert_eq!(c, again);
        assert_eq!(c.interactions[0].response.body_bytes(), "{\"channel\":{}}");
    }

    #[test]
    fn newer_format_is_refused_with_a_clear_message() {
        let text = MINIMAL.replace("format: 1", "format: 9\nfuture_field: 1");
        let err = Cassette::from_yaml(&text, Path::new("new.yaml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cassette `new.yaml` has format version 9, but this ivs-vcr reads up to version 1: upgrade ivs-vcr"
        );
    }

    #[test]
    fn parse_error_names_file_and_line() {
        let text = MINIMAL.replace("status: 200", "status: ok");
        let err = Cassette::from_yaml(&text, Path::new("bad.yaml")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("invalid cassette `bad.yaml` at line 8:"),
            "{msg}"
        );
    }

    #[test]
    fn temp_file_names_are_recognized() {
        let check = |name: &str, expected: Option<u32>| {
            assert_eq!(temp_file_pid(name), expected, "{name}");
        };
        check(".recording.yaml.4242.tmp", Some(4242));
        check(".a.b.yml.7.tmp", Some(7));
        check(".recording.yaml.tmp", None);
        check(".recording.yaml.x1.tmp", None);
        check("recording.yaml.4242.tmp", None);
        check(".notes.txt.4242.tmp", None);
        check(".recording.yaml", None);
    }

    /// Each broken cassette is refused with its file, line and reason. `edit` replaces the first
    /// occurrence of its first string by its second in [`MINIMAL`].
    #[test]
    fn non_json_body_is_kept_verbatim() {
        let mut res = RecordedResponse {
            status: 502,
            headers: BTreeMap::new(),
            body: None,
            body_text: None,
        };
        res.set_body_bytes(b"<html>oops</html>");
        assert_eq!(res.body_text.as_deref(), Some("<html>oops</html>"));
        assert_eq!(res.body_bytes(), "<html>oops</html>");
        res.set_body_bytes(b"");
        assert_eq!((res.body, res.body_text), (None, None));
    }
}
