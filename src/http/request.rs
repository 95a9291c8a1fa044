//! Reading a downstream request, once, into a [`RecordedRequest`].
//!
//! Both servers read a request first: [`read_body`] reads the body under [`MAX_BODY_BYTES`] and
//! the body timeout into a [`RawRequest`], and [`RawRequest::parse`] splits off the
//! `/cassette/<name>/` prefix, finds the region in the SigV4 credential scope and parses the
//! JSON ([`read_request`] does both; replay looks a hit up in between). Matching and forwarding
//! never see a hyper `Incoming`. The access key id of the credential is read only on demand
//! ([`RawRequest::access_key`]): only the emulator needs it.

use std::collections::BTreeMap;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode};
use hyper::body::{Body as _, Incoming};

use super::{error_response, HttpResponse};
use crate::cassette::RecordedRequest;
use crate::ivs::Service;
use crate::normalize;

/// The largest request body read, in bytes. IVS's largest inputs (a PEM public key, 50 ARNs, 20
/// viewer sessions) are a few kilobytes; anything far larger is refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The body limit of a request: [`MAX_BODY_BYTES`], except for a state restore
/// (`POST /_ivs-vcr/state`), whose document may hold many accounts
/// (`emulator::snapshot::MAX_DOCUMENT_BYTES`, 64 MiB).
fn body_limit(parts: &http::request::Parts) -> usize {
    if parts.method == http::Method::POST
        && parts.uri.path().trim_end_matches('/') == "/_ivs-vcr/state"
    {
        crate::emulator::snapshot::MAX_DOCUMENT_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

/// The URL prefix that selects one cassette: `http://127.0.0.1:PORT/cassette/<name>`.
pub const CASSETTE_PREFIX: &str = "/cassette/";
/// A downstream request, read once.
#[derive(Debug)]
pub(crate) struct Downstream {
    /// The cassette selected through a `/cassette/<name>/` prefix, if any.
    pub cassette: Option<String>,
    /// The request with the prefix removed.
    pub request: RecordedRequest,
    /// The raw body bytes, for forwarding upstream unchanged.
    pub raw_body: Bytes,
    /// True when the request carried a SigV4 credential scope (record needs one).
    pub signed: bool,
}

/// How [`read_request`] reads a request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadOptions<'a> {
    /// The region of a request that carries no SigV4 credential scope.
    pub default_region: &'a str,
    /// Keeps every non-volatile header in the request, for cassettes that match on headers;
    /// otherwise none is kept, which spares the common path the allocations.
    pub keep_headers: bool,
    /// How long the body may take once the headers are in.
    pub body_timeout: Duration,
}

/// Reads a downstream request: splits off the cassette prefix, finds the region, reads and parses
/// the body under the size limit and within `body_timeout`. A request that cannot be read becomes
/// an error response; one whose body was left unread (too large, too slow, malformed framing) also
/// closes its connection, since the rest of the stream cannot be trusted to start a new request.
///
/// It is [`read_body`], then [`RawRequest::parse`]; replay looks a hit up in between.
pub(crate) async fn read_request(
    req: Request<Incoming>,
    options: ReadOptions<'_>,
) -> Result<Downstream, HttpResponse> {
    read_body(req, options.body_timeout).await?.parse(options)
}

/// A request whose body is read, and nothing else yet worked out.
#[derive(Debug)]
pub(crate) struct RawRequest {
    pub parts: http::request::Parts,
    pub body: Bytes,
}

/// Reads a request's body under the size limit and within `body_timeout` (see [`read_request`]).
pub(crate) fn read_body(req: Request<Incoming>, body_timeout: Duration) -> ReadBody {
    let (parts, body) = req.into_parts();
    let limit = body_limit(&parts);
    // A declared length over the limit is refused before a byte of the body is read.
    let declared_too_large = body.size_hint().lower() > limit as u64;
    ReadBody {
        parts: Some(parts),
        read: BodyRead {
            body,
            read: Collected::Nothing,
            limit,
        },
        body_timeout,
        deadline: None,
        declared_too_large,
    }
}

/// The future of [`read_body`]: written out rather than an `async` block, whose layout kept the
/// request, its parts and the timer's future side by side (488 bytes, where this is 336).
/// Every request's future holds one and is moved a few times by hyper.
pub(crate) struct ReadBody {
    /// Until the body is read.
    parts: Option<http::request::Parts>,
    read: BodyRead,
    body_timeout: Duration,
    /// Armed only when the body is not all there on the first poll: SDK bodies are small and
    /// usually arrive with the headers.
    deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    declared_too_large: bool,
}

impl std::future::Future for ReadBody {
    type Output = Result<RawRequest, HttpResponse>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.declared_too_large {
            return Poll::Ready(Err(too_large(this.read.limit)));
        }
        let read = match this.read.poll(cx) {
            Poll::Ready(read) => read,
            Poll::Pending => {
                let timeout = this.body_timeout;
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if deadline.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                return Poll::Ready(Err(closing(error_response(
                    StatusCode::REQUEST_TIMEOUT,
                    "IvsVcrRequestTimeoutException",
                    &format!("request body not received within {timeout:?}"),
                ))));
            }
        };
        Poll::Ready(match read {
            Ok(body) => Ok(RawRequest {
                // Invariant: a future is not polled once it has returned `Ready`.
                parts: this
                    .parts
                    .take()
                    .expect("a body read is polled until it is done"),
                body,
            }),
            Err(BodyError::TooLarge) => Err(too_large(this.read.limit)),
            Err(BodyError::Read(err)) => Err(closing(error_response(
                StatusCode::BAD_REQUEST,
                "IvsVcrBadRequestException",
                &format!("cannot read request body: {err}"),
            ))),
        })
    }
}

/// A body being read whole, under [`MAX_BODY_BYTES`]. A body that comes in one frame, as an SDK's
/// does, is kept as that frame's bytes: nothing is copied or allocated for it, where
/// `http_body_util`'s `Collect` queued it in a list first.
struct BodyRead {
    body: Incoming,
    read: Collected,
    /// The most bytes read ([`body_limit`]).
    limit: usize,
}

/// What a body has sent so far.
#[derive(Default)]
enum Collected {
    #[default]
    Nothing,
    /// One frame, kept as it came.
    One(Bytes),
    /// Several, copied end to end.
    Many(Vec<u8>),
}

impl Collected {
    fn len(&self) -> usize {
        match self {
            Collected::Nothing => 0,
            Collected::One(bytes) => bytes.len(),
            Collected::Many(bytes) => bytes.len(),
        }
    }

    fn push(&mut self, data: Bytes) {
        *self = match std::mem::take(self) {
            Collected::Nothing => Collected::One(data),
            Collected::One(first) => Collected::Many([&first[..], &data[..]].concat()),
            Collected::Many(mut bytes) => {
                bytes.extend_from_slice(&data);
                Collected::Many(bytes)
            }
        };
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Collected::Nothing => Bytes::new(),
            Collected::One(bytes) => bytes,
            Collected::Many(bytes) => Bytes::from(bytes),
        }
    }
}

/// Why a body could not be read whole.
enum BodyError {
    TooLarge,
    Read(hyper::Error),
}

impl BodyRead {
    fn poll(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<Bytes, BodyError>> {
        loop {
            let frame = match std::pin::Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    return Poll::Ready(Ok(std::mem::take(&mut self.read).into_bytes()));
                }
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Err(BodyError::Read(err))),
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            // Trailers are not part of the body; IVS clients send none.
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if self.read.len() + data.len() > self.limit {
                return Poll::Ready(Err(BodyError::TooLarge));
            }
            self.read.push(data);
        }
    }
}

impl RawRequest {
    /// The cassette a `/cassette/<name>/` prefix names, and the path after it.
    pub fn cassette_and_path(&self) -> (Option<&str>, &str) {
        split_cassette_prefix(self.parts.uri.path())
    }

    /// The region and service of the SigV4 credential scope, if the request carries one.
    pub fn scope(&self) -> Option<(&str, Option<&str>)> {
        self.parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| normalize::scope_from_authorization(v.as_bytes()))
    }

    /// The access key id of the request's SigV4 credential, from the `Authorization` header or
    /// the `X-Amz-Credential` query parameter (`normalize::access_key_id`). Only the emulator
    /// asks for it, to choose the account, and only when it answers: [`RawRequest::parse`]
    /// leaves it unread, so that replayed and recorded requests never pay for it. Never logged
    /// or recorded.
    pub fn access_key(&self) -> Option<std::borrow::Cow<'_, str>> {
        normalize::access_key_id(
            self.parts
                .headers
                .get(http::header::AUTHORIZATION)
                .map(|v| v.as_bytes()),
            self.parts.uri.query(),
        )
    }

    /// The request as matching and forwarding see it: the cassette prefix split off, the query
    /// and region worked out, the body parsed. A body that is not JSON is answered 400. The
    /// request is kept by the caller, who may still want what is left unread (the access key).
    #[expect(
        clippy::result_large_err,
        reason = "the error is an answer, as `read_request`'s is; the request is larger still"
    )]
    pub fn parse(&self, options: ReadOptions<'_>) -> Result<Downstream, HttpResponse> {
        let ReadOptions {
            default_region,
            keep_headers,
            ..
        } = options;
        let scope = self.scope();
        let scope_region = scope.map(|(region, _)| region);
        let region = scope_region.unwrap_or(default_region).to_owned();
        let signed = scope_region.is_some();
        let (cassette, path) = self.cassette_and_path();
        let service = Service::route(scope.and_then(|(_, service)| service), path);
        let parts = &self.parts;
        let query = parts
            .uri
            .query()
            .map(normalize::parse_query)
            .unwrap_or_default();
        let headers = if keep_headers {
            parts
                .headers
                .iter()
                .filter(|(name, _)| !normalize::VOLATILE_HEADERS.contains(&name.as_str()))
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        let body = if self.body.is_empty() {
            None
        } else {
            match serde_json::from_slice(&self.body) {
                Ok(json) => Some(json),
                Err(err) => {
                    return Err(error_response(
                        StatusCode::BAD_REQUEST,
                        "IvsVcrBadRequestException",
                        &format!("request body is not JSON: {err}"),
                    ));
                }
            }
        };
        Ok(Downstream {
            cassette: cassette.map(str::to_owned),
            request: RecordedRequest {
                service,
                method: parts.method.as_str().to_owned(),
                path: path.to_owned(),
                query,
                region,
                headers,
                body,
            },
            raw_body: self.body.clone(),
            signed,
        })
    }
}

/// The 413 answer; the connection closes after it, so the rest of the body is never read.
fn too_large(limit: usize) -> HttpResponse {
    closing(error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        "IvsVcrPayloadTooLargeException",
        &format!("request body is larger than {limit} bytes"),
    ))
}

/// Marks a response as the connection's last: hyper closes the connection once it is written.
fn closing(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Splits `/cassette/<name>/<rest>` into the name and `/<rest>`.
///
/// A name may contain `/` (cassettes in subdirectories), so the split is made where the IVS part
/// begins: at `/tags/` for the tag routes, else at the last `/` (operation names are one segment,
/// and the ARN of a tag route is percent-encoded, so it holds no raw `/`).
pub fn split_cassette_prefix(raw_path: &str) -> (Option<&str>, &str) {
    let Some(rest) = raw_path.strip_prefix(CASSETTE_PREFIX) else {
        return (None, raw_path);
    };
    let split = rest.find("/tags/").or_else(|| rest.rfind('/'));
    match split {
        Some(at) if at > 0 => (Some(&rest[..at]), &rest[at..]),
        _ => (Some(rest.trim_end_matches('/')), "/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cassette_prefix_splits() {
        let check = |path: &str, expected: (Option<&str>, &str)| {
            assert_eq!(split_cassette_prefix(path), expected, "{path}");
        };
        check("/GetChannel", (None, "/GetChannel"));
        check("/cassette/flow/GetChannel", (Some("flow"), "/GetChannel"));
        check(
            "/cassette/dir/flow/GetChannel",
            (Some("dir/flow"), "/GetChannel"),
        );
        check(
            "/cassette/flow/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A1%3Achannel%2Fx",
            (
                Some("flow"),
                "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A1%3Achannel%2Fx",
            ),
        );
        check("/cassette/flow", (Some("flow"), "/"));
    }
}
