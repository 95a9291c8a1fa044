//! Replay benchmark: requests/s and p50/p99 latency of the replay server under concurrent load on
//! loopback, against a bare hyper server that returns a fixed body, measured in the same run.
//!
//! Run with `cargo bench --bench replay` (add `-- --quick` for a short run, `-- --small` to skip
//! the 100,000-interaction index). It prints figures and
//! ratios; it asserts nothing, because timing depends on the machine. Both servers run in the same
//! process and on the same core, and the load generator on the other, so the ratio compares like
//! with like.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
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
    /// CPU time the server thread spent during the run.
    server_cpu: Duration,
}

impl Figures {
    fn rps(&self) -> f64 {
        self.n_requests as f64 / self.elapsed.as_secs_f64()
    }

    /// Server CPU per request, in µs: what bounds a server's throughput once it has a core to
    /// itself. The load generator has one core and may not saturate the server's, so requests/s
    /// alone would hide the server's cost; this does not.
    fn cpu_per_request(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.n_requests as f64
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let load = Load {
        connections: 50,
        duration: Duration::from_secs(if quick { 2 } else { 5 }),
    };
    // The servers and the load generator each get a runtime with one worker thread, so each has a
    // core of its own (of two here) and the scheduler cannot mix them differently from one run to
    // the next; the figures are then stable enough to compare within a run.
    let server_thread = std::sync::Arc::new(std::sync::Mutex::new(None));
    let servers = {
        let server_thread = server_thread.clone();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bench-servers")
            .on_thread_start(move || {
                // Invariant: Linux has /proc/thread-self; the first thread started is the worker.
                let task = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
                server_thread.lock().unwrap().get_or_insert(task);
            })
            .enable_all()
            .build()
            .expect("runtime")
    };
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-load")
        .enable_all()
        .build()
        .expect("runtime");
    let server_cpu = || {
        let task = server_thread
            .lock()
            .unwrap()
            .clone()
            .expect("the server worker started");
        thread_cpu_time(&std::path::Path::new("/proc").join(task))
    };
    println!(
        "replay benchmark: {} connections, {:?} per run, loopback, {} cores (one for the servers, one for the load)",
        load.connections,
        load.duration,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // Rounds alternate baseline and replay, so a burst of noise from elsewhere on the machine
    // hits both; the ratio reported is the median of the rounds'.
    let rounds = if quick { 3 } else { 5 };
    let bare_addr = servers.block_on(support::fixed_answer_server(&[]));
    let small = servers
        .block_on(ReplayServer::builder().cassette(bench_cassette(10)).start())
        .expect("replay server starts");
    let mut ratios = Vec::new();
    let measure = |addr, n_arns| {
        let before = server_cpu();
        let mut figures = clients.block_on(run_load(addr, &load, n_arns));
        figures.server_cpu = server_cpu() - before;
        figures
    };
    for round in 1..=rounds {
        let bare = measure(bare_addr, 1);
        report(
            &format!("round {round}: bare hyper (fixed body)"),
            &bare,
            None,
        );
        let replay = measure(small.addr(), 10);
        report(
            &format!("round {round}: ivs-vcr replay (10 interactions)"),
            &replay,
            Some(&bare),
        );
        ratios.push(bare.cpu_per_request() / replay.cpu_per_request());
    }
    let summary = servers.block_on(small.shutdown());
    assert!(
        summary.unmatched.is_empty(),
        "benchmark requests must all match"
    );
    ratios.sort_by(f64::total_cmp);
    println!(
        "median capacity ratio replay / bare over {rounds} rounds: {:.2} (target ≥ 0.85)",
        ratios[ratios.len() / 2]
    );

    // Lookups cost the same whatever the index size: one big index, against the last baseline.
    if !std::env::args().any(|a| a == "--small") {
        let big = servers
            .block_on(
                ReplayServer::builder()
                    .cassette(bench_cassette(100_000))
                    .start(),
            )
            .expect("replay server starts");
        let figures = measure(big.addr(), 100_000);
        let bare = measure(bare_addr, 1);
        report("bare hyper (fixed body)", &bare, None);
        report(
            "ivs-vcr replay (100000 interactions)",
            &figures,
            Some(&bare),
        );
        let summary = servers.block_on(big.shutdown());
        assert!(
            summary.unmatched.is_empty(),
            "benchmark requests must all match"
        );
    }
}

fn report(name: &str, f: &Figures, baseline: Option<&Figures>) {
    print!(
        "{name:<44} {:>7.0} req/s  p50 {:>6.1} µs  p99 {:>6.1} µs  server CPU {:>5.2} µs/req  errors {}",
        f.rps(),
        f.p50.as_secs_f64() * 1e6,
        f.p99.as_secs_f64() * 1e6,
        f.cpu_per_request(),
        f.n_errors
    );
    if let Some(b) = baseline {
        print!(
            "  capacity {:.2} of bare ({:.0} vs {:.0} req/s per server core)",
            b.cpu_per_request() / f.cpu_per_request(),
            1e6 / f.cpu_per_request(),
            1e6 / b.cpu_per_request()
        );
    }
    println!();
}

/// User plus system CPU time of one thread, from `/proc/<pid>/task/<tid>/stat` (in clock ticks,
/// taken as the usual 100 per second).
fn thread_cpu_time(task: &std::path::Path) -> Duration {
    let stat = std::fs::read_to_string(task.join("stat")).expect("thread stat");
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat format")
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}

/// A cassette of `n` GetChannel interactions on distinct ARNs.
fn bench_cassette(n: usize) -> Cassette {
    let mut yaml = String::from(
        "format: 1\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: {kind: authored, source: benchmark}\nname: bench\ninteractions:\n",
    );
    for i in 0..n {
        yaml.push_str(&format!(
            "  - request: {{method: POST, path: /GetChannel, region: us-west-2, body: {{arn: \"arn:aws:ivs:us-west-2:123456789012:channel/bench{i:07}\"}}}}\n    response: {{status: 200, headers: {{Content-Type: application/json, x-amzn-RequestId: {}}}, body: {}}}\n",
            support::REQUEST_ID,
            support::CHANNEL_BODY
        ));
    }
    Cassette::from_yaml(&yaml, "bench.yaml".as_ref()).expect("bench cassette parses")
}

/// Drives `load.connections` keep-alive connections for `load.duration`, each sending SDK-like
/// signed GetChannel requests spread over `n_arns` ARNs.
async fn run_load(addr: SocketAddr, load: &Load, n_arns: usize) -> Figures {
    let deadline = Instant::now() + load.duration;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for conn_idx in 0..load.connections {
        tasks.push(tokio::spawn(async move {
            let mut sender = support::connect(addr).await;
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut i = conn_idx;
            while Instant::now() < deadline {
                let req = support::get_channel(addr, i % n_arns);
                i += load_stride();
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
        server_cpu: Duration::ZERO,
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
