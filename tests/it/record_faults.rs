//! Record mode under upstream faults (refused, reset, slow, TLS, 5xx storms), failed writes and
//! SIGKILL: what the downstream client gets, what reaches disk, and what the summary says.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::bin::{self, IvsVcr};
use crate::support::fake_ivs::{FakeIvs, Hold};
use crate::support::faults::{self, Fault, FaultServer, FullListener};
use crate::support::raw::{self, RawResponse};
use crate::support::{ivs_client, operator, OPERATOR_KEY, OPERATOR_SECRET, OPERATOR_TOKEN};
use aws_credential_types::Credentials;
use aws_sdk_ivs::error::ProvideErrorMetadata as _;
use ivs_vcr::{cassette, Cassette, RecordServer, RecordServerBuilder, RecordSummary};

/// A timeout short enough to keep the tests fast, long enough for loopback.
const SHORT: Duration = Duration::from_millis(300);

/// A recorder forwarding to `upstream`, with unsigned requests taken as `us-west-2` and timeouts
/// that only the timeout tests shorten.
fn recorder(dir: &Path, upstream: &str) -> RecordServerBuilder {
    crate::support::recorder(dir, upstream)
        .region("us-west-2")
        .connect_timeout(Duration::from_secs(20))
        .upstream_timeout(Duration::from_secs(20))
}

/// The `message` an AWS SDK shows for an error answer.
fn message(res: &RawResponse) -> String {
    let body: serde_json::Value = serde_json::from_str(&res.body)
        .unwrap_or_else(|e| panic!("answer is not JSON ({e}):\n{}", res.body));
    body["message"].as_str().unwrap_or_default().to_owned()
}

/// Asserts one failed exchange: status, error type and exact message, and that nothing of the
/// operator's credentials or the signature is in the answer.
fn assert_fault(res: &RawResponse, status: u16, error_type: &str, expected_message: &str) {
    let got = (res.status, res.header("x-amzn-ErrorType"), message(res));
    let expected = (status, Some(error_type), expected_message.to_owned());
    assert_eq!(
        got, expected,
        "\nexpected:\n{expected:?}\ngot:\n{got:?}\nanswer:\n{res:?}"
    );
    for secret in [OPERATOR_KEY, OPERATOR_SECRET, "Signature", "Authorization"] {
        assert!(
            !res.body.contains(secret),
            "answer holds `{secret}`: {res:?}"
        );
    }
}

/// Asserts that a recorder whose every exchange failed left nothing at all in its directory:
/// no cassette, no temporary file.
fn assert_dir_empty(dir: &Path) {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(entries.is_empty(), "left behind: {entries:?}");
}

/// Asserts the summary of `n` failed `ListChannels` requests: none recorded, one reason.
fn assert_not_recorded(summary: &RecordSummary, n: u64, reason: &str) {
    assert_eq!(summary.n_recorded(), 0, "{summary}");
    assert_eq!(
        summary.operations["ListChannels"].not_recorded, n,
        "{summary}"
    );
    let got: Vec<String> = summary.not_recorded.iter().map(|s| s.to_string()).collect();
    let expected = if n == 1 {
        format!("ListChannels: {reason}")
    } else {
        format!("ListChannels: {reason} (×{n})")
    };
    assert_eq!(got, [expected], "{summary}");
    assert!(summary.to_string().contains("not recorded:\n"), "{summary}");
}

async fn list_channels(server: &RecordServer) -> RawResponse {
    raw::post(server.addr(), "/ListChannels", "{}").await
}

fn host_of(uri: &str) -> &str {
    uri.split_once("://").unwrap().1
}

/// Which upstream a fault case talks to.
#[derive(Clone, Copy)]
enum FaultyUpstream {
    /// Nothing listening.
    Refused,
    /// A listener whose accept queue is full: TCP never connects.
    Full,
    /// A server that misbehaves in this way.
    Faulty(Fault),
    /// The fake IVS, plain HTTP, addressed as `https://`.
    PlainHttpAsHttps,
}

/// A started [`FaultyUpstream`], kept alive for the case, with what it saw.
enum Started {
    Refused,
    /// Kept so that the listener stays open.
    Full {
        _listener: FullListener,
    },
    Faulty(FaultServer),
    Fake(FakeIvs),
}

impl FaultyUpstream {
    async fn start(self) -> (Started, String) {
        match self {
            FaultyUpstream::Refused => (Started::Refused, faults::refused_url()),
            FaultyUpstream::Full => {
                let listener = FullListener::start().await;
                let url = listener.uri();
                (
                    Started::Full {
                        _listener: listener,
                    },
                    url,
                )
            }
            FaultyUpstream::Faulty(fault) => {
                let server = FaultServer::start(fault).await;
                let scheme = if matches!(fault, Fault::SelfSignedTls) {
                    "https"
                } else {
                    "http"
                };
                let url = server.uri(scheme);
                (Started::Faulty(server), url)
            }
            FaultyUpstream::PlainHttpAsHttps => {
                let fake = FakeIvs::start(operator()).await;
                let url = fake.uri().replace("http://", "https://");
                (Started::Fake(fake), url)
            }
        }
    }
}

impl Started {
    /// The requests (or, for the fake, connections) the upstream saw, when it counts them.
    fn n_seen(&self) -> Option<usize> {
        match self {
            Started::Refused | Started::Full { .. } => None,
            Started::Faulty(server) => Some(server.n_requests()),
            Started::Fake(fake) => Some(fake.n_connections()),
        }
    }
}

/// One upstream fault: what the downstream client gets, and that nothing is written.
struct FaultCase {
    name: &'static str,
    upstream: FaultyUpstream,
    /// The timeout the case shortens, if any.
    builder: fn(RecordServerBuilder) -> RecordServerBuilder,
    status: u16,
    error_type: &'static str,
    /// The message and summary reason, `{host}` standing for the upstream's `host:port`.
    reason: &'static str,
}

fn as_is(builder: RecordServerBuilder) -> RecordServerBuilder {
    builder
}

/// Every way a single exchange can fail, one row each: the answer is a 502 or 504 naming the host
/// and what failed, the summary counts it once with that reason, the upstream saw the request
/// once, and the cassette directory stays empty.
#[tokio::test]
async fn each_upstream_fault_is_a_502_or_504_naming_the_host_and_writes_nothing() {
    let cases = [
        FaultCase {
            name: "refused",
            upstream: FaultyUpstream::Refused,
            builder: as_is,
            status: 502,
            error_type: "IvsVcrUpstreamException",
            reason: "cannot connect to upstream `{host}`: Connection refused (os error 111)",
        },
        FaultCase {
            name: "reset before the answer",
            upstream: FaultyUpstream::Faulty(Fault::ResetBeforeAnswer),
            builder: as_is,
            status: 502,
            error_type: "IvsVcrUpstreamException",
            reason: "upstream `{host}` dropped the request before answering: Connection reset by peer (os error 104)",
        },
        FaultCase {
            name: "closed in the middle of the answer",
            upstream: FaultyUpstream::Faulty(Fault::CloseMidAnswer),
            builder: as_is,
            status: 502,
            error_type: "IvsVcrUpstreamException",
            reason: "upstream `{host}` broke off its answer: end of file before message length reached",
        },
        FaultCase {
            name: "accepts no connection",
            upstream: FaultyUpstream::Full,
            builder: |b| b.connect_timeout(SHORT),
            status: 504,
            error_type: "IvsVcrUpstreamTimeoutException",
            reason: "cannot connect to upstream `{host}` within 300ms",
        },
        FaultCase {
            name: "never answers",
            upstream: FaultyUpstream::Faulty(Fault::NeverAnswer),
            builder: |b| b.upstream_timeout(SHORT),
            status: 504,
            error_type: "IvsVcrUpstreamTimeoutException",
            reason: "upstream `{host}` did not answer within 300ms",
        },
        FaultCase {
            name: "stalls half way",
            upstream: FaultyUpstream::Faulty(Fault::StallMidAnswer),
            builder: |b| b.upstream_timeout(SHORT),
            status: 504,
            error_type: "IvsVcrUpstreamTimeoutException",
            reason: "upstream `{host}` did not finish its answer within 300ms",
        },
        FaultCase {
            name: "https upstream speaking plain http",
            upstream: FaultyUpstream::PlainHttpAsHttps,
            builder: as_is,
            status: 502,
            error_type: "IvsVcrUpstreamException",
            reason: "TLS handshake with upstream `{host}` failed: received corrupt message of type InvalidContentType",
        },
        FaultCase {
            name: "self-signed certificate",
            upstream: FaultyUpstream::Faulty(Fault::SelfSignedTls),
            builder: as_is,
            status: 502,
            error_type: "IvsVcrUpstreamException",
            reason: "TLS handshake with upstream `{host}` failed: invalid peer certificate: UnknownIssuer",
        },
    ];
    for case in cases {
        let (upstream, url) = case.upstream.start().await;
        let dir = tempfile::tempdir().unwrap();
        let server = (case.builder)(recorder(dir.path(), &url))
            .start()
            .await
            .unwrap();
        let started = Instant::now();
        let res = list_channels(&server).await;
        let reason = case.reason.replace("{host}", host_of(&url));
        assert_fault(&res, case.status, case.error_type, &reason);
        // A timeout case ends by its own short timeout, not the 20 s ones of `recorder`.
        assert!(started.elapsed() < Duration::from_secs(10), "{}", case.name);
        if let Some(n) = upstream.n_seen() {
            assert_eq!(n, 1, "{}: requests upstream saw", case.name);
        }
        let summary = server.shutdown().await;
        assert_not_recorded(&summary, 1, &reason);
        assert!(!summary.is_clean(), "{}", case.name);
        assert_dir_empty(dir.path());
    }
}

#[tokio::test]
async fn a_502_is_retried_by_the_sdk_and_every_attempt_is_counted() {
    let upstream = FaultServer::start(Fault::ResetBeforeAnswer).await;
    let url = upstream.uri("http");
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &url).start().await.unwrap();
    let res = list_channels(&server).await;
    let reason = format!(
        "upstream `{}` dropped the request before answering: Connection reset by peer (os error 104)",
        host_of(&url)
    );
    assert_fault(&res, 502, "IvsVcrUpstreamException", &reason);

    // An SDK with its standard retry policy takes the 502 as transient: three attempts, each
    // reaching upstream, then the error with our type and message.
    let config = aws_sdk_ivs::Config::builder()
        .behavior_version(aws_sdk_ivs::config::BehaviorVersion::latest())
        .region(aws_sdk_ivs::config::Region::new("us-west-2"))
        .credentials_provider(Credentials::new("AKIDEXAMPLE", "x", None, None, "t"))
        .endpoint_url(server.uri())
        .retry_config(
            aws_sdk_ivs::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .build();
    let err = aws_sdk_ivs::Client::from_conf(config)
        .list_channels()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("IvsVcrUpstreamException"));
    assert_eq!(err.message(), Some(reason.as_str()));
    assert_eq!(upstream.n_requests(), 4);

    let summary = server.shutdown().await;
    assert_not_recorded(&summary, 4, &reason);
    assert_dir_empty(dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_of_server_errors_is_passed_on_and_counted_per_operation_and_reason() {
    let fake = FakeIvs::start(operator()).await;
    fake.fail_all(&[500, 503]);
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri()).start().await.unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let ivs = ivs.clone();
        tasks.spawn(async move {
            let code = if i % 4 == 0 {
                let err = ivs.get_channel().arn("arn:x").send().await.unwrap_err();
                err.code().map(str::to_owned)
            } else {
                let err = ivs.list_channels().send().await.unwrap_err();
                err.code().map(str::to_owned)
            };
            code
        });
    }
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    while let Some(code) = tasks.join_next().await {
        *codes.entry(code.unwrap().unwrap_or_default()).or_default() += 1;
    }
    // Every client got upstream's own error, unchanged.
    assert_eq!(
        codes.into_iter().collect::<Vec<_>>(),
        [
            ("InternalServerException".to_owned(), 100),
            ("ServiceUnavailableException".to_owned(), 100)
        ]
    );
    assert_eq!(fake.n_requests(), 200);
    assert_eq!(fake.n_bad_signatures(), 0);

    let summary = server.shutdown().await;
    assert_eq!(summary.n_recorded(), 0);
    assert_eq!(summary.operations["ListChannels"].not_recorded, 150);
    assert_eq!(summary.operations["GetChannel"].not_recorded, 50);
    // One line per operation and status, with its count, however the requests interleaved.
    let mut by_reason = std::collections::BTreeMap::<&str, u64>::new();
    for skipped in &summary.not_recorded {
        *by_reason.entry(skipped.reason.as_str()).or_default() += skipped.n_requests;
    }
    assert_eq!(summary.not_recorded.len(), 4, "{summary}");
    assert_eq!(
        by_reason.into_iter().collect::<Vec<_>>(),
        [
            (
                "upstream answered 500 (record it with --record-server-errors)",
                100
            ),
            (
                "upstream answered 503 (record it with --record-server-errors)",
                100
            )
        ]
    );
    let text = summary.to_string();
    assert!(
        text.contains("total: 0 recorded, 0 replayed, 200 not recorded, 0 refused"),
        "{text}"
    );
    let counted = text
        .lines()
        .filter(|l| {
            l.starts_with("  - ") && l.contains(": upstream answered 5") && l.contains("(×")
        })
        .count();
    assert_eq!(counted, 4, "{text}");
    assert_dir_empty(dir.path());
}

#[tokio::test]
async fn failed_write_removes_its_temporary_file_and_is_reported() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri()).start().await.unwrap();
    // The first request opens the cassette (no file yet) and is held upstream; then a directory
    // appears where the file should go, so the rename of every write fails.
    fake.hold(Hold {
        n: 2,
        reverse: false,
    });
    let first = tokio::spawn(raw::post(server.addr(), "/ListChannels", "{}"));
    fake.wait_held(1).await;
    let target = dir.path().join("recording.yaml");
    std::fs::create_dir(&target).unwrap();
    let second = list_channels(&server).await;
    let first = first.await.unwrap();
    assert_eq!((first.status, second.status), (200, 200), "{second:?}");
    let summary = server.shutdown().await;
    assert_eq!(summary.n_recorded(), 2);
    assert_eq!(summary.write_errors.len(), 1, "{summary}");
    assert_eq!(summary.write_errors[0].0, target);
    assert!(!summary.is_clean());
    let entries: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries, std::slice::from_ref(&target));
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
}

#[tokio::test]
async fn stale_temporary_files_are_ignored_by_loaders_and_removed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    // Process ids above Linux's pid_max never run; pid 1 always does.
    let stale = [
        dir.path().join(".recording.yaml.999999999.tmp"),
        dir.path().join("sub/.flow.yaml.999999998.tmp"),
    ];
    let live = dir.path().join(".other.yaml.1.tmp");
    let unrelated = dir.path().join(".notes.999999999.tmp");
    for path in stale.iter().chain([&live, &unrelated]) {
        std::fs::write(path, "format: 1\ninteractions: [half a wri").unwrap();
    }
    let (loaded, errors) = cassette::load_dir(dir.path()).unwrap();
    assert!(loaded.is_empty() && errors.is_empty(), "{errors:?}");

    let fake = FakeIvs::start(operator()).await;
    let server = recorder(dir.path(), &fake.uri()).start().await.unwrap();
    for path in &stale {
        assert!(!path.exists(), "{} is still there", path.display());
    }
    assert!(live.exists(), "a running process's file was removed");
    assert!(
        unrelated.exists(),
        "a file that is not a cassette's was removed"
    );
    server.shutdown().await;
}

/// Polls `done` until it holds. Only for what another process does on disk, which sends no
/// signal this test could wait on.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn n_interactions(path: &Path) -> usize {
    Cassette::load(path).map_or(0, |c| c.interactions.len())
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn is_temp_file(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    name.starts_with('.') && name.ends_with(".tmp")
}

fn record_command(fake: &FakeIvs, dir: &Path) -> std::process::Command {
    let mut command = bin::command(
        &[
            "record",
            "--port",
            "0",
            "--record-mode",
            "new-episodes",
            "--upstream",
            &fake.uri(),
        ],
        dir,
    );
    command
        .arg("--cassettes")
        .arg(dir)
        .env("AWS_ACCESS_KEY_ID", OPERATOR_KEY)
        .env("AWS_SECRET_ACCESS_KEY", OPERATOR_SECRET)
        .env("AWS_SESSION_TOKEN", OPERATOR_TOKEN)
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"));
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_traffic_leaves_every_cassette_parseable() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    let cassettes = [
        dir.path().join("recording.yaml"),
        dir.path().join("team/other.yaml"),
    ];
    for round in 0..3 {
        let recorder = IvsVcr::spawn(record_command(&fake, dir.path()));
        let uri = recorder.uri().unwrap();
        let before: Vec<usize> = cassettes.iter().map(|c| n_interactions(c)).collect();
        // Eight clients, half of them on a second cassette, each creating channels until the
        // recorder dies under them.
        let mut clients = tokio::task::JoinSet::new();
        for client in 0..8 {
            let endpoint = if client % 2 == 0 {
                uri.clone()
            } else {
                format!("{uri}/cassette/team/other")
            };
            let ivs = ivs_client(&endpoint, "us-west-2");
            clients.spawn(async move {
                let mut n_ok = 0;
                while ivs
                    .create_channel()
                    .name(format!("r{round}-c{client}-{n_ok}"))
                    .send()
                    .await
                    .is_ok()
                {
                    n_ok += 1;
                }
                n_ok
            });
        }
        wait_until("both cassettes to grow", || {
            cassettes
                .iter()
                .zip(&before)
                .all(|(c, n)| n_interactions(c) >= n + 8)
        })
        .await;
        // Hold the next requests upstream, so some are in flight when the kill comes.
        fake.hold(Hold {
            n: usize::MAX,
            reverse: false,
        });
        fake.wait_held(4).await;
        let status = recorder.kill();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        while let Some(n_ok) = clients.join_next().await {
            assert!(
                n_ok.unwrap() > 0,
                "round {round}: a client never got an answer"
            );
        }
        fake.stop_holding();

        // Every cassette loads, whole; the only other files are hidden temporary ones, which
        // loaders skip.
        let files = files_under(dir.path());
        let (loaded, errors) = cassette::load_dir(dir.path()).unwrap();
        assert!(errors.is_empty(), "round {round}: {errors:?}");
        assert_eq!(loaded.len(), 2, "round {round}: {files:?}");
        for (path, before) in cassettes.iter().zip(&before) {
            let n = Cassette::load(path)
                .unwrap_or_else(|e| panic!("round {round}: {e}"))
                .interactions
                .len();
            assert!(n >= before + 8, "round {round}: {} has {n}", path.display());
        }
        // Only complete exchanges, each once: the held ones died with the recorder.
        for cassette in &loaded {
            let mut names = std::collections::BTreeSet::new();
            for interaction in &cassette.interactions {
                assert_eq!(interaction.request.path, "/CreateChannel");
                assert_eq!(interaction.response.status, 200);
                let name = interaction.request.body.as_ref().unwrap()["name"].clone();
                assert!(names.insert(name.to_string()), "{name} recorded twice");
            }
        }
        for file in &files {
            let is_cassette = file.extension().is_some_and(|e| e == "yaml");
            assert!(
                is_cassette || is_temp_file(file),
                "round {round}: unexpected {}",
                file.display()
            );
        }
    }

    // The next start removes what a kill left, here a planted one as well as any real one.
    std::fs::write(dir.path().join("team/.other.yaml.999999999.tmp"), "fo").unwrap();
    let recorder = IvsVcr::spawn(record_command(&fake, dir.path()));
    let leftovers: Vec<PathBuf> = files_under(dir.path())
        .into_iter()
        .filter(|f| is_temp_file(f))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let finished = recorder.stop();
    assert!(
        finished.status.success(),
        "{}\nstdout:\n{}\nstderr:\n{}",
        finished.status,
        finished.stdout,
        finished.stderr
    );
}
