//! What the benchmark harnesses share: a fixed-answer upstream or baseline server, and SDK-like
//! signed GetChannel requests over one keep-alive connection.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// A realistic GetChannel answer.
pub const CHANNEL_BODY: &str = r#"{"channel":{"arn":"arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234","name":"bench","latencyMode":"LOW","type":"STANDARD","authorized":false,"ingestEndpoint":"a1b2c3d4e5f6.global-contribute.live-video.net","playbackUrl":"https://a1b2c3d4e5f6.us-west-2.playback.live-video.net/api/video/v1/us-west-2.123456789012.channel.abcdEFGH1234.m3u8","tags":{}}}"#;

/// The request id every fixed answer carries.
pub const REQUEST_ID: &str = "0f0e0d0c-0b0a-4908-8706-050403020100";

/// A bare hyper server on a free loopback port: it reads each request's body, as any real
/// server must, and answers [`CHANNEL_BODY`] with `Content-Type` and these extra headers.
pub async fn fixed_answer_server(
    extra_headers: &'static [(&'static str, &'static str)],
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: Request<hyper::body::Incoming>| async move {
                        let _ = req.into_body().collect().await;
                        let mut res =
                            Response::new(Full::new(Bytes::from_static(CHANNEL_BODY.as_bytes())));
                        let headers = res.headers_mut();
                        headers.insert(
                            "content-type",
                            http::HeaderValue::from_static("application/json"),
                        );
                        for (name, value) in extra_headers {
                            headers.insert(*name, http::HeaderValue::from_static(value));
                        }
                        Ok::<_, Infallible>(res)
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// One keep-alive HTTP/1.1 connection to `addr`.
pub async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

/// A GetChannel request for `channel/bench<i>`, with the headers an SDK sends (a signature that
/// ivs-vcr does not check, a date, an invocation id), in boto3's spacing.
pub fn get_channel(addr: SocketAddr, i: usize) -> Request<Full<Bytes>> {
    let body = format!(r#"{{"arn": "arn:aws:ivs:us-west-2:123456789012:channel/bench{i:07}"}}"#);
    Request::post("/GetChannel")
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .header("x-amz-date", "20261126T020014Z")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-west-2/ivs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000")
        .header("amz-sdk-invocation-id", "6f3c5d1e-8a1b-4c2d-9e3f-4a5b6c7d8e9f")
        .header("amz-sdk-request", "attempt=1; max=3")
        .header("content-length", body.len())
        .body(Full::new(Bytes::from(body)))
        .expect("request")
}
