//! Snapshot and restore on the in-process emulator: a property test that a restored emulator is
//! the one snapshotted (same state, same next answer), and the refusals that change nothing.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::super::{Answer, Emulator, EmulatorLimits, EmulatorOptions};
use crate::cassette::RecordedRequest;

const OTHER: &str = "111111111111";

fn request(path: &str, body: Value, region: &str) -> RecordedRequest {
    RecordedRequest {
        service: Default::default(),
        method: "POST".into(),
        path: path.into(),
        query: Default::default(),
        region: region.into(),
        headers: Default::default(),
        body: Some(body),
    }
}

fn call(e: &Emulator, account: Option<&str>, op: &str, body: Value) -> Answer {
    e.answer(&request(&format!("/{op}"), body, "us-west-2"), account)
        .expect("an IVS operation")
}

fn json_of(answer: &Answer) -> Value {
    answer
        .body
        .as_ref()
        .map(|b| serde_json::from_slice(b).unwrap())
        .unwrap_or(Value::Null)
}

/// What a snapshot says of the state, without the time it was taken.
fn state_of(e: &Emulator, account: Option<&str>) -> Value {
    let mut doc = e.snapshot(account);
    doc.as_object_mut().unwrap().remove("clock");
    doc
}

/// One operation of the property test, on the channel at `idx` (modulo those made).
#[derive(Debug, Clone)]
enum Op {
    Create { other_account: bool, low: bool },
    Update { idx: usize, low: bool },
    Delete { idx: usize },
    Tag { idx: usize, key: u8 },
    Key { idx: usize },
    Start { idx: usize },
    Stop { idx: usize },
    Room,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<bool>(), any::<bool>()).prop_map(|(other_account, low)| Op::Create { other_account, low }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(idx, low)| Op::Update { idx, low }),
        1 => any::<usize>().prop_map(|idx| Op::Delete { idx }),
        1 => (any::<usize>(), 0u8..4).prop_map(|(idx, key)| Op::Tag { idx, key }),
        1 => any::<usize>().prop_map(|idx| Op::Key { idx }),
        2 => any::<usize>().prop_map(|idx| Op::Start { idx }),
        1 => any::<usize>().prop_map(|idx| Op::Stop { idx }),
        1 => Just(Op::Room),
    ]
}

/// Runs `ops`; errors (a deleted channel, a stream already live) are part of the sequence.
fn run(e: &Emulator, ops: &[Op]) {
    let mut channels: Vec<(Option<&str>, String)> = Vec::new();
    let pick = |channels: &Vec<(Option<&'static str>, String)>, idx: usize| {
        (!channels.is_empty()).then(|| channels[idx % channels.len()].clone())
    };
    for op in ops {
        match op {
            Op::Create { other_account, low } => {
                let account = other_account.then_some(OTHER);
                let latency = if *low { "LOW" } else { "NORMAL" };
                let out = json_of(&call(
                    e,
                    account,
                    "CreateChannel",
                    json!({"latencyMode": latency}),
                ));
                if let Some(arn) = out.pointer("/channel/arn").and_then(Value::as_str) {
                    channels.push((account, arn.to_owned()));
                }
            }
            Op::Update { idx, low } => {
                if let Some((account, arn)) = pick(&channels, *idx) {
                    let latency = if *low { "LOW" } else { "NORMAL" };
                    call(
                        e,
                        account,
                        "UpdateChannel",
                        json!({"arn": arn, "latencyMode": latency}),
                    );
                }
            }
            Op::Delete { idx } => {
                if let Some((account, arn)) = pick(&channels, *idx) {
                    call(e, account, "DeleteChannel", json!({"arn": arn}));
                }
            }
            Op::Tag { idx, key } => {
                if let Some((account, arn)) = pick(&channels, *idx) {
                    let path = format!("/tags/{}", arn.replace(':', "%3A").replace('/', "%2F"));
                    let body = json!({"tags": {format!("k{key}"): "v"}});
                    e.answer(&request(&path, body, "us-west-2"), account);
                }
            }
            Op::Key { idx } => {
                if let Some((account, arn)) = pick(&channels, *idx) {
                    call(e, account, "CreateStreamKey", json!({"channelArn": arn}));
                }
            }
            Op::Start { idx } => {
                if let Some((_, arn)) = pick(&channels, *idx) {
                    let _ = e.start_stream(&arn, None, 3);
                }
            }
            Op::Stop { idx } => {
                if let Some((_, arn)) = pick(&channels, *idx) {
                    let _ = e.stop_stream(&arn);
                }
            }
            Op::Room => {
                let req = RecordedRequest {
                    service: crate::ivs::Service::IvsChat,
                    ..request("/CreateRoom", json!({"name": "r"}), "us-west-2")
                };
                e.answer(&req, None);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Snapshot, restore into a fresh emulator: the same state, and the same next answer.
    #[test]
    fn a_restored_emulator_is_the_one_snapshotted(ops in proptest::collection::vec(op(), 0..24)) {
        let original = Emulator::new(EmulatorOptions::default());
        run(&original, &ops);
        let doc = original.snapshot(None);
        let restored = Emulator::new(EmulatorOptions::default());
        restored.restore(doc).unwrap();
        prop_assert_eq!(state_of(&restored, None), state_of(&original, None));
        for account in [None, Some(OTHER)] {
            let next = json!({"name": "next", "tags": {"a": "b"}});
            let a = json_of(&call(&original, account, "CreateChannel", next.clone()));
            let b = json_of(&call(&restored, account, "CreateChannel", next));
            prop_assert_eq!(a, b);
        }
        prop_assert_eq!(state_of(&restored, None), state_of(&original, None));
    }
}

/// An emulator with two accounts' channels, a key and a live stream.
fn busy() -> (Emulator, String) {
    let e = Emulator::new(EmulatorOptions {
        limits: EmulatorLimits {
            max_accounts: 2,
            ..EmulatorLimits::default()
        },
        ..EmulatorOptions::default()
    });
    let arn = json_of(&call(&e, None, "CreateChannel", json!({"name": "a"})))["channel"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    call(&e, Some(OTHER), "CreateChannel", json!({"name": "b"}));
    e.start_stream(&arn, None, 1).unwrap();
    (e, arn)
}

#[test]
fn a_refused_document_changes_nothing_and_says_why() {
    let (e, _) = busy();
    let before = state_of(&e, None);
    let good = e.snapshot(None);
    let with = |pointer: &str, value: Value| {
        let mut doc = good.clone();
        *doc.pointer_mut(pointer).unwrap() = value;
        doc
    };
    let mut three = good.clone();
    let accounts = three
        .pointer_mut("/world/accounts")
        .unwrap()
        .as_object_mut()
        .unwrap();
    let copy = accounts[OTHER].clone();
    accounts.insert("222222222222".into(), copy);
    let cases = [
        (json!([1, 2]), "`format` must be `ivs-vcr/state`"),
        (
            with("/format", json!("other")),
            "`format` must be `ivs-vcr/state`",
        ),
        (
            with("/version", json!(2)),
            "version 2 is newer than this ivs-vcr reads (version 1)",
        ),
        (
            with("/version", json!("1")),
            "`version` must be a whole number",
        ),
        (with("/scope", json!("some")), "`scope` must be `all`"),
        (
            three,
            "3 accounts, over the emulator's limit of 2 (`--max-accounts`)",
        ),
        (
            with(&format!("/world/accounts/{OTHER}/ids"), json!(7)),
            "`world` is not an ivs-vcr state of version 1",
        ),
        (
            with(
                &format!("/world/accounts/{OTHER}/regions/us-west-2/stores/channel"),
                json!({"x": 1}),
            ),
            "is not a JSON object",
        ),
        (
            with(
                &format!("/world/accounts/{OTHER}/regions/us-west-2/stores"),
                json!({"widget": {}}),
            ),
            "`widget` is no resource type",
        ),
        (
            with(
                &format!("/world/accounts/{OTHER}/regions/us-west-2"),
                json!({"extra": 1}),
            ),
            "unknown field `extra`",
        ),
        (
            with("/clock/epochMillis", json!(u64::MAX)),
            "ten years ahead",
        ),
    ];
    for (doc, expected) in cases {
        let err = e.restore(doc).unwrap_err().to_string();
        assert!(err.contains(expected), "{err:?} should say {expected:?}");
        assert_eq!(state_of(&e, None), before, "after {expected:?}");
    }
}

#[test]
fn a_one_account_document_replaces_that_account_alone() {
    let (e, _) = busy();
    let other_before = e.snapshot(Some(OTHER));
    let default_before = state_of(&e, Some(super::super::DEFAULT_ACCOUNT));
    call(&e, Some(OTHER), "CreateChannel", json!({"name": "later"}));
    let done = e.restore(other_before.clone()).unwrap();
    assert_eq!(done["scope"], "account");
    assert_eq!(done["accounts"], json!([OTHER]));
    let mut other_after = e.snapshot(Some(OTHER));
    other_after.as_object_mut().unwrap().remove("clock");
    let mut expected = other_before;
    expected.as_object_mut().unwrap().remove("clock");
    assert_eq!(other_after, expected);
    assert_eq!(
        state_of(&e, Some(super::super::DEFAULT_ACCOUNT)),
        default_before
    );
}

#[test]
fn a_stream_an_encoder_fed_ends_on_restore_and_a_control_plane_one_stays() {
    let (e, control_arn) = busy();
    let fed = json_of(&call(&e, None, "CreateChannel", json!({"name": "fed"})))["channel"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    e.start_ingest(&fed, std::sync::Arc::default()).unwrap();
    let doc = e.snapshot(None);
    let restored = Emulator::new(EmulatorOptions::default());
    let done = restored.restore(doc).unwrap();
    assert_eq!(done["streamsEnded"], json!([fed]));
    let live = |arn: &str| call(&restored, None, "GetStream", json!({"channelArn": arn})).status;
    assert_eq!(live(&control_arn), 200);
    assert_eq!(live(&fed), 404);
}

#[test]
fn the_document_never_carries_the_signing_key_and_keeps_the_readable_view() {
    let (e, arn) = busy();
    let doc = e.snapshot(None);
    let text = doc.to_string();
    assert!(!text.contains("signingKey") && !text.contains("PRIVATE"));
    assert_eq!(doc["regions"]["us-west-2"]["channel"][0]["arn"], json!(arn));
    assert_eq!(
        doc["regions"]["us-west-2"]["live"][0]["channelArn"],
        json!(arn)
    );
    assert!(doc["accounts"][OTHER]["regions"]["us-west-2"]["channel"].is_array());
    assert_eq!(
        super::world_of(&doc)["accounts"].as_object().unwrap().len(),
        2
    );
}
