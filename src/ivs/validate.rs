//! Checks a request's input against its shape in AWS's model: required members, types, enum
//! values, lengths, patterns, numeric ranges, and list and map sizes. Pure; the emulator turns
//! what it finds into a ValidationException.
//!
//! Two choices are inferred rather than documented:
//! - Patterns are matched against the whole value. The model's text is Smithy's (unanchored), but
//!   IVS's own messages ("Member must satisfy regular expression pattern") come from a validator
//!   that matches whole values, and an unanchored `[a-zA-Z0-9-_]*` would accept anything.
//! - The tag operations' `ResourceArn` pattern (`…:[a-z-]/…`, one character before the `/`) is a
//!   known model bug that matches no real ARN, so it is not applied; the emulator checks tagged
//!   ARNs by resource type instead.
//!
//! Members the model does not know are ignored, as AWS's JSON services ignore them.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use super::{Kind, Location, ShapeId, SHAPES};

/// The shapes whose model pattern is not applied (see the module doc).
const UNAPPLIED_PATTERNS: &[&str] = &["ResourceArn"];

/// The first problem found in `value` as an input of `shape`, as `path: what is wrong`, e.g.
/// `name: 129 characters, at most 128`. `None` when the value is valid.
pub fn problems(shape: ShapeId, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(shape, value, "", &mut out);
    out
}

fn join(path: &str, member: &str) -> String {
    if path.is_empty() {
        member.to_owned()
    } else {
        format!("{path}.{member}")
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn check(shape: ShapeId, value: &Value, path: &str, out: &mut Vec<String>) {
    // A bound on what one request can make us report: the first problems are what a user reads.
    if out.len() >= 10 {
        return;
    }
    let spec = shape.get();
    let shown = if path.is_empty() { "input" } else { path };
    match spec.kind {
        Kind::Structure(members) => {
            let Value::Object(map) = value else {
                out.push(format!(
                    "{shown}: expected an object, got {}",
                    describe(value)
                ));
                return;
            };
            for member in members {
                if member.location == Location::Header {
                    continue;
                }
                match map.get(member.name) {
                    None | Some(Value::Null) if member.required => out.push(format!(
                        "{}: required, but missing",
                        join(path, member.name)
                    )),
                    None | Some(Value::Null) => {}
                    Some(v) => check(member.shape, v, &join(path, member.name), out),
                }
            }
        }
        Kind::List { member, min, max } => {
            let Value::Array(items) = value else {
                out.push(format!("{shown}: expected a list, got {}", describe(value)));
                return;
            };
            bounds(shown, items.len() as u64, min, max, "entries", out);
            for (i, item) in items.iter().enumerate() {
                check(member, item, &format!("{shown}[{i}]"), out);
            }
        }
        Kind::Map {
            key,
            value: value_shape,
            min,
            max,
        } => {
            let Value::Object(map) = value else {
                out.push(format!("{shown}: expected a map, got {}", describe(value)));
                return;
            };
            bounds(shown, map.len() as u64, min, max, "entries", out);
            for (k, v) in map {
                check(
                    key,
                    &Value::String(k.clone()),
                    &format!("{shown} key {k:?}"),
                    out,
                );
                check(value_shape, v, &format!("{shown}.{k}"), out);
            }
        }
        Kind::String {
            min,
            max,
            pattern,
            values,
        } => {
            let Value::String(s) = value else {
                out.push(format!(
                    "{shown}: expected a string, got {}",
                    describe(value)
                ));
                return;
            };
            let n = s.chars().count() as u64;
            let before = out.len();
            bounds(shown, n, min, max, "characters", out);
            if out.len() > before {
                // One problem per value: a pattern says nothing more about a value of the wrong length.
            } else if !values.is_empty() && !values.contains(&s.as_str()) {
                out.push(format!(
                    "{shown}: {s:?} is not one of {}",
                    values.join(", ")
                ));
            } else if let Some(pattern) = pattern {
                if !UNAPPLIED_PATTERNS.contains(&spec.name)
                    && !pattern_of(shape, pattern).is_match(s)
                {
                    out.push(format!(
                        "{shown}: {s:?} does not match the pattern {pattern}"
                    ));
                }
            }
        }
        Kind::Integer { min, max } | Kind::Long { min, max } => {
            let Some(n) = value.as_i64() else {
                out.push(format!(
                    "{shown}: expected an integer, got {}",
                    describe(value)
                ));
                return;
            };
            if min.is_some_and(|min| n < min) || max.is_some_and(|max| n > max) {
                out.push(format!("{shown}: {n} is outside {}", range(min, max)));
            }
        }
        Kind::Float => {
            if !value.is_number() {
                out.push(format!(
                    "{shown}: expected a number, got {}",
                    describe(value)
                ));
            }
        }
        Kind::Boolean => {
            if !value.is_boolean() {
                out.push(format!(
                    "{shown}: expected a boolean, got {}",
                    describe(value)
                ));
            }
        }
        Kind::Timestamp => {
            if !value.is_number() && !value.is_string() {
                out.push(format!(
                    "{shown}: expected a timestamp, got {}",
                    describe(value)
                ));
            }
        }
        Kind::Blob => {
            if !value.is_string() {
                out.push(format!(
                    "{shown}: expected base64 text, got {}",
                    describe(value)
                ));
            }
        }
    }
}

fn bounds(
    shown: &str,
    n: u64,
    min: Option<u64>,
    max: Option<u64>,
    unit: &str,
    out: &mut Vec<String>,
) {
    if let Some(min) = min.filter(|&min| n < min) {
        out.push(format!("{shown}: {n} {unit}, at least {min}"));
    } else if let Some(max) = max.filter(|&max| n > max) {
        out.push(format!("{shown}: {n} {unit}, at most {max}"));
    }
}

fn range(min: Option<i64>, max: Option<i64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("{min}–{max}"),
        (Some(min), None) => format!("{min} and above"),
        (None, Some(max)) => format!("{max} and below"),
        (None, None) => "any range".to_owned(),
    }
}

/// The compiled, whole-value regex of a shape's pattern; compiled once, on first use.
fn pattern_of(shape: ShapeId, pattern: &str) -> &'static Regex {
    static COMPILED: OnceLock<Vec<OnceLock<Regex>>> = OnceLock::new();
    let cells = COMPILED.get_or_init(|| SHAPES.iter().map(|_| OnceLock::new()).collect());
    cells[usize::from(shape.0)].get_or_init(|| {
        // Invariant: every model pattern compiles; `every_model_pattern_compiles` checks them all.
        Regex::new(&format!("^(?:{pattern})$")).expect("model patterns are valid regexes")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivs::operation;
    use serde_json::json;

    fn check_input(op: &str, input: Value, expected: &[&str]) {
        let shape = operation(op).unwrap().input.unwrap();
        let got = problems(shape, &input);
        assert_eq!(got, expected, "{op} {input}");
    }

    #[test]
    fn every_model_pattern_compiles() {
        for (idx, shape) in SHAPES.iter().enumerate() {
            if let Kind::String {
                pattern: Some(p), ..
            } = shape.kind
            {
                pattern_of(ShapeId(idx as u16), p);
            }
        }
    }

    #[test]
    fn inputs_are_checked_against_the_model() {
        check_input("CreateChannel", json!({}), &[]);
        check_input(
            "CreateChannel",
            json!({"name": "x".repeat(129)}),
            &["name: 129 characters, at most 128"],
        );
        check_input(
            "CreateChannel",
            json!({"name": "has space"}),
            &[r#"name: "has space" does not match the pattern [a-zA-Z0-9-_]*"#],
        );
        check_input(
            "CreateChannel",
            json!({"latencyMode": "FAST", "authorized": "yes"}),
            &[
                "authorized: expected a boolean, got a string",
                r#"latencyMode: "FAST" is not one of NORMAL, LOW"#,
            ],
        );
        check_input("GetChannel", json!({}), &["arn: required, but missing"]);
        check_input(
            "GetChannel",
            json!({"arn": "nope"}),
            &[
                r#"arn: "nope" does not match the pattern arn:aws:ivs:[a-z0-9-]+:[0-9]+:channel/[a-zA-Z0-9-]+"#,
            ],
        );
        check_input(
            "ListChannels",
            json!({"maxResults": 101}),
            &["maxResults: 101 is outside 1–100"],
        );
        check_input(
            "CreateChannel",
            json!({"tags": {"": "v"}}),
            &[r#"tags key "": 0 characters, at least 1"#],
        );
        // The model's tag ARN pattern matches no real ARN, so it is not applied.
        check_input(
            "ListTagsForResource",
            json!({"resourceArn": "arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh"}),
            &[],
        );
        check_input(
            "CreatePlaybackRestrictionPolicy",
            json!({"allowedCountries": ["USA"]}),
            &["allowedCountries[0]: 3 characters, at most 2"],
        );
    }
}
