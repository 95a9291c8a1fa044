//! What the verify tests share: flows recorded from a fresh emulator, played back against the
//! emulator through the library, and against a local stand-in for AWS through the binary.

use std::path::{Path, PathBuf};

use ivs_vcr::verify::{self, Against, VerifyOptions};
use ivs_vcr::{Cassette, RecordServer, ReplayServer};

use super::bin::command;
use super::fake_ivs::FakeIvs;
use super::{recorder, OPERATOR_KEY, OPERATOR_SECRET, OPERATOR_TOKEN};

/// A recorder writing the cassette `name` from a fresh emulator, as this project records its
/// flows; [`FromEmulator::finish`] stops it and reads what it wrote.
pub struct FromEmulator {
    /// Both kept until the recording is read.
    _upstream: ReplayServer,
    _dir: tempfile::TempDir,
    recorder: RecordServer,
}

impl FromEmulator {
    /// Starts the emulator and a recorder in front of it.
    pub async fn start(name: &str) -> FromEmulator {
        let upstream = ReplayServer::emulator().await;
        let dir = tempfile::tempdir().unwrap();
        let recorder = recorder(dir.path(), &upstream.uri())
            .name(name)
            .start()
            .await
            .unwrap();
        FromEmulator {
            _upstream: upstream,
            _dir: dir,
            recorder,
        }
    }

    /// The recorder's URL, for the clients of the flow.
    pub fn uri(&self) -> String {
        self.recorder.uri()
    }

    /// Stops the recorder, which must have written one cassette, and returns its text.
    pub async fn finish(self) -> String {
        let summary = self.recorder.shutdown().await;
        assert_eq!(summary.written.len(), 1, "{summary}");
        std::fs::read_to_string(&summary.written[0]).unwrap()
    }
}

/// `cassette`, as [`verify::run`] takes recorded flows, under the file name `name`.
pub fn recorded(name: &str, cassette: Cassette) -> Vec<(PathBuf, Cassette)> {
    vec![(PathBuf::from(name), cassette)]
}

/// Verifies recorded flows against a fresh emulator; no exchange may fail on the way.
pub async fn against_the_emulator(
    recorded: &[(PathBuf, Cassette)],
    options: &VerifyOptions,
) -> verify::Verified {
    let verified = verify::run(recorded, &Against::Emulator, options, |_, _, _| {})
        .await
        .unwrap();
    assert!(
        verified.transport_errors.is_empty(),
        "{:?}",
        verified.transport_errors
    );
    verified
}

/// Runs `ivs-vcr verify <cassette> --against aws --upstream <fake> <extra…>` in `dir` with the
/// operator's credentials: exit code, stdout and stderr.
pub async fn against_fake_aws(
    fake: &FakeIvs,
    cassette: &str,
    extra: &[&str],
    dir: &Path,
) -> (Option<i32>, String, String) {
    let uri = fake.uri();
    let mut args = vec!["verify", cassette, "--against", "aws", "--upstream", &uri];
    args.extend_from_slice(extra);
    let mut cmd = command(&args, dir);
    cmd.env("AWS_ACCESS_KEY_ID", OPERATOR_KEY)
        .env("AWS_SECRET_ACCESS_KEY", OPERATOR_SECRET)
        .env("AWS_SESSION_TOKEN", OPERATOR_TOKEN)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE");
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The method and path (`POST /CreateChannel`) of every request the fake received, in order.
pub fn routes_received(fake: &FakeIvs) -> Vec<String> {
    fake.received()
        .iter()
        .map(|r| r.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect()
}
