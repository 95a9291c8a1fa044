//! What the benchmark harnesses share: a fixed-answer upstream or baseline server, and SDK-like
//! signed GetChannel requests over one keep-alive connection.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

mod latencies;
#[allow(unused_imports, reason = "the record bench keeps no histogram")]
pub use latencies::Latencies;

/// How many slices a throughput round gives each server its time in, taken in turn: noise from
/// elsewhere on the machine, which comes and goes over seconds, then falls on every server alike.
pub const SLICES: usize = 5;

/// The order a round runs `n` servers in, by index: [`SLICES`] turns over every server, each
/// turn starting one further on, so that no server always runs right after the same other.
pub fn slice_order(n: usize) -> impl Iterator<Item = usize> {
    (0..SLICES).flat_map(move |turn| (0..n).map(move |k| (k + turn) % n))
}

/// A realistic GetChannel answer.
pub const CHANNEL_BODY: &str = r#"{"channel":{"arn":"arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234","name":"bench","latencyMode":"LOW","type":"STANDARD","authorized":false,"ingestEndpoint":"a1b2c3d4e5f6.global-contribute.live-video.net","playbackUrl":"https://a1b2c3d4e5f6.us-west-2.playback.live-video.net/api/video/v1/us-west-2.123456789012.channel.abcdEFGH1234.m3u8","tags":{}}}"#;

/// The request id every fixed answer carries.
pub const REQUEST_ID: &str = "0f0e0d0c-0b0a-4908-8706-050403020100";

/// A cassette of `n` GetChannel interactions on distinct ARNs (`channel/bench<i>`), each answer
/// with its own request id, as recorded answers have.
pub fn cassette_yaml(n: usize) -> String {
    let mut yaml = String::from(
        "format: 1\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: {kind: authored, source: benchmark}\nname: bench\ninteractions:\n",
    );
    for i in 0..n {
        yaml.push_str(&format!(
            "  - request: {{method: POST, path: /GetChannel, region: us-west-2, body: {{arn: \"arn:aws:ivs:us-west-2:123456789012:channel/bench{i:07}\"}}}}\n    response: {{status: 200, headers: {{Content-Type: application/json, x-amzn-RequestId: {}{i:012}}}, body: {}}}\n",
            &REQUEST_ID[..24],
            CHANNEL_BODY
        ));
    }
    yaml
}

/// Serves `service` on a free loopback port, each connection with its own copy, as a bare hyper
/// server does.
async fn serve_loopback<S>(service: S) -> SocketAddr
where
    S: hyper::service::Service<
            Request<hyper::body::Incoming>,
            Response = Response<Full<Bytes>>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
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
            let service = service.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// A bare hyper server on a free loopback port: it reads each request's body, as any real
/// server must, and answers [`CHANNEL_BODY`] with `Content-Type` and these extra headers.
pub async fn fixed_answer_server(
    extra_headers: &'static [(&'static str, &'static str)],
) -> SocketAddr {
    serve_loopback(hyper::service::service_fn(
        move |req: Request<hyper::body::Incoming>| async move {
            let _ = req.into_body().collect().await;
            let mut res = Response::new(Full::new(Bytes::from_static(CHANNEL_BODY.as_bytes())));
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
    ))
    .await
}

/// A bare hyper server holding `n` answers of its own, each [`CHANNEL_BODY`] after its own request
/// id, packed end to end in one buffer as replay packs its prepared answers. A request for
/// `channel/bench<i>` gets answer `i`, found from the body's last digits with no table at all:
/// the least any server can do to send one of `n` distinct answers. Asked for all `n` in turn,
/// against the same server asked for a few, it shows what answers spread over memory cost on
/// this machine, apart from any server's lookup.
pub async fn spread_answer_server(n: usize) -> SocketAddr {
    let answer_len = REQUEST_ID.len() + CHANNEL_BODY.len();
    let mut packed = Vec::with_capacity(n * answer_len);
    for i in 0..n {
        packed.extend_from_slice(format!("{}{i:012}", &REQUEST_ID[..24]).as_bytes());
        packed.extend_from_slice(CHANNEL_BODY.as_bytes());
    }
    let packed = Bytes::from(packed);
    serve_loopback(hyper::service::service_fn(
        move |req: Request<hyper::body::Incoming>| {
            let packed = packed.clone();
            async move {
                let body = req.into_body().collect().await.map(|b| b.to_bytes());
                // `...channel/bench<7 digits>"}`: the answer's number, or a 404.
                let i = body.ok().and_then(|body| {
                    let digits = body.get(body.len().checked_sub(9)?..body.len() - 2)?;
                    std::str::from_utf8(digits).ok()?.parse::<usize>().ok()
                });
                let Some(at) = i.filter(|&i| i < n).map(|i| i * answer_len) else {
                    let mut res = Response::new(Full::new(Bytes::new()));
                    *res.status_mut() = http::StatusCode::NOT_FOUND;
                    return Ok::<_, Infallible>(res);
                };
                let id = packed.slice(at..at + REQUEST_ID.len());
                let mut res = Response::new(Full::new(
                    packed.slice(at + REQUEST_ID.len()..at + answer_len),
                ));
                let headers = res.headers_mut();
                headers.insert(
                    "content-type",
                    http::HeaderValue::from_static("application/json"),
                );
                headers.insert(
                    "x-amzn-requestid",
                    http::HeaderValue::from_maybe_shared(id).expect("an ASCII id"),
                );
                Ok(res)
            }
        },
    ))
    .await
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

/// The head of an SDK-like signed POST to `path` in `region` on the server at `addr` (whose
/// `host` it names, as SDKs do), with the same headers as [`get_channel`], for a body of
/// `body_len` bytes.
pub fn raw_head(addr: SocketAddr, path: &str, region: &str, body_len: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nx-amz-date: 20261126T020014Z\r\nauthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/{region}/ivs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000\r\namz-sdk-invocation-id: 6f3c5d1e-8a1b-4c2d-9e3f-4a5b6c7d8e9f\r\namz-sdk-request: attempt=1; max=3\r\ncontent-length: {body_len}\r\n\r\n"
    )
}

/// One keep-alive connection that writes requests as bytes and reads answers with just enough
/// parsing to find their end: a load generator far cheaper per request than a hyper client, so
/// one core of it can saturate one core of server.
pub struct RawConn {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
    addr: SocketAddr,
}

impl RawConn {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> RawConn {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let _ = stream.set_nodelay(true);
        RawConn {
            stream,
            buf: Vec::with_capacity(8192),
            addr,
        }
    }

    /// `n` connections to `addr`, opened one after another.
    pub async fn connect_all(addr: SocketAddr, n: usize) -> Vec<RawConn> {
        let mut conns = Vec::with_capacity(n);
        for _ in 0..n {
            conns.push(RawConn::connect(addr).await);
        }
        conns
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends one request (its whole bytes) and returns the answer's status and body. It reads
    /// straight into its buffer and looks only for the head's end and `Content-Length`, so that a
    /// longer head (the emulator's IVS headers) costs the load little more.
    pub async fn call(&mut self, request: &[u8]) -> std::io::Result<(u16, &[u8])> {
        use tokio::io::AsyncWriteExt as _;
        self.stream.write_all(request).await?;
        self.buf.clear();
        loop {
            if let Some(head_end) = memchr::memmem::find(&self.buf, b"\r\n\r\n") {
                let head = &self.buf[..head_end];
                let status = std::str::from_utf8(head.get(9..12).unwrap_or_default())
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0u16);
                let length = content_length(head).unwrap_or(0);
                let body_start = head_end + 4;
                while self.buf.len() < body_start + length {
                    self.read_more().await?;
                }
                return Ok((status, &self.buf[body_start..body_start + length]));
            }
            self.read_more().await?;
        }
    }

    async fn read_more(&mut self) -> std::io::Result<()> {
        use tokio::io::AsyncReadExt as _;
        self.buf.reserve(4096);
        // Into the buffer's spare room: nothing zeroed, nothing copied.
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

/// The `Content-Length` of a response head, whatever the case of its name.
fn content_length(head: &[u8]) -> Option<usize> {
    const NAME: &[u8] = b"\r\ncontent-length:";
    let at = memchr::memmem::find_iter(head, b":").find(|&colon| {
        colon >= NAME.len() - 1 && head[colon + 1 - NAME.len()..=colon].eq_ignore_ascii_case(NAME)
    })?;
    let value = &head[at + 1..];
    let end = memchr::memchr(b'\r', value).unwrap_or(value.len());
    std::str::from_utf8(&value[..end]).ok()?.trim().parse().ok()
}

/// Pins the calling thread to one CPU with `taskset`, so that servers and load generator each
/// keep a core of their own; false when that is not possible here (the figures are then noisier).
pub fn pin_current_thread(cpu: usize) -> bool {
    let Ok(task) = std::fs::read_link("/proc/thread-self") else {
        return false;
    };
    let Some(tid) = task.file_name().and_then(|t| t.to_str()) else {
        return false;
    };
    std::process::Command::new("taskset")
        .args(["-p", "-c", &cpu.to_string(), tid])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Median, minimum and maximum of a set of figures.
pub fn spread(figures: &[f64]) -> (f64, f64, f64) {
    let mut sorted = figures.to_vec();
    sorted.sort_by(f64::total_cmp);
    (
        sorted[sorted.len() / 2],
        sorted[0],
        sorted[sorted.len() - 1],
    )
}

/// Resident and peak resident memory of a process, in MB, from `/proc/<pid>/status`.
pub fn rss_mb(pid: &str) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time of one thread: from `/proc/<pid>/task/<tid>/schedstat`, in nanoseconds, where the
/// kernel has it; else user plus system time from `stat`, in clock ticks (taken as the usual 100
/// per second), which a short run reads to within a few percent only.
pub fn thread_cpu_time(task: &std::path::Path) -> Duration {
    let schedstat = std::fs::read_to_string(task.join("schedstat")).ok();
    if let Some(ns) = schedstat.and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok()) {
        return Duration::from_nanos(ns);
    }
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
