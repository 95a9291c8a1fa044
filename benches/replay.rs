//! Replay benchmark: the replay server against a bare hyper server that returns a fixed body,
//! measured in the same run, and how fast a large cassette set loads. A second bare server sends
//! the same body with the headers replay adds (a request id, `x-ivs-vcr-source`,
//! `x-ivs-vcr-match`), which shows what an answer of replay's size costs hyper itself. The
//! 100,000-interaction server is measured twice: asked for all of its interactions in turn, and
//! for 10 of them, which tells what the index's size costs a lookup apart from the cache misses
//! of answers spread over 100,000. The floor under those misses is measured the same way: a bare
//! hyper server holding 100,000 answers of its own, which finds each by the request's digits with
//! no table, asked for 10 and then for all (`support::spread_answer_server`).
//!
//! Run with `cargo bench --bench replay` (add `-- --quick` for a short run, `-- --small` to skip
//! the 100,000-interaction index and the load figures, `-- --huge` to also load 1,000,000
//! interactions: about 630 MB of YAML, passed `--max-cassette-mib` and `--max-interactions` to
//! fit, and about 5 GB of memory at the peak). It prints figures and ratios; it asserts nothing, because timing depends on the
//! machine.
//!
//! The servers run on a runtime with one worker thread pinned to the first core, and the load
//! generator on another pinned to the second. The load is closed-loop and saturating: 50
//! keep-alive connections, each sending its next request as soon as the answer is in, written as
//! bytes and read with just enough parsing to find the answer's end, so that one core of load
//! outruns one core of server. Each round gives every server its time in five slices, taken in
//! turn, so that noise from elsewhere on the machine falls on them alike. Two figures per server:
//! requests/s at saturation, and server CPU per request (which does not depend on the load
//! generator keeping up). Latencies are kept in a histogram per connection (`support::Latencies`).

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ivs_vcr::{Cassette, ReplayServer};

/// One benchmark configuration.
struct Load {
    connections: usize,
    duration: Duration,
}

/// What one run measured, or several runs of one server added up.
#[derive(Default)]
struct Figures {
    n_requests: usize,
    n_errors: usize,
    elapsed: Duration,
    latencies: support::Latencies,
    /// CPU time the server thread spent during the run.
    server_cpu: Duration,
}

impl Figures {
    /// Adds another run of the same server.
    fn add(&mut self, other: &Figures) {
        self.n_requests += other.n_requests;
        self.n_errors += other.n_errors;
        self.elapsed += other.elapsed;
        self.latencies.merge(&other.latencies);
        self.server_cpu += other.server_cpu;
    }

    fn rps(&self) -> f64 {
        self.n_requests as f64 / self.elapsed.as_secs_f64()
    }

    /// Server CPU per request, in µs: what bounds a server's throughput once it has a core to
    /// itself, whether or not the load generator keeps up.
    fn cpu_per_request(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.n_requests as f64
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let quick = flag("--quick");
    let load = Load {
        connections: 50,
        duration: Duration::from_secs(if quick { 2 } else { 5 }),
    };
    let server_thread = std::sync::Arc::new(std::sync::Mutex::new(None));
    let pinned = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let servers = {
        let (server_thread, pinned) = (server_thread.clone(), pinned.clone());
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bench-servers")
            .on_thread_start(move || {
                // Invariant: Linux has /proc/thread-self; the first thread started is the worker.
                let task = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
                let mut slot = server_thread.lock().unwrap();
                if slot.is_none() {
                    *slot = Some(task);
                    if !support::pin_current_thread(0) {
                        pinned.store(false, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            })
            .enable_all()
            .build()
            .expect("runtime")
    };
    let clients = {
        let pinned = pinned.clone();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bench-load")
            .on_thread_start(move || {
                if !support::pin_current_thread(1) {
                    pinned.store(false, std::sync::atomic::Ordering::Relaxed);
                }
            })
            .enable_all()
            .build()
            .expect("runtime")
    };
    let server_cpu = || {
        let task = server_thread
            .lock()
            .unwrap()
            .clone()
            .expect("the server worker started");
        support::thread_cpu_time(&std::path::Path::new("/proc").join(task))
    };
    let bare_addr = servers.block_on(support::fixed_answer_server(&[]));
    // Bare hyper sending the headers replay adds to the recorded ones (the recorded request id,
    // `x-ivs-vcr-source`, `x-ivs-vcr-match`): what an answer of replay's size costs hyper itself.
    let bare_same_addr = servers.block_on(support::fixed_answer_server(&[
        ("x-amzn-requestid", support::REQUEST_ID),
        ("x-ivs-vcr-source", "bench#1"),
        ("x-ivs-vcr-match", "exact"),
    ]));
    // A load connection waits while the other servers take their slices: with seven runs, up to
    // 12 slices of 1 s, when its server goes from first in one turn to last in the next. That is
    // longer than replay's default header timeout (10 s), which would close it as an idle
    // keep-alive. wrk's connections never wait, so the servers are given a minute.
    let replay_builder =
        || ReplayServer::builder().read_timeouts(Duration::from_secs(60), Duration::from_secs(30));
    let small = servers
        .block_on(replay_builder().cassette(bench_cassette(10)).start())
        .expect("replay server starts");
    let bare_spread_addr =
        (!flag("--small")).then(|| servers.block_on(support::spread_answer_server(100_000)));
    let big = (!flag("--small")).then(|| {
        servers
            .block_on(replay_builder().cassette(bench_cassette(100_000)).start())
            .expect("replay server starts")
    });
    println!(
        "replay benchmark: {} connections, closed loop, {:?} per run, loopback, {} cores ({})",
        load.connections,
        load.duration,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if pinned.load(std::sync::atomic::Ordering::Relaxed) {
            "servers pinned to cpu 0, load to cpu 1"
        } else {
            "could not pin threads: figures are noisier"
        }
    );
    // One run of a server's connections for `duration`, with the server's CPU time.
    let measure = |conns, duration, n_arns| {
        let before = server_cpu();
        let (mut figures, conns) = clients.block_on(run_load(conns, duration, n_arns));
        figures.server_cpu = server_cpu() - before;
        (figures, conns)
    };
    // What is measured, in order: a server and how many of its interactions are asked for.
    let mut runs = vec![
        ("bare hyper (fixed body)", bare_addr, 1),
        ("bare hyper (replay's headers)", bare_same_addr, 1),
        ("ivs-vcr replay (10 interactions)", small.addr(), 10),
    ];
    if let Some(big) = &big {
        runs.push(("ivs-vcr replay (100000 interactions)", big.addr(), 100_000));
        // The same index asked for 10 of its interactions: what its size costs a lookup, apart
        // from the cache misses of answers spread over 100,000.
        runs.push(("ivs-vcr replay (100000, 10 asked)", big.addr(), 10));
    }
    if let Some(addr) = bare_spread_addr {
        // The floor: the least any server does to send one of 100,000 distinct answers, asked
        // for 10 of them and then for all in turn.
        runs.push(("bare hyper (100000 answers, 10 asked)", addr, 10));
        runs.push(("bare hyper (100000 answers)", addr, 100_000));
    }
    // Each run's connections, opened once. Warm-up: connections, allocator and caches, as wrk's
    // warm-up does.
    let mut pools: Vec<Vec<LoadConn>> = Vec::new();
    for &(_, addr, _) in &runs {
        let conns = clients.block_on(open_conns(addr, load.connections));
        pools.push(measure(conns, Duration::from_millis(500), 10).1);
    }
    // A round gives each server its time in slices, taken in turn (`support::slice_order`):
    // noise from elsewhere on the machine, which comes and goes over seconds, then falls on
    // every server alike rather than on whichever ran at the time.
    let slice = load.duration / support::SLICES as u32;
    let rounds = if quick { 3 } else { 5 };
    let mut ratios = Ratios::default();
    for round in 1..=rounds {
        let mut figures: Vec<Figures> = runs.iter().map(|_| Figures::default()).collect();
        for idx in support::slice_order(runs.len()) {
            let (_, _, n_arns) = runs[idx];
            let (run, conns) = measure(std::mem::take(&mut pools[idx]), slice, n_arns);
            figures[idx].add(&run);
            pools[idx] = conns;
        }
        for (idx, (name, _, _)) in runs.iter().enumerate() {
            let baseline = (idx > 0).then(|| &figures[0]);
            report(&format!("round {round}: {name}"), &figures[idx], baseline);
        }
        let [bare, bare_same, replay, rest @ ..] = &figures[..] else {
            unreachable!("three servers are always measured")
        };
        ratios.small.push(replay, bare);
        ratios.bare_same.push(bare_same, bare);
        ratios.small_vs_same.push(replay, bare_same);
        if let [spread, hot, bare_hot, bare_spread] = rest {
            ratios.big.push(spread, bare);
            ratios.big_vs_small.push(spread, replay);
            ratios.big_hot_vs_small.push(hot, replay);
            ratios.bare_spread.push(bare_spread, bare_hot);
            ratios
                .spread_cost
                .push(spread, replay, bare_spread, bare_hot);
        }
    }
    ratios
        .small
        .print("replay (10 interactions) / bare hyper", rounds);
    ratios
        .bare_same
        .print("bare hyper with replay's headers / bare hyper", rounds);
    ratios.small_vs_same.print(
        "replay (10 interactions) / bare hyper with replay's headers",
        rounds,
    );
    if big.is_some() {
        ratios
            .big
            .print("replay (100000 interactions) / bare hyper", rounds);
        ratios.big_vs_small.print(
            "replay (100000 interactions) / replay (10 interactions)",
            rounds,
        );
        ratios.big_hot_vs_small.print(
            "replay (100000 interactions, 10 of them asked) / replay (10 interactions)",
            rounds,
        );
        ratios.bare_spread.print(
            "bare hyper (100000 answers, all asked) / bare hyper (100000 answers, 10 asked)",
            rounds,
        );
        ratios.spread_cost.print(rounds);
    }
    // The load's connections close first, so that each server shuts down with none open.
    drop(pools);
    for server in std::iter::once(small).chain(big) {
        let summary = servers.block_on(server.shutdown());
        assert!(
            summary.unmatched.is_empty(),
            "benchmark requests must all match"
        );
    }

    if !flag("--small") {
        load_figures(100_000);
        if flag("--huge") {
            load_figures(1_000_000);
        }
    }
}

/// Per-round ratios of one server to another: requests/s at saturation, and capacity (the
/// inverse ratio of server CPU per request).
#[derive(Default)]
struct Ratio {
    rps: Vec<f64>,
    capacity: Vec<f64>,
}

impl Ratio {
    fn push(&mut self, f: &Figures, baseline: &Figures) {
        self.rps.push(f.rps() / baseline.rps());
        self.capacity
            .push(baseline.cpu_per_request() / f.cpu_per_request());
    }

    fn print(&self, name: &str, rounds: usize) {
        let (rps, rps_lo, rps_hi) = support::spread(&self.rps);
        let (cap, cap_lo, cap_hi) = support::spread(&self.capacity);
        println!(
            "{name}, median of {rounds} rounds: saturation req/s {rps:.2} (rounds {rps_lo:.2}–{rps_hi:.2}, spread {:.0}%), capacity {cap:.2} (rounds {cap_lo:.2}–{cap_hi:.2})",
            (rps_hi - rps_lo) / rps * 100.0
        );
    }
}

#[derive(Default)]
struct Ratios {
    small: Ratio,
    bare_same: Ratio,
    small_vs_same: Ratio,
    big: Ratio,
    big_vs_small: Ratio,
    big_hot_vs_small: Ratio,
    /// Bare hyper's own cost of answers spread over 100,000: the floor under `big_vs_small`.
    bare_spread: Ratio,
    spread_cost: SpreadCost,
}

/// What answers spread over 100,000 cost a request in server CPU, per round: replay's, and bare
/// hyper's own with no lookup at all. The difference is what replay's index adds to the memory's
/// price.
#[derive(Default)]
struct SpreadCost {
    replay: Vec<f64>,
    bare: Vec<f64>,
}

impl SpreadCost {
    fn push(
        &mut self,
        spread: &Figures,
        small: &Figures,
        bare_spread: &Figures,
        bare_hot: &Figures,
    ) {
        self.replay
            .push(spread.cpu_per_request() - small.cpu_per_request());
        self.bare
            .push(bare_spread.cpu_per_request() - bare_hot.cpu_per_request());
    }

    fn print(&self, rounds: usize) {
        let (replay, replay_lo, replay_hi) = support::spread(&self.replay);
        let (bare, bare_lo, bare_hi) = support::spread(&self.bare);
        println!(
            "answers spread over 100000, server CPU added per request, median of {rounds} rounds: replay {replay:.2} µs (rounds {replay_lo:.2}–{replay_hi:.2}), bare hyper {bare:.2} µs (rounds {bare_lo:.2}–{bare_hi:.2})"
        );
    }
}

/// Writes a cassette of `n` interactions to a temporary directory (never kept), starts the
/// `ivs-vcr replay` binary on it, and prints how long it took to listen and how much memory it
/// holds then, and at its peak.
fn load_figures(n: usize) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bench.yaml");
    let yaml = support::cassette_yaml(n);
    std::fs::write(&path, &yaml).expect("write the cassette");
    let yaml_mb = yaml.len() as f64 / 1e6;
    // The default limits (64 MiB, 100,000 interactions) hold the 100,000-interaction file; a
    // larger one is loaded under limits raised to fit it, as an operator would.
    let max_mib = (yaml.len() as u64).div_ceil(1024 * 1024).max(64);
    let max_interactions = n.max(100_000);
    drop(yaml);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ivs-vcr"))
        .args(["replay", "--cassettes"])
        .arg(dir.path())
        .args(["--port", &port.to_string()])
        .args(["--max-cassette-mib", &max_mib.to_string()])
        .args(["--max-interactions", &max_interactions.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("ivs-vcr starts");
    let pid = child.id().to_string();
    let mut peak_while_loading: f64 = 0.0;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(600) || child.try_wait().ok().flatten().is_some()
        {
            println!("{n} interactions: the server did not start");
            let _ = child.kill();
            return;
        }
        peak_while_loading = peak_while_loading.max(support::rss_mb(&pid).1);
        std::thread::sleep(Duration::from_millis(5));
    }
    let listening = started.elapsed();
    let (at_listen, _) = support::rss_mb(&pid);
    // The parsed cassettes are freed in the background once the server listens, and the memory
    // handed back at the end: resident is read once it has dropped and then held within 1% for
    // a second (or after 60 s, which would say that it never dropped).
    let mut rss = at_listen;
    let mut dropped = false;
    let mut stable_readings = 0;
    let settle_until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < settle_until {
        std::thread::sleep(Duration::from_millis(200));
        let (now, _) = support::rss_mb(&pid);
        dropped |= now < at_listen * 0.9;
        stable_readings = if (rss - now).abs() <= rss * 0.01 {
            stable_readings + 1
        } else {
            0
        };
        rss = now;
        if dropped && stable_readings >= 5 {
            break;
        }
    }
    let (_, hwm) = support::rss_mb(&pid);
    println!(
        "{n} interactions ({yaml_mb:.0} MB of YAML): listening after {:.2} s ({at_listen:.0} MB resident then), {rss:.0} MB resident once the parsed cassettes are freed, peak {:.0} MB ({:.1} KB resident per interaction)",
        listening.as_secs_f64(),
        hwm.max(peak_while_loading),
        rss * 1024.0 / n as f64
    );
    let _ = child.kill();
    let _ = child.wait();
}

fn report(name: &str, f: &Figures, baseline: Option<&Figures>) {
    print!(
        "{name:<44} {:>7.0} req/s  p50 {:>6.1} µs  p99 {:>6.1} µs  server CPU {:>5.2} µs/req  errors {}",
        f.rps(),
        f.latencies.percentile(0.50).as_secs_f64() * 1e6,
        f.latencies.percentile(0.99).as_secs_f64() * 1e6,
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

/// A cassette of `n` GetChannel interactions on distinct ARNs, each answer with its own request
/// id, as recorded answers have.
fn bench_cassette(n: usize) -> Cassette {
    Cassette::from_yaml(&support::cassette_yaml(n), "bench.yaml".as_ref())
        .expect("bench cassette parses")
}

/// One keep-alive load connection and the next ARN it asks for. Connections are kept from one
/// slice to the next, as wrk keeps its own, so that the figures hold no connection set-up.
struct LoadConn {
    conn: support::RawConn,
    next: usize,
}

/// `n` connections to `addr`, the i-th starting at ARN i.
async fn open_conns(addr: SocketAddr, n: usize) -> Vec<LoadConn> {
    support::RawConn::connect_all(addr, n)
        .await
        .into_iter()
        .enumerate()
        .map(|(next, conn)| LoadConn { conn, next })
        .collect()
}

/// Drives `conns` for `duration`, closed-loop, each sending SDK-like signed GetChannel requests
/// spread over `n_arns` ARNs, and gives them back (a connection that failed is opened anew).
async fn run_load(
    conns: Vec<LoadConn>,
    duration: Duration,
    n_arns: usize,
) -> (Figures, Vec<LoadConn>) {
    let deadline = Instant::now() + duration;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for mut load in conns {
        tasks.push(tokio::spawn(async move {
            let addr = load.conn.addr();
            let mut latencies = support::Latencies::default();
            let mut errors = 0usize;
            let mut request = Vec::new();
            // Every body has the same length: the ARN's number has a fixed width.
            let head = support::raw_head(addr, "/GetChannel", "us-west-2", 66);
            while Instant::now() < deadline {
                let body = format!(
                    r#"{{"arn": "arn:aws:ivs:us-west-2:123456789012:channel/bench{:07}"}}"#,
                    load.next % n_arns
                );
                request.clear();
                debug_assert_eq!(body.len(), 66);
                request.extend_from_slice(head.as_bytes());
                request.extend_from_slice(body.as_bytes());
                load.next += load_stride();
                let sent = Instant::now();
                match load.conn.call(&request).await {
                    Ok((status, _)) => {
                        latencies.record(sent.elapsed());
                        if !(200..300).contains(&status) {
                            errors += 1;
                        }
                    }
                    Err(_) => {
                        // Counted, and opened anew for the next slice.
                        errors += 1;
                        load.conn = support::RawConn::connect(addr).await;
                        break;
                    }
                }
            }
            (latencies, errors, load)
        }));
    }
    let mut latencies = support::Latencies::default();
    let mut n_errors = 0;
    let mut conns = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (l, e, load) = task.await.expect("load task");
        latencies.merge(&l);
        n_errors += e;
        conns.push(load);
    }
    let elapsed = start.elapsed();
    let figures = Figures {
        server_cpu: Duration::ZERO,
        n_requests: latencies.len(),
        n_errors,
        elapsed,
        latencies,
    };
    (figures, conns)
}

/// Step between ARNs a connection asks for: a prime, so connections spread over the whole index.
fn load_stride() -> usize {
    7919
}
