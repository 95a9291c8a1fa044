//! Black-box tests of record mode: the library's RecordServer and the `ivs-vcr record` binary,
//! against an in-process fake IVS that verifies every signature, and against moto_server.

use std::net::SocketAddr;
use std::path::Path;

use crate::support::fake_ivs::{FakeIvs, Hold, OperatorCredentials, ACCOUNT};
use crate::support::{
    ivs_client, operator, recorder, OPERATOR_KEY, OPERATOR_SECRET, OPERATOR_TOKEN,
};
use aws_credential_types::Credentials;
use aws_sdk_ivs::error::ProvideErrorMetadata as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use ivs_vcr::{Cassette, RecordMode, RecordServer, ReplayServer};

/// Sends one raw HTTP/1.1 request and returns status, `x-amzn-ErrorType` and body.
async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: &str,
) -> (u16, String, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json");
    if let Some(auth) = authorization {
        req = req.header("authorization", auth);
    }
    let res = sender
        .send_request(req.body(Full::new(Bytes::from(body.to_owned()))).unwrap())
        .await
        .unwrap();
    let status = res.status().as_u16();
    let error_type = res
        .headers()
        .get("x-amzn-ErrorType")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        error_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn auth_for(region: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/{region}/ivs/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000")
}

fn skipped(list: &[ivs_vcr::Skipped]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

/// Compares a recorded cassette with `tests/fixtures/golden/<name>`, byte for byte, once the two
/// values that differ per run are set aside: the fake's URL (a free port) and the date of
/// `provenance.recorded_on`. `IVS_VCR_BLESS=1` rewrites the golden file instead, for review.
fn assert_golden(name: &str, got: &str, upstream: &str) {
    let got: String = got
        .replace(upstream, "http://127.0.0.1:PORT")
        .lines()
        .map(|line| match line.strip_prefix("  recorded_on: ") {
            Some(_) => "  recorded_on: DATE".to_owned(),
            None => line.to_owned(),
        })
        .map(|line| line + "\n")
        .collect();
    let path = crate::support::fixture("golden").join(name);
    if std::env::var_os("IVS_VCR_BLESS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let expected = read(&path);
    assert!(
        expected == got,
        "{} differs\nexpected:\n{expected}\n---\ngot:\n{got}\n---",
        path.display()
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[tokio::test]
async fn records_a_clean_cassette_through_resigned_requests_and_replays_it() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri())
        .name("flow")
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");

    let created = ivs.create_channel().name("rec").send().await.unwrap();
    let arn = created.channel().unwrap().arn().unwrap().to_owned();
    let stream_key = created.stream_key().unwrap().value().unwrap().to_owned();
    assert!(
        stream_key.starts_with("sk_us-west-2_SECRET"),
        "{stream_key}"
    );
    ivs.get_channel().arn(&arn).send().await.unwrap();
    ivs.tag_resource()
        .resource_arn(&arn)
        .tags("team", "video")
        .tags("k 2", "v")
        .tags("a/b:c", "x")
        .send()
        .await
        .unwrap();
    let tags = ivs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 3);
    ivs.untag_resource()
        .resource_arn(&arn)
        .tag_keys("k 2")
        .tag_keys("a/b:c")
        .send()
        .await
        .unwrap();
    ivs.put_metadata()
        .channel_arn(&arn)
        .metadata("secret-metadata-payload")
        .send()
        .await
        .unwrap();
    // A 4xx is part of the API: recorded.
    let missing = format!("arn:aws:ivs:us-west-2:{ACCOUNT}:channel/missing");
    let err = ivs.get_channel().arn(&missing).send().await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    // A 5xx is passed on, not recorded.
    let err = ivs.get_stream().channel_arn(&arn).send().await.unwrap_err();
    assert_eq!(err.code(), Some("InternalServerException"));

    let summary = server.shutdown().await;
    assert_eq!(
        fake.n_bad_signatures(),
        0,
        "every re-signed request verified"
    );
    assert_eq!(fake.n_requests(), 8);
    assert_eq!(summary.n_recorded(), 7, "{summary}");
    assert_eq!(
        skipped(&summary.not_recorded),
        ["GetStream: upstream answered 500 (record it with --record-server-errors)"]
    );

    let path = dir.path().join("flow.yaml");
    let text = read(&path);
    for forbidden in [
        OPERATOR_KEY,
        OPERATOR_SECRET,
        OPERATOR_TOKEN,
        "AKIDEXAMPLE",
        "AWS4-HMAC-SHA256",
        "x-amz-date",
        "aws-sdk-rust",
        "amz-sdk-invocation-id",
        "Date",
        "X-Amz-Cf-Id",
        "SECRETSTREAMKEY",
        "srt-passphrase",
        "secret-metadata-payload",
        "GetStream",
    ] {
        assert!(
            !text.contains(forbidden),
            "cassette holds `{forbidden}`:\n{text}"
        );
    }
    // The whole file, byte for byte: placeholders, the 404, the encoded `/tags/` paths, the
    // order, the kept headers and the derived request ids.
    assert_golden("record-flow.yaml", &text, &fake.uri());

    // The same flow replays offline from what was written, with the same answers.
    let replay = ReplayServer::start(Cassette::load(&path).unwrap()).await;
    let ivs = ivs_client(&replay.uri(), "us-west-2");
    let again = ivs.create_channel().name("rec").send().await.unwrap();
    assert_eq!(again.channel().unwrap().arn(), Some(arn.as_str()));
    ivs.get_channel().arn(&arn).send().await.unwrap();
    ivs.tag_resource()
        .resource_arn(&arn)
        .tags("a/b:c", "x")
        .tags("team", "video")
        .tags("k 2", "v")
        .send()
        .await
        .unwrap();
    ivs.list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    ivs.untag_resource()
        .resource_arn(&arn)
        .tag_keys("a/b:c")
        .tag_keys("k 2")
        .send()
        .await
        .unwrap();
    // The replayed request carries the real secret; it matches the recorded placeholder.
    ivs.put_metadata()
        .channel_arn(&arn)
        .metadata("secret-metadata-payload")
        .send()
        .await
        .unwrap();
    let err = ivs.get_channel().arn(&missing).send().await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    replay.verify();
}

#[tokio::test]
async fn region_injection_is_refused_before_any_connection() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    // The default AWS endpoint: a region that slipped through would choose the host.
    let server = RecordServer::builder(dir.path())
        .credentials(operator().provider())
        .start()
        .await
        .unwrap();
    for region in [
        "us-west-2.evil.example",
        "us-west-2/../x",
        "a#b",
        "user@us-west-2",
        "us-west-2@evil.example",
        "us-west-\u{ff12}",
        "US-WEST-2",
    ] {
        let (status, error_type, body) = raw(
            server.addr(),
            "POST",
            "/ListChannels",
            Some(&auth_for(region)),
            "{}",
        )
        .await;
        assert_eq!(status, 400, "{region}: {body}");
        // A `/` inside the region breaks the scope's shape, and a non-ASCII one the header,
        // before the region is even read.
        let expected = if region.contains('/') || !region.is_ascii() {
            "IvsVcrMalformedAuthorizationException"
        } else {
            "IvsVcrInvalidRegionException"
        };
        assert_eq!(error_type, expected, "{region}: {body}");
        assert!(body.contains("refusing to forward"), "{region}: {body}");
    }
    // Through the SDK too, which puts the region in its credential scope as given (it refuses
    // to build requests for regions that are not host labels, such as `us-west-2/../x`).
    for region in ["us-west-2.evil.example"] {
        let ivs = ivs_client(&server.uri(), region);
        let err = ivs.list_channels().send().await.unwrap_err();
        assert_eq!(
            err.code(),
            Some("IvsVcrInvalidRegionException"),
            "{region}: {err:?}"
        );
    }
    // An unsigned request without --region names no region.
    let (status, error_type, _) = raw(server.addr(), "POST", "/ListChannels", None, "{}").await;
    assert_eq!(
        (status, error_type.as_str()),
        (400, "IvsVcrMissingRegionException")
    );
    let summary = server.shutdown().await;
    assert_eq!(summary.n_recorded(), 0);
    assert_eq!(
        summary.refused.iter().map(|s| s.n_requests).sum::<u64>(),
        9,
        "{summary}"
    );
    assert_eq!(fake.n_connections(), 0);
    assert!(!dir.path().join("recording.yaml").exists());

    // A bad --region is refused at start.
    let err = RecordServer::builder(dir.path())
        .region("us-west-2.evil.example")
        .credentials(operator().provider())
        .start()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`us-west-2.evil.example` is not an AWS region name"
    );
}

#[tokio::test]
async fn cassette_names_from_the_url_cannot_escape_the_directory() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri()).start().await.unwrap();
    let auth = auth_for("us-west-2");
    for path in [
        "/cassette/../escape/ListChannels",
        "/cassette/a/../../escape/ListChannels",
        "/cassette/.hidden/ListChannels",
    ] {
        let (status, error_type, body) = raw(server.addr(), "POST", path, Some(&auth), "{}").await;
        assert_eq!(
            (status, error_type.as_str()),
            (400, "IvsVcrInvalidCassetteException"),
            "{path}: {body}"
        );
    }
    assert_eq!(fake.n_connections(), 0);
    // A subdirectory is fine.
    let ivs = ivs_client(&format!("{}/cassette/suite/one", server.uri()), "us-west-2");
    ivs.list_channels().send().await.unwrap();
    server.shutdown().await;
    let written = Cassette::load(dir.path().join("suite/one.yaml")).unwrap();
    assert_eq!(written.name, "suite/one");
    assert_eq!(written.interactions.len(), 1);
}

/// Records `n` parallel CreateChannel calls, the fake answering them in arrival order or its
/// reverse, and returns the file.
async fn record_parallel(fake: &FakeIvs, n: usize, reverse: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri()).start().await.unwrap();
    fake.hold(Hold { n, reverse });
    let uri = server.uri();
    let calls: Vec<_> = (0..n)
        .map(|i| {
            let ivs = ivs_client(&uri, "us-west-2");
            tokio::spawn(
                async move { ivs.create_channel().name(format!("ch-{i:03}")).send().await },
            )
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let summary = server.shutdown().await;
    assert_eq!(summary.n_recorded(), n as u64, "{summary}");
    read(&dir.path().join("recording.yaml"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_clients_lose_nothing_and_write_the_same_file_whatever_the_completion_order() {
    let fake = FakeIvs::start(operator()).await;
    let forward = record_parallel(&fake, 100, false).await;
    let reverse = record_parallel(&fake, 100, true).await;
    let cassette = Cassette::from_yaml(&forward, Path::new("forward.yaml")).unwrap();
    assert_eq!(cassette.interactions.len(), 100);
    let mut names: Vec<String> = cassette
        .interactions
        .iter()
        .map(|i| {
            i.request.body.as_ref().unwrap()["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    names.dedup();
    assert_eq!(names.len(), 100, "no interaction lost or duplicated");
    assert!(
        forward == reverse,
        "files differ:\n--- forward\n{forward}\n--- reverse\n{reverse}"
    );
    assert_eq!(fake.n_bad_signatures(), 0);
}

#[tokio::test]
async fn re_recording_an_unchanged_api_gives_the_same_bytes() {
    let fake = FakeIvs::start(operator()).await;
    let arn = fake.seed_channel("us-west-2", "seeded");
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for _ in 0..2 {
        let server = recorder(dir.path(), &fake.uri())
            .mode(RecordMode::All)
            .start()
            .await
            .unwrap();
        let ivs = ivs_client(&server.uri(), "us-west-2");
        ivs.get_channel().arn(&arn).send().await.unwrap();
        ivs.list_channels().send().await.unwrap();
        ivs.list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .unwrap();
        server.shutdown().await;
        files.push(read(&dir.path().join("recording.yaml")));
    }
    assert!(
        files[0] == files[1],
        "files differ:\n{}\n---\n{}",
        files[0],
        files[1]
    );
    assert!(files[0].contains("x-amzn-RequestId"), "{}", files[0]);
}

#[tokio::test]
async fn record_modes_decide_what_is_forwarded() {
    let fake = FakeIvs::start(operator()).await;
    let arn = fake.seed_channel("us-west-2", "seeded");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recording.yaml");

    // none, no cassette: refused, no connection, no file.
    let server = recorder(dir.path(), &fake.uri())
        .mode(RecordMode::None)
        .start()
        .await
        .unwrap();
    let err = ivs_client(&server.uri(), "us-west-2")
        .list_channels()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("IvsVcrUnmatchedRequestException"));
    server.shutdown().await;
    assert_eq!(fake.n_connections(), 0);
    assert!(!path.exists());

    // once, no cassette: records.
    let server = recorder(dir.path(), &fake.uri()).start().await.unwrap();
    ivs_client(&server.uri(), "us-west-2")
        .get_channel()
        .arn(&arn)
        .send()
        .await
        .unwrap();
    server.shutdown().await;
    assert_eq!(fake.n_requests(), 1);
    let first = read(&path);

    // once, cassette exists: replays what matches, refuses the rest, forwards nothing.
    let server = recorder(dir.path(), &fake.uri()).start().await.unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    ivs.get_channel().arn(&arn).send().await.unwrap();
    let err = ivs.list_channels().send().await.unwrap_err();
    assert_eq!(err.code(), Some("IvsVcrUnmatchedRequestException"));
    let summary = server.shutdown().await;
    assert_eq!(fake.n_requests(), 1);
    assert_eq!(summary.operations["GetChannel"].replayed, 1);
    assert_eq!(read(&path), first);

    // new-episodes: replays the match, forwards and appends the new request.
    let server = recorder(dir.path(), &fake.uri())
        .mode(RecordMode::NewEpisodes)
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    ivs.get_channel().arn(&arn).send().await.unwrap();
    ivs.list_channels().send().await.unwrap();
    server.shutdown().await;
    assert_eq!(fake.n_requests(), 2);
    let appended = Cassette::load(&path).unwrap();
    let ops: Vec<&str> = appended
        .interactions
        .iter()
        .map(|i| i.request.path.as_str())
        .collect();
    assert_eq!(ops, ["/GetChannel", "/ListChannels"]);

    // none, cassette exists: replays, never connects.
    let connections = fake.n_connections();
    let server = recorder(dir.path(), &fake.uri())
        .mode(RecordMode::None)
        .start()
        .await
        .unwrap();
    ivs_client(&server.uri(), "us-west-2")
        .list_channels()
        .send()
        .await
        .unwrap();
    server.shutdown().await;
    assert_eq!(fake.n_connections(), connections);

    // all: forwards everything and rewrites.
    let server = recorder(dir.path(), &fake.uri())
        .mode(RecordMode::All)
        .start()
        .await
        .unwrap();
    ivs_client(&server.uri(), "us-west-2")
        .list_channels()
        .send()
        .await
        .unwrap();
    server.shutdown().await;
    assert_eq!(fake.n_requests(), 3);
    let rewritten = Cassette::load(&path).unwrap();
    assert_eq!(rewritten.interactions.len(), 1);
    assert_eq!(
        rewritten.provenance.recorded_on,
        appended.provenance.recorded_on
    );
}

#[tokio::test]
async fn server_errors_are_recorded_only_when_asked() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri())
        .record_server_errors(true)
        .start()
        .await
        .unwrap();
    let err = ivs_client(&server.uri(), "us-west-2")
        .get_stream()
        .channel_arn("arn:aws:ivs:us-west-2:123456789012:channel/x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InternalServerException"));
    let summary = server.shutdown().await;
    assert_eq!(summary.n_recorded(), 1);
    assert!(read(&dir.path().join("recording.yaml")).contains("status: 500"));
}

#[tokio::test]
async fn transport_failure_is_a_502_tagged_upstream_and_not_recorded() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let server = RecordServer::builder(dir.path())
        .upstream(url)
        .credentials(operator().provider())
        .start()
        .await
        .unwrap();
    let (status, error_type, body) = raw(
        server.addr(),
        "POST",
        "/ListChannels",
        Some(&auth_for("us-west-2")),
        "{}",
    )
    .await;
    assert_eq!(
        (status, error_type.as_str()),
        (502, "IvsVcrUpstreamException"),
        "{body}"
    );
    assert!(body.contains("cannot connect to upstream"), "{body}");
    let summary = server.shutdown().await;
    assert_eq!(summary.n_recorded(), 0);
    assert_eq!(summary.operations["ListChannels"].not_recorded, 1);
    assert!(!dir.path().join("recording.yaml").exists());
}

#[tokio::test]
async fn an_answer_that_leaks_a_private_key_is_not_written() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri()).start().await.unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    ivs.list_channels().send().await.unwrap();
    // The client still gets its answer; the cassette does not.
    ivs.get_playback_key_pair()
        .arn("arn:aws:ivs:us-west-2:123456789012:playback-key/k")
        .send()
        .await
        .unwrap();
    let summary = server.shutdown().await;
    assert_eq!(
        skipped(&summary.not_recorded),
        ["GetPlaybackKeyPair: it holds a private key at `response.body.keyPair.publicKeyMaterial`"]
    );
    let text = read(&dir.path().join("recording.yaml"));
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    assert!(text.contains("/ListChannels"));
}

#[tokio::test]
async fn account_scrub_applies_to_the_cassette_and_to_replayed_requests() {
    let fake = FakeIvs::start(operator()).await;
    let arn = fake.seed_channel("us-west-2", "seeded");
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri())
        .scrub_account(true)
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let got = ivs.get_channel().arn(&arn).send().await.unwrap();
    // Downstream gets the real answer while recording.
    assert_eq!(got.channel().unwrap().arn(), Some(arn.as_str()));
    ivs.list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    server.shutdown().await;
    let path = dir.path().join("recording.yaml");
    let text = read(&path);
    assert!(!text.contains(ACCOUNT), "{text}");
    assert!(text.contains("scrub_account: true"), "{text}");
    assert!(text.contains("%3A000000000000%3A"), "{text}");

    // Replay maps the real account in incoming requests to the placeholder.
    let replay = ReplayServer::start(Cassette::load(&path).unwrap()).await;
    let ivs = ivs_client(&replay.uri(), "us-west-2");
    let got = ivs.get_channel().arn(&arn).send().await.unwrap();
    assert_eq!(
        got.channel().unwrap().arn(),
        Some(arn.replace(ACCOUNT, "000000000000").as_str())
    );
    ivs.list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    replay.verify();
}

#[tokio::test]
async fn cli_record_writes_the_cassette_and_prints_a_summary() {
    let fake = FakeIvs::start(OperatorCredentials {
        access_key: OPERATOR_KEY.into(),
        secret_key: OPERATOR_SECRET.into(),
        session_token: None,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let recorder = crate::support::bin::record_as_operator("cli", &fake.uri(), dir.path());
    let ivs = ivs_client(&recorder.uri().unwrap(), "us-west-2");
    ivs.create_channel().name("cli").send().await.unwrap();
    let finished = recorder.stop();
    finished.assert_code(0);
    let (rest, stderr) = (&finished.stdout, &finished.stderr);
    assert!(
        rest.contains("CreateChannel         1         0             0        0"),
        "{rest}"
    );
    assert!(rest.contains("total: 1 recorded"), "{rest}");
    // Nothing secret in the logs, even at trace level.
    for secret in [OPERATOR_SECRET, "SECRETSTREAMKEY", "Signature="] {
        assert!(!stderr.contains(secret), "log holds `{secret}`:\n{stderr}");
    }
    let cassette = Cassette::load(dir.path().join("cli.yaml")).unwrap();
    assert_eq!(cassette.interactions.len(), 1);
    assert_eq!(cassette.provenance.source, fake.uri());
}

/// The end-to-end check against an independent SigV4 verifier: moto_server.
mod moto {
    use super::*;
    use std::process::{Child, Command, Stdio};

    struct Moto {
        child: Child,
        url: String,
    }

    impl Drop for Moto {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Starts moto_server with signature checks on, or says why it cannot.
    async fn start_moto() -> Option<Moto> {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        // Three unauthenticated actions create the IAM user, its key and its policy; every
        // request after that must carry a valid signature by that key.
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(err) => {
                let message = format!("moto_server not available ({err}); install with `python3 -m pip install 'moto[server]'`");
                if std::env::var("IVS_VCR_REQUIRE_MOTO").as_deref() == Ok("1") {
                    panic!("IVS_VCR_REQUIRE_MOTO=1 but {message}");
                }
                eprintln!("SKIPPED moto end-to-end test: {message}");
                return None;
            }
        };
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Some(moto);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("moto_server did not start on port {port}");
    }

    /// Creates an IAM user allowed `ivs:*` and returns its key pair.
    async fn iam_user(moto: &Moto) -> (String, String) {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<Bytes>>();
        let call = |form: String| {
            let req = http::Request::post(format!("{}/", moto.url))
                .header("host", "iam.amazonaws.com")
                // moto routes by the credential scope; these first calls are not checked.
                .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIASETUPEXAMPLE0000/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Full::new(Bytes::from(form)))
                .unwrap();
            let client = client.clone();
            async move {
                let res = client.request(req).await.unwrap();
                let body = res.into_body().collect().await.unwrap().to_bytes();
                String::from_utf8_lossy(&body).into_owned()
            }
        };
        call("Action=CreateUser&UserName=recorder&Version=2010-05-08".into()).await;
        let key = call("Action=CreateAccessKey&UserName=recorder&Version=2010-05-08".into()).await;
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ivs:*","Resource":"*"}]}"#;
        let encoded: String =
            percent_encoding::utf8_percent_encode(policy, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        call(format!("Action=PutUserPolicy&UserName=recorder&PolicyName=ivs&PolicyDocument={encoded}&Version=2010-05-08")).await;
        let between = |open: &str, close: &str| {
            key.split(open)
                .nth(1)
                .and_then(|s| s.split(close).next())
                .unwrap_or_else(|| panic!("no {open} in {key}"))
                .to_owned()
        };
        (
            between("<AccessKeyId>", "</AccessKeyId>"),
            between("<SecretAccessKey>", "</SecretAccessKey>"),
        )
    }

    /// The channel flow moto implements; returns what a test compares between record and replay.
    async fn channel_flow(ivs: &aws_sdk_ivs::Client) -> Vec<String> {
        let mut seen = Vec::new();
        let created = ivs.create_channel().name("e2e").send().await.unwrap();
        let arn = created.channel().unwrap().arn().unwrap().to_owned();
        seen.push(format!(
            "created {arn} key={}",
            created.stream_key().is_some()
        ));
        let got = ivs.get_channel().arn(&arn).send().await.unwrap();
        seen.push(format!("got {:?}", got.channel().unwrap().name()));
        let batch = ivs.batch_get_channel().arns(&arn).send().await.unwrap();
        seen.push(format!("batch {}", batch.channels().len()));
        let updated = ivs
            .update_channel()
            .arn(&arn)
            .name("e2e-renamed")
            .send()
            .await
            .unwrap();
        seen.push(format!("updated {:?}", updated.channel().unwrap().name()));
        let listed = ivs.list_channels().send().await.unwrap();
        seen.push(format!("listed {}", listed.channels().len()));
        ivs.delete_channel().arn(&arn).send().await.unwrap();
        seen.push("deleted".into());
        let err = ivs.get_channel().arn(&arn).send().await.unwrap_err();
        seen.push(format!("then {:?}", err.code()));
        seen
    }

    #[tokio::test]
    async fn moto_verifies_every_resigned_request_and_the_cassette_replays_offline() {
        let Some(moto) = start_moto().await else {
            return;
        };
        let (key, secret) = iam_user(&moto).await;
        let dir = tempfile::tempdir().unwrap();
        let server = RecordServer::builder(dir.path())
            .name("moto")
            .upstream(&moto.url)
            .credentials(Credentials::new(key, secret, None, None, "moto"))
            .start()
            .await
            .unwrap();
        let recorded = channel_flow(&ivs_client(&server.uri(), "us-west-2")).await;
        let summary = server.shutdown().await;
        assert!(summary.is_clean(), "{summary}");
        assert_eq!(summary.n_recorded(), 7, "{summary}");
        drop(moto);

        let replay =
            ReplayServer::start(Cassette::load(dir.path().join("moto.yaml")).unwrap()).await;
        let replayed = channel_flow(&ivs_client(&replay.uri(), "us-west-2")).await;
        assert_eq!(recorded, replayed);
        replay.verify();
    }

    #[tokio::test]
    async fn moto_rejects_a_wrong_key_so_its_check_is_real() {
        let Some(moto) = start_moto().await else {
            return;
        };
        let (key, _) = iam_user(&moto).await;
        let dir = tempfile::tempdir().unwrap();
        let server = RecordServer::builder(dir.path())
            .upstream(&moto.url)
            .credentials(Credentials::new(key, "wrong-secret", None, None, "moto"))
            .start()
            .await
            .unwrap();
        let err = ivs_client(&server.uri(), "us-west-2")
            .list_channels()
            .send()
            .await
            .unwrap_err();
        let err = format!("{err:?}");
        assert!(
            err.contains("StatusCode(403)") && err.contains("SignatureDoesNotMatch"),
            "{err}"
        );
        server.shutdown().await;
    }
}

#[tokio::test]
async fn record_reads_an_existing_cassette_within_its_limits_and_names_the_flag_that_raises_them() {
    let fake = FakeIvs::start(operator()).await;
    let arn = fake.seed_channel("us-west-2", "seeded");
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri()).start().await.unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    ivs.get_channel().arn(&arn).send().await.unwrap();
    ivs.list_channels().send().await.unwrap();
    server.shutdown().await;
    let size = std::fs::metadata(dir.path().join("recording.yaml"))
        .unwrap()
        .len();

    // Two interactions, over a limit of one; then a file over a limit of its size less a byte.
    let over = [
        (
            recorder(dir.path(), &fake.uri()).max_interactions(1),
            "2 interactions is over the limit of 1 (raise it with `--max-interactions 2` on `ivs-vcr replay`, `record`",
        ),
        (
            recorder(dir.path(), &fake.uri()).max_cassette_bytes(size - 1),
            "bytes is over the limit of",
        ),
    ];
    for (builder, says) in over {
        let server = builder.mode(RecordMode::None).start().await.unwrap();
        let err = ivs_client(&server.uri(), "us-west-2")
            .get_channel()
            .arn(&arn)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("IvsVcrCassetteException"), "{err:?}");
        let message = err.message().unwrap_or_default().to_owned();
        assert!(message.contains(says), "{message}");
        assert!(message.contains("RecordServerBuilder"), "{message}");
        server.shutdown().await;
    }

    // At its own count and size, it replays.
    let server = recorder(dir.path(), &fake.uri())
        .mode(RecordMode::None)
        .max_interactions(2)
        .max_cassette_bytes(size)
        .start()
        .await
        .unwrap();
    ivs_client(&server.uri(), "us-west-2")
        .get_channel()
        .arn(&arn)
        .send()
        .await
        .unwrap();
    let summary = server.shutdown().await;
    assert_eq!(summary.operations["GetChannel"].replayed, 1);
    assert_eq!(
        fake.n_requests(),
        2,
        "nothing forwarded after the recording"
    );
}
