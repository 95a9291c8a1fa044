//! API drift between two cassette sets: pair interactions, compare response shapes, report.
//!
//! `ivs-vcr diff OLD NEW` answers "what changed in IVS's answers since we last recorded?" in CI.
//! [`diff`] is pure: it takes cassettes already loaded (by [`load_cassettes`], the only function
//! here that does IO) and returns a [`DiffReport`], which renders as text (its `Display`, or
//! [`DiffReport::render_text`] with colour), JSON and Markdown. `normalize` names operations and
//! fingerprints requests; nothing else is shared with replay.
//!
//! # Pairing
//! Interactions are grouped by operation. An operation seen on one side only is one finding,
//! added or removed. Within an operation, interactions pair in three passes, each in recorded
//! order: the same fingerprint (the request replay would match); the same request once volatile
//! values are masked, because a re-recording creates new resources with new ids; then whatever
//! is left, in order, so that a request whose made-up values changed (a name with a run id) still
//! pairs. Only a difference in counts leaves interactions unpaired; they are reported as added
//! or removed.
//!
//! # Comparing
//! - A pair compares status codes and `x-amzn-ErrorType`.
//! - Shapes are compared per operation and status, not per pair. All answers of an operation with
//!   one status merge into one shape per side, and so do all elements of a list. A field that only
//!   some answers carry (an optional member, a longer list) is therefore not drift: a field is
//!   removed only when no answer on the new side has it. Answers with different statuses never
//!   compare by shape: a 404 body is not a changed 200 body, the status change says it all.
//! - Only the topmost changed path is reported: a new `channel.srt`, not also
//!   `channel.srt.endpoint`.
//! - `tags` (IVS's only map type) holds user keys, so its keys are never fields; its values
//!   compare as `tags.*`.
//! - `null` goes with every type, as AWS omits or nulls optional members alike.
//! - A string field whose every value looks like an enum (`^[A-Z][A-Z0-9_]*$`) reports the values
//!   the old side never had. Cassettes are all diff knows of the API, so a value that the old
//!   API had but the old cassettes never showed is reported too.
//! - Response headers compare by name; those that change on every call (request ids, dates,
//!   lengths, CDN ids) are ignored, and `x-amzn-ErrorType` is compared per pair instead.
//! - Values compare only with [`DiffOptions::values`], pair by pair, after masking what changes on
//!   every recording: ids, the account and resource id of ARNs, timestamps, request ids (UUIDs),
//!   redaction placeholders, and members named like ids, times, tokens, URLs and endpoints.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::cassette::{self, Cassette, CassetteError, Interaction, RecordedResponse};
use crate::normalize::{self, Fingerprint};

/// How much a finding matters to code written against the old answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Old code may fail: something was removed or changed its type, status or error.
    Breaking,
    /// Something new that old code ignores: a field, an enum value, an operation.
    Additive,
    /// A changed value, reported only with [`DiffOptions::values`]; never drift.
    Info,
}

impl Severity {
    /// The lowercase name every output format uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Breaking => "breaking",
            Severity::Additive => "additive",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FindingKind {
    /// An operation only the new side calls.
    OperationAdded,
    /// An operation only the old side calls.
    OperationRemoved,
    /// An interaction of a known operation that has no counterpart on the old side.
    InteractionAdded,
    /// An interaction that has no counterpart on the new side.
    InteractionRemoved,
    /// A paired interaction got another HTTP status.
    StatusChanged,
    /// A paired interaction got another `x-amzn-ErrorType` (or gained or lost one).
    ErrorTypeChanged,
    /// A response member no old answer had.
    FieldAdded,
    /// A response member no new answer has.
    FieldRemoved,
    /// A response member with another JSON type (string to number, object to list, …).
    TypeChanged,
    /// An enum-like string member with a value no old answer had.
    EnumValueAdded,
    /// A response header no old answer had.
    HeaderAdded,
    /// A response header no new answer has.
    HeaderRemoved,
    /// A value that changed beyond what changes on every recording (with [`DiffOptions::values`]).
    ValueChanged,
}

impl FindingKind {
    /// The severity of this kind of change.
    pub fn severity(self) -> Severity {
        use FindingKind::*;
        match self {
            OperationRemoved | InteractionRemoved | StatusChanged | ErrorTypeChanged
            | FieldRemoved | TypeChanged | HeaderRemoved => Severity::Breaking,
            OperationAdded | InteractionAdded | FieldAdded | EnumValueAdded | HeaderAdded => {
                Severity::Additive
            }
            ValueChanged => Severity::Info,
        }
    }

    /// The snake_case identifier of the JSON output (`field_added`).
    pub fn as_str(self) -> &'static str {
        use FindingKind::*;
        match self {
            OperationAdded => "operation_added",
            OperationRemoved => "operation_removed",
            InteractionAdded => "interaction_added",
            InteractionRemoved => "interaction_removed",
            StatusChanged => "status_changed",
            ErrorTypeChanged => "error_type_changed",
            FieldAdded => "field_added",
            FieldRemoved => "field_removed",
            TypeChanged => "type_changed",
            EnumValueAdded => "enum_value_added",
            HeaderAdded => "header_added",
            HeaderRemoved => "header_removed",
            ValueChanged => "value_changed",
        }
    }

    /// The words the text and Markdown reports use (`field added`).
    fn label(self) -> &'static str {
        use FindingKind::*;
        match self {
            OperationAdded => "operation added",
            OperationRemoved => "operation removed",
            InteractionAdded => "interaction added",
            InteractionRemoved => "interaction removed",
            StatusChanged => "status changed",
            ErrorTypeChanged => "error type changed",
            FieldAdded => "field added",
            FieldRemoved => "field removed",
            TypeChanged => "type changed",
            EnumValueAdded => "new enum value",
            HeaderAdded => "header added",
            HeaderRemoved => "header removed",
            ValueChanged => "value changed",
        }
    }
}

/// One change between the old and the new cassettes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What changed; it decides the [`Severity`].
    pub kind: FindingKind,
    /// The IVS operation it concerns.
    pub operation: String,
    /// The JSON path in the response body (`channel.insecureIngest`, `channels[].type`,
    /// `tags.*`), or the lowercase header name for header findings; `None` for findings about
    /// whole operations, interactions, statuses and error types.
    pub path: Option<String>,
    /// The old cassette file it concerns, if any.
    pub old_file: Option<PathBuf>,
    /// The new cassette file it concerns, if any.
    pub new_file: Option<PathBuf>,
    /// What the old side had: a type, a status, an error type, the enum values seen, a value,
    /// or the request of a removed interaction.
    pub old: Option<String>,
    /// What the new side has, in the same terms as `old`.
    pub new: Option<String>,
}

impl Finding {
    /// The severity of the finding's kind.
    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }
}

/// Options of [`diff_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiffOptions {
    /// Also report changed values (severity info), after masking what changes on every recording.
    pub values: bool,
}

/// Which findings count as drift for the exit status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailOn {
    /// Any breaking or additive finding.
    #[default]
    Any,
    /// Breaking findings only.
    Breaking,
}

/// The outcome of [`diff`]: findings sorted by operation, then file, severity, kind and path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffReport {
    /// Every finding, each distinct change once.
    pub findings: Vec<Finding>,
    /// How many interactions the old side holds.
    pub n_old_interactions: usize,
    /// How many interactions the new side holds.
    pub n_new_interactions: usize,
}

impl DiffReport {
    /// The number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity() == severity)
            .count()
    }

    /// True when the report holds drift that `fail_on` counts. Info findings never count.
    pub fn fails(&self, fail_on: FailOn) -> bool {
        match fail_on {
            FailOn::Any => self.count(Severity::Breaking) + self.count(Severity::Additive) > 0,
            FailOn::Breaking => self.count(Severity::Breaking) > 0,
        }
    }

    /// The one-line summary: `2 breaking, 17 additive (9 old and 13 new interactions)`.
    pub fn summary(&self) -> String {
        let mut line = String::new();
        if self.count(Severity::Breaking) + self.count(Severity::Additive) == 0 {
            line.push_str("no drift: ");
        }
        let _ = write!(
            line,
            "{} breaking, {} additive",
            self.count(Severity::Breaking),
            self.count(Severity::Additive)
        );
        let n_info = self.count(Severity::Info);
        if n_info > 0 {
            let _ = write!(line, ", {n_info} value change(s)");
        }
        let _ = write!(
            line,
            " ({} old and {} new interactions)",
            self.n_old_interactions, self.n_new_interactions
        );
        line
    }

    /// The terminal report, grouped by operation, then by file pair; ANSI-coloured when `color`.
    pub fn render_text(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_owned()
            }
        };
        let mut out = String::new();
        let mut last_operation = None;
        let mut last_files = None;
        for finding in &self.findings {
            if last_operation != Some(&finding.operation) {
                if last_operation.is_some() {
                    out.push('\n');
                }
                out.push_str(&paint("1", &finding.operation));
                out.push('\n');
                last_operation = Some(&finding.operation);
                last_files = None;
            }
            let files = (&finding.old_file, &finding.new_file);
            if last_files != Some(files) {
                out.push_str("  ");
                out.push_str(&paint("2", &files_text(finding)));
                out.push('\n');
                last_files = Some(files);
            }
            let severity = format!("{:<8}", finding.severity().as_str());
            let severity = match finding.severity() {
                Severity::Breaking => paint("1;31", &severity),
                Severity::Additive => paint("32", &severity),
                Severity::Info => paint("36", &severity),
            };
            let _ = writeln!(
                out,
                "    {severity}  {:<19}  {}",
                finding.kind.label(),
                detail_text(finding)
            );
        }
        if !self.findings.is_empty() {
            out.push('\n');
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// The report as pretty JSON: `{"summary": {…}, "findings": [{severity, kind, operation,
    /// path, old_file, new_file, old, new}, …]}`.
    pub fn to_json(&self) -> String {
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                json!({
                    "severity": f.severity().as_str(),
                    "kind": f.kind.as_str(),
                    "operation": f.operation,
                    "path": f.path,
                    "old_file": f.old_file.as_ref().map(|p| p.display().to_string()),
                    "new_file": f.new_file.as_ref().map(|p| p.display().to_string()),
                    "old": f.old,
                    "new": f.new,
                })
            })
            .collect();
        let report = json!({
            "summary": {
                "breaking": self.count(Severity::Breaking),
                "additive": self.count(Severity::Additive),
                "info": self.count(Severity::Info),
                "old_interactions": self.n_old_interactions,
                "new_interactions": self.n_new_interactions,
            },
            "findings": findings,
        });
        // Invariant: a `serde_json::Value` always serializes.
        let mut text = serde_json::to_string_pretty(&report).expect("Value serializes");
        text.push('\n');
        text
    }

    /// The report as Markdown for a CI comment: a heading with the summary and one table row
    /// per finding.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("### ivs-vcr diff\n\n");
        let _ = writeln!(out, "**{}**", self.summary());
        if self.findings.is_empty() {
            return out;
        }
        out.push_str("\n| Severity | Operation | Change | Path | Old | New | Files |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
        for f in &self.findings {
            let code = |text: Option<&str>| {
                text.map(|t| format!("`{}`", markdown_cell(t)))
                    .unwrap_or_default()
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                f.severity(),
                markdown_cell(&f.operation),
                f.kind.label(),
                code(f.path.as_deref()),
                code(f.old.as_deref()),
                code(f.new.as_deref()),
                markdown_cell(&files_text(f)),
            );
        }
        out
    }
}

impl fmt::Display for DiffReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_text(false))
    }
}

/// Compares two cassette sets with the default options (no value changes).
pub fn diff(old: &[(PathBuf, Cassette)], new: &[(PathBuf, Cassette)]) -> DiffReport {
    diff_with(old, new, &DiffOptions::default())
}

/// Compares two cassette sets: pairs their interactions and reports how the answers changed.
pub fn diff_with(
    old: &[(PathBuf, Cassette)],
    new: &[(PathBuf, Cassette)],
    options: &DiffOptions,
) -> DiffReport {
    let old_ops = entries_by_operation(old);
    let new_ops = entries_by_operation(new);
    let mut findings = Vec::new();
    let operations: BTreeSet<&String> = old_ops.keys().chain(new_ops.keys()).collect();
    for operation in operations {
        match (old_ops.get(operation), new_ops.get(operation)) {
            (Some(old), Some(new)) => {
                let mut cmp = Comparison {
                    operation,
                    findings: &mut findings,
                };
                cmp.operation_pairs(old, new, options);
                cmp.operation_shapes(old, new);
            }
            (Some(old), None) => findings.push(Finding {
                kind: FindingKind::OperationRemoved,
                operation: operation.clone(),
                path: None,
                old_file: Some(old[0].file.to_owned()),
                new_file: None,
                old: Some(interaction_count(old.len())),
                new: None,
            }),
            (None, Some(new)) => findings.push(Finding {
                kind: FindingKind::OperationAdded,
                operation: operation.clone(),
                path: None,
                old_file: None,
                new_file: Some(new[0].file.to_owned()),
                old: None,
                new: Some(interaction_count(new.len())),
            }),
            // Invariant: every operation comes from one of the two maps.
            (None, None) => unreachable!("operation from neither side"),
        }
    }
    DiffReport {
        findings: dedup_and_sort(findings),
        n_old_interactions: old_ops.values().map(Vec::len).sum(),
        n_new_interactions: new_ops.values().map(Vec::len).sum(),
    }
}

/// Loads one side of a diff: a cassette file, or every `*.yaml`/`*.yml` under a directory
/// (recursively, hidden entries skipped, sorted by path), each with its path.
///
/// Unlike replay, a diff refuses a side with any bad file: a silently skipped cassette would hide
/// drift. A directory without cassettes is an error too, as it is most likely a wrong path.
pub fn load_cassettes(path: &Path) -> Result<Vec<(PathBuf, Cassette)>, CassetteError> {
    let io = |source| CassetteError::Io {
        path: path.to_owned(),
        source,
    };
    if !std::fs::metadata(path).map_err(io)?.is_dir() {
        return Ok(vec![(path.to_owned(), Cassette::load(path)?)]);
    }
    let files = cassette::yaml_files(path)?;
    if files.is_empty() {
        return Err(CassetteError::Empty {
            path: path.to_owned(),
        });
    }
    files
        .into_iter()
        .map(|file| Cassette::load(&file).map(|cassette| (file, cassette)))
        .collect()
}

/// Response headers whose presence says nothing about the API: they come and go with every call,
/// proxy or CDN. `x-amzn-errortype` is compared per pair, as an error type.
const IGNORED_RESPONSE_HEADERS: &[&str] = &[
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

/// Members whose values change on every recording, besides those the suffix rules of
/// [`is_volatile_key`] catch.
const VOLATILE_KEYS: &[&str] = &["value", "passphrase", "viewerCount", "fingerprint"];

/// One interaction of one side, with where it came from and its two pairing keys.
struct Entry<'a> {
    file: &'a Path,
    interaction_idx: usize,
    interaction: &'a Interaction,
    fingerprint: Fingerprint,
    /// The request with volatile values masked, as canonical JSON.
    masked: String,
}

/// The comparison of one operation, present on both sides.
struct Comparison<'a> {
    operation: &'a str,
    findings: &'a mut Vec<Finding>,
}

/// The JSON types a path took, as the report names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
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
    fn name(self) -> &'static str {
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
struct Shape<'a> {
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
struct StatusGroup<'a> {
    body: Shape<'a>,
    /// Lowercase header names, each with the first file it was seen in.
    headers: BTreeMap<String, &'a Path>,
}

impl Comparison<'_> {
    /// Pairs the interactions of the operation, reports the unpaired ones, and compares each
    /// pair's status, error type and (with `--values`) values.
    fn operation_pairs(&mut self, old: &[Entry], new: &[Entry], options: &DiffOptions) {
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
                finding.old = Some(old.to_string());
                finding.new = Some(new.to_string());
            }
            _ => {}
        }
    }

    /// Compares the merged response shapes and headers of every status both sides have.
    fn operation_shapes(&mut self, old: &[Entry], new: &[Entry]) {
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

fn entries_by_operation(side: &[(PathBuf, Cassette)]) -> BTreeMap<String, Vec<Entry<'_>>> {
    let mut ops: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    for (file, cassette) in side {
        for (interaction_idx, interaction) in cassette.interactions.iter().enumerate() {
            let normalized = normalize::request(&interaction.request, &cassette.matching);
            let masked = masked_request(&normalized);
            ops.entry(normalized.operation.clone())
                .or_default()
                .push(Entry {
                    file,
                    interaction_idx,
                    interaction,
                    fingerprint: normalize::fingerprint(&normalized),
                    masked,
                });
        }
    }
    ops
}

/// Pairs the interactions of one operation: by fingerprint, then by masked request, then in
/// order. Returns `(old index, new index)` pairs.
fn pair(old: &[Entry], new: &[Entry]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let mut old_free = vec![true; old.len()];
    let mut new_free = vec![true; new.len()];
    // Each pass pairs, in recorded order, what the passes before it left.
    let passes: [fn(&Entry, &Entry) -> bool; 3] = [
        |o, n| o.fingerprint == n.fingerprint,
        |o, n| o.masked == n.masked,
        |_, _| true,
    ];
    for same in passes {
        for (old_idx, o) in old.iter().enumerate() {
            if !old_free[old_idx] {
                continue;
            }
            let found = (0..new.len()).find(|&idx| new_free[idx] && same(o, &new[idx]));
            if let Some(new_idx) = found {
                old_free[old_idx] = false;
                new_free[new_idx] = false;
                pairs.push((old_idx, new_idx));
            }
        }
    }
    pairs
}

fn status_groups<'a>(entries: &[Entry<'a>]) -> BTreeMap<u16, StatusGroup<'a>> {
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
fn error_type(response: &RecordedResponse) -> Option<&str> {
    let (_, value) = response
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-amzn-errortype"))?;
    value.split(':').next()
}

fn masked_request(n: &normalize::Normalized) -> String {
    let query: serde_json::Map<String, Value> = n
        .query
        .iter()
        .map(|(k, values)| {
            let values = values.iter().map(|v| mask_string(Some(k), v)).collect();
            (k.clone(), Value::Array(values))
        })
        .collect();
    let masked = json!({
        "method": n.method,
        "path": mask_text(&n.path),
        "query": query,
        "region": n.region,
        "body": n.body.as_ref().map(|body| mask_value(None, body)),
    });
    normalize::canonical_json(&masked)
}

/// A value with everything that changes on every recording replaced by a placeholder.
fn mask_value(key: Option<&str>, value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), mask_value(Some(k), v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| mask_value(key, v)).collect()),
        Value::String(s) => mask_string(key, s),
        Value::Number(_) if key.is_some_and(is_volatile_key) => Value::from("<volatile>"),
        other => other.clone(),
    }
}

fn mask_string(key: Option<&str>, s: &str) -> Value {
    if key.is_some_and(is_volatile_key) {
        Value::from("<volatile>")
    } else {
        Value::from(mask_text(s))
    }
}

/// True for members named like values that change on every recording: ids, times, tokens,
/// URLs and endpoints (which embed ids), secrets and counters.
fn is_volatile_key(key: &str) -> bool {
    key == "id"
        || ["Id", "Ids", "Time", "Token", "Url", "Endpoint"]
            .iter()
            .any(|suffix| key.ends_with(suffix))
        || key == "endpoint"
        || VOLATILE_KEYS.contains(&key)
}

/// Masks the volatile parts of a string: a timestamp or a redaction placeholder as a whole, and
/// every ARN's account and resource id and every UUID inside it.
fn mask_text(s: &str) -> String {
    if is_timestamp(s) {
        return "<time>".to_owned();
    }
    if s.to_ascii_lowercase().contains("redacted") {
        return "<redacted>".to_owned();
    }
    mask_uuids(&mask_arns(s))
}

/// True for an ISO 8601 date-time (`2021-04-01T12:00:00Z`, with or without fractions or offset).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 16
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b' ')
        && b[13] == b':'
}

fn mask_arns(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("arn:aws") {
        let at_word_start = rest[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        if !at_word_start {
            out.push_str("arn");
            rest = &tail[3..];
            continue;
        }
        let end = tail
            .find(|c: char| c.is_whitespace() || "\"'`,;()[]{}<>".contains(c))
            .unwrap_or(tail.len());
        out.push_str(&mask_arn(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `arn:aws:ivs:us-west-2:123456789012:channel/abcd` → `arn:aws:ivs:us-west-2:*:channel/*`: the
/// partition, service, region and resource type stay, as they are part of the API.
fn mask_arn(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return arn.to_owned();
    };
    let account = if account.is_empty() { "" } else { "*" };
    let resource = match resource.find(['/', ':']) {
        Some(idx) => format!("{}*", &resource[..=idx]),
        None => "*".to_owned(),
    };
    format!("{prefix}:{partition}:{service}:{region}:{account}:{resource}")
}

fn mask_uuids(s: &str) -> String {
    const LEN: usize = 36;
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let (mut idx, mut copied) = (0, 0);
    while idx + LEN <= b.len() {
        let bounded = (idx == 0 || !b[idx - 1].is_ascii_alphanumeric())
            && b.get(idx + LEN).is_none_or(|c| !c.is_ascii_alphanumeric());
        if bounded && is_uuid(&b[idx..idx + LEN]) {
            // Both ends are ASCII, so both are char boundaries.
            out.push_str(&s[copied..idx]);
            out.push_str("<uuid>");
            idx += LEN;
            copied = idx;
        } else {
            idx += 1;
        }
    }
    out.push_str(&s[copied..]);
    out
}

fn is_uuid(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

/// `^[A-Z][A-Z0-9_]*$`: how IVS spells enum values (`STANDARD`, `ADVANCED_HD`, `LIVE`).
fn looks_like_enum_value(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_uppercase())
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Keeps each distinct change once (with the first files in path order), then sorts for output.
fn dedup_and_sort(mut findings: Vec<Finding>) -> Vec<Finding> {
    fn change(f: &Finding) -> impl Ord + '_ {
        (&f.operation, f.kind, &f.path, &f.old, &f.new)
    }
    fn output_order(f: &Finding) -> impl Ord + '_ {
        let files = (&f.old_file, &f.new_file);
        (&f.operation, files, f.severity(), f.kind, &f.path)
    }
    findings.sort_by(|a, b| {
        (change(a), &a.old_file, &a.new_file).cmp(&(change(b), &b.old_file, &b.new_file))
    });
    findings.dedup_by(|later, first| change(later).cmp(&change(first)).is_eq());
    findings.sort_by(|a, b| output_order(a).cmp(&output_order(b)));
    findings
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The body itself has the empty path; reports call it `(body)`.
fn display_path(path: &str) -> String {
    if path.is_empty() {
        "(body)".to_owned()
    } else {
        path.to_owned()
    }
}

fn kinds_text(kinds: &BTreeSet<Kind>) -> String {
    kinds
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(" or ")
}

fn interaction_count(n: usize) -> String {
    if n == 1 {
        "1 interaction".to_owned()
    } else {
        format!("{n} interactions")
    }
}

/// `interaction 3: POST /GetChannel {"arn":"…"}`, the body cut at 120 characters.
fn describe_interaction(entry: &Entry) -> String {
    const MAX_BODY: usize = 120;
    let req = &entry.interaction.request;
    let mut text = format!(
        "interaction {}: {} {}",
        entry.interaction_idx,
        req.method,
        normalize::decoded_path(&req.path)
    );
    if let Some(body) = &req.body {
        let _ = write!(
            text,
            " {}",
            normalize::canonical_json_preview(body, MAX_BODY)
        );
    }
    text
}

fn files_text(f: &Finding) -> String {
    match (&f.old_file, &f.new_file) {
        (Some(old), Some(new)) => format!("{} → {}", old.display(), new.display()),
        (Some(old), None) => format!("old: {}", old.display()),
        (None, Some(new)) => format!("new: {}", new.display()),
        (None, None) => String::new(),
    }
}

/// The text after the label on a finding's line.
fn detail_text(f: &Finding) -> String {
    let path = f.path.as_deref().unwrap_or_default();
    let old = f.old.as_deref().unwrap_or("none");
    let new = f.new.as_deref().unwrap_or("none");
    use FindingKind::*;
    match f.kind {
        OperationAdded | InteractionAdded => new.to_owned(),
        OperationRemoved | InteractionRemoved => old.to_owned(),
        StatusChanged | ErrorTypeChanged => format!("{old} → {new}"),
        FieldAdded => format!("{path} ({new})"),
        FieldRemoved => format!("{path} (was {old})"),
        TypeChanged | ValueChanged => format!("{path}: {old} → {new}"),
        EnumValueAdded => format!("{path}: {new} (old values: {old})"),
        HeaderAdded | HeaderRemoved => path.to_owned(),
    }
}

/// Text made safe for a Markdown table cell.
fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('\n', " ")
        .replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::{Provenance, ProvenanceKind, RecordedRequest};

    const ARN_A: &str = "arn:aws:ivs:us-west-2:111122223333:channel/aB1cD2eF3gH4";
    const ARN_B: &str = "arn:aws:ivs:us-west-2:444455556666:channel/zY9xW8vU7tS6";

    fn interaction(path: &str, body: Value, status: u16, response: Value) -> Interaction {
        Interaction {
            request: RecordedRequest {
                method: "POST".into(),
                path: path.into(),
                query: BTreeMap::new(),
                region: "us-west-2".into(),
                headers: BTreeMap::new(),
                body: Some(body),
            },
            response: RecordedResponse {
                status,
                headers: BTreeMap::new(),
                body: Some(response),
                body_text: None,
            },
        }
    }

    fn side(file: &str, interactions: Vec<Interaction>) -> Vec<(PathBuf, Cassette)> {
        let mut cassette = Cassette::new(
            file,
            Provenance {
                kind: ProvenanceKind::Authored,
                source: "test".into(),
                model: None,
                recorded_on: None,
            },
        );
        cassette.interactions = interactions;
        vec![(PathBuf::from(file), cassette)]
    }

    /// `severity kind operation path` per finding, in report order.
    fn lines(report: &DiffReport) -> Vec<String> {
        report
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}",
                    f.severity(),
                    f.kind.as_str(),
                    f.operation,
                    f.path.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }

    fn assert_lines(report: &DiffReport, expected: &[&str], context: &str) {
        let got = lines(report);
        assert_eq!(
            got, expected,
            "{context}\nexpected:\n{expected:#?}\ngot:\n{got:#?}"
        );
    }

    /// Diffs one GetChannel answer against another.
    fn check(old: Value, new: Value, expected: &[&str]) {
        let context = format!("old: {old}\nnew: {new}");
        let old = side(
            "old.yaml",
            vec![interaction("/GetChannel", json!({"arn": ARN_A}), 200, old)],
        );
        let new = side(
            "new.yaml",
            vec![interaction("/GetChannel", json!({"arn": ARN_B}), 200, new)],
        );
        assert_lines(&diff(&old, &new), expected, &context);
    }

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
    fn status_error_type_and_headers_compare_per_pair_and_status() {
        let not_found = |arn: &str| {
            let mut i = interaction(
                "/GetChannel",
                json!({"arn": arn}),
                404,
                json!({"exceptionMessage": format!("Resource: {arn} not found")}),
            );
            i.response.headers.insert(
                "x-amzn-ErrorType".into(),
                "ResourceNotFoundException:http://internal.amazon.com/coral/".into(),
            );
            i
        };
        let ok = |arn: &str| {
            interaction(
                "/GetChannel",
                json!({"arn": arn}),
                200,
                json!({"channel": {}}),
            )
        };
        // A rerecording with other ids, and a changed request id, is no drift.
        let mut old_ok = ok(ARN_A);
        old_ok.response.headers.insert(
            "x-amzn-RequestId".into(),
            "1b044c47-7e58-454c-b38e-43a1698f593c".into(),
        );
        old_ok
            .response
            .headers
            .insert("Content-Type".into(), "application/json".into());
        let mut new_ok = ok(ARN_B);
        new_ok.response.headers.insert(
            "X-AMZN-REQUESTID".into(),
            "2206449d-1a2d-4337-a862-2d1df03f04c6".into(),
        );
        new_ok
            .response
            .headers
            .insert("content-type".into(), "application/json".into());
        let old = side("old.yaml", vec![old_ok.clone(), not_found(ARN_A)]);
        let new = side("new.yaml", vec![new_ok.clone(), not_found(ARN_B)]);
        assert_lines(&diff(&old, &new), &[], "rerecorded");

        // The second GetChannel now succeeds: one status and one error type change, and the
        // 200 body is not compared with the 404 body.
        let new = side("new.yaml", vec![new_ok.clone(), ok(ARN_B)]);
        let report = diff(&old, &new);
        assert_lines(
            &report,
            &[
                "breaking status_changed GetChannel -",
                "breaking error_type_changed GetChannel -",
            ],
            "404 became 200",
        );
        assert_eq!(
            report.findings[1].old.as_deref(),
            Some("ResourceNotFoundException")
        );
        assert_eq!(report.findings[1].new, None);

        let mut with_header = new_ok.clone();
        with_header.response.headers.remove("content-type");
        with_header
            .response
            .headers
            .insert("x-ivs-new".into(), "1".into());
        let new = side("new.yaml", vec![with_header, not_found(ARN_B)]);
        assert_lines(
            &diff(&old, &new),
            &[
                "breaking header_removed GetChannel content-type",
                "additive header_added GetChannel x-ivs-new",
            ],
            "headers",
        );
    }

    #[test]
    fn operations_and_interactions_added_and_removed() {
        let get = |arn: &str| interaction("/GetChannel", json!({"arn": arn}), 200, json!({}));
        let list = interaction("/ListChannels", json!({}), 200, json!({"channels": []}));
        let stop = interaction("/StopStream", json!({"channelArn": ARN_A}), 200, json!({}));
        let old = side("old.yaml", vec![get(ARN_A), list.clone(), get(ARN_A)]);
        let new = side("new.yaml", vec![list, stop, get(ARN_B)]);
        let report = diff(&old, &new);
        assert_lines(
            &report,
            &[
                "breaking interaction_removed GetChannel -",
                "additive operation_added StopStream -",
            ],
            "added and removed",
        );
        assert_eq!(
            report.findings[0].old.as_deref(),
            Some(format!("interaction 2: POST /GetChannel {{\"arn\":\"{ARN_A}\"}}").as_str())
        );
        assert_eq!(report.findings[0].new_file, None);
        assert_eq!(report.findings[1].new.as_deref(), Some("1 interaction"));
        let reversed = diff(&new, &old);
        assert_lines(
            &reversed,
            &[
                "additive interaction_added GetChannel -",
                "breaking operation_removed StopStream -",
            ],
            "reversed",
        );
    }

    #[test]
    fn pairing_prefers_the_same_request_then_the_masked_request_then_order() {
        let get = |arn: &str, status: u16| {
            interaction("/GetChannel", json!({"arn": arn}), status, json!({}))
        };
        // The same requests in another order pair by fingerprint.
        let old = side("old.yaml", vec![get(ARN_A, 200), get(ARN_B, 404)]);
        let new = side("new.yaml", vec![get(ARN_B, 404), get(ARN_A, 200)]);
        assert_lines(&diff(&old, &new), &[], "reordered");
        // Requests that differ only in ids pair by their masked form, ahead of order.
        let list = |name: &str, arn: &str, status| {
            let body = json!({"filterByName": name, "filterByRecordingConfigurationArn": arn});
            interaction("/ListChannels", body, status, json!({}))
        };
        let old = side(
            "old.yaml",
            vec![list("a", ARN_A, 200), list("b", ARN_A, 400)],
        );
        let new = side(
            "new.yaml",
            vec![list("b", ARN_B, 400), list("a", ARN_B, 200)],
        );
        assert_lines(&diff(&old, &new), &[], "masked");
        // Requests with made-up values still pair, in order.
        let create = |name: &str, status| {
            interaction("/CreateChannel", json!({"name": name}), status, json!({}))
        };
        let old = side(
            "old.yaml",
            vec![create("run-1", 200), create("run-1b", 409)],
        );
        let new = side(
            "new.yaml",
            vec![create("run-2", 200), create("run-2b", 409)],
        );
        assert_lines(&diff(&old, &new), &[], "in order");
    }

    #[test]
    fn values_are_reported_only_when_asked_and_only_beyond_volatile_ones() {
        let body = |name: &str, arn: &str, time: &str| {
            json!({"channel": {"name": name, "arn": arn, "latencyMode": "LOW"},
                "streams": [{"startTime": time, "health": "HEALTHY"}]})
        };
        let old = side(
            "old.yaml",
            vec![interaction(
                "/GetChannel",
                json!({"arn": ARN_A}),
                200,
                body("show", ARN_A, "2021-04-01T10:00:00Z"),
            )],
        );
        let new = side(
            "new.yaml",
            vec![interaction(
                "/GetChannel",
                json!({"arn": ARN_B}),
                200,
                body("show-2", ARN_B, "2026-01-01T10:00:00Z"),
            )],
        );
        assert_lines(&diff(&old, &new), &[], "without --values");
        let report = diff_with(&old, &new, &DiffOptions { values: true });
        assert_lines(
            &report,
            &["info value_changed GetChannel channel.name"],
            "with --values",
        );
        assert_eq!(report.findings[0].old.as_deref(), Some("\"show\""));
        assert_eq!(report.findings[0].new.as_deref(), Some("\"show-2\""));
        assert!(!report.fails(FailOn::Any));
    }

    #[test]
    fn text_is_coloured_only_when_asked() {
        let old = side(
            "old.yaml",
            vec![interaction("/GetChannel", json!({}), 200, json!({"a": 1}))],
        );
        let new = side(
            "new.yaml",
            vec![interaction("/GetChannel", json!({}), 200, json!({}))],
        );
        let report = diff(&old, &new);
        let plain = "\
GetChannel
  old.yaml → new.yaml
    breaking  field removed        a (was number)

1 breaking, 0 additive (1 old and 1 new interactions)
";
        assert_eq!(report.to_string(), plain);
        assert_eq!(report.render_text(false), plain);
        let coloured = report.render_text(true);
        assert!(
            coloured.contains("\x1b[1mGetChannel\x1b[0m\n"),
            "{coloured}"
        );
        assert!(
            coloured.contains("\x1b[1;31mbreaking\x1b[0m  field removed"),
            "{coloured}"
        );
        let stripped = coloured
            .split("\x1b[")
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    &part[part.find('m').unwrap() + 1..]
                }
            })
            .collect::<String>();
        assert_eq!(stripped, plain);
    }

    #[test]
    fn masking() {
        let check = |input: &str, expected: &str| {
            assert_eq!(mask_text(input), expected, "{input}");
        };
        check(ARN_A, "arn:aws:ivs:us-west-2:*:channel/*");
        check(
            "Resource: arn:aws:ivs:us-west-2:1:stream-key/g1H2 not found",
            "Resource: arn:aws:ivs:us-west-2:*:stream-key/* not found",
        );
        check("arn:aws:s3:::my-bucket", "arn:aws:s3:::*");
        check("learn:aws is not an arn", "learn:aws is not an arn");
        check("2021-04-01T10:00:00.123Z", "<time>");
        check("2021-04-01", "2021-04-01");
        check("id 1b044c47-7e58-454c-b38e-43a1698f593c.", "id <uuid>.");
        check("sk_us-west-2_REDACTED", "<redacted>");
        check("STANDARD", "STANDARD");
        check("wörld", "wörld");
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

    #[test]
    fn fail_on_counts_the_chosen_severities() {
        let finding = |kind| Finding {
            kind,
            operation: "GetChannel".into(),
            path: None,
            old_file: None,
            new_file: None,
            old: None,
            new: None,
        };
        let report = |kinds: &[FindingKind]| DiffReport {
            findings: kinds.iter().map(|&k| finding(k)).collect(),
            ..DiffReport::default()
        };
        let check = |kinds: &[FindingKind], any: bool, breaking: bool| {
            let r = report(kinds);
            assert_eq!(
                (r.fails(FailOn::Any), r.fails(FailOn::Breaking)),
                (any, breaking),
                "{kinds:?}"
            );
        };
        check(&[], false, false);
        check(&[FindingKind::ValueChanged], false, false);
        check(&[FindingKind::FieldAdded], true, false);
        check(
            &[FindingKind::FieldAdded, FindingKind::FieldRemoved],
            true,
            true,
        );
    }
}
