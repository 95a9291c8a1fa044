//! Injected faults on the request path: the one place both servers turn a fired
//! [`FaultSet`] rule into a delay, an IVS-style error answer, or a dropped connection, before
//! anything is matched, emulated or forwarded (so an injected fault is never recorded).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

use super::{DropConnection, HttpResponse, Side, MATCH_NAME};
use crate::fault::{FaultOutcome, FaultSet};
use crate::ivs::Service;

/// What a request for `service`'s `operation` meets: `None` to go on (after any injected delay),
/// or the answer that ends it. `account` works out the request's account, for the rules that name
/// one ([`FaultSet::check`] calls it only then).
pub(crate) async fn inject<A: AsRef<str>>(
    faults: &FaultSet,
    service: Service,
    operation: &str,
    account: impl FnOnce() -> A,
) -> Option<HttpResponse> {
    let action = faults.check(service, operation, account)?;
    if let Some(delay) = action.delay {
        tokio::time::sleep(delay).await;
    }
    match action.outcome {
        FaultOutcome::Continue => None,
        FaultOutcome::Respond(fault) => {
            tracing::debug!(side = %Side::Internal, rule = fault.rule_id, "injected error");
            let (status, headers, body) = fault.to_parts();
            let mut response = Response::new(Full::new(body));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            Some(response)
        }
        FaultOutcome::Drop(connection) => {
            tracing::debug!(side = %Side::Internal, ?connection, "injected connection drop");
            let mut response = Response::new(Full::new(Bytes::new()));
            response.extensions_mut().insert(DropConnection(connection));
            Some(response)
        }
    }
}

/// A JSON answer with the headers SDKs expect: `Content-Type`, a request id, and
/// `x-amzn-ErrorType` for errors.
pub(crate) fn json_response(
    status: u16,
    body: &serde_json::Value,
    error: Option<&str>,
    matched: &'static str,
) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(error) = error.and_then(|e| HeaderValue::from_str(e).ok()) {
        headers.insert("x-amzn-ErrorType", error);
    }
    headers.insert(MATCH_NAME, HeaderValue::from_static(matched));
    response
}
