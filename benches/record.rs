//! Record benchmark: the latency record mode adds over calling a loopback upstream directly.
//!
//! Run with `cargo bench --bench record` (add `-- --quick` for a short run). One keep-alive
//! connection sends SDK-like signed GetChannel requests, one at a time, first straight to a local
//! upstream (a plain hyper server with a fixed IVS answer), then through `RecordServer` in mode
//! `all` in front of the same upstream, so every request is re-signed, forwarded, captured,
//! redacted, scanned and appended to a cassette written in the background. It prints p50/p99 of
//! both and the difference (target: under 100 µs at p50), and asserts nothing: timing depends on
//! the machine.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use http_body_util::BodyExt;
use ivs_vcr::{RecordMode, RecordServer};

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
        let upstream = support::fixed_answer_server(&[("x-amzn-requestid", support::REQUEST_ID)]).await;
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
            "record adds {:.1} µs at p50, {:.1} µs at p99 (target: under 100 µs at p50); {} interactions recorded",
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

/// Sends `n` requests one at a time on one connection, each for a distinct channel ARN.
async fn run(addr: SocketAddr, n: usize, first_id: usize) -> Vec<Duration> {
    let mut sender = support::connect(addr).await;
    let mut latencies = Vec::new();
    for i in first_id..first_id + n {
        let req = support::get_channel(addr, i);
        let sent = Instant::now();
        sender.ready().await.expect("connection stays open");
        let res = sender.send_request(req).await.expect("answer");
        assert!(res.status().is_success(), "status {}", res.status());
        let _ = res.into_body().collect().await;
        latencies.push(sent.elapsed());
    }
    latencies
}
