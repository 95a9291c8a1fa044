//! Shapes: every answer of an operation and status merged into one shape per side, and the two
//! compared (see "Comparing" in the module doc of `diff`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::mask::{is_volatile_key, mask_value};
use super::pair::pair;
use super::{display_path, join, DiffOptions, Entry, Finding, FindingKind};
use crate::cassette::RecordedResponse;

/// Response headers whose presence says nothing about the API: they come and go with every call,
/// proxy or CDN. `x-amzn-errortype` is compared per pair, as an error type.
pub(super) const IGNORED_RESPONSE_HEADERS: &[&str] = &[
    "x-amzn-requestid",
    "x-amz-request-id",
    "x-amz-id-2",
    "x-amzn-errortype",
    "x-amz-apigw-id",
    "x-amz-cf-id",
    "x-amz-cf-pop",
    "x-amzn-trace-id",
    "x-amzn-remapped-content-length",
    "x-amzn-remapped-date",
    "x-amzn-remapped-connection",
    "x-cache",
    "date",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "via",
    "age",
    "server",
];

/// The comparison of one operation, present on both sides.
pub(super) struct Comparison<'a> {
    pub(super) operation: &'a str,
    pub(super) findings: &'a mut Vec<Finding>,
}

/// The JSON types a path took, as the report names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    Null,
    Boolean,
    Number,
    String,
    Object,
    List,
    /// A body that is not JSON.
    Text,
    /// No body at all.
    Absent,
}

impl Kind {
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Object => "object",
            Kind::List => "list",
            Kind::Text => "text",
            Kind::Absent => "no body",
        }
    }
}

/// The merged shape of every value seen at one path, on one side.
#[derive(Debug, Default)]
pub(super) struct Shape<'a> {
    kinds: BTreeSet<Kind>,
    fields: BTreeMap<String, Shape<'a>>,
    /// The merged shape of every element of every list seen here.
    items: Option<Box<Shape<'a>>>,
    /// The enum-like strings seen here.
    enum_values: BTreeSet<String>,
    /// Whether a string that does not look like an enum value was seen here.
    free_text: bool,
    /// The first file this path was seen in.
    file: Option<&'a Path>,
}

/// The responses of one operation with one status, merged.
#[derive(Debug, Default)]
pub(super) struct StatusGroup<'a> {
    body: Shape<'a>,
    /// Lowercase header names, each with the first file it was seen in.
    headers: BTreeMap<String, &'a Path>,
}

impl Comparison<'_> {
    /// Pairs the interactions of the operation, reports the unpaired ones, and compares each
    /// pair's status, error type and (with `--values`) values.
    pub(super) fn operation_pairs(&mut self, old: &[Entry], new: &[Entry], options: &DiffOptions) {
        let pairs = pair(old, new);
        let mut old_paired = vec![false; old.len()];
        let mut new_paired = vec![false; new.len()];
        for &(old_idx, new_idx) in &pairs {
            old_paired[old_idx] = true;
            new_paired[new_idx] = true;
            self.pair(&old[old_idx], &new[new_idx], options);
        }
        for (entry, _) in old.iter().zip(&old_paired).filter(|(_, paired)| !**paired) {
            self.push(
                FindingKind::InteractionRemoved,
                None,
                (Some(entry.file), None),
            )
            .old = Some(describe_interaction(entry));
        }
        for (entry, _) in new.iter().zip(&new_paired).filter(|(_, paired)| !**paired) {
            self.push(
                FindingKind::InteractionAdded,
                None,
                (None, Some(entry.file)),
            )
            .new = Some(describe_interaction(entry));
        }
    }

    fn pair(&mut self, old: &Entry, new: &Entry, options: &DiffOptions) {
        let files = (Some(old.file), Some(new.file));
        let (old_res, new_res) = (&old.interaction.response, &new.interaction.response);
        if old_res.status != new_res.status {
            let finding = self.push(FindingKind::StatusChanged, None, files);
            finding.old = Some(old_res.status.to_string());
            finding.new = Some(new_res.status.to_string());
        }
        let (old_error, new_error) = (error_type(old_res), error_type(new_res));
        if old_error != new_error {
            let finding = self.push(FindingKind::ErrorTypeChanged, None, files);
            finding.old = old_error.map(str::to_owned);
            finding.new = new_error.map(str::to_owned);
        }
        if options.values && old_res.status == new_res.status {
            if let (Some(old_body), Some(new_body)) = (&old_res.body, &new_res.body) {
                self.values("", None, old_body, new_body, files);
            }
        }
    }

    /// Reports scalar values that differ once masked, walking both bodies in step.
    fn values(
        &mut self,
        path: &str,
        key: Option<&str>,
        old: &Value,
        new: &Value,
        files: (Option<&Path>, Option<&Path>),
    ) {
        match (old, new) {
            (Value::Object(old_map), Value::Object(new_map)) => {
                for (k, old_value) in old_map {
                    if let Some(new_value) = new_map.get(k) {
                        self.values(&join(path, k), Some(k), old_value, new_value, files);
                    }
                }
            }
            (Value::Array(old_items), Value::Array(new_items)) => {
                for (idx, (o, n)) in old_items.iter().zip(new_items).enumerate() {
                    self.values(&format!("{path}[{idx}]"), key, o, n, files);
                }
            }
            // A container on one side only is a changed type, which the shape comparison reports.
            (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => {}
            _ if mask_value(key, old) != mask_value(key, new) => {
                let finding = self.push(FindingKind::ValueChanged, Some(path.to_owned()), files);
                // Printed: nothing shaped like a secret goes out as it is.
                finding.old = Some(crate::redact::redact_text(&old.to_string()).into_owned());
                finding.new = Some(crate::redact::redact_text(&new.to_string()).into_owned());
            }
            _ => {}
        }
    }

    /// Compares the merged response shapes and headers of every status both sides have.
    pub(super) fn operation_shapes(&mut self, old: &[Entry], new: &[Entry]) {
        let old_groups = status_groups(old);
        let new_groups = status_groups(new);
        for (status, old_group) in &old_groups {
            let Some(new_group) = new_groups.get(status) else {
                continue;
            };
            self.shapes("", None, &old_group.body, &new_group.body);
            self.headers(old_group, new_group);
        }
    }

    fn headers(&mut self, old: &StatusGroup, new: &StatusGroup) {
        for (name, old_file) in &old.headers {
            if !new.headers.contains_key(name) {
                let new_file = new.body.file;
                self.push(
                    FindingKind::HeaderRemoved,
                    Some(name.clone()),
                    (Some(*old_file), new_file),
                );
            }
        }
        for (name, new_file) in &new.headers {
            if !old.headers.contains_key(name) {
                let old_file = old.body.file;
                self.push(
                    FindingKind::HeaderAdded,
                    Some(name.clone()),
                    (old_file, Some(*new_file)),
                );
            }
        }
    }

    fn shapes(&mut self, path: &str, key: Option<&str>, old: &Shape, new: &Shape) {
        let old_kinds = old.kinds_but_null();
        let new_kinds = new.kinds_but_null();
        let files = (old.file, new.file);
        if !old_kinds.is_empty() && !new_kinds.is_empty() && old_kinds != new_kinds {
            let finding = self.push(FindingKind::TypeChanged, Some(display_path(path)), files);
            finding.old = Some(kinds_text(&old_kinds));
            finding.new = Some(kinds_text(&new_kinds));
            return;
        }
        if old_kinds.contains(&Kind::Object) && new_kinds.contains(&Kind::Object) {
            let names: BTreeSet<&String> = old.fields.keys().chain(new.fields.keys()).collect();
            for name in names {
                let child_path = join(path, name);
                match (old.fields.get(name), new.fields.get(name)) {
                    (Some(o), Some(n)) => self.shapes(&child_path, Some(name), o, n),
                    (Some(o), None) => {
                        self.push(
                            FindingKind::FieldRemoved,
                            Some(child_path),
                            (o.file, new.file),
                        )
                        .old = Some(kinds_text(&o.kinds));
                    }
                    (None, Some(n)) => {
                        self.push(
                            FindingKind::FieldAdded,
                            Some(child_path),
                            (old.file, n.file),
                        )
                        .new = Some(kinds_text(&n.kinds));
                    }
                    (None, None) => {}
                }
            }
        }
        // A list that was always empty on one side says nothing about its elements.
        if let (Some(o), Some(n)) = (&old.items, &new.items) {
            self.shapes(&format!("{path}[]"), key, o, n);
        }
        let enum_like = |s: &Shape| !s.enum_values.is_empty() && !s.free_text;
        let key_may_be_enum = key.is_some_and(|k| k != "*" && !is_volatile_key(k));
        if key_may_be_enum && enum_like(old) && enum_like(new) {
            let known = old
                .enum_values
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            for value in new.enum_values.difference(&old.enum_values) {
                let finding = self.push(FindingKind::EnumValueAdded, Some(path.to_owned()), files);
                finding.old = Some(known.clone());
                finding.new = Some(value.clone());
            }
        }
    }

    fn push(
        &mut self,
        kind: FindingKind,
        path: Option<String>,
        (old_file, new_file): (Option<&Path>, Option<&Path>),
    ) -> &mut Finding {
        self.findings.push(Finding {
            kind,
            operation: self.operation.to_owned(),
            path,
            old_file: old_file.map(Path::to_owned),
            new_file: new_file.map(Path::to_owned),
            old: None,
            new: None,
        });
        // Invariant: an element was pushed just above.
        self.findings.last_mut().expect("just pushed")
    }
}

impl<'a> Shape<'a> {
    fn add_response(&mut self, response: &RecordedResponse, file: &'a Path) {
        match (&response.body, &response.body_text) {
            (Some(body), _) => self.add(body, None, file),
            (None, Some(_)) => self.add_kind(Kind::Text, file),
            (None, None) => self.add_kind(Kind::Absent, file),
        }
    }

    fn add_kind(&mut self, kind: Kind, file: &'a Path) {
        self.kinds.insert(kind);
        self.file.get_or_insert(file);
    }

    fn add(&mut self, value: &Value, key: Option<&str>, file: &'a Path) {
        match value {
            Value::Null => self.add_kind(Kind::Null, file),
            Value::Bool(_) => self.add_kind(Kind::Boolean, file),
            Value::Number(_) => self.add_kind(Kind::Number, file),
            Value::String(s) => {
                self.add_kind(Kind::String, file);
                if looks_like_enum_value(s) {
                    self.enum_values.insert(s.clone());
                } else {
                    self.free_text = true;
                }
            }
            Value::Array(items) => {
                self.add_kind(Kind::List, file);
                for item in items {
                    self.items.get_or_insert_default().add(item, key, file);
                }
            }
            // IVS's only map type: user-chosen keys, so only the values have a shape.
            Value::Object(map) if key == Some("tags") => {
                self.add_kind(Kind::Object, file);
                for v in map.values() {
                    self.fields
                        .entry("*".to_owned())
                        .or_default()
                        .add(v, Some("*"), file);
                }
            }
            Value::Object(map) => {
                self.add_kind(Kind::Object, file);
                for (k, v) in map {
                    self.fields
                        .entry(k.clone())
                        .or_default()
                        .add(v, Some(k), file);
                }
            }
        }
    }

    fn kinds_but_null(&self) -> BTreeSet<Kind> {
        self.kinds
            .iter()
            .copied()
            .filter(|k| *k != Kind::Null)
            .collect()
    }
}

pub(super) fn status_groups<'a>(entries: &[Entry<'a>]) -> BTreeMap<u16, StatusGroup<'a>> {
    let mut groups: BTreeMap<u16, StatusGroup> = BTreeMap::new();
    for entry in entries {
        let response = &entry.interaction.response;
        let group = groups.entry(response.status).or_default();
        group.body.add_response(response, entry.file);
        for name in response.headers.keys() {
            let name = name.to_ascii_lowercase();
            if !IGNORED_RESPONSE_HEADERS.contains(&name.as_str()) {
                group.headers.entry(name).or_insert(entry.file);
            }
        }
    }
    groups
}

/// The error type of a response, without the `:…` suffix AWS sometimes appends.
pub(super) fn error_type(response: &RecordedResponse) -> Option<&str> {
    let (_, value) = response
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-amzn-errortype"))?;
    value.split(':').next()
}

/// `^[A-Z][A-Z0-9_]*$`: how IVS spells enum values (`STANDARD`, `ADVANCED_HD`, `LIVE`).
pub(super) fn looks_like_enum_value(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_uppercase())
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The kinds a field had, as a finding shows them (`string or number`).
pub(super) fn kinds_text(kinds: &BTreeSet<Kind>) -> String {
    kinds
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// `interaction 3: POST /GetChannel {"arn":"…"}`, the body cut at 120 characters.
pub(super) fn describe_interaction(entry: &Entry) -> String {
    const MAX_BODY: usize = 120;
    let req = &entry.interaction.request;
    let mut text = format!(
        "interaction {}: {} {}",
        entry.interaction_idx,
        req.method,
        crate::normalize::decoded_path(&req.path)
    );
    if let Some(body) = &req.body {
        let _ = write!(
            text,
            " {}",
            crate::normalize::canonical_json_preview(body, MAX_BODY)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn shape_comparison() {
        check(
            json!({"channel": {"name": "a"}}),
            json!({"channel": {"name": "a"}}),
            &[],
        );
        check(
            json!({"channel": {"name": "a"}}),
            json!({"channel": {"name": "a", "insecureIngest": false}}),
            &["additive field_added GetChannel channel.insecureIngest"],
        );
        check(
            json!({"tags": {}, "nextToken": "AQID"}),
            json!({"tags": {}}),
            &["breaking field_removed GetChannel nextToken"],
        );
        // Only the topmost new path is reported.
        check(
            json!({"channel": {}}),
            json!({"channel": {"srt": {"endpoint": "e", "passphrase": "p"}}}),
            &["additive field_added GetChannel channel.srt"],
        );
        check(
            json!({"stream": {"viewerCount": 3}}),
            json!({"stream": {"viewerCount": "3"}}),
            &["breaking type_changed GetChannel stream.viewerCount"],
        );
        // A changed container type hides the changes inside it.
        check(
            json!({"channel": {"srt": {"endpoint": "e"}}}),
            json!({"channel": {"srt": [{"url": "e"}]}}),
            &["breaking type_changed GetChannel channel.srt"],
        );
        check(
            json!({"x": 1}),
            json!("text"),
            &["breaking type_changed GetChannel (body)"],
        );
        // Null goes with every type.
        check(
            json!({"stream": {"endTime": null}}),
            json!({"stream": {"endTime": "2026-01-01T00:00:00Z"}}),
            &[],
        );
        // A list that grows, or whose elements differ in optional members, is not drift.
        check(
            json!({"channels": [{"name": "a"}, {"name": "b", "recordingConfigurationArn": ""}]}),
            json!({"channels": [{"name": "a", "recordingConfigurationArn": ""}, {"name": "b"}, {"name": "c"}]}),
            &[],
        );
        check(
            json!({"channels": []}),
            json!({"channels": [{"type": "BASIC"}]}),
            &[],
        );
        check(
            json!({"channels": [{"name": "a"}]}),
            json!({"channels": [{"name": "a", "type": "BASIC"}]}),
            &["additive field_added GetChannel channels[].type"],
        );
        check(
            json!({"channel": {"type": "STANDARD"}}),
            json!({"channel": {"type": "ADVANCED_HD"}}),
            &["additive enum_value_added GetChannel channel.type"],
        );
        check(
            json!({"streams": [{"state": "LIVE"}]}),
            json!({"streams": [{"state": "LIVE"}, {"state": "OFFLINE"}]}),
            &["additive enum_value_added GetChannel streams[].state"],
        );
        // Free text, ids and tag values are never enums.
        check(
            json!({"channel": {"name": "a"}}),
            json!({"channel": {"name": "b"}}),
            &[],
        );
        check(
            json!({"channel": {"name": "A"}}),
            json!({"channel": {"name": "b c"}}),
            &[],
        );
        check(
            json!({"stream": {"streamId": "ST1"}}),
            json!({"stream": {"streamId": "ST2"}}),
            &[],
        );
        check(
            json!({"tags": {"env": "CI"}}),
            json!({"tags": {"env": "PROD"}}),
            &[],
        );
        // Tags are a map: other keys are other data, not other fields.
        check(
            json!({"tags": {"team": "video"}}),
            json!({"tags": {"env": "ci", "x": "y"}}),
            &[],
        );
        check(
            json!({"tags": {"team": "video"}}),
            json!({"tags": {"team": 1}}),
            &["breaking type_changed GetChannel tags.*"],
        );
        // Everything that changes on every recording.
        check(
            json!({"channel": {"arn": ARN_A, "ingestEndpoint": "a1.global-contribute.live-video.net",
                "playbackUrl": "https://a1.us-west-2.playback.live-video.net/x.m3u8"},
                "stream": {"startTime": "2021-04-01T10:00:00Z", "viewerCount": 3}}),
            json!({"channel": {"arn": ARN_B, "ingestEndpoint": "b2.global-contribute.live-video.net",
                "playbackUrl": "https://b2.us-west-2.playback.live-video.net/y.m3u8"},
                "stream": {"startTime": "2026-03-18T19:02:11.123Z", "viewerCount": 1587}}),
            &[],
        );
    }

    #[test]
    fn enum_values_look_like_constants() {
        let check = |s: &str, expected: bool| assert_eq!(looks_like_enum_value(s), expected, "{s}");
        check("ADVANCED_HD", true);
        check("LIVE", true);
        check("H264", true);
        check("", false);
        check("_X", false);
        check("Standard", false);
        check("abcdEFGH1234", false);
    }
}
