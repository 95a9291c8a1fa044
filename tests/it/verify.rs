//! `ivs-vcr verify`: recorded flows played against the emulator, a URL, and (through record's
//! signing and routing) a local stand-in for AWS; the bundled stories as the emulator's
//! conformance suite.

use std::path::{Path, PathBuf};

use ivs_vcr::verify::{self, Against, VerifyOptions};
use ivs_vcr::ReplayServer;

use crate::support::bin::run;
use crate::support::fake_ivs::FakeIvs;
use crate::support::operator;
use crate::support::verify::{self as shared, against_fake_aws, routes_received, FromEmulator};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Verifies recorded flows against the emulator with the default options (see
/// `support::verify::against_the_emulator`).
async fn against_the_emulator(recorded: &[(PathBuf, ivs_vcr::Cassette)]) -> verify::Verified {
    shared::against_the_emulator(recorded, &VerifyOptions::default()).await
}

/// The bundled stories: every cassette but the `errors-*` catalogues, whose triggers for errors
/// IVS documents no cause for (AccessDenied, throttling, outages) are invented.
fn stories() -> Vec<PathBuf> {
    let mut stories: Vec<PathBuf> = std::fs::read_dir(repo("cassettes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("errors-")
        })
        .collect();
    stories.sort();
    assert_eq!(stories.len(), 12, "{stories:?}");
    stories
}

#[tokio::test]
async fn every_bundled_story_verifies_clean_against_the_emulator() {
    let mut failures = Vec::new();
    for story in stories() {
        let recorded = ivs_vcr::diff::load_cassettes(&story).unwrap();
        let verified = against_the_emulator(&recorded).await;
        if !verified.report.findings.is_empty() {
            failures.push(format!("{}:\n{}", story.display(), verified.report));
        }
    }
    assert!(
        failures.is_empty(),
        "the emulator differs from the stories:\n{}",
        failures.join("\n")
    );
}

#[test]
fn a_recording_the_emulator_contradicts_is_reported_with_exit_status_1() {
    // The lifecycle story, except that the recording says the deleted channel was still there.
    let story = std::fs::read_to_string(repo("cassettes/01-channel-lifecycle.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tampered = story.replacen("status: 404", "status: 200", 1);
    assert_ne!(tampered, story);
    std::fs::write(dir.path().join("tampered.yaml"), tampered).unwrap();
    let finished = run(
        &["verify", "tampered.yaml", "--against", "emulator"],
        dir.path(),
    );
    finished.assert_code(1);
    assert!(
        finished.stdout.contains("status changed"),
        "{}",
        finished.stdout
    );
    assert!(
        finished.stderr.contains("[1/1] 01-channel-lifecycle"),
        "{}",
        finished.stderr
    );

    let clean = run(
        &[
            "verify",
            &repo("cassettes/01-channel-lifecycle.yaml")
                .display()
                .to_string(),
        ],
        dir.path(),
    );
    clean.assert_code(0);
    assert!(clean.stdout.starts_with("no drift"), "{}", clean.stdout);
}

#[tokio::test]
async fn against_a_url_it_reports_what_that_server_answers_differently() {
    // The golden flow was recorded from the project's fake IVS, whose channels carry fewer
    // members than IVS's: played against an emulator over HTTP, that shows as additive drift.
    let server = ReplayServer::emulator().await;
    let golden = repo("tests/fixtures/golden/record-flow.yaml")
        .display()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let uri = server.uri();
    let args = ["verify", golden.as_str(), "--against", uri.as_str()];
    let finished = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        move || run(&args.iter().map(String::as_str).collect::<Vec<_>>(), &dir)
    })
    .await
    .unwrap();
    finished.assert_code(1);
    assert!(
        finished
            .stdout
            .contains("additive  field added          channel.playbackUrl"),
        "{}",
        finished.stdout
    );
    let breaking_only = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        let golden = golden.clone();
        move || {
            run(
                &[
                    "verify",
                    &golden,
                    "--against",
                    &uri,
                    "--fail-on",
                    "breaking",
                ],
                &dir,
            )
        }
    })
    .await
    .unwrap();
    // The fake took metadata for a channel nobody streams to; the emulator, as IVS, does not.
    assert_eq!(
        breaking_only.status.code(),
        Some(1),
        "{}",
        breaking_only.stdout
    );
    assert!(
        breaking_only
            .stdout
            .contains("error type changed   none → ChannelNotBroadcasting"),
        "{}",
        breaking_only.stdout
    );
    // Ids are mapped, so the tag calls on the channel the flow created find it.
    assert!(
        !breaking_only.stdout.contains("ResourceNotFoundException"),
        "{}",
        breaking_only.stdout
    );
}

#[tokio::test]
async fn against_aws_it_signs_with_the_operators_credentials_and_routes_by_region() {
    let fake = FakeIvs::start(operator()).await;
    let golden = repo("tests/fixtures/golden/record-flow.yaml")
        .display()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = against_fake_aws(&fake, &golden, &[], dir.path()).await;
    // Six requests act on the channel the flow creates; the last reads `channel/missing`, which
    // the run did not create, so it is skipped and said so.
    assert_eq!(fake.n_requests(), 6, "{stdout}\n{stderr}");
    assert_eq!(fake.n_bad_signatures(), 0);
    assert!(
        stderr.contains(
            "skipped: flow #6 `POST /GetChannel`: names `arn:aws:ivs:us-west-2:123456789012:channel/missing`, which this run did not create"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("played 6 request(s) from 1 cassette(s), skipped 1"),
        "{stderr}"
    );
    // The fake answers as it did when the flow was recorded from it; a skip is not drift.
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("no drift"), "{stdout}");

    let (code, _, stderr) =
        against_fake_aws(&fake, &golden, &["--fail-on-skipped"], dir.path()).await;
    assert_eq!(code, Some(1), "{stderr}");

    let (code, stdout, stderr) =
        against_fake_aws(&fake, &golden, &["--allow-foreign-resources"], dir.path()).await;
    assert_eq!(fake.n_requests(), 6 + 6 + 7, "{stdout}\n{stderr}");
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
}

/// A cassette written to harm whoever verifies it: it maps a recorded ARN onto a channel the
/// operator already had (through a List answer), then deletes it, deletes a stream key in another
/// region, and sends a request that is no IVS operation. Regression for the security issue,
/// finding 6: all of it went to the upstream signed with the operator's key.
const HOSTILE: &str = r#"format: 1
api_version: "2020-07-14"
ivs_vcr_version: 0.1.0
provenance:
  kind: recorded
  source: https://ivs.us-west-2.amazonaws.com
  recorded_on: 2024-01-01
name: hostile
interactions:
- request:
    method: POST
    path: /ListChannels
    region: us-west-2
    body:
      filterByName: prod
  response:
    status: 200
    body:
      channels:
      - arn: arn:aws:ivs:us-west-2:123456789012:channel/aaaaaaaaaaaa
        name: prod
        latencyMode: LOW
- request:
    method: POST
    path: /DeleteChannel
    region: us-west-2
    body:
      arn: arn:aws:ivs:us-west-2:123456789012:channel/aaaaaaaaaaaa
  response:
    status: 204
- request:
    method: POST
    path: /DeleteStreamKey
    region: us-west-2
    body:
      arn: arn:aws:ivs:eu-west-1:123456789012:stream-key/bbbbbbbbbbbb
  response:
    status: 204
- request:
    method: POST
    path: /CreateChannel
    region: eu-west-1
    body:
      name: elsewhere
  response:
    status: 200
    body: {}
- request:
    method: PUT
    path: /not/an/ivs/route
    region: us-west-2
    body:
      arn: arn:aws:ivs:us-west-2:123456789012:channel/aaaaaaaaaaaa
  response:
    status: 200
    body: {}
- request:
    method: POST
    path: /CreateChannel
    region: us-west-2
    body:
      name: mine
  response:
    status: 200
    body:
      channel:
        arn: arn:aws:ivs:us-west-2:123456789012:channel/cccccccccccc
        name: mine
- request:
    method: POST
    path: /GetChannel
    region: us-west-2
    body:
      arn: arn:aws:ivs:us-west-2:123456789012:channel/cccccccccccc
  response:
    status: 200
    body:
      channel:
        arn: arn:aws:ivs:us-west-2:123456789012:channel/cccccccccccc
        name: mine
"#;

#[tokio::test]
async fn against_aws_only_requests_on_resources_the_run_created_are_sent() {
    let fake = FakeIvs::start(operator()).await;
    let prod = fake.seed_channel("us-west-2", "prod");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostile.yaml"), HOSTILE).unwrap();
    let (code, stdout, stderr) = against_fake_aws(&fake, "hostile.yaml", &[], dir.path()).await;
    let received = routes_received(&fake);
    assert_eq!(
        received,
        [
            "POST /ListChannels",
            "POST /CreateChannel",
            "POST /GetChannel"
        ],
        "{stderr}"
    );
    assert!(
        !fake.received().iter().any(|r| r.contains(&prod)),
        "{:?}",
        fake.received()
    );
    for line in [
        format!("skipped: hostile #1 `POST /DeleteChannel`: names `{prod}`, which this run did not create"),
        "skipped: hostile #2 `POST /DeleteStreamKey`: names `arn:aws:ivs:eu-west-1:123456789012:stream-key/bbbbbbbbbbbb`, which this run did not create".to_owned(),
        "skipped: hostile #3 `POST /CreateChannel`: goes to region `eu-west-1`, not the run's `us-west-2`".to_owned(),
        "skipped: hostile #4 `PUT /not/an/ivs/route`: not an IVS operation, sent to no target: `PUT /not/an/ivs/route` is not an IVS operation".to_owned(),
        "played 3 request(s) from 1 cassette(s), skipped 4".to_owned(),
    ] {
        assert!(stderr.contains(&line), "missing {line:?} in:\n{stderr}");
    }
    // The recorded answers are terse, so what was played drifts; what was skipped does not.
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(!stdout.contains("DeleteChannel"), "{stdout}");

    // The operator can send foreign requests, naming the risk; an unknown route still goes nowhere.
    let before = fake.n_requests();
    let (_, _, stderr) = against_fake_aws(
        &fake,
        "hostile.yaml",
        &["--allow-foreign-resources"],
        dir.path(),
    )
    .await;
    assert_eq!(fake.n_requests() - before, 6, "{stderr}");
    assert!(
        !fake
            .received()
            .iter()
            .any(|r| r.contains("/not/an/ivs/route")),
        "{:?}",
        fake.received()
    );
}

#[tokio::test]
async fn a_request_that_is_no_ivs_operation_goes_to_no_target() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostile.yaml"), HOSTILE).unwrap();
    let mut cassette = ivs_vcr::Cassette::load(dir.path().join("hostile.yaml")).unwrap();
    cassette.interactions.retain(|i| i.request.method == "PUT");
    let recorded = shared::recorded("hostile.yaml", cassette);
    for against in [Against::Url(fake.uri()), Against::Emulator] {
        let verified = verify::run(&recorded, &against, &VerifyOptions::default(), |_, _, _| {})
            .await
            .unwrap();
        assert_eq!(verified.n_requests, 0);
        assert_eq!(verified.skipped.len(), 1);
        assert!(matches!(
            verified.skipped[0].reason,
            verify::Skip::NotIvs(_)
        ));
        assert!(verified.report.findings.is_empty(), "{}", verified.report);
    }
    assert_eq!(fake.n_requests(), 0, "{:?}", fake.received());
}

#[test]
fn verify_takes_several_paths_as_a_shell_glob_gives_them() {
    // README: `ivs-vcr verify cassettes/0*.yaml`.
    let dir = tempfile::tempdir().unwrap();
    let one = repo("cassettes/01-channel-lifecycle.yaml")
        .display()
        .to_string();
    let five = repo("cassettes/05-tags.yaml").display().to_string();
    let finished = run(&["verify", &one, &five], dir.path());
    finished.assert_code(0);
    assert!(
        finished.stderr.contains("[2/2] 05-tags"),
        "{}",
        finished.stderr
    );
}

#[test]
fn upstream_goes_only_with_against_aws() {
    let dir = tempfile::tempdir().unwrap();
    for (args, refusal) in [
        (
            &[
                "verify",
                "x.yaml",
                "--against",
                "emulator",
                "--upstream",
                "http://127.0.0.1:1",
            ][..],
            "--upstream goes with --against aws",
        ),
        (
            &["verify", "x.yaml", "--allow-foreign-resources"][..],
            "--allow-foreign-resources goes with --against aws",
        ),
    ] {
        let finished = run(args, dir.path());
        assert_eq!(finished.status.code(), Some(2));
        assert!(finished.stderr.contains(refusal), "{}", finished.stderr);
    }
}

/// A flow this project records from the emulator verifies clean against the emulator: record,
/// redaction, id mapping and the emulator agree with each other end to end.
#[tokio::test]
async fn a_flow_recorded_from_the_emulator_verifies_clean_against_it() {
    let recording = FromEmulator::start("flow").await;
    let ivs = crate::support::ivs_client(&recording.uri(), "us-west-2");
    let arn = ivs
        .create_channel()
        .name("recorded")
        .tags("env", "test")
        .send()
        .await
        .unwrap()
        .channel()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    ivs.get_channel().arn(&arn).send().await.unwrap();
    ivs.tag_resource()
        .resource_arn(&arn)
        .tags("team", "video")
        .send()
        .await
        .unwrap();
    ivs.list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    ivs.list_stream_keys()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap();
    let quota = ivs
        .create_stream_key()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(quota
        .into_service_error()
        .is_service_quota_exceeded_exception());
    ivs.delete_channel().arn(&arn).send().await.unwrap();
    let gone = ivs.get_channel().arn(&arn).send().await.unwrap_err();
    assert!(gone.into_service_error().is_resource_not_found_exception());
    let text = recording.finish().await;

    let cassette = ivs_vcr::Cassette::from_yaml(&text, "flow.yaml".as_ref()).unwrap();
    let recorded = shared::recorded("flow.yaml", cassette);
    assert_eq!(recorded[0].1.interactions.len(), 8);
    let verified = against_the_emulator(&recorded).await;
    assert!(verified.report.findings.is_empty(), "{}", verified.report);
}

/// Records a Chat flow from the emulator: a logging configuration and a room made first (`pre`),
/// then calls on them and on a room the flow makes and deletes. Returns the cassette's text.
async fn record_chat_flow() -> String {
    let recording = FromEmulator::start("chat").await;
    let chat = crate::chat::chat_client(&recording.uri());
    let logging = crate::support::create_s3_logging(&chat, Some("pre")).await;
    let logging = logging.arn().unwrap().to_owned();
    let old = chat
        .create_room()
        .name("pre")
        .logging_configuration_identifiers(&logging)
        .send()
        .await
        .unwrap();
    let old = old.arn().unwrap().to_owned();
    chat.get_room().identifier(&old).send().await.unwrap();
    chat.get_logging_configuration()
        .identifier(&logging)
        .send()
        .await
        .unwrap();
    chat.send_event()
        .room_identifier(&old)
        .event_name("app:hello")
        .send()
        .await
        .unwrap();
    let new = chat.create_room().name("new").send().await.unwrap();
    let new = new.arn().unwrap().to_owned();
    chat.update_room()
        .identifier(&new)
        .logging_configuration_identifiers(&logging)
        .send()
        .await
        .unwrap();
    chat.list_rooms()
        .logging_configuration_identifier(&logging)
        .send()
        .await
        .unwrap();
    chat.delete_room().identifier(&new).send().await.unwrap();
    chat.get_room().identifier(&new).send().await.unwrap_err();
    recording.finish().await
}

#[tokio::test]
async fn a_chat_recording_verifies_against_the_emulator_with_seeds_and_mapped_ids() {
    // Issue 24: verify knew only IVS's ARNs, so a Chat recording's account, the rooms and logging
    // configurations it used without making them, and its ids were lost on the emulator.
    let text = record_chat_flow().await;
    let mut cassette = ivs_vcr::Cassette::from_yaml(&text, "chat.yaml".as_ref()).unwrap();
    assert_eq!(cassette.interactions.len(), 10);
    // As if recorded in another account, with other ids, by a flow that found the first room and
    // logging configuration already there.
    let mut ids: Vec<String> = Vec::new();
    for interaction in &cassette.interactions[..2] {
        let body = interaction.response.body.as_ref().unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let new_room = cassette.interactions[5].response.body.as_ref().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ids.push(new_room);
    cassette.interactions.drain(..2);
    let mut yaml = cassette.to_yaml();
    for (n, id) in ids.iter().enumerate() {
        yaml = yaml.replace(id.as_str(), &format!("RECORDEDid{n:02}"));
    }
    let yaml = yaml.replace("123456789012", "210987654321");
    assert!(yaml.contains("arn:aws:ivschat:us-west-2:210987654321:room/RECORDEDid01"));
    let cassette = ivs_vcr::Cassette::from_yaml(&yaml, "chat.yaml".as_ref()).unwrap();
    let recorded = shared::recorded("chat.yaml", cassette);

    let verified = against_the_emulator(&recorded).await;
    assert!(verified.report.findings.is_empty(), "{}", verified.report);
    assert_eq!(verified.n_requests, 8);

    // Drift is reported per service: a room that the emulator says does not exist.
    let tampered = yaml.replacen("name: new", "name: renamed", 1);
    let cassette = ivs_vcr::Cassette::from_yaml(&tampered, "chat.yaml".as_ref()).unwrap();
    let tampered = shared::recorded("chat.yaml", cassette);
    let mut broken = tampered.clone();
    let last = broken[0].1.interactions.last_mut().unwrap();
    last.response.status = 200;
    last.response.headers.clear();
    last.response.body = Some(serde_json::json!({"arn": "x"}));
    let verified = against_the_emulator(&broken).await;
    let report = verified.report.to_string();
    assert!(report.contains("ivschat:GetRoom"), "{report}");
}

/// A Chat cassette from elsewhere: a room of the run's, then calls on rooms and a function it
/// did not make.
const HOSTILE_CHAT: &str = r#"format: 2
api_version: "2020-07-14"
ivs_vcr_version: 0.1.0
provenance: {kind: authored, source: test}
name: hostile-chat
interactions:
- request:
    service: ivschat
    method: POST
    path: /CreateRoom
    region: us-west-2
    body: {name: mine}
  response:
    status: 200
    body: {arn: "arn:aws:ivschat:us-west-2:123456789012:room/RECORDEDmine", id: RECORDEDmine, name: mine}
- request:
    service: ivschat
    method: POST
    path: /GetRoom
    region: us-west-2
    body: {identifier: "arn:aws:ivschat:us-west-2:123456789012:room/RECORDEDmine"}
  response:
    status: 200
    body: {arn: "arn:aws:ivschat:us-west-2:123456789012:room/RECORDEDmine", id: RECORDEDmine, name: mine}
- request:
    service: ivschat
    method: POST
    path: /CreateChatToken
    region: us-west-2
    body: {roomIdentifier: "arn:aws:ivschat:us-west-2:123456789012:room/RECORDEDmine", userId: u}
  response:
    status: 200
    body: {}
- request:
    service: ivschat
    method: POST
    path: /DeleteRoom
    region: us-west-2
    body: {identifier: "arn:aws:ivschat:us-west-2:123456789012:room/prodROOM0001"}
  response:
    status: 204
- request:
    service: ivschat
    method: POST
    path: /CreateRoom
    region: us-west-2
    body: {name: reviewed, messageReviewHandler: {uri: "arn:aws:lambda:us-west-2:123456789012:function:prod"}}
  response:
    status: 200
    body: {}
- request:
    service: ivschat
    method: POST
    path: /CreateChatToken
    region: us-west-2
    body: {roomIdentifier: prodROOM0001, userId: u}
  response:
    status: 200
    body: {}
"#;

#[tokio::test]
async fn against_aws_chat_requests_act_only_on_rooms_the_run_created() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostile-chat.yaml"), HOSTILE_CHAT).unwrap();
    let (_, stdout, stderr) = against_fake_aws(&fake, "hostile-chat.yaml", &[], dir.path()).await;
    let received = routes_received(&fake);
    assert_eq!(
        received,
        ["POST /CreateRoom", "POST /GetRoom", "POST /CreateChatToken"],
        "{stdout}\n{stderr}"
    );
    assert!(
        fake.signed_for().iter().all(|s| s == "ivschat"),
        "{:?}",
        fake.signed_for()
    );
    for line in [
        "skipped: hostile-chat #3 `POST /DeleteRoom`: names `arn:aws:ivschat:us-west-2:123456789012:room/prodROOM0001`, which this run did not create",
        "skipped: hostile-chat #4 `POST /CreateRoom`: names `arn:aws:lambda:us-west-2:123456789012:function:prod`, which this run did not create",
        "skipped: hostile-chat #5 `POST /CreateChatToken`: names `prodROOM0001`, which this run did not create",
        "played 3 request(s) from 1 cassette(s), skipped 3",
    ] {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
}
