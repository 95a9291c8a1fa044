//! Fuzz target for record's redaction: a secret that travels at its own member (a stream key
//! value) and is echoed anywhere in an arbitrary answer never reaches the written cassette.
//!
//! The input is split on the first newline: the secret's tail (alphanumeric characters are kept,
//! at least 8 of them), then a JSON answer. The secret `sk_us-west-2_<tail>` is planted in every
//! string of the answer and at `streamKey.value`; after `redact::exchange` the cassette's YAML
//! must not hold it (the pre-write scan may refuse other text that looks secret; record then
//! writes nothing).

#![no_main]

use std::collections::BTreeMap;

use ivs_vcr::__private::redact;
use ivs_vcr::cassette::{Cassette, Interaction, Provenance, ProvenanceKind};
use ivs_vcr::{RecordedRequest, RecordedResponse};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn plant(value: &mut Value, secret: &str) {
    match value {
        Value::String(s) => s.push_str(secret),
        Value::Array(items) => items.iter_mut().for_each(|v| plant(v, secret)),
        Value::Object(map) => map.values_mut().for_each(|v| plant(v, secret)),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |&b| b == b'\n');
    let tail: String = String::from_utf8_lossy(parts.next().unwrap_or_default())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if tail.len() < 8 {
        return;
    }
    let Ok(mut answer) = serde_json::from_slice::<Value>(parts.next().unwrap_or_default()) else {
        return;
    };
    let secret = format!("sk_us-west-2_{tail}");
    plant(&mut answer, &secret);
    let body = serde_json::json!({"answer": answer, "streamKey": {"value": secret}});
    let mut request = RecordedRequest {
        service: Default::default(),
        method: "POST".into(),
        path: "/GetStreamKey".into(),
        query: BTreeMap::new(),
        region: "us-west-2".into(),
        headers: BTreeMap::new(),
        body: Some(serde_json::json!({})),
    };
    let mut response = RecordedResponse {
        status: 200,
        headers: BTreeMap::new(),
        body: Some(body),
        body_text: None,
    };
    redact::exchange(&mut request, &mut response, false);
    let mut cassette = Cassette::new(
        "fuzz",
        Provenance {
            kind: ProvenanceKind::Recorded,
            source: "fuzz".into(),
            model: None,
            recorded_on: None,
        },
    );
    cassette.interactions.push(Interaction { request, response });
    // The secret is gone from what would be written. The pre-write scan may still flag other
    // text that merely looks secret (a run of 40 base64 characters in the answer): record then
    // refuses to write at all, which keeps secrets out too.
    assert!(!cassette.to_yaml().contains(&secret), "a secret reached the cassette");
});
