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
//!
//! # Loading is strict
//! A file is refused whole, with its path, the line and the reason, when it is not YAML, when a
//! field has the wrong type or is unknown, when its `format` is newer than [`FORMAT_VERSION`], and
//! when it holds what a JSON body cannot: a duplicate key (which YAML forbids, but a plain map would
//! silently keep the last of), a non-string key, a tag such as `!!binary`, or `.nan`/`.inf`. Bodies
//! and header and query maps are read through their own visitors for that reason; a lenient read
//! would replay something other than what the file shows.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
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
        let parse_error = |err: serde_yaml::Error| {
            let mut message = err.to_string();
            // The line goes in front; serde_yaml's own " at line L column C" would repeat it.
            if let Some(at) = err.location() {
                let suffix = format!(" at line {} column {}", at.line(), at.column());
                if message.ends_with(&suffix) {
                    message.truncate(message.len() - suffix.len());
                }
            }
            CassetteError::Parse {
                path: path.to_owned(),
                line: err.location().map(|l| l.line()),
                message,
            }
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
        if let Some((line, tag)) = find_core_tag(text) {
            return Err(CassetteError::Parse {
                path: path.to_owned(),
                line: Some(line),
                message: format!("YAML tag `{tag}` has no JSON equivalent"),
            });
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

/// The core tags whose values JSON holds as they are.
const JSON_CORE_TAGS: &[&str] = &[
    "!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq",
];

/// The first line (1-based) holding a YAML core tag JSON has no equivalent for (`!!binary`,
/// `!!timestamp`, `!!set`, a verbatim `!<…>`), and the tag.
///
/// serde_yaml reads such a node as a plain string or map and drops the tag, so `!!binary aGk=`
/// would replay as the text `aGk=`; local tags (`!Ref`) reach the body visitor and are refused
/// there with their path. This is a lexical scan: it skips quoted text, comments and block
/// scalars, and looks for a tag only where a node can begin.
fn find_core_tag(text: &str) -> Option<(usize, &str)> {
    let mut quote: Option<u8> = None;
    let mut block_indent: Option<usize> = None;
    for (line_idx, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        match block_indent {
            Some(b) if quote.is_none() && (line.trim().is_empty() || indent > b) => continue,
            _ => block_indent = None,
        }
        let bytes = line.as_bytes();
        let mut content_end = bytes.len();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let at_token_start =
                i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'[' | b'{' | b',');
            match quote {
                Some(b'"') if c == b'\\' => i += 1,
                Some(b'\'') if c == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if at_token_start && (c == b'"' || c == b'\'') => quote = Some(c),
                None if at_token_start && c == b'#' => {
                    content_end = i;
                    break;
                }
                None if at_token_start && c == b'!' => {
                    let end = line[i..]
                        .find([' ', '\t', ',', ']', '}'])
                        .map_or(line.len(), |n| i + n);
                    let tag = &line[i..end];
                    if (tag.starts_with("!!") && !JSON_CORE_TAGS.contains(&tag))
                        || tag.starts_with("!<")
                    {
                        return Some((line_idx + 1, tag));
                    }
                }
                None => {}
            }
            i += 1;
        }
        // A block scalar (`key: |`, `- >-`) holds text, not nodes, on its more indented lines.
        let head = line[..content_end].trim_end();
        let indicator = head.rsplit([' ', ':']).next().unwrap_or_default();
        if quote.is_none()
            && head.len() > indicator.len()
            && indicator.starts_with(['|', '>'])
            && indicator[1..]
                .bytes()
                .all(|b| matches!(b, b'-' | b'+' | b'0'..=b'9'))
        {
            block_indent = Some(indent);
        }
    }
    None
}

/// Reads a `body:` as JSON, refusing what JSON cannot hold instead of changing it.
fn json_body<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Ok(Option::<Json>::deserialize(deserializer)?.map(|json| json.0))
}

/// A JSON value read strictly from YAML (see the module doc).
struct Json(Value);

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor).map(Json)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // serde_json would turn `.nan` and `.inf` into `null`.
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("`{v}` is not a JSON number")))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Json::deserialize(deserializer).map(|json| json.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Json(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(Key(key)) = map.next_key()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let Json(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // serde_yaml hands a tagged node (`!!binary …`, `!Ref …`) over as an enum named by its tag.
        let (tag, _): (String, _) = data.variant()?;
        Err(de::Error::custom(format!(
            "YAML tag `!{tag}` has no JSON equivalent"
        )))
    }
}

/// A map key that must be a string, as JSON's are: `1:` or `true:` is refused, not converted.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = String;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }

            fn visit_str<E>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }

            fn visit_string<E>(self, v: String) -> Result<String, E> {
                Ok(v)
            }
        }
        deserializer.deserialize_any(KeyVisitor).map(Key)
    }
}

/// Reads a string-keyed map, refusing a duplicate key instead of keeping the last value.
fn unique_keys<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct UniqueKeys<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for UniqueKeys<V> {
        type Value = BTreeMap<String, V>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(Key(key)) = map.next_key()? {
                if out.contains_key(&key) {
                    return Err(de::Error::custom(format!("duplicate key `{key}`")));
                }
                let value = map.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(UniqueKeys(std::marker::PhantomData))
}

/// Loads every cassette under `dir` (recursively, `*.yaml` and `*.yml`), sorted by path.
///
/// A file that fails to load is returned in the error list and the rest still load, so one bad
/// file does not hide the others; the caller decides whether any error is fatal.
pub fn load_dir(dir: &Path) -> Result<(Vec<Cassette>, Vec<CassetteError>), CassetteError> {
    let files = yaml_files(dir)?;
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

/// The cassette files under `dir`, recursively: `*.yaml` and `*.yml`, skipping hidden files and
/// directories (temporary files of interrupted writes among them), sorted by path.
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, CassetteError> {
    let mut files = Vec::new();
    collect_yaml_files(dir, &mut files).map_err(|source| CassetteError::Io {
        path: dir.to_owned(),
        source,
    })?;
    files.sort();
    Ok(files)
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
    fn broken_cassettes_are_refused_with_line_and_reason() {
        let mut failures = Vec::new();
        let mut check = |edit: (&str, &str), expected: &str| {
            assert!(MINIMAL.contains(edit.0), "{edit:?}");
            let text = MINIMAL.replacen(edit.0, edit.1, 1);
            let got = match Cassette::from_yaml(&text, Path::new("t.yaml")) {
                Ok(_) => "loaded".to_owned(),
                Err(err) => err.to_string(),
            };
            if got != expected {
                failures.push(format!("{edit:?}\nexpected:\n{expected}\ngot:\n{got}\n"));
            }
        };
        // Truncated in the middle of a flow mapping, and cut before the response.
        check(
            ("{channel: {}}}\n", "{channel: {"),
            "invalid cassette `t.yaml` at line 9: did not find expected node content at line 9 column 1, while parsing a flow node",
        );
        check(
            ("    response: {status: 200, body: {channel: {}}}\n", ""),
            "invalid cassette `t.yaml` at line 7: interactions[0]: missing field `response`",
        );
        // Wrong types.
        check(
            ("status: 200", "status: ok"),
            "invalid cassette `t.yaml` at line 8: interactions[0].response.status: invalid type: string \"ok\", expected u16",
        );
        check(
            ("method: POST", "method: [POST]"),
            "invalid cassette `t.yaml` at line 7: interactions[0].request.method: invalid type: sequence, expected a string",
        );
        check(
            ("format: 1", "format: one"),
            "invalid cassette `t.yaml` at line 1: format: invalid type: string \"one\", expected u32",
        );
        // Duplicates: a struct field, a body key, a header.
        check(
            ("status: 200", "status: 200, status: 201"),
            "invalid cassette `t.yaml` at line 8: interactions[0].response: duplicate field `status`",
        );
        check(
            ("{arn: x}", "{arn: x, arn: y}"),
            "invalid cassette `t.yaml` at line 7: interactions[0].request.body: duplicate key `arn`",
        );
        check(
            ("{channel: {}}", "{channel: {name: a}, channel: {name: b}}"),
            "invalid cassette `t.yaml` at line 8: interactions[0].response.body: duplicate key `channel`",
        );
        check(
            ("status: 200", "status: 200, headers: {A: b, A: c}"),
            "invalid cassette `t.yaml` at line 8: interactions[0].response.headers: duplicate key `A`",
        );
        // What JSON cannot hold.
        check(
            ("{arn: x}", "{arn: .nan}"),
            "invalid cassette `t.yaml` at line 7: interactions[0].request.body.arn: `NaN` is not a JSON number",
        );
        check(
            ("{arn: x}", "{arn: -.inf}"),
            "invalid cassette `t.yaml` at line 7: interactions[0].request.body.arn: `-inf` is not a JSON number",
        );
        check(
            ("{arn: x}", "{1: x}"),
            "invalid cassette `t.yaml` at line 7: interactions[0].request.body: invalid type: integer `1`, expected a string key",
        );
        check(
            ("{arn: x}", "{arn: !!binary aGVsbG8=}"),
            "invalid cassette `t.yaml` at line 7: YAML tag `!!binary` has no JSON equivalent",
        );
        check(
            ("{channel: {}}", "{channel: !!set {a: null}}"),
            "invalid cassette `t.yaml` at line 8: YAML tag `!!set` has no JSON equivalent",
        );
        check(
            ("{arn: x}", "{arn: !Ref x}"),
            "invalid cassette `t.yaml` at line 7: interactions[0].request.body.arn: YAML tag `!Ref` has no JSON equivalent",
        );
        // Versions.
        check(
            ("format: 1\n", ""),
            "invalid cassette `t.yaml`: missing `format` (this file is not an ivs-vcr cassette?)",
        );
        check(
            ("format: 1", "format: 2"),
            "cassette `t.yaml` has format version 2, but this ivs-vcr reads up to version 1: upgrade ivs-vcr",
        );
        // What JSON can hold still loads: quoted keys that look like numbers, null, floats.
        check(("{arn: x}", "{\"1\": null, f: 1.5, n: -3}"), "loaded");
        // Text that only looks like a tag: quoted, in a comment, in a block scalar, mid-word.
        check(
            ("{arn: x}", "{arn: \"!!binary x\", b: 'it''s !!x'}"),
            "loaded",
        );
        check(("name: t", "name: t # !!binary"), "loaded");
        check(("{arn: x}", "{arn: a!!b}"), "loaded");
        check(
            ("    response: {status: 200, body: {channel: {}}}", "    response:\n      status: 502\n      body_text: |-\n        <!DOCTYPE html>\n        !!binary\n\n        !<x>"),
            "loaded",
        );
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

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
