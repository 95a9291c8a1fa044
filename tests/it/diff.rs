//! Black-box tests of `ivs-vcr diff`: the binary run on the drift fixtures, its stdout, stderr and
//! exit status, and the fixtures themselves checked against the AWS models they follow.
//!
//! `tests/fixtures/drift/2021-04` follows botocore 1.20.50's IVS model and `current` follows
//! botocore 1.44.8's (`tests/data/`); `current-rerecorded` is `current` with every volatile value
//! changed. The models decide which findings are expected, so a fixture that drifts from its
//! model fails `fixtures_follow_their_era_models` before it can make the diff tests lie.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ivs_vcr::__private::normalize::operation_name;
use ivs_vcr::Cassette;
use serde_json::Value;

const OLD: &str = "drift/2021-04";
const NEW: &str = "drift/current";
const RERECORDED: &str = "drift/current-rerecorded";

/// `(severity, operation, path, kind)` of every finding of `diff 2021-04 current`.
const EXPECTED_DRIFT: &[(&str, &str, &str, &str)] = &[
    (
        "additive",
        "GetChannel",
        "channel.adConfigurationArn",
        "field_added",
    ),
    (
        "additive",
        "GetChannel",
        "channel.containerFormat",
        "field_added",
    ),
    (
        "additive",
        "GetChannel",
        "channel.failoverSlateConfigurationArn",
        "field_added",
    ),
    (
        "additive",
        "GetChannel",
        "channel.insecureIngest",
        "field_added",
    ),
    (
        "additive",
        "GetChannel",
        "channel.multitrackInputConfiguration",
        "field_added",
    ),
    (
        "additive",
        "GetChannel",
        "channel.playbackRestrictionPolicyArn",
        "field_added",
    ),
    ("additive", "GetChannel", "channel.preset", "field_added"),
    ("additive", "GetChannel", "channel.srt", "field_added"),
    ("additive", "GetChannel", "channel.type", "enum_value_added"),
    (
        "additive",
        "GetPlaybackRestrictionPolicy",
        "",
        "operation_added",
    ),
    ("additive", "GetStream", "stream.streamId", "field_added"),
    (
        "additive",
        "ListChannels",
        "channels[].adConfigurationArn",
        "field_added",
    ),
    (
        "additive",
        "ListChannels",
        "channels[].failoverSlateConfigurationArn",
        "field_added",
    ),
    (
        "additive",
        "ListChannels",
        "channels[].insecureIngest",
        "field_added",
    ),
    (
        "additive",
        "ListChannels",
        "channels[].playbackRestrictionPolicyArn",
        "field_added",
    ),
    (
        "additive",
        "ListChannels",
        "channels[].preset",
        "field_added",
    ),
    ("additive", "ListChannels", "channels[].type", "field_added"),
    ("additive", "ListStreamSessions", "", "operation_added"),
    (
        "additive",
        "ListStreams",
        "streams[].streamId",
        "field_added",
    ),
    (
        "breaking",
        "ListTagsForResource",
        "nextToken",
        "field_removed",
    ),
];

/// Where each compared model structure sits in the fixtures' answers: operation, path prefix of
/// its members in findings, the keys leading to it (`[]` for every list element), shape name.
const COMPARED_SHAPES: &[(&str, &str, &[&str], &str)] = &[
    ("GetChannel", "channel.", &["channel"], "Channel"),
    (
        "ListChannels",
        "channels[].",
        &["channels", "[]"],
        "ChannelSummary",
    ),
    ("GetStream", "stream.", &["stream"], "Stream"),
    (
        "ListStreams",
        "streams[].",
        &["streams", "[]"],
        "StreamSummary",
    ),
    (
        "ListTagsForResource",
        "",
        &[],
        "ListTagsForResourceResponse",
    ),
];

#[test]
fn fixtures_follow_their_era_models() {
    for (dir, model) in [
        (OLD, Model::load("2021-04")),
        (NEW, Model::load("current")),
        (RERECORDED, Model::load("current")),
    ] {
        let mut problems = Vec::new();
        for (file, cassette) in load(dir) {
            for (idx, interaction) in cassette.interactions.iter().enumerate() {
                let req = &interaction.request;
                let op = operation_name(&req.method, &req.path);
                let at = format!("{}#{idx} {op}", file.display());
                let Some(spec) = model.0["operations"].get(&op) else {
                    problems.push(format!("{at}: not an operation of the model"));
                    continue;
                };
                if let Some(body) = &req.body {
                    let input = spec["input"]["shape"].as_str().unwrap_or_default();
                    model.check(input, body, &format!("{at} request"), &mut problems);
                }
                let res = &interaction.response;
                if res.status < 300 {
                    let output = spec["output"]["shape"].as_str().unwrap_or_default();
                    let body = res.body.as_ref().unwrap_or(&Value::Null);
                    model.check(output, body, &format!("{at} response"), &mut problems);
                }
            }
        }
        // Each compared structure must be complete, or the diff could not see all its drift.
        for (op, _, keys, shape) in COMPARED_SHAPES {
            let seen = members_seen(&load(dir), op, keys);
            let members = model.members(shape);
            if seen != members {
                problems.push(format!(
                    "{dir}: {op} answers show members {seen:?} of `{shape}`, the model has {members:?}"
                ));
            }
        }
        assert!(problems.is_empty(), "{dir}:\n{}", problems.join("\n"));
    }
}

#[test]
fn drift_from_2021_04_to_current_is_exactly_the_model_drift() {
    let (stdout, stderr, code) = run(&["diff", OLD, NEW, "--format", "json"]);
    assert_eq!((code, stderr.as_str()), (1, ""), "stdout:\n{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let expected: BTreeSet<_> = EXPECTED_DRIFT
        .iter()
        .map(|&(s, o, p, k)| (s.to_owned(), o.to_owned(), p.to_owned(), k.to_owned()))
        .collect();
    assert_sets_eq(&expected, &finding_tuples(findings));
    assert_eq!(report["summary"]["breaking"], 1);
    assert_eq!(report["summary"]["additive"], 19);

    // The expected list is the models' own difference, not made up.
    let (old_model, new_model) = (Model::load("2021-04"), Model::load("current"));
    let mut model_fields = BTreeSet::new();
    for (op, prefix, _, shape) in COMPARED_SHAPES {
        let (old, new) = (old_model.members(shape), new_model.members(shape));
        for m in new.difference(&old) {
            model_fields.insert(("additive", *op, format!("{prefix}{m}"), "field_added"));
        }
        for m in old.difference(&new) {
            model_fields.insert(("breaking", *op, format!("{prefix}{m}"), "field_removed"));
        }
    }
    let expected_fields: BTreeSet<_> = EXPECTED_DRIFT
        .iter()
        .filter(|(.., kind)| kind.starts_with("field_"))
        .map(|&(s, o, p, k)| (s, o, p.to_owned(), k))
        .collect();
    assert_sets_eq(&model_fields, &expected_fields);
    let new_ops: BTreeSet<String> = new_model
        .operations()
        .difference(&old_model.operations())
        .cloned()
        .collect();
    assert_eq!(new_ops.len(), 20);
    for &(_, op, _, kind) in EXPECTED_DRIFT {
        if kind == "operation_added" {
            assert!(new_ops.contains(op), "{op} is not new in the current model");
        }
    }
    let enum_finding = findings
        .iter()
        .find(|f| f["kind"] == "enum_value_added")
        .unwrap();
    let new_types = new_model.enum_values("ChannelType");
    let old_types = old_model.enum_values("ChannelType");
    let added_type = enum_finding["new"].as_str().unwrap();
    assert!(new_types.contains(added_type) && !old_types.contains(added_type));

    // Each finding points at the files of its side(s).
    for f in findings {
        let file = |side: &str| f[side].as_str().map(str::to_owned);
        match f["kind"].as_str().unwrap() {
            "operation_added" => {
                assert_eq!(file("old_file"), None);
                assert_eq!(
                    file("new_file").as_deref(),
                    Some("drift/current/new-operations.yaml")
                );
            }
            _ => {
                let old = file("old_file").unwrap();
                let new = file("new_file").unwrap();
                assert_eq!(old.replace("2021-04", "current"), new, "{f}");
            }
        }
    }
}

#[test]
fn drift_from_current_back_to_2021_04_is_breaking() {
    let (stdout, _, code) = run(&["diff", NEW, OLD, "--format", "json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let reversed: BTreeSet<_> = EXPECTED_DRIFT
        .iter()
        .map(|&(_, op, path, kind)| {
            let (severity, kind) = match kind {
                "field_added" => ("breaking", "field_removed"),
                "field_removed" => ("additive", "field_added"),
                "operation_added" => ("breaking", "operation_removed"),
                // ADVANCED_HD becomes the old value, so STANDARD is new.
                other => ("additive", other),
            };
            (severity.into(), op.into(), path.into(), kind.into())
        })
        .collect();
    assert_sets_eq(
        &reversed,
        &finding_tuples(report["findings"].as_array().unwrap()),
    );
}

#[test]
fn text_report_groups_by_operation_and_file_and_ends_with_a_summary() {
    let (stdout, stderr, code) = run(&["diff", OLD, NEW]);
    assert_eq!((code, stderr.as_str()), (1, ""));
    assert_text(
        "\
GetChannel
  drift/2021-04/channels.yaml → drift/current/channels.yaml
    additive  field added          channel.adConfigurationArn (string)
    additive  field added          channel.containerFormat (string)
    additive  field added          channel.failoverSlateConfigurationArn (string)
    additive  field added          channel.insecureIngest (boolean)
    additive  field added          channel.multitrackInputConfiguration (object)
    additive  field added          channel.playbackRestrictionPolicyArn (string)
    additive  field added          channel.preset (string)
    additive  field added          channel.srt (object)
    additive  new enum value       channel.type: ADVANCED_HD (old values: STANDARD)

GetPlaybackRestrictionPolicy
  new: drift/current/new-operations.yaml
    additive  operation added      1 interaction

GetStream
  drift/2021-04/streams.yaml → drift/current/streams.yaml
    additive  field added          stream.streamId (string)

ListChannels
  drift/2021-04/channels.yaml → drift/current/channels.yaml
    additive  field added          channels[].adConfigurationArn (string)
    additive  field added          channels[].failoverSlateConfigurationArn (string)
    additive  field added          channels[].insecureIngest (boolean)
    additive  field added          channels[].playbackRestrictionPolicyArn (string)
    additive  field added          channels[].preset (string)
    additive  field added          channels[].type (string)

ListStreamSessions
  new: drift/current/new-operations.yaml
    additive  operation added      1 interaction

ListStreams
  drift/2021-04/streams.yaml → drift/current/streams.yaml
    additive  field added          streams[].streamId (string)

ListTagsForResource
  drift/2021-04/tags.yaml → drift/current/tags.yaml
    breaking  field removed        nextToken (was string)

1 breaking, 19 additive (7 old and 9 new interactions)
",
        &stdout,
    );
}

#[test]
fn markdown_report_is_a_summary_and_a_table() {
    let (stdout, _, code) = run(&[
        "diff",
        "drift/2021-04/tags.yaml",
        "drift/current/tags.yaml",
        "--format",
        "markdown",
    ]);
    assert_eq!(code, 1);
    assert_text(
        "\
### ivs-vcr diff

**1 breaking, 0 additive (1 old and 1 new interactions)**

| Severity | Operation | Change | Path | Old | New | Files |
|---|---|---|---|---|---|---|
| breaking | ListTagsForResource | field removed | `nextToken` | `string` |  | drift/2021-04/tags.yaml → drift/current/tags.yaml |
",
        &stdout,
    );
}

#[test]
fn a_set_diffed_with_itself_has_no_drift() {
    for dir in [OLD, NEW] {
        let (stdout, stderr, code) = run(&["diff", dir, dir]);
        assert_eq!((code, stderr.as_str()), (0, ""), "{dir}");
        let n = load(dir)
            .iter()
            .map(|(_, c)| c.interactions.len())
            .sum::<usize>();
        assert_text(
            &format!("no drift: 0 breaking, 0 additive ({n} old and {n} new interactions)\n"),
            &stdout,
        );
        let (stdout, _, code) = run(&["diff", dir, dir, "--format", "json", "--values"]);
        assert_eq!(code, 0);
        let report: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(report["findings"], serde_json::json!([]), "{dir}");
    }
}

#[test]
fn a_rerecording_with_new_ids_times_and_request_ids_has_no_drift() {
    // The copy must really differ in every volatile value, or this test proves nothing.
    let tokens = |dir: &str| -> BTreeSet<String> {
        let mut tokens = BTreeSet::new();
        for (file, _) in load(dir) {
            let text = std::fs::read_to_string(fixtures().join(&file)).unwrap();
            tokens.extend(volatile_tokens(&text));
        }
        tokens
    };
    let (original, copy) = (tokens(NEW), tokens(RERECORDED));
    assert!(original.len() > 20, "{original:?}");
    let common: Vec<_> = original.intersection(&copy).collect();
    assert!(common.is_empty(), "unchanged in the copy: {common:?}");

    for extra in [&[][..], &["--values"], &["--fail-on", "breaking"]] {
        let mut args = vec!["diff", NEW, RERECORDED];
        args.extend_from_slice(extra);
        let (stdout, stderr, code) = run(&args);
        assert_eq!((code, stderr.as_str()), (0, ""), "{args:?}");
        assert_text(
            "no drift: 0 breaking, 0 additive (9 old and 9 new interactions)\n",
            &stdout,
        );
    }
}

#[test]
fn fail_on_breaking_ignores_additive_drift() {
    let channels = ["drift/2021-04/channels.yaml", "drift/current/channels.yaml"];
    let code = |extra: &[&str], pair: &[&str]| {
        let mut args = vec!["diff"];
        args.extend_from_slice(pair);
        args.extend_from_slice(extra);
        run(&args).2
    };
    // Channels only gained members: additive drift.
    assert_eq!(code(&[], &channels), 1);
    assert_eq!(code(&["--fail-on", "any"], &channels), 1);
    assert_eq!(code(&["--fail-on", "breaking"], &channels), 0);
    // Tags lost `nextToken`: breaking drift.
    assert_eq!(code(&["--fail-on", "breaking"], &[OLD, NEW]), 1);
    assert_eq!(
        code(&["--fail-on", "breaking", "--format", "json"], &[OLD, NEW]),
        1
    );
}

#[test]
fn values_flag_shows_changed_values_without_failing() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixtures().join(NEW).join("channels.yaml")).unwrap();
    let renamed = text.replace("name: drift-backup", "name: drift-spare");
    assert_ne!(text, renamed);
    let copy = dir.path().join("channels.yaml");
    std::fs::write(&copy, renamed).unwrap();
    let copy = copy.to_str().unwrap();

    let (stdout, _, code) = run(&["diff", "drift/current/channels.yaml", copy]);
    assert_eq!(code, 0);
    assert_text(
        "no drift: 0 breaking, 0 additive (3 old and 3 new interactions)\n",
        &stdout,
    );
    let (stdout, _, code) = run(&["diff", "drift/current/channels.yaml", copy, "--values"]);
    assert_eq!(code, 0);
    assert_text(
        &format!(
            "\
ListChannels
  drift/current/channels.yaml → {copy}
    info      value changed        channels[1].name: \"drift-backup\" → \"drift-spare\"

no drift: 0 breaking, 0 additive, 1 value change(s) (3 old and 3 new interactions)
"
        ),
        &stdout,
    );
}

#[test]
fn bad_paths_and_cassettes_exit_2() {
    let (stdout, stderr, code) = run(&["diff", "drift/nope", NEW]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_text(
        "error: cannot load the OLD cassettes: cannot access cassette `drift/nope`: No such file or directory (os error 2)\n",
        &stderr,
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let (_, stderr, code) = run(&["diff", OLD, path]);
    assert_eq!(code, 2);
    assert_text(
        &format!("error: cannot load the NEW cassettes: no cassette (*.yaml, *.yml) found under `{path}`\n"),
        &stderr,
    );

    let text = std::fs::read_to_string(fixtures().join(NEW).join("tags.yaml")).unwrap();
    let bad = dir.path().join("tags.yaml");
    std::fs::write(&bad, text.replace("status: 200", "status: ok")).unwrap();
    let (stdout, stderr, code) = run(&["diff", OLD, path]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_text(
        &format!(
            "error: cannot load the NEW cassettes: invalid cassette `{}` at line 18: \
             interactions[0].response.status: invalid type: string \"ok\", expected u16\n",
            bad.display()
        ),
        &stderr,
    );
}

/// The subset of the AWS model the fixture checks need.
struct Model(Value);

impl Model {
    fn load(era: &str) -> Model {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(format!("ivs-model-{era}.json"));
        Model(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
    }

    fn operations(&self) -> BTreeSet<String> {
        self.0["operations"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    fn members(&self, shape: &str) -> BTreeSet<String> {
        let members = self.0["shapes"][shape]["members"].as_object();
        members.unwrap().keys().cloned().collect()
    }

    fn enum_values(&self, shape: &str) -> BTreeSet<&str> {
        let values = self.0["shapes"][shape]["enum"].as_array().unwrap();
        values.iter().map(|v| v.as_str().unwrap()).collect()
    }

    /// Checks that `value` has the model's shape: known members only, JSON types that match,
    /// enum values the model lists.
    fn check(&self, shape: &str, value: &Value, at: &str, problems: &mut Vec<String>) {
        let spec = &self.0["shapes"][shape];
        let mut problem = |what: String| problems.push(format!("{at}: {what}"));
        match (spec["type"].as_str().unwrap_or_default(), value) {
            ("structure", Value::Object(map)) => {
                for (key, v) in map {
                    match spec["members"][key]["shape"].as_str() {
                        Some(member) => self.check(member, v, &format!("{at}.{key}"), problems),
                        None => problems.push(format!("{at}.{key}: not a member of `{shape}`")),
                    }
                }
            }
            ("list", Value::Array(items)) => {
                let member = spec["member"]["shape"].as_str().unwrap();
                for v in items {
                    self.check(member, v, &format!("{at}[]"), problems);
                }
            }
            ("map", Value::Object(map)) => {
                let member = spec["value"]["shape"].as_str().unwrap();
                for v in map.values() {
                    self.check(member, v, &format!("{at}.*"), problems);
                }
            }
            ("string" | "timestamp", Value::String(s)) => {
                // IVS answers `""` for an enum member that does not apply (`preset` of a
                // STANDARD channel, as the model's documentation of `preset` says).
                if let Some(values) = spec["enum"].as_array().filter(|_| !s.is_empty()) {
                    if !values.iter().any(|v| v == s) {
                        problem(format!("`{s}` is not a value of `{shape}`"));
                    }
                }
            }
            ("boolean", Value::Bool(_)) => {}
            ("integer" | "long", Value::Number(_)) => {}
            (kind, _) => problem(format!("{value} is not a `{shape}` ({kind})")),
        }
    }
}

/// The members seen, across every successful answer of `op`, in the objects at `keys`.
fn members_seen(side: &[(PathBuf, Cassette)], op: &str, keys: &[&str]) -> BTreeSet<String> {
    fn walk<'a>(value: &'a Value, keys: &[&str], out: &mut Vec<&'a Value>) {
        match keys.split_first() {
            None => out.push(value),
            Some((&"[]", rest)) => {
                for item in value.as_array().into_iter().flatten() {
                    walk(item, rest, out);
                }
            }
            Some((key, rest)) => {
                if let Some(v) = value.get(key) {
                    walk(v, rest, out);
                }
            }
        }
    }
    let mut objects = Vec::new();
    for (_, cassette) in side {
        for i in &cassette.interactions {
            if operation_name(&i.request.method, &i.request.path) == op && i.response.status < 300 {
                walk(i.response.body.as_ref().unwrap(), keys, &mut objects);
            }
        }
    }
    objects
        .iter()
        .flat_map(|o| o.as_object().unwrap().keys().cloned())
        .collect()
}

/// ARN account and resource ids, UUIDs, timestamps, stream ids, ingest host prefixes and
/// placeholders in a fixture's text.
fn volatile_tokens(text: &str) -> BTreeSet<String> {
    let words = text.split(|c: char| !(c.is_ascii_alphanumeric() || "-:_.".contains(c)));
    let mut tokens = BTreeSet::new();
    for word in words.filter(|w| !w.is_empty()) {
        let word = word.trim_end_matches(['.', ':']);
        let parts: Vec<&str> = word.split([':', '/', '.']).collect();
        for part in parts {
            let is_account = part.len() == 12 && part.bytes().all(|b| b.is_ascii_digit());
            let is_id = part.len() == 12
                && part.bytes().any(|b| b.is_ascii_uppercase())
                && part.bytes().any(|b| b.is_ascii_digit())
                && part.bytes().all(|b| b.is_ascii_alphanumeric());
            let is_host = part.len() == 12 && part.bytes().all(|b| b.is_ascii_hexdigit());
            let is_stream = part.starts_with("st-") && part.len() > 20;
            let is_uuid = part.len() == 36 && part.matches('-').count() == 4;
            if is_account || is_id || is_host || is_stream || is_uuid {
                tokens.insert(part.to_owned());
            }
        }
        if word.len() >= 19 && word.as_bytes()[10] == b'T' && word.starts_with("20") {
            tokens.insert(word.to_owned());
        }
        if word.starts_with("ivs-vcr-redacted") {
            tokens.insert(word.to_owned());
        }
    }
    tokens
}

fn finding_tuples(findings: &[Value]) -> BTreeSet<(String, String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    findings
        .iter()
        .map(|f| {
            (
                text(&f["severity"]),
                text(&f["operation"]),
                text(&f["path"]),
                text(&f["kind"]),
            )
        })
        .collect()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load(dir: &str) -> Vec<(PathBuf, Cassette)> {
    let side = ivs_vcr::diff::load_cassettes(&fixtures().join(dir)).unwrap();
    side.into_iter()
        .map(|(path, c)| (path.strip_prefix(fixtures()).unwrap().to_owned(), c))
        .collect()
}

/// Runs the binary in `tests/fixtures`; returns stdout, stderr and the exit code.
fn run(args: &[&str]) -> (String, String, i32) {
    let output = crate::support::bin::command(args, &fixtures())
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        // Invariant: the process exited by itself, not by a signal.
        output.status.code().expect("exit code"),
    )
}

fn assert_text(expected: &str, got: &str) {
    assert!(
        expected == got,
        "expected:\n{expected}\n---\ngot:\n{got}\n---"
    );
}

fn assert_sets_eq<T: Ord + std::fmt::Debug>(expected: &BTreeSet<T>, got: &BTreeSet<T>) {
    let missing: Vec<_> = expected.difference(got).collect();
    let extra: Vec<_> = got.difference(expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing:\n{missing:#?}\nunexpected:\n{extra:#?}"
    );
}
