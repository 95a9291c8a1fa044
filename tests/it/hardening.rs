//! Black-box tests of bad input and hostile use, for replay and record: malformed requests, slow
//! clients, broken cassettes, region injection, secrets in logs, and the bind address.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::support::bin::{command, run, IvsVcr};
use crate::support::fake_ivs::FakeIvs;
use crate::support::raw::{self, assert_aws_error};
use crate::support::{
    fixture, ivs_client, operator, recorder, OPERATOR_KEY, OPERATOR_SECRET, OPERATOR_TOKEN,
};
use aws_credential_types::Credentials;
use ivs_vcr::{Cassette, ReplayError, ReplayServer};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The bound on any wait in these tests: generous, so that only a hang fails them.
const BOUND: Duration = Duration::from_secs(10);

const ARN: &str = "arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234";

async fn replay_flow() -> ReplayServer {
    ReplayServer::start(Cassette::load(fixture("replay/flow.yaml")).unwrap()).await
}

/// Fails the test instead of hanging it.
async fn bounded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {BOUND:?}"))
}

/// A request with a JSON content type, `Connection: close` and these extra header lines.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    extra_headers: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn auth_for(region: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/{region}/ivs/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000")
}

// §1 Bad requests.

#[tokio::test]
async fn a_declared_10_mib_body_gets_413_without_being_read_and_the_connection_closes() {
    let server = replay_flow().await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    // Declare 10 MiB but send only the first KiB: the answer cannot wait for the rest.
    let head = format!("POST /CreateChannel HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n", server.addr());
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[b' '; 1024]).await.unwrap();
    let mut reader = BufReader::new(stream);
    let res = bounded("the 413", raw::read_response(&mut reader))
        .await
        .expect("an answer");
    assert_aws_error(
        &res,
        413,
        "IvsVcrPayloadTooLargeException",
        "request body is larger than 1048576 bytes",
    );
    assert_eq!(res.header("connection"), Some("close"));
    let rest = bounded("the close", raw::read_to_close(&mut reader)).await;
    assert!(rest.is_empty(), "nothing follows the 413");
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_gets_413_once_the_limit_is_passed() {
    let server = replay_flow().await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let head = format!("POST /CreateChannel HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", server.addr());
    stream.write_all(head.as_bytes()).await.unwrap();
    // 1 MiB and one more chunk, and never the final chunk: only a reader that stops at the limit
    // can answer.
    let chunk = [b' '; 64 * 1024];
    for _ in 0..17 {
        stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
        stream.write_all(&chunk).await.unwrap();
        stream.write_all(b"\r\n").await.unwrap();
    }
    let mut reader = BufReader::new(stream);
    let res = bounded("the 413", raw::read_response(&mut reader))
        .await
        .expect("an answer");
    assert_aws_error(
        &res,
        413,
        "IvsVcrPayloadTooLargeException",
        "request body is larger than 1048576 bytes",
    );
    bounded("the close", raw::read_to_close(&mut reader)).await;
}

#[tokio::test]
async fn a_body_sent_in_several_chunks_is_read_whole_and_matched() {
    let server = replay_flow().await;
    let stream = TcpStream::connect(server.addr()).await.unwrap();
    let mut reader = BufReader::new(stream);
    let head = format!("POST /GetChannel HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", server.addr());
    reader.get_mut().write_all(head.as_bytes()).await.unwrap();
    let body = format!("{{\"arn\": \"{ARN}\"}}");
    // Three chunks, apart in time, so that the server reads them as three frames.
    for part in [&body[..5], &body[5..30], &body[30..]] {
        let chunk = format!("{:x}\r\n{part}\r\n", part.len());
        reader.get_mut().write_all(chunk.as_bytes()).await.unwrap();
        reader.get_mut().flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    reader.get_mut().write_all(b"0\r\n\r\n").await.unwrap();
    let res = bounded("the answer", raw::read_response(&mut reader))
        .await
        .expect("an answer");
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        res.header("x-ivs-vcr-match"),
        Some("exact"),
        "{:?}",
        res.headers
    );
    assert!(res.body.contains(ARN), "{}", res.body);
}

#[tokio::test]
async fn malformed_json_and_invalid_utf8_get_400_with_the_reason() {
    let server = replay_flow().await;
    let cases: [(&[u8], &str); 3] = [
        (
            b"{\"arn\":",
            "request body is not JSON: EOF while parsing a value at line 1 column 7",
        ),
        (
            b"{\"arn\":\"\xff\"}",
            "request body is not JSON: invalid unicode code point at line 1 column 9",
        ),
        (
            b"\xef\xbb\xbf{}",
            "request body is not JSON: expected value at line 1 column 1",
        ),
    ];
    for (body, message) in cases {
        let res = raw::exchange(
            server.addr(),
            &request(server.addr(), "POST", "/GetChannel", "", body),
        )
        .await;
        assert_aws_error(&res, 400, "IvsVcrBadRequestException", message);
    }
    // Nothing above was a matching attempt, and the server still answers.
    let ivs = ivs_client(&server.uri(), "us-west-2");
    ivs.get_channel().arn(ARN).send().await.unwrap();
}

#[tokio::test]
async fn requests_that_are_no_ivs_operation_are_told_what_ivs_accepts() {
    let server = replay_flow().await;
    let accepts = "IVS accepts `POST /<Operation>` for its 46 operations (such as `POST /GetChannel`), and `GET`, `POST` or `DELETE` on `/tags/<resourceArn>`";
    for (method, path, message) in [
        (
            "POST",
            "/NotAnOperation",
            format!("`POST /NotAnOperation` is not an IVS operation; {accepts}"),
        ),
        (
            "GET",
            "/",
            format!("`GET /` is not an IVS operation; {accepts}"),
        ),
        (
            "POST",
            "/getChannel",
            format!("`POST /getChannel` is not an IVS operation (did you mean `POST /GetChannel`?); {accepts}"),
        ),
        (
            "POST",
            "/tags/",
            "`POST /tags/` names no resource: IVS expects `/tags/<resourceArn>`, with the ARN percent-encoded as one path segment".to_owned(),
        ),
    ] {
        let res = raw::exchange(server.addr(), &request(server.addr(), method, path, "", b"{}")).await;
        assert_aws_error(&res, 404, "IvsVcrUnknownOperationException", &message);
    }
    let summary = server.shutdown().await;
    assert_eq!(summary.unmatched.len(), 4, "{summary}");
    assert!(summary.unmatched[0].starts_with("`POST /NotAnOperation` is not an IVS operation"));
}

#[tokio::test]
async fn a_cassette_recorded_with_an_operation_newer_than_the_catalog_still_answers() {
    let text = std::fs::read_to_string(fixture("replay/flow.yaml"))
        .unwrap()
        .replace("path: /ListChannels", "path: /ListFutureThings");
    let cassette = Cassette::from_yaml(&text, Path::new("future.yaml")).unwrap();
    let server = ReplayServer::start(cassette).await;
    let res = raw::post(server.addr(), "/ListFutureThings", "{}").await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.header("x-ivs-vcr-match"), Some("exact"));
}

#[tokio::test]
async fn methods_ivs_does_not_use_get_405_with_allow() {
    let server = replay_flow().await;
    let tags = "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2FabcdEFGH1234";
    for (method, path, allow, message) in [
        (
            "PUT",
            "/GetChannel",
            "POST",
            "IVS does not use `PUT` on `/GetChannel`: it takes `POST` there".to_owned(),
        ),
        (
            "GET",
            "/ListChannels",
            "POST",
            "IVS does not use `GET` on `/ListChannels`: it takes `POST` there".to_owned(),
        ),
        (
            "PATCH",
            tags,
            "GET, POST, DELETE",
            format!("IVS does not use `PATCH` on `{tags}`: it takes `GET`, `POST`, `DELETE` there"),
        ),
    ] {
        let res = raw::exchange(
            server.addr(),
            &request(server.addr(), method, path, "", b"{}"),
        )
        .await;
        assert_aws_error(&res, 405, "IvsVcrMethodNotAllowedException", &message);
        assert_eq!(res.header("allow"), Some(allow), "{method} {path}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn replay_answers_requests_without_a_valid_signature() {
    let server = replay_flow().await;
    for authorization in [
        "",
        "Authorization: Bearer abc\r\n",
        "Authorization: AWS4-HMAC-SHA256 Credential=nonsense\r\n",
        "Authorization: \r\n",
    ] {
        let res = raw::exchange(
            server.addr(),
            &request(server.addr(), "POST", "/ListChannels", authorization, b"{}"),
        )
        .await;
        assert_eq!(res.status, 200, "{authorization:?}: {}", res.body);
    }
}

#[tokio::test]
async fn record_refuses_unsigned_and_malformed_authorization_before_any_connection() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri()).start().await.unwrap();
    let no_region = "refusing to forward an unsigned request: it names no region; sign it, or start ivs-vcr record with --region";
    for (authorization, error_type, message) in [
        ("", "IvsVcrMissingRegionException", no_region.to_owned()),
        (
            "Authorization: Bearer abc\r\n",
            "IvsVcrMalformedAuthorizationException",
            "refusing to forward: the SigV4 credential scope of the request is malformed: not `AWS4-HMAC-SHA256`".to_owned(),
        ),
        (
            "Authorization: AWS4-HMAC-SHA256 Credential=AKID/2026\r\n",
            "IvsVcrMalformedAuthorizationException",
            "refusing to forward: the SigV4 credential scope of the request is malformed: it does not have five `/`-separated parts".to_owned(),
        ),
    ] {
        let res = raw::exchange(
            server.addr(),
            &request(server.addr(), "POST", "/ListChannels", authorization, b"{}"),
        )
        .await;
        assert_aws_error(&res, 400, error_type, &message);
    }
    server.shutdown().await;
    assert_eq!(fake.n_connections(), 0);
}

#[tokio::test]
async fn record_forwards_only_ivs_routes_and_operations_newer_than_the_catalog() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri()).start().await.unwrap();
    let signed = format!("Authorization: {}\r\n", auth_for("us-west-2"));
    let res = raw::exchange(
        server.addr(),
        &request(server.addr(), "PUT", "/ListChannels", &signed, b"{}"),
    )
    .await;
    assert_aws_error(
        &res,
        405,
        "IvsVcrMethodNotAllowedException",
        "IVS does not use `PUT` on `/ListChannels`: it takes `POST` there",
    );
    assert_eq!(res.header("allow"), Some("POST"));
    let res = raw::exchange(
        server.addr(),
        &request(server.addr(), "POST", "/list-channels", &signed, b"{}"),
    )
    .await;
    assert_eq!(
        (res.status, res.header("x-amzn-errortype")),
        (404, Some("IvsVcrUnknownOperationException"))
    );
    assert_eq!(
        fake.n_connections(),
        0,
        "refused requests never reach upstream"
    );
    // A well-formed operation this build does not know yet is forwarded, so it can be recorded.
    let _ = raw::exchange(
        server.addr(),
        &request(server.addr(), "POST", "/GetFutureThing", &signed, b"{}"),
    )
    .await;
    assert_eq!(fake.n_requests(), 1);
    let summary = server.shutdown().await;
    assert_eq!(summary.refused.len(), 2, "{summary}");
}

#[tokio::test]
async fn fifty_stalled_connections_do_not_delay_anyone_else_and_are_closed() {
    let server = ReplayServer::builder()
        .cassette(Cassette::load(fixture("replay/flow.yaml")).unwrap())
        .read_timeouts(Duration::from_millis(500), Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let mut stalled_in_head = Vec::new();
    let mut stalled_in_body = Vec::new();
    for i in 0..50 {
        let mut stream = TcpStream::connect(server.addr()).await.unwrap();
        if i % 2 == 0 {
            stream
                .write_all(
                    format!(
                        "POST /ListChannels HTTP/1.1\r\nHost: {}\r\nContent-Le",
                        server.addr()
                    )
                    .as_bytes(),
                )
                .await
                .unwrap();
            stalled_in_head.push(stream);
        } else {
            stream
                .write_all(
                    format!("POST /ListChannels HTTP/1.1\r\nHost: {}\r\nContent-Length: 100\r\n\r\n{{\"a\":", server.addr()).as_bytes(),
                )
                .await
                .unwrap();
            stalled_in_body.push(stream);
        }
    }
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let listed = bounded("an SDK call next to 50 stalled connections", async {
        ivs.list_channels().send().await.unwrap()
    })
    .await;
    assert_eq!(listed.channels()[0].arn(), Some(ARN));

    for stream in stalled_in_body {
        let mut reader = BufReader::new(stream);
        let res = bounded("a 408", raw::read_response(&mut reader))
            .await
            .expect("an answer");
        assert_aws_error(
            &res,
            408,
            "IvsVcrRequestTimeoutException",
            "request body not received within 500ms",
        );
        bounded("the close", raw::read_to_close(&mut reader)).await;
    }
    for mut stream in stalled_in_head {
        let rest = bounded("the close", raw::read_to_close(&mut stream)).await;
        let text = String::from_utf8_lossy(&rest);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "a stalled head is closed: {text}"
        );
    }
}

#[tokio::test]
async fn the_header_timeout_runs_between_requests_never_while_one_is_answered() {
    let server = ReplayServer::builder()
        .cassette(Cassette::load(fixture("replay/flow.yaml")).unwrap())
        .read_timeouts(Duration::from_millis(300), Duration::from_secs(5))
        .start()
        .await
        .unwrap();
    let head = format!(
        "POST /ListChannels HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
        server.addr()
    );
    let stream = TcpStream::connect(server.addr()).await.unwrap();
    let mut stream = BufReader::new(stream);
    // The head is in; the body comes later than the header timeout, within the body timeout:
    // the request is answered, and the connection kept alive.
    stream.get_mut().write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    stream.get_mut().write_all(b"{}").await.unwrap();
    let res = bounded("the answer", raw::read_response(&mut stream))
        .await
        .expect("an answer to a body slower than the header timeout");
    assert_eq!(res.status, 200, "{}", res.body);
    // Another request on the same connection, at once, is answered too.
    stream.get_mut().write_all(head.as_bytes()).await.unwrap();
    stream.get_mut().write_all(b"{}").await.unwrap();
    let res = bounded("the second answer", raw::read_response(&mut stream))
        .await
        .expect("a second answer");
    assert_eq!(res.status, 200, "{}", res.body);
    // Then the connection waits for a head: it is closed once the header timeout has passed.
    let waited = std::time::Instant::now();
    let rest = bounded("the close", raw::read_to_close(&mut stream)).await;
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    assert!(
        waited.elapsed() >= Duration::from_millis(250),
        "closed after {:?}",
        waited.elapsed()
    );
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish_and_closes_idle_connections() {
    let server = ReplayServer::builder()
        .cassette(Cassette::load(fixture("replay/flow.yaml")).unwrap())
        .fault(
            ivs_vcr::__private::FaultRule::from_cli("operation=ListChannels,delay_ms=400").unwrap(),
        )
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let list = format!(
        "POST /ListChannels HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    // One connection idle after an answer, one with a request in flight.
    let mut idle = BufReader::new(TcpStream::connect(addr).await.unwrap());
    idle.get_mut().write_all(list.as_bytes()).await.unwrap();
    let res = bounded("the first answer", raw::read_response(&mut idle))
        .await
        .expect("an answer");
    assert_eq!(res.status, 200, "{}", res.body);
    let mut busy = BufReader::new(TcpStream::connect(addr).await.unwrap());
    busy.get_mut().write_all(list.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let stopped = tokio::spawn(server.shutdown());
    let res = bounded("the answer in flight", raw::read_response(&mut busy))
        .await
        .expect("the request in flight is answered");
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.header("connection"), Some("close"), "{:?}", res.headers);
    let rest = bounded("the idle close", raw::read_to_close(&mut idle)).await;
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    let summary = bounded("the shutdown", stopped).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "shutdown returned before the answer in flight: {:?}",
        started.elapsed()
    );
    assert_eq!(summary.operations["ListChannels"].matched, 2, "{summary}");
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}

#[tokio::test]
async fn keep_alive_and_pipelined_requests_are_answered_in_order() {
    let server = replay_flow().await;
    let stream = TcpStream::connect(server.addr()).await.unwrap();
    let mut reader = BufReader::new(stream);
    let keep = |method: &str, path: &str, body: &str| {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            server.addr(),
            body.len()
        )
    };
    let get = format!("{{\"arn\":\"{ARN}\"}}");
    // Three requests in one write, one of them refused: answers come back in request order.
    let batch = [
        keep("POST", "/GetChannel", &get),
        keep("POST", "/NotAnOperation", "{}"),
        keep("POST", "/ListChannels", "{}"),
    ]
    .concat();
    reader.get_mut().write_all(batch.as_bytes()).await.unwrap();
    let mut answers = Vec::new();
    for _ in 0..3 {
        let res = bounded("a pipelined answer", raw::read_response(&mut reader))
            .await
            .expect("an answer");
        answers.push((
            res.status,
            res.header("x-ivs-vcr-source").unwrap_or("-").to_owned(),
        ));
    }
    assert_eq!(
        answers,
        [
            (200, "flow#1".to_owned()),
            (404, "-".to_owned()),
            (200, "flow#2".to_owned())
        ]
    );
    // The connection is still open for the next request.
    reader
        .get_mut()
        .write_all(keep("POST", "/ListChannels", "{}").as_bytes())
        .await
        .unwrap();
    let res = bounded("a keep-alive answer", raw::read_response(&mut reader))
        .await
        .expect("an answer");
    assert_eq!(res.status, 200, "{}", res.body);
    let summary = server.shutdown().await;
    assert_eq!(summary.n_matched(), 3, "{summary}");
}

// §2 Bad cassettes.

/// A directory with one good cassette and one broken one per way of breaking it.
fn broken_cassette_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixture("replay/flow.yaml")).unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("good.yaml", &good);
    let named = |name: &str| good.replace("name: flow", &format!("name: {name}"));
    write("truncated.yaml", &named("truncated")[..good.len() / 2]);
    write(
        "duplicate.yaml",
        &named("duplicate").replace("body: {arn: \"arn", "body: {arn: \"x\", arn: \"arn"),
    );
    write(
        "nan.yaml",
        &named("nan").replace("latencyMode: LOW, tags", "latencyMode: .nan, tags"),
    );
    write(
        "binary.yaml",
        &named("binary").replace(
            "name: test-channel, latencyMode",
            "name: !!binary dGVzdA==, latencyMode",
        ),
    );
    write(
        "newer.yaml",
        &named("newer").replace("format: 1", "format: 3"),
    );
    write(
        "wrong-type.yaml",
        &named("wrong-type").replace("status: 204", "status: [204]"),
    );
    dir
}

/// The 1-based line of the first line of `flow.yaml` holding `needle`.
fn flow_line(needle: &str) -> usize {
    std::fs::read_to_string(fixture("replay/flow.yaml"))
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap()
        + 1
}

#[tokio::test]
async fn broken_cassettes_are_refused_with_file_line_and_reason_and_the_rest_is_served() {
    let dir = broken_cassette_dir();
    let p = |name: &str| dir.path().join(name).display().to_string();
    let expected = [
        format!(
            "invalid cassette `{}` at line {}: YAML tag `!!binary` has no JSON equivalent",
            p("binary.yaml"),
            flow_line("name: test-channel, latencyMode")
        ),
        format!(
            "invalid cassette `{}` at line {}: interactions[1].request.body: duplicate key `arn`",
            p("duplicate.yaml"),
            flow_line("body: {arn: \"arn")
        ),
        format!(
            "invalid cassette `{}` at line {}: interactions[0].request.body.latencyMode: `NaN` is not a JSON number",
            p("nan.yaml"),
            flow_line("latencyMode: LOW, tags")
        ),
        format!(
            "cassette `{}` has format version 3, but this ivs-vcr reads up to version 2: upgrade ivs-vcr",
            p("newer.yaml")
        ),
    ];
    let server = ReplayServer::builder()
        .dir(dir.path())
        .lenient_load(true)
        .start()
        .await
        .unwrap();
    assert_eq!(server.cassette_names(), ["flow"]);
    let ivs = ivs_client(&server.uri(), "us-west-2");
    ivs.list_channels().send().await.unwrap();
    let summary = server.shutdown().await;
    let errors = &summary.load_errors;
    assert_eq!(errors.len(), 6, "{errors:#?}");
    for expected in &expected {
        assert!(
            errors.contains(expected),
            "expected:\n{expected}\ngot:\n{}",
            errors.join("\n")
        );
    }
    assert!(errors.iter().any(|e| e.starts_with(&format!(
        "invalid cassette `{}` at line ",
        p("truncated.yaml")
    ))));
    assert!(
        errors.iter().any(|e| e.starts_with(&format!(
        "invalid cassette `{}` at line {}: interactions[3].response.status: invalid type: sequence",
        p("wrong-type.yaml"),
        flow_line("status: 204")
    ))),
        "{errors:#?}"
    );

    // Strict loading refuses to start, and names every broken file.
    let err = ReplayServer::builder()
        .dir(dir.path())
        .start()
        .await
        .unwrap_err();
    let ReplayError::Cassettes(errors) = &err else {
        panic!("{err}")
    };
    assert_eq!(errors.len(), 6, "{err}");
    assert!(err.to_string().contains(&expected[1]), "{err}");
}

#[tokio::test]
async fn record_refuses_to_append_to_a_broken_cassette_and_leaves_it_untouched() {
    let fake = FakeIvs::start(operator()).await;
    let dir = broken_cassette_dir();
    let before = std::fs::read(dir.path().join("duplicate.yaml")).unwrap();
    let server = recorder(dir.path(), &fake.uri())
        .name("duplicate")
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let err = ivs.list_channels().send().await.unwrap_err();
    let text = format!("{:?}", err.into_service_error());
    assert!(text.contains("IvsVcrCassetteException"), "{text}");
    // The client learns the file and line; the parser's message, which can quote the file (issue
    // 11 §3), goes to the log and the summary.
    let line = flow_line("body: {arn: \"arn");
    assert!(
        text.contains(&format!("duplicate.yaml` cannot be loaded (line {line})")),
        "{text}"
    );
    assert!(!text.contains("duplicate key"), "{text}");
    let summary = server.shutdown().await.to_string();
    assert!(
        summary.contains(&format!(
            "at line {line}: interactions[1].request.body: duplicate key `arn`"
        )),
        "{summary}"
    );
    assert_eq!(fake.n_connections(), 0);
    assert_eq!(
        std::fs::read(dir.path().join("duplicate.yaml")).unwrap(),
        before
    );
}

#[test]
fn diff_refuses_a_broken_cassette_with_file_and_line() {
    let dir = broken_cassette_dir();
    let good = dir.path().join("good.yaml");
    let bad = dir.path().join("duplicate.yaml");
    let finished = run(
        &["diff", good.to_str().unwrap(), bad.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(finished.status.code(), Some(2), "{finished:?}");
    assert!(
        finished.stderr.contains(&format!(
            "invalid cassette `{}` at line {}: interactions[1].request.body: duplicate key `arn`",
            bad.display(),
            flow_line("body: {arn: \"arn")
        )),
        "{}",
        finished.stderr
    );
}

/// `flow.yaml` with its first request body anchored and reused by an alias: what a cassette
/// expanding to GB from a few KB is made of (security issue, alias expansion).
fn aliased_cassette(dir: &Path) -> (std::path::PathBuf, usize) {
    let good = std::fs::read_to_string(fixture("replay/flow.yaml")).unwrap();
    let body = "body: {name: test-channel, latencyMode: LOW, tags: {team: video, env: ci}}";
    assert!(good.contains(body));
    let text = good
        .replacen(body, &body.replace("body: ", "body: &reqbody "), 1)
        .replacen("tags: {team: video, env: ci}\n", "tags: *reqbody\n", 1);
    let path = dir.join("aliased.yaml");
    std::fs::write(&path, text).unwrap();
    (path, flow_line(body))
}

/// The refusal every command that loads cassettes gives for `aliased.yaml`.
fn alias_refusal(path: &Path, line: usize) -> String {
    format!(
        "refusing cassette `{}` at line {line}: YAML anchor `&…` (ivs-vcr never writes anchors or aliases, and each alias would be expanded into a copy of its anchor's value): write the value out in full",
        path.display()
    )
}

#[test]
fn replay_diff_and_verify_refuse_a_cassette_with_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let (aliased, line) = aliased_cassette(dir.path());
    let expected = alias_refusal(&aliased, line);
    let aliased = aliased.to_str().unwrap();
    let good = fixture("replay/flow.yaml");
    for args in [
        &["replay", "--port", "0", "--strict", "-c", aliased][..],
        &["diff", good.to_str().unwrap(), aliased],
        &["verify", aliased, "--against", "emulator"],
    ] {
        // A replay that loaded the file would listen until stopped: it is killed after BOUND.
        let mut child = command(args, dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > BOUND {
                child.kill().unwrap();
                panic!("{args:?} did not refuse the cassette within {BOUND:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&expected),
            "{args:?}\nexpected:\n{expected}\ngot:\n{stderr}"
        );
    }
}

#[tokio::test]
async fn record_refuses_to_append_to_a_cassette_with_aliases() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    let (aliased, line) = aliased_cassette(dir.path());
    let before = std::fs::read(&aliased).unwrap();
    let server = recorder(dir.path(), &fake.uri())
        .name("aliased")
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let err = ivs.list_channels().send().await.unwrap_err();
    let text = format!("{:?}", err.into_service_error());
    let expected = alias_refusal(&aliased, line);
    assert!(text.contains(&expected), "{text}");
    assert!(
        !text.contains("reqbody"),
        "the client is told nothing of the file: {text}"
    );
    let summary = server.shutdown().await.to_string();
    assert!(summary.contains(&expected), "{summary}");
    assert_eq!(fake.n_connections(), 0);
    assert_eq!(std::fs::read(&aliased).unwrap(), before);
}

// §6 Security.

#[tokio::test]
async fn a_request_cannot_choose_the_upstream_host_even_without_a_region_template() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    // `--upstream` without `{region}`: the region goes nowhere in the URL, but is still checked.
    let server = recorder(dir.path(), &fake.uri()).start().await.unwrap();
    for region in [
        "us-west-2.evil.example",
        "us-west-2/../x",
        "us-west-2%0d%0aHost:evil",
        "us-west-2:443@evil",
        "US-WEST-2",
        "us-west-\u{ff12}",
        "us-west-2\u{0}",
        "us-west-2\t",
    ] {
        let auth = format!("Authorization: {}\r\n", auth_for(region));
        let res = raw::exchange(
            server.addr(),
            &request(server.addr(), "POST", "/ListChannels", &auth, b"{}"),
        )
        .await;
        assert!(
            matches!(res.status, 400..=499),
            "{region:?}: {} {}",
            res.status,
            res.body
        );
    }
    // A CR or LF inside the credential scope never reaches a handler: HTTP/1 refuses it.
    for scope in ["us-west-2\r\nHost: evil", "us-west-2\r\n evil"] {
        let auth = format!("Authorization: {}\r\n", auth_for(scope));
        let res = raw::exchange(
            server.addr(),
            &request(server.addr(), "POST", "/ListChannels", &auth, b"{}"),
        )
        .await;
        assert!(matches!(res.status, 400..=499), "{scope:?}: {}", res.status);
    }
    server.shutdown().await;
    assert_eq!(fake.n_connections(), 0);
}

/// Secrets a request or an answer may carry, all distinct and easy to grep.
const DOWNSTREAM_TOKEN: &str = "IQoJDOWNSTREAMSESSIONTOKENb3JpZ2luX2VjE";
const DOWNSTREAM_SIGNATURE: &str =
    "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
const METADATA: &str = "secret-metadata-HARDENING-payload";
const PRIVATE_KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIHARDENINGPRIVATEKEYMATERIAL\n-----END EC PRIVATE KEY-----";

/// Sends, to `addr`, requests that carry every kind of secret: a session token and a signature
/// in headers, PutMetadata's payload, and a private key, each both as a request that will be
/// answered and one that will not.
async fn send_secrets(addr: SocketAddr) {
    let headers = format!(
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-west-2/ivs/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature={DOWNSTREAM_SIGNATURE}\r\nX-Amz-Security-Token: {DOWNSTREAM_TOKEN}\r\nX-Amz-Date: 20261126T000000Z\r\n"
    );
    let bodies = [
        (
            "/PutMetadata",
            format!("{{\"channelArn\":\"{ARN}\",\"metadata\":\"{METADATA}\"}}"),
        ),
        (
            "/PutMetadata",
            format!("{{\"channelArn\":\"nope\",\"metadata\":\"{METADATA}\"}}"),
        ),
        (
            "/ImportPlaybackKeyPair",
            serde_json::json!({"publicKeyMaterial": PRIVATE_KEY, "name": "k"}).to_string(),
        ),
        (
            "/ImportPlaybackKeyPair",
            serde_json::json!({"privateKey": PRIVATE_KEY}).to_string(),
        ),
        (
            "/NotAnOperation",
            format!("{{\"metadata\":\"{METADATA}\"}}"),
        ),
    ];
    for (path, body) in bodies {
        raw::exchange(
            addr,
            &request(addr, "POST", path, &headers, body.as_bytes()),
        )
        .await;
    }
}

/// Asserts that `log` holds none of the secrets.
#[track_caller]
fn assert_no_secret(log: &str, answers: &[String]) {
    let mut secrets: Vec<&str> = vec![
        crate::support::SECRET_KEY,
        DOWNSTREAM_TOKEN,
        DOWNSTREAM_SIGNATURE,
        METADATA,
        "HARDENINGPRIVATEKEYMATERIAL",
        OPERATOR_SECRET,
        OPERATOR_TOKEN,
        "Signature=",
    ];
    secrets.extend(answers.iter().map(String::as_str));
    for secret in secrets {
        assert!(
            !log.contains(secret),
            "a log line holds `{secret}`:\n{}",
            log.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(log.lines().count() > 5, "tracing was on:\n{log}");
}

/// The stream keys in the answers of a CreateChannel and a GetStreamKey through the SDK, which
/// signs with a session token.
async fn stream_keys(uri: &str) -> Vec<String> {
    let config = aws_sdk_ivs::Config::builder()
        .behavior_version(aws_sdk_ivs::config::BehaviorVersion::latest())
        .region(aws_sdk_ivs::config::Region::new("us-west-2"))
        .credentials_provider(Credentials::new(
            crate::support::ACCESS_KEY,
            crate::support::SECRET_KEY,
            Some(DOWNSTREAM_TOKEN.into()),
            None,
            "tests",
        ))
        .endpoint_url(uri)
        .retry_config(aws_sdk_ivs::config::retry::RetryConfig::disabled())
        .build();
    let ivs = aws_sdk_ivs::Client::from_conf(config);
    // The request flow.yaml holds, so that replay answers it too.
    let created = ivs
        .create_channel()
        .name("test-channel")
        .latency_mode(aws_sdk_ivs::types::ChannelLatencyMode::LowLatency)
        .tags("team", "video")
        .tags("env", "ci")
        .send()
        .await
        .unwrap();
    let key = created.stream_key().unwrap();
    let mut keys = vec![key.value().unwrap().to_owned()];
    if let Ok(got) = ivs.get_stream_key().arn(key.arn().unwrap()).send().await {
        keys.extend(got.stream_key().and_then(|k| k.value()).map(str::to_owned));
    }
    keys
}

#[tokio::test]
async fn replay_logs_no_secret_at_trace() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = fixture("replay/flow.yaml");
    let mut replay = command(
        &["replay", "--port", "0", "-c", cassette.to_str().unwrap()],
        dir.path(),
    );
    replay.env("RUST_LOG", "trace");
    let server = IvsVcr::spawn(replay);
    let uri = server.uri().unwrap();
    let keys = stream_keys(&uri).await;
    send_secrets(server.addr()).await;
    let finished = server.stop();
    assert_no_secret(&finished.stderr, &keys);
    assert_no_secret(&finished.stdout, &keys);
}

/// `ivs-vcr record` in `dir` in front of `upstream`, with the operator's credentials in its
/// environment (and no other source of credentials).
fn record_command(dir: &Path, upstream: &str, extra: &[&str]) -> std::process::Command {
    let args = [
        &[
            "record",
            "--port",
            "0",
            "--cassettes",
            ".",
            "--upstream",
            upstream,
        ][..],
        extra,
    ]
    .concat();
    let mut record = command(&args, dir);
    record
        .env("AWS_ACCESS_KEY_ID", OPERATOR_KEY)
        .env("AWS_SECRET_ACCESS_KEY", OPERATOR_SECRET)
        .env("AWS_SESSION_TOKEN", OPERATOR_TOKEN)
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    record
}

#[tokio::test]
async fn record_logs_no_secret_at_trace() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut record = record_command(dir.path(), &fake.uri(), &[]);
    record.env("RUST_LOG", "trace");
    let server = IvsVcr::spawn(record);
    let keys = stream_keys(&server.uri().unwrap()).await;
    send_secrets(server.addr()).await;
    let finished = server.stop();
    assert!(fake.n_requests() > 0, "{}", finished.stderr);
    assert_no_secret(&finished.stderr, &keys);
    assert_no_secret(&finished.stdout, &keys);
    assert!(
        !finished.stderr.contains("aws_sigv4"),
        "{}",
        finished.stderr
    );

    // Naming a capped dependency is what lets its trace through.
    let mut record = record_command(dir.path(), &fake.uri(), &["--record-mode", "all"]);
    record.env("RUST_LOG", "trace,aws_sigv4=trace");
    let server = IvsVcr::spawn(record);
    stream_keys(&server.uri().unwrap()).await;
    let finished = server.stop();
    assert!(finished.stderr.contains("aws_sigv4"), "{}", finished.stderr);
}

#[tokio::test]
async fn servers_bind_loopback_by_default_and_warn_when_bound_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = fixture("replay/flow.yaml");
    let cassette = cassette.to_str().unwrap();
    let fake = FakeIvs::start(operator()).await;
    let replay = |extra: &[&str]| {
        let args = [&["replay", "--port", "0", "-c", cassette][..], extra].concat();
        command(&args, dir.path())
    };
    let wide = ["--bind", "0.0.0.0"];
    for (command, is_wide) in [
        (replay(&[]), false),
        (record_command(dir.path(), &fake.uri(), &[]), false),
        (replay(&wide), true),
        (record_command(dir.path(), &fake.uri(), &wide), true),
    ] {
        let what = format!("{command:?}");
        let server = IvsVcr::spawn(command);
        let ip = server.addr().ip();
        let finished = server.stop();
        let warned = finished.stderr.contains("listening beyond loopback");
        assert_eq!(
            (ip.is_loopback(), warned),
            (!is_wide, is_wide),
            "{what}\n{}",
            finished.stderr
        );
    }
}

/// Regression, issue 29 (finding 8): fault rules and regions with state grew without bound.
/// Both are capped, the caps set through the builder (and `--max-fault-rules`, `--max-regions`).
#[tokio::test]
async fn fault_rules_and_emulated_regions_are_capped() {
    let server = ReplayServer::builder()
        .max_fault_rules(1)
        .max_regions(1)
        .start()
        .await
        .unwrap();
    let rule = r#"{"operation": "GetStream", "delay_ms": 1}"#;
    let first = raw::post(server.addr(), "/_ivs-vcr/faults", rule).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let second = raw::post(server.addr(), "/_ivs-vcr/faults", rule).await;
    assert_aws_error(
        &second,
        400,
        "ValidationException",
        "the server already holds 1 fault rules, its limit (`--max-fault-rules`); spent rules count until `DELETE /_ivs-vcr/faults` clears them",
    );

    let home = ivs_client(&server.uri(), "us-west-2");
    home.list_channels().send().await.unwrap();
    let elsewhere = ivs_client(&server.uri(), "made-up-1");
    let refused = elsewhere.list_channels().send().await.unwrap_err();
    let refused = refused.into_service_error();
    assert!(refused.is_validation_exception(), "{refused:?}");
    assert!(
        format!("{refused:?}").contains("over the emulator's limit of 1 (`--max-regions`)"),
        "{refused:?}"
    );
}
