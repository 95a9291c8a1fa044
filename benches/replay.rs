//! Replay benchmark: requests/s and p50/p99 latency of the replay server under concurrent load on
//! loopback, against a bare hyper server that returns a fixed body, measured in the same run.
//!
//! Run with `cargo bench --bench replay` (add `-- --quick` for a short run, `-- --small` to skip
//! the 100,000-interaction index). It prints figures and
//! ratios; it asserts nothing, because timing depends on the machine. Both servers run in the same
//! process and runtime as the load generator, so the ratio compares like with like.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use ivs_vcr::{Cassette, ReplayServer};

/// One benchmark configuration.
struct Load {
    connections: usize,
    duration: Duration,
}

/// What one run measured.
struct Figures {
    n_requests: usize,
    n_errors: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Figures {
    fn rps(&self) -> f64 {
        self.n_requests as f64 / self.elapsed.as_secs_f64()
    }
}

const CHANNEL_BODY: &str = r#"{"channel":{"arn":"arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234","name":"bench","latencyMode":"LOW","type":"STANDARD","authorized":false,"ingestEndpoint":"a1b2c3d4e5f6.global-contribute.live-video.net","playbackUrl":"https://a1b2c3d4e5f6.us-west-2.playback.live-video.net/api/video/v1/us-west-2.123456789012.channel.abcdEFGH1234.m3u8","tags":{}}}"#;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let load = Load {
        connections: 50,
        duration: Duration::from_secs(if quick { 2 } else { 5 }),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!(
            "replay benchmark: {} connections, {:?} per run, loopback, {} cores",
            load.connections,
            load.duration,
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        // Rounds alternate baseline and replay, so a burst of noise from elsewhere on the machine
        // hits both; the ratio reported is the median of the rounds'.
        let rounds = if quick { 3 } else { 5 };
        let bare_addr = start_bare_server().await;
        let small = ReplayServer::builder()
            .cassette(bench_cassette(10))
            .start()
            .await
            .expect("replay server starts");
        let mut ratios = Vec::new();
        for round in 1..=rounds {
            let bare = run_load(bare_addr, &load, 1).await;
            report(
                &format!("round {round}: bare hyper (fixed body)"),
                &bare,
                None,
            );
            let replay = run_load(small.addr(), &load, 10).await;
            report(
                &format!("round {round}: ivs-vcr replay (10 interactions)"),
                &replay,
                Some(&bare),
            );
            ratios.push(replay.rps() / bare.rps());
        }
        assert!(
            small.shutdown().await.unmatched.is_empty(),
            "benchmark requests must all match"
        );
        ratios.sort_by(f64::total_cmp);
        println!(
            "median ratio replay / bare over {rounds} rounds: {:.2} (target ≥ 0.85)",
            ratios[ratios.len() / 2]
        );

        // Lookups cost the same whatever the index size: one big index, against the last baseline.
        if !std::env::args().any(|a| a == "--small") {
            let big = ReplayServer::builder()
                .cassette(bench_cassette(100_000))
                .start()
                .await
                .expect("replay server starts");
            let figures = run_load(big.addr(), &load, 100_000).await;
            let bare = run_load(bare_addr, &load, 1).await;
            report("bare hyper (fixed body)", &bare, None);
            report(
                "ivs-vcr replay (100000 interactions)",
                &figures,
                Some(&bare),
            );
            assert!(
                big.shutdown().await.unmatched.is_empty(),
                "benchmark requests must all match"
            );
        }
    });
}

fn report(name: &str, f: &Figures, baseline: Option<&Figures>) {
    print!(
        "{name:<40} {:>9.0} req/s  p50 {:>7.1} µs  p99 {:>7.1} µs  errors {}",
        f.rps(),
        f.p50.as_secs_f64() * 1e6,
        f.p99.as_secs_f64() * 1e6,
        f.n_errors
    );
    if let Some(b) = baseline {
        print!("  ratio {:.2} of bare (target ≥ 0.85)", f.rps() / b.rps());
    }
    println!();
}

/// A cassette of `n` GetChannel interactions on distinct ARNs.
fn bench_cassette(n: usize) -> Cassette {
    let mut yaml = String::from(
        "format: 1\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: {kind: authored, source: benchmark}\nname: bench\ninteractions:\n",
    );
    for i in 0..n {
        yaml.push_str(&format!(
            "  - request: {{method: POST, path: /GetChannel, region: us-west-2, body: {{arn: \"arn:aws:ivs:us-west-2:123456789012:channel/bench{i:07}\"}}}}\n    response: {{status: 200, headers: {{Content-Type: application/json, x-amzn-RequestId: 0f0e0d0c-0b0a-4908-8706-050403020100}}, body: {CHANNEL_BODY}}}\n"
        ));
    }
    Cassette::from_yaml(&yaml, "bench.yaml".as_ref()).expect("bench cassette parses")
}

async fn start_bare_server() -> SocketAddr {
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
                        // Read the body, as any real server must.
                        let _ = req.into_body().collect().await;
                        let mut res =
                            Response::new(Full::new(Bytes::from_static(CHANNEL_BODY.as_bytes())));
                        res.headers_mut()
                            .insert("content-type", "application/json".parse().unwrap());
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

/// Drives `load.connections` keep-alive connections for `load.duration`, each sending SDK-like
/// signed GetChannel requests spread over `n_arns` ARNs.
async fn run_load(addr: SocketAddr, load: &Load, n_arns: usize) -> Figures {
    let deadline = Instant::now() + load.duration;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for conn_idx in 0..load.connections {
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let _ = stream.set_nodelay(true);
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut i = conn_idx;
            while Instant::now() < deadline {
                let body = format!(
                    r#"{{"arn": "arn:aws:ivs:us-west-2:123456789012:channel/bench{:07}"}}"#,
                    i % n_arns
                );
                i += load_stride();
                let req = Request::post("/GetChannel")
                    .header("host", addr.to_string())
                    .header("content-type", "application/json")
                    .header("x-amz-date", "20261126T020014Z")
                    .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-west-2/ivs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000")
                    .header("amz-sdk-invocation-id", "6f3c5d1e-8a1b-4c2d-9e3f-4a5b6c7d8e9f")
                    .header("amz-sdk-request", "attempt=1; max=3")
                    .header("content-length", body.len())
                    .body(Full::new(Bytes::from(body)))
                    .expect("request");
                let sent = Instant::now();
                match sender.send_request(req).await {
                    Ok(res) => {
                        let ok = res.status().is_success();
                        let _ = res.into_body().collect().await;
                        latencies.push(sent.elapsed());
                        if !ok {
                            errors += 1;
                        }
                    }
                    Err(_) => {
                        errors += 1;
                        break;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut n_errors = 0;
    for task in tasks {
        let (l, e) = task.await.expect("load task");
        latencies.extend(l);
        n_errors += e;
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64) * p) as usize)
            .copied()
            .unwrap_or_default()
    };
    Figures {
        n_requests: latencies.len(),
        n_errors,
        elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

/// Step between ARNs a connection asks for: a prime, so connections spread over the whole index.
fn load_stride() -> usize {
    7919
}
