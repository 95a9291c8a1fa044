//! Masking what changes on every recording (ids, the account and resource id of ARNs,
//! timestamps, UUIDs, redaction placeholders), for pairing requests and comparing values.

use serde_json::{json, Value};

use crate::ivs::arn;
use crate::normalize;

/// Members whose values change on every recording, besides those the suffix rules of
/// [`is_volatile_key`] catch. A stage's `whip`, `rtmp` and `rtmps` endpoints embed the account's
/// host prefix (`emulator::resource::endpoint_prefix`), as channels' `ingestEndpoint` does.
pub(super) const VOLATILE_KEYS: &[&str] = &[
    "value",
    "passphrase",
    "viewerCount",
    "fingerprint",
    "whip",
    "rtmp",
    "rtmps",
];

pub(super) fn masked_request(n: &normalize::Normalized) -> String {
    let query: serde_json::Map<String, Value> = n
        .query
        .iter()
        .map(|(k, values)| {
            let values = values.iter().map(|v| mask_string(Some(k), v)).collect();
            (k.clone(), Value::Array(values))
        })
        .collect();
    let masked = json!({
        "method": n.method,
        "path": mask_text(&n.path),
        "query": query,
        "region": n.region,
        "body": n.body.as_ref().map(|body| mask_value(None, body)),
    });
    normalize::canonical_json(&masked)
}

/// A value with everything that changes on every recording replaced by a placeholder.
pub(super) fn mask_value(key: Option<&str>, value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), mask_value(Some(k), v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| mask_value(key, v)).collect()),
        Value::String(s) => mask_string(key, s),
        Value::Number(_) if key.is_some_and(is_volatile_key) => Value::from("<volatile>"),
        other => other.clone(),
    }
}

pub(super) fn mask_string(key: Option<&str>, s: &str) -> Value {
    if key.is_some_and(is_volatile_key) {
        Value::from("<volatile>")
    } else {
        Value::from(mask_text(s))
    }
}

/// True for members named like values that change on every recording: ids, times, tokens,
/// URLs and endpoints (which embed ids), secrets and counters.
pub(super) fn is_volatile_key(key: &str) -> bool {
    key == "id"
        || ["Id", "Ids", "Time", "Token", "Url", "Endpoint"]
            .iter()
            .any(|suffix| key.ends_with(suffix))
        || key == "endpoint"
        || VOLATILE_KEYS.contains(&key)
}

/// Masks the volatile parts of a string: a timestamp or a redaction placeholder as a whole, and
/// every ARN's account and resource id and every UUID inside it.
pub(super) fn mask_text(s: &str) -> String {
    if is_timestamp(s) {
        return "<time>".to_owned();
    }
    // A secret by shape (a token or a stream key a target answered; the recording holds its
    // placeholder) is masked as the placeholder is, so it is never compared nor printed.
    if s.to_ascii_lowercase().contains("redacted")
        || matches!(crate::redact::redact_text(s), std::borrow::Cow::Owned(_))
    {
        return "<redacted>".to_owned();
    }
    mask_uuids(&arn::mask_all(s))
}

/// True for an ISO 8601 date-time (`2021-04-01T12:00:00Z`, with or without fractions or offset).
pub(super) fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 16
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b' ')
        && b[13] == b':'
}

pub(super) fn mask_uuids(s: &str) -> String {
    const LEN: usize = 36;
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let (mut idx, mut copied) = (0, 0);
    while idx + LEN <= b.len() {
        let bounded = (idx == 0 || !b[idx - 1].is_ascii_alphanumeric())
            && b.get(idx + LEN).is_none_or(|c| !c.is_ascii_alphanumeric());
        if bounded && is_uuid(&b[idx..idx + LEN]) {
            // Both ends are ASCII, so both are char boundaries.
            out.push_str(&s[copied..idx]);
            out.push_str("<uuid>");
            idx += LEN;
            copied = idx;
        } else {
            idx += 1;
        }
    }
    out.push_str(&s[copied..]);
    out
}

pub(super) fn is_uuid(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::ARN_A;
    use super::*;

    #[test]
    fn masking() {
        let check = |input: &str, expected: &str| {
            assert_eq!(mask_text(input), expected, "{input}");
        };
        check(ARN_A, "arn:aws:ivs:us-west-2:*:channel/*");
        check(
            "Resource: arn:aws:ivs:us-west-2:1:stream-key/g1H2 not found",
            "Resource: arn:aws:ivs:us-west-2:*:stream-key/* not found",
        );
        check("arn:aws:s3:::my-bucket", "arn:aws:s3:::*");
        check("learn:aws is not an arn", "learn:aws is not an arn");
        check("2021-04-01T10:00:00.123Z", "<time>");
        check("2021-04-01", "2021-04-01");
        check("id 1b044c47-7e58-454c-b38e-43a1698f593c.", "id <uuid>.");
        check("sk_us-west-2_REDACTED", "<redacted>");
        // Issue 25: what a target answers in place of a recorded placeholder.
        check(
            "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3OTY2OTM0MjN9.c2lnbmF0dXJl",
            "<redacted>",
        );
        check(
            "rt_123456789012_us-west-2_AbCdEfGh1234_secretpart0123",
            "<redacted>",
        );
        check("STANDARD", "STANDARD");
        check("wörld", "wörld");
    }
}
