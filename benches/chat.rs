//! Chat fan-out: one room of 1,000 WebSocket connections, on the replay server's chat socket and
//! on a bare tokio-tungstenite broadcast server measured in the same run; then 10,000 idle
//! connections held by the replay server, and what they cost it in memory.
//!
//! ```text
//! cargo bench --bench chat                              # defaults below
//! cargo bench --bench chat -- --receivers 200 --messages 100 --idle 2000
//! ```
//! Flags: `--receivers N` (1,000), `--messages N` per round (200), `--rounds N` per server (3),
//! `--idle N` (10,000).
//!
//! A sender publishes `SEND_MESSAGE` frames whose `Content` is its clock reading; every receiver
//! reads each frame, takes the reading back out and records send-to-receive latency. The sender
//! sends in bursts of [`BURST`] and waits for every receiver to have the burst before the next,
//! so that no queue fills (a full one is a slow reader, which the chat socket closes). The bare
//! server forwards the client's frame to every connection through a `tokio::sync::broadcast`
//! channel, with no parsing, checks or fan-out bookkeeping, writing what waits in one flush as
//! the chat socket does: the floor of what a WebSocket broadcast costs here. Printed: messages delivered per second and p50/p99 latency for each,
//! and the ratio (target: at least 0.8).
//!
//! The idle phase starts the connections' clients in a child process (this binary, run with
//! `--idle-clients`), so that the RSS growth measured is the server's alone (target: under
//! 200 MB for 10,000). Both processes raise their open-file limit to its hard maximum
//! (`setrlimit(RLIMIT_NOFILE)`), since 10,000 sockets exceed the usual soft limit of 1,024.
//! Everything is on loopback and bounded.

#[allow(dead_code)]
#[path = "support/latencies.rs"]
mod latencies;

use std::io::{BufRead, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use ivs_vcr::__private::{DoorGrant, DoorRoom};
use ivs_vcr::ReplayServer;
use latencies::Latencies;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const ROOM: &str = "arn:aws:ivschat:us-west-2:123456789012:room/BeNcHrOoM001";

/// Messages per burst: the sender waits for every receiver to have a burst before the next.
const BURST: u64 = 20;

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Options {
    receivers: usize,
    messages: u64,
    rounds: usize,
    idle: usize,
}

fn parse_options() -> Options {
    let mut options = Options {
        receivers: 1_000,
        messages: 200,
        rounds: 3,
        idle: 10_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{arg} needs a number"))
        };
        match arg.as_str() {
            "--receivers" => options.receivers = value(),
            "--messages" => options.messages = value() as u64,
            "--rounds" => options.rounds = value(),
            "--idle" => options.idle = value(),
            // cargo bench passes `--bench`.
            _ => {}
        }
    }
    options
}

fn main() {
    raise_fd_limit();
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--idle-clients") {
        let addr: SocketAddr = args[at + 1].parse().expect("address");
        let n: usize = args[at + 2].parse().expect("count");
        idle_clients(addr, n);
        return;
    }
    let options = parse_options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "chat: {} receivers, {} messages a round, {} rounds per server, {} cores",
        options.receivers,
        options.messages,
        options.rounds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    runtime.block_on(async {
        let (ours, bare) = fan_out(&options).await;
        let ratio = ours.rate / bare.rate;
        println!(
            "fan-out ratio (ivs-vcr / bare): {ratio:.2} (target >= 0.80) {}",
            if ratio >= 0.8 { "ok" } else { "BELOW TARGET" }
        );
        idle(&options).await;
    });
}

/// The best round of each server.
struct Figures {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

async fn fan_out(options: &Options) -> (Figures, Figures) {
    let server = ReplayServer::builder()
        .max_chat_connections(options.receivers + 10)
        .start()
        .await
        .expect("replay server");
    let door = server.chat_hub();
    let mut room = DoorRoom::new(ROOM);
    room.maximum_message_rate_per_second = u32::MAX;
    door.room(room);
    let bare = bare_server().await;
    let mut best: [Option<Figures>; 2] = [None, None];
    for round in 0..options.rounds {
        for (k, name) in ["ivs-vcr", "bare"].into_iter().enumerate() {
            let figures = if k == 0 {
                let mut tokens = Vec::new();
                for i in 0..=options.receivers {
                    let token = format!("r{round}-{i}");
                    door.issue_token(DoorGrant::new(
                        &token,
                        ROOM,
                        &format!("u{i}"),
                        &["SEND_MESSAGE"],
                    ));
                    tokens.push(Some(token));
                }
                run_round(server.addr(), tokens, options).await
            } else {
                run_round(bare, vec![None; options.receivers + 1], options).await
            };
            println!(
                "  round {round} {name:>8}: {:>10.0} messages delivered/s, p50 {:>8.2?}, p99 {:>8.2?}",
                figures.rate, figures.p50, figures.p99
            );
            if best[k].as_ref().is_none_or(|b| figures.rate > b.rate) {
                best[k] = Some(figures);
            }
        }
    }
    let [Some(ours), Some(bare)] = best else {
        unreachable!("every server ran at least one round")
    };
    for (name, f) in [("ivs-vcr", &ours), ("bare", &bare)] {
        println!(
            "best {name:>8}: {:.0} messages delivered/s, p50 {:.2?}, p99 {:.2?}",
            f.rate, f.p50, f.p99
        );
    }
    server.shutdown().await;
    (ours, bare)
}

/// Connects with `token` as the subprotocol (none for the bare server).
async fn connect(addr: SocketAddr, token: Option<&str>) -> Client {
    let mut request = format!("ws://{addr}/")
        .into_client_request()
        .expect("request");
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", token.parse().expect("token"));
    }
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
        .await
        .expect("connect");
    ws
}

/// One round: `tokens.len() - 1` receivers and a sender (the last), `options.messages` messages.
async fn run_round(addr: SocketAddr, tokens: Vec<Option<String>>, options: &Options) -> Figures {
    let epoch = Instant::now();
    let received = Arc::new(AtomicU64::new(0));
    // What the sender waits for, and the wake-up of the receiver that brings `received` to it.
    let target = Arc::new(AtomicU64::new(u64::MAX));
    let arrived = Arc::new(tokio::sync::Notify::new());
    let latencies = Arc::new(Mutex::new(Latencies::default()));
    let n_receivers = tokens.len() - 1;
    let mut receivers = Vec::new();
    for token in &tokens[..n_receivers] {
        let mut ws = connect(addr, token.as_deref()).await;
        let received = received.clone();
        let (target, arrived) = (target.clone(), arrived.clone());
        let latencies = latencies.clone();
        let expected = options.messages;
        receivers.push(tokio::spawn(async move {
            let mut mine = Latencies::default();
            let mut n = 0;
            while n < expected {
                match ws.next().await {
                    Some(Ok(Message::Text(text))) => {
                        let now = epoch.elapsed();
                        if let Some(sent) = sent_at(text.as_str()) {
                            mine.record(now.saturating_sub(sent));
                            n += 1;
                            let now_received = received.fetch_add(1, Ordering::AcqRel) + 1;
                            if now_received == target.load(Ordering::Acquire) {
                                arrived.notify_one();
                            }
                        }
                    }
                    Some(Ok(_)) => {}
                    other => panic!("a receiver lost its connection: {other:?}"),
                }
            }
            latencies.lock().expect("latencies").merge(&mine);
            ws
        }));
    }
    let sender = connect(addr, tokens[n_receivers].as_deref()).await;
    let (mut sink, mut stream) = sender.split();
    // The sender is in the room too: its own copies are read and dropped.
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    let start = Instant::now();
    let mut sent = 0;
    while sent < options.messages {
        let burst = BURST.min(options.messages - sent);
        for _ in 0..burst {
            let frame = format!(
                "{{\"Action\":\"SEND_MESSAGE\",\"Content\":\"{}\"}}",
                epoch.elapsed().as_nanos()
            );
            sink.feed(Message::text(frame)).await.expect("send");
        }
        sink.flush().await.expect("flush");
        sent += burst;
        let want = sent * n_receivers as u64;
        target.store(want, Ordering::Release);
        while received.load(Ordering::Acquire) < want {
            let notified = arrived.notified();
            if received.load(Ordering::Acquire) >= want {
                break;
            }
            if tokio::time::timeout(Duration::from_secs(30), notified)
                .await
                .is_err()
            {
                panic!(
                    "receivers stalled at {} of {want}",
                    received.load(Ordering::Relaxed)
                );
            }
        }
    }
    let elapsed = start.elapsed();
    let mut clients = Vec::new();
    for receiver in receivers {
        clients.push(receiver.await.expect("receiver"));
    }
    drop(clients);
    drop(sink);
    drain.abort();
    let latencies = latencies.lock().expect("latencies").clone();
    Figures {
        rate: (options.messages * n_receivers as u64) as f64 / elapsed.as_secs_f64(),
        p50: latencies.percentile(0.5),
        p99: latencies.percentile(0.99),
    }
}

/// The clock reading a frame carries in its `Content`, in nanoseconds from the round's epoch.
fn sent_at(text: &str) -> Option<Duration> {
    let start = text.find("\"Content\":\"")? + 11;
    let end = start + text[start..].find('"')?;
    text[start..end].parse().ok().map(Duration::from_nanos)
}

/// The bare broadcast server: every text frame from any connection to every connection.
async fn bare_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, _) =
        tokio::sync::broadcast::channel::<tokio_tungstenite::tungstenite::Utf8Bytes>(4096);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let tx = tx.clone();
            tokio::spawn(async move {
                let config = WebSocketConfig::default()
                    .read_buffer_size(4 * 1024)
                    .write_buffer_size(0);
                let Ok(ws) =
                    tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
                else {
                    return;
                };
                let (mut sink, mut stream) = ws.split();
                let mut rx = tx.subscribe();
                loop {
                    tokio::select! {
                        frame = stream.next() => match frame {
                            Some(Ok(Message::Text(text))) => { let _ = tx.send(text); }
                            Some(Ok(_)) => {}
                            _ => return,
                        },
                        out = rx.recv() => match out {
                            Ok(text) => {
                                // Whatever else is waiting goes out with it, in one flush, as
                                // the chat socket writes too.
                                if sink.feed(Message::Text(text)).await.is_err() { return }
                                while let Ok(text) = rx.try_recv() {
                                    if sink.feed(Message::Text(text)).await.is_err() { return }
                                }
                                if sink.flush().await.is_err() { return }
                            }
                            Err(_) => return,
                        },
                    }
                }
            });
        }
    });
    addr
}

/// The idle phase: the server's RSS before and after `options.idle` connections.
async fn idle(options: &Options) {
    let server = ReplayServer::builder()
        .max_chat_connections(options.idle + 10)
        .start()
        .await
        .expect("replay server");
    let door = server.chat_hub();
    door.room(DoorRoom::new(ROOM));
    for i in 0..options.idle {
        door.issue_token(DoorGrant::new(
            &format!("idle-{i}"),
            ROOM,
            &format!("u{i}"),
            &[],
        ));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib();
    let exe = std::env::current_exe().expect("this binary");
    let mut child = std::process::Command::new(exe)
        .args([
            "--idle-clients",
            &server.addr().to_string(),
            &options.idle.to_string(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the idle clients' process");
    let stdout = child.stdout.take().expect("stdout");
    let ready = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        line
    })
    .await
    .expect("ready line");
    assert_eq!(ready.trim(), "ready", "the idle clients did not connect");
    for _ in 0..500 {
        if door.n_connections() == options.idle {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib();
    let held = door.n_connections();
    let delta_mb = after.saturating_sub(before) as f64 / 1024.0;
    println!(
        "idle: {held} connections held; server RSS {before} KiB -> {after} KiB, +{delta_mb:.1} MB ({:.1} KiB a connection; target < 200 MB) {}",
        after.saturating_sub(before) as f64 / held.max(1) as f64,
        if delta_mb < 200.0 && held == options.idle { "ok" } else { "BELOW TARGET" }
    );
    drop(child.stdin.take());
    let _ = child.wait();
    server.shutdown().await;
}

/// The child process of the idle phase: `n` connections, "ready", then held until stdin closes.
fn idle_clients(addr: SocketAddr, n: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut clients = Vec::with_capacity(n);
        for i in 0..n {
            clients.push(connect(addr, Some(&format!("idle-{i}"))).await);
        }
        println!("ready");
        let _ = std::io::stdout().flush();
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        })
        .await;
        drop(clients);
    });
}

/// Raises this process's open-file limit to its hard maximum.
fn raise_fd_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit and setrlimit only read and write the struct given, which lives on this
    // stack frame for both calls.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// The resident set size of this process, from `/proc/self/status` (0 where there is no procfs).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
