//! Keeping secrets out of cassettes: placeholders for secret values, the optional account scrub,
//! and the scan that refuses to write anything that still looks secret.
//!
//! # Secret placeholders
//! The members listed in [`ivs::SECRET_BODY_PATHS`] (stream key `value`, SRT `passphrase`,
//! PutMetadata `metadata`, private key material) are replaced by
//! `ivs-vcr-redacted:<16 hex>`, the first 64 bits of HMAC-SHA256 over the value under a fixed
//! key ([`PLACEHOLDER_KEY`]). The same value always gives the same placeholder, so `normalize`
//! applies [`redact_secrets`] to every request before matching: a replayed PutMetadata carrying
//! the recorded metadata still matches, and re-recording gives the same file.
//!
//! Trade-off: the key is fixed and public, not a per-directory salt. The placeholder is there so
//! that the secret is not *stored*; it does not hide a guessable secret from someone holding the
//! cassette, who can hash candidates. Stream keys and SRT passphrases are long random strings, so
//! that is out of reach for them; low-entropy PutMetadata payloads are not protected against
//! guessing. A per-directory salt would fix that, but then a cassette copied to another directory
//! would stop matching, and replay would need the salt, which is one more secret to manage.
//!
//! # Account scrub
//! With `matching.scrub_account: true` in a cassette (`record --scrub-account`), the 12-digit
//! account of every ARN, whether written with `:` or percent-encoded as `%3A` in a `/tags/` path,
//! becomes [`ACCOUNT_PLACEHOLDER`] in what is written, and `normalize` applies the same mapping
//! to incoming requests, so a client still using real ARNs matches.
//!
//! # The scan
//! [`scan`] runs before any write. It looks at every string of a cassette (paths, queries,
//! headers, bodies) for AWS access key ids, secret-looking keys, session tokens, SigV4 signatures
//! and PEM private keys, and reports where each is without repeating the value.
//!
//! Everything here is pure: no IO, no logging.

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cassette::{Cassette, Interaction, RecordedRequest, RecordedResponse};
use crate::ivs::{self, arn};

/// What every secret placeholder starts with.
pub const REDACTED_PREFIX: &str = "ivs-vcr-redacted:";

/// The HMAC key of secret placeholders: fixed and public on purpose (see the module doc).
pub const PLACEHOLDER_KEY: &[u8] = b"ivs-vcr secret placeholder v1";

/// The account id that replaces real ones when the account scrub is on.
pub use crate::ivs::arn::ACCOUNT_PLACEHOLDER;

/// True for exactly what [`secret_placeholder`] makes: the prefix and 16 lowercase hex digits. A
/// value that merely starts with the prefix is still a value, to redact and to scan.
pub fn is_placeholder(value: &str) -> bool {
    value.strip_prefix(REDACTED_PREFIX).is_some_and(|hex| {
        hex.len() == 16
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The placeholder of a secret value: `ivs-vcr-redacted:` and 16 hex digits of its HMAC.
pub fn secret_placeholder(value: &str) -> String {
    let mac = hmac_sha256(PLACEHOLDER_KEY, value.as_bytes());
    let mut out = String::with_capacity(REDACTED_PREFIX.len() + 16);
    out.push_str(REDACTED_PREFIX);
    for b in &mac[..8] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Replaces every secret member of a request or response body with its placeholder. A value that
/// is already a placeholder is left alone, so this can run any number of times.
pub fn redact_secrets(body: &mut Value) {
    if !body.is_object() {
        return;
    }
    for path in ivs::SECRET_BODY_PATHS {
        redact_at(body, path.split('.'));
    }
}

/// Replaces every string holding private key material, wherever it sits, with its placeholder.
///
/// For text that is shown rather than matched (the unmatched-request report, which is logged): a
/// PEM key sent in the wrong member, such as ImportPlaybackKeyPair's `publicKeyMaterial`, is still
/// a secret.
pub fn redact_private_keys(value: &mut Value) {
    match value {
        Value::String(s) if s.contains("PRIVATE KEY-----") => *s = secret_placeholder(s),
        Value::Array(items) => items.iter_mut().for_each(redact_private_keys),
        Value::Object(map) => map.values_mut().for_each(redact_private_keys),
        _ => {}
    }
}

fn redact_at<'a>(value: &mut Value, mut segments: impl Iterator<Item = &'a str> + Clone) {
    let Some(first) = segments.next() else {
        if let Value::String(s) = value {
            if !is_placeholder(s) {
                *s = secret_placeholder(s);
            }
        }
        return;
    };
    match (value, first) {
        (Value::Array(items), "*") => items
            .iter_mut()
            .for_each(|v| redact_at(v, segments.clone())),
        (Value::Object(map), "*") => map
            .values_mut()
            .for_each(|v| redact_at(v, segments.clone())),
        (Value::Object(map), key) => {
            if let Some(v) = map.get_mut(key) {
                redact_at(v, segments);
            }
        }
        _ => {}
    }
}

/// Replaces the account of every ARN in `text` with [`ACCOUNT_PLACEHOLDER`] (see
/// [`arn::scrub_account`]).
pub fn scrub_account(text: &str) -> Cow<'_, str> {
    arn::scrub_account(text)
}

/// Applies [`scrub_account`] to every string in a JSON value.
pub fn scrub_account_json(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(scrubbed) = scrub_account(s) {
                *s = scrubbed;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_account_json),
        Value::Object(map) => map.values_mut().for_each(scrub_account_json),
        _ => {}
    }
}

/// Cleans a request before it is written: secret placeholders in the body, and with
/// `scrub_account` the account of every ARN in path, query and body.
pub fn request(req: &mut RecordedRequest, scrub: bool) {
    if let Some(body) = req.body.as_mut() {
        redact_secrets(body);
        if scrub {
            scrub_account_json(body);
        }
    }
    if scrub {
        req.path = scrub_account(&req.path).into_owned();
        for values in req.query.values_mut() {
            for v in values.iter_mut() {
                *v = scrub_account(v).into_owned();
            }
        }
    }
}

/// Cleans a response before it is written: secret placeholders in the body, and with
/// `scrub_account` the account of every ARN in body and headers.
pub fn response(res: &mut RecordedResponse, scrub: bool) {
    if let Some(body) = res.body.as_mut() {
        redact_secrets(body);
        if scrub {
            scrub_account_json(body);
        }
    }
    if scrub {
        if let Some(text) = res.body_text.as_mut() {
            *text = scrub_account(text).into_owned();
        }
        for value in res.headers.values_mut() {
            *value = scrub_account(value).into_owned();
        }
    }
}

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
    /// A PEM private key.
    PrivateKey,
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretKind::AccessKeyId => "an AWS access key id",
            SecretKind::SecretKey => "a secret-looking key",
            SecretKind::SessionToken => "a session token",
            SecretKind::Signature => "a SigV4 signature",
            SecretKind::PrivateKey => "a PEM private key",
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

fn scan_json(
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
fn scan_str(location: &str, name: &str, value: &str, report: &mut impl FnMut(String, SecretKind)) {
    if is_placeholder(value) {
        return;
    }
    let lower_name = name.to_ascii_lowercase();
    // An SRT passphrase is random text with no recognizable shape: any value under that name is one.
    if lower_name == "passphrase" && !value.is_empty() {
        report(location.to_owned(), SecretKind::SecretKey);
    }
    if has_access_key_id(value) {
        report(location.to_owned(), SecretKind::AccessKeyId);
    }
    if value.contains("PRIVATE KEY-----") {
        report(location.to_owned(), SecretKind::PrivateKey);
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

/// HMAC-SHA256 (RFC 2104), small enough to spare a dependency.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_exact_placeholder_form_counts_as_redacted() {
        // Regression (review): any value starting with the prefix used to pass unredacted and unscanned.
        assert!(is_placeholder(&secret_placeholder("sk_us-west-2_x")));
        assert!(!is_placeholder("ivs-vcr-redacted:"));
        assert!(!is_placeholder("ivs-vcr-redacted:my real metadata"));
        let mut body = json!({"metadata": "ivs-vcr-redacted:my real metadata"});
        redact_secrets(&mut body);
        assert!(is_placeholder(body["metadata"].as_str().unwrap()), "{body}");
    }

    #[test]
    fn a_passphrase_is_flagged_whatever_it_looks_like() {
        let mut found = Vec::new();
        scan_json(
            "response.body",
            "",
            &json!({"streamSession": {"channel": {"srt": {"passphrase": "short"}}}}),
            &mut |location, kind| found.push((location, kind)),
        );
        assert_eq!(
            found,
            [(
                "response.body.streamSession.channel.srt.passphrase".to_owned(),
                SecretKind::SecretKey
            )]
        );
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn secrets_become_stable_placeholders() {
        let check = |input: Value, expected: Value| {
            let mut got = input.clone();
            redact_secrets(&mut got);
            assert_eq!(got, expected, "{input}");
            // Idempotent: a second pass changes nothing.
            let mut again = got.clone();
            redact_secrets(&mut again);
            assert_eq!(again, got);
        };
        let key = secret_placeholder("sk_us-west-2_abc");
        assert!(key.starts_with(REDACTED_PREFIX) && key.len() == REDACTED_PREFIX.len() + 16);
        check(
            json!({"streamKey": {"value": "sk_us-west-2_abc", "arn": "a"}}),
            json!({"streamKey": {"value": key, "arn": "a"}}),
        );
        check(
            json!({"streamKeys": [{"value": "sk_us-west-2_abc"}]}),
            json!({"streamKeys": [{"value": key}]}),
        );
        check(
            json!({"channels": [{"srt": {"passphrase": "p"}}]}),
            json!({"channels": [{"srt": {"passphrase": secret_placeholder("p")}}]}),
        );
        check(
            json!({"channelArn": "a", "metadata": "m"}),
            json!({"channelArn": "a", "metadata": secret_placeholder("m")}),
        );
        check(json!({"name": "value"}), json!({"name": "value"}));
    }

    #[test]
    fn account_scrub() {
        let check = |input: &str, expected: &str| {
            assert_eq!(scrub_account(input), expected, "{input}");
        };
        check(
            "arn:aws:ivs:us-west-2:123456789012:channel/abcd",
            "arn:aws:ivs:us-west-2:000000000000:channel/abcd",
        );
        check(
            "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2Fabcd",
            "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A000000000000%3Achannel%2Fabcd",
        );
        check(
            "arn:aws-us-gov:s3:::bucket and arn:aws:iam::123456789012:role/x",
            "arn:aws-us-gov:s3:::bucket and arn:aws:iam::000000000000:role/x",
        );
        check(
            "learn:aws:ivs:x:123456789012:y",
            "learn:aws:ivs:x:123456789012:y",
        );
        check(
            "arn:aws:ivs:us-west-2:1234:channel/x",
            "arn:aws:ivs:us-west-2:1234:channel/x",
        );
        check("no arn here", "no arn here");
    }

    #[test]
    fn scan_finds_secrets_and_says_where() {
        let interaction: Interaction = serde_json::from_value(json!({
            "request": {
                "method": "POST", "path": "/CreateChannel", "region": "us-west-2",
                "headers": {"authorization": "AWS4-HMAC-SHA256 Credential=…"},
                "body": {"name": "AKIAIOSFODNN7EXAMPLE"}
            },
            "response": {
                "status": 200,
                "headers": {"x-amzn-RequestId": "r"},
                "body": {
                    "credentials": {
                        "secretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                        "sessionToken": "FQoGZXIvYXdzEXAMPLETOKEN//+=="
                    },
                    "pem": "-----BEGIN RSA PRIVATE KEY-----\nMII…",
                    "streamKey": {"value": secret_placeholder("sk")},
                    "nextToken": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                    "url": "https://x?X-Amz-Signature=abc"
                }
            }
        }))
        .unwrap();
        let got: Vec<String> = scan_interaction(3, &interaction)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "interaction 3: a SigV4 signature at `request.headers.authorization`",
                "interaction 3: an AWS access key id at `request.body.name`",
                "interaction 3: a secret-looking key at `response.body.credentials.secretAccessKey`",
                "interaction 3: a session token at `response.body.credentials.sessionToken`",
                "interaction 3: a PEM private key at `response.body.pem`",
                "interaction 3: a SigV4 signature at `response.body.url`",
            ],
            "\nexpected and got differ; got:\n{}",
            got.join("\n")
        );
    }
}
