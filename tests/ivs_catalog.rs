//! The IVS catalog in `src/ivs.rs` against AWS's own service model (tests/data/ivs-model-current.json).

use std::collections::BTreeSet;

use ivs_vcr::ivs::{self, ErrorType, Route};
use serde_json::Value;

fn model() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/ivs-model-current.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_operation_matches_the_model() {
    let model = model();
    let operations = model["operations"].as_object().unwrap();
    let in_model: BTreeSet<&str> = operations.keys().map(String::as_str).collect();
    let in_catalog: BTreeSet<&str> = ivs::OPERATIONS.iter().map(|op| op.name).collect();
    assert_eq!(in_catalog, in_model);

    let mut wrong = Vec::new();
    for op in ivs::OPERATIONS {
        let spec = &operations[op.name];
        let http = &spec["http"];
        let method = http["method"].as_str().unwrap();
        let uri = http["requestUri"].as_str().unwrap();
        let status = http["responseCode"].as_u64().unwrap_or(200);
        let route = if uri.starts_with("/tags/") {
            Route::Tags
        } else {
            Route::Post
        };
        let errors: BTreeSet<&str> = spec["errors"]
            .as_array()
            .map(|e| e.iter().map(|e| e["shape"].as_str().unwrap()).collect())
            .unwrap_or_default();
        let catalog_errors: BTreeSet<&str> = op.errors.iter().map(|e| e.name()).collect();
        if op.method != method
            || op.route != route
            || u64::from(op.success_status) != status
            || catalog_errors != errors
        {
            wrong.push(format!(
                "{}: catalog {} {:?} {} {:?}, model {method} {uri} {status} {errors:?}",
                op.name, op.method, op.route, op.success_status, catalog_errors
            ));
        }
        if op.route == Route::Post {
            assert_eq!(uri, format!("/{}", op.name), "{}", op.name);
        }
    }
    assert!(
        wrong.is_empty(),
        "catalog differs from the model:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_error_status_matches_the_model() {
    let model = model();
    for error in ErrorType::ALL {
        let shape = &model["shapes"][error.name()];
        assert_eq!(
            shape["error"]["httpStatusCode"].as_u64(),
            Some(u64::from(error.status())),
            "{}",
            error.name()
        );
    }
}

#[test]
fn secret_paths_are_every_path_to_a_sensitive_member_in_the_model() {
    // Walk every operation's input and output shapes, as a body nests them (lists and maps as
    // `*`), and collect the full path of every value whose shape the model marks sensitive.
    // Regression: GetStreamSession's `streamSession.channel.srt.passphrase` was missing, and a
    // test comparing member names only could not see it.
    let model = model();
    let shapes = model["shapes"].as_object().unwrap();
    fn walk(
        shapes: &serde_json::Map<String, Value>,
        shape: &str,
        path: &mut Vec<String>,
        out: &mut BTreeSet<String>,
    ) {
        let spec = &shapes[shape];
        if spec["sensitive"].as_bool() == Some(true) {
            out.insert(path.join("."));
            return;
        }
        if path.len() > 8 {
            return;
        }
        match spec["type"].as_str() {
            Some("structure") => {
                for (member, m) in spec["members"].as_object().into_iter().flatten() {
                    if m["location"].is_string() {
                        continue; // headers, URI labels and query strings are not body members
                    }
                    path.push(member.clone());
                    walk(shapes, m["shape"].as_str().unwrap(), path, out);
                    path.pop();
                }
            }
            Some("list") => {
                path.push("*".into());
                walk(shapes, spec["member"]["shape"].as_str().unwrap(), path, out);
                path.pop();
            }
            Some("map") => {
                path.push("*".into());
                walk(shapes, spec["value"]["shape"].as_str().unwrap(), path, out);
                path.pop();
            }
            _ => {}
        }
    }
    let mut in_model = BTreeSet::new();
    for op in model["operations"].as_object().unwrap().values() {
        for side in ["input", "output"] {
            if let Some(shape) = op[side]["shape"].as_str() {
                walk(shapes, shape, &mut Vec::new(), &mut in_model);
            }
        }
    }
    assert!(
        !in_model.is_empty(),
        "the walk found no sensitive member at all"
    );
    let listed: BTreeSet<String> = ivs::SECRET_BODY_PATHS
        .iter()
        .map(|p| p.to_string())
        .collect();
    let missing: Vec<_> = in_model.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "sensitive paths not redacted: {missing:?}"
    );
}
