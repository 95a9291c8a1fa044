//! Secrets recognised by their shape alone, wherever they sit in a text: the ones IVS, IVS Chat
//! and IVS Real-Time hand out that have a shape of their own.
//!
//! - IVS stream keys, `sk_<region>_<id>_<secret>`: the id is the key's own ARN id (12
//!   alphanumerics), the secret about 30 alphanumerics (`sk_us-east-1_C5gGm0Ss2WAZ_KaVm…`).
//! - Real-Time ingest configuration stream keys, `rt_<account>_<region>_<id>_<secret>`.
//! - JWTs, such as Real-Time participant tokens: `eyJ…`, base64url parts joined by dots.
//! - IVS Chat tokens: KMS ciphertext in base64, which starts `AQICAH`. AWS's pagination tokens
//!   are KMS ciphertext too, so callers that know a string is a `nextToken` leave this one out
//!   (`chat_tokens: false`); a `nextToken` has to be recorded as it is to be replayed.
//!
//! A match runs as far as its shape allows, separators included (a stream key's `_` between its
//! id and its secret), so no part of a key is ever left behind: a key once ended at its first
//! `_` after the region, leaving its secret half in reports and cassettes. Matches that overlap
//! or touch are merged into one span, so a key inside another key-like text goes whole too.
//! SRT passphrases, PutMetadata payloads, chat user ids and attributes have no shape; they are
//! recognised by the member that carries them (see the module doc of `redact`).

use std::borrow::Cow;
use std::ops::Range;

use super::{secret_placeholder, SecretKind};
use crate::ivs::arn;

/// One secret found by shape: where, and what it looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub(super) range: Range<usize>,
    pub(super) kind: SecretKind,
}

/// Every secret-shaped text in `text`, in the order they start (they may overlap).
pub(super) fn find(text: &str, chat_tokens: bool) -> Vec<Found> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut each = |marker: &str, kind: SecretKind, end_of: fn(&[u8], usize) -> Option<usize>| {
        for at in memchr::memmem::find_iter(bytes, marker) {
            if let Some(end) = end_of(bytes, at) {
                out.push(Found {
                    range: at..end,
                    kind,
                });
            }
        }
    };
    each("sk_", SecretKind::StreamKey, stream_key_end);
    each("rt_", SecretKind::StreamKey, ingest_key_end);
    each("eyJ", SecretKind::ParticipantToken, jwt_end);
    if chat_tokens {
        each("AQICAH", SecretKind::ChatToken, chat_token_end);
    }
    out.sort_by_key(|f| (f.range.start, f.range.end));
    out
}

/// The spans of `text` holding a secret by shape, merged where they overlap or touch.
pub(super) fn spans(text: &str, chat_tokens: bool) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for found in find(text, chat_tokens) {
        match out.last_mut() {
            Some(last) if found.range.start <= last.end => {
                last.end = last.end.max(found.range.end);
            }
            _ => out.push(found.range),
        }
    }
    out
}

/// `text` with every secret-shaped span replaced by the placeholder of that span.
pub(super) fn redact(text: &str, chat_tokens: bool) -> Cow<'_, str> {
    let spans = spans(text, chat_tokens);
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for span in spans {
        out.push_str(&text[last..span.start]);
        out.push_str(&secret_placeholder(&text[span.clone()]));
        last = span.end;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// Whether a member of this name holds a pagination token, which may be KMS ciphertext shaped
/// like a chat token and must be kept as it is.
pub(super) fn is_pagination_member(name: &str) -> bool {
    name.eq_ignore_ascii_case("nextToken")
}

/// The end of a stream key starting `sk_` at `at`: a region name, `_`, then everything made of
/// alphanumerics and `_` (a trailing `_` left out).
fn stream_key_end(bytes: &[u8], at: usize) -> Option<usize> {
    after_region(bytes, at + 3)
}

/// The end of a Real-Time ingest stream key starting `rt_` at `at`: 12 digits of an account,
/// `_`, then as a stream key.
fn ingest_key_end(bytes: &[u8], at: usize) -> Option<usize> {
    let account = bytes.get(at + 3..at + 15)?;
    (account.iter().all(u8::is_ascii_digit) && bytes.get(at + 15) == Some(&b'_')).then_some(())?;
    after_region(bytes, at + 16)
}

/// The end of `<region>_<tail>` starting at `from`, where the tail is alphanumerics and `_`
/// holding at least one alphanumeric.
fn after_region(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    let region_len = rest.iter().take(33).position(|&b| b == b'_')?;
    // The region is ASCII or `is_valid_region` refuses it; a non-UTF-8 cut is no region.
    let region = std::str::from_utf8(&rest[..region_len]).ok()?;
    if !arn::is_valid_region(region) {
        return None;
    }
    let tail = &rest[region_len + 1..];
    let len = tail
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    let trimmed = tail[..len].iter().rposition(u8::is_ascii_alphanumeric)? + 1;
    Some(from + region_len + 1 + trimmed)
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=')
}

/// The end of a JWT starting `eyJ` at `at`: a header of at least 10 base64url characters, a
/// payload, and a signature (empty when unsigned), each after a `.`; a JWE's further parts too.
fn jwt_end(bytes: &[u8], at: usize) -> Option<usize> {
    let run = |from: usize| {
        bytes
            .get(from..)
            .map_or(0, |r| r.iter().take_while(|b| is_base64url(**b)).count())
    };
    let header = run(at);
    if header < 10 || bytes.get(at + header) != Some(&b'.') {
        return None;
    }
    let payload_at = at + header + 1;
    let payload = run(payload_at);
    if payload < 2 || bytes.get(payload_at + payload) != Some(&b'.') {
        return None;
    }
    let mut end = payload_at + payload + 1;
    end += run(end);
    while bytes.get(end) == Some(&b'.') && run(end + 1) > 0 {
        end += 1 + run(end + 1);
    }
    Some(end)
}

/// The end of a chat token starting `AQICAH` at `at`: at least 40 base64 characters (standard or
/// URL-safe alphabet).
fn chat_token_end(bytes: &[u8], at: usize) -> Option<usize> {
    let len = bytes[at..]
        .iter()
        .take_while(|b| is_base64url(**b) || matches!(b, b'+' | b'/'))
        .count();
    (len >= 40).then_some(at + len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(text: &str, expected: &[&str]) {
        let got: Vec<&str> = spans(text, true).into_iter().map(|r| &text[r]).collect();
        assert_eq!(got, expected, "{text:?}");
    }

    /// Issue 29 (finding 3): a stream key ended at its first `_` after the region, so its secret
    /// half, `_3lpF…`, stayed in reports, logs, the summary and cassettes.
    #[test]
    fn a_stream_key_is_recognised_whole() {
        let key = "sk_us-west-2_Hn4tR6yBc1Vx_3lpFzJE27RBwfmEJByoXfqNn";
        check(key, &[key]);
        check(&format!("tag {key}, in use"), &[key]);
        check(&format!("\"{key}\"}}"), &[key]);
        check(&format!("x{key}_"), &[key]);
        check(
            &format!("ask_{}", &key[3..]),
            &[&format!("sk_{}", &key[3..])],
        );
        // A key inside a longer key-like text: the spans merge, nothing is left between.
        let nested = format!("sk_us-west-2_ab{key}");
        check(&nested, &[&nested]);
        check("sk_us-west-2_Ab12", &["sk_us-west-2_Ab12"]);
        check("sk_not-a-region_Ab12 sk_us-west-2_ sk_us-west-2__", &[]);
    }

    #[test]
    fn real_time_and_chat_secrets_are_recognised() {
        let ingest = "rt_123456789012_us-west-2_AbCdEfGh1234_abcd1234efgh5678ijkl9012MNOP34";
        check(&format!("key: {ingest}."), &[ingest]);
        let jwt = "eyJhbGciOiJLTVMiLCJ0eXAiOiJKV1QifQ.eyJleHAiOjE2ODA0fQ.AQICAHj-_8x";
        check(&format!("Bearer {jwt} done"), &[jwt]);
        check(
            "eyJhbGciOiJub25lIn0.eyJhIjoxfQ.",
            &["eyJhbGciOiJub25lIn0.eyJhIjoxfQ."],
        );
        check("eyJwYWdlIjoyfQ== and eyJ.a.b", &[]);
        let chat = format!("AQICAH{}", "xY+/9_-a".repeat(8));
        check(&format!("token {chat}"), &[&chat]);
        check("AQICAHshort", &[]);
        assert!(spans(&chat, false).is_empty(), "a nextToken stays as it is");
    }

    fn stream_key() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!["us-west-2", "eu-central-1", "ap-northeast-1"]),
            "[a-zA-Z0-9]{12}",
            "[a-zA-Z0-9]{20,32}",
        )
            .prop_map(|(region, id, secret)| format!("sk_{region}_{id}_{secret}"))
    }

    proptest! {
        /// Any whole key, with anything around it, is replaced with nothing of it left: not its
        /// secret half, not the last 8 characters (the ones a truncated match would leave).
        #[test]
        fn any_stream_key_anywhere_is_replaced_whole(
            key in stream_key(),
            before in "\\PC{0,12}",
            after in "\\PC{0,12}",
        ) {
            let text = format!("{before}{key}{after}");
            let out = redact(&text, true);
            let secret = key.rsplit('_').next().unwrap();
            prop_assert!(!out.contains(secret), "{out}");
            let tail = &key[key.len() - 8..];
            let around = before.matches(tail).count() + after.matches(tail).count();
            prop_assert!(out.matches(tail).count() <= around, "{out}");
        }
    }
}
