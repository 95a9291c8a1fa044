//! Regression tests for issue 11, "Security and robustness, round two": each test names the
//! section of the issue it proves (cross-site and rebinding requests, secrets outside the known
//! paths, symlinks, near-miss cost, limits, logs and reports).

use std::net::SocketAddr;

use crate::support::fake_ivs::FakeIvs;
use crate::support::raw::{self, assert_aws_error, RawResponse};
use crate::support::{fixture, operator, recorder};
use ivs_vcr::{Cassette, RecordMode, RecordServer, ReplayServer};

/// One request with this `Host`, these extra header lines and an optional `Content-Type`.
/// An SDK-like call: `{}` as JSON to `path`, addressed to the server itself.
async fn post_json(addr: SocketAddr, path: &str) -> RawResponse {
    send(
        addr,
        &addr.to_string(),
        path,
        Some("application/json"),
        "",
        "{}",
    )
    .await
}

async fn send(
    addr: SocketAddr,
    host: &str,
    path: &str,
    content_type: Option<&str>,
    extra_headers: &str,
    body: &str,
) -> RawResponse {
    let content_type = content_type
        .map(|t| format!("Content-Type: {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\n{content_type}{extra_headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    raw::exchange(addr, request.as_bytes()).await
}

/// What an SDK sends in `Authorization`: record reads the region from it and signs again.
fn sdk_authorization() -> &'static str {
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-west-2/ivs/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000"
}

fn rebinding_refusal(host: &str, addr: SocketAddr) -> String {
    format!(
        "refused: `Host` \"{host}\" is not this server's address ({addr}) or a loopback name for it; address it as http://{addr}, or start it with --allow-host"
    )
}

// §1 Record signs requests from any web page.

/// Issue 11 §1: a DNS-rebinding page, a cross-site page and a non-JSON body are refused with 403
/// before anything is forwarded, even with `--region` (which lets unsigned requests through).
#[tokio::test]
async fn record_refuses_rebinding_cross_site_and_non_json_requests_before_forwarding() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeIvs::start(operator()).await;
    let server = recorder(dir.path(), &fake.uri())
        .region("us-west-2")
        .mode(RecordMode::All)
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let port = addr.port();
    let json = Some("application/json");
    let forbidden = "IvsVcrForbiddenRequestException";

    let rebind = format!("rebind.attacker.example:{port}");
    let res = send(addr, &rebind, "/ListChannels", json, "", "{}").await;
    assert_aws_error(&res, 403, forbidden, &rebinding_refusal(&rebind, addr));

    for (header, name) in [
        ("Origin: https://attacker.example\r\n", "origin"),
        ("Sec-Fetch-Site: same-origin\r\n", "sec-fetch-site"),
    ] {
        let res = send(addr, &addr.to_string(), "/ListChannels", json, header, "{}").await;
        let message = format!("refused: the request carries `{name}`, as a web browser's does; record serves AWS SDKs and CLIs only");
        assert_aws_error(&res, 403, forbidden, &message);
    }

    let host = addr.to_string();
    for (content_type, shown) in [
        (Some("text/plain"), "\"text/plain\""),
        (
            Some("application/x-www-form-urlencoded"),
            "\"application/x-www-form-urlencoded\"",
        ),
        (
            Some("multipart/form-data; boundary=x"),
            "\"multipart/form-data; boundary=x\"",
        ),
        (None, "missing"),
    ] {
        let res = send(addr, &host, "/ListChannels", content_type, "", "{}").await;
        let message =
            format!("refused: the body's `Content-Type` is {shown}, not JSON (`application/json`)");
        assert_aws_error(&res, 403, forbidden, &message);
    }
    assert_eq!(fake.n_requests(), 0, "nothing refused was forwarded");

    // What SDKs send: the address they were given, a loopback name for it, JSON (with or
    // without parameters), and GET/DELETE without a body.
    let hosts = [
        addr.to_string(),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ];
    for host in &hosts {
        let res = send(addr, host, "/ListChannels", json, "", "{}").await;
        assert_eq!(res.status, 200, "{host}: {res:?}");
    }
    let res = send(
        addr,
        &host,
        "/ListChannels",
        Some("application/x-amz-json-1.1; charset=utf-8"),
        "",
        "{}",
    )
    .await;
    assert_eq!(res.status, 200, "{res:?}");
    let tags = "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2FabcdEFGH1234";
    let request = format!(
        "GET {tags} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        sdk_authorization()
    );
    let res = raw::exchange(addr, request.as_bytes()).await;
    assert_ne!(res.status, 403, "{res:?}");
    assert_eq!(fake.n_requests(), hosts.len() + 2);
    server.shutdown().await;
}

/// Issue 11 §1: replay and its control plane refuse a rebinding `Host` too, so a page cannot
/// read or reset a developer's replay server; an operator can allow a name (`--allow-host`).
#[tokio::test]
async fn replay_and_its_control_plane_refuse_a_host_that_does_not_name_the_server() {
    let server = ReplayServer::builder()
        .cassette(Cassette::load(fixture("replay/flow.yaml")).unwrap())
        .allow_host("ivs-vcr")
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let port = addr.port();
    let forbidden = "IvsVcrForbiddenRequestException";
    let json = Some("application/json");
    for path in ["/ListChannels", "/_ivs-vcr/reset", "/moto-api/reset"] {
        let rebind = format!("rebind.attacker.example:{port}");
        let res = send(addr, &rebind, path, json, "", "{}").await;
        assert_aws_error(&res, 403, forbidden, &rebinding_refusal(&rebind, addr));
        let other_port = format!("127.0.0.1:{}", port.wrapping_add(1));
        let res = send(addr, &other_port, path, json, "", "{}").await;
        assert_aws_error(&res, 403, forbidden, &rebinding_refusal(&other_port, addr));
    }
    let request = b"GET /_ivs-vcr/health HTTP/1.1\r\nConnection: close\r\n\r\n";
    let res = raw::exchange(addr, request).await;
    assert_aws_error(
        &res,
        403,
        forbidden,
        "refused: the request has no `Host` header",
    );

    // Replay serves browsers (a web app's tests may use it), but never through another name.
    for host in [format!("localhost:{port}"), format!("ivs-vcr:{port}")] {
        let res = send(
            addr,
            &host,
            "/_ivs-vcr/reset",
            None,
            "Origin: http://localhost:3000\r\n",
            "",
        )
        .await;
        assert_eq!(res.status, 200, "{host}: {res:?}");
    }
}

/// A request as a page in a browser sends it: method, path, these header lines, a body.
async fn from_page(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> RawResponse {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    raw::exchange(addr, request.as_bytes()).await
}

fn origin_refusal(origin: &str) -> String {
    format!(
        "refused: the request comes from a web page at \"{origin}\", not from loopback (localhost, 127.0.0.1, [::1]); to let that page use this server, start it with --allow-origin \"{origin}\""
    )
}

/// Every control call, with a body that would do harm: a stall of every later call, a stream
/// taken live, the state emptied.
const CONTROL_CALLS: &[(&str, &str, &str)] = &[
    ("GET", "/_ivs-vcr/health", ""),
    ("GET", "/_ivs-vcr/state", ""),
    ("GET", "/_ivs-vcr/summary", ""),
    ("GET", "/_ivs-vcr/faults", ""),
    ("POST", "/_ivs-vcr/faults", "{\"delay_ms\":600000}"),
    ("DELETE", "/_ivs-vcr/faults", ""),
    ("POST", "/_ivs-vcr/reset", ""),
    ("POST", "/moto-api/reset", ""),
    ("POST", "/cassette/x/_ivs-vcr/reset", ""),
    (
        "POST",
        "/_ivs-vcr/streams/start",
        "{\"channelArn\":\"arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234\"}",
    ),
    (
        "POST",
        "/_ivs-vcr/streams/stop",
        "{\"channelArn\":\"arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234\"}",
    ),
];

/// Asserts that an answer lets no page read it.
#[track_caller]
fn assert_no_cors(res: &RawResponse) {
    let cors: Vec<_> = res
        .headers
        .iter()
        .filter(|(name, _)| name.starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "a refusal allows no page: {cors:?}");
}

/// Issue 29 (finding 5): a page on another site can neither drive replay (the emulator, a fault that
/// stalls every later call, a stream taken live, a reset) nor read its answers (stream keys,
/// SRT passphrases): every IVS call and every control call from it is refused with 403, and
/// so is its preflight, which carries no allow header.
#[tokio::test]
async fn replay_refuses_pages_from_other_sites_on_ivs_and_control_calls() {
    let server = ReplayServer::emulator().await;
    let addr = server.addr();
    let forbidden = "IvsVcrForbiddenRequestException";
    let evil = "Origin: https://evil.example\r\nSec-Fetch-Site: cross-site\r\nContent-Type: text/plain\r\n";
    let res = from_page(addr, "POST", "/CreateChannel", evil, "{}").await;
    assert_aws_error(
        &res,
        403,
        forbidden,
        &origin_refusal("https://evil.example"),
    );
    assert_no_cors(&res);
    for (method, path, body) in CONTROL_CALLS {
        let res = from_page(addr, method, path, evil, body).await;
        assert_aws_error(
            &res,
            403,
            forbidden,
            &origin_refusal("https://evil.example"),
        );
        assert_no_cors(&res);
        // With JSON, after a preflight the browser would not have sent: refused the same way.
        let json = "Origin: https://evil.example\r\nContent-Type: application/json\r\n";
        let res = from_page(addr, method, path, json, body).await;
        assert_eq!(res.status, 403, "{method} {path}: {res:?}");
    }
    // Neither a page that only looks like loopback, nor a sandboxed frame.
    for origin in ["http://localhost.evil.example:5173", "null"] {
        let res = from_page(
            addr,
            "POST",
            "/ListChannels",
            &format!("Origin: {origin}\r\nContent-Type: application/json\r\n"),
            "{}",
        )
        .await;
        assert_aws_error(&res, 403, forbidden, &origin_refusal(origin));
    }
    let preflight = "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type,authorization\r\n";
    let res = from_page(addr, "OPTIONS", "/CreateChannel", preflight, "").await;
    assert_aws_error(
        &res,
        403,
        forbidden,
        &origin_refusal("https://evil.example"),
    );
    assert_no_cors(&res);
    // An `<img>` or a link from another site names no origin; its `Sec-Fetch-Site` says enough.
    let res = from_page(
        addr,
        "GET",
        "/_ivs-vcr/state",
        "Sec-Fetch-Site: cross-site\r\n",
        "",
    )
    .await;
    assert_aws_error(
        &res,
        403,
        forbidden,
        "refused: the request comes from another site's web page (`Sec-Fetch-Site: cross-site`) and names no `Origin` that could be allowed",
    );

    // Nothing happened: no fault, no channel.
    let res = raw::call(addr, "GET", "/_ivs-vcr/faults").await;
    assert_eq!(res.body, "{\"faults\":[]}");
    let res = raw::call(addr, "GET", "/_ivs-vcr/state").await;
    assert!(!res.body.contains("channel/"), "{}", res.body);
}

/// Issue 29 (finding 5): a front end on loopback (`http://localhost:5173`, a page on another port, so
/// another origin) keeps using replay: its preflight is answered, and every answer names its
/// origin instead of `*`, with `Vary: Origin`.
#[tokio::test]
async fn a_front_end_on_loopback_uses_replay_and_reads_answers_naming_its_origin() {
    let server = ReplayServer::emulator().await;
    let addr = server.addr();
    for origin in [
        "http://localhost:5173",
        "http://127.0.0.1:3000",
        "http://[::1]:8080",
    ] {
        let preflight = format!("Origin: {origin}\r\nSec-Fetch-Site: cross-site\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization,content-type,x-amz-date\r\n");
        let res = from_page(addr, "OPTIONS", "/CreateChannel", &preflight, "").await;
        assert_eq!(res.status, 204, "{origin}: {res:?}");
        assert_eq!(res.header("access-control-allow-origin"), Some(origin));
        assert_eq!(
            res.header("access-control-allow-methods"),
            Some("GET, POST, DELETE")
        );
        assert_eq!(
            res.header("access-control-allow-headers"),
            Some("authorization,content-type,x-amz-date")
        );
        assert_eq!(res.header("vary"), Some("origin"));

        let page = format!(
            "Origin: {origin}\r\nSec-Fetch-Site: cross-site\r\nContent-Type: application/json\r\n"
        );
        let res = from_page(addr, "POST", "/CreateChannel", &page, "{}").await;
        assert_eq!(res.status, 200, "{origin}: {res:?}");
        assert_eq!(res.header("access-control-allow-origin"), Some(origin));
        assert_eq!(res.header("vary"), Some("origin"));
        let created: serde_json::Value = serde_json::from_str(&res.body).unwrap();
        let arn = created["channel"]["arn"].as_str().unwrap();
        let body = format!("{{\"channelArn\":\"{arn}\"}}");
        let res = from_page(addr, "POST", "/_ivs-vcr/streams/start", &page, &body).await;
        assert_eq!(res.status, 200, "{origin}: {res:?}");
        assert_eq!(res.header("access-control-allow-origin"), Some(origin));
    }
    // An SDK, which sends no `Origin`, gets IVS's own headers.
    let res = raw::post(addr, "/ListChannels", "{}").await;
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
}

/// Issue 29 (finding 5): `--allow-origin` (`allow_origin`) lets one more page use replay: that origin
/// exactly, by scheme, host and port.
#[tokio::test]
async fn an_allowed_origin_uses_replay_and_no_other() {
    let server = ReplayServer::builder()
        .allow_origin("https://App.test:443")
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let page = |origin: &str| format!("Origin: {origin}\r\nContent-Type: application/json\r\n");
    let res = from_page(
        addr,
        "POST",
        "/ListChannels",
        &page("https://app.test"),
        "{}",
    )
    .await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://app.test")
    );
    for other in [
        "http://app.test",
        "https://app.test:8443",
        "https://evil.app.test",
    ] {
        let res = from_page(addr, "POST", "/ListChannels", &page(other), "{}").await;
        assert_aws_error(
            &res,
            403,
            "IvsVcrForbiddenRequestException",
            &origin_refusal(other),
        );
    }
}

/// Issue 29 (finding 5): the command line's `--allow-origin` reaches the server, and a value that is no
/// origin is refused at start.
#[test]
fn the_allow_origin_flag_allows_that_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::support::bin::IvsVcr::start(
        &[
            "replay",
            "--port",
            "0",
            "--allow-origin",
            "https://app.test:8443",
        ],
        dir.path(),
    );
    let addr = server.addr();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let page = |origin: &str| format!("Origin: {origin}\r\nContent-Type: application/json\r\n");
    let res = runtime.block_on(from_page(
        addr,
        "POST",
        "/ListChannels",
        &page("https://app.test:8443"),
        "{}",
    ));
    assert_eq!(res.status, 200, "{res:?}");
    let res = runtime.block_on(from_page(
        addr,
        "POST",
        "/ListChannels",
        &page("https://app.test"),
        "{}",
    ));
    assert_eq!(res.status, 403, "{res:?}");
    server.kill();
    let refused = crate::support::bin::run(&["replay", "--allow-origin", "app.test"], dir.path());
    assert_eq!(refused.status.code(), Some(2), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("expected an origin as browsers send it"),
        "{}",
        refused.stderr
    );
}

/// Issue 29 (finding 5): replay's control plane takes JSON bodies only, so that a "simple" cross-site
/// POST (`text/plain`, a form) cannot reach it even from a browser that sends no `Origin`.
/// A bodiless POST, as moto's clients send `/moto-api/reset`, needs no `Content-Type`.
#[tokio::test]
async fn replays_control_plane_takes_json_bodies_only() {
    let server = ReplayServer::emulator().await;
    let addr = server.addr();
    let forbidden = "IvsVcrForbiddenRequestException";
    for (content_type, shown) in [
        ("Content-Type: text/plain\r\n", "\"text/plain\""),
        (
            "Content-Type: application/x-www-form-urlencoded\r\n",
            "\"application/x-www-form-urlencoded\"",
        ),
        ("", "missing"),
    ] {
        for path in [
            "/_ivs-vcr/faults",
            "/_ivs-vcr/streams/start",
            "/moto-api/reset",
        ] {
            let res = from_page(addr, "POST", path, content_type, "{\"delay_ms\":600000}").await;
            let message = format!(
                "refused: the body's `Content-Type` is {shown}, not JSON (`application/json`)"
            );
            assert_aws_error(&res, 403, forbidden, &message);
        }
    }
    let res = raw::call(addr, "GET", "/_ivs-vcr/faults").await;
    assert_eq!(res.body, "{\"faults\":[]}");
    let res = from_page(addr, "POST", "/moto-api/reset", "", "").await;
    assert_eq!(res.status, 200, "{res:?}");
    let res = raw::post(addr, "/_ivs-vcr/faults", "{\"delay_ms\":1}").await;
    assert_eq!(res.status, 201, "{res:?}");
}

// Issue 29 (finding 9): record signs only what an SDK sends.

/// Issue 29 (finding 9): with `--region`, record would sign a GET carrying neither `Origin` nor
/// `Sec-Fetch-Site`, which is what an `<img>` sends from a browser without Fetch Metadata. A
/// GET of a route IVS serves by POST is refused, and so is an unsigned bodiless request, before
/// anything is signed or sent.
#[tokio::test]
async fn record_signs_no_bodiless_request_without_authorization() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeIvs::start(operator()).await;
    let server = recorder(dir.path(), &fake.uri())
        .region("us-west-2")
        .mode(RecordMode::All)
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let res = raw::call(addr, "GET", "/ListChannels").await;
    assert_aws_error(
        &res,
        405,
        "IvsVcrMethodNotAllowedException",
        "IVS does not use `GET` on `/ListChannels`: it takes `POST` there",
    );
    let tags = "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2FabcdEFGH1234";
    for (method, path) in [("GET", tags), ("DELETE", tags), ("POST", "/ListChannels")] {
        let res = raw::call(addr, method, path).await;
        assert_aws_error(
            &res,
            403,
            "IvsVcrForbiddenRequestException",
            &format!("refusing to sign a `{method}` with neither an `Authorization` header nor a body: a web page can send one (an image, a link); sign it as AWS SDKs do (any credentials: record signs again with yours)"),
        );
    }
    assert_eq!(fake.n_connections(), 0, "nothing refused reached upstream");

    // What an SDK sends is signed and forwarded: a signed GET, and (with `--region`) JSON.
    let request = format!(
        "GET {tags} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        sdk_authorization()
    );
    let res = raw::exchange(addr, request.as_bytes()).await;
    assert_ne!(res.status, 403, "{res:?}");
    let res = post_json(addr, "/ListChannels").await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(fake.n_requests(), 2);
    server.shutdown().await;
}

// §2 Secrets outside the known body paths.

/// An upstream that echoes secrets where IVS never puts them: `answer` maps the request path and
/// body to status, content type and body.
struct EchoIvs {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EchoIvs {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EchoIvs {
    async fn start(answer: fn(&str, &str) -> (u16, &'static str, String)) -> EchoIvs {
        use http_body_util::BodyExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: http::Request<hyper::body::Incoming>| async move {
                            let path = req.uri().path().to_owned();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let (status, content_type, body) =
                                answer(&path, &String::from_utf8_lossy(&body));
                            let response = http::Response::builder()
                                .status(status)
                                .header("content-type", content_type)
                                .header("x-amzn-RequestId", "r")
                                .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                                .unwrap();
                            Ok::<_, std::convert::Infallible>(response)
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        EchoIvs { addr, task }
    }

    fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }
}

const STREAM_KEY: &str = "sk_us-west-2_Ab12Cd34Ef56Gh78Ij90";
const OTHER_KEY: &str = "sk_eu-central-1_ZZ99yy88XX77ww66";
const PAYLOAD: &str = "{\"score\": \"secret-metadata-payload\"}";
const PASSPHRASE: &str = "srtPassphraseEXAMPLE0123456789ab";

fn echo(path: &str, body: &str) -> (u16, &'static str, String) {
    let json = "application/json";
    match path {
        // The stream key where IVS puts it, and again in tags, a name and a capitalised member.
        "/CreateStreamKey" => (
            200,
            json,
            serde_json::json!({
                "streamKey": {"value": STREAM_KEY, "arn": "arn:aws:ivs:us-west-2:123456789012:stream-key/k",
                              "tags": {"copy": STREAM_KEY, STREAM_KEY: "as a key"}},
                "Name": format!("named {STREAM_KEY}"),
                "StreamKeyEcho": {"Value": OTHER_KEY},
                "Channel": {"Srt": {"Passphrase": PASSPHRASE}},
            })
            .to_string(),
        ),
        // A ValidationException quoting the request's PutMetadata payload and a stream key.
        "/PutMetadata" => (
            400,
            json,
            serde_json::json!({
                "message": format!("metadata {body} is invalid for {STREAM_KEY}"),
            })
            .to_string(),
        ),
        // A non-JSON error quoting a stream key no JSON member held.
        "/GetStreamKey" => (
            409,
            "text/plain",
            format!("conflict: key {OTHER_KEY} is in use"),
        ),
        _ => (200, json, "{}".into()),
    }
}

/// Issue 11 §2: every secret seen in an exchange, in either direction, is replaced wherever it
/// reappears (messages, `body_text`, other members, tags, names, object keys) before writing.
#[tokio::test]
async fn secrets_echoed_outside_their_members_never_reach_the_cassette() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = EchoIvs::start(echo).await;
    let server = recorder(dir.path(), &upstream.uri())
        .region("us-west-2")
        .mode(RecordMode::All)
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let host = addr.to_string();
    let json = Some("application/json");
    let channel = "arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234";
    let put = serde_json::json!({"channelArn": channel, "metadata": PAYLOAD}).to_string();
    let calls = [
        (
            "/CreateStreamKey",
            format!("{{\"channelArn\":\"{channel}\"}}"),
        ),
        ("/PutMetadata", put),
        (
            "/GetStreamKey",
            "{\"arn\":\"arn:aws:ivs:us-west-2:123456789012:stream-key/k\"}".into(),
        ),
    ];
    for (path, body) in &calls {
        let res = send(addr, &host, path, json, "", body).await;
        assert!(res.status < 500, "{path}: {res:?}");
    }
    let summary = server.shutdown().await;
    assert_eq!(summary.n_recorded(), 3, "{summary}");
    let text = std::fs::read_to_string(dir.path().join("recording.yaml")).unwrap();
    let escaped_payload = serde_json::Value::from(PAYLOAD).to_string();
    for secret in [
        STREAM_KEY,
        OTHER_KEY,
        PASSPHRASE,
        "secret-metadata-payload",
        &escaped_payload[1..escaped_payload.len() - 1],
    ] {
        assert!(!text.contains(secret), "{secret} was written:\n{text}");
    }
    let placeholder = ivs_vcr::__private::redact::secret_placeholder(STREAM_KEY);
    assert!(text.matches(placeholder.as_str()).count() >= 5, "{text}");
}

/// Issue 11 §2: record's `once` mode reports an unmatched request (stderr and the summary)
/// without the stream keys or private keys the request carried.
#[tokio::test]
async fn the_once_mode_report_and_the_summary_hold_no_secret_of_the_request() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("replay/flow.yaml"),
        dir.path().join("recording.yaml"),
    )
    .unwrap();
    let upstream = EchoIvs::start(echo).await;
    let server = recorder(dir.path(), &upstream.uri())
        .region("us-west-2")
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let putty =
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\nAAAAIBbbbb\n";
    let body = serde_json::json!({
        "name": format!("show {STREAM_KEY}"),
        "tags": {"key": putty, "metadata": PAYLOAD},
    })
    .to_string();
    let res = send(
        addr,
        &addr.to_string(),
        "/CreateChannel",
        Some("application/json"),
        "",
        &body,
    )
    .await;
    assert_eq!(res.status, 400, "{res:?}");
    let summary = server.shutdown().await.to_string();
    for secret in [STREAM_KEY, "PuTTY-User-Key-File", "secret-metadata-payload"] {
        assert!(
            !res.body.contains(secret),
            "{secret} in the answer:\n{}",
            res.body
        );
        assert!(
            !summary.contains(secret),
            "{secret} in the summary:\n{summary}"
        );
    }
    assert!(
        summary.contains("CreateChannel: no recorded interaction"),
        "{summary}"
    );
}

/// Real-shape secrets (finding 3 of the security issue): each with the part that must never be
/// printed or written. A stream key's id sits between its region and its secret, joined by `_`.
const REAL_SECRETS: [(&str, &str); 4] = [
    (
        "sk_us-west-2_Hn4tR6yBc1Vx_3lpFzJE27RBwfmEJByoXfqNn",
        "3lpFzJE27RBwfmEJByoXfqNn",
    ),
    (
        "rt_123456789012_us-west-2_AbCdEfGh1234_abcd1234efgh5678ijkl9012MNOP34",
        "abcd1234efgh5678ijkl9012MNOP34",
    ),
    (
        "eyJhbGciOiJLTVMiLCJ0eXAiOiJKV1QifQ.eyJ3aG9hbWkiOiJ0ZXN0In0.c2lnbmF0dXJlc2lnbmF0dXJl",
        "c2lnbmF0dXJlc2lnbmF0dXJl",
    ),
    (
        "AQICAHgYDEELm0Zq9xT1nYr7w5pKc3vB8sJ2hF6dL4aN0eQ+/uWiOoPzXyCbVtRsMk==",
        "hF6dL4aN0eQ+/uWiOoPzXyCbVtRsMk",
    ),
];

/// A body carrying every real-shape secret where no member marks it: in tag values, a name and
/// a tag key.
fn body_with_real_secrets() -> String {
    let [(key, _), (ingest, _), (jwt, _), (chat, _)] = REAL_SECRETS;
    serde_json::json!({
        "name": format!("show {key}"),
        "tags": {"ingest": format!("({ingest})"), "jwt": jwt, "chat": chat, key: "as a key"},
    })
    .to_string()
}

fn assert_no_secret_part(what: &str, text: &str) {
    for (whole, part) in REAL_SECRETS {
        assert!(
            !text.contains(part) && !text.contains(whole),
            "{what} holds `{part}`:\n{text}"
        );
    }
}

/// Finding 3: a stream key ended at its first `_` after the region, so replay's near-miss
/// answer, its log and its summary (printed and `/_ivs-vcr/summary`) kept the key's secret half.
/// None of them holds any part of a real-shape stream key, ingest key, JWT or chat token.
#[tokio::test]
async fn replay_reports_logs_and_summaries_hold_no_part_of_a_real_shape_secret() {
    let dir = tempfile::tempdir().unwrap();
    let cassettes = fixture("replay");
    let server = crate::support::bin::IvsVcr::start(
        &[
            "replay",
            "--port",
            "0",
            "--cassettes",
            cassettes.to_str().unwrap(),
        ],
        dir.path(),
    );
    let addr = server.addr();
    let res = send(
        addr,
        &addr.to_string(),
        "/CreateChannel",
        Some("application/json"),
        "",
        &body_with_real_secrets(),
    )
    .await;
    assert_eq!(res.status, 400, "{res:?}");
    assert!(
        res.body.contains("CreateChannel: no recorded interaction"),
        "{}",
        res.body
    );
    assert_no_secret_part("the answer", &res.body);
    let summary = raw::exchange(
        addr,
        format!("GET /_ivs-vcr/summary HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await;
    assert!(
        summary.body.contains("no recorded interaction"),
        "{}",
        summary.body
    );
    assert_no_secret_part("/_ivs-vcr/summary", &summary.body);
    let finished = server.stop();
    assert!(
        finished
            .stderr
            .contains("CreateChannel: no recorded interaction"),
        "{}",
        finished.stderr
    );
    assert_no_secret_part("the log", &finished.stderr);
    assert_no_secret_part("the printed summary", &finished.stdout);
}

/// Finding 3: a stream key sent in a tag value was written with its secret half, which the
/// final scan then let through; record's `once` report kept it too. Neither holds any part of a
/// real-shape secret now.
#[tokio::test]
async fn record_writes_and_reports_no_part_of_a_real_shape_secret() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = EchoIvs::start(echo).await;
    let server = recorder(dir.path(), &upstream.uri())
        .region("us-west-2")
        .mode(RecordMode::All)
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let tags = serde_json::json!({"tags": serde_json::from_str::<serde_json::Value>(&body_with_real_secrets()).unwrap()["tags"]}).to_string();
    let path = "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2FabcdEFGH1234";
    for (path, body) in [(path, tags), ("/CreateChannel", body_with_real_secrets())] {
        let res = send(
            addr,
            &addr.to_string(),
            path,
            Some("application/json"),
            "",
            &body,
        )
        .await;
        assert_eq!(res.status, 200, "{path}: {res:?}");
    }
    let summary = server.shutdown().await;
    assert_eq!(summary.n_recorded(), 2, "{summary}");
    let written = std::fs::read_to_string(dir.path().join("recording.yaml")).unwrap();
    assert_no_secret_part("the cassette", &written);

    // Mode `once` on the cassette just written: the request differs, and is reported.
    let server = recorder(dir.path(), &upstream.uri())
        .region("us-west-2")
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let body = body_with_real_secrets().replace("show", "other");
    let res = send(
        addr,
        &addr.to_string(),
        "/CreateChannel",
        Some("application/json"),
        "",
        &body,
    )
    .await;
    assert_eq!(res.status, 400, "{res:?}");
    assert_no_secret_part("the `once` answer", &res.body);
    let summary = server.shutdown().await.to_string();
    assert!(
        summary.contains("CreateChannel: no recorded interaction"),
        "{summary}"
    );
    assert_no_secret_part("the record summary", &summary);
}

// §3 Symlinks in the cassette folder.

/// The error type and message of a raw answer.
fn error_of(res: &RawResponse) -> (u16, String) {
    let body: serde_json::Value = serde_json::from_str(&res.body).unwrap_or_default();
    (
        res.status,
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Issue 11 §3: a cassette name whose folder, or whose file, is a link out of the cassette folder
/// is refused before anything is forwarded or written, and the link's target is untouched.
#[cfg(unix)]
#[tokio::test]
async fn record_refuses_cassette_paths_through_symlinks() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.yaml");
    std::fs::write(&victim, "precious\n").unwrap();
    symlink(outside.path(), dir.path().join("evil")).unwrap();
    symlink(&victim, dir.path().join("linked.yaml")).unwrap();
    let fake = FakeIvs::start(operator()).await;
    let server = recorder(dir.path(), &fake.uri())
        .region("us-west-2")
        .mode(RecordMode::All)
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let host = addr.to_string();
    let json = Some("application/json");
    let root = dir.path().display();
    for (path, file, link) in [
        ("/cassette/evil/flow/ListChannels", "evil/flow.yaml", "evil"),
        (
            "/cassette/linked/ListChannels",
            "linked.yaml",
            "linked.yaml",
        ),
    ] {
        let res = send(addr, &host, path, json, "", "{}").await;
        let message = format!(
            "refusing cassette `{root}/{file}`: `{root}/{link}` is a symbolic link, and cassettes stay inside `{root}`"
        );
        assert_eq!(error_of(&res), (500, message));
    }
    server.shutdown().await;
    assert_eq!(fake.n_requests(), 0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
}

/// Issue 11 §3: a link planted at the temporary file's old, predictable name is never followed:
/// temporary files are created exclusively, under unpredictable names.
#[cfg(unix)]
#[tokio::test]
async fn a_planted_link_at_the_temporary_name_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let planted = dir
        .path()
        .join(format!(".recording.yaml.{}.tmp", std::process::id()));
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let fake = FakeIvs::start(operator()).await;
    let server = recorder(dir.path(), &fake.uri())
        .region("us-west-2")
        .mode(RecordMode::All)
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let res = post_json(addr, "/ListChannels").await;
    assert_eq!(res.status, 200, "{res:?}");
    let summary = server.shutdown().await;
    assert!(summary.write_errors.is_empty(), "{summary}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let written = std::fs::read_to_string(dir.path().join("recording.yaml")).unwrap();
    assert!(written.contains("/ListChannels"), "{written}");
}

/// Issue 11 §3: a cassette that does not parse is named to the client, never quoted: the file
/// may be anything, and a parser's message quotes what it read.
#[tokio::test]
async fn a_cassette_that_does_not_load_is_never_quoted_to_the_client() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("notes.yaml"),
        "format: \"db_password=hunter2-first-line\"\n",
    )
    .unwrap();
    let fake = FakeIvs::start(operator()).await;
    let server = recorder(dir.path(), &fake.uri())
        .region("us-west-2")
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let res = post_json(addr, "/cassette/notes/ListChannels").await;
    let message = format!(
        "cassette `{}/notes.yaml` cannot be loaded (line 1); the record log says why",
        dir.path().display()
    );
    assert_eq!(error_of(&res), (500, message));
    assert!(!res.body.contains("hunter2"), "{}", res.body);
}

/// Issue 11 §3: a cassette linked to `/dev/zero` is refused at once instead of being read until
/// memory runs out, and directory links that point at each other do not hang a start.
#[cfg(unix)]
#[tokio::test]
async fn device_links_and_directory_loops_do_not_hang_or_exhaust_a_start() {
    use std::os::unix::fs::symlink;
    let bound = std::time::Duration::from_secs(20);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("replay/flow.yaml"), dir.path().join("flow.yaml")).unwrap();
    symlink(dir.path().join("loop-b"), dir.path().join("loop-a")).unwrap();
    symlink(dir.path().join("loop-a"), dir.path().join("loop-b")).unwrap();
    symlink(dir.path(), dir.path().join("itself")).unwrap();
    let server = tokio::time::timeout(bound, ReplayServer::builder().dir(dir.path()).start())
        .await
        .expect("replay starts despite directory loops")
        .unwrap();
    assert_eq!(server.cassette_names().len(), 1);
    drop(server);
    let fake = FakeIvs::start(operator()).await;
    let record = tokio::time::timeout(bound, recorder(dir.path(), &fake.uri()).start())
        .await
        .expect("record starts despite directory loops")
        .unwrap();
    record.shutdown().await;

    symlink("/dev/zero", dir.path().join("zero.yaml")).unwrap();
    let err = tokio::time::timeout(bound, ReplayServer::builder().dir(dir.path()).start())
        .await
        .expect("a link to /dev/zero is refused at once")
        .unwrap_err();
    let zero = dir.path().join("zero.yaml");
    assert!(
        err.to_string().contains(&format!(
            "refusing cassette `{}`: not a regular file",
            zero.display()
        )),
        "{err}"
    );
}

// §4 One request can stall the replay server.

/// Issue 11 §4: near-miss reports are bounded and built off the request path's workers, so a
/// normal request is answered promptly while hostile misses (two bodies of 60,000 keys against 300
/// recorded interactions of their operation) are in flight. The bound is generous: only a stall
/// (seconds of CPU per report, as before the fix) fails it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_request_is_answered_promptly_while_hostile_misses_are_explained() {
    let mut yaml = String::from("format: 1\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: { kind: authored, source: test }\nname: many\ninteractions:\n");
    for i in 0..300 {
        yaml.push_str(&format!(
            "  - request: {{ method: POST, path: /GetChannel, region: us-west-2, body: {{ arn: \"arn:aws:ivs:us-west-2:123456789012:channel/c{i}\" }} }}\n    response: {{ status: 200, headers: {{ Content-Type: application/json }}, body: {{ channel: {{ name: c{i} }} }} }}\n"
        ));
    }
    let cassette = Cassette::from_yaml(&yaml, "many.yaml".as_ref()).unwrap();
    let server = ReplayServer::builder()
        .cassette(cassette)
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let mut hostile = String::from("{");
    for i in 0..60_000 {
        hostile.push_str(&format!("\"k{i:05}\":0,"));
    }
    hostile.push_str("\"arn\":\"x\"}");
    assert!(hostile.len() < 1024 * 1024);
    let misses: Vec<_> = (0..2)
        .map(|_| {
            let body = hostile.clone();
            tokio::spawn(async move {
                send(
                    addr,
                    &addr.to_string(),
                    "/GetChannel",
                    Some("application/json"),
                    "",
                    &body,
                )
                .await
            })
        })
        .collect();
    let normal = "{\"arn\":\"arn:aws:ivs:us-west-2:123456789012:channel/c7\"}";
    let mut slowest = std::time::Duration::ZERO;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let res = send(
            addr,
            &addr.to_string(),
            "/GetChannel",
            Some("application/json"),
            "",
            normal,
        )
        .await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(res.status, 200, "{res:?}");
    }
    for miss in misses {
        let res = tokio::time::timeout(std::time::Duration::from_secs(60), miss)
            .await
            .expect("a hostile miss is answered")
            .unwrap();
        assert_eq!(res.status, 400);
        assert!(
            res.body.contains("IvsVcrUnmatchedRequestException"),
            "{}",
            &res.body[..200]
        );
    }
    assert!(
        slowest < std::time::Duration::from_secs(5),
        "a normal request took {slowest:?} while hostile misses were explained"
    );
    let summary = server.shutdown().await;
    assert_eq!(summary.operations["GetChannel"].unmatched, 2);
}

// §5 Limits and faults.

/// Issue 11 §5: a cassette nested 100,000 deep (200 KB) or larger than the size limit is refused
/// at once with its name and the limit: lenient loading serves the rest, strict loading refuses
/// to start, and record refuses to append to it.
#[tokio::test]
async fn cassettes_beyond_the_limits_are_refused_fast_by_name() {
    let bound = std::time::Duration::from_secs(20);
    let dir = tempfile::tempdir().unwrap();
    let flow = std::fs::read_to_string(fixture("replay/flow.yaml")).unwrap();
    std::fs::write(dir.path().join("flow.yaml"), &flow).unwrap();
    let depth = 100_000;
    let deep = flow.replace("name: flow", "name: deep").replacen(
        "body: {arn:",
        &format!(
            "body: {{deep: {}{}, arn:",
            "[".repeat(depth),
            "]".repeat(depth)
        ),
        1,
    );
    std::fs::write(dir.path().join("deep.yaml"), &deep).unwrap();
    let huge = std::fs::File::create(dir.path().join("huge.yaml")).unwrap();
    huge.set_len(1 << 30).unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    let deep_line = deep.lines().position(|l| l.contains("deep: [")).unwrap() + 1;
    let expected = [
        format!(
            "refusing cassette `{}` at line {deep_line}: nested deeper than the limit of 128 levels",
            p("deep.yaml")
        ),
        format!(
            "refusing cassette `{}`: 1,073,741,824 bytes is over the limit of 67,108,864 bytes (raise it with `--max-cassette-mib 1024` on `ivs-vcr replay`, `record`, `diff` or `verify`, or `max_cassette_bytes` on `ReplayServerBuilder` or `RecordServerBuilder`; a load takes about 7 times the file's size in memory)",
            p("huge.yaml")
        ),
    ];

    let server = tokio::time::timeout(
        bound,
        ReplayServer::builder()
            .dir(dir.path())
            .lenient_load(true)
            .start(),
    )
    .await
    .expect("a lenient start skips the files at once")
    .unwrap();
    assert_eq!(server.cassette_names(), ["flow"]);
    let summary = server.shutdown().await;
    assert_eq!(summary.load_errors, expected, "{summary}");

    let err = tokio::time::timeout(bound, ReplayServer::builder().dir(dir.path()).start())
        .await
        .expect("a strict start refuses at once")
        .unwrap_err()
        .to_string();
    for expected in &expected {
        assert!(err.contains(expected), "expected:\n{expected}\ngot:\n{err}");
    }

    let fake = FakeIvs::start(operator()).await;
    std::fs::remove_file(dir.path().join("huge.yaml")).unwrap();
    let record = recorder(dir.path(), &fake.uri())
        .region("us-west-2")
        .mode(RecordMode::NewEpisodes)
        .start()
        .await
        .unwrap();
    let addr = record.addr();
    let res = post_json(addr, "/cassette/deep/ListChannels").await;
    assert_eq!(error_of(&res), (500, expected[0].clone()));
    record.shutdown().await;
    assert_eq!(fake.n_requests(), 0);
}

/// Issue 11 §5: a run opens at most 1,000 cassettes; the next name is refused with the limit, and
/// the summary says so, while names already open keep working.
#[tokio::test]
async fn a_record_run_opens_at_most_a_thousand_cassettes() {
    let dir = tempfile::tempdir().unwrap();
    let server = RecordServer::builder(dir.path())
        .region("us-west-2")
        .mode(RecordMode::None)
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let host = addr.to_string();
    let json = Some("application/json");
    let no_cassette = |name: &str| {
        format!(
            "no cassette `{}` to replay, and record mode `none` never forwards",
            dir.path().join(format!("{name}.yaml")).display()
        )
    };
    for idx in 0..1_000 {
        let path = format!("/cassette/c{idx}/ListChannels");
        let res = send(addr, &host, &path, json, "", "{}").await;
        assert_eq!(error_of(&res), (400, no_cassette(&format!("c{idx}"))));
    }
    let limit =
        "refusing cassette `c1000`: this run already uses 1000 cassettes, the limit for one run";
    let res = send(addr, &host, "/cassette/c1000/ListChannels", json, "", "{}").await;
    assert_eq!(error_of(&res), (400, limit.to_owned()));
    assert_eq!(
        res.header("x-amzn-errortype"),
        Some("IvsVcrTooManyCassettesException")
    );
    let res = send(addr, &host, "/cassette/c7/ListChannels", json, "", "{}").await;
    assert_eq!(error_of(&res), (400, no_cassette("c7")));
    let res = send(addr, &host, "/cassette/c1001/ListChannels", json, "", "{}").await;
    assert_eq!(res.status, 400);
    let summary = server.shutdown().await;
    assert_eq!(summary.n_over_cassette_limit, 2);
    assert!(
        summary.to_string().contains("\nrefused past the cassette limit: 2 requests named a new cassette after this run had opened 1000 (the limit for one run)\n"),
        "{summary}"
    );
}

/// Issue 11 §5: an `--upstream` naming the recorder's own address is refused at start.
#[tokio::test]
async fn record_refuses_its_own_address_as_upstream() {
    for upstream in ["http://127.0.0.1:{port}", "http://localhost:{port}/"] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let upstream = upstream.replace("{port}", &addr.port().to_string());
        let dir = tempfile::tempdir().unwrap();
        let err = recorder(dir.path(), &upstream)
            .listener(listener)
            .start()
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("`--upstream` `{}` is this record server's own address ({addr}): every request would loop back to it", upstream.trim_end_matches('/'))
        );
        // The port is free again: nothing is left listening.
        std::net::TcpListener::bind(addr).unwrap();
    }
}

/// Issue 11 §5: two recorders whose upstreams point at each other. Forwarded requests carry a
/// mark, so the second refuses what the first forwards (508), the first passes that on without
/// recording it, and nothing loops.
#[tokio::test]
async fn recorders_pointing_at_each_other_refuse_the_loop() {
    let listener_a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listener_b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (addr_a, addr_b) = (
        listener_a.local_addr().unwrap(),
        listener_b.local_addr().unwrap(),
    );
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = recorder(dir_a.path(), &format!("http://{addr_b}"))
        .listener(listener_a)
        .region("us-west-2")
        .record_server_errors(true)
        .start()
        .await
        .unwrap();
    let b = recorder(dir_b.path(), &format!("http://{addr_a}"))
        .listener(listener_b)
        .region("us-west-2")
        .start()
        .await
        .unwrap();
    let res = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        send(
            addr_a,
            &addr_a.to_string(),
            "/ListChannels",
            Some("application/json"),
            "",
            "{}",
        ),
    )
    .await
    .expect("the loop is cut at the second recorder");
    let message = "refusing a request an ivs-vcr forwarded (it carries `x-ivs-vcr-forwarded`): an --upstream leads back to a recorder, and forwarding it again would loop";
    assert_eq!(error_of(&res), (508, message.to_owned()));
    assert_eq!(
        res.header("x-amzn-errortype"),
        Some("IvsVcrForwardingLoopException")
    );
    let (summary_a, summary_b) = (a.shutdown().await, b.shutdown().await);
    assert_eq!(summary_a.n_recorded(), 0, "{summary_a}");
    assert!(
        summary_a.to_string().contains(
            "not recorded:\n  - ListChannels: upstream is a recorder that leads back here (a forwarding loop)\n"
        ),
        "{summary_a}"
    );
    assert!(
        summary_b
            .to_string()
            .contains(&format!("refused:\n  - ListChannels: {message}\n")),
        "{summary_b}"
    );
    assert!(summary_a.written.is_empty() && summary_b.written.is_empty());
}

/// Issue 11 §5: a client that keeps sending a body over the limit still reads its 413: the
/// server reads and discards what follows (a lingering close) instead of resetting the
/// connection under it.
#[tokio::test]
async fn a_client_still_sending_a_large_body_reads_its_413() {
    use tokio::io::{AsyncWriteExt, BufReader};
    let server = ReplayServer::start(Cassette::load(fixture("replay/flow.yaml")).unwrap()).await;
    let addr = server.addr();
    let chunk = vec![b' '; 64 * 1024];
    let head = format!(
        "POST /CreateChannel HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        chunk.len() * 40
    );
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (read, mut write) = stream.into_split();
        write.write_all(head.as_bytes()).await.unwrap();
        for _ in 0..4 {
            write.write_all(&chunk).await.unwrap();
        }
        // The 413 comes before the body is read; it must be readable, and so must the end of
        // the stream, while the body is still unread on the server's side.
        let mut reader = BufReader::new(read);
        let res = raw::read_response(&mut reader)
            .await
            .expect("the 413 is read");
        raw::read_to_close(&mut reader).await;
        // The client goes on sending the rest of the body, as a client that writes the whole
        // request before reading does; the server takes it rather than resetting the connection.
        for idx in 4..40 {
            if let Err(err) = write.write_all(&chunk).await {
                panic!("chunk {idx} of the body: {err}");
            }
        }
        res
    };
    let res = tokio::time::timeout(std::time::Duration::from_secs(20), exchange)
        .await
        .expect("the exchange ends");
    assert_aws_error(
        &res,
        413,
        "IvsVcrPayloadTooLargeException",
        "request body is larger than 1048576 bytes",
    );
}

/// Issue 29 (finding 11): an 8 MiB body sent the usual way, the whole request and then the
/// answer read (http.client and botocore do this), gets its 413, not a broken pipe: the lingering
/// close discards whatever arrives until the client stops, not a number of bytes.
#[tokio::test]
async fn an_8_mib_body_sent_whole_before_reading_gets_its_413() {
    use tokio::io::{AsyncWriteExt, BufReader};
    let server = ReplayServer::emulator().await;
    let addr = server.addr();
    let body = vec![b' '; 8 * 1024 * 1024];
    let mut request = format!(
        "POST /CreateChannel HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        if let Err(err) = stream.write_all(&request).await {
            panic!("sending the request: {err}");
        }
        let mut reader = BufReader::new(stream);
        raw::read_response(&mut reader)
            .await
            .expect("the 413 is read")
    };
    let res = tokio::time::timeout(std::time::Duration::from_secs(20), exchange)
        .await
        .expect("the exchange ends");
    assert_aws_error(
        &res,
        413,
        "IvsVcrPayloadTooLargeException",
        "request body is larger than 1048576 bytes",
    );
}

/// Issue 29 (finding 11): the lingering close is bounded by time in all, so a client that never
/// stops sending holds its connection no longer than that (`lingering_close`, 30 s by default).
#[tokio::test]
async fn a_client_that_never_stops_sending_is_cut_off_after_the_lingering_time() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncWriteExt, BufReader};
    let total = Duration::from_millis(500);
    let server = ReplayServer::builder()
        .lingering_close(total, Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let head = format!(
        "POST /CreateChannel HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        1u64 << 40
    );
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let started = Instant::now();
    let reader = tokio::spawn(async move {
        let mut reader = BufReader::new(read);
        raw::read_response(&mut reader).await
    });
    write.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let sending = async {
        loop {
            if write.write_all(&chunk).await.is_err() {
                return started.elapsed();
            }
        }
    };
    let cut_off = tokio::time::timeout(Duration::from_secs(10), sending)
        .await
        .expect("the server ends the connection");
    assert!(
        cut_off >= total,
        "cut off after {cut_off:?}, before {total:?}"
    );
    let res = reader.await.unwrap().expect("the 413 is read");
    assert_eq!(res.status, 413);
}

/// Issue 29 (finding 11): a lingering close never holds up shutdown (which waits up to 10 s for
/// connections): the answer is out, so shutdown ends it at once.
#[tokio::test]
async fn shutdown_ends_a_lingering_close_at_once() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncWriteExt, BufReader};
    let server = ReplayServer::emulator().await;
    let addr = server.addr();
    let head = format!(
        "POST /CreateChannel HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        1u64 << 40
    );
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    write.write_all(head.as_bytes()).await.unwrap();
    let sender = tokio::spawn(async move {
        let chunk = vec![b' '; 64 * 1024];
        while write.write_all(&chunk).await.is_ok() {}
    });
    let mut reader = BufReader::new(read);
    let res = raw::read_response(&mut reader)
        .await
        .expect("the 413 is read");
    assert_eq!(res.status, 413);
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(20), server.shutdown())
        .await
        .expect("shutdown ends");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    tokio::time::timeout(Duration::from_secs(5), sender)
        .await
        .expect("the connection is closed")
        .unwrap();
}

// §6 Logs, reports and messages.

/// Issue 11 §6: the warning for listening beyond loopback is printed whatever `RUST_LOG` says.
#[test]
fn the_beyond_loopback_warning_survives_any_log_filter() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = fixture("replay/flow.yaml");
    let mut replay = crate::support::bin::command(
        &[
            "replay",
            "--port",
            "0",
            "--bind",
            "0.0.0.0",
            "-c",
            cassette.to_str().unwrap(),
        ],
        dir.path(),
    );
    replay.env("RUST_LOG", "off");
    let server = crate::support::bin::IvsVcr::spawn(replay);
    let finished = server.stop();
    assert!(
        finished
            .stderr
            .contains("warning: ivs-vcr is listening beyond loopback on 0.0.0.0:"),
        "{}",
        finished.stderr
    );
}

/// Issue 11 §6: a decoded `/tags/` ARN holding a newline and an ANSI escape is printed escaped in
/// the near-miss report, the answer and both servers' summaries: it cannot forge a summary line
/// or reach the terminal.
#[tokio::test]
async fn request_text_is_escaped_wherever_it_is_printed() {
    let arn =
        "arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2Fx%0A%20%20-%20forged%1B%5B31m";
    let printed = "/tags/arn:aws:ivs:us-west-2:123456789012:channel/x\\n  - forged\\u{1b}[31m";
    let check = |what: &str, text: &str| {
        assert!(!text.contains('\u{1b}'), "{what}:\n{text}");
        assert!(!text.contains("\n  - forged"), "{what}:\n{text}");
        assert!(text.contains(printed), "{what}:\n{text}");
    };
    let request = |addr: SocketAddr| {
        format!("GET /tags/{arn} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-west-2/ivs/aws4_request, SignedHeaders=host, Signature=00\r\nConnection: close\r\n\r\n")
    };

    let replay = ReplayServer::start(Cassette::load(fixture("replay/flow.yaml")).unwrap()).await;
    let res = raw::exchange(replay.addr(), request(replay.addr()).as_bytes()).await;
    let (status, message) = error_of(&res);
    assert_eq!(status, 400, "{}", res.body);
    check("replay answer", &message);
    let summary = replay.shutdown().await;
    check("replay summary", &summary.to_string());

    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("replay/flow.yaml"),
        dir.path().join("recording.yaml"),
    )
    .unwrap();
    let record = RecordServer::builder(dir.path())
        .mode(RecordMode::None)
        .start()
        .await
        .unwrap();
    let res = raw::exchange(record.addr(), request(record.addr()).as_bytes()).await;
    let (status, message) = error_of(&res);
    assert_eq!(status, 400, "{}", res.body);
    check("record answer", &message);
    let summary = record.shutdown().await;
    check("record summary", &summary.to_string());
}
