//! The prepared answer: a recorded response turned into HTTP once, then cloned per request.
//!
//! Replay prepares one per interaction at start; record prepares one when it replays from an
//! existing cassette; the emulator will answer the same way. So a recorded interaction is answered
//! alike whoever serves it: its status, its headers (less `Content-Length`, which hyper computes),
//! `x-ivs-vcr-source` and `x-ivs-vcr-match: exact`, and its body bytes, where a secret's
//! placeholder is rendered as a fake in the secret's own format (a stream key as `sk_<region>_…`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::Full;

use crate::cassette::RecordedResponse;
use crate::http::{HttpResponse, MATCH_NAME, SOURCE_NAME};

/// A prepared answer: built once at start, cloned per request. Record's replayed answers are
/// built the same way, so both servers answer a recorded interaction alike.
///
/// It fills one cache line, and what it sends sits in one buffer: with 100,000 answers, a hit
/// reads this line, the reference count of the chunk its buffer is in (answers prepared in bulk
/// share chunks, [`SharedHeaders::packing`]) and the bytes it sends, which are mostly out of
/// cache and are asked for all at once ([`prefetch`]).
/// The header values that differ from one answer to the next (its request id, its source) are
/// kept in that buffer too, so the header map is shared by every answer recorded with the same
/// other headers rather than built once per answer.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct Prepared {
    /// This answer's own header values, in the order of `values`, then its body.
    bytes: Bytes,
    /// The recorded headers, `x-ivs-vcr-source` (when the answer has a source) and
    /// `x-ivs-vcr-match: exact`, with an empty placeholder for each of this answer's own values.
    headers: Arc<HeaderMap>,
    /// This answer's own header values: where each goes among the map's values (in iteration
    /// order, which the map shares with every answer that shares it) and how many bytes it has.
    values: [(u8, u16); MAX_OWN_VALUES],
    /// How many of `values` are used.
    n_values: u8,
    status: StatusCode,
}

/// The place of an own value that is not sent.
const NOT_SENT: u8 = u8::MAX;

/// How many header values an answer keeps of its own: its source and two recorded ids. A
/// recorded answer with more ids than that keeps the others in its map.
const MAX_OWN_VALUES: usize = 3;

/// Recorded response headers whose value changes with every call (the lowercase names, as
/// `diff` ignores them too). Their values are kept per answer; number 0 is `x-ivs-vcr-source`.
const OWN_NAMES: [HeaderName; 7] = [
    SOURCE_NAME,
    HeaderName::from_static("x-amzn-requestid"),
    HeaderName::from_static("x-amz-request-id"),
    HeaderName::from_static("x-amz-id-2"),
    HeaderName::from_static("x-amz-apigw-id"),
    HeaderName::from_static("x-amz-cf-id"),
    HeaderName::from_static("x-amzn-trace-id"),
];

/// Response header values common enough to keep as static values: a copy of the map takes and
/// drops no reference count for them.
const STATIC_VALUES: [&str; 3] = ["", "application/json", "exact"];

/// A recorded header name, as a static name when it is one the map will hold often.
fn header_name(name: &str) -> Option<HeaderName> {
    for known in OWN_NAMES.into_iter().chain([MATCH_NAME]) {
        if known.as_str().eq_ignore_ascii_case(name) {
            return Some(known);
        }
    }
    HeaderName::from_bytes(name.as_bytes()).ok()
}

/// A recorded header value, as a static value when it is one of [`STATIC_VALUES`].
fn header_value(value: &str) -> Option<HeaderValue> {
    match STATIC_VALUES.iter().find(|known| **known == value) {
        Some(known) => Some(HeaderValue::from_static(known)),
        None => HeaderValue::from_str(value).ok(),
    }
}

/// Recorded headers as a map's key: names with their values, or an empty value for an answer's
/// own, in the recorded order.
type HeaderKey<'a> = Vec<(&'a str, &'a str)>;

/// The header maps already built, by key and whether they hold a source: answers prepared
/// with the same `SharedHeaders` share their maps. It borrows the recorded headers, and a run of
/// answers with the same key (the usual cassette) reuses the last map without hashing, so
/// building it allocates nothing per answer beyond the maps.
#[derive(Debug, Default)]
pub(crate) struct SharedHeaders<'a> {
    maps: [HashMap<HeaderKey<'a>, Arc<HeaderMap>>; 2],
    /// The last answer's key, whether it had a source, and its map.
    last: Option<(HeaderKey<'a>, bool, Arc<HeaderMap>)>,
    /// The key being built: the recorded headers with the answer's own values left out (their
    /// names stay, with an empty value, where they were). Reused from one answer to the next.
    scratch: HeaderKey<'a>,
    /// The answer being written.
    buffer: Vec<u8>,
    /// Where answers' buffers are copied to once written: a chunk that later answers fill, when
    /// [`SharedHeaders::packing`], else one buffer per answer.
    arena: BytesMut,
    /// Whether answers share chunks ([`SharedHeaders::packing`]) or each get a buffer of its own.
    packing: bool,
}

/// The size of a chunk that answers prepared in bulk are packed into (one larger answer gets a
/// chunk of its own). With 100,000 answers, each of its own allocation cost a cache miss per
/// hit on its reference count, kept elsewhere in memory; answers in a chunk share the chunk's,
/// which stays in cache, and their bytes sit end to end, without an allocation's header and
/// rounding between them.
const CHUNK: usize = 256 * 1024;

impl<'a> SharedHeaders<'a> {
    /// For answers prepared in bulk: their buffers are packed into shared chunks of [`CHUNK`].
    pub(crate) fn packing() -> SharedHeaders<'a> {
        SharedHeaders {
            packing: true,
            ..SharedHeaders::default()
        }
    }

    /// `written` copied out as one answer's buffer: into the current chunk when packing, where
    /// it shares the chunk's allocation and reference count, else into a buffer of its size.
    fn copy_out(&mut self, written: &[u8]) -> Bytes {
        if self.arena.capacity() - self.arena.len() < written.len() {
            let size = if self.packing {
                CHUNK.max(written.len())
            } else {
                written.len()
            };
            self.arena = BytesMut::with_capacity(size);
        }
        self.arena.extend_from_slice(written);
        self.arena.split().freeze()
    }

    /// The map for the key in `scratch`.
    fn get(&mut self, with_source: bool) -> Arc<HeaderMap> {
        if let Some((key, source, map)) = &self.last {
            if *source == with_source && key[..] == self.scratch[..] {
                return map.clone();
            }
        }
        let maps = &mut self.maps[usize::from(with_source)];
        let map = match maps.get(&self.scratch[..]) {
            Some(map) => map.clone(),
            None => {
                let map = Arc::new(header_map(&self.scratch, with_source));
                maps.insert(self.scratch.clone(), map.clone());
                map
            }
        };
        self.last = Some((self.scratch.clone(), with_source, map.clone()));
        map
    }
}

/// The headers (less `Content-Length`), an empty `x-ivs-vcr-source` when asked, and
/// `x-ivs-vcr-match: exact`.
fn header_map(recorded: &[(&str, &str)], with_source: bool) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in recorded {
        // Invariant: `Cassette::load` validated every header name and value; a cassette
        // built in code with a bad one loses that header rather than the whole answer.
        if let (Some(name), Some(value)) = (header_name(name), header_value(value)) {
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

/// Which of [`OWN_NAMES`] a recorded header is, when its value can be kept per answer: it is a
/// header value, short enough, and the only header of that name in `recorded`.
fn own_value(recorded: &BTreeMap<String, String>, name: &str, value: &str) -> Option<u8> {
    let n = OWN_NAMES[1..]
        .iter()
        .position(|own| own.as_str().eq_ignore_ascii_case(name))?;
    let alone = recorded
        .keys()
        .filter(|other| other.eq_ignore_ascii_case(name))
        .count()
        == 1;
    (alone && u16::try_from(value.len()).is_ok() && HeaderValue::from_str(value).is_ok())
        .then_some(n as u8 + 1)
}

/// Writes the body to send: the recorded one, with secret placeholders rendered as fakes in
/// their own format (`redact::render_fakes`): a replayed stream key looks like one. The body is
/// serialized once; only one that holds a placeholder is serialized again, rendered.
fn write_body(res: &RecordedResponse, out: &mut Vec<u8>) {
    let start = out.len();
    match (&res.body, &res.body_text) {
        // Invariant: serializing a `serde_json::Value` into memory cannot fail.
        (Some(json), _) => serde_json::to_writer(&mut *out, json).expect("Value serializes"),
        (None, Some(text)) => out.extend_from_slice(text.as_bytes()),
        (None, None) => {}
    }
    let Some(body) = &res.body else {
        return;
    };
    let written = std::str::from_utf8(&out[start..]).unwrap_or_default();
    if written.contains(crate::redact::REDACTED_PREFIX) {
        let mut body = body.clone();
        if crate::redact::render_fakes(&mut body, crate::http::DEFAULT_REGION) {
            out.truncate(start);
            serde_json::to_writer(&mut *out, &body).expect("Value serializes");
        }
    }
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
        use std::io::Write as _;
        // This answer's own values, then its body, written in a buffer reused from one answer
        // to the next and copied out at its exact size.
        let mut bytes = std::mem::take(&mut shared.buffer);
        bytes.clear();
        let mut values = [(0, 0); MAX_OWN_VALUES];
        let mut n_values = 0;
        // Invariant: writing into memory cannot fail.
        write!(bytes, "{cassette}#{idx}").expect("writing into memory");
        // A name that is no header value (it has a control character), or too long a one, leaves
        // the answer without a source rather than without its other headers.
        let with_source = match u16::try_from(bytes.len()) {
            Ok(len) if HeaderValue::from_bytes(&bytes).is_ok() => {
                values[0] = (0, len);
                n_values = 1;
                true
            }
            _ => {
                bytes.clear();
                false
            }
        };
        shared.scratch.clear();
        for (name, value) in &res.headers {
            match own_value(&res.headers, name, value) {
                Some(n) if n_values < MAX_OWN_VALUES => {
                    // Invariant: `own_value` keeps only values under 64 KiB.
                    values[n_values] = (n, u16::try_from(value.len()).expect("checked"));
                    n_values += 1;
                    bytes.extend_from_slice(value.as_bytes());
                    shared.scratch.push((name.as_str(), ""));
                }
                _ => shared.scratch.push((name.as_str(), value.as_str())),
            }
        }
        write_body(res, &mut bytes);
        let written = shared.copy_out(&bytes);
        shared.buffer = bytes;
        let bytes = written;
        let headers = shared.get(with_source);
        // Each own value's name becomes its place among the map's values, where its empty
        // placeholder is: `own_value` keeps only names recorded once. A value whose place is past
        // what a byte counts (a map of over 254 values) is not sent.
        for (n, _) in &mut values[..n_values] {
            let name = &OWN_NAMES[usize::from(*n)];
            let place = headers.iter().position(|(key, _)| key == name);
            *n = place.map_or(NOT_SENT, |place| u8::try_from(place).unwrap_or(NOT_SENT));
        }
        Prepared {
            bytes,
            headers,
            values,
            n_values: n_values as u8,
            status: StatusCode::from_u16(res.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// This answer's own header values, as slices of its buffer, and where its body starts.
    fn own_values(
        &self,
    ) -> (
        impl Iterator<Item = (u8, std::ops::Range<usize>)> + '_,
        usize,
    ) {
        let lens = &self.values[..usize::from(self.n_values)];
        let body_at = lens.iter().map(|&(_, len)| usize::from(len)).sum();
        let mut at = 0;
        let values = lens.iter().map(move |&(n, len)| {
            let start = at;
            at += usize::from(len);
            (n, start..at)
        });
        (values, body_at)
    }

    /// The answer as a response, unchanged.
    pub(crate) fn to_response(&self) -> HttpResponse {
        prefetch(&self.bytes);
        let (values, body_at) = self.own_values();
        let mut response = Response::new(Full::new(self.bytes.slice(body_at..)));
        *response.status_mut() = self.status;
        let mut headers = HeaderMap::clone(&self.headers);
        for (place, range) in values {
            if place == NOT_SENT {
                continue;
            }
            // The value goes in by its place: no name is hashed.
            if let Some(slot) = headers.values_mut().nth(usize::from(place)) {
                // SAFETY: `sharing` wrote into `bytes` at `range` only a value that passed
                // `HeaderValue::from_str` or `from_bytes` (`own_value`, the source), and `bytes`
                // is never written again; so the slice is a valid header value, which is all
                // `from_maybe_shared_unchecked` asks (it is unsafe because an invalid one would
                // put a line break into the answer's head, not for memory's sake). Checking it
                // again cost about 100 instructions a value on every replayed request; keeping
                // the checked `HeaderValue`s instead (40 bytes each) would take the answer past
                // one cache line.
                *slot =
                    unsafe { HeaderValue::from_maybe_shared_unchecked(self.bytes.slice(range)) };
            }
        }
        *response.headers_mut() = headers;
        response
    }
}

/// Asks the CPU to start loading every cache line of `bytes`, so that they load side by side
/// while the response is built, rather than one after another when hyper and the kernel copy
/// them out. Only a hint: it changes no result.
#[inline]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let start = bytes.as_ptr();
        let last = bytes.len().saturating_sub(1);
        for offset in (0..bytes.len()).step_by(64).chain([last]) {
            // SAFETY: a prefetch is a hint: it never faults, writes nothing and returns nothing,
            // whatever the address (and this one is inside `bytes`). SSE, which it needs, is
            // part of every x86_64 CPU.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(offset).cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

impl Prepared {
    /// The body bytes as recorded, for answers that are rewritten (region translation).
    pub(crate) fn status(&self) -> http::StatusCode {
        self.status
    }

    pub(crate) fn body(&self) -> &[u8] {
        &self.bytes[self.own_values().1..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &[(&str, &str)], body: serde_json::Value) -> RecordedResponse {
        RecordedResponse {
            status: 200,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Some(body),
            body_text: None,
        }
    }

    /// The response's headers, in order, and its body.
    fn sent(prepared: &Prepared) -> (Vec<(String, String)>, Bytes) {
        let response = prepared.to_response();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        let body = collect_body(response);
        (headers, body)
    }

    fn collect_body(response: HttpResponse) -> Bytes {
        use http_body_util::BodyExt;
        let collected = block_on(response.into_body().collect());
        collected.expect("a full body is infallible").to_bytes()
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_prepared_answer_fills_one_cache_line() {
        // A hit reads this struct: keep it from growing into a second line.
        assert_eq!(std::mem::size_of::<Prepared>(), 64);
    }

    #[test]
    fn answers_prepared_in_bulk_sit_end_to_end_in_chunks_and_each_sends_its_own() {
        let big_body = serde_json::json!({"blob": "x".repeat(CHUNK)});
        let answers = [
            response(&[("x-amzn-RequestId", "id-0")], serde_json::json!({"n": 0})),
            response(&[("x-amzn-RequestId", "id-1")], serde_json::json!({"n": 1})),
            // Larger than a chunk: it gets one of its own, whole.
            response(&[("x-amzn-RequestId", "id-2")], big_body.clone()),
            response(&[("x-amzn-RequestId", "id-3")], serde_json::json!({"n": 3})),
        ];
        let mut shared = SharedHeaders::packing();
        let prepared: Vec<Prepared> = answers
            .iter()
            .enumerate()
            .map(|(idx, a)| Prepared::sharing(a, "bulk", idx, &mut shared))
            .collect();
        let end = |p: &Prepared| p.bytes.as_ptr().wrapping_add(p.bytes.len());
        assert_eq!(end(&prepared[0]), prepared[1].bytes.as_ptr());
        assert_ne!(end(&prepared[1]), prepared[2].bytes.as_ptr());
        assert_ne!(end(&prepared[2]), prepared[3].bytes.as_ptr());
        for (idx, p) in prepared.iter().enumerate() {
            let (headers, body) = sent(p);
            assert!(headers.contains(&("x-amzn-requestid".to_owned(), format!("id-{idx}"))));
            assert!(headers.contains(&("x-ivs-vcr-source".to_owned(), format!("bulk#{idx}"))));
            let expected = if idx == 2 {
                big_body.clone()
            } else {
                serde_json::json!({ "n": idx })
            };
            assert_eq!(
                serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
                expected
            );
        }
        // One at a time, an answer's buffer is its own size.
        let alone = Prepared::new(&answers[0], "bulk", 0);
        let (_, body) = sent(&alone);
        assert_eq!(&body[..], br#"{"n":0}"#);
        assert_eq!(
            alone.bytes.len(),
            "bulk#0".len() + "id-0".len() + body.len()
        );
    }

    #[test]
    fn answers_that_differ_in_ids_share_a_map_and_send_their_own() {
        let a = response(
            &[
                ("Content-Type", "application/json"),
                ("x-amzn-RequestId", "id-a"),
                ("x-amz-apigw-id", "gw-a"),
            ],
            serde_json::json!({"n": 1}),
        );
        let b = response(
            &[
                ("Content-Type", "application/json"),
                ("x-amzn-RequestId", "id-bb"),
                ("x-amz-apigw-id", "gw-b"),
            ],
            serde_json::json!({"n": 2}),
        );
        let mut shared = SharedHeaders::default();
        let pa = Prepared::sharing(&a, "flow", 0, &mut shared);
        let pb = Prepared::sharing(&b, "flow", 1, &mut shared);
        assert!(Arc::ptr_eq(&pa.headers, &pb.headers));
        // In the recorded order (names sorted as the cassette keeps them), then the source and
        // the match, each answer with its own values and body.
        assert_eq!(
            sent(&pa),
            (
                pairs(&[
                    ("content-type", "application/json"),
                    ("x-amz-apigw-id", "gw-a"),
                    ("x-amzn-requestid", "id-a"),
                    ("x-ivs-vcr-source", "flow#0"),
                    ("x-ivs-vcr-match", "exact"),
                ]),
                Bytes::from_static(br#"{"n":1}"#)
            )
        );
        assert_eq!(
            sent(&pb),
            (
                pairs(&[
                    ("content-type", "application/json"),
                    ("x-amz-apigw-id", "gw-b"),
                    ("x-amzn-requestid", "id-bb"),
                    ("x-ivs-vcr-source", "flow#1"),
                    ("x-ivs-vcr-match", "exact"),
                ]),
                Bytes::from_static(br#"{"n":2}"#)
            )
        );
        assert_eq!(pb.body(), br#"{"n":2}"#);
    }

    #[test]
    fn ids_beyond_the_answers_own_and_repeated_names_stay_in_the_map() {
        let recorded = response(
            &[
                ("X-Amzn-RequestId", "upper"),
                ("x-amzn-requestid", "lower"),
                ("x-amz-apigw-id", "gw"),
                ("x-amz-cf-id", "cf"),
                ("x-amz-id-2", "id2"),
            ],
            serde_json::json!({}),
        );
        let prepared = Prepared::new(&recorded, "flow", 3);
        // Source, then two ids of its own; the third id and the repeated name keep their
        // recorded values in the map.
        assert_eq!(prepared.n_values, 3);
        let (headers, body) = sent(&prepared);
        assert_eq!(
            headers,
            pairs(&[
                ("x-amzn-requestid", "upper"),
                ("x-amzn-requestid", "lower"),
                ("x-amz-apigw-id", "gw"),
                ("x-amz-cf-id", "cf"),
                ("x-amz-id-2", "id2"),
                ("x-ivs-vcr-source", "flow#3"),
                ("x-ivs-vcr-match", "exact"),
            ])
        );
        assert_eq!(body, Bytes::from_static(b"{}"));
    }

    #[test]
    fn a_source_that_is_no_header_value_is_left_out() {
        let recorded = response(&[("x-amzn-RequestId", "id")], serde_json::json!({}));
        let prepared = Prepared::new(&recorded, "bad\nname", 0);
        let (headers, _) = sent(&prepared);
        assert_eq!(
            headers,
            pairs(&[("x-amzn-requestid", "id"), ("x-ivs-vcr-match", "exact")])
        );
    }
}
