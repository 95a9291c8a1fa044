//! The HTTP front shared by record and replay: accepting connections, reading a downstream
//! request, and answering in AWS's error style.
//!
//! The split, one file per job:
//! - `serve`: the accept loop ([`serve::serve`]), graceful shutdown, and [`Running`], the handle
//!   both servers keep; [`ListenOptions`] are the listen settings both builders share.
//! - `request`: reading a downstream request once into a [`RecordedRequest`] (cassette prefix,
//!   region, body under a size limit and a timeout).
//! - `error`: AWS-style error answers (`x-amzn-ErrorType`, the text under `message`) and the
//!   route errors of the catalog.
//! - `guard`: who may talk to a server, checked on each request's head before the handler runs:
//!   the `Host` must name this server (against DNS rebinding), record refuses browsers, and
//!   replay serves only pages whose origin is allowed.
//! - `cors`: the `Origin` rule (loopback pages, `--allow-origin`), preflights, and the allow
//!   headers of an allowed page's answers.
//! - `span`: the per-request tracing span and [`Side`], who a log line is about.
//! - `ivs_answer`: answers in IVS's own form (headers, request id, error body), for the emulator
//!   and injected faults.
//! - `inject`: injected faults (delays, IVS-style errors, dropped connections) and JSON answers.
//!
//! Nothing here knows cassettes' matching or upstream: the servers' handlers do.
//!
//! [`RecordedRequest`]: crate::cassette::RecordedRequest

mod cors;
mod error;
mod guard;
mod inject;
mod ivs_answer;
mod request;
mod serve;
mod span;

use bytes::Bytes;
use http::Response;
use http_body_util::Full;

pub(crate) use cors::normalize_origin;
pub use error::error_response;
pub(crate) use error::{error_chain, route_error_response};
pub(crate) use inject::{inject, json_response};
#[cfg(test)]
pub(crate) use ivs_answer::request_id;
pub(crate) use ivs_answer::{ivs_answer, ivs_error_body, IVS_HEADERS};
pub(crate) use request::{read_body, read_request, Downstream, RawRequest, ReadBody, ReadOptions};
pub use request::{split_cassette_prefix, CASSETTE_PREFIX};
pub(crate) use serve::{DropConnection, Handler, Linger, ListenOptions, ReadTimeouts, Running};
pub(crate) use span::{request_span, Side};

/// The region assumed for a request that carries no SigV4 credential scope (replay's default;
/// record refuses such requests unless `--region` names one).
pub const DEFAULT_REGION: &str = "us-west-2";

/// The response header that says how ivs-vcr answered: `exact`, `operation` or `none`.
pub const MATCH_HEADER: &str = "x-ivs-vcr-match";

/// The response header that names the interaction that answered (`<cassette>#<index>`).
pub const SOURCE_HEADER: &str = "x-ivs-vcr-source";

/// [`MATCH_HEADER`] and [`SOURCE_HEADER`] as header names, made at compile time: inserting by
/// the `&str` parses the name on every answer.
pub(crate) const MATCH_NAME: http::HeaderName = http::HeaderName::from_static(MATCH_HEADER);
pub(crate) const SOURCE_NAME: http::HeaderName = http::HeaderName::from_static(SOURCE_HEADER);

/// The full response type of both servers.
pub type HttpResponse = Response<Full<Bytes>>;
