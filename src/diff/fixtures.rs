//! Builders shared by the unit tests of `diff`: interactions, cassette sets, and report lines.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::{diff, DiffReport};
use crate::cassette::{
    Cassette, Interaction, Provenance, ProvenanceKind, RecordedRequest, RecordedResponse,
};

pub(super) const ARN_A: &str = "arn:aws:ivs:us-west-2:111122223333:channel/aB1cD2eF3gH4";
pub(super) const ARN_B: &str = "arn:aws:ivs:us-west-2:444455556666:channel/zY9xW8vU7tS6";

pub(super) fn interaction(path: &str, body: Value, status: u16, response: Value) -> Interaction {
    Interaction {
        request: RecordedRequest {
            service: Default::default(),
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

pub(super) fn side(file: &str, interactions: Vec<Interaction>) -> Vec<(PathBuf, Cassette)> {
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
pub(super) fn lines(report: &DiffReport) -> Vec<String> {
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

pub(super) fn assert_lines(report: &DiffReport, expected: &[&str], context: &str) {
    let got = lines(report);
    assert_eq!(
        got, expected,
        "{context}\nexpected:\n{expected:#?}\ngot:\n{got:#?}"
    );
}

/// Diffs one GetChannel answer against another.
pub(super) fn check(old: Value, new: Value, expected: &[&str]) {
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
