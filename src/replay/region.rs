//! Region translation: serving cassettes recorded in one region (the bundled set's `us-west-2`)
//! to clients of any region.
//!
//! The request's region is replaced by the home region in its path, query and body strings before
//! matching, and the answer gets the client's region back wherever the cassette names the home
//! region (ARNs, ingest endpoints, playback URLs, stream keys). This is a textual replacement of
//! one valid region name by another, not ARN parsing: the region also appears outside ARNs.

use bytes::Bytes;
use http::HeaderValue;
use http_body_util::Full;

use crate::cassette::RecordedRequest;
use crate::http::HttpResponse;

/// Replaces the client's region by the home region in the request's path, query and body strings.
pub(super) fn translate_request(req: &mut RecordedRequest, region: &str, home: &str) {
    if req.path.contains(region) {
        req.path = req.path.replace(region, home);
    }
    for value in req.query.values_mut().flatten() {
        if value.contains(region) {
            *value = value.replace(region, home);
        }
    }
    if let Some(body) = req.body.as_mut() {
        replace_in_strings(body, region, home);
    }
}

fn replace_in_strings(value: &mut serde_json::Value, from: &str, to: &str) {
    match value {
        serde_json::Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        serde_json::Value::Array(items) => items
            .iter_mut()
            .for_each(|v| replace_in_strings(v, from, to)),
        serde_json::Value::Object(map) => map
            .values_mut()
            .for_each(|v| replace_in_strings(v, from, to)),
        _ => {}
    }
}

/// Puts the client's `region` back wherever the answer names `home`, in headers and body. Both
/// are valid region names (letters, digits and dashes), so the textual replacement cannot break
/// the JSON.
pub(super) fn translate_answer(response: &mut HttpResponse, body: &[u8], home: &str, region: &str) {
    for value in response.headers_mut().values_mut() {
        let translated = value
            .to_str()
            .ok()
            .filter(|text| text.contains(home))
            .and_then(|text| HeaderValue::from_str(&text.replace(home, region)).ok());
        if let Some(translated) = translated {
            *value = translated;
        }
    }
    let text = String::from_utf8_lossy(body);
    if text.contains(home) {
        *response.body_mut() = Full::new(Bytes::from(text.replace(home, region)));
    }
}
