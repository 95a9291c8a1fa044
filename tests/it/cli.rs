//! Black-box tests of the `ivs-vcr` command line: help, start-up, exit codes, bad cassettes.

use crate::support::bin::{run, IvsVcr};
use crate::support::{fixture, ivs_client};

#[test]
fn help_teaches_how_to_point_clients_at_ivs_vcr() {
    let dir = tempfile::tempdir().unwrap();
    let top = run(&["--help"], dir.path());
    assert!(top.status.success());
    for needle in [
        "AWS_ENDPOINT_URL_IVS",
        "--endpoint-url",
        "endpoint_url",
        "replay",
    ] {
        assert!(
            top.stdout.contains(needle),
            "`{needle}` missing from --help:\n{}",
            top.stdout
        );
    }
    let replay = run(&["replay", "--help"], dir.path());
    for needle in [
        "--cassettes",
        "--strict-sequence",
        "--fail-on-unused",
        "--max-cassette-mib <MIB>",
        "--max-interactions <N>",
        "[env: IVS_VCR_CASSETTES=]",
        "Exit status",
    ] {
        assert!(
            replay.stdout.contains(needle),
            "`{needle}` missing from replay --help:\n{}",
            replay.stdout
        );
    }
}

/// Issue 28 §2: the emulator, the main job, has a name of its own (`serve`, alias `emulate`) and
/// runs what `replay` runs; `replay` keeps working as it did.
#[tokio::test]
async fn serve_and_emulate_run_the_emulator_as_replay_does() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["serve", "emulate", "replay"] {
        let server = IvsVcr::start(&[command, "--port", "0"], dir.path());
        let shown = if command == "replay" {
            "replay"
        } else {
            "serve"
        };
        assert!(
            server.stdout[0].starts_with(&format!("ivs-vcr {shown} listening on http://")),
            "{command}: {:?}",
            server.stdout
        );
        let ivs = ivs_client(&server.uri().unwrap(), "us-west-2");
        let created = ivs.create_channel().name("demo").send().await.unwrap();
        let arn = created.channel().unwrap().arn().unwrap().to_owned();
        ivs.get_channel().arn(&arn).send().await.unwrap();
        let finished = server.stop();
        assert_eq!(finished.status.code(), Some(0), "{command}: {finished:?}");
    }
    let top = run(&["--help"], dir.path());
    assert!(
        top.stdout
            .contains("  serve   Serve IVS, IVS Chat and IVS Real-Time on localhost")
            && top.stdout.contains("[alias: emulate]"),
        "{}",
        top.stdout
    );
    let serve = run(&["serve", "--help"], dir.path());
    assert!(
        serve
            .stdout
            .contains("\n  ivs-vcr serve\n  export AWS_ENDPOINT_URL_IVS="),
        "{}",
        serve.stdout
    );
}

#[tokio::test]
async fn unmatched_request_makes_replay_exit_1_with_the_report_in_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let cassettes = fixture("replay");
    let server = IvsVcr::start(
        &[
            "replay",
            "--port",
            "0",
            "--cassettes",
            cassettes.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(
        server.addr().ip().to_string(),
        "127.0.0.1",
        "binds loopback by default"
    );
    let ivs = ivs_client(&server.uri().unwrap(), "us-west-2");
    ivs.list_channels().send().await.unwrap();
    let err = ivs
        .get_stream()
        .channel_arn("arn:aws:ivs:us-west-2:123456789012:channel/nope")
        .send()
        .await;
    assert!(err.is_err());
    let finished = server.stop();
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert!(
        finished
            .stdout
            .contains("unmatched requests:\n  - GetStream: no recorded interaction"),
        "{}",
        finished.stdout
    );
    assert!(
        finished
            .stderr
            .contains("GetStream: no recorded interaction"),
        "logged at warn:\n{}",
        finished.stderr
    );
}

#[tokio::test]
async fn fail_on_unused_makes_replay_exit_1_and_lists_what_was_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = fixture("replay/tags.yaml");
    let server = IvsVcr::start(
        &[
            "replay",
            "--port",
            "0",
            "--cassettes",
            cassette.to_str().unwrap(),
            "--fail-on-unused",
        ],
        dir.path(),
    );
    let ivs = ivs_client(&server.uri().unwrap(), "us-west-2");
    ivs.list_tags_for_resource()
        .resource_arn("arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234")
        .send()
        .await
        .unwrap();
    let finished = server.stop();
    assert_eq!(finished.status.code(), Some(1));
    assert!(
        finished.stdout.contains("unused interactions:\n  - tags #0 (TagResource)\n  - tags #2 (UntagResource)\n  - tags #3 (ListTagsForResource)\n"),
        "{}",
        finished.stdout
    );
}

#[tokio::test]
async fn clean_run_exits_0_and_reports_per_operation() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = fixture("replay/flow.yaml");
    let server = IvsVcr::start(
        &["replay", "--port", "0", "-c", cassette.to_str().unwrap()],
        dir.path(),
    );
    let ivs = ivs_client(&server.uri().unwrap(), "us-west-2");
    ivs.list_channels().send().await.unwrap();
    let finished = server.stop();
    assert_eq!(finished.status.code(), Some(0), "{finished:?}");
    let list_line = finished
        .stdout
        .lines()
        .find(|l| l.starts_with("ListChannels"))
        .unwrap();
    assert_eq!(
        list_line.split_whitespace().collect::<Vec<_>>(),
        ["ListChannels", "1", "0", "0"]
    );
    assert!(
        finished
            .stdout
            .contains("total: 1 matched, 0 unmatched, 4 unused interaction(s)"),
        "{}",
        finished.stdout
    );
}

#[test]
fn strict_refuses_a_malformed_cassette_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixture("replay/flow.yaml")).unwrap();
    std::fs::write(dir.path().join("good.yaml"), &good).unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        good.replace("status: 204", "status: no-content"),
    )
    .unwrap();
    let finished = run(
        &["replay", "--port", "0", "--strict", "--cassettes", "."],
        dir.path(),
    );
    assert_eq!(finished.status.code(), Some(2), "{finished:?}");
    let line = good
        .lines()
        .position(|l| l.contains("status: 204"))
        .unwrap()
        + 1;
    assert!(
        finished
            .stderr
            .contains(&format!("invalid cassette `./bad.yaml` at line {line}: ")),
        "{}",
        finished.stderr
    );
}

#[tokio::test]
async fn without_strict_a_malformed_cassette_is_skipped_and_the_rest_served() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixture("replay/flow.yaml")).unwrap();
    std::fs::write(dir.path().join("good.yaml"), &good).unwrap();
    std::fs::write(
        dir.path().join("newer.yaml"),
        good.replace("format: 1", "format: 3")
            .replace("name: flow", "name: newer"),
    )
    .unwrap();
    let server = IvsVcr::start(&["replay", "--port", "0", "--cassettes", "."], dir.path());
    let ivs = ivs_client(&server.uri().unwrap(), "us-west-2");
    ivs.list_channels().send().await.unwrap();
    let finished = server.stop();
    assert!(
        finished.stderr.contains("cassette `./newer.yaml` has format version 3, but this ivs-vcr reads up to version 2: upgrade ivs-vcr"),
        "{}",
        finished.stderr
    );
    assert!(
        finished.stdout.contains("cassettes skipped at load:"),
        "{}",
        finished.stdout
    );
}

#[test]
fn a_missing_cassette_directory_is_an_error_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let finished = run(
        &["replay", "--port", "0", "--cassettes", "nope"],
        dir.path(),
    );
    assert_eq!(finished.status.code(), Some(2));
    assert!(
        finished
            .stderr
            .starts_with("error: cannot start the replay server: cannot access cassette `nope`"),
        "{}",
        finished.stderr
    );
}

#[tokio::test]
async fn a_malformed_cassette_named_directly_is_skipped_too_unless_strict() {
    // Regression (review): a file given with `-c` stopped the start even without `--strict`.
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixture("replay/flow.yaml")).unwrap();
    std::fs::write(dir.path().join("good.yaml"), &good).unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        good.replace("status: 204", "status: nope"),
    )
    .unwrap();
    let server = IvsVcr::start(
        &["replay", "--port", "0", "-c", "bad.yaml", "-c", "good.yaml"],
        dir.path(),
    );
    let ivs = ivs_client(&server.uri().unwrap(), "us-west-2");
    ivs.list_channels().send().await.unwrap();
    let finished = server.stop();
    assert!(
        finished
            .stdout
            .contains("cassettes skipped at load:\n  - invalid cassette `bad.yaml`"),
        "{}",
        finished.stdout
    );
    let strict = run(
        &[
            "replay",
            "--port",
            "0",
            "--strict",
            "-c",
            "bad.yaml",
            "-c",
            "good.yaml",
        ],
        dir.path(),
    );
    assert_eq!(strict.status.code(), Some(2), "{strict:?}");
    // Issue 28 §2: a directory (or file) whose only cassette is bad starts too, as the README
    // says bad files are skipped; it serves nothing (it does not become the emulator), and the
    // summary names the file.
    std::fs::remove_file(dir.path().join("good.yaml")).unwrap();
    let only_bad = IvsVcr::start(&["replay", "--port", "0", "-c", "."], dir.path());
    let ivs = ivs_client(&only_bad.uri().unwrap(), "us-west-2");
    ivs.list_channels().send().await.unwrap_err();
    let finished = only_bad.stop();
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert!(
        finished.stdout.contains("skipped 1 cassette file(s) that did not load (errors above; --strict refuses to start instead)\n")
            && finished.stdout.contains("total: 0 matched, 1 unmatched, 0 unused interaction(s)\n")
            && finished
                .stdout
                .contains("cassettes skipped at load:\n  - invalid cassette `./bad.yaml`"),
        "{}",
        finished.stdout
    );
    assert!(
        finished.stderr.contains("skipping cassette"),
        "{}",
        finished.stderr
    );
}

/// Runs the binary with its stdout a pipe whose reader is already gone, as in `… | head -1` once
/// head has its line, and returns its exit code and stderr.
fn run_with_closed_stdout(args: &[&str], workdir: &std::path::Path) -> (Option<i32>, String) {
    let mut child = crate::support::bin::command(args, workdir)
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn diff_into_a_closed_pipe_ends_quietly_with_status_0() {
    // Drift exists, so the report is long and the status would be 1 with a reader.
    let (code, stderr) =
        run_with_closed_stdout(&["diff", "drift/2021-04", "drift/current"], &fixture(""));
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn replay_into_a_closed_pipe_ends_quietly_with_status_0() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run_with_closed_stdout(&["replay", "--port", "0"], dir.path());
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    assert_eq!(stderr, "");
}

/// Issue 28 §2: `replay --help` ran to 176 lines, and the cassette-limit paragraph was repeated in
/// every command that loads cassettes. The limits now sit under headings of their own, in a few
/// lines each, and every flag is still there.
#[test]
fn help_groups_limits_under_headings_and_stays_short() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["serve", "replay", "record", "diff", "verify"] {
        let help = run(&[command, "--help"], dir.path());
        assert!(
            help.stdout
                .contains("\nCassette limits:\n      --max-cassette-mib <MIB>\n"),
            "{command} --help:\n{}",
            help.stdout
        );
        // Long enough to teach every flag, under headings; short enough to read in one go.
        let n_lines = help.stdout.lines().count();
        assert!(
            n_lines <= 200,
            "{command} --help has {n_lines} lines:\n{}",
            help.stdout
        );
    }
    let replay = run(&["replay", "--help"], dir.path());
    for heading in [
        "\nLimits:\n      --max-fault-rules",
        "\nListening:\n  -p, --port",
    ] {
        assert!(replay.stdout.contains(heading), "{}", replay.stdout);
    }
}

/// Issue 28 §2: a port already taken (another ivs-vcr still running) says how to take a free one.
#[test]
fn a_port_in_use_suggests_port_0() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    for command in ["serve", "record"] {
        let mut args = vec![command, "--port", &port];
        if command == "record" {
            args.extend(["--cassettes", "out", "--upstream", "http://127.0.0.1:9"]);
        }
        let output = crate::support::bin::command(&args, dir.path())
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "test-secret")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}:\n{stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert!(
            lines.len() >= 2
                && lines[lines.len() - 2].starts_with("error: cannot start the ")
                && lines[lines.len() - 2].contains(&format!("cannot listen on `127.0.0.1:{port}`")),
            "{command}:\n{stderr}"
        );
        assert_eq!(
            lines[lines.len() - 1],
            "hint: another process listens on that port: pass `--port 0` to take a free one (the `listening on` line prints it), or stop the other server",
            "{command}"
        );
    }
}

#[test]
fn help_examples_keep_their_lines_and_indentation() {
    let dir = tempfile::tempdir().unwrap();
    let top = run(&["--help"], dir.path());
    assert!(
        top.stdout.contains(
            "\n  aws ivs list-channels --endpoint-url http://127.0.0.1:7474\n  boto3.client(\"ivs\", endpoint_url=\"http://127.0.0.1:7474\")\n"
        ),
        "{}",
        top.stdout
    );
    let record = run(&["record", "--help"], dir.path());
    assert!(
        record.stdout.contains(
            "\n  ivs-vcr record --cassettes cassettes --name channel-lifecycle --record-mode all\n  AWS_ENDPOINT_URL_IVS=http://127.0.0.1:7474 ./my-test\n"
        ),
        "{}",
        record.stdout
    );
    let diff = run(&["diff", "--help"], dir.path());
    assert!(
        diff.stdout
            .contains("\n  ivs-vcr diff cassettes/ rerecorded/\n"),
        "{}",
        diff.stdout
    );
}

/// Issue 12 §5: without credentials, record says what to set, in one line, whatever the instance
/// metadata service does (here it is unreachable or refuses), and prints no long IMDS warnings.
#[test]
fn record_without_credentials_says_what_to_set_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = crate::support::bin::command(&["record", "--cassettes", "out"], dir.path());
    for key in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ] {
        command.env_remove(key);
    }
    command
        // No ~/.aws: an empty home.
        .env("HOME", dir.path())
        .env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        // Unreachable at once, as off EC2: a closed loopback port.
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9");
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: cannot start the record server: no AWS credentials found: set `AWS_PROFILE`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, or run `aws sso login`"
    );
}

/// Issue 12 §5: IVS_VCR_CASSETTES is a comma-separated list for record as for replay; record
/// writes one directory, and says so when given more.
#[test]
fn record_reads_ivs_vcr_cassettes_as_a_list_and_wants_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = crate::support::bin::command(
        &["record", "--record-mode", "none", "--port", "0"],
        dir.path(),
    );
    command.env("IVS_VCR_CASSETTES", "one,two");
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("record writes to one directory, but --cassettes (or IVS_VCR_CASSETTES) names 2: one, two"),
        "{stderr}"
    );
}

/// The replay fixture (five interactions) with a sixth, a ListChannels of one, named `six`.
fn six_interactions() -> String {
    let flow = std::fs::read_to_string(fixture("replay/flow.yaml")).unwrap();
    let six = format!(
        "{}  - request:\n      method: POST\n      path: /ListChannels\n      region: us-west-2\n      body: {{maxResults: 1}}\n    response:\n      status: 200\n      headers: {{Content-Type: application/json}}\n      body: {{channels: []}}\n",
        flow.replace("name: flow", "name: six")
    );
    assert_eq!(six.matches("  - request:").count(), 6);
    six
}

/// `--max-interactions` refuses a cassette with more, naming the flag and the value that would
/// load it: skipped by default (the rest is served), fatal with `--strict`; raised to the count,
/// the cassette loads and answers.
#[tokio::test]
async fn max_interactions_refuses_a_larger_cassette_until_raised() {
    let dir = tempfile::tempdir().unwrap();
    let flow = std::fs::read_to_string(fixture("replay/flow.yaml")).unwrap();
    std::fs::write(dir.path().join("flow.yaml"), flow).unwrap();
    std::fs::write(dir.path().join("six.yaml"), six_interactions()).unwrap();
    let refusal = "refusing cassette `./six.yaml`: 6 interactions is over the limit of 5 (raise it with `--max-interactions 6`";

    let server = IvsVcr::start(
        &[
            "replay",
            "--port",
            "0",
            "-c",
            ".",
            "--max-interactions",
            "5",
        ],
        dir.path(),
    );
    let ivs = ivs_client(&server.uri().unwrap(), "us-west-2");
    assert!(ivs.list_channels().max_results(1).send().await.is_err());
    let finished = server.stop();
    assert!(
        finished
            .stdout
            .contains("serving 5 interaction(s) from 1 cassette(s)"),
        "{}",
        finished.stdout
    );
    assert!(
        finished
            .stdout
            .contains(&format!("cassettes skipped at load:\n  - {refusal}")),
        "{}",
        finished.stdout
    );
    assert!(finished.stderr.contains(refusal), "{}", finished.stderr);

    let strict = run(
        &[
            "replay",
            "--port",
            "0",
            "-c",
            ".",
            "--strict",
            "--max-interactions",
            "5",
        ],
        dir.path(),
    );
    assert_eq!(strict.status.code(), Some(2), "{strict:?}");
    assert!(strict.stderr.contains(refusal), "{}", strict.stderr);

    let server = IvsVcr::start(
        &[
            "replay",
            "--port",
            "0",
            "-c",
            ".",
            "--max-interactions",
            "6",
        ],
        dir.path(),
    );
    let ivs = ivs_client(&server.uri().unwrap(), "us-west-2");
    let page = ivs.list_channels().max_results(1).send().await.unwrap();
    assert!(page.channels().is_empty());
    let finished = server.stop();
    assert_eq!(finished.status.code(), Some(0), "{finished:?}");
    assert!(
        finished
            .stdout
            .contains("serving 11 interaction(s) from 2 cassette(s)"),
        "{}",
        finished.stdout
    );
    assert!(
        !finished.stdout.contains("skipped at load"),
        "{}",
        finished.stdout
    );
}

/// `--max-cassette-mib` below a file's size refuses it with its size and the value that would
/// load it; the default limit loads the same file.
#[tokio::test]
async fn max_cassette_mib_lowered_below_a_file_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let flow = std::fs::read_to_string(fixture("replay/flow.yaml")).unwrap();
    // Just over 1 MiB, the smallest limit, padded with comment lines.
    let padding = format!("# {}\n", "x".repeat(98)).repeat(10_600);
    let big = format!("{flow}{padding}");
    assert!(big.len() > 1 << 20 && big.len() < 2 << 20);
    std::fs::write(dir.path().join("big.yaml"), &big).unwrap();

    // The file refused is skipped, like any that does not load (with --strict, the start fails).
    let refused = IvsVcr::start(
        &[
            "replay",
            "--port",
            "0",
            "-c",
            "big.yaml",
            "--max-cassette-mib",
            "1",
        ],
        dir.path(),
    )
    .stop();
    let expected = format!(
        "refusing cassette `big.yaml`: {} bytes is over the limit of 1,048,576 bytes (raise it with `--max-cassette-mib 2`",
        ivs_vcr::__private::thousands(big.len() as u64)
    );
    assert!(
        refused.stderr.contains(&expected)
            && refused
                .stdout
                .contains("skipped 1 cassette file(s) that did not load"),
        "expected:\n{expected}\ngot:\n{refused:?}"
    );

    let server = IvsVcr::start(&["replay", "--port", "0", "-c", "big.yaml"], dir.path());
    let ivs = ivs_client(&server.uri().unwrap(), "us-west-2");
    ivs.list_channels().send().await.unwrap();
    let finished = server.stop();
    assert!(
        finished
            .stdout
            .contains("serving 5 interaction(s) from 1 cassette(s)"),
        "{}",
        finished.stdout
    );
}

/// `diff` and `verify` load cassettes under the same flags as `replay`.
#[test]
fn diff_and_verify_take_the_cassette_limits_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("six.yaml"), six_interactions()).unwrap();
    let refusal = "refusing cassette `six.yaml`: 6 interactions is over the limit of 5 (raise it with `--max-interactions 6`";
    for args in [
        &["diff", "six.yaml", "six.yaml"][..],
        &["verify", "six.yaml", "--against", "emulator"][..],
    ] {
        let refused = run(&[args, &["--max-interactions", "5"]].concat(), dir.path());
        assert_eq!(refused.status.code(), Some(2), "{args:?}: {refused:?}");
        assert!(
            refused.stderr.contains(refusal),
            "{args:?}: {}",
            refused.stderr
        );
        let loaded = run(args, dir.path());
        assert!(
            !loaded.stderr.contains("refusing cassette"),
            "{args:?}: {}",
            loaded.stderr
        );
        assert_ne!(loaded.status.code(), Some(2), "{args:?}: {loaded:?}");
    }
}

/// Regression, issue 29 (finding 7): a server whose parent died (the pytest plugin's, killed
/// by SIGKILL) ran on under PID 1, a recorder holding the operator's credentials with nobody to
/// stop it. With `--exit-on-stdin-close` the end of stdin (the parent's pipe closing) stops it.
#[test]
fn exit_on_stdin_close_stops_the_server_when_its_stdin_ends() {
    use std::process::Stdio;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["replay", "--port", "0", "--exit-on-stdin-close"][..],
        &[
            "record",
            "--port",
            "0",
            "--record-mode",
            "none",
            "--cassettes",
            "cassettes",
            "--exit-on-stdin-close",
        ][..],
    ] {
        let mut command = crate::support::bin::command(args, dir.path());
        command.stdin(Stdio::piped());
        let mut server = IvsVcr::spawn(command);
        let status = server.close_stdin(Duration::from_secs(10));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "{args:?}: {status:?}\n{}",
            server.stderr()
        );
        assert!(
            server.stderr().contains("standard input closed"),
            "{}",
            server.stderr()
        );
    }

    // Without the flag, stdin's end means nothing: a server started from a script keeps running.
    let mut command = crate::support::bin::command(&["replay", "--port", "0"], dir.path());
    command.stdin(Stdio::piped());
    let mut server = IvsVcr::spawn(command);
    assert_eq!(server.close_stdin(Duration::from_millis(500)), None);
    assert!(server.stop().status.success());
}

#[test]
fn a_chat_review_handler_must_map_a_lambda_arn_to_an_http_url() {
    let dir = tempfile::tempdir().unwrap();
    for (value, message) in [
        ("nonsense", "is not FUNCTION_ARN=URL"),
        (
            "arn:aws:s3:::bucket=http://127.0.0.1:1/",
            "is not a Lambda function ARN",
        ),
        (
            "arn:aws:lambda:us-west-2:123456789012:function:f=https://example.test/",
            "is not an http:// URL",
        ),
    ] {
        let finished = run(
            &["replay", "--port", "0", "--chat-review-handler", value],
            dir.path(),
        );
        assert_eq!(finished.status.code(), Some(2), "{finished:?}");
        assert!(
            finished.stderr.contains(message),
            "{value}: {}",
            finished.stderr
        );
    }
}
