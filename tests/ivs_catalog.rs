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
fn secret_members_are_the_models_sensitive_strings() {
    // Every string shape the model marks sensitive must be covered by SECRET_BODY_PATHS, by the
    // member name that holds it.
    let model = model();
    let shapes = model["shapes"].as_object().unwrap();
    let sensitive: BTreeSet<&str> = shapes
        .iter()
        .filter(|(_, s)| s["sensitive"].as_bool() == Some(true))
        .map(|(name, _)| name.as_str())
        .collect();
    let mut members = BTreeSet::new();
    for shape in shapes.values() {
        for (member, spec) in shape["members"].as_object().into_iter().flatten() {
            if sensitive.contains(spec["shape"].as_str().unwrap_or_default()) {
                members.insert(member.as_str());
            }
        }
    }
    assert_eq!(
        members,
        BTreeSet::from(["metadata", "passphrase", "value"]),
        "the model's sensitive members changed: review SECRET_BODY_PATHS"
    );
    let covered: BTreeSet<&str> = ivs::SECRET_BODY_PATHS
        .iter()
        .map(|p| p.rsplit('.').next().unwrap())
        .collect();
    let missing: Vec<_> = members.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "sensitive members not redacted: {missing:?} (sensitive shapes: {sensitive:?})"
    );
}
