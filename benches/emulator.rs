//! Emulator benchmark: emulated GetChannel against a bare hyper server in the same run (and
//! against one sending IVS's headers, as the emulator does), and the cost of CreateChannel and of
//! one ListChannels page as the account grows.
//!
//! Run with `cargo bench --bench emulator` (add `-- --quick` for a short run). It prints figures
//! and ratios and asserts nothing, because timing depends on the machine.
//!
//! Throughput is measured as in `benches/replay.rs`: servers on one pinned core, a closed-loop
//! raw-bytes load of 50 connections on the other, each round giving every server its time in
//! slices taken in turn. The growth figures come from one connection calling one request at a
//! time. IVS allows 5,000 channels per region, so the account grows past that across regions
//! (`us-west-1` … `us-west-20`, each a SigV4 scope of its own), filled one after the other: at
//! 1,000 channels one region holds them all; at 10,000 and 100,000 the region measured holds
//! 5,000 and the account the rest.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ivs_vcr::ReplayServer;

/// Channels per region (`CHANNEL_QUOTA` in the emulator).
const QUOTA: usize = 5_000;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let duration = Duration::from_secs(if quick { 2 } else { 5 });
    let server_thread = Arc::new(Mutex::new(None));
    let pinned = Arc::new(AtomicBool::new(true));
    let servers = {
        let (server_thread, pinned) = (server_thread.clone(), pinned.clone());
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .on_thread_start(move || {
                // Invariant: Linux has /proc/thread-self; the first thread started is the worker.
                let task = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
                let mut slot = server_thread.lock().unwrap();
                if slot.is_none() {
                    *slot = Some(task);
                    if !support::pin_current_thread(0) {
                        pinned.store(false, Ordering::Relaxed);
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
            .on_thread_start(move || {
                if !support::pin_current_thread(1) {
                    pinned.store(false, Ordering::Relaxed);
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
            .expect("worker started");
        support::thread_cpu_time(&std::path::Path::new("/proc").join(task))
    };
    println!(
        "emulator benchmark: 50 connections, closed loop, {duration:?} per run, loopback ({})",
        if pinned.load(Ordering::Relaxed) {
            "servers pinned to cpu 0, load to cpu 1"
        } else {
            "could not pin threads: figures are noisier"
        }
    );
    let bare = servers.block_on(support::fixed_answer_server(&[]));
    let emulator = servers.block_on(ReplayServer::emulator());
    let arn = clients.block_on(async {
        let mut conn = support::RawConn::connect(emulator.addr()).await;
        let body = create_channel(&mut conn, "us-west-2", "bench").await;
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON answer");
        body["channel"]["arn"]
            .as_str()
            .expect("channel arn")
            .to_owned()
    });
    // Bare hyper sending the headers the emulator sends (IVS's): what an answer of the
    // emulator's size costs hyper itself.
    let bare_same = {
        let headers = clients.block_on(emulated_headers(emulator.addr(), &arn));
        servers.block_on(support::fixed_answer_server(headers))
    };
    let get = {
        let body = format!(r#"{{"arn": "{arn}"}}"#);
        let mut request =
            support::raw_head(emulator.addr(), "/GetChannel", "us-west-2", body.len()).into_bytes();
        request.extend_from_slice(body.as_bytes());
        Arc::new(request)
    };
    // One run of a server's connections: latencies, time taken, the server's CPU time and the
    // connections back.
    let measure = |conns, duration| {
        let before = server_cpu();
        let (latencies, elapsed, conns) = clients.block_on(run_load(conns, get.clone(), duration));
        (latencies, elapsed, server_cpu() - before, conns)
    };
    // Each server's 50 connections, opened once and warmed up for half a second.
    let targets = [bare, bare_same, emulator.addr()];
    let mut pools: Vec<Vec<support::RawConn>> = targets
        .iter()
        .map(|&addr| {
            let conns = clients.block_on(support::RawConn::connect_all(addr, 50));
            measure(conns, Duration::from_millis(500)).3
        })
        .collect();
    let rounds = if quick { 3 } else { 5 };
    let (mut rps_ratios, mut cpu_ratios) = (Vec::new(), Vec::new());
    let (mut same_ratios, mut vs_same_ratios) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        // Each server's time in slices taken in turn, as in `benches/replay.rs`.
        let mut runs: [(support::Latencies, Duration, Duration); 3] = Default::default();
        for idx in support::slice_order(targets.len()) {
            let (latencies, elapsed, cpu, conns) = measure(
                std::mem::take(&mut pools[idx]),
                duration / support::SLICES as u32,
            );
            pools[idx] = conns;
            runs[idx].0.merge(&latencies);
            runs[idx].1 += elapsed;
            runs[idx].2 += cpu;
        }
        // Requests/s, p50 and p99 (µs), server CPU per request (µs).
        let [b, s, e] = runs.map(|(latencies, elapsed, cpu)| {
            let n = latencies.len() as f64;
            let pct = |p: f64| latencies.percentile(p).as_secs_f64() * 1e6;
            (
                n / elapsed.as_secs_f64(),
                pct(0.5),
                pct(0.99),
                cpu.as_secs_f64() * 1e6 / n,
            )
        });
        for (name, f) in [
            ("bare hyper (fixed body)", b),
            ("bare hyper (IVS's headers)", s),
            ("emulated GetChannel", e),
        ] {
            println!(
                "round {round}: {name:<26} {:>7.0} req/s  p50 {:>6.1} µs  p99 {:>6.1} µs  server CPU {:>5.2} µs/req",
                f.0, f.1, f.2, f.3
            );
        }
        rps_ratios.push(e.0 / b.0);
        cpu_ratios.push(b.3 / e.3);
        same_ratios.push(s.0 / b.0);
        vs_same_ratios.push(e.0 / s.0);
    }
    let (rps, lo, hi) = support::spread(&rps_ratios);
    let (cap, cap_lo, cap_hi) = support::spread(&cpu_ratios);
    println!(
        "emulated GetChannel / bare hyper, median of {rounds} rounds: saturation req/s {rps:.2} (rounds {lo:.2}–{hi:.2}), capacity {cap:.2} (rounds {cap_lo:.2}–{cap_hi:.2}) (target ≥ 0.8)"
    );
    let (same, same_lo, same_hi) = support::spread(&same_ratios);
    let (vs, vs_lo, vs_hi) = support::spread(&vs_same_ratios);
    println!(
        "bare hyper with IVS's headers / bare hyper: saturation req/s {same:.2} (rounds {same_lo:.2}–{same_hi:.2}); emulated GetChannel / bare hyper with IVS's headers: {vs:.2} (rounds {vs_lo:.2}–{vs_hi:.2})"
    );

    // The load's connections close before the growth figures are taken.
    drop(pools);

    // Growth: µs per call at 1k, 10k and 100k channels.
    let grower = servers.block_on(ReplayServer::emulator());
    clients.block_on(async {
        let mut conn = support::RawConn::connect(grower.addr()).await;
        let mut n_channels = 0;
        for checkpoint in [1_000, 10_000, 100_000] {
            let mut create_us = Vec::new();
            while n_channels < checkpoint {
                let region = format!("us-west-{}", n_channels / QUOTA + 1);
                let started = Instant::now();
                create_channel(&mut conn, &region, &format!("c{n_channels}")).await;
                create_us.push(started.elapsed().as_secs_f64() * 1e6);
                n_channels += 1;
            }
            let region = format!("us-west-{}", (n_channels - 1) / QUOTA + 1);
            let first = list_page_us(&mut conn, &region, None).await;
            // A page from the middle of the region's channels: its token is an id halfway along.
            let token = middle_token(&mut conn, &region).await;
            let middle = list_page_us(&mut conn, &region, token.as_deref()).await;
            let last = &create_us[create_us.len().saturating_sub(500)..];
            println!(
                "{checkpoint:>6} channels ({} in the region measured): CreateChannel {:.1} µs (median of the last {}), ListChannels page of 100: first {first:.1} µs, from the middle {middle:.1} µs",
                checkpoint.min(QUOTA),
                support::spread(last).0,
                last.len()
            );
        }
    });
    let _ = servers.block_on(grower.shutdown());
    let _ = servers.block_on(emulator.shutdown());
}

/// A CreateChannel call; returns the answer's body.
async fn create_channel(conn: &mut support::RawConn, region: &str, name: &str) -> Vec<u8> {
    let body = format!(r#"{{"name": "{name}"}}"#);
    let mut request =
        support::raw_head(conn.addr(), "/CreateChannel", region, body.len()).into_bytes();
    request.extend_from_slice(body.as_bytes());
    let (status, body) = conn.call(&request).await.expect("CreateChannel answers");
    assert_eq!(
        status,
        200,
        "CreateChannel: {}",
        String::from_utf8_lossy(body)
    );
    body.to_vec()
}

fn list_request(addr: std::net::SocketAddr, region: &str, token: Option<&str>) -> Vec<u8> {
    let body = match token {
        None => r#"{"maxResults": 100}"#.to_owned(),
        Some(token) => format!(r#"{{"maxResults": 100, "nextToken": "{token}"}}"#),
    };
    let mut request = support::raw_head(addr, "/ListChannels", region, body.len()).into_bytes();
    request.extend_from_slice(body.as_bytes());
    request
}

/// The median µs of 200 identical ListChannels calls.
async fn list_page_us(conn: &mut support::RawConn, region: &str, token: Option<&str>) -> f64 {
    let request = list_request(conn.addr(), region, token);
    let mut us = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        let (status, _) = conn.call(&request).await.expect("ListChannels answers");
        assert_eq!(status, 200);
        us.push(started.elapsed().as_secs_f64() * 1e6);
    }
    support::spread(&us).0
}

/// The token of the page that starts halfway through a region's channels, found by paging.
async fn middle_token(conn: &mut support::RawConn, region: &str) -> Option<String> {
    let mut token: Option<String> = None;
    let mut seen = 0;
    let total = {
        // Count by paging with the largest page once.
        let mut n = 0;
        let mut t: Option<String> = None;
        loop {
            let (_, body) = conn
                .call(&list_request(conn.addr(), region, t.as_deref()))
                .await
                .ok()?;
            let v: serde_json::Value = serde_json::from_slice(body).ok()?;
            n += v["channels"].as_array().map_or(0, Vec::len);
            match v["nextToken"].as_str() {
                Some(next) => t = Some(next.to_owned()),
                None => break n,
            }
        }
    };
    while seen < total / 2 {
        let (_, body) = conn
            .call(&list_request(conn.addr(), region, token.as_deref()))
            .await
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        seen += v["channels"].as_array().map_or(0, Vec::len);
        token = Some(v["nextToken"].as_str()?.to_owned());
    }
    token
}

/// `conns` sending `request` closed-loop for `duration`: their latencies, the time taken, and
/// the connections back (kept from one slice to the next, as wrk keeps its own).
async fn run_load(
    conns: Vec<support::RawConn>,
    request: Arc<Vec<u8>>,
    duration: Duration,
) -> (support::Latencies, Duration, Vec<support::RawConn>) {
    let deadline = Instant::now() + duration;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for mut conn in conns {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = support::Latencies::default();
            while Instant::now() < deadline {
                let sent = Instant::now();
                match conn.call(&request).await {
                    Ok((200, _)) => latencies.record(sent.elapsed()),
                    Ok((status, body)) => {
                        panic!("status {status}: {}", String::from_utf8_lossy(body))
                    }
                    Err(_) => {
                        // Opened anew for the next slice (a server closes a connection idle
                        // beyond its header timeout).
                        conn = support::RawConn::connect(conn.addr()).await;
                        break;
                    }
                }
            }
            (latencies, conn)
        }));
    }
    let mut latencies = support::Latencies::default();
    let mut conns = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (l, conn) = task.await.expect("load task");
        latencies.merge(&l);
        conns.push(conn);
    }
    (latencies, start.elapsed(), conns)
}

/// The headers of an emulated GetChannel answer, less those hyper or the bare server write
/// themselves (`content-type`, `content-length`, `date`), leaked for the bare server's
/// `'static` list.
async fn emulated_headers(addr: SocketAddr, arn: &str) -> &'static [(&'static str, &'static str)] {
    let mut sender = support::connect(addr).await;
    let body = format!(r#"{{"arn": "{arn}"}}"#);
    let request = hyper::Request::post("/GetChannel")
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-west-2/ivs/aws4_request, SignedHeaders=content-type;host, Signature=00")
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .expect("request");
    let response = sender
        .send_request(request)
        .await
        .expect("emulated GetChannel");
    assert_eq!(response.status(), 200, "the bench's channel exists");
    let headers: Vec<(&'static str, &'static str)> = response
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "content-type" | "content-length" | "date"))
        .map(|(name, value)| {
            let value = value
                .to_str()
                .expect("emulated headers are text")
                .to_owned();
            (
                &*Box::leak(name.as_str().to_owned().into_boxed_str()),
                &*Box::leak(value.into_boxed_str()),
            )
        })
        .collect();
    Box::leak(headers.into_boxed_slice())
}
