//! Strict loading: YAML text to a [`Cassette`], refusing what a JSON body cannot hold.
//!
//! serde_yaml alone would turn a duplicate key into the last one, a tag such as `!!binary` into
//! bytes, and `.nan` into a float. So the text is first scanned for core tags, then read through
//! visitors that keep bodies, header and query maps as JSON and refuse what JSON cannot hold,
//! then validated (header names and values, the format version).
//!
//! Before any of that, the file is held to [`Limits`]: its size is checked before it is read, and
//! a lexical scan (see [`scan`]) bounds its nesting, since the YAML parser's time grows with the
//! square of the depth (a 200 KB file of `[` would stop a start for minutes) and serde_yaml would
//! refuse more than 128 levels anyway, but only after parsing everything. The same scan refuses
//! anchors and aliases, which ivs-vcr never writes: serde_yaml expands each alias into a copy of
//! its anchor's value, so a 38 KB file of them took GB to load. With both refused, a load's time
//! and memory are bounded by the file's size. The interaction count is checked
//! once the file has parsed, item by item when it can be (see [`chunked`]): a file over the count
//! then costs no more memory than one within it of the same size.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::{Cassette, CassetteError, Interaction, FORMAT_VERSION};

mod chunked;
mod fast;
mod scan;

use chunked::{Chunked, Chunking};
use scan::{scan, Refusal};

/// What one cassette file may hold: [`Limits::DEFAULT`] unless the operator chose otherwise
/// (`max_cassette_bytes` and `max_interactions` on `ReplayServerBuilder` and `RecordServerBuilder`,
/// and the `--max-cassette-mib` and `--max-interactions` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The file's size in bytes.
    pub(crate) bytes: u64,
    /// The number of interactions.
    pub(crate) interactions: usize,
    /// Nested mappings and sequences, the cassette's own levels included.
    pub(crate) depth: usize,
}

impl Limits {
    /// 64 MiB and 100,000 interactions: cassettes come from public repositories, and a file must
    /// not take a start's memory or minutes of it. A cassette as ivs-vcr writes it (the plain
    /// block form) loads item by item in about 7 times its size at the peak, index included (a
    /// 63 MB file peaks at 453 MB); another style is parsed as one document, 16 to 40 times. The
    /// largest real recordings are a few MB and a few thousand interactions. The depth is
    /// serde_yaml's own limit, which matches serde_json's, so every body record can write loads;
    /// it is never raised.
    pub(crate) const DEFAULT: Limits = Limits {
        bytes: 64 * 1024 * 1024,
        interactions: 100_000,
        depth: 128,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

impl Cassette {
    /// Reads and validates one cassette file.
    pub fn load(path: impl AsRef<Path>) -> Result<Cassette, CassetteError> {
        Cassette::load_with_progress(path, &mut |_| {})
    }

    /// Reads and validates one cassette file, calling `progress` with the number of interactions
    /// read so far, from time to time while a large file loads.
    pub fn load_with_progress(
        path: impl AsRef<Path>,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Cassette, CassetteError> {
        Cassette::load_limited(path.as_ref(), Limits::DEFAULT, progress)
    }

    /// [`Cassette::load_with_progress`] held to `limits` instead of the default ones.
    pub(crate) fn load_limited(
        path: &Path,
        limits: Limits,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Cassette, CassetteError> {
        let io = |source| CassetteError::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // A link to `/dev/zero` or a FIFO would be read forever: only regular files are read.
        if !file.metadata().map_err(io)?.is_file() {
            return Err(CassetteError::NotAFile {
                path: path.to_owned(),
            });
        }
        Cassette::load_within(file, path, limits, progress)
    }

    pub(crate) fn load_within(
        file: std::fs::File,
        path: &Path,
        limits: Limits,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Cassette, CassetteError> {
        use std::io::Read;
        let io = |source| CassetteError::Io {
            path: path.to_owned(),
            source,
        };
        let size = file.metadata().map_err(io)?.len();
        if size > limits.bytes {
            return Err(CassetteError::TooLarge {
                path: path.to_owned(),
                size,
                limit: limits.bytes,
            });
        }
        // The file may grow between the check and the read: never read past the limit.
        let mut text = String::new();
        file.take(limits.bytes + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        Cassette::from_yaml_within(&text, path, limits, progress)
    }

    /// Parses and validates cassette text; `path` is used in error messages only.
    pub fn from_yaml(text: &str, path: &Path) -> Result<Cassette, CassetteError> {
        Cassette::from_yaml_within(text, path, Limits::DEFAULT, &mut |_| {})
    }

    pub(crate) fn from_yaml_within(
        text: &str,
        path: &Path,
        limits: Limits,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Cassette, CassetteError> {
        Cassette::parse_within(text, path, limits, Some(Chunking::DEFAULT), progress)
    }

    /// Parses `text`: item by item when `chunking` is given and the file has the plain block form
    /// (see [`chunked`]), else as one document. Both give the same cassette or the same error.
    pub(super) fn parse_within(
        text: &str,
        path: &Path,
        limits: Limits,
        chunking: Option<Chunking>,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Cassette, CassetteError> {
        if text.len() as u64 > limits.bytes {
            return Err(CassetteError::TooLarge {
                path: path.to_owned(),
                size: text.len() as u64,
                limit: limits.bytes,
            });
        }
        // The fast path checks nesting and tags part by part, on the parts' threads, and gives
        // up on any finding: the whole-document path then reports it. It checks interactions
        // there too; when one fails, validation here names the first, as the whole document's
        // does last.
        match chunking.and_then(|tuning| chunked::load(text, limits, tuning, progress)) {
            Some(Chunked::Loaded(cassette)) => return Ok(*cassette),
            Some(Chunked::Invalid(cassette)) => {
                cassette.validate(path)?;
                return Ok(*cassette);
            }
            Some(Chunked::TooMany(found)) => {
                return Err(CassetteError::TooManyInteractions {
                    path: path.to_owned(),
                    found,
                    limit: limits.interactions,
                })
            }
            None => {}
        }
        let findings = scan(text, limits.depth);
        match findings.refusal {
            Some(Refusal::TooDeep { line }) => {
                return Err(CassetteError::TooDeep {
                    path: path.to_owned(),
                    line,
                    limit: limits.depth,
                })
            }
            Some(Refusal::Alias { line, sigil }) => {
                return Err(CassetteError::Alias {
                    path: path.to_owned(),
                    line,
                    sigil,
                })
            }
            Some(Refusal::TagDirective { line }) => {
                return Err(CassetteError::Parse {
                    path: path.to_owned(),
                    line: Some(line),
                    message: "`%TAG` directives are not supported: a cassette holds no YAML tags"
                        .into(),
                })
            }
            None => {}
        }
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
        // A well-formed file is parsed once. Only when that fails is the version peeked at, so
        // that a newer file is refused for what it is rather than for a field this build does
        // not know, and a file without one is named as no cassette: the same verdicts, in the
        // same order, as peeking first, without parsing every good file twice.
        let parsed = serde_yaml::from_str::<Cassette>(text);
        let format = match &parsed {
            Ok(cassette) => Some(cassette.format),
            Err(_) => {
                #[derive(Deserialize)]
                struct Header {
                    format: Option<u32>,
                }
                let header: Header = serde_yaml::from_str(text).map_err(parse_error)?;
                header.format
            }
        };
        match format {
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
        let n_interactions = parsed.as_ref().map_or(0, |c| c.interactions.len());
        if n_interactions > limits.interactions {
            return Err(CassetteError::TooManyInteractions {
                path: path.to_owned(),
                found: n_interactions,
                limit: limits.interactions,
            });
        }
        if let Some((line, tag)) = findings.tag {
            return Err(CassetteError::Parse {
                path: path.to_owned(),
                line: Some(line),
                message: format!("YAML tag `{tag}` has no JSON equivalent"),
            });
        }
        let cassette = parsed.map_err(parse_error)?;
        cassette.validate(path)?;
        Ok(cassette)
    }

    fn validate(&self, path: &Path) -> Result<(), CassetteError> {
        for (idx, interaction) in self.interactions.iter().enumerate() {
            interaction
                .check()
                .map_err(|message| CassetteError::Invalid {
                    path: path.to_owned(),
                    interaction_idx: idx,
                    message,
                })?;
        }
        Ok(())
    }
}

impl Interaction {
    /// What the types cannot say: a method, path, status and headers HTTP accepts, and one body.
    fn check(&self) -> Result<(), String> {
        let req = &self.request;
        let res = &self.response;
        if http::Method::from_bytes(req.method.as_bytes()).is_err() {
            return Err(format!("bad method `{}`", req.method));
        }
        if !req.path.starts_with('/') {
            return Err(format!("path `{}` must start with `/`", req.path));
        }
        if !(100..=599).contains(&res.status) {
            return Err(format!("bad status {}", res.status));
        }
        if res.body.is_some() && res.body_text.is_some() {
            return Err("both `body` and `body_text` are set".into());
        }
        for name in res.headers.keys() {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!("bad response header name `{name}`"));
            }
        }
        for value in res.headers.values() {
            if http::HeaderValue::from_str(value).is_err() {
                return Err(format!("bad response header value `{value}`"));
            }
        }
        Ok(())
    }
}

/// A part's interactions as [`fast::items`] reads them and as serde_yaml does.
pub(crate) fn part_readings(part: &str) -> (Option<Vec<Interaction>>, Option<Vec<Interaction>>) {
    (
        fast::items(part),
        chunked::parse_part_by_serde(&format!("interactions:\n{part}")),
    )
}

/// What [`scan`] finds, in plain types: why it refuses the file (`too deep`, `anchor`, `alias`
/// or `%TAG`) with the line, and the first tag JSON cannot hold with its line.
pub type ScanFindings = (Option<(&'static str, usize)>, Option<(usize, String)>);

/// What [`scan`] finds in `text`, as [`ScanFindings`].
pub(crate) fn scan_findings(text: &str, depth: usize) -> ScanFindings {
    let findings = scan(text, depth);
    let refusal = findings.refusal.map(|refusal| match refusal {
        Refusal::TooDeep { line } => ("too deep", line),
        Refusal::Alias { line, sigil: '&' } => ("anchor", line),
        Refusal::Alias { line, .. } => ("alias", line),
        Refusal::TagDirective { line } => ("%TAG", line),
    });
    (refusal, findings.tag)
}

/// Reads a `body:` as JSON, refusing what JSON cannot hold instead of changing it.
pub(super) fn json_body<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
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
pub(super) fn unique_keys<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::*;

    const MINIMAL: &str = "format: 1\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: {kind: authored, source: test}\nname: t\ninteractions:\n  - request: {method: POST, path: /GetChannel, region: us-west-2, body: {arn: x}}\n    response: {status: 200, body: {channel: {}}}\n";

    #[test]
    fn round_trips_through_yaml() {
        let c = Cassette::from_yaml(MINIMAL, Path::new("t.yaml")).unwrap();
        let again = Cassette::from_yaml(&c.to_yaml(), Path::new("t.yaml")).unwrap();
        assert_eq!(c, again);
        assert_eq!(c.interactions[0].response.body_bytes(), "{\"channel\":{}}");
    }

    /// Issue 24: an IVS-only cassette stays format 1 byte for byte; one with a Chat interaction is
    /// written as format 2 and says its service, and reads back the same.
    #[test]
    fn a_chat_interaction_makes_a_format_2_cassette_and_ivs_ones_stay_format_1() {
        let ivs = Cassette::from_yaml(MINIMAL, Path::new("t.yaml")).unwrap();
        let yaml = ivs.to_yaml();
        assert!(yaml.starts_with("format: 1\n"), "{yaml}");
        assert!(!yaml.contains("service"), "{yaml}");
        let mut chat = ivs.clone();
        chat.interactions[0].request.service = crate::ivs::Service::IvsChat;
        chat.interactions[0].request.path = "/GetRoom".into();
        let yaml = chat.to_yaml();
        assert!(yaml.starts_with("format: 2\n"), "{yaml}");
        assert!(yaml.contains("service: ivschat"), "{yaml}");
        let again = Cassette::from_yaml(&yaml, Path::new("t.yaml")).unwrap();
        assert_eq!(again.interactions, chat.interactions);
        assert_eq!(again.format, 2);
    }

    #[test]
    fn newer_format_is_refused_with_a_clear_message() {
        let text = MINIMAL.replace("format: 1", "format: 9\nfuture_field: 1");
        let err = Cassette::from_yaml(&text, Path::new("new.yaml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cassette `new.yaml` has format version 9, but this ivs-vcr reads up to version 2: upgrade ivs-vcr"
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
            ("format: 1", "format: 3"),
            "cassette `t.yaml` has format version 3, but this ivs-vcr reads up to version 2: upgrade ivs-vcr",
        );
        check(
            ("{method: POST,", "{service: ivs-chat, method: POST,"),
            "invalid cassette `t.yaml` at line 7: interactions[0].request: unknown service `ivs-chat`: this ivs-vcr knows `ivs`, `ivschat`, `ivs-realtime`",
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
        // Plain scalars whose text only looks like a tag after a bracket or a space, as
        // `to_yaml` writes them unquoted (found in review: such a recording would not load).
        check(("name: t", "name: -[!!"), "loaded");
        check(("name: t", "name: hello !!world"), "loaded");
        check(("{arn: x}", "{arn: x !!y}"), "loaded");
        check(
            ("{arn: x}", "{arn: [a, !!binary aGk=]}"),
            "invalid cassette `t.yaml` at line 7: YAML tag `!!binary` has no JSON equivalent",
        );
        check(
            ("    response: {status: 200, body: {channel: {}}}", "    response:\n      status: 502\n      body_text: |-\n        <!DOCTYPE html>\n        !!binary\n\n        !<x>"),
            "loaded",
        );
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// A cassette whose one request body is `body` (YAML text on the `body:` line).
    fn with_request_body(body: &str) -> String {
        MINIMAL.replace("body: {arn: x}}", &format!("body: {body}}}"))
    }

    /// Issue 11 §5: nesting is refused before parsing, fast, with the file, line and limit.
    #[test]
    fn nesting_beyond_the_json_limit_is_refused_before_parsing() {
        let depth = 100_000;
        let text = with_request_body(&format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
        assert!(text.len() > 200_000);
        let started = std::time::Instant::now();
        let err = Cassette::from_yaml(&text, Path::new("deep.yaml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "refusing cassette `deep.yaml` at line 7: nested deeper than the limit of 128 levels"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Compact block sequences (`- - - …`) and indentation count too.
        let compact = MINIMAL.replace(
            "name: t\n",
            &format!("name: t\ndescription:\n{}x\n", "- ".repeat(200)),
        );
        let err = Cassette::from_yaml(&compact, Path::new("deep.yaml")).unwrap_err();
        assert!(
            matches!(err, CassetteError::TooDeep { line: 7, .. }),
            "{err}"
        );
        let mut indented = String::from("format: 1\n");
        for level in 0..200 {
            indented.push_str(&format!("{}k{level}:\n", "  ".repeat(level)));
        }
        let err = Cassette::from_yaml(&indented, Path::new("deep.yaml")).unwrap_err();
        assert!(
            matches!(err, CassetteError::TooDeep { line: 130, .. }),
            "{err}"
        );
    }

    /// The scan never refuses what serde_yaml reads: bodies as deep as serde_json allows, written
    /// by `to_yaml` (block style, sequences at their key's column) or in flow style, load.
    #[test]
    fn nesting_within_the_limit_loads_whatever_the_style() {
        let base = Cassette::from_yaml(MINIMAL, Path::new("t.yaml")).unwrap();
        for depth in [1, 10, 60, 120] {
            for object in [false, true] {
                let mut body = serde_json::json!("leaf");
                for level in 0..depth {
                    body = if object || level % 2 == 0 {
                        serde_json::json!({ "k": body, "s": [1, {"a": [2]}] })
                    } else {
                        serde_json::json!([body, "x", [3]])
                    };
                }
                let mut c = base.clone();
                c.interactions[0].request.body = Some(body.clone());
                let text = c.to_yaml();
                let back = Cassette::from_yaml(&text, Path::new("t.yaml"))
                    .unwrap_or_else(|err| panic!("depth {depth}: {err}"));
                assert_eq!(back.interactions[0].request.body, Some(body.clone()));
                let flow = with_request_body(&serde_json::to_string(&body).unwrap());
                Cassette::from_yaml(&flow, Path::new("t.yaml"))
                    .unwrap_or_else(|err| panic!("flow depth {depth}: {err}"));
            }
        }
        // Brackets inside plain and quoted scalars are text, not nesting.
        let text = with_request_body(&format!(
            "{{arn: \"{}\", b: '{}'}}",
            "[".repeat(300),
            "{".repeat(300)
        ));
        Cassette::from_yaml(&text, Path::new("t.yaml")).unwrap();
        let text = MINIMAL.replace("name: t\n", "name: t\ndescription: a [b {c\n");
        Cassette::from_yaml(&text, Path::new("t.yaml")).unwrap();
    }

    /// A cassette in the block form, whose request body is `body` (YAML lines at the body's
    /// column, 6): the body begins on line 12.
    fn with_block_body(body: &str) -> String {
        format!(
            "format: 1\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: {{kind: authored, source: test}}\nname: t\ninteractions:\n  - request:\n      method: POST\n      path: /GetChannel\n      region: us-west-2\n      body:\n{body}    response: {{status: 200}}\n"
        )
    }

    /// What loading `text` gives: the error's text, or `loaded`.
    fn outcome(text: &str) -> String {
        match Cassette::from_yaml(text, Path::new("t.yaml")) {
            Ok(_) => "loaded".to_owned(),
            Err(err) => err.to_string(),
        }
    }

    /// Prints every case whose outcome is not the expected one.
    fn check_all(cases: &[(String, &str)]) {
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(text, expected)| {
                let got = outcome(text);
                (got != *expected).then(|| format!("{text}\nexpected:\n{expected}\ngot:\n{got}\n"))
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// The refusal of an anchor (`token` starting with `&`) or alias (`*`) at `line`.
    fn alias(line: usize, token: &str) -> String {
        let (what, sigil) = if token.starts_with('&') {
            ("anchor", '&')
        } else {
            ("alias", '*')
        };
        format!("refusing cassette `t.yaml` at line {line}: YAML {what} `{sigil}…` (ivs-vcr never writes anchors or aliases, and each alias would be expanded into a copy of its anchor's value): write the value out in full")
    }

    /// Security issue, alias expansion: one anchored list referenced many times expanded to GB.
    /// Anchors and aliases are refused with the line, before anything is parsed, wherever a node
    /// may stand; `&` and `*` inside plain and quoted scalars and block text are text.
    #[test]
    fn anchors_and_aliases_are_refused_with_the_line() {
        let laughs = format!(
            "        - &l [{}]\n{}",
            vec!["x"; 1000].join(", "),
            "        - [*l, *l, *l, *l, *l, *l, *l, *l]\n".repeat(100)
        );
        check_all(&[
            (
                MINIMAL.replace("name: t\n", "name: &n t\ndescription: *n\n"),
                &alias(5, "&n"),
            ),
            (with_block_body(&laughs), &alias(12, "&l")),
            (with_request_body("{arn: &a x, b: *a}"), &alias(7, "&a")),
            (with_request_body("[*a]"), &alias(7, "*a")),
            (
                with_request_body("{arn: &a !!binary aGVsbG8=}"),
                &alias(7, "&a"),
            ),
            (with_request_body("{s: &s !!set {a, b}}"), &alias(7, "&s")),
            (with_request_body("{deep: &a [[[x]]]}"), &alias(7, "&a")),
            (
                with_block_body("        - note: |\n            text\n          arn: *a\n"),
                &alias(14, "*a"),
            ),
            (with_block_body("        <<: *base\n"), &alias(12, "*base")),
            // Text that holds `&` or `*` where no node begins.
            (
                MINIMAL.replace(
                    "name: t\n",
                    "name: t\nmatching: {ignore_body_paths: [a.*.b, 'c.*', \"*\"]}\n",
                ),
                "loaded",
            ),
            (
                with_request_body("{arn: AT&T *x, b: a&b, c: \"&c *d\", d: '*', e: x*}"),
                "loaded",
            ),
            (
                with_block_body(
                    "        text: |\n          &amp; *bold*\n          !!binary [[[\n        more: a\n          &b *c [[[ \"\n",
                ),
                "loaded",
            ),
        ]);
    }

    /// Security issue, tags converted: a tag after an anchor, after a quoted key and `:` in
    /// flow, or on a sibling line after `- key: |` was missed, and replay served the text with
    /// the tag dropped. So was a tag after a line a plain scalar goes on to, and one given by a
    /// `%TAG` handle.
    #[test]
    fn tags_in_every_node_position_are_refused() {
        let tag = |line: usize, tag: &str| {
            format!(
                "invalid cassette `t.yaml` at line {line}: YAML tag `{tag}` has no JSON equivalent"
            )
        };
        check_all(&[
            (with_request_body("{\"arn\":!!binary aGVsbG8=}"), &tag(7, "!!binary")),
            (with_request_body("[\"a\",!!binary aGk=]"), &tag(7, "!!binary")),
            (with_request_body("{\"arn\": [x], k: {\"a\":!!set {}}}"), &tag(7, "!!set")),
            (
                with_block_body("        - note: |\n            text\n          arn: !!binary aGVsbG8=\n"),
                &tag(14, "!!binary"),
            ),
            (
                with_block_body("        - - note: >-\n              text\n            arn: !!binary aGk=\n"),
                &tag(14, "!!binary"),
            ),
            // A quote on a line a plain scalar goes on to is text: what follows is not quoted.
            (
                with_block_body("        a: x\n          \"\n        arn: !!binary aGk=\n        b: y\n          \"\n"),
                &tag(14, "!!binary"),
            ),
            (
                with_request_body("{arn: !<tag:yaml.org,2002:binary> aGk=}"),
                &tag(7, "!<tag:yaml.org,2002:binary>"),
            ),
            (
                format!("%TAG !e! tag:yaml.org,2002:\n---\n{}", MINIMAL.replace("{arn: x}", "{arn: !e!binary aGk=}")),
                "invalid cassette `t.yaml` at line 1: `%TAG` directives are not supported: a cassette holds no YAML tags",
            ),
            // The block scalar's own lines are text, however they look.
            (
                with_block_body("        - note: |\n            arn: !!binary aGk=\n          arn: x\n"),
                "loaded",
            ),
            (with_request_body("{\"arn\":\"!!binary x\", b: a!!b}"), "loaded"),
        ]);
    }

    /// Security issue, nesting: an anchor or tag before a bracket, or a sibling line after
    /// `- key: |`, hid a deep flow collection from the scan, and serde_yaml then took minutes
    /// on a few hundred KB. Every shape is refused before parsing, in time linear in the file:
    /// the 240 KB files here are refused in milliseconds.
    #[test]
    fn nesting_is_counted_behind_tags_and_block_scalars() {
        let depth = 120_000;
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let refused = |line: usize| {
            format!("refusing cassette `t.yaml` at line {line}: nested deeper than the limit of 128 levels")
        };
        check_all(&[
            (with_request_body(&format!("!!seq {deep}")), &refused(7)),
            (
                with_request_body(&format!("{{deep: !!seq {deep}}}")),
                &refused(7),
            ),
            (
                with_block_body(&format!("        deep: !!seq {deep}\n")),
                &refused(12),
            ),
            (
                with_block_body(&format!(
                    "        - note: |\n            text\n          deep: {deep}\n"
                )),
                &refused(14),
            ),
            (
                with_block_body(&format!(
                    "        - note: |\n            text\n          deep: &a {deep}\n"
                )),
                &alias(14, "&a"),
            ),
            // Brackets a plain scalar holds over lines are text.
            (
                with_block_body(&format!("        a: x\n          {}\n", "[".repeat(300))),
                "loaded",
            ),
        ]);
    }

    /// Issue 11 §5: size and interaction count are capped, with the file and the limit.
    #[test]
    fn size_and_interaction_count_are_capped() {
        let interaction = MINIMAL.split_once("interactions:\n").unwrap().1;
        let with = |n: usize| {
            format!(
                "{}{}",
                MINIMAL.split_once("  - request").unwrap().0,
                interaction.repeat(n)
            )
        };
        let limits = Limits {
            bytes: with(4).len() as u64,
            interactions: 3,
            depth: 128,
        };
        assert_eq!(
            Cassette::from_yaml_within(&with(3), Path::new("t.yaml"), limits, &mut |_| {})
                .unwrap()
                .interactions
                .len(),
            3
        );
        let err = Cassette::from_yaml_within(&with(4), Path::new("many.yaml"), limits, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "refusing cassette `many.yaml`: 4 interactions is over the limit of 3 (raise it with `--max-interactions 4` on `ivs-vcr replay`, `record`, `diff` or `verify`, or `max_interactions` on `ReplayServerBuilder` or `RecordServerBuilder`)"
        );
        let big = with(5);
        let err = Cassette::from_yaml_within(&big, Path::new("big.yaml"), limits, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "refusing cassette `big.yaml`: {} bytes is over the limit of {} bytes (raise it with `--max-cassette-mib 1` on `ivs-vcr replay`, `record`, `diff` or `verify`, or `max_cassette_bytes` on `ReplayServerBuilder` or `RecordServerBuilder`; a load takes about 7 times the file's size in memory)",
                big.len(),
                limits.bytes
            )
        );
        // A file large enough to load item by item is refused for its count by that path, with
        // the same message, rather than parsed again as one document.
        let many = with(3_000);
        let limits = Limits {
            interactions: 2_999,
            ..Limits::DEFAULT
        };
        assert!(matches!(
            chunked::load(&many, limits, Chunking::DEFAULT, &mut |_| {}),
            Some(Chunked::TooMany(3_000))
        ));
        let err = Cassette::from_yaml_within(&many, Path::new("many.yaml"), limits, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("refusing cassette `many.yaml`: 3,000 interactions is over the limit of 2,999 (raise it with `--max-interactions 3000`"),
            "{err}"
        );
        // A file is measured before it is read: a sparse 1 TiB file is refused at once.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.yaml");
        std::fs::File::create(&path)
            .unwrap()
            .set_len(1 << 40)
            .unwrap();
        let err = Cassette::load(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "refusing cassette `{}`: 1,099,511,627,776 bytes is over the limit of 67,108,864 bytes (raise it with `--max-cassette-mib 1048576`",
                path.display()
            )),
            "{err}"
        );
        // Limits given to the loader are the ones it holds a file to, either way.
        let text = with(3);
        std::fs::write(&path, &text).unwrap();
        let limited = |bytes: u64, interactions: usize| {
            let limits = Limits {
                bytes,
                interactions,
                ..Limits::DEFAULT
            };
            Cassette::load_limited(&path, limits, &mut |_| {}).map(|c| c.interactions.len())
        };
        assert_eq!(limited(text.len() as u64, 3).unwrap(), 3);
        assert!(matches!(
            limited(text.len() as u64 - 1, 3),
            Err(CassetteError::TooLarge { size, .. }) if size == text.len() as u64
        ));
        assert!(matches!(
            limited(text.len() as u64, 2),
            Err(CassetteError::TooManyInteractions {
                found: 3,
                limit: 2,
                ..
            })
        ));
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
