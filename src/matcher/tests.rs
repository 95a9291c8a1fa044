//! Unit tests of the index: sequences, levels, scopes, near-miss reports and use counts.

use super::*;
use crate::cassette::{Interaction, Provenance, ProvenanceKind, RecordedResponse};
use serde_json::json;

fn request(op: &str, body: Value) -> RecordedRequest {
    RecordedRequest {
        service: Default::default(),
        method: "POST".into(),
        path: format!("/{op}"),
        query: BTreeMap::new(),
        region: "us-west-2".into(),
        headers: BTreeMap::new(),
        body: Some(body),
    }
}

#[test]
fn a_comparison_visits_a_bounded_number_of_nodes() {
    // Regression, issue 11 §4: a body of 60,000 keys was compared key by key with every
    // recorded interaction of its operation.
    let matching = crate::cassette::Matching::default();
    let recorded = normalize::request(&request("GetChannel", json!({"arn": "a"})), &matching);
    let wide: serde_json::Map<String, Value> = (0..60_000)
        .map(|i| (format!("k{i:05}"), json!(i)))
        .collect();
    let got = normalize::request(&request("GetChannel", Value::Object(wide)), &matching);
    let diffs = differences(&recorded, &got);
    assert_eq!(diffs.len(), DIFFERENCE_LIMIT);
    assert_eq!(diffs[0], "body.arn: recorded \"a\", got nothing");
}

fn cassette(name: &str, interactions: &[(RecordedRequest, u16)]) -> Cassette {
    let mut c = Cassette::new(
        name,
        Provenance {
            kind: ProvenanceKind::Authored,
            source: "test".into(),
            model: None,
            recorded_on: None,
        },
    );
    c.interactions = interactions
        .iter()
        .map(|(req, status)| Interaction {
            request: req.clone(),
            response: RecordedResponse {
                status: *status,
                headers: BTreeMap::new(),
                body: None,
                body_text: None,
            },
        })
        .collect();
    c
}

fn get(arn: &str) -> RecordedRequest {
    request("GetChannel", json!({ "arn": arn }))
}

#[test]
fn identical_requests_replay_in_recorded_order_then_repeat_the_last() {
    let c = cassette(
        "flow",
        &[
            (get("a"), 200),
            (request("DeleteChannel", json!({"arn": "a"})), 204),
            (get("a"), 404),
        ],
    );
    let index = Index::build(&[c], MatchLevel::Exact, SequenceEnd::RepeatLast);
    let served: Vec<usize> = (0..3)
        .map(|_| {
            index
                .lookup(&get("a"), None, Fallback::AsLevelAllows)
                .unwrap()
                .entry_idx
        })
        .collect();
    assert_eq!(served, [0, 2, 2]);
}

#[test]
fn strict_sequence_refuses_an_extra_request() {
    let c = cassette("flow", &[(get("a"), 200)]);
    let index = Index::build(&[c], MatchLevel::Exact, SequenceEnd::Strict);
    assert!(index
        .lookup(&get("a"), None, Fallback::AsLevelAllows)
        .is_ok());
    let miss = index
        .lookup(&get("a"), None, Fallback::AsLevelAllows)
        .unwrap_err();
    assert_eq!(
        index.explain(&get("a"), None, &miss),
        "GetChannel: no recorded interaction left: all 1 recorded answers to this request were used and --strict-sequence is on"
    );
}

#[test]
fn miss_names_the_nearest_interaction_and_first_difference() {
    let c = cassette(
        "flow",
        &[
            (get("arn:aws:ivs:us-west-2:1:channel/abcd"), 200),
            (request("ListChannels", json!({})), 200),
        ],
    );
    let index = Index::build(&[c], MatchLevel::Exact, SequenceEnd::RepeatLast);
    let asked = get("arn:aws:ivs:us-west-2:1:channel/xyz");
    let miss = index
        .lookup(&asked, None, Fallback::AsLevelAllows)
        .unwrap_err();
    assert_eq!(
        index.explain(&asked, None, &miss),
        "GetChannel: no recorded interaction for POST /GetChannel in us-west-2 with body {\"arn\":\"arn:aws:ivs:us-west-2:1:channel/xyz\"}; \
         nearest is flow #0 (GetChannel), which differs at body.arn: recorded \"arn:aws:ivs:us-west-2:1:channel/abcd\", got \"arn:aws:ivs:us-west-2:1:channel/xyz\""
    );
}

#[test]
fn operation_level_answers_with_the_first_success_of_the_operation() {
    let c = cassette("flow", &[(get("missing"), 404), (get("a"), 200)]);
    let index = Index::build(&[c], MatchLevel::Operation, SequenceEnd::RepeatLast);
    let hit = index
        .lookup(&get("other"), None, Fallback::AsLevelAllows)
        .unwrap();
    assert_eq!(
        hit,
        Hit {
            entry_idx: 1,
            by_operation: true
        }
    );
    let exact = index
        .lookup(&get("missing"), None, Fallback::AsLevelAllows)
        .unwrap();
    assert_eq!(
        exact,
        Hit {
            entry_idx: 0,
            by_operation: false
        }
    );
    assert!(index
        .lookup(
            &request("ListStreams", json!({})),
            None,
            Fallback::AsLevelAllows
        )
        .is_err());
    // Exact only, when asked: no answer by operation.
    assert!(index
        .lookup(&get("another"), None, Fallback::ExactOnly)
        .is_err());
}

#[test]
fn a_cassette_selected_by_name_keeps_its_own_sequence() {
    let a = cassette("a", &[(get("x"), 200)]);
    let b = cassette("b", &[(get("x"), 404)]);
    let index = Index::build(&[a, b], MatchLevel::Exact, SequenceEnd::RepeatLast);
    let b_idx = index.cassette_idx("b").unwrap();
    assert_eq!(
        index
            .lookup(&get("x"), Some(b_idx), Fallback::AsLevelAllows)
            .unwrap()
            .entry_idx,
        1
    );
    assert_eq!(
        index
            .lookup(&get("x"), None, Fallback::AsLevelAllows)
            .unwrap()
            .entry_idx,
        0
    );
}

#[test]
fn usage_counts_matches_and_unused_interactions() {
    let c = cassette(
        "flow",
        &[(get("a"), 200), (request("ListChannels", json!({})), 200)],
    );
    let index = Index::build(&[c], MatchLevel::Exact, SequenceEnd::RepeatLast);
    index
        .lookup(&get("a"), None, Fallback::AsLevelAllows)
        .unwrap();
    index
        .lookup(&get("a"), None, Fallback::AsLevelAllows)
        .unwrap();
    let usage = index.usage();
    assert_eq!(usage["GetChannel"], (2, vec![]));
    assert_eq!(usage["ListChannels"], (0, vec![1]));
}
#[test]
fn a_sequence_and_its_key_fill_half_a_cache_line() {
    // What the hit path reads of the index is one slot: keep it from straddling two lines.
    assert_eq!(std::mem::size_of::<(normalize::MatchKey, Sequence)>(), 32);
}

proptest::proptest! {
    /// The use counts worked out from the sequences equal the answers each entry gave,
    /// whatever the mix of repeated requests, scopes, levels, strictness and rewinds.
    #[test]
    fn derived_use_counts_equal_the_answers_given(
        recorded in proptest::collection::vec((0u8..4, 0usize..2), 1..12),
        asked in proptest::collection::vec((0u8..6, 0usize..3, proptest::bool::ANY), 0..40),
        strict in proptest::bool::ANY,
        by_operation in proptest::bool::ANY,
        rewind_at in proptest::option::of(0usize..40),
    ) {
        let arn = |i: u8| format!("arn:aws:ivs:us-west-2:1:channel/{i}");
        let mut interactions: [Vec<(RecordedRequest, u16)>; 2] = Default::default();
        for (i, (arn_no, cassette)) in recorded.iter().enumerate() {
            let status = if i % 3 == 2 { 404 } else { 200 };
            interactions[*cassette].push((get(&arn(*arn_no)), status));
        }
        let cassettes: Vec<Cassette> = interactions
            .iter()
            .enumerate()
            .filter(|(_, list)| !list.is_empty())
            .map(|(n, list)| cassette(&format!("c{n}"), list))
            .collect();
        let index = Index::build(
            &cassettes,
            if by_operation { MatchLevel::Operation } else { MatchLevel::Exact },
            if strict { SequenceEnd::Strict } else { SequenceEnd::RepeatLast },
        );
        let mut counted = vec![0u64; index.entries.len()];
        for (n, (arn_no, scope, exact_only)) in asked.iter().enumerate() {
            if rewind_at == Some(n) {
                index.rewind();
                counted.iter_mut().for_each(|c| *c = 0);
            }
            let cassette = (*scope < cassettes.len()).then_some(*scope).filter(|_| *scope < 2);
            let fallback = if *exact_only { Fallback::ExactOnly } else { Fallback::AsLevelAllows };
            if let Ok(hit) = index.lookup(&get(&arn(*arn_no)), cassette, fallback) {
                counted[hit.entry_idx] += 1;
            }
        }
        proptest::prop_assert_eq!(index.uses(), counted);
    }
}

/// A stream key of the real shape: `sk_<region>_<the key's 12-character id>_<secret>`.
fn real_stream_key() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::strategy::Strategy;
    (
        proptest::sample::select(vec!["us-west-2", "eu-central-1", "ap-south-1"]),
        "[a-zA-Z0-9]{12}",
        "[a-zA-Z0-9]{20,32}",
    )
        .prop_map(|(region, id, secret)| format!("sk_{region}_{id}_{secret}"))
}

proptest::proptest! {
    /// Finding 3 of the security issue: a near-miss report kept a stream key's secret half (the
    /// key was taken to end at the `_` after its id). Whatever surrounds a real-shape key in a
    /// tag value, asked or recorded, and wherever the preview's length limit cuts, no piece of
    /// its secret half is in the report.
    #[test]
    fn a_near_miss_report_holds_no_piece_of_a_stream_key(
        asked_key in real_stream_key(),
        recorded_key in real_stream_key(),
        before in "\\PC{0,8}",
        after in "\\PC{0,8}",
        filler in 0usize..400,
    ) {
        let tag = |key: &str| format!("{}{before}{key}{after}", "f".repeat(filler));
        let c = cassette(
            "flow",
            &[(request("TagResource", json!({"resourceArn": "a", "tags": {"t": tag(&recorded_key)}})), 200)],
        );
        let index = Index::build(&[c], MatchLevel::Exact, SequenceEnd::RepeatLast);
        let asked = request("TagResource", json!({"resourceArn": "a", "tags": {"t": tag(&asked_key)}}));
        let miss = index.lookup(&asked, None, Fallback::AsLevelAllows).unwrap_err();
        let report = index.explain(&asked, None, &miss);
        proptest::prop_assert!(report.contains("differs at body.tags.t"), "{report}");
        for key in [&asked_key, &recorded_key] {
            let half = key.rsplit('_').next().unwrap();
            for piece in half.as_bytes().windows(6) {
                let piece = std::str::from_utf8(piece).unwrap();
                proptest::prop_assert!(
                    !report.contains(piece) || before.contains(piece) || after.contains(piece),
                    "`{piece}` of {key} in:\n{report}"
                );
            }
        }
    }
}
