//! IVS Chat beside IVS on one server (issue 24): the Chat API emulated and answered to
//! aws-sdk-ivschat, routing by signing name, path and tag ARN, record against the fake upstream
//! (re-signed as `ivschat`) and replay, old cassettes unchanged, and drift labelled by service.

use std::path::PathBuf;

use aws_sdk_ivschat::error::ProvideErrorMetadata as _;
use aws_sdk_ivschat::types::{ChatTokenCapability, FallbackResult, MessageReviewHandler};
use ivs_vcr::{Cassette, ReplayServer};

use crate::support::bin::IvsVcr;
use crate::support::fake_ivs::{FakeIvs, ACCOUNT};
use crate::support::{ivs_client, operator, raw, recorder};

const LAMBDA: &str = "arn:aws:lambda:us-west-2:123456789012:function:review";

/// A Chat client for `endpoint`, signing as a test user (as `ivschat`), without retries.
pub(crate) fn chat_client(endpoint: &str) -> aws_sdk_ivschat::Client {
    crate::support::chat_client(endpoint, "us-west-2")
}

#[tokio::test]
async fn the_chat_api_answers_the_official_client_as_chat_would() {
    let server = ReplayServer::emulator().await;
    let chat = chat_client(&server.uri());

    let logging = crate::support::create_s3_logging(&chat, Some("logs")).await;
    let logging_arn = logging.arn().unwrap().to_owned();
    assert!(
        logging_arn.starts_with("arn:aws:ivschat:us-west-2:123456789012:logging-configuration/"),
        "{logging_arn}"
    );
    assert_eq!(logging.state().unwrap().as_str(), "ACTIVE");

    let room = chat
        .create_room()
        .name("lobby")
        .logging_configuration_identifiers(&logging_arn)
        .message_review_handler(MessageReviewHandler::builder().uri(LAMBDA).build())
        .tags("team", "chat")
        .send()
        .await
        .unwrap();
    let arn = room.arn().unwrap().to_owned();
    let id = room.id().unwrap();
    assert_eq!(id.len(), 12);
    assert_eq!(
        arn,
        format!("arn:aws:ivschat:us-west-2:123456789012:room/{id}")
    );
    assert_eq!(room.maximum_message_length(), Some(500));
    assert_eq!(room.maximum_message_rate_per_second(), Some(10));
    assert_eq!(
        room.message_review_handler().unwrap().fallback_result(),
        Some(&FallbackResult::Allow)
    );
    assert!(room.create_time().is_some() && room.update_time().is_some());

    let got = chat.get_room().identifier(&arn).send().await.unwrap();
    assert_eq!(got.name(), Some("lobby"));
    assert_eq!(
        got.logging_configuration_identifiers(),
        std::slice::from_ref(&logging_arn)
    );
    let updated = chat
        .update_room()
        .identifier(&arn)
        .maximum_message_length(100)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.maximum_message_length(), Some(100));

    chat.create_room().name("other").send().await.unwrap();
    let by_name = chat.list_rooms().name("lobby").send().await.unwrap();
    assert_eq!(by_name.rooms().len(), 1);
    let by_handler = chat
        .list_rooms()
        .message_review_handler_uri(LAMBDA)
        .send()
        .await
        .unwrap();
    assert_eq!(by_handler.rooms()[0].arn(), Some(arn.as_str()));
    let by_logging = chat
        .list_rooms()
        .logging_configuration_identifier(&logging_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(by_logging.rooms().len(), 1);
    let all = chat.list_rooms().max_results(1).send().await.unwrap();
    assert_eq!(all.rooms().len(), 1);
    let rest = chat
        .list_rooms()
        .next_token(all.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.rooms().len(), 1);
    assert!(rest.next_token().is_none());

    let token = chat
        .create_chat_token()
        .room_identifier(&arn)
        .user_id("alice")
        .capabilities(ChatTokenCapability::SendMessage)
        .attributes("colour", "blue")
        .session_duration_in_minutes(30)
        .send()
        .await
        .unwrap();
    assert!(token.token().unwrap().starts_with("AQICAH"));
    let session = token.session_expiration_time().unwrap().secs();
    let expires = token.token_expiration_time().unwrap().secs();
    assert_eq!(session - expires, 29 * 60);

    let event = chat
        .send_event()
        .room_identifier(&arn)
        .event_name("poll")
        .attributes("question", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(event.id().unwrap().len(), 12);
    chat.delete_message()
        .room_identifier(&arn)
        .id("abcdEFGH1234")
        .reason("spam")
        .send()
        .await
        .unwrap();
    chat.disconnect_user()
        .room_identifier(&arn)
        .user_id("alice")
        .send()
        .await
        .unwrap();

    chat.tag_resource()
        .resource_arn(&arn)
        .tags("env", "test")
        .send()
        .await
        .unwrap();
    chat.untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = chat
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags().get("env").map(String::as_str), Some("test"));

    chat.delete_room().identifier(&arn).send().await.unwrap();
    let err = chat.get_room().identifier(&arn).send().await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    let err = chat
        .send_event()
        .room_identifier(&arn)
        .event_name("late")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    let err = chat
        .create_room()
        .maximum_message_length(501)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    chat.delete_logging_configuration()
        .identifier(&logging_arn)
        .send()
        .await
        .unwrap();
    let left = chat.list_logging_configurations().send().await.unwrap();
    assert!(left.logging_configurations().is_empty());
}

#[tokio::test]
async fn ivs_and_chat_share_one_port_and_keep_their_resources_apart() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let chat = chat_client(&server.uri());
    let channel = crate::support::new_channel(&ivs).await;
    let room = chat.create_room().send().await.unwrap();
    let room_arn = room.arn().unwrap();

    assert_eq!(
        ivs.list_channels().send().await.unwrap().channels().len(),
        1
    );
    assert_eq!(chat.list_rooms().send().await.unwrap().rooms().len(), 1);
    // Tags go through each service's own routes, which share one path.
    ivs.tag_resource()
        .resource_arn(&channel)
        .tags("k", "channel")
        .send()
        .await
        .unwrap();
    chat.tag_resource()
        .resource_arn(room_arn)
        .tags("k", "room")
        .send()
        .await
        .unwrap();
    let channel_tags = ivs
        .list_tags_for_resource()
        .resource_arn(&channel)
        .send()
        .await
        .unwrap();
    assert_eq!(channel_tags.tags()["k"], "channel");
    let room_tags = chat
        .list_tags_for_resource()
        .resource_arn(room_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(room_tags.tags()["k"], "room");
    // A room is no channel.
    let err = ivs.get_channel().arn(room_arn).send().await.unwrap_err();
    assert_eq!(
        aws_sdk_ivs::error::ProvideErrorMetadata::code(&err),
        Some("ValidationException")
    );
}

#[tokio::test]
async fn an_unknown_operation_signed_for_chat_is_answered_naming_chat() {
    let server = ReplayServer::emulator().await;
    let addr = server.addr();
    let body = "{}";
    let request = format!(
        "POST /CreateChannel HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-west-2/ivschat/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let res = raw::exchange(addr, request.as_bytes()).await;
    assert_eq!(res.status, 404, "{res:?}");
    assert_eq!(
        res.header("x-amzn-ErrorType"),
        Some("IvsVcrUnknownOperationException")
    );
    assert!(
        res.body
            .contains("`POST /CreateChannel` is not an IVS Chat operation; IVS Chat accepts `POST /<Operation>` for its 17 operations (such as `POST /GetRoom`)"),
        "{}",
        res.body
    );
    // Unsigned, the path alone routes: CreateRoom is Chat's.
    let res = raw::post(addr, "/CreateRoom", "{}").await;
    assert_eq!(res.status, 200, "{res:?}");
    assert!(res.body.contains("arn:aws:ivschat:"), "{}", res.body);
}

#[tokio::test]
async fn chat_is_recorded_through_its_own_host_and_signing_name_then_replayed() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri())
        .name("chat")
        .start()
        .await
        .unwrap();
    let chat = chat_client(&server.uri());
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let room = chat.create_room().name("lobby").send().await.unwrap();
    let arn = room.arn().unwrap().to_owned();
    assert_eq!(
        arn,
        format!("arn:aws:ivschat:us-west-2:{ACCOUNT}:room/room00000000")
    );
    chat.get_room().identifier(&arn).send().await.unwrap();
    let token = chat
        .create_chat_token()
        .room_identifier(&arn)
        .user_id("alice")
        .send()
        .await
        .unwrap();
    let token = token.token().unwrap().to_owned();
    ivs.create_channel().name("beside").send().await.unwrap();
    let summary = server.shutdown().await;
    assert_eq!(fake.n_bad_signatures(), 0, "{:?}", fake.received());
    assert_eq!(fake.signed_for(), ["ivschat", "ivschat", "ivschat", "ivs"]);
    assert_eq!(summary.n_recorded(), 4, "{summary}");

    let path = dir.path().join("chat.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("format: 2\n"), "{text}");
    assert_eq!(text.matches("service: ivschat").count(), 3, "{text}");
    assert!(
        !text.contains(&token),
        "the chat token is redacted:\n{text}"
    );
    assert!(
        !text.contains("alice"),
        "userId is sensitive in Chat's model:\n{text}"
    );

    let replay = ReplayServer::start(Cassette::load(&path).unwrap()).await;
    let chat = chat_client(&replay.uri());
    let again = chat.create_room().name("lobby").send().await.unwrap();
    assert_eq!(again.arn(), Some(arn.as_str()));
    let got = chat.get_room().identifier(&arn).send().await.unwrap();
    assert_eq!(got.name(), Some("lobby"));
    let replayed = chat
        .create_chat_token()
        .room_identifier(&arn)
        .user_id("alice")
        .send()
        .await
        .unwrap();
    // The recorded token is a placeholder in the file; replay hands back a value in its place.
    assert!(!replayed.token().unwrap().is_empty());
    assert_ne!(replayed.token(), Some(token.as_str()));
    let ivs = ivs_client(&replay.uri(), "us-west-2");
    ivs.create_channel().name("beside").send().await.unwrap();
    replay.verify();
}

#[tokio::test]
async fn the_same_path_of_two_services_matches_only_its_own_recording() {
    // A Chat recording of `CreateRoom` answers Chat's client; the same request signed as `ivs`
    // is IVS's, which has no such operation.
    let yaml = "format: 2\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: {kind: authored, source: test}\nname: t\ninteractions:\n  - request: {service: ivschat, method: POST, path: /CreateRoom, region: us-west-2, body: {}}\n    response: {status: 200, body: {arn: \"arn:aws:ivschat:us-west-2:123456789012:room/abcdEFGH1234\", id: abcdEFGH1234}}\n";
    let cassette = Cassette::from_yaml(yaml, std::path::Path::new("t.yaml")).unwrap();
    let replay = ReplayServer::start(cassette).await;
    let addr = replay.addr();
    let signed_as = |service: &str| {
        format!(
            "POST /CreateRoom HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-west-2/{service}/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        )
    };
    let chat = raw::exchange(addr, signed_as("ivschat").as_bytes()).await;
    assert_eq!(chat.status, 200, "{chat:?}");
    let ivs = raw::exchange(addr, signed_as("ivs").as_bytes()).await;
    assert_eq!(ivs.status, 404, "{ivs:?}");
    assert!(ivs.body.contains("is not an IVS operation"), "{}", ivs.body);
    let summary = replay.shutdown().await;
    assert_eq!(summary.n_unmatched, 1, "{summary}");
}

#[test]
fn cassettes_written_before_services_load_and_write_back_unchanged() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The recorder's golden file: written by the recorder, so it must write back byte for byte.
    let golden = root.join("tests/fixtures/golden/record-flow.yaml");
    let text = std::fs::read_to_string(&golden).unwrap();
    assert!(text.starts_with("format: 1\n"));
    let cassette = Cassette::from_yaml(&text, &golden).unwrap();
    assert_eq!(cassette.needed_format(), 1);
    assert_eq!(cassette.to_yaml(), text);
    // Every bundled IVS cassette: format 1, and still so when written; the Chat ones say
    // `format: 2`, which their `service: ivschat` needs.
    let (mut n_ivs, mut n_chat) = (0, 0);
    for entry in std::fs::read_dir(root.join("cassettes")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let cassette = Cassette::load(&path).unwrap();
        let written = cassette.to_yaml();
        let services: std::collections::BTreeSet<_> = cassette
            .interactions
            .iter()
            .map(|i| i.request.service)
            .collect();
        if services == [ivs_vcr::ivs::Service::Ivs].into() {
            assert_eq!(cassette.format, 1, "{}", path.display());
            assert!(written.starts_with("format: 1\n"), "{}", path.display());
            assert!(!written.contains("service:"), "{}", path.display());
            n_ivs += 1;
        } else {
            assert_eq!(services, [ivs_vcr::ivs::Service::IvsChat].into());
            assert_eq!(cassette.format, 2, "{}", path.display());
            assert_eq!(cassette.needed_format(), 2, "{}", path.display());
            assert!(written.starts_with("format: 2\n"), "{}", path.display());
            n_chat += 1;
        }
    }
    assert!(n_ivs > 10);
    assert_eq!(n_chat, 2);
}

#[test]
fn drift_in_chat_answers_is_reported_under_chat_s_operations() {
    let cassette = |room_extra: &str, tags_extra: &str| {
        let yaml = format!(
            "format: 2\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: {{kind: authored, source: test}}\nname: t\ninteractions:\n  - request: {{service: ivschat, method: POST, path: /GetRoom, region: us-west-2, body: {{identifier: \"arn:aws:ivschat:us-west-2:123456789012:room/abcdEFGH1234\"}}}}\n    response: {{status: 200, body: {{arn: x, name: lobby{room_extra}}}}}\n  - request: {{service: ivschat, method: GET, path: /tags/arn%3Aaws%3Aivschat%3Aus-west-2%3A123456789012%3Aroom%2FabcdEFGH1234, region: us-west-2}}\n    response: {{status: 200, body: {{tags: {{}}{tags_extra}}}}}\n  - request: {{method: GET, path: /tags/arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2FabcdEFGH1234, region: us-west-2}}\n    response: {{status: 200, body: {{tags: {{}}}}}}\n"
        );
        let cassette = Cassette::from_yaml(&yaml, std::path::Path::new("t.yaml")).unwrap();
        vec![(PathBuf::from("t.yaml"), cassette)]
    };
    let old = cassette("", "");
    let new = cassette(", topic: news", ", extra: 1");
    let report = ivs_vcr::diff::diff(&old, &new);
    let found: Vec<(String, Option<String>)> = report
        .findings
        .iter()
        .map(|f| (f.operation.clone(), f.path.clone()))
        .collect();
    assert_eq!(
        found,
        [
            ("ivschat:GetRoom".to_owned(), Some("topic".to_owned())),
            (
                "ivschat:ListTagsForResource".to_owned(),
                Some("extra".to_owned())
            ),
        ],
        "{report}"
    );
}

#[test]
fn the_startup_lines_name_every_service_s_endpoint_variable() {
    let dir = tempfile::tempdir().unwrap();
    let server = IvsVcr::start(&["replay", "--port", "0"], dir.path());
    let uri = server.uri().unwrap();
    let finished = server.stop();
    assert!(
        finished.stdout.contains(&format!(
            "point clients at it with: export AWS_ENDPOINT_URL_IVS={uri} AWS_ENDPOINT_URL_IVSCHAT={uri} AWS_ENDPOINT_URL_IVS_REALTIME={uri}"
        )),
        "{}",
        finished.stdout
    );
}

#[tokio::test]
async fn fault_rules_name_chat_operations_and_errors() {
    // Issue 24: a rule could name only IVS operations and errors.
    let server = ReplayServer::emulator().await;
    let chat = chat_client(&server.uri());
    let rule =
        r#"{"operation": "CreateRoom", "error": "ServiceQuotaExceededException", "times": 1}"#;
    let added = raw::post(server.addr(), "/_ivs-vcr/faults", rule).await;
    assert_eq!(added.status, 201, "{}", added.body);
    let err = chat
        .create_room()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_service_quota_exceeded_exception(), "{err:?}");
    chat.create_room().send().await.unwrap();

    // The tag operations are every service's: `service` picks Chat's alone.
    let rule = r#"{"service": "ivschat", "operation": "ListTagsForResource", "status": 500}"#;
    let added = raw::post(server.addr(), "/_ivs-vcr/faults", rule).await;
    assert_eq!(added.status, 201, "{}", added.body);
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let channel = ivs.create_channel().send().await.unwrap();
    let channel_arn = channel.channel().unwrap().arn().unwrap();
    ivs.list_tags_for_resource()
        .resource_arn(channel_arn)
        .send()
        .await
        .unwrap();
    let room = chat.create_room().send().await.unwrap();
    let err = chat
        .list_tags_for_resource()
        .resource_arn(room.arn().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 500);

    // An IVS-only error on a Chat operation is refused, naming Chat's errors.
    let rule = r#"{"operation": "GetRoom", "error": "ChannelNotBroadcasting"}"#;
    let refused = raw::post(server.addr(), "/_ivs-vcr/faults", rule).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("`ChannelNotBroadcasting` is not an IVS Chat error"),
        "{}",
        refused.body
    );
}

#[test]
fn the_fault_flag_names_chat_operations() {
    let dir = tempfile::tempdir().unwrap();
    let server = IvsVcr::start(
        &[
            "replay",
            "--port",
            "0",
            "--fault",
            "service=ivschat,operation=DeleteRoom,error=ThrottlingException",
        ],
        dir.path(),
    );
    let addr = server.addr();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let res = runtime.block_on(raw::post(
        addr,
        "/DeleteRoom",
        r#"{"identifier": "arn:aws:ivschat:us-west-2:123456789012:room/abcdABCDefgh"}"#,
    ));
    assert_eq!(res.status, 429, "{res:?}");
    assert_eq!(res.header("x-amzn-ErrorType"), Some("ThrottlingException"));
    server.stop();

    let refused = crate::support::bin::run(
        &[
            "replay",
            "--port",
            "0",
            "--fault",
            "operation=CreateRom,status=500",
        ],
        dir.path(),
    );
    assert_eq!(refused.status.code(), Some(2), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("operation: `CreateRom` is not an IVS family operation"),
        "{}",
        refused.stderr
    );
}

#[tokio::test]
async fn the_state_view_lists_rooms_and_logging_configurations_per_region_and_reset_clears_them() {
    // Issue 24: `/_ivs-vcr/state` listed IVS's resources only.
    let server = ReplayServer::emulator().await;
    let chat = chat_client(&server.uri());
    let logging = crate::support::create_s3_logging(&chat, None).await;
    let room = chat
        .create_room()
        .name("lobby")
        .logging_configuration_identifiers(logging.arn().unwrap())
        .send()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "us-east-1");
    let channel = ivs.create_channel().send().await.unwrap();

    let state = raw::call(server.addr(), "GET", "/_ivs-vcr/state").await;
    assert_eq!(state.status, 200, "{}", state.body);
    let state: serde_json::Value = serde_json::from_str(&state.body).unwrap();
    let west = &state["regions"]["us-west-2"];
    assert_eq!(west["room"][0]["arn"], room.arn().unwrap());
    assert_eq!(west["room"][0]["name"], "lobby");
    assert_eq!(
        west["room"][0]["loggingConfigurationIdentifiers"][0],
        logging.arn().unwrap()
    );
    assert_eq!(
        west["logging-configuration"][0]["arn"],
        logging.arn().unwrap()
    );
    assert!(west.get("channel").is_none(), "{west}");
    let east = &state["regions"]["us-east-1"];
    assert_eq!(
        east["channel"][0]["arn"],
        channel.channel().unwrap().arn().unwrap()
    );
    assert!(east.get("room").is_none(), "{east}");

    let reset = raw::post(server.addr(), "/_ivs-vcr/reset", "{}").await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let state = raw::call(server.addr(), "GET", "/_ivs-vcr/state").await;
    let state: serde_json::Value = serde_json::from_str(&state.body).unwrap();
    assert_eq!(state["regions"], serde_json::json!({}));
    let err = chat
        .get_room()
        .identifier(room.arn().unwrap())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert!(chat
        .list_logging_configurations()
        .send()
        .await
        .unwrap()
        .logging_configurations()
        .is_empty());
}

/// A Chat story as a recording holds it: a logging configuration and a room made, the room later
/// deleted. Only these calls are recorded; everything else the test sends is emulated.
const CHAT_RECORDING: &str = r#"format: 2
api_version: "2020-07-14"
ivs_vcr_version: 0.1.0
provenance: {kind: authored, source: test}
name: chat-recording
interactions:
  - request:
      service: ivschat
      method: POST
      path: /CreateLoggingConfiguration
      region: us-west-2
      body: {destinationConfiguration: {s3: {bucketName: chat-logs}}}
    response:
      status: 200
      headers: {Content-Type: application/json}
      body:
        arn: arn:aws:ivschat:us-west-2:123456789012:logging-configuration/LgRec0000001
        id: LgRec0000001
        createTime: "2024-05-01T10:00:00.000Z"
        updateTime: "2024-05-01T10:00:00.000Z"
        name: ""
        destinationConfiguration: {s3: {bucketName: chat-logs}}
        state: ACTIVE
        tags: {}
  - request:
      service: ivschat
      method: POST
      path: /CreateRoom
      region: us-west-2
      body:
        name: lobby
        loggingConfigurationIdentifiers:
          - arn:aws:ivschat:us-west-2:123456789012:logging-configuration/LgRec0000001
    response:
      status: 200
      headers: {Content-Type: application/json}
      body:
        arn: arn:aws:ivschat:us-west-2:123456789012:room/RmRec0000001
        id: RmRec0000001
        name: lobby
        createTime: "2024-05-01T10:00:01.000Z"
        updateTime: "2024-05-01T10:00:01.000Z"
        maximumMessageLength: 500
        maximumMessageRatePerSecond: 10
        tags: {}
        loggingConfigurationIdentifiers:
          - arn:aws:ivschat:us-west-2:123456789012:logging-configuration/LgRec0000001
  - request:
      service: ivschat
      method: POST
      path: /DeleteRoom
      region: us-west-2
      body: {identifier: "arn:aws:ivschat:us-west-2:123456789012:room/RmRec0000001"}
    response:
      status: 204
      headers: {}
"#;

#[tokio::test]
async fn replayed_chat_answers_feed_the_emulator_for_what_the_recording_lacks() {
    // Issue 24: only IVS's replayed answers reached the emulator, so with `--on-miss emulate` a
    // recorded room was unknown to every emulated call.
    const ROOM: &str = "arn:aws:ivschat:us-west-2:123456789012:room/RmRec0000001";
    const LOGGING: &str =
        "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/LgRec0000001";
    let cassette = Cassette::from_yaml(CHAT_RECORDING, "chat-recording.yaml".as_ref()).unwrap();
    let server = ReplayServer::builder()
        .cassette(cassette)
        .on_miss(ivs_vcr::OnMiss::Emulate)
        .start()
        .await
        .unwrap();
    let chat = chat_client(&server.uri());
    let logging = crate::support::create_s3_logging(&chat, None).await;
    assert_eq!(logging.arn(), Some(LOGGING));
    let room = chat
        .create_room()
        .name("lobby")
        .logging_configuration_identifiers(LOGGING)
        .send()
        .await
        .unwrap();
    assert_eq!(room.arn(), Some(ROOM));

    // Never recorded: each is emulated on what the replayed answers made known.
    let got = chat.get_room().identifier(ROOM).send().await.unwrap();
    assert_eq!(got.name(), Some("lobby"));
    assert_eq!(got.logging_configuration_identifiers(), [LOGGING]);
    let got = chat
        .get_logging_configuration()
        .identifier(LOGGING)
        .send()
        .await
        .unwrap();
    assert_eq!(got.state().map(|s| s.as_str()), Some("ACTIVE"));
    let updated = chat
        .update_room()
        .identifier(ROOM)
        .maximum_message_length(200)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.maximum_message_length(), Some(200));
    assert_eq!(updated.name(), Some("lobby"));
    chat.create_chat_token()
        .room_identifier(ROOM)
        .user_id("alice")
        .send()
        .await
        .unwrap();
    let listed = chat
        .list_rooms()
        .logging_configuration_identifier(LOGGING)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.rooms().len(), 1);

    // A replayed DeleteRoom removes the room the emulator knew.
    chat.delete_room().identifier(ROOM).send().await.unwrap();
    let err = chat
        .get_room()
        .identifier(ROOM)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");

    let summary = server.summary();
    assert_eq!(summary.operations["CreateRoom"].matched, 1);
    assert_eq!(summary.operations["DeleteRoom"].matched, 1);
    assert_eq!(summary.operations["GetRoom"].emulated, 2);
    assert_eq!(summary.n_unmatched, 0);
}
