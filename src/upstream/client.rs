//! The HTTP client that takes requests upstream, and every way an exchange can fail.
//!
//! [`HttpsClient`] is a hyper-util client over hyper-rustls (webpki roots, aws-lc-rs) that also
//! speaks plain `http://` for local upstreams. It reads the whole answer, under a size limit and
//! a deadline, because the answer is both recorded and passed downstream.
//!
//! # Faults
//! Every way an exchange can fail is its own [`UpstreamError`] variant, named after what failed
//! and carrying the upstream host, so the downstream client is told what to fix: nothing listening
//! ([`Connect`](UpstreamError::Connect)), no TCP connection within [`Timeouts::connect`]
//! ([`ConnectTimeout`](UpstreamError::ConnectTimeout)), a TLS handshake that fails (not a TLS
//! server, or a certificate that does not verify: [`Handshake`](UpstreamError::Handshake)), a
//! connection closed or reset before the answer ([`Dropped`](UpstreamError::Dropped)) or in the
//! middle of it ([`BrokenAnswer`](UpstreamError::BrokenAnswer)), and an upstream that does not
//! answer, or not completely, within [`Timeouts::exchange`] ([`Timeout`](UpstreamError::Timeout),
//! [`SlowAnswer`](UpstreamError::SlowAnswer)). The cause kept in `#[source]` is the innermost one
//! (the OS error, or what rustls said) rather than the client library's layers of wrapping.
//! No variant holds a header, a body or anything of the signature.
//!
//! hyper-util does not say in which step of connecting an error arose, so the step is inferred:
//! a rustls error, or a connection that closes or resets while connecting to an `https` upstream,
//! is the TLS handshake; everything else while connecting is TCP. The connect timeout covers the
//! TCP connection only; a TLS handshake that stalls is caught by the exchange deadline.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::time::Instant;

use super::UpstreamResponse;

/// The largest upstream answer read, in bytes.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// A boxed error cause.
type BoxError = Box<dyn StdError + Send + Sync>;

/// How long the steps of an upstream exchange may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeouts {
    /// Opening the TCP connection (default 10 s). IVS endpoints connect in milliseconds; a
    /// connection that takes seconds is a firewall dropping packets, not a slow network.
    pub connect: Duration,
    /// The whole exchange, from sending the request (connecting and the TLS handshake included)
    /// to the last byte of the answer (default 60 s). IVS answers in well under a second.
    pub exchange: Duration,
}

impl Timeouts {
    /// The default connect timeout.
    pub const DEFAULT_CONNECT: Duration = Duration::from_secs(10);
    /// The default exchange timeout.
    pub const DEFAULT_EXCHANGE: Duration = Duration::from_secs(60);
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Timeouts::DEFAULT_CONNECT,
            exchange: Timeouts::DEFAULT_EXCHANGE,
        }
    }
}

/// Errors of the upstream side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// `--upstream` is not a usable base URL.
    #[error("invalid upstream URL `{url}`: {reason}")]
    BadEndpoint {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The region is not an AWS region name, so no host is built from it.
    #[error("`{region}` is not an AWS region name")]
    BadRegion {
        /// The region as received.
        region: String,
    },
    /// The TLS configuration could not be built.
    #[error("cannot set up TLS")]
    Tls(#[source] BoxError),
    /// The TCP connection could not be opened: nothing listens there, no route, no such host.
    #[error("cannot connect to upstream `{host}`")]
    Connect {
        /// The upstream host.
        host: String,
        /// The innermost cause (usually the OS error).
        #[source]
        source: BoxError,
    },
    /// The TCP connection was not open within the connect timeout.
    #[error("cannot connect to upstream `{host}` within {timeout:?}")]
    ConnectTimeout {
        /// The upstream host.
        host: String,
        /// The connect timeout.
        timeout: Duration,
    },
    /// The TLS handshake failed: the upstream does not speak TLS, or its certificate does not
    /// verify against the webpki roots.
    #[error("TLS handshake with upstream `{host}` failed")]
    Handshake {
        /// The upstream host.
        host: String,
        /// The innermost cause (what rustls said, or how the connection ended).
        #[source]
        source: BoxError,
    },
    /// The connection failed after it was open and before the answer's head arrived: closed,
    /// reset, or not HTTP.
    #[error("upstream `{host}` dropped the request before answering")]
    Dropped {
        /// The upstream host.
        host: String,
        /// The innermost cause.
        #[source]
        source: BoxError,
    },
    /// The connection failed in the middle of the answer's body.
    #[error("upstream `{host}` broke off its answer")]
    BrokenAnswer {
        /// The upstream host.
        host: String,
        /// The innermost cause.
        #[source]
        source: BoxError,
    },
    /// The upstream answer is larger than the limit.
    #[error("the answer of upstream `{host}` is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge {
        /// The upstream host.
        host: String,
    },
    /// No answer head arrived within the exchange timeout.
    #[error("upstream `{host}` did not answer within {timeout:?}")]
    Timeout {
        /// The upstream host.
        host: String,
        /// The exchange timeout.
        timeout: Duration,
    },
    /// The answer started but was not complete within the exchange timeout.
    #[error("upstream `{host}` did not finish its answer within {timeout:?}")]
    SlowAnswer {
        /// The upstream host.
        host: String,
        /// The exchange timeout.
        timeout: Duration,
    },
}

impl UpstreamError {
    /// True when the upstream was too slow rather than broken: the downstream client should get a
    /// gateway timeout (504) rather than a bad gateway (502).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            UpstreamError::ConnectTimeout { .. }
                | UpstreamError::Timeout { .. }
                | UpstreamError::SlowAnswer { .. }
        )
    }
}

/// The HTTP client for upstream.
#[derive(Debug, Clone)]
pub(crate) struct HttpsClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeouts: Timeouts,
}

impl HttpsClient {
    /// A client with Mozilla's roots and the aws-lc-rs provider, for `https` and plain `http`.
    pub fn new(timeouts: Timeouts) -> Result<HttpsClient, UpstreamError> {
        // The provider is named explicitly: with more than one rustls provider compiled in (the
        // AWS SDK brings its own), rustls cannot pick a process default by itself.
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeouts.connect));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|err| UpstreamError::Tls(Box::new(err)))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(HttpsClient { client, timeouts })
    }

    /// Sends a signed request and reads the whole answer, within the exchange deadline.
    pub async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let host = request
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let https = request.uri().scheme_str() == Some("https");
        let timeout = self.timeouts.exchange;
        let deadline = Instant::now() + timeout;
        let request = request.map(Full::new);
        let response = match tokio::time::timeout_at(deadline, self.client.request(request)).await {
            Err(_) => return Err(UpstreamError::Timeout { host, timeout }),
            Ok(Err(err)) => return Err(self.request_error(host, https, &err)),
            Ok(Ok(response)) => response,
        };
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_RESPONSE_BYTES).collect();
        let body = match tokio::time::timeout_at(deadline, body).await {
            Err(_) => return Err(UpstreamError::SlowAnswer { host, timeout }),
            Ok(Err(err)) if err.is::<http_body_util::LengthLimitError>() => {
                return Err(UpstreamError::TooLarge { host })
            }
            Ok(Err(err)) => {
                return Err(UpstreamError::BrokenAnswer {
                    host,
                    source: innermost(&*err),
                })
            }
            Ok(Ok(body)) => body.to_bytes(),
        };
        Ok(UpstreamResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Names what failed before the answer's head: the TCP connection, its timeout, the TLS
    /// handshake, or the exchange on an open connection (see the module doc).
    fn request_error(
        &self,
        host: String,
        https: bool,
        err: &hyper_util::client::legacy::Error,
    ) -> UpstreamError {
        if !err.is_connect() {
            return UpstreamError::Dropped {
                host,
                source: innermost(err),
            };
        }
        let mut rustls_error = false;
        let mut io_kind = None;
        for cause in chain(err) {
            if cause.downcast_ref::<rustls::Error>().is_some() {
                rustls_error = true;
            }
            if let Some(io) = cause.downcast_ref::<io::Error>() {
                io_kind = Some(io.kind());
            }
        }
        if io_kind == Some(io::ErrorKind::TimedOut) && !rustls_error {
            return UpstreamError::ConnectTimeout {
                host,
                timeout: self.timeouts.connect,
            };
        }
        let closed_while_connecting = matches!(
            io_kind,
            Some(
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            )
        );
        let source = innermost(err);
        if rustls_error || (https && closed_while_connecting) {
            UpstreamError::Handshake { host, source }
        } else {
            UpstreamError::Connect { host, source }
        }
    }
}

/// `err` and its causes, outermost first. An `io::Error` wrapping another error is followed
/// into it: its own `source()` skips the wrapped error (hyper-rustls wraps rustls's `io::Error`
/// in another one, so rustls's error would be lost).
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |e: &&'a (dyn StdError + 'static)| {
        let e: &'a (dyn StdError + 'static) = *e;
        match e.downcast_ref::<io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => e.source(),
        }
    })
}

/// The innermost cause of `err`, owned: the OS error as an `io::Error`, rustls's error as itself,
/// anything else by its message. Client library layers ("client error (Connect)") say nothing the
/// variant does not.
fn innermost(err: &(dyn StdError + 'static)) -> BoxError {
    // Invariant: `chain` yields at least `err` itself.
    let last = chain(err).last().expect("a chain holds its first error");
    if let Some(tls) = last.downcast_ref::<rustls::Error>() {
        return Box::new(tls.clone());
    }
    if let Some(code) = last
        .downcast_ref::<io::Error>()
        .and_then(io::Error::raw_os_error)
    {
        return Box::new(io::Error::from_raw_os_error(code));
    }
    Box::new(io::Error::other(last.to_string()))
}
