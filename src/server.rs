//! The HTTP front shared by record and replay: the accept loop, graceful shutdown, reading a
//! downstream request into a [`RecordedRequest`], and AWS-style error responses.
//!
//! [`serve`] takes a listener the caller bound (tests use `127.0.0.1:0`) and a shutdown future the
//! caller chooses (Ctrl-C in the binary, dropping the handle in the library). A failure on one
//! connection is logged and never stops the loop. `serve` returns once in-flight requests are done.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cassette::RecordedRequest;
use crate::{ivs, normalize};

/// The largest request body read, in bytes. IVS's largest inputs (a PEM public key, 50 ARNs, 20
/// viewer sessions) are a few kilobytes; anything far larger is refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long a client may take to send its request headers, by default.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send its request body once the headers are in, by default.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The response header that says how ivs-vcr answered: `exact`, `operation` or `none`.
pub const MATCH_HEADER: &str = "x-ivs-vcr-match";

/// The response header that names the interaction that answered (`<cassette>#<index>`).
pub const SOURCE_HEADER: &str = "x-ivs-vcr-source";

/// The URL prefix that selects one cassette: `http://127.0.0.1:PORT/cassette/<name>`.
pub const CASSETTE_PREFIX: &str = "/cassette/";

/// The full response type of both servers.
pub type HttpResponse = Response<Full<Bytes>>;

/// How long a downstream client may take to send a request. A slow or stalled client holds only
/// its own connection: the header timeout closes a connection whose request head is incomplete,
/// and the body timeout answers 408 and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadTimeouts {
    /// For the request line and headers (enforced by hyper).
    pub header: Duration,
    /// For the whole body, once the headers are in.
    pub body: Duration,
}

impl Default for ReadTimeouts {
    fn default() -> Self {
        ReadTimeouts {
            header: HEADER_READ_TIMEOUT,
            body: BODY_READ_TIMEOUT,
        }
    }
}

/// Something that answers requests: the replay or the record server.
pub(crate) trait Handler: Send + Sync + 'static {
    /// The read timeouts of this server's connections.
    fn read_timeouts(&self) -> ReadTimeouts {
        ReadTimeouts::default()
    }

    /// Answers one request; errors are already turned into responses.
    fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = HttpResponse> + Send;
}

/// Runs the accept loop until `shutdown` resolves, then waits for in-flight requests.
pub(crate) async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(handler.read_timeouts().header)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // Typically EMFILE: back off briefly rather than spin, and keep serving.
                    tracing::warn!(side = "downstream", error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let service = hyper::service::service_fn(move |req| {
            let handler = handler.clone();
            async move { Ok::<_, std::convert::Infallible>(handler.handle(req, peer).await) }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(side = "downstream", %peer, error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within {SHUTDOWN_GRACE:?}");
    }
}

/// A server running in the background: its address, and the handle that stops it.
#[derive(Debug)]
pub(crate) struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// Dropping or firing this stops the accept loop.
    stop: Option<oneshot::Sender<()>>,
    /// The accept loop; awaited by `stop` so in-flight requests finish.
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// Binds (the caller's listener, else `bind`, else a free loopback port), warns with
    /// `exposure` when the address is beyond loopback, and serves `handler` in the background.
    /// A bind failure comes back with the address asked for.
    pub fn start<H: Handler>(
        listener: Option<std::net::TcpListener>,
        bind: Option<SocketAddr>,
        handler: Arc<H>,
        exposure: &str,
    ) -> Result<Running, (SocketAddr, std::io::Error)> {
        let requested = bind.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = match listener {
            Some(listener) => listener,
            None => std::net::TcpListener::bind(requested).map_err(|e| (requested, e))?,
        };
        let addr = listener.local_addr().map_err(|e| (requested, e))?;
        let listener = listener
            .set_nonblocking(true)
            .and_then(|()| TcpListener::from_std(listener))
            .map_err(|e| (addr, e))?;
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "listening beyond loopback: {exposure}");
        }
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, handler, async {
            let _ = rx.await;
        }));
        Ok(Running {
            addr,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// Tells the accept loop to stop, without waiting; true the first time.
    pub fn signal_stop(&mut self) -> bool {
        self.stop.take().map(|tx| tx.send(())).is_some()
    }

    /// Stops accepting and waits for in-flight requests.
    pub async fn stop(&mut self) {
        self.signal_stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

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

/// Reads a downstream request: splits off the cassette prefix, finds the region, reads and parses
/// the body under the size limit and within `body_timeout`. A request that cannot be read becomes
/// an error response; one whose body was left unread (too large, too slow, malformed framing) also
/// closes its connection, since the rest of the stream cannot be trusted to start a new request.
///
/// `keep_headers` keeps every non-volatile header in the request, for cassettes that match on
/// headers; otherwise none is kept, which spares the common path the allocations.
pub(crate) async fn read_request(
    req: Request<Incoming>,
    default_region: &str,
    keep_headers: bool,
    body_timeout: Duration,
) -> Result<Downstream, HttpResponse> {
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_owned();
    let raw_path = parts.uri.path();
    let (cassette, path) = split_cassette_prefix(raw_path);
    let query = parts
        .uri
        .query()
        .map(normalize::parse_query)
        .unwrap_or_default();
    let authorization = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let scope_region = authorization.and_then(normalize::region_from_authorization);
    let region = scope_region.unwrap_or(default_region).to_owned();
    let signed = scope_region.is_some();
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

    // A declared length over the limit is refused before a byte of the body is read.
    if body.size_hint().lower() > MAX_BODY_BYTES as u64 {
        return Err(too_large());
    }
    // SDK bodies are small and usually arrive with the headers, so the body is first read
    // without arming a timer; only a body still in flight gets the timeout.
    let collect = Limited::new(body, MAX_BODY_BYTES).collect();
    tokio::pin!(collect);
    let ready = std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match collect.as_mut().poll(cx) {
            std::task::Poll::Ready(result) => Some(result),
            std::task::Poll::Pending => None,
        })
    })
    .await;
    let read = match ready {
        Some(result) => Ok(result),
        None => tokio::time::timeout(body_timeout, collect).await,
    };
    let raw_body = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(err)) if err.is::<http_body_util::LengthLimitError>() => {
            return Err(too_large());
        }
        Ok(Err(err)) => {
            return Err(closing(error_response(
                StatusCode::BAD_REQUEST,
                "IvsVcrBadRequestException",
                &format!("cannot read request body: {err}"),
            )));
        }
        Err(_) => {
            return Err(closing(error_response(
                StatusCode::REQUEST_TIMEOUT,
                "IvsVcrRequestTimeoutException",
                &format!("request body not received within {body_timeout:?}"),
            )));
        }
    };
    let body = if raw_body.is_empty() {
        None
    } else {
        match serde_json::from_slice(&raw_body) {
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
            method,
            path: path.to_owned(),
            query,
            region,
            headers,
            body,
        },
        raw_body,
        signed,
    })
}

/// The 413 answer; the connection closes after it, so the rest of the body is never read.
fn too_large() -> HttpResponse {
    closing(error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        "IvsVcrPayloadTooLargeException",
        &format!("request body is larger than {MAX_BODY_BYTES} bytes"),
    ))
}

/// Marks a response as the connection's last: hyper closes the connection once it is written.
fn closing(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response
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
    headers.insert(MATCH_HEADER, HeaderValue::from_static("none"));
    response
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
