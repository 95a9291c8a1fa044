//! The prepared answer: a recorded response turned into HTTP once, then cloned per request.
//!
//! Replay prepares one per interaction at start; record prepares one when it replays from an
//! existing cassette; the emulator will answer the same way. So a recorded interaction is answered
//! alike whoever serves it: its status, its headers (less `Content-Length`, which hyper computes),
//! `x-ivs-vcr-source` and `x-ivs-vcr-match: exact`, and its body bytes, where a secret's
//! placeholder is rendered as a fake in the secret's own format (a stream key as `sk_<region>_…`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::Full;

use crate::cassette::RecordedResponse;
use crate::http::{HttpResponse, MATCH_NAME, SOURCE_NAME};

/// A prepared answer: built once at start, cloned per request. Record's replayed answers are
/// built the same way, so both servers answer a recorded interaction alike.
///
/// It fills one cache line, and what it sends sits in one buffer: with 100,000 answers, a hit
/// reads this line, one reference count and the bytes it sends, which are mostly out of cache.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct Prepared {
    /// This answer's `x-ivs-vcr-source` value, then its body.
    bytes: Bytes,
    /// Where the body starts in `bytes`: 0 for an answer without a source.
    body_at: u32,
    status: StatusCode,
    /// The recorded headers, `x-ivs-vcr-source` (a placeholder, when the answer has a source)
    /// and `x-ivs-vcr-match: exact`: one map for every answer recorded with the same headers.
    headers: Arc<HeaderMap>,
}

/// The header maps already built, by recorded headers and whether they hold a source: answers
/// prepared with the same `SharedHeaders` share their maps. It borrows the recorded headers, so
/// building it allocates nothing per answer beyond the maps.
#[derive(Debug, Default)]
pub(crate) struct SharedHeaders<'a>([HashMap<&'a BTreeMap<String, String>, Arc<HeaderMap>>; 2]);

impl<'a> SharedHeaders<'a> {
    fn get(&mut self, recorded: &'a BTreeMap<String, String>, with_source: bool) -> Arc<HeaderMap> {
        self.0[usize::from(with_source)]
            .entry(recorded)
            .or_insert_with(|| Arc::new(header_map(recorded, with_source)))
            .clone()
    }
}

/// The recorded headers (less `Content-Length`), a placeholder `x-ivs-vcr-source` when asked,
/// and `x-ivs-vcr-match: exact`.
fn header_map(recorded: &BTreeMap<String, String>, with_source: bool) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in recorded {
        // Invariant: `Cassette::load` validated every header name and value; a cassette
        // built in code with a bad one loses that header rather than the whole answer.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            // Content-Length is recomputed from the body we send.
            if name != http::header::CONTENT_LENGTH {
                headers.append(name, value);
            }
        }
    }
    if with_source {
        // Where a recorded `x-ivs-vcr-source` was, or else after the recorded headers: each
        // response overwrites the value in place, so the map's order is the answer's.
        headers.insert(SOURCE_NAME, HeaderValue::from_static(""));
    }
    // Present from the start, so that the per-request copy never has to grow: an answer by
    // operation only overwrites the value.
    headers.insert(MATCH_NAME, HeaderValue::from_static("exact"));
    headers
}

/// The body to send: the recorded one, with secret placeholders rendered as fakes in their own
/// format (`redact::render_fakes`): a replayed stream key looks like one.
/// The body is serialized once; only one that holds a placeholder is copied and rendered.
fn rendered_body(res: &RecordedResponse) -> Bytes {
    let bytes = res.body_bytes();
    let prefix = crate::redact::REDACTED_PREFIX.as_bytes();
    if let Some(body) = &res.body {
        if bytes.windows(prefix.len()).any(|w| w == prefix) {
            let mut body = body.clone();
            if crate::redact::render_fakes(&mut body, crate::http::DEFAULT_REGION) {
                return Bytes::from(body.to_string());
            }
        }
    }
    bytes
}

impl Prepared {
    /// The answer of interaction `idx` of cassette `cassette`: recorded status, headers and body,
    /// with `x-ivs-vcr-source` and `x-ivs-vcr-match: exact`.
    pub(crate) fn new(res: &RecordedResponse, cassette: &str, idx: usize) -> Prepared {
        Prepared::sharing(res, cassette, idx, &mut SharedHeaders::default())
    }

    /// [`Prepared::new`], sharing its header map with answers prepared before through `shared`
    /// that were recorded with the same headers.
    pub(crate) fn sharing<'a>(
        res: &'a RecordedResponse,
        cassette: &str,
        idx: usize,
        shared: &mut SharedHeaders<'a>,
    ) -> Prepared {
        let source = format!("{cassette}#{idx}");
        // A name that is no header value (it has a control character) leaves the answer without
        // a source rather than without its other headers.
        let source = HeaderValue::from_str(&source).is_ok().then_some(source);
        let body = rendered_body(res);
        let source_len = source.as_ref().map_or(0, String::len);
        let mut bytes = Vec::with_capacity(source_len + body.len());
        bytes.extend_from_slice(source.as_deref().unwrap_or("").as_bytes());
        bytes.extend_from_slice(&body);
        let bytes = Bytes::from(bytes);
        // The first clone allocates the shared reference count; taking it now puts it beside the
        // bytes in memory, and off the first request.
        drop(bytes.clone());
        Prepared {
            bytes,
            // Invariant: a cassette is at most a few GiB, so one body is far under 4 GiB.
            body_at: u32::try_from(source_len).expect("a source name under 4 GiB"),
            status: StatusCode::from_u16(res.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: shared.get(&res.headers, source.is_some()),
        }
    }

    /// The answer as a response, unchanged.
    pub(crate) fn to_response(&self) -> HttpResponse {
        let body_at = self.body_at as usize;
        let mut response = Response::new(Full::new(self.bytes.slice(body_at..)));
        *response.status_mut() = self.status;
        let mut headers = HeaderMap::clone(&self.headers);
        if body_at > 0 {
            // Invariant: `sharing` kept only a source that is a header value.
            if let Ok(source) = HeaderValue::from_maybe_shared(self.bytes.slice(..body_at)) {
                headers.insert(SOURCE_NAME, source);
            }
        }
        *response.headers_mut() = headers;
        response
    }
}

impl Prepared {
    /// The body bytes as recorded, for answers that are rewritten (region translation).
    pub(crate) fn status(&self) -> http::StatusCode {
        self.status
    }

    pub(crate) fn body(&self) -> &[u8] {
        &self.bytes[self.body_at as usize..]
    }
}
