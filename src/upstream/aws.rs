//! AWS as the upstream: the endpoint, SigV4 re-signing with the operator's credentials, and the
//! hyper-rustls client, behind [`Upstream`].

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;
use http::Request;

use super::sigv4::Signer;
use super::{
    Endpoint, ForwardError, HttpsClient, Outbound, Upstream, UpstreamError, UpstreamResponse,
};

/// Each service of the IVS family at its own host (`https://ivs.<region>.amazonaws.com`,
/// `https://ivschat.<region>.amazonaws.com`), re-signed with its signing name, or all of them at
/// the operator's `--upstream`.
#[derive(Debug)]
pub(crate) struct Aws {
    /// Where requests go.
    pub endpoint: Endpoint,
    /// The operator's credentials.
    pub signer: Signer,
    /// The connection pool.
    pub client: HttpsClient,
}

impl Upstream for Aws {
    fn forward<'a>(
        &'a self,
        outbound: Outbound<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<UpstreamResponse, ForwardError>> + Send + 'a>> {
        Box::pin(async move {
            let mut request =
                build_request(&outbound, &self.endpoint).map_err(ForwardError::Request)?;
            self.signer
                .sign(
                    &mut request,
                    (outbound.service.catalog().signing_name, outbound.region),
                    outbound.operation,
                    SystemTime::now(),
                )
                .await
                .map_err(ForwardError::Sign)?;
            self.client
                .send(request)
                .await
                .map_err(ForwardError::Exchange)
        })
    }
}

/// The upstream request: raw path and query as received, `Host` of the upstream, the client's
/// `Content-Type`, our loop mark ([`super::FORWARDED_HEADER`]), and nothing else of the client's (its signing headers least of all).
fn build_request(
    outbound: &Outbound<'_>,
    endpoint: &Endpoint,
) -> Result<Request<Bytes>, UpstreamError> {
    let base = endpoint.service_url(outbound.service, outbound.region)?;
    let mut uri = format!("{base}{}", outbound.path);
    if let Some(query) = outbound.raw_query {
        uri.push('?');
        uri.push_str(query);
    }
    let bad = |reason| UpstreamError::BadEndpoint {
        url: base.clone(),
        reason,
    };
    let uri: http::Uri = uri
        .parse()
        .map_err(|_| bad("the request path does not make a URL with it"))?;
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| bad("no host"))?;
    let mut builder = Request::builder()
        .method(outbound.method)
        .uri(uri)
        .header(http::header::HOST, host)
        .header(
            http::header::USER_AGENT,
            concat!("ivs-vcr/", env!("CARGO_PKG_VERSION")),
        )
        .header(super::FORWARDED_HEADER, "1");
    if let Some(content_type) = outbound.content_type {
        builder = builder.header(http::header::CONTENT_TYPE, content_type);
    }
    builder
        .body(outbound.body.clone())
        .map_err(|_| bad("the request does not make an HTTP request with it"))
}
