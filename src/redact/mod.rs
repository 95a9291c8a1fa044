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
//! # Secrets wherever they reappear
//! An upstream can echo a secret anywhere: a stream key inside a ValidationException message, in
//! the `body_text` of a non-JSON error, under an unexpected member or capitalisation, in tags or a
//! name. So record does not only rewrite the paths above: [`exchange`] first collects every secret
//! value of the exchange, in either direction ([`Secrets`]: the values at those paths, members
//! with those names in any capitalisation, the members IVS Chat and Real-Time mark sensitive
//! (a chat token's `token`, `participantToken.token`, an ingest configuration's string
//! `streamKey`), anything shaped like one of their secrets (`shape`: IVS and Real-Time stream
//! keys whole, `sk_<region>_<id>_<secret>`, JWTs, chat tokens) and any string holding a private
//! key in any of its header forms (PEM `RSA`/`EC`/`DSA`/`OPENSSH`/`ENCRYPTED`/PGP, SSH2, PuTTY
//! `PuTTY-User-Key-File-`)),
//! then replaces each value by its placeholder in every string of the exchange, object keys
//! included, as written and JSON-escaped. A string holding a private key is replaced whole. A
//! value shorter than [`MIN_ECHOED_SECRET`] bytes is replaced only where a whole string equals it,
//! since replacing every `m` of an exchange would mangle it and hide nothing.
//!
//! Trade-off: a secret found outside the known paths of a *request* is written as a placeholder,
//! but replay does not look for it there, so a client sending the same request again does not
//! match that interaction; it gets the near-miss report, which names the placeholder.
//!
//! Text that is printed rather than written (near-miss reports, refusals in the summary) goes
//! through [`redact_text`], which replaces stream keys, tokens and whole strings holding a
//! private key, recognised by shape, and through [`printable`], which escapes what a request could use to
//! forge lines or drive a terminal (a `%0A` or `%1B` in a decoded `/tags/` ARN).
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
//! A JWT (a Real-Time participant token) that is a whole string is written as a placeholder that
//! also holds its header and claims with every value faked (`jwt`), so replay can hand out a
//! token that decodes to the recorded claims' shape.
//!
//! The split: this file has the placeholders, the per-exchange redaction ([`exchange`],
//! [`Secrets`]), printed-text redaction and escaping, and the account scrub; `shape` recognises
//! secrets by their shape; `fake` renders placeholders in their secrets' own formats and back;
//! `jwt` writes and renders JWTs' skeletons; `scan` is the pre-write scan.
//!
//! Everything here is pure: no IO, no logging.

mod fake;
mod jwt;
mod scan;
mod shape;

use std::borrow::Cow;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cassette::{RecordedRequest, RecordedResponse};
use crate::ivs::{self, arn};

pub use fake::{
    contains_mark, fake_ingest_key, fake_passphrase, fake_stream_key, has_fake,
    placeholder_of_fake, render_fakes, unfake,
};
pub use jwt::{fake_jwt, is_jwt_placeholder, placeholder_of_fake_jwt};
pub use scan::{scan, scan_interaction, Finding, SecretKind};
#[cfg(test)]
use scan::{scan_json, scan_str};

/// What every secret placeholder starts with.
pub const REDACTED_PREFIX: &str = "ivs-vcr-redacted:";

/// The HMAC key of secret placeholders: fixed and public on purpose (see the module doc).
pub const PLACEHOLDER_KEY: &[u8] = b"ivs-vcr secret placeholder v1";

/// The account id that replaces real ones when the account scrub is on.
pub use crate::ivs::arn::ACCOUNT_PLACEHOLDER;

/// True for exactly what [`secret_placeholder`] makes: the prefix and 16 lowercase hex digits. A
/// value that merely starts with the prefix is still a value, to redact and to scan.
pub fn is_placeholder(value: &str) -> bool {
    value
        .strip_prefix(REDACTED_PREFIX)
        .is_some_and(|hex| is_hex(hex, 16))
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

/// The placeholder a whole secret value is written as: a JWT's keeps the shape of its header
/// and claims (`jwt`), so replay can hand out a token that decodes; anything else's is
/// [`secret_placeholder`].
pub fn placeholder_for(value: &str) -> String {
    jwt::placeholder(value).unwrap_or_else(|| secret_placeholder(value))
}

/// Secret values shorter than this are replaced only where a whole string equals them.
pub const MIN_ECHOED_SECRET: usize = 8;

/// Member names whose string values are secret wherever they sit, compared in lowercase. A
/// string `streamKey` is a Real-Time ingest configuration's key (IVS's own is an object).
const SECRET_MEMBER_NAMES: &[&str] = &["passphrase", "privatekey", "metadata", "streamkey"];

/// Whether a string member `name` under `parent` holds a secret by its name alone: the members
/// above, a stream key's `value`, and a `token` where IVS Chat (`CreateChatToken`'s answer, at
/// the top) or Real-Time (`participantToken`, `participantTokens`) put one. A `token` elsewhere,
/// such as a tag of that name, is the application's own text.
fn is_secret_member(name: &str, parent: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let parent = parent.to_ascii_lowercase();
    SECRET_MEMBER_NAMES.contains(&name.as_str())
        || (name == "value" && parent.starts_with("streamkey"))
        || (name == "token" && (parent.is_empty() || parent.starts_with("participanttoken")))
}

/// The secret values seen in one exchange (see "Secrets wherever they reappear").
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    /// Distinct values, longest first, so that a value containing another is replaced whole.
    values: Vec<String>,
}

impl Secrets {
    /// Notes the secrets of a JSON body: values of secret members (any capitalisation), stream
    /// keys and private keys anywhere, object keys included.
    pub fn collect_json(&mut self, value: &Value) {
        self.collect_member(value, "", "");
    }

    fn collect_member(&mut self, value: &Value, name: &str, parent: &str) {
        match value {
            Value::String(s) => {
                if is_secret_member(name, parent) {
                    self.note(s);
                }
                self.collect_shapes(s, !shape::is_pagination_member(name));
            }
            Value::Array(items) => {
                for item in items {
                    self.collect_member(item, name, parent);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    self.collect_text(key);
                    self.collect_member(item, key, name);
                }
            }
            _ => {}
        }
    }

    /// Notes the secrets recognisable by shape in a string: stream keys whole, JWTs and chat
    /// tokens. (A private key outside a secret member is not redacted but refused by the scan,
    /// so its exchange is not written.)
    pub fn collect_text(&mut self, text: &str) {
        self.collect_shapes(text, true);
    }

    fn collect_shapes(&mut self, text: &str, chat_tokens: bool) {
        for span in shape::spans(text, chat_tokens) {
            self.note(&text[span]);
        }
    }

    /// Notes one secret value (placeholders and empty strings are not secrets).
    pub fn note(&mut self, value: &str) {
        if value.is_empty() || is_placeholder(value) || self.values.iter().any(|v| v == value) {
            return;
        }
        let at = self.values.partition_point(|v| v.len() >= value.len());
        self.values.insert(at, value.to_owned());
    }

    /// True when no secret was seen.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret replaced by its placeholder: every known value (as written and
    /// JSON-escaped), then anything left shaped like a secret.
    pub fn redact_str<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.redact_member(text, true)
    }

    /// [`Secrets::redact_str`] for the value of a member: a pagination token keeps its
    /// chat-token shape (`chat_tokens: false`), since replay must see it as it was.
    fn redact_member<'a>(&self, text: &'a str, chat_tokens: bool) -> Cow<'a, str> {
        if is_placeholder(text) {
            return Cow::Borrowed(text);
        }
        let mut out = Cow::Borrowed(text);
        for value in &self.values {
            if out == value.as_str() {
                return Cow::Owned(placeholder_for(value));
            }
            if value.len() < MIN_ECHOED_SECRET {
                continue;
            }
            let placeholder = secret_placeholder(value);
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), &placeholder));
            }
            let escaped = Value::from(value.as_str()).to_string();
            let escaped = &escaped[1..escaped.len() - 1];
            if escaped != value && out.contains(escaped) {
                out = Cow::Owned(out.replace(escaped, &placeholder));
            }
        }
        match shape::redact(&out, chat_tokens) {
            Cow::Borrowed(_) => out,
            Cow::Owned(redacted) => Cow::Owned(redacted),
        }
    }

    /// Applies [`Secrets::redact_str`] to every string of a JSON value, object keys included.
    pub fn redact_json(&self, value: &mut Value) {
        self.redact_json_member(value, "");
    }

    fn redact_json_member(&self, value: &mut Value, name: &str) {
        match value {
            Value::String(s) => {
                let chat_tokens = !shape::is_pagination_member(name);
                if let Cow::Owned(redacted) = self.redact_member(s, chat_tokens) {
                    *s = redacted;
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|v| self.redact_json_member(v, name)),
            Value::Object(map) => {
                let renamed = map
                    .keys()
                    .any(|k| matches!(self.redact_str(k), Cow::Owned(_)));
                if renamed {
                    *map = std::mem::take(map)
                        .into_iter()
                        .map(|(k, v)| (self.redact_str(&k).into_owned(), v))
                        .collect();
                }
                map.iter_mut()
                    .for_each(|(k, v)| self.redact_json_member(v, k));
            }
            _ => {}
        }
    }
}

/// `text` with every stream key, token and private key replaced by its placeholder, recognised
/// by shape alone: for what is printed (reports, logs, the summary) rather than written. A
/// pagination token shaped like a chat token is replaced too: a report can do without it.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    if has_private_key(text) && !is_placeholder(text) {
        return Cow::Owned(secret_placeholder(text));
    }
    shape::redact(text, true)
}

/// `text` safe to print on one line of a log, a summary or a terminal: control characters (C0,
/// DEL, C1, so newlines and ANSI escapes), line separators and bidirectional overrides become
/// Rust-style escapes (`\n`, `\u{1b}`). Everything a request says passes through it before it
/// is printed; printable text, `\` included, is left as it is.
pub fn printable(text: &str) -> Cow<'_, str> {
    fn escaped(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if escaped(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Cleans one exchange before it is written: every secret seen in it, in either direction, is
/// replaced wherever it reappears (see "Secrets wherever they reappear"), then [`request`] and
/// [`response`] apply the placeholders at known paths and the account scrub.
pub fn exchange(req: &mut RecordedRequest, res: &mut RecordedResponse, scrub: bool) {
    if let Some(body) = req.body.as_mut() {
        unfake(body);
    }
    let mut secrets = Secrets::default();
    secrets.collect_text(&req.path);
    for value in req.query.values().flatten() {
        secrets.collect_text(value);
    }
    for value in req.headers.values() {
        secrets.collect_text(value);
    }
    if let Some(body) = &req.body {
        secrets.collect_json(body);
    }
    for value in res.headers.values() {
        secrets.collect_text(value);
    }
    if let Some(body) = &res.body {
        secrets.collect_json(body);
    }
    if let Some(text) = &res.body_text {
        secrets.collect_text(text);
    }
    if !secrets.is_empty() {
        let redact = |s: &mut String| {
            if let Cow::Owned(redacted) = secrets.redact_str(s) {
                *s = redacted;
            }
        };
        redact(&mut req.path);
        req.query.values_mut().flatten().for_each(redact);
        req.headers.values_mut().for_each(redact);
        if let Some(body) = req.body.as_mut() {
            secrets.redact_json(body);
        }
        res.headers.values_mut().for_each(redact);
        if let Some(body) = res.body.as_mut() {
            secrets.redact_json(body);
        }
        if let Some(text) = res.body_text.as_mut() {
            redact(text);
        }
    }
    request(req, scrub);
    response(req.service, res, scrub);
}

/// True when `text` holds a private key, in any header form: PEM (`-----BEGIN RSA PRIVATE
/// KEY-----`, `EC`, `DSA`, `OPENSSH`, `ENCRYPTED`, PKCS#8, PGP's `PRIVATE KEY BLOCK`), SSH2
/// (`---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----`) or PuTTY (`PuTTY-User-Key-File-`).
pub fn has_private_key(text: &str) -> bool {
    if text.contains("PuTTY-User-Key-File-") {
        return true;
    }
    text.match_indices("PRIVATE KEY").any(|(at, _)| {
        // The `BEGIN` of the same header line: at most a few words before.
        let before = &text[..at];
        let line = before.rsplit(['\n', '\r']).next().unwrap_or(before);
        let line = line.rsplit("\\n").next().unwrap_or(line);
        line.contains("BEGIN")
    })
}

/// Replaces every secret member of an IVS request or response body with its placeholder (see
/// [`redact_secrets_of`]).
pub fn redact_secrets(body: &mut Value) {
    redact_secrets_of(ivs::Service::Ivs, body);
}

/// Replaces every secret member of a request or response body of `service` with its placeholder:
/// the members its model marks sensitive (Chat's `token`, `userId`, `attributes`). A value that
/// is already a placeholder is left alone, so this can run any number of times.
pub fn redact_secrets_of(service: ivs::Service, body: &mut Value) {
    if !body.is_object() {
        return;
    }
    for path in service.catalog().secret_body_paths {
        // Where a token sits, a JWT placeholder is already written as it should be.
        let token = path.rsplit('.').next() == Some("token");
        crate::body_path::for_each_at(body, path, |value| {
            if let Value::String(s) = value {
                if !(is_placeholder(s) || token && is_jwt_placeholder(s)) {
                    *s = placeholder_for(s);
                }
            }
        });
    }
}

/// Replaces every secret of a body that is shown rather than matched (the unmatched-request
/// report, which is logged and kept for the summary) with its placeholder: whole strings holding
/// private key material (a PEM key sent in the wrong member, such as ImportPlaybackKeyPair's
/// `publicKeyMaterial`, is still a secret), values of secret members, and secret-shaped spans.
///
/// Done before the report is cut to its length limits, so a cut can never leave part of a
/// secret that the shape, or the value, would no longer show.
pub fn redact_for_report(value: &mut Value) {
    fn walk(value: &mut Value, name: &str, parent: &str) {
        match value {
            Value::String(s) if is_placeholder(s) => {}
            Value::String(s) if has_private_key(s) || is_secret_member(name, parent) => {
                *s = secret_placeholder(s);
            }
            Value::String(s) => {
                if let Cow::Owned(redacted) = shape::redact(s, true) {
                    *s = redacted;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, name, parent)),
            Value::Object(map) => {
                let renamed = map
                    .keys()
                    .any(|k| matches!(shape::redact(k, true), Cow::Owned(_)));
                if renamed {
                    *map = std::mem::take(map)
                        .into_iter()
                        .map(|(k, v)| (shape::redact(&k, true).into_owned(), v))
                        .collect();
                }
                for (key, item) in map.iter_mut() {
                    walk(item, key, name);
                }
            }
            _ => {}
        }
    }
    walk(value, "", "");
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
    let service = req.service;
    if let Some(body) = req.body.as_mut() {
        unfake(body);
        redact_secrets_of(service, body);
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

/// Cleans a response of `service` before it is written: secret placeholders in the body, and
/// with `scrub_account` the account of every ARN in body and headers.
pub fn response(service: ivs::Service, res: &mut RecordedResponse, scrub: bool) {
    if let Some(body) = res.body.as_mut() {
        redact_secrets_of(service, body);
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
fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
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
mod printable_tests {
    use super::printable;

    /// Issue 11 §6: nothing a request says can end a line or reach the terminal as a control.
    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        let check = |text: &str, expected: &str| assert_eq!(printable(text), expected, "{text:?}");
        check("GetChannel", "GetChannel");
        check("a\\b \"q\" é ✓", "a\\b \"q\" é ✓");
        check("x\n  - forged line", "x\\n  - forged line");
        check("\u{1b}[31mred\r\t", "\\u{1b}[31mred\\r\\t");
        check("\u{9b}31m\u{7f}\0", "\\u{9b}31m\\u{7f}\\u{0}");
        check("a\u{2028}b\u{202e}c", "a\\u{2028}b\\u{202e}c");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::Interaction;
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
    fn the_scan_knows_stream_keys_and_every_private_key_header() {
        // Regression, issue 11 §2: the scan missed the stream-key shape and non-PEM keys.
        let check = |value: &str, expected: &[SecretKind]| {
            let mut found = Vec::new();
            scan_str("x", "tags", value, &mut |_, kind| found.push(kind));
            assert_eq!(found, expected, "{value:?}");
        };
        check("sk_us-west-2_Ab12Cd34", &[SecretKind::StreamKey]);
        check(
            "key (sk_ap-northeast-1_x9) in use",
            &[SecretKind::StreamKey],
        );
        // Issue 29 (finding 3): a key right after a letter is still a key, and is flagged.
        check("ask_us-west-2_Ab12", &[SecretKind::StreamKey]);
        check(
            "rt_123456789012_us-west-2_AbCdEfGh1234_abcd1234efgh5678",
            &[SecretKind::StreamKey],
        );
        check(
            "eyJhbGciOiJLTVMiLCJ0eXAiOiJKV1QifQ.eyJleHAiOjE2ODA0fQ.c2ln",
            &[SecretKind::ParticipantToken],
        );
        let chat = format!("AQICAH{}", "Ab+/".repeat(20));
        check(&chat, &[SecretKind::ChatToken]);
        let mut found = Vec::new();
        scan_str("x", "nextToken", &chat, &mut |_, kind| found.push(kind));
        assert_eq!(found, [], "a pagination token is no chat token");
        check("sk_not-a-region_Ab12", &[]);
        check("sk_us-west-2_", &[]);
        for header in [
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----BEGIN EC PRIVATE KEY-----",
            "-----BEGIN DSA PRIVATE KEY-----",
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----",
            "-----BEGIN PRIVATE KEY-----",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----",
            "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----",
            "PuTTY-User-Key-File-2: ssh-rsa",
            "PuTTY-User-Key-File-3: ssh-ed25519",
        ] {
            check(&format!("note: {header}\nAAAA"), &[SecretKind::PrivateKey]);
            assert!(has_private_key(
                &Value::from(format!("{header}\nA")).to_string()
            ));
        }
        check("-----BEGIN PUBLIC KEY-----\nAAAA", &[]);
        check("a private key is needed", &[]);
    }

    #[test]
    fn every_secret_of_an_exchange_is_replaced_wherever_it_reappears() {
        // Regression, issue 11 §2: secrets outside the known paths were written verbatim.
        let key = "sk_us-west-2_Ab12Cd34Ef56";
        let payload = "a \"quoted\" metadata payload";
        let phrase = "Passphrase0123456789";
        let mut request: RecordedRequest = serde_json::from_value(json!({
            "method": "POST", "path": "/PutMetadata", "region": "us-west-2",
            "body": {"metadata": payload, "channelArn": "arn"}
        }))
        .unwrap();
        let mut response: RecordedResponse = serde_json::from_value(json!({
            "status": 400,
            "headers": {"x-amzn-ErrorType": "ValidationException"},
            "body": {
                "message": format!("bad {payload} for {key}"),
                "Channel": {"SRT": {"PASSPHRASE": phrase}},
                "tags": {key: format!("copy of {phrase}"), "short": "m"},
                "StreamKeys": [{"Value": "anotherSecretValue"}],
                "echo": "anotherSecretValue!"
            }
        }))
        .unwrap();
        exchange(&mut request, &mut response, false);
        let p = secret_placeholder;
        assert_eq!(request.body.unwrap()["metadata"], json!(p(payload)));
        assert_eq!(
            response.body.unwrap(),
            json!({
                "message": format!("bad {} for {}", p(payload), p(key)),
                "Channel": {"SRT": {"PASSPHRASE": p(phrase)}},
                "tags": {p(key): format!("copy of {}", p(phrase)), "short": "m"},
                "StreamKeys": [{"Value": p("anotherSecretValue")}],
                "echo": format!("{}!", p("anotherSecretValue"))
            })
        );

        // A non-JSON answer quoting the payload JSON-escaped, and a short secret only whole.
        let mut request: RecordedRequest = serde_json::from_value(json!({
            "method": "POST", "path": "/PutMetadata", "region": "us-west-2",
            "body": {"metadata": payload}
        }))
        .unwrap();
        let mut response = RecordedResponse {
            status: 400,
            headers: Default::default(),
            body: None,
            body_text: Some(format!("<error>{}</error>", Value::from(payload))),
        };
        exchange(&mut request, &mut response, false);
        assert_eq!(
            response.body_text.as_deref(),
            Some(format!("<error>\"{}\"</error>", p(payload)).as_str())
        );
    }

    #[test]
    fn chat_and_real_time_secrets_are_replaced_and_a_next_token_kept() {
        // Finding 3 of the security issue: the secrets IVS Chat and Real-Time return, by member
        // and by shape; a `nextToken` is KMS ciphertext like a chat token, and must replay.
        let chat = format!("AQICAH{}", "Zm9v".repeat(16));
        let page = format!("AQICAH{}", "YmFy".repeat(16));
        let jwt = "eyJhbGciOiJLTVMiLCJ0eXAiOiJKV1QifQ.eyJleHAiOjE2ODA0fQ.c2lnbmF0dXJl";
        let mut request: RecordedRequest = serde_json::from_value(json!({
            "method": "POST", "path": "/ListTagsForResource", "region": "us-west-2",
            "body": {"nextToken": page, "tags": {"token": "my own tag"}}
        }))
        .unwrap();
        let mut response: RecordedResponse = serde_json::from_value(json!({
            "status": 200,
            "body": {
                "token": "opaque chat token",
                "nextToken": page,
                "participantToken": {"token": "opaque participant token"},
                "ingestConfiguration": {"streamKey": "opaque ingest key"},
                "echo": format!("{chat} and {jwt}"),
            }
        }))
        .unwrap();
        exchange(&mut request, &mut response, false);
        let p = secret_placeholder;
        assert_eq!(
            request.body.unwrap(),
            json!({"nextToken": page, "tags": {"token": "my own tag"}})
        );
        assert_eq!(
            response.body.unwrap(),
            json!({
                "token": p("opaque chat token"),
                "nextToken": page,
                "participantToken": {"token": p("opaque participant token")},
                "ingestConfiguration": {"streamKey": p("opaque ingest key")},
                "echo": format!("{} and {}", p(&chat), p(jwt)),
            })
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
        check(
            json!({"streamSession": {"channel": {"srt": {"passphrase": "p"}}}}),
            json!({"streamSession": {"channel": {"srt": {"passphrase": secret_placeholder("p")}}}}),
        );
        // Only strings are secrets; a number where a secret belongs is left as it is.
        check(
            json!({"streamKey": {"value": 7}}),
            json!({"streamKey": {"value": 7}}),
        );
        check(json!({"name": "value"}), json!({"name": "value"}));
    }

    #[test]
    fn secret_paths_name_members_never_list_indices() {
        // The shared path walker reads a numeric segment as a list index; the secret paths are
        // model member names and `*`, so none may be one.
        for path in ivs::SECRET_BODY_PATHS {
            assert!(
                path.split('.').all(|s| s.parse::<usize>().is_err()),
                "{path}"
            );
        }
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
        // Regression, issue 11 §6: the account in a playback URL was left as it was.
        check(
            "https://a1b2c3d4e5f6.us-west-2.playback.live-video.net/api/video/v1/us-west-2.123456789012.channel.abcdEFGH1234.m3u8",
            "https://a1b2c3d4e5f6.us-west-2.playback.live-video.net/api/video/v1/us-west-2.000000000000.channel.abcdEFGH1234.m3u8",
        );
        check(
            "arn:aws:ivs:eu-west-1:123456789012:channel/x at eu-west-1.123456789012.channel.x.m3u8",
            "arn:aws:ivs:eu-west-1:000000000000:channel/x at eu-west-1.000000000000.channel.x.m3u8",
        );
        check(
            "v1/notaregion.123456789012.channel.x",
            "v1/notaregion.123456789012.channel.x",
        );
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
                "interaction 3: a private key at `response.body.pem`",
                "interaction 3: a SigV4 signature at `response.body.url`",
            ],
            "\nexpected and got differ; got:\n{}",
            got.join("\n")
        );
    }

    #[test]
    fn placeholders_render_as_fakes_in_their_own_format_and_back() {
        let placeholder = secret_placeholder("sk_us-west-2_abcdABCDefgh_567890abcdef");
        let key = fake_stream_key(&placeholder, "eu-west-1").unwrap();
        assert!(key.starts_with("sk_eu-west-1_"), "{key}");
        assert!(
            key.bytes()
                .skip(13)
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "{key}"
        );
        assert_eq!(placeholder_of_fake(&key), Some(placeholder.clone()));
        let passphrase = fake_passphrase(&placeholder).unwrap();
        assert!(
            passphrase.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{passphrase}"
        );
        assert_eq!(placeholder_of_fake(&passphrase), Some(placeholder.clone()));
        for not_fake in [
            "sk_us-west-2_abcdABCDefgh_567890abcdef",
            "ivsvcrFake",
            "plain",
        ] {
            assert_eq!(placeholder_of_fake(not_fake), None, "{not_fake}");
        }

        let mut body = serde_json::json!({
            "channel": {"srt": {"passphrase": placeholder}},
            "streamKey": {"value": placeholder, "channelArn": "arn:aws:ivs:ap-south-1:123456789012:channel/abcdABCDefgh"},
        });
        assert!(render_fakes(&mut body, "us-west-2"));
        assert!(body["streamKey"]["value"]
            .as_str()
            .unwrap()
            .starts_with("sk_ap-south-1_"));
        assert_eq!(body["channel"]["srt"]["passphrase"], passphrase);
        assert!(has_fake(&body));
        unfake(&mut body);
        assert_eq!(body["streamKey"]["value"], placeholder);
        assert_eq!(body["channel"]["srt"]["passphrase"], placeholder);
        assert!(!has_fake(&body));
    }

    /// Issue 25: a participant token and an ingest stream key through record's redaction: the
    /// token is written as its skeleton and the key as a placeholder; the scan passes the file;
    /// replay renders a JWT that decodes and an `rt_` key of the configuration's ARN; and the
    /// fakes map back to what is written.
    #[test]
    fn real_time_secrets_are_written_without_their_values_and_replayed_in_their_own_shape() {
        use base64::Engine as _;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let claims = json!({"exp": 1765432100u64, "user_id": "alice", "attributes": {"seat": "4"},
            "capabilities": {"allow_publish": true}});
        let jwt = format!(
            "{}.{}.c2lnbmF0dXJlc2lnbmF0dXJl",
            b64(&json!({"alg": "ES384", "typ": "JWT"})),
            b64(&claims)
        );
        let key = "rt_123456789012_us-west-2_AbCdEfGh1234_7sEcReTkEyVaLuE0123456789";
        let config_arn = "arn:aws:ivs:us-west-2:123456789012:ingest-configuration/AbCdEfGh1234";
        let mut request: RecordedRequest = serde_json::from_value(json!({
            "service": "ivs-realtime", "method": "POST", "path": "/CreateParticipantToken",
            "region": "us-west-2", "body": {"stageArn": "arn:aws:ivs:us-west-2:123456789012:stage/AbCdEfGh1234"}
        }))
        .unwrap();
        let mut response: RecordedResponse = serde_json::from_value(json!({
            "status": 200,
            "body": {
                "participantToken": {"token": jwt, "participantId": "p1", "userId": "alice"},
                "ingestConfiguration": {"arn": config_arn, "streamKey": key,
                    "redundantIngestCredentials": [{"participantId": "p2", "streamKey": key}]},
                "message": format!("echo {jwt}"),
            }
        }))
        .unwrap();
        exchange(&mut request, &mut response, false);
        let interaction = Interaction { request, response };
        assert_eq!(
            scan_interaction(0, &interaction),
            [],
            "nothing secret is left"
        );
        let written = serde_json::to_string(&interaction).unwrap();
        for secret in [
            jwt.as_str(),
            key,
            "7sEcReTkEy",
            "1765432100",
            r#"\"seat\":\"4\""#,
        ] {
            assert!(!written.contains(secret), "{secret} in {written}");
        }
        let mut body = interaction.response.body.clone().unwrap();
        let token = body["participantToken"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(is_jwt_placeholder(&token), "{token}");
        assert_eq!(
            body["ingestConfiguration"]["streamKey"],
            json!(secret_placeholder(key))
        );
        assert_eq!(
            body["message"],
            json!(format!("echo {}", secret_placeholder(&jwt)))
        );

        assert!(render_fakes(&mut body, "eu-west-1"));
        let fake = body["participantToken"]["token"].as_str().unwrap();
        assert!(jwt::decode(fake).is_some(), "{fake}");
        let model_pattern = regex::Regex::new("^rt_[0-9]+_[a-z0-9-]+_[a-zA-Z0-9-]+_.+$").unwrap();
        for fake_key in [
            &body["ingestConfiguration"]["streamKey"],
            &body["ingestConfiguration"]["redundantIngestCredentials"][0]["streamKey"],
        ] {
            let fake_key = fake_key.as_str().unwrap();
            assert!(
                fake_key.starts_with("rt_123456789012_us-west-2_AbCdEfGh1234_"),
                "{fake_key}"
            );
            assert!(model_pattern.is_match(fake_key), "{fake_key}");
        }
        assert!(has_fake(&body));
        unfake(&mut body);
        assert_eq!(
            Some(&body),
            interaction.response.body.as_ref(),
            "fakes map back"
        );

        // Without an ARN beside it, a key takes the scrubbed account and its own digits; a
        // value that is no placeholder, however short or whatever its characters, stays.
        let placeholder = secret_placeholder(key);
        let mut lone =
            json!({"ingestConfiguration": {"streamKey": placeholder}, "x": {"streamKey": "é"}});
        assert!(render_fakes(&mut lone, "eu-west-1"));
        let hex = &placeholder[REDACTED_PREFIX.len()..];
        assert_eq!(
            lone["ingestConfiguration"]["streamKey"],
            json!(format!(
                "rt_000000000000_eu-west-1_{}_{hex}ivsvcrFake",
                &hex[..12]
            ))
        );
        for odd in ["é", "short", "ivs-vcr-redacted:é"] {
            let mut body = json!({"ingestConfiguration": {"streamKey": odd}});
            assert!(!render_fakes(&mut body, "us-west-2"), "{odd}");
            assert_eq!(body["ingestConfiguration"]["streamKey"], json!(odd));
        }

        // A value dressed as a JWT placeholder is still scanned.
        let forged = format!(
            "{} jwt {{}} {{\"k\":\"sk_us-west-2_Ab12Cd34Ef56_secret\"}}",
            secret_placeholder("x")
        );
        assert!(is_jwt_placeholder(&forged));
        let mut found = Vec::new();
        scan_str("x", "token", &forged, &mut |_, kind| found.push(kind));
        assert_eq!(found, [SecretKind::StreamKey]);
    }

    proptest::proptest! {
        /// Whatever a participant token's claims hold, record's redaction writes neither the
        /// token nor any of its claims' text, the scan passes what it writes, and replay's fake
        /// decodes with the same claim names.
        #[test]
        fn no_token_or_claim_survives_an_exchange(
            claims in proptest::collection::btree_map("[a-z_]{1,8}", "[A-Za-z0-9]{6,12}", 1..6),
            exp in 1_000_000_000u64..4_000_000_000,
        ) {
            use base64::Engine as _;
            let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            let mut payload: serde_json::Map<String, Value> =
                claims.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            payload.insert("exp".into(), json!(exp));
            let jwt = format!("{}.{}.c2lnbmF0dXJl", b64(&json!({"alg": "ES384"})), b64(&Value::Object(payload.clone())));
            let mut request: RecordedRequest = serde_json::from_value(json!({
                "service": "ivs-realtime", "method": "POST", "path": "/CreateStage", "region": "us-west-2",
                "body": {"name": "s"}
            })).unwrap();
            let mut response: RecordedResponse = serde_json::from_value(json!({
                "status": 200, "body": {"participantTokens": [{"token": jwt}, {"token": jwt}]}
            })).unwrap();
            exchange(&mut request, &mut response, false);
            let interaction = Interaction { request, response };
            proptest::prop_assert_eq!(scan_interaction(0, &interaction), []);
            let written = serde_json::to_string(&interaction).unwrap();
            proptest::prop_assert!(!written.contains(&jwt));
            proptest::prop_assert!(!written.contains(&exp.to_string()));
            for value in claims.values() {
                proptest::prop_assert!(!written.contains(value.as_str()), "{} in {}", value, written);
            }
            let mut body = interaction.response.body.unwrap();
            proptest::prop_assert!(render_fakes(&mut body, "us-west-2"));
            for token in body["participantTokens"].as_array().unwrap() {
                let (_, fake_claims) = jwt::decode(token["token"].as_str().unwrap()).unwrap();
                proptest::prop_assert_eq!(
                    fake_claims.keys().collect::<Vec<_>>(),
                    payload.keys().collect::<Vec<_>>()
                );
            }
        }
    }
}
