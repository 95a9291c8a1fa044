//! Regression tests for issue 11, "Security and robustness, round two": each test names the
//! section of the issue it proves (cross-site and rebinding requests, secrets outside the known
//! paths, symlinks, near-miss cost, limits, logs and reports).

use std::net::SocketAddr;

use crate::support::fake_ivs::FakeIvs;
use crate::support::raw::{self, assert_aws_error, RawResponse};
use crate::support::{fixture, operator, recorder};
use ivs_vcr::{Cassette, RecordMode, ReplayServer};

/// One request with this `Host`, these extra header lines and an optional `Content-Type`.
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
    let request = format!("GET {tags} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
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
