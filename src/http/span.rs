//! Who a log line is about, and the span every request's events go into.
//!
//! Each request runs inside [`request_span`], which carries the server, the [`Side`] the request
//! came from, the peer and (once known) the operation, so every event of that request names all
//! three without repeating them. An event about another side (an upstream fault, a failed write)
//! sets its own `side` field. No span or event ever holds a header or a body.

use std::fmt;
use std::net::SocketAddr;

/// The side a log event is about, in the vocabulary of the whole crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The SDK or test talking to us.
    Downstream,
    /// AWS, or the stand-in record forwards to.
    Upstream,
    /// ivs-vcr itself: signing, writing cassettes.
    Internal,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Downstream => "downstream",
            Side::Upstream => "upstream",
            Side::Internal => "internal",
        })
    }
}

/// The span of one downstream request to `server` (`record` or `replay`) from `peer`. Its
/// `operation` is empty until the request is read; the handler records it then.
///
/// At `info` (`at_info`, record's) every request pays for its fields being formatted, about a
/// tenth of a replayed answer's instructions, so replay's span is at `debug`: at the default
/// `info` a replayed hit logs nothing, and replay's warnings say what they are about themselves.
pub(crate) fn request_span(server: &'static str, peer: SocketAddr, at_info: bool) -> tracing::Span {
    if at_info {
        tracing::info_span!(
            "request",
            server,
            side = %Side::Downstream,
            %peer,
            operation = tracing::field::Empty,
        )
    } else {
        tracing::debug_span!(
            "request",
            server,
            side = %Side::Downstream,
            %peer,
            operation = tracing::field::Empty,
        )
    }
}
