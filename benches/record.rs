//! Record benchmark: the latency record mode adds over calling a loopback upstream directly.
//!
//! Run with `cargo bench --bench record` (add `-- --quick` for a short run). One keep-alive
//! connection sends SDK-like signed GetChannel requests, one at a time, first straight to a local
//! upstream (a plain hyper server with a fixed IVS answer), then through `RecordServer` in mode
//! `all` in front of the same upstream, so every request is re-signed, forwarded, captured,
//! redacted, scanned and appended to a cassette written in the background. It prints p50/p99 of
//! both and the difference (target: under 1 ms at p50), and asserts nothing: timing depends on
//! the machine.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use ivs_vcr::{RecordMode, RecordServer};

const CHANNEL_BODY: &str = r#"{"channel":{"arn":"arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234","name":"bench","latencyMode":"LOW","type":"STANDARD","authorized":false,"ingestEndpoint":"a1b2c3d4e5f6.global-contribute.live-video.net","playbackUrl":"https://a1b2c3d4e5f6.us-west-2.playback.live-video.net/api/video/v1/us-west-2.123456789012.channel.abcdEFGH1234.m3u8","tags":{}}}"#;

fn main() {
    let n_requests = if std::env::args().any(|a| a == "--quick") {
        1_000
    } else {
        5_000
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!("record benchmark: {n_requests} sequential requests per run, one keep-alive connection, loopback");
        let upstream = start_upstream().await;
        let dir = tempfile::tempdir().expect("temporary directory");
        let recorder = RecordServer::builder(dir.path())
            .name("bench")
            .upstream(format!("http://{upstream}"))
            .mode(RecordMode::All)
            .credentials(Credentials::new("AKIDBENCHMARK", "bench-secret-key", None, None, "bench"))
            .start()
            .await
            .expect("record server starts");

        // Two rounds each, alternating, so a burst of noise hits both sides.
        let mut direct = Vec::new();
        let mut proxied = Vec::new();
        for round in 0..2 {
            direct.extend(run(upstream, n_requests, round * n_requests).await);
            proxied.extend(run(recorder.addr(), n_requests, (round + 2) * n_requests).await);
        }
        let summary = recorder.shutdown().await;
        let (d50, d99) = percentiles(&mut direct);
        let (p50, p99) = percentiles(&mut proxied);
        println!("{:<36} p50 {:>7.1} µs  p99 {:>7.1} µs", "direct to the loopback upstream", us(d50), us(d99));
        println!("{:<36} p50 {:>7.1} µs  p99 {:>7.1} µs", "through ivs-vcr record (mode all)", us(p50), us(p99));
        println!(
            "record adds {:.1} µs at p50, {:.1} µs at p99 (target: under 1000 µs at p50); {} interactions recorded",
            us(p50) - us(d50),
            us(p99) - us(d99),
            summary.n_recorded()
        );
    });
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn percentiles(latencies: &mut [Duration]) -> (Duration, Duration) {
    latencies.sort_unstable();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    (at(0.50), at(0.99))
}

/// A plain upstream: answers every request with a fixed GetChannel answer.
async fn start_upstream() -> SocketAddr {
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
                let service =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        let _ = req.into_body().collect().await;
                        let mut res =
                            Response::new(Full::new(Bytes::from_static(CHANNEL_BODY.as_bytes())));
                        res.headers_mut()
                            .insert("content-type", "application/json".parse().unwrap());
                        res.headers_mut().insert(
                            "x-amzn-requestid",
                            "0f0e0d0c-0b0a-4908-8706-050403020100".parse().unwrap(),
                        );
                        Ok::<_, Infallible>(res)
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// Sends `n` requests one at a time on one connection, each for a distinct channel ARN.
async fn run(addr: SocketAddr, n: usize, first_id: usize) -> Vec<Duration> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut latencies = Vec::with_capacity(n);
    for i in first_id..first_id + n {
        let body = format!(r#"{{"arn":"arn:aws:ivs:us-west-2:123456789012:channel/bench{i:07}"}}"#);
        let req = Request::post("/GetChannel")
            .header("host", addr.to_string())
            .header("content-type", "application/json")
            .header("x-amz-date", "20261126T020014Z")
            .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-west-2/ivs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000")
            .header("content-length", body.len())
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        let sent = Instant::now();
        sender.ready().await.expect("connection stays open");
        let res = sender.send_request(req).await.expect("answer");
        assert!(res.status().is_success(), "status {}", res.status());
        let _ = res.into_body().collect().await;
        latencies.push(sent.elapsed());
    }
    latencies
}
