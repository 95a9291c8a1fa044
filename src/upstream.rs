//! The upstream side of record mode: where requests go, and the HTTP client that takes them there.
//!
//! [`Endpoint`] turns a validated region into the upstream base URL. By default it is
//! `https://ivs.<region>.amazonaws.com`; `--upstream` replaces it with a URL of the operator's
//! choosing (a local fake or moto for tests, a FIPS endpoint, another partition), in which
//! `{region}` is substituted. The region is checked with [`normalize::is_valid_region`] before
//! it gets here, so a request can never choose the host the operator's credentials go to.
//!
//! [`Upstream`] is a hyper-util client over hyper-rustls (webpki roots, aws-lc-rs) that also
//! speaks plain `http://` for local upstreams. It reads the whole answer, under a size limit and
//! a timeout, because the answer is both recorded and passed downstream.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::normalize;

/// The default upstream, with `{region}` standing for the request's region.
pub const AWS_ENDPOINT: &str = "https://ivs.{region}.amazonaws.com";

/// The largest upstream answer read, in bytes.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// How long an upstream exchange may take, from connecting to the last body byte.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

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
    Tls(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Connecting, sending or receiving failed.
    #[error("cannot reach upstream `{host}`")]
    Transport {
        /// The upstream host.
        host: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The upstream answer is larger than the limit.
    #[error("the answer of upstream `{host}` is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge {
        /// The upstream host.
        host: String,
    },
    /// The upstream did not answer in time.
    #[error("upstream `{host}` did not answer within {UPSTREAM_TIMEOUT:?}")]
    Timeout {
        /// The upstream host.
        host: String,
    },
}

/// Where upstream requests go: a URL template in which `{region}` is replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    template: String,
}

impl Default for Endpoint {
    fn default() -> Self {
        Endpoint {
            template: AWS_ENDPOINT.to_owned(),
        }
    }
}

impl Endpoint {
    /// An endpoint from a URL such as `http://127.0.0.1:5000` or
    /// `https://ivs-fips.{region}.amazonaws.com`: scheme `http` or `https`, a host, no path, query
    /// or user info.
    pub fn parse(url: &str) -> Result<Endpoint, UpstreamError> {
        let bad = |reason| UpstreamError::BadEndpoint {
            url: url.to_owned(),
            reason,
        };
        let probe = url.trim_end_matches('/').replace("{region}", "us-west-2");
        let uri: Uri = probe.parse().map_err(|_| bad("not a URL"))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => return Err(bad("the scheme must be `http` or `https`")),
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("user info is not allowed"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad("a path or query is not allowed"));
        }
        Ok(Endpoint {
            template: url.trim_end_matches('/').to_owned(),
        })
    }

    /// The template as given, for provenance and messages.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// The base URL for `region` (`https://ivs.us-west-2.amazonaws.com`).
    ///
    /// Refuses a region that is not an AWS region name, whatever the template, so that what a
    /// request says can never change the host.
    pub fn base_url(&self, region: &str) -> Result<String, UpstreamError> {
        if !normalize::is_valid_region(region) {
            return Err(UpstreamError::BadRegion {
                region: region.to_owned(),
            });
        }
        Ok(self.template.replace("{region}", region))
    }
}

/// A whole upstream answer.
#[derive(Debug)]
pub(crate) struct UpstreamResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The HTTP client for upstream.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Upstream {
    /// A client with Mozilla's roots and the aws-lc-rs provider, for `https` and plain `http`.
    pub fn new() -> Result<Upstream, UpstreamError> {
        // The provider is named explicitly: with more than one rustls provider compiled in (the
        // AWS SDK brings its own), rustls cannot pick a process default by itself.
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|err| UpstreamError::Tls(Box::new(err)))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Upstream { client })
    }

    /// Sends a signed request and reads the whole answer.
    pub async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let host = request
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let request = request.map(Full::new);
        let exchange = async {
            let response =
                self.client
                    .request(request)
                    .await
                    .map_err(|err| UpstreamError::Transport {
                        host: host.clone(),
                        source: Box::new(err),
                    })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|err| {
                    if err.is::<http_body_util::LengthLimitError>() {
                        UpstreamError::TooLarge { host: host.clone() }
                    } else {
                        UpstreamError::Transport {
                            host: host.clone(),
                            source: err,
                        }
                    }
                })?
                .to_bytes();
            Ok(UpstreamResponse {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(UPSTREAM_TIMEOUT, exchange).await {
            Ok(result) => result,
            Err(_) => Err(UpstreamError::Timeout { host }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let check = |url: &str, region: &str, expected: Result<&str, &str>| {
            let got = Endpoint::parse(url)
                .and_then(|e| e.base_url(region))
                .map_err(|e| e.to_string());
            assert_eq!(
                got.as_deref(),
                expected.map_err(str::to_owned).as_deref(),
                "{url} {region}"
            );
        };
        check(
            AWS_ENDPOINT,
            "eu-west-1",
            Ok("https://ivs.eu-west-1.amazonaws.com"),
        );
        check(
            "https://ivs-fips.{region}.amazonaws.com/",
            "us-gov-west-1",
            Ok("https://ivs-fips.us-gov-west-1.amazonaws.com"),
        );
        check(
            "http://127.0.0.1:5000",
            "us-west-2",
            Ok("http://127.0.0.1:5000"),
        );
        check(
            AWS_ENDPOINT,
            "us-west-2.evil.example",
            Err("`us-west-2.evil.example` is not an AWS region name"),
        );
        check(
            "http://127.0.0.1:5000",
            "a#b",
            Err("`a#b` is not an AWS region name"),
        );
        check(
            "ftp://x",
            "us-west-2",
            Err("invalid upstream URL `ftp://x`: the scheme must be `http` or `https`"),
        );
        check(
            "http://user@x",
            "us-west-2",
            Err("invalid upstream URL `http://user@x`: user info is not allowed"),
        );
        check(
            "http://x/prefix",
            "us-west-2",
            Err("invalid upstream URL `http://x/prefix`: a path or query is not allowed"),
        );
    }
}
