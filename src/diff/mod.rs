//! API drift between two cassette sets: pair interactions, compare response shapes, report.
//!
//! `ivs-vcr diff OLD NEW` answers "what changed in IVS's answers since we last recorded?" in CI.
//! [`diff`] is pure: it takes cassettes already loaded (by [`load_cassettes`], the only function
//! here that does IO) and returns a [`DiffReport`], which renders as text (its `Display`, or
//! [`DiffReport::render_text`] with colour), JSON and Markdown. `normalize` names operations and
//! fingerprints requests; nothing else is shared with replay.
//!
//! # Pairing
//! Interactions are grouped by operation, named with their service when it is not IVS
//! (`ivschat:CreateRoom`), so drift is reported per service. An operation seen on one side only is one finding,
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
//!
//! # The split
//! This file has the report's types and the two entry points. `pair` groups interactions by
//! operation and pairs them; `shape` merges and compares response shapes; `mask` hides what
//! changes on every recording; `report` renders a [`DiffReport`] as text, JSON and Markdown.

#[cfg(test)]
mod fixtures;
mod mask;
mod pair;
mod report;
mod shape;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::cassette::{self, Cassette, CassetteError, Interaction};
use crate::normalize::Fingerprint;

use pair::entries_by_operation;
use report::interaction_count;
use shape::Comparison;

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
    load_cassettes_limited(path, cassette::Limits::DEFAULT)
}

/// [`load_cassettes`], holding each file to `limits` instead of the default ones.
pub(crate) fn load_cassettes_limited(
    path: &Path,
    limits: cassette::Limits,
) -> Result<Vec<(PathBuf, Cassette)>, CassetteError> {
    let io = |source| CassetteError::Io {
        path: path.to_owned(),
        source,
    };
    if !std::fs::metadata(path).map_err(io)?.is_dir() {
        return Ok(vec![(
            path.to_owned(),
            Cassette::load_limited(path, limits, &mut |_| {})?,
        )]);
    }
    let files = cassette::yaml_files(path)?;
    if files.is_empty() {
        return Err(CassetteError::Empty {
            path: path.to_owned(),
        });
    }
    files
        .into_iter()
        .map(|file| {
            Cassette::load_limited(&file, limits, &mut |_| {}).map(|cassette| (file, cassette))
        })
        .collect()
}

/// One interaction of one side, with where it came from and its two pairing keys.
struct Entry<'a> {
    file: &'a Path,
    interaction_idx: usize,
    interaction: &'a Interaction,
    fingerprint: Fingerprint,
    /// The request with volatile values masked, as canonical JSON.
    masked: String,
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

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use serde_json::json;

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
