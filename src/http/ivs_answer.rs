//! Answers in IVS's own form, for what ivs-vcr answers as IVS (the emulator, injected faults):
//! IVS's headers, a request id, `x-amzn-ErrorType` on errors, and error bodies with IVS's
//! `exceptionMessage` beside the `message` SDKs show.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::MATCH_NAME;
use crate::seeded::SplitMix64;

/// The headers IVS sends with every answer. The names are the response header members the model
/// declares on every error shape and on the BatchGet outputs (the emulator's test
/// `responses_carry_the_models_header_members` checks them); the values are inferred (the model
/// names the headers, not their values) and are those the bundled cassettes carry.
pub(crate) const IVS_HEADERS: [(&str, &str); 7] = [
    ("Access-Control-Allow-Origin", "*"),
    (
        "Access-Control-Expose-Headers",
        "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date",
    ),
    ("Cache-Control", "no-store, no-cache"),
    ("Content-Security-Policy", "default-src 'self'"),
    (
        "Strict-Transport-Security",
        "max-age=47304000; includeSubDomains",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
];

const REQUEST_ID_NAME: HeaderName = HeaderName::from_static("x-amzn-requestid");
const ERROR_TYPE_NAME: HeaderName = HeaderName::from_static("x-amzn-errortype");

/// The headers every JSON answer starts from, built once: `Content-Type`, [`IVS_HEADERS`] and an
/// empty request id, then, for an answer marked with `x-ivs-vcr-match`, an empty mark. Each answer
/// fills the empty values in place, so the per-answer copy of the map never grows (a copy has
/// room for exactly what it holds).
fn header_template(marked: bool) -> &'static HeaderMap {
    static TEMPLATES: OnceLock<[HeaderMap; 2]> = OnceLock::new();
    let templates = TEMPLATES.get_or_init(|| {
        let mut headers = HeaderMap::with_capacity(12);
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in IVS_HEADERS {
            headers.insert(
                // Invariant: the names above are valid header names (a unit test sends them).
                HeaderName::from_bytes(name.as_bytes()).expect("valid header name"),
                HeaderValue::from_static(value),
            );
        }
        headers.insert(REQUEST_ID_NAME, HeaderValue::from_static(""));
        let mut marked = headers.clone();
        marked.insert(MATCH_NAME, HeaderValue::from_static(""));
        [headers, marked]
    });
    &templates[usize::from(marked)]
}

/// Where the template's request id is among its values (after `Content-Type` and
/// [`IVS_HEADERS`]), and its match mark right after it: each answer fills them by place, with no
/// name hashed (`templates_hold_the_request_id_and_mark_at_their_places` checks them).
const REQUEST_ID_PLACE: usize = 1 + IVS_HEADERS.len();

/// An answer as IVS sends it: `Content-Type` (when there is a body), a request id,
/// `x-amzn-ErrorType` on errors (left out if it is no valid header value), IVS's other headers,
/// and `x-ivs-vcr-match: <matched>` when given.
pub(crate) fn ivs_answer(
    status: StatusCode,
    error: Option<&str>,
    body: Option<Bytes>,
    matched: Option<&'static str>,
) -> (StatusCode, HeaderMap, Bytes) {
    let mut headers = header_template(matched.is_some()).clone();
    let mut values = headers.values_mut().skip(REQUEST_ID_PLACE);
    // The id is written in place and copied once, into the value's own buffer. Invariant: an
    // id is hex and dashes, a valid header value.
    if let (Some(slot), Ok(id)) = (
        values.next(),
        HeaderValue::from_maybe_shared(Bytes::copy_from_slice(&request_id_bytes())),
    ) {
        *slot = id;
    }
    if let (Some(slot), Some(matched)) = (values.next(), matched) {
        *slot = HeaderValue::from_static(matched);
    }
    // Removing a header reorders the map: only once the places are filled.
    let body = body.unwrap_or_else(|| {
        headers.remove(http::header::CONTENT_TYPE);
        Bytes::new()
    });
    if let Some(error) = error.and_then(|e| HeaderValue::from_str(e).ok()) {
        headers.insert(ERROR_TYPE_NAME, error);
    }
    (status, headers, body)
}

/// An IVS error body: `exceptionMessage` (IVS's member) and `message` (what boto3, the aws CLI,
/// the JS SDK and aws-sdk-rust show; CLIENTS.md).
pub(crate) fn ivs_error_body(message: &str) -> Bytes {
    let body = serde_json::json!({ "exceptionMessage": message, "message": message });
    Bytes::from(body.to_string())
}

/// A fresh `x-amzn-RequestId`, in AWS's UUID form (version 4, variant 1), as text for tests.
#[cfg(test)]
pub(crate) fn request_id() -> String {
    // Invariant: the bytes are hex digits and dashes.
    String::from_utf8(request_id_bytes().to_vec()).expect("hex and dashes are text")
}

/// A fresh `x-amzn-RequestId` as bytes, written in place: 32 hex digits with the version and
/// variant set, dashed 8-4-4-4-12.
fn request_id_bytes() -> [u8; 36] {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut ids = SplitMix64::new(NEXT.fetch_add(1, Ordering::Relaxed) ^ 0x05ee_d1d5);
    let (a, b) = (ids.next_u64(), ids.next_u64());
    let bits = (u128::from(a) << 64 | u128::from(b)) & !(0xf << 76) & !(0x3 << 62)
        | (0x4 << 76)
        | (0x2 << 62);
    // Where each of the 16 bytes' two digits go: the dashes sit at 8, 13, 18 and 23.
    const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let mut out = [b'-'; 36];
    for (&at, byte) in AT.iter().zip(bits.to_be_bytes()) {
        out[at] = HEX[usize::from(byte >> 4)];
        out[at + 1] = HEX[usize::from(byte & 0xf)];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_hold_the_request_id_and_mark_at_their_places() {
        for marked in [false, true] {
            let names: Vec<_> = header_template(marked).keys().cloned().collect();
            assert_eq!(names[REQUEST_ID_PLACE], REQUEST_ID_NAME);
            assert_eq!(
                names.get(REQUEST_ID_PLACE + 1),
                marked.then_some(&MATCH_NAME)
            );
        }
    }

    #[test]
    fn every_answer_has_its_own_id_and_its_mark_whatever_its_body_and_error() {
        let mut ids = std::collections::HashSet::new();
        for (error, body, matched) in [
            (None, Some(Bytes::from_static(b"{}")), None),
            (None, Some(Bytes::from_static(b"{}")), Some("emulated")),
            (
                Some("ValidationException"),
                Some(Bytes::from_static(b"{}")),
                Some("emulated"),
            ),
            (None, None, Some("emulated")),
            (None, None, None),
        ] {
            let (_, headers, sent) = ivs_answer(StatusCode::OK, error, body.clone(), matched);
            let id = headers[&REQUEST_ID_NAME].to_str().unwrap().to_owned();
            assert_eq!(id.len(), 36, "{id}");
            assert!(ids.insert(id), "a fresh id per answer");
            assert_eq!(
                headers.get(MATCH_NAME).map(|v| v.to_str().unwrap()),
                matched
            );
            assert_eq!(
                headers.get(ERROR_TYPE_NAME).map(|v| v.to_str().unwrap()),
                error
            );
            assert_eq!(
                headers.contains_key(http::header::CONTENT_TYPE),
                body.is_some()
            );
            assert_eq!(sent, body.unwrap_or_default());
            for (name, value) in IVS_HEADERS {
                assert_eq!(headers[name], value, "{name}");
            }
            // Every value is filled: no empty placeholder is sent.
            assert!(headers.values().all(|v| !v.is_empty()), "{headers:?}");
        }
    }
}
