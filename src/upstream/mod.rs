//! The upstream side: where record forwards a request, and how it gets there.
//!
//! Record sees one small interface, [`Upstream`]: hand it an [`Outbound`] request and get the
//! whole answer back, or a [`ForwardError`] that says which side failed. Today the one
//! implementation is [`Aws`]: the endpoint (`https://ivs.<region>.amazonaws.com` or the operator's
//! `--upstream`), SigV4 re-signing with the operator's credentials, and the hyper-rustls client.
//! The emulator will be another implementation, answering in-process.
//!
//! The split: `endpoint` builds the upstream URL from a validated region; `sigv4` holds the
//! credentials and signs (the only code that touches them); `client` sends and reads, naming
//! every way an exchange fails; `aws` puts the three together.

mod aws;
mod client;
mod endpoint;
pub(crate) mod sigv4;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::http::Side;

pub(crate) use aws::Aws;
pub use client::UpstreamError;
pub(crate) use client::{HttpsClient, Timeouts};
pub use endpoint::{Endpoint, AWS_ENDPOINT};
pub use sigv4::SignError;

/// Marks every request ivs-vcr forwards. Record refuses a request that carries it: it came from
/// an ivs-vcr, so an `--upstream` leads (perhaps through other recorders) back to a recorder,
/// and forwarding it again would loop until file descriptors run out.
pub(crate) const FORWARDED_HEADER: &str = "x-ivs-vcr-forwarded";

/// Where record forwards requests. One method, so that an in-process emulator can stand in
/// for AWS without record knowing which it talks to.
pub(crate) trait Upstream: fmt::Debug + Send + Sync {
    /// Sends one request and reads the whole answer.
    fn forward<'a>(
        &'a self,
        request: Outbound<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<UpstreamResponse, ForwardError>> + Send + 'a>>;
}

/// A request on its way upstream: what of the downstream request travels on.
#[derive(Debug, Clone)]
pub(crate) struct Outbound<'a> {
    /// The service of the IVS family the request is for: its host and signing name.
    pub service: crate::ivs::Service,
    /// The HTTP method.
    pub method: &'a str,
    /// The raw path, exactly as received (the `/tags/` ARN stays percent-encoded).
    pub path: &'a str,
    /// The raw query, less any signing parameter.
    pub raw_query: Option<&'a str>,
    /// The client's `Content-Type`, the only client header that travels on.
    pub content_type: Option<&'a HeaderValue>,
    /// The body bytes as received.
    pub body: Bytes,
    /// The validated region of the request.
    pub region: &'a str,
    /// The operation, for signing and messages.
    pub operation: &'a str,
}

/// A whole upstream answer.
#[derive(Debug)]
pub(crate) struct UpstreamResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why a request got no upstream answer, by the side that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ForwardError {
    /// The request cannot be sent: its region or path does not make an upstream URL.
    #[error(transparent)]
    Request(UpstreamError),
    /// Signing failed (credentials expired or could not be loaded).
    #[error(transparent)]
    Sign(SignError),
    /// The exchange with upstream failed (see [`UpstreamError`]).
    #[error(transparent)]
    Exchange(UpstreamError),
}

impl ForwardError {
    /// Whose failure it is, for the log.
    pub fn side(&self) -> Side {
        match self {
            ForwardError::Request(_) => Side::Downstream,
            ForwardError::Sign(_) => Side::Internal,
            ForwardError::Exchange(_) => Side::Upstream,
        }
    }

    /// The downstream answer's status and error type: 504 when upstream was too slow, 502 when
    /// it failed otherwise, 500 when we did, 400 when the request could not be sent.
    pub fn status(&self) -> (StatusCode, &'static str) {
        match self {
            ForwardError::Request(_) => (StatusCode::BAD_REQUEST, "IvsVcrInvalidRegionException"),
            ForwardError::Sign(_) => (StatusCode::INTERNAL_SERVER_ERROR, "IvsVcrSigningException"),
            ForwardError::Exchange(err) if err.is_timeout() => (
                StatusCode::GATEWAY_TIMEOUT,
                "IvsVcrUpstreamTimeoutException",
            ),
            ForwardError::Exchange(_) => (StatusCode::BAD_GATEWAY, "IvsVcrUpstreamException"),
        }
    }
}
