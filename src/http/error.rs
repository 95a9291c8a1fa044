//! AWS-style error answers: what every SDK surfaces with its message.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

use super::{HttpResponse, MATCH_NAME};
use crate::ivs;

/// An error and its sources in one line (`a: b: c`), for logs and summaries.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// The answer to a method and path that are not an IVS route: 405 with `Allow` for a method IVS
/// does not use there, 404 `IvsVcrUnknownOperationException` for anything else.
pub(crate) fn route_error_response(err: &ivs::RouteError) -> HttpResponse {
    match err {
        ivs::RouteError::MethodNotAllowed { allow, .. } => {
            let mut response = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "IvsVcrMethodNotAllowedException",
                &err.to_string(),
            );
            response
                .headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static(allow));
            response
        }
        _ => error_response(
            StatusCode::NOT_FOUND,
            "IvsVcrUnknownOperationException",
            &err.to_string(),
        ),
    }
}

static ERROR_SEQ: AtomicU64 = AtomicU64::new(1);

/// An AWS-style error that every SDK surfaces with its message: `x-amzn-ErrorType` for the code,
/// and the text under `message` (what boto3, the CLI, the JS SDK and aws-sdk-rust read) as well as
/// `exceptionMessage` (IVS's own member).
pub fn error_response(status: StatusCode, error_type: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({
        "__type": error_type,
        "message": message,
        "exceptionMessage": message,
    });
    let request_id = format!("ivs-vcr-{:012}", ERROR_SEQ.fetch_add(1, Ordering::Relaxed));
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(error_type) {
        headers.insert("x-amzn-ErrorType", value);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-RequestId", value);
    }
    headers.insert(MATCH_NAME, HeaderValue::from_static("none"));
    response
}
