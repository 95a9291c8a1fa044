//! The scan that runs before any write: every string of a cassette (paths, queries, headers,
//! bodies) looked at for AWS access key ids, secret-looking keys, session tokens, SigV4
//! signatures, stream keys, participant and chat tokens (by their shape, see `shape`) and
//! private keys; each finding says where, never what.

use std::fmt;

use serde_json::Value;

use super::{has_private_key, is_placeholder, shape};
use crate::cassette::{Cassette, Interaction};

/// What kind of secret the scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretKind {
    /// An AWS access key id (`AKIA…`, `ASIA…`).
    AccessKeyId,
    /// 40 base64 characters under a key-ish name, like an AWS secret access key.
    SecretKey,
    /// An STS session token, or a header that carries one.
    SessionToken,
    /// A SigV4 signature or `Authorization` header.
    Signature,
    /// A private key (PEM, SSH2 or PuTTY).
    PrivateKey,
    /// An IVS stream key (`sk_<region>_…`), or a Real-Time ingest one (`rt_<account>_<region>_…`).
    StreamKey,
    /// A JWT (`eyJ…`), such as an IVS Real-Time participant token.
    ParticipantToken,
    /// An IVS Chat token (KMS ciphertext, `AQICAH…`).
    ChatToken,
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretKind::AccessKeyId => "an AWS access key id",
            SecretKind::SecretKey => "a secret-looking key",
            SecretKind::SessionToken => "a session token",
            SecretKind::Signature => "a SigV4 signature",
            SecretKind::PrivateKey => "a private key",
            SecretKind::StreamKey => "an IVS stream key",
            SecretKind::ParticipantToken => "a JWT (a participant token)",
            SecretKind::ChatToken => "an IVS Chat token",
        })
    }
}

/// One secret-looking value, located without repeating it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The 0-based interaction.
    pub interaction_idx: usize,
    /// Where in the interaction: `response.body.streamKey.value`, `request.headers.authorization`.
    pub location: String,
    /// What it looks like.
    pub kind: SecretKind,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "interaction {}: {} at `{}`",
            self.interaction_idx, self.kind, self.location
        )
    }
}

/// Every secret-looking value in a cassette, in interaction order.
pub fn scan(cassette: &Cassette) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (idx, interaction) in cassette.interactions.iter().enumerate() {
        findings.extend(scan_interaction(idx, interaction));
    }
    findings
}

/// Every secret-looking value in one interaction, numbered `interaction_idx`.
pub fn scan_interaction(interaction_idx: usize, interaction: &Interaction) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut report = |location: String, kind| {
        out.push(Finding {
            interaction_idx,
            location,
            kind,
        })
    };
    let req = &interaction.request;
    scan_str("request.path", "path", &req.path, &mut report);
    for (key, values) in &req.query {
        for (i, v) in values.iter().enumerate() {
            scan_str(&format!("request.query.{key}[{i}]"), key, v, &mut report);
        }
    }
    for (name, value) in &req.headers {
        let location = format!("request.headers.{name}");
        match name.to_ascii_lowercase().as_str() {
            "authorization" => report(location, SecretKind::Signature),
            "x-amz-security-token" => report(location, SecretKind::SessionToken),
            _ => scan_str(&location, name, value, &mut report),
        }
    }
    if let Some(body) = &req.body {
        scan_json("request.body", "body", body, &mut report);
    }
    let res = &interaction.response;
    for (name, value) in &res.headers {
        scan_str(
            &format!("response.headers.{name}"),
            name,
            value,
            &mut report,
        );
    }
    if let Some(body) = &res.body {
        scan_json("response.body", "body", body, &mut report);
    }
    if let Some(text) = &res.body_text {
        scan_str("response.body_text", "body_text", text, &mut report);
    }
    out
}

pub(super) fn scan_json(
    location: &str,
    name: &str,
    value: &Value,
    report: &mut impl FnMut(String, SecretKind),
) {
    match value {
        Value::String(s) => scan_str(location, name, s, report),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                scan_json(&format!("{location}[{i}]"), name, v, report);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                scan_json(&format!("{location}.{k}"), k, v, report);
            }
        }
        _ => {}
    }
}

/// Looks at one string, `value`, found under the member or header `name`.
pub(super) fn scan_str(
    location: &str,
    name: &str,
    value: &str,
    report: &mut impl FnMut(String, SecretKind),
) {
    if is_placeholder(value) {
        return;
    }
    // A JWT placeholder's skeleton is looked at as any text: nothing may hide in it.
    if let Some(skeleton) = super::jwt::skeleton(value) {
        return scan_str(location, name, skeleton, report);
    }
    let lower_name = name.to_ascii_lowercase();
    // An SRT passphrase is random text with no recognizable shape: any value under that name is one.
    if lower_name == "passphrase" && !value.is_empty() {
        report(location.to_owned(), SecretKind::SecretKey);
    }
    if has_access_key_id(value) {
        report(location.to_owned(), SecretKind::AccessKeyId);
    }
    if has_private_key(value) {
        report(location.to_owned(), SecretKind::PrivateKey);
    }
    // A Real-Time ingest configuration's `streamKey` is a string (IVS's own is an object), of
    // any shape.
    let key_member = lower_name == "streamkey" && !value.is_empty();
    let found = shape::find(value, !shape::is_pagination_member(name));
    for kind in [
        SecretKind::StreamKey,
        SecretKind::ParticipantToken,
        SecretKind::ChatToken,
    ] {
        let by_member = key_member && kind == SecretKind::StreamKey;
        if by_member || found.iter().any(|f| f.kind == kind) {
            report(location.to_owned(), kind);
        }
    }
    if value.contains("AWS4-HMAC-SHA256")
        || value.contains("X-Amz-Signature=")
        || signature_after(value, "Signature=")
    {
        report(location.to_owned(), SecretKind::Signature);
    }
    let token_name = [
        "sessiontoken",
        "session-token",
        "session_token",
        "securitytoken",
        "security-token",
    ]
    .iter()
    .any(|t| lower_name.contains(t));
    // STS tokens are base64 of a protobuf-like blob that starts the same way every time.
    let token_value = ["FQoGZXIvYXdz", "IQoJb3JpZ2lu"]
        .iter()
        .any(|p| value.contains(p));
    if token_value || (token_name && !value.is_empty()) {
        report(location.to_owned(), SecretKind::SessionToken);
    }
    let key_name = ["secret", "password", "credential"]
        .iter()
        .any(|k| lower_name.contains(k))
        || lower_name.ends_with("key");
    if key_name && has_base64_run_of_40(value) {
        report(location.to_owned(), SecretKind::SecretKey);
    }
}

fn has_access_key_id(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.windows(20).enumerate().any(|(i, w)| {
        (w.starts_with(b"AKIA") || w.starts_with(b"ASIA"))
            && w[4..]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && !bytes.get(i + 20).is_some_and(u8::is_ascii_alphanumeric)
            && !(i > 0 && bytes[i - 1].is_ascii_alphanumeric())
    })
}

fn signature_after(value: &str, marker: &str) -> bool {
    value.match_indices(marker).any(|(at, _)| {
        let hex = &value[at + marker.len()..];
        hex.len() >= 64 && hex.as_bytes()[..64].iter().all(u8::is_ascii_hexdigit)
    })
}

fn has_base64_run_of_40(value: &str) -> bool {
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'/' || b == b'+';
    value
        .as_bytes()
        .split(|b| !is_b64(*b))
        .any(|run| run.len() == 40)
}
