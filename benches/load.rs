//! Load and memory-flatness run: N parallel keep-alive clients send a fixed number of matching
//! requests to a replay server, then to a record server in front of a local fake IVS, all on
//! loopback and in this one process. Every second it prints requests done, throughput and the
//! process's RSS (`VmRSS` from `/proc/self/status`); at the end of each phase it prints errors
//! (which must be zero) and RSS growth per 100,000 requests after warm-up (the first tenth), and
//! it exits non-zero when there were errors or memory grew by more than `--max-growth-kib` per
//! 100,000 requests.
//!
//! ```text
//! cargo bench --bench load                       # every phase, defaults below (under a minute)
//! cargo bench --bench load -- --mode replay --clients 32 --requests 3000000 --duration 120
//! ```
//! Flags: `--mode replay|record|both` (both), `--clients N` (16), `--requests N` per phase
//! (300000), `--duration SECONDS` cap per phase (20), `--max-growth-kib K` per 100,000 requests
//! (512), `--quick` (50000 requests, 8 s).
//!
//! Only matching requests are sent: replay keeps a per-interaction counter, which does not grow,
//! and a list of unmatched requests, which grows per unmatched request by design. Record mode
//! appends every forwarded answer, so its phases (see `run_record`) are built to add nothing after
//! priming: repeats replayed from the cassette, then forwarded requests whose 500 answers are not
//! recorded.

#[allow(dead_code)]
#[path = "../tests/it/support/fake_ivs.rs"]
mod fake_ivs;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use ivs_vcr::{Cassette, RecordMode, RecordServer, ReplayServer};

use fake_ivs::{FakeIvs, OperatorCredentials};

const OPERATOR_KEY: &str = "ASIAOPERATOREXAMPLE1";
const OPERATOR_SECRET: &str = "operatorSecretKeyEXAMPLEoperatorSecretKey";
const ACCOUNT: &str = "123456789012";

/// The downstream's own (fake) signature: replay and record read only its credential scope.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-west-2/ivs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// Command-line options; see the module doc.
#[derive(Clone, Copy)]
struct Options {
    replay: bool,
    record: bool,
    n_clients: usize,
    n_requests: u64,
    duration: Duration,
    max_growth_kib: f64,
}

/// One request the clients repeat.
#[derive(Clone)]
struct Call {
    method: &'static str,
    path: String,
    body: Option<String>,
}

/// What one mode's run measured.
struct Figures {
    n_done: u64,
    n_errors: u64,
    elapsed: Duration,
    rss_warm_kib: u64,
    n_at_warm: u64,
    rss_end_kib: u64,
}

impl Figures {
    fn growth_kib_per_100k(&self) -> f64 {
        let n = self.n_done.saturating_sub(self.n_at_warm).max(1) as f64;
        (self.rss_end_kib as f64 - self.rss_warm_kib as f64) * 100_000.0 / n
    }
}

fn main() {
    let options = parse_options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "load: {} clients, {} requests per mode, at most {:?} per mode, loopback, {} cores, start RSS {} KiB",
        options.n_clients,
        options.n_requests,
        options.duration,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        rss_kib()
    );
    let mut failed = false;
    runtime.block_on(async {
        if options.replay {
            failed |= !check("replay", &run_replay(&options).await, &options);
        }
        if options.record {
            for (phase, figures) in run_record(&options).await {
                failed |= !check(phase, &figures, &options);
            }
        }
    });
    if failed {
        std::process::exit(1);
    }
}

fn parse_options() -> Options {
    let mut options = Options {
        replay: true,
        record: true,
        n_clients: 16,
        n_requests: 300_000,
        duration: Duration::from_secs(20),
        max_growth_kib: 512.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| panic!("`{name}` needs a value"))
        };
        match arg.as_str() {
            "--mode" => match value("--mode").as_str() {
                "replay" => options.record = false,
                "record" => options.replay = false,
                "both" => {}
                other => panic!("unknown mode `{other}`: replay, record or both"),
            },
            "--clients" => options.n_clients = value("--clients").parse().expect("a count"),
            "--requests" => options.n_requests = value("--requests").parse().expect("a count"),
            "--duration" => {
                options.duration =
                    Duration::from_secs(value("--duration").parse().expect("seconds"))
            }
            "--max-growth-kib" => {
                options.max_growth_kib = value("--max-growth-kib").parse().expect("KiB")
            }
            "--quick" => {
                options.n_requests = 50_000;
                options.duration = Duration::from_secs(8);
            }
            // `cargo bench` passes `--bench`; other harness flags mean nothing here.
            _ => {}
        }
    }
    options
}

/// Prints a mode's figures and says whether they pass.
fn check(mode: &str, f: &Figures, options: &Options) -> bool {
    let growth = f.growth_kib_per_100k();
    let flat = growth <= options.max_growth_kib;
    println!(
        "{mode}: {} requests in {:.1} s = {:.0} req/s, errors {}, RSS {} KiB after warm-up ({} requests) → {} KiB at end: {:+.1} KiB per 100k requests ({})",
        f.n_done,
        f.elapsed.as_secs_f64(),
        f.n_done as f64 / f.elapsed.as_secs_f64(),
        f.n_errors,
        f.rss_warm_kib,
        f.n_at_warm,
        f.rss_end_kib,
        growth,
        if flat { "flat" } else { "GROWS" },
    );
    f.n_errors == 0 && flat
}

fn arn(i: usize) -> String {
    format!("arn:aws:ivs:us-west-2:{ACCOUNT}:channel/load{i:04}")
}

fn tags_path(arn: &str) -> String {
    let encoded: String =
        percent_encoding::utf8_percent_encode(arn, percent_encoding::NON_ALPHANUMERIC).collect();
    format!("/tags/{encoded}")
}

/// Replay: a cassette of GetChannel on 64 ARNs, ListChannels, the three tag routes (with a
/// repeated `tagKeys`) and PutMetadata (a secret member, so the normalized path, not the
/// in-place one), and clients cycling through them with SDK-like headers.
async fn run_replay(options: &Options) -> Figures {
    let metadata = "load-secret-metadata";
    let mut yaml = String::from(
        "format: 1\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: {kind: authored, source: load}\nname: load\ninteractions:\n",
    );
    let ok = r#"{status: 200, headers: {Content-Type: application/json}, body: {channel: {name: load}}}"#;
    let no_content = r#"{status: 204, headers: {Content-Type: application/json}}"#;
    let mut calls = Vec::new();
    for i in 0..64 {
        yaml.push_str(&format!(
            "  - request: {{method: POST, path: /GetChannel, region: us-west-2, body: {{arn: \"{}\"}}}}\n    response: {ok}\n",
            arn(i)
        ));
        calls.push(Call {
            method: "POST",
            path: "/GetChannel".into(),
            body: Some(format!(r#"{{"arn": "{}"}}"#, arn(i))),
        });
    }
    let tags = tags_path(&arn(0));
    yaml.push_str(&format!(
        "  - request: {{method: POST, path: /ListChannels, region: us-west-2, body: {{maxResults: 10}}}}\n    response: {ok}\n\
         \x20 - request: {{method: GET, path: \"{tags}\", region: us-west-2}}\n    response: {ok}\n\
         \x20 - request: {{method: POST, path: \"{tags}\", region: us-west-2, body: {{tags: {{a: \"1\", b: \"2\"}}}}}}\n    response: {no_content}\n\
         \x20 - request: {{method: DELETE, path: \"{tags}\", query: {{tagKeys: [a, b]}}, region: us-west-2}}\n    response: {no_content}\n\
         \x20 - request: {{method: POST, path: /PutMetadata, region: us-west-2, body: {{channelArn: \"{}\", metadata: \"{}\"}}}}\n    response: {no_content}\n",
        arn(0),
        ivs_vcr::__private::redact::secret_placeholder(metadata),
    ));
    calls.extend([
        Call {
            method: "POST",
            path: "/ListChannels".into(),
            body: Some(r#"{"maxResults":10}"#.into()),
        },
        Call {
            method: "GET",
            path: tags.clone(),
            body: None,
        },
        Call {
            method: "POST",
            path: tags.clone(),
            body: Some(r#"{"tags": {"b": "2", "a": "1"}}"#.into()),
        },
        Call {
            method: "DELETE",
            path: format!("{tags}?tagKeys=b&tagKeys=a"),
            body: None,
        },
        Call {
            method: "POST",
            path: "/PutMetadata".into(),
            body: Some(format!(
                r#"{{"metadata": "{metadata}", "channelArn": "{}"}}"#,
                arn(0)
            )),
        },
    ]);
    let cassette = Cassette::from_yaml(&yaml, "load.yaml".as_ref()).expect("load cassette parses");
    let server = ReplayServer::builder()
        .cassette(cassette)
        .start()
        .await
        .expect("replay server starts");
    let figures = drive("replay", server.addr(), &calls, options, success).await;
    let summary = server.shutdown().await;
    assert!(
        summary.unmatched.is_empty(),
        "load requests must all match: {:?}",
        summary.unmatched.first()
    );
    figures
}

/// Record, in front of the fake IVS (which checks every re-signed request), in three phases:
/// 1. prime: one pass over the distinct requests (GetChannel on 16 seeded channels, ListChannels,
///    ListTagsForResource) in `new-episodes`, which records them, and a shutdown that writes them;
/// 2. repeat: a new `new-episodes` server on the same file, and the full load of the same
///    requests, every one replayed from the cassette (asserted: nothing reaches upstream);
/// 3. forward: the same load of requests the cassette does not hold (GetChannel on other ARNs)
///    while the fake answers 500 to everything, so every request is read,
///    routed, re-signed, forwarded and captured, and the answer passed on but not recorded (the
///    500 is the expected answer here; anything else counts as an error).
///
/// A request repeated within one `new-episodes` session is forwarded and appended again (VCR
/// semantics: only what the file held at start is replayed), so phase 2 needs its own session,
/// and the forward path is checked with answers that are not recorded.
async fn run_record(options: &Options) -> Vec<(&'static str, Figures)> {
    let fake = FakeIvs::start(OperatorCredentials {
        access_key: OPERATOR_KEY.into(),
        secret_key: OPERATOR_SECRET.into(),
        session_token: None,
    })
    .await;
    let mut calls = Vec::new();
    for i in 0..16 {
        let arn = fake.seed_channel("us-west-2", &format!("load-{i}"));
        calls.push(Call {
            method: "POST",
            path: "/GetChannel".into(),
            body: Some(format!(r#"{{"arn":"{arn}"}}"#)),
        });
        if i == 0 {
            calls.push(Call {
                method: "GET",
                path: tags_path(&arn),
                body: None,
            });
        }
    }
    calls.push(Call {
        method: "POST",
        path: "/ListChannels".into(),
        body: Some("{}".into()),
    });
    let dir = tempfile::tempdir().expect("temporary directory");
    let recorder = || {
        RecordServer::builder(dir.path())
            .name("load")
            .upstream(fake.uri())
            .mode(RecordMode::NewEpisodes)
            .credentials(Credentials::new(
                OPERATOR_KEY,
                OPERATOR_SECRET,
                None,
                None,
                "load",
            ))
            .start()
    };

    let prime = Options {
        n_clients: 1,
        n_requests: calls.len() as u64,
        ..*options
    };
    let server = recorder().await.expect("record server starts");
    let primed = drive("record/prime", server.addr(), &calls, &prime, success).await;
    let summary = server.shutdown().await;
    assert!(summary.is_clean(), "priming is not clean:\n{summary}");
    println!(
        "record/prime: {} distinct requests recorded, errors {}",
        summary.n_recorded(),
        primed.n_errors
    );

    let server = recorder().await.expect("record server starts");
    let n_upstream = fake.n_requests();
    let repeat = drive("record/repeat", server.addr(), &calls, options, success).await;
    assert_eq!(
        fake.n_requests(),
        n_upstream,
        "repeated requests are all replayed, none forwarded"
    );

    // Requests the cassette does not hold, so they are forwarded: GetChannel on other ARNs.
    let unrecorded: Vec<Call> = (0..16)
        .map(|i| Call {
            method: "POST",
            path: "/GetChannel".into(),
            body: Some(format!(r#"{{"arn":"{}"}}"#, arn(1000 + i))),
        })
        .collect();
    fake.fail_all(&[500]);
    let forward = drive(
        "record/forward",
        server.addr(),
        &unrecorded,
        options,
        |status| status == 500,
    )
    .await;
    let summary = server.shutdown().await;
    let replayed: u64 = summary.operations.values().map(|o| o.replayed).sum();
    let not_recorded: u64 = summary.operations.values().map(|o| o.not_recorded).sum();
    println!(
        "record: {replayed} replayed, {not_recorded} forwarded and not recorded (500), {} recorded; {} reached the fake upstream, {} bad signatures",
        summary.n_recorded(),
        fake.n_requests(),
        fake.n_bad_signatures()
    );
    assert_eq!(
        summary.n_recorded(),
        0,
        "nothing new is recorded after priming"
    );
    assert_eq!(
        fake.n_bad_signatures(),
        0,
        "every forwarded request verifies"
    );
    vec![("record/repeat", repeat), ("record/forward", forward)]
}

/// The expected answer everywhere but the forward phase: a success.
fn success(status: http::StatusCode) -> bool {
    status.is_success()
}

/// Runs `options.n_clients` keep-alive clients over `calls` until `options.n_requests` are done or
/// `options.duration` has passed, printing progress and RSS every second. An answer whose status
/// is not `expected`, or a failed exchange, is an error.
async fn drive(
    mode: &'static str,
    addr: SocketAddr,
    calls: &[Call],
    options: &Options,
    expected: fn(http::StatusCode) -> bool,
) -> Figures {
    let calls: Arc<[Call]> = calls.into();
    let n_requests = options.n_requests;
    let n_warm = (n_requests / 10).max(1);
    let issued = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let rss_warm = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let deadline = start + options.duration;

    let sampler = {
        let (done, errors, stop) = (done.clone(), errors.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut last = 0;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let elapsed = start.elapsed();
                if elapsed.as_millis() / 1000 == last {
                    continue;
                }
                last = elapsed.as_millis() / 1000;
                let n = done.load(Ordering::Relaxed);
                println!(
                    "  {mode} {:>4.1} s  {n:>9} requests  {:>7.0} req/s  errors {}  RSS {} KiB",
                    elapsed.as_secs_f64(),
                    n as f64 / elapsed.as_secs_f64(),
                    errors.load(Ordering::Relaxed),
                    rss_kib()
                );
            }
        })
    };

    let mut clients = Vec::new();
    for client_idx in 0..options.n_clients {
        let (calls, issued, done, errors, rss_warm) = (
            calls.clone(),
            issued.clone(),
            done.clone(),
            errors.clone(),
            rss_warm.clone(),
        );
        clients.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let _ = stream.set_nodelay(true);
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            let mut call_idx = client_idx;
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < n_requests {
                let call = &calls[call_idx % calls.len()];
                call_idx += 1;
                let body = call.body.clone().unwrap_or_default();
                let mut req = Request::builder()
                    .method(call.method)
                    .uri(&call.path)
                    .header("host", addr.to_string())
                    .header("x-amz-date", "20261126T020014Z")
                    .header("authorization", AUTHORIZATION)
                    .header(
                        "amz-sdk-invocation-id",
                        "6f3c5d1e-8a1b-4c2d-9e3f-4a5b6c7d8e9f",
                    )
                    .header("content-length", body.len());
                if call.body.is_some() {
                    req = req.header("content-type", "application/json");
                }
                let req = req.body(Full::new(Bytes::from(body))).expect("request");
                let ok = match sender.send_request(req).await {
                    Ok(res) => {
                        let status = res.status();
                        res.into_body().collect().await.is_ok() && expected(status)
                    }
                    Err(_) => false,
                };
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                if done.fetch_add(1, Ordering::Relaxed) + 1 == n_warm {
                    rss_warm.store(rss_kib(), Ordering::Relaxed);
                }
                if !ok && sender.ready().await.is_err() {
                    break;
                }
            }
        }));
    }
    for client in clients {
        client.await.expect("load client");
    }
    let elapsed = start.elapsed();
    let rss_end_kib = rss_kib();
    stop.store(true, Ordering::Relaxed);
    sampler.join().expect("sampler");
    let n_done = done.load(Ordering::Relaxed);
    // Requests never sent because connections broke count as errors; those the deadline cut do not.
    let n_unsent = if elapsed < options.duration {
        n_requests.saturating_sub(n_done)
    } else {
        0
    };
    Figures {
        n_done,
        n_errors: errors.load(Ordering::Relaxed) + n_unsent,
        elapsed,
        rss_warm_kib: rss_warm.load(Ordering::Relaxed),
        n_at_warm: n_warm,
        rss_end_kib,
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
