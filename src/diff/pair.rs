//! Pairing: interactions grouped by operation, then paired in three passes (the same
//! fingerprint, the same masked request, then order; see the module doc of `diff`).
//!
//! An operation of another service than IVS is named with its service (`ivschat:CreateRoom`), so
//! drift is reported per service and the tag operations every service shares never mix.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::mask::masked_request;
use super::Entry;
use crate::cassette::Cassette;
use crate::normalize;

pub(super) fn entries_by_operation(
    side: &[(PathBuf, Cassette)],
) -> BTreeMap<String, Vec<Entry<'_>>> {
    let mut ops: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    for (file, cassette) in side {
        for (interaction_idx, interaction) in cassette.interactions.iter().enumerate() {
            let normalized = normalize::request(&interaction.request, &cassette.matching);
            let masked = masked_request(&normalized);
            let operation = match normalized.service {
                crate::ivs::Service::Ivs => normalized.operation.clone(),
                service => format!("{}:{}", service.id(), normalized.operation),
            };
            ops.entry(operation).or_default().push(Entry {
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
pub(super) fn pair(old: &[Entry], new: &[Entry]) -> Vec<(usize, usize)> {
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use serde_json::json;

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
}
