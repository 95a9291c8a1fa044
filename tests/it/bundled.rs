//! The bundled cassettes (cassettes/): every interaction through aws-sdk-ivs or aws-sdk-ivschat,
//! every interaction checked against its service's AWS model, and the files identical to what the
//! binary serves.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::support::bin::IvsVcr;
use crate::support::model::{self, Side};
use crate::support::{chat_client, ivs_client, raw};
use aws_sdk_ivs::operation::get_channel::GetChannelError;
use aws_sdk_ivs::types::{
    BatchStartViewerSessionRevocationViewerSession, DestinationConfiguration,
    MediaTailorPlaybackConfiguration, S3DestinationConfiguration,
};
use ivs_vcr::__private::bundled;
use ivs_vcr::ivs::{self, ErrorType, Location, Operation, Route, Service, ShapeId};
use ivs_vcr::{Interaction, MatchLevel, ReplayServer};
use serde_json::{json, Value};

/// The region the bundled cassettes are authored in.
const REGION: &str = bundled::BUNDLED_REGION;

// Inputs for the SDK calls. Operation-level matching answers any well-formed request, so these only
// need to be valid, not to match a recording.
const CHANNEL_ARN: &str = "arn:aws:ivs:us-west-2:123456789012:channel/sdkCALL00001";
const STREAM_KEY_ARN: &str = "arn:aws:ivs:us-west-2:123456789012:stream-key/sdkCALL00002";
const KEY_PAIR_ARN: &str = "arn:aws:ivs:us-west-2:123456789012:playback-key/sdkCALL00003";
const POLICY_ARN: &str =
    "arn:aws:ivs:us-west-2:123456789012:playback-restriction-policy/sdkCALL00004";
const RECORDING_ARN: &str =
    "arn:aws:ivs:us-west-2:123456789012:recording-configuration/sdkCALL00005";
const AD_CONFIGURATION_ARN: &str =
    "arn:aws:ivs:us-west-2:123456789012:ad-configuration/sdkCALL00006";
const SLATE_ARN: &str =
    "arn:aws:ivs:us-west-2:123456789012:failover-slate-configuration/sdkCALL00007";
const MEDIATAILOR_ARN: &str =
    "arn:aws:mediatailor:us-west-2:123456789012:playbackConfiguration/sdk-call";
const ROOM_ARN: &str = "arn:aws:ivschat:us-west-2:123456789012:room/sdkCALL00008";
const LOGGING_ARN: &str =
    "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/sdkCALL00009";
const PUBLIC_KEY: &str =
    "-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE\n-----END PUBLIC KEY-----";

// ---------------------------------------------------------------------------------------------
// 1. Every interaction through the real SDK
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_bundled_interaction_deserializes_in_the_sdk_and_errors_are_typed() {
    let bundled = bundled::cassettes().expect("the bundled cassettes load");
    // One single-interaction cassette per bundled interaction: `/cassette/i-<n>` then answers any
    // request of its operation with exactly that interaction.
    let mut cases = Vec::new();
    let mut singles = Vec::new();
    for cassette in &bundled {
        for (idx, interaction) in cassette.interactions.iter().enumerate() {
            let name = format!("i-{}", singles.len());
            let mut single = cassette.clone();
            single.name = name.clone();
            single.interactions = vec![interaction.clone()];
            singles.push(single);
            cases.push((name, format!("{} #{idx}", cassette.name), interaction));
        }
    }
    let server = ReplayServer::builder()
        .cassettes(singles)
        .match_level(MatchLevel::Operation)
        .fail_on_unused(true)
        .start()
        .await
        .unwrap();

    let mut failures = Vec::new();
    let mut exercised = BTreeSet::new();
    for (name, label, interaction) in cases {
        let request = &interaction.request;
        let Some(operation) = operation_of(request).map(|op| op.name) else {
            failures.push(format!(
                "{label}: {} {} is no operation of the model",
                request.method, request.path
            ));
            continue;
        };
        exercised.insert(format!("{}:{operation}", request.service.id()));
        let endpoint = format!("{}/cassette/{name}", server.uri());
        let got = match request.service {
            Service::IvsChat => call_chat(&chat_client(&endpoint, REGION), operation).await,
            _ => call(&ivs_client(&endpoint, REGION), operation).await,
        };
        let status = interaction.response.status;
        match (error_type(interaction), got) {
            (None, Ok(_)) if (200..300).contains(&status) => {}
            (None, got) if (200..300).contains(&status) => failures.push(format!(
                "{label} ({operation}): a {status} answer should reach the SDK as success, got {got:?}"
            )),
            (None, got) => failures.push(format!(
                "{label} ({operation}): a {status} answer without x-amzn-ErrorType, got {got:?}"
            )),
            (Some(error), Err(debug)) if debug.starts_with(&format!("{error}(")) => {}
            (Some(error), got) => failures.push(format!(
                "{label} ({operation}): a {status} {error} should reach the SDK as the typed variant \
                 `{error}(..)`, got {got:?}"
            )),
        }
    }
    let summary = server.shutdown().await;
    if !summary.is_clean(true) {
        failures.push(format!(
            "the replay server was not used cleanly:\n{summary}"
        ));
    }
    assert!(
        failures.is_empty(),
        "{} interaction(s) failed through aws-sdk-ivs or aws-sdk-ivschat:\n{}",
        failures.len(),
        failures.join("\n")
    );

    let expected: BTreeSet<String> = BUNDLED_SERVICES
        .into_iter()
        .flat_map(|service| service.catalog().operations)
        .map(|op| format!("{}:{}", op.service.id(), op.name))
        .collect();
    assert_eq!(
        exercised, expected,
        "\nexpected (every IVS and IVS Chat operation):\n{expected:?}\ngot (operations exercised):\n{exercised:?}"
    );
}

#[tokio::test]
async fn bundled_story_requests_get_their_exact_answers_and_others_get_one_by_operation() {
    let bundled = bundled::cassettes().expect("the bundled cassettes load");
    let story = bundled
        .iter()
        .find(|c| c.name == "01-channel-lifecycle")
        .expect("the channel lifecycle story is bundled");
    let deleted_arn = story
        .interactions
        .iter()
        .find(|it| it.request.path == "/DeleteChannel")
        .and_then(|it| it.request.body.as_ref()?["arn"].as_str())
        .expect("the story deletes a channel")
        .to_owned();
    let recorded: Vec<&Interaction> = story
        .interactions
        .iter()
        .filter(|it| {
            it.request.path == "/GetChannel"
                && it.request.body.as_ref().and_then(|b| b["arn"].as_str())
                    == Some(deleted_arn.as_str())
        })
        .collect();
    let [before, after] = recorded[..] else {
        panic!("the story gets the deleted channel twice, got {recorded:?}");
    };
    assert_eq!(before.response.status, 200);
    assert_eq!(after.response.status, 404);

    let server = ReplayServer::builder()
        .cassettes(bundled.clone())
        .match_level(MatchLevel::Operation)
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), REGION);

    let got = ivs.get_channel().arn(&deleted_arn).send().await.unwrap();
    let channel = got.channel().expect("GetChannel answers a channel");
    assert_eq!(channel.arn(), Some(deleted_arn.as_str()));
    assert_eq!(
        channel.name(),
        response_field(before, &["channel", "name"]).as_str()
    );

    let err = ivs
        .get_channel()
        .arn(&deleted_arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let GetChannelError::ResourceNotFoundException(not_found) = err else {
        panic!("expected ResourceNotFoundException, got {err:?}");
    };
    assert_eq!(
        not_found.exception_message(),
        response_field(after, &["exceptionMessage"]).as_str()
    );

    // Any other channel gets a success of the operation, marked as such.
    let other_arn = "arn:aws:ivs:us-west-2:123456789012:channel/anyOTHER9876";
    let got = ivs.get_channel().arn(other_arn).send().await.unwrap();
    assert!(got.channel().and_then(|c| c.arn()).is_some(), "{got:?}");
    let raw = raw::post(
        server.addr(),
        "/GetChannel",
        &json!({ "arn": other_arn }).to_string(),
    )
    .await;
    assert_eq!(raw.status, 200, "{raw:?}");
    assert_eq!(raw.header("x-ivs-vcr-match"), Some("operation"), "{raw:?}");
    let body: Value = serde_json::from_str(&raw.body).unwrap();
    assert!(body["channel"]["arn"].is_string(), "{raw:?}");
    server.shutdown().await;
}

/// The services the bundled cassettes cover, every operation of each. Real-Time's catalog is
/// generated, but ivs-vcr does not emulate it yet, so nothing of it is bundled.
const BUNDLED_SERVICES: [Service; 2] = [Service::Ivs, Service::IvsChat];

/// Calls Chat's `operation` with a minimal valid input: `Ok(output Debug)` or
/// `Err(service error Debug)`.
async fn call_chat(chat: &aws_sdk_ivschat::Client, operation: &str) -> Result<String, String> {
    use aws_sdk_ivschat::types::{DestinationConfiguration, S3DestinationConfiguration};
    macro_rules! send {
        ($request:expr) => {
            match $request.send().await {
                Ok(out) => Ok(format!("{out:?}")),
                Err(err) => Err(format!("{:?}", err.into_service_error())),
            }
        };
    }
    let destination = || {
        DestinationConfiguration::S3(
            S3DestinationConfiguration::builder()
                .bucket_name("chat-logs")
                .build()
                .expect("bucket name is set"),
        )
    };
    match operation {
        "CreateChatToken" => send!(chat
            .create_chat_token()
            .room_identifier(ROOM_ARN)
            .user_id("viewer-1")),
        "CreateLoggingConfiguration" => send!(chat
            .create_logging_configuration()
            .destination_configuration(destination())),
        "CreateRoom" => send!(chat.create_room()),
        "DeleteLoggingConfiguration" => {
            send!(chat.delete_logging_configuration().identifier(LOGGING_ARN))
        }
        "DeleteMessage" => send!(chat
            .delete_message()
            .room_identifier(ROOM_ARN)
            .id("abcdEFGH1234")),
        "DeleteRoom" => send!(chat.delete_room().identifier(ROOM_ARN)),
        "DisconnectUser" => send!(chat
            .disconnect_user()
            .room_identifier(ROOM_ARN)
            .user_id("viewer-1")),
        "GetLoggingConfiguration" => {
            send!(chat.get_logging_configuration().identifier(LOGGING_ARN))
        }
        "GetRoom" => send!(chat.get_room().identifier(ROOM_ARN)),
        "ListLoggingConfigurations" => send!(chat.list_logging_configurations()),
        "ListRooms" => send!(chat.list_rooms()),
        "ListTagsForResource" => send!(chat.list_tags_for_resource().resource_arn(ROOM_ARN)),
        "SendEvent" => send!(chat
            .send_event()
            .room_identifier(ROOM_ARN)
            .event_name("app:hello")),
        "TagResource" => send!(chat
            .tag_resource()
            .resource_arn(ROOM_ARN)
            .tags("team", "chat")),
        "UntagResource" => send!(chat
            .untag_resource()
            .resource_arn(ROOM_ARN)
            .tag_keys("team")),
        "UpdateLoggingConfiguration" => {
            send!(chat.update_logging_configuration().identifier(LOGGING_ARN))
        }
        "UpdateRoom" => send!(chat.update_room().identifier(ROOM_ARN)),
        other => Err(format!("this test has no SDK call for IVS Chat's {other}")),
    }
}

/// Calls `operation` with a minimal valid input: `Ok(output Debug)` or `Err(service error Debug)`.
async fn call(ivs: &aws_sdk_ivs::Client, operation: &str) -> Result<String, String> {
    macro_rules! send {
        ($request:expr) => {
            match $request.send().await {
                Ok(out) => Ok(format!("{out:?}")),
                Err(err) => Err(format!("{:?}", err.into_service_error())),
            }
        };
    }
    let viewer_session = || {
        BatchStartViewerSessionRevocationViewerSession::builder()
            .channel_arn(CHANNEL_ARN)
            .viewer_id("viewer-1")
            .build()
            .expect("channel ARN and viewer id are set")
    };
    let destination = || {
        DestinationConfiguration::builder()
            .s3(S3DestinationConfiguration::builder()
                .bucket_name("my-recordings")
                .build()
                .expect("bucket name is set"))
            .build()
    };
    let mediatailor = || {
        MediaTailorPlaybackConfiguration::builder()
            .playback_configuration_arn(MEDIATAILOR_ARN)
            .build()
    };
    match operation {
        "BatchGetChannel" => send!(ivs.batch_get_channel().arns(CHANNEL_ARN)),
        "BatchGetStreamKey" => send!(ivs.batch_get_stream_key().arns(STREAM_KEY_ARN)),
        "BatchStartViewerSessionRevocation" => send!(ivs
            .batch_start_viewer_session_revocation()
            .viewer_sessions(viewer_session())),
        "CreateAdConfiguration" => send!(ivs
            .create_ad_configuration()
            .media_tailor_playback_configurations(mediatailor())),
        "CreateChannel" => send!(ivs.create_channel().name("sdk-call")),
        "CreateFailoverSlateConfiguration" => send!(ivs.create_failover_slate_configuration()),
        "CreatePlaybackRestrictionPolicy" => send!(ivs.create_playback_restriction_policy()),
        "CreateRecordingConfiguration" => send!(ivs
            .create_recording_configuration()
            .destination_configuration(destination())),
        "CreateStreamKey" => send!(ivs.create_stream_key().channel_arn(CHANNEL_ARN)),
        "DeleteAdConfiguration" => send!(ivs.delete_ad_configuration().arn(AD_CONFIGURATION_ARN)),
        "DeleteChannel" => send!(ivs.delete_channel().arn(CHANNEL_ARN)),
        "DeleteFailoverSlateConfiguration" => {
            send!(ivs.delete_failover_slate_configuration().arn(SLATE_ARN))
        }
        "DeletePlaybackKeyPair" => send!(ivs.delete_playback_key_pair().arn(KEY_PAIR_ARN)),
        "DeletePlaybackRestrictionPolicy" => {
            send!(ivs.delete_playback_restriction_policy().arn(POLICY_ARN))
        }
        "DeleteRecordingConfiguration" => {
            send!(ivs.delete_recording_configuration().arn(RECORDING_ARN))
        }
        "DeleteStreamKey" => send!(ivs.delete_stream_key().arn(STREAM_KEY_ARN)),
        "GetAdConfiguration" => send!(ivs.get_ad_configuration().arn(AD_CONFIGURATION_ARN)),
        "GetChannel" => send!(ivs.get_channel().arn(CHANNEL_ARN)),
        "GetFailoverSlateConfiguration" => {
            send!(ivs.get_failover_slate_configuration().arn(SLATE_ARN))
        }
        "GetPlaybackKeyPair" => send!(ivs.get_playback_key_pair().arn(KEY_PAIR_ARN)),
        "GetPlaybackRestrictionPolicy" => {
            send!(ivs.get_playback_restriction_policy().arn(POLICY_ARN))
        }
        "GetRecordingConfiguration" => send!(ivs.get_recording_configuration().arn(RECORDING_ARN)),
        "GetStream" => send!(ivs.get_stream().channel_arn(CHANNEL_ARN)),
        "GetStreamKey" => send!(ivs.get_stream_key().arn(STREAM_KEY_ARN)),
        "GetStreamSession" => send!(ivs.get_stream_session().channel_arn(CHANNEL_ARN)),
        "ImportPlaybackKeyPair" => send!(ivs
            .import_playback_key_pair()
            .public_key_material(PUBLIC_KEY)),
        "InsertAdBreak" => send!(ivs
            .insert_ad_break()
            .channel_arn(CHANNEL_ARN)
            .duration_seconds(30)),
        "ListAdConfigurations" => send!(ivs.list_ad_configurations()),
        "ListChannels" => send!(ivs.list_channels()),
        "ListFailoverSlateConfigurations" => send!(ivs.list_failover_slate_configurations()),
        "ListPlaybackKeyPairs" => send!(ivs.list_playback_key_pairs()),
        "ListPlaybackRestrictionPolicies" => send!(ivs.list_playback_restriction_policies()),
        "ListRecordingConfigurations" => send!(ivs.list_recording_configurations()),
        "ListStreamKeys" => send!(ivs.list_stream_keys().channel_arn(CHANNEL_ARN)),
        "ListStreamSessions" => send!(ivs.list_stream_sessions().channel_arn(CHANNEL_ARN)),
        "ListStreams" => send!(ivs.list_streams()),
        "ListTagsForResource" => send!(ivs.list_tags_for_resource().resource_arn(CHANNEL_ARN)),
        "PutMetadata" => send!(ivs
            .put_metadata()
            .channel_arn(CHANNEL_ARN)
            .metadata("{\"question\":1}")),
        "StartViewerSessionRevocation" => send!(ivs
            .start_viewer_session_revocation()
            .channel_arn(CHANNEL_ARN)
            .viewer_id("viewer-1")),
        "StopStream" => send!(ivs.stop_stream().channel_arn(CHANNEL_ARN)),
        "TagResource" => send!(ivs
            .tag_resource()
            .resource_arn(CHANNEL_ARN)
            .tags("team", "video")),
        "UntagResource" => send!(ivs
            .untag_resource()
            .resource_arn(CHANNEL_ARN)
            .tag_keys("team")),
        "UpdateAdConfiguration" => send!(ivs.update_ad_configuration().arn(AD_CONFIGURATION_ARN)),
        "UpdateChannel" => send!(ivs.update_channel().arn(CHANNEL_ARN)),
        "UpdateFailoverSlateConfiguration" => {
            send!(ivs.update_failover_slate_configuration().arn(SLATE_ARN))
        }
        "UpdatePlaybackRestrictionPolicy" => {
            send!(ivs.update_playback_restriction_policy().arn(POLICY_ARN))
        }
        other => Err(format!("this test has no SDK call for {other}")),
    }
}

/// The error named by the response's `x-amzn-ErrorType` header (anything after `:` dropped).
fn error_type(interaction: &Interaction) -> Option<&str> {
    interaction
        .response
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-amzn-ErrorType"))
        .map(|(_, value)| value.split(':').next().unwrap_or(value).trim())
}

/// A field of a recorded response body, `Null` when absent.
fn response_field<'a>(interaction: &'a Interaction, path: &[&str]) -> &'a Value {
    path.iter().fold(
        interaction.response.body.as_ref().unwrap_or(&Value::Null),
        |value, key| &value[*key],
    )
}

// ---------------------------------------------------------------------------------------------
// 2. Checked against AWS's model
// ---------------------------------------------------------------------------------------------

#[test]
fn every_bundled_interaction_follows_the_current_aws_model() {
    let mut violations = Vec::new();
    for cassette in bundled::cassettes().expect("the bundled cassettes load") {
        for (idx, interaction) in cassette.interactions.iter().enumerate() {
            for violation in interaction_violations(interaction) {
                violations.push(format!("{} #{idx}: {violation}", cassette.name));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "{} violation(s) of the model:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

#[test]
fn every_operation_has_a_bundled_success_and_every_modeled_error() {
    let mut seen: BTreeMap<(Service, &str), BTreeSet<String>> = BTreeMap::new();
    for cassette in bundled::cassettes().expect("the bundled cassettes load") {
        for interaction in &cassette.interactions {
            let request = &interaction.request;
            if let Some(operation) = operation_of(request) {
                let outcome = match error_type(interaction) {
                    _ if (200..300).contains(&interaction.response.status) => "success",
                    Some(error) => error,
                    None => "an error without x-amzn-ErrorType",
                };
                seen.entry((operation.service, operation.name))
                    .or_default()
                    .insert(outcome.to_owned());
            }
        }
    }
    let mut missing = Vec::new();
    let operations = BUNDLED_SERVICES
        .into_iter()
        .flat_map(|service| service.catalog().operations);
    for operation in operations {
        let outcomes = seen
            .get(&(operation.service, operation.name))
            .cloned()
            .unwrap_or_default();
        let wanted = std::iter::once("success").chain(operation.errors.iter().map(|e| e.name()));
        for outcome in wanted {
            if !outcomes.contains(outcome) {
                missing.push(format!(
                    "{} {}: {outcome}",
                    operation.service, operation.name
                ));
            }
        }
    }
    assert!(missing.is_empty(), "not bundled:\n{}", missing.join("\n"));
}

#[test]
fn model_checker_reports_unknown_fields_wrong_types_missing_members_and_bad_values() {
    let body = json!({
        "recordingConfiguration": {
            "arn": "arn:aws:ivs:us-west-2:123456789012:recording-configuration/abcdEFGH1234",
            "state": "READY",
            "colour": "red",
            "recordingReconnectWindowSeconds": "60",
            "tags": { "team": 7 },
            "thumbnailConfiguration": { "targetIntervalSeconds": 1.5, "storage": "SEQUENTIAL" }
        }
    });
    // Order follows the JSON object's, which is not part of the contract: compare sorted.
    let shape = ShapeId::by_name("GetRecordingConfigurationResponse").unwrap();
    let mut got = model::check(shape, &body, Side::Response);
    got.sort();
    let mut expected = [
        "recordingConfiguration.state: \"READY\" is not one of RecordingConfigurationState [\"CREATING\", \"CREATE_FAILED\", \"ACTIVE\"]",
        "recordingConfiguration.colour: not a member of RecordingConfiguration",
        "recordingConfiguration.recordingReconnectWindowSeconds: expected integer (RecordingReconnectWindowSeconds), got \"60\"",
        "recordingConfiguration.tags.team: expected string (TagValue), got 7",
        "recordingConfiguration.thumbnailConfiguration.targetIntervalSeconds: expected long (TargetIntervalSeconds), got 1.5",
        "recordingConfiguration.thumbnailConfiguration.storage: expected list (ThumbnailConfigurationStorageList), got \"SEQUENTIAL\"",
        "recordingConfiguration: missing required member destinationConfiguration",
    ];
    expected.sort();
    assert_eq!(
        got,
        expected,
        "\nexpected:\n{}\ngot:\n{}",
        expected.join("\n"),
        got.join("\n")
    );
}

#[test]
fn model_checker_reports_wrong_statuses_unlisted_errors_and_bad_timestamps() {
    let interaction = |yaml: &str| -> Interaction {
        serde_yaml::from_str(yaml).expect("the test interaction parses")
    };
    let cases = [
        (
            // DeleteChannel answers 204, not 200, and has no output.
            r#"{ request: { method: POST, path: /DeleteChannel, region: us-west-2, body: { arn: x, force: true } },
                 response: { status: 200, body: {} } }"#,
            vec![
                "DeleteChannel: success status 200, the model says 204",
                "DeleteChannel: the operation has no output, but the answer has a body",
                "DeleteChannel: request body: force: not a member of DeleteChannelRequest",
                "DeleteChannel: request body, answered with success: arn: \"x\" does not match the pattern arn:aws:ivs:[a-z0-9-]+:[0-9]+:channel/[a-zA-Z0-9-]+",
            ],
        ),
        (
            // GetChannel never throws ServiceQuotaExceededException, and 404 is not its status.
            r#"{ request: { method: POST, path: /GetChannel, region: us-west-2, body: { arn: 42 } },
                 response: { status: 404, headers: { x-amzn-ErrorType: ServiceQuotaExceededException },
                             body: { exceptionMessage: quota, message: quota } } }"#,
            vec![
                "GetChannel: error ServiceQuotaExceededException is not among the operation's errors [\"ResourceNotFoundException\", \"AccessDeniedException\", \"ValidationException\"]",
                "GetChannel: error ServiceQuotaExceededException has status 402 in the model, the answer has 404",
                "GetChannel: error body: message: not a member of ServiceQuotaExceededException",
                "GetChannel: request body: arn: expected string (ChannelArn), got 42",
            ],
        ),
        (
            // An error without x-amzn-ErrorType, and a timestamp in the wrong format.
            r#"{ request: { method: POST, path: /GetStream, region: us-west-2, body: { channelArn: x } },
                 response: { status: 500, body: { exceptionMessage: boom } } }"#,
            vec!["GetStream: a 500 answer without x-amzn-ErrorType"],
        ),
        (
            r#"{ request: { method: POST, path: /GetStream, region: us-west-2,
                            body: { channelArn: "arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234" } },
                 response: { status: 200, body: { stream: { startTime: "2024-13-01 10:00:00", viewerCount: 3 } } } }"#,
            vec![
                "GetStream: response body: stream.startTime: \"2024-13-01 10:00:00\" is not an ISO-8601 timestamp",
            ],
        ),
        (
            r#"{ request: { method: GET, path: /tags/arn, query: { tagKeys: [a] }, region: us-west-2 },
                 response: { status: 200, body: { tags: {} } } }"#,
            vec!["ListTagsForResource: query parameter tagKeys is not in ListTagsForResourceRequest"],
        ),
        (
            // A Chat error is held to Chat's shape, not IVS's one of the same name.
            r#"{ request: { service: ivschat, method: POST, path: /GetRoom, region: us-west-2,
                            body: { identifier: "arn:aws:ivschat:us-west-2:123456789012:room/abcdEFGH1234" } },
                 response: { status: 404, headers: { x-amzn-ErrorType: ResourceNotFoundException },
                             body: { exceptionMessage: gone, resourceType: CHANNEL } } }"#,
            vec![
                "GetRoom: error body: exceptionMessage: not a member of ResourceNotFoundException",
                "GetRoom: error body: resourceType: \"CHANNEL\" is not one of ResourceType [\"ROOM\"]",
                "GetRoom: error body: (body): missing required member message",
                "GetRoom: error body: (body): missing required member resourceId",
            ],
        ),
        (
            r#"{ request: { method: POST, path: /GetChanel, region: us-west-2, body: {} },
                 response: { status: 200, body: {} } }"#,
            vec!["POST /GetChanel is no operation of the model"],
        ),
    ];
    for (yaml, expected) in cases {
        let got = interaction_violations(&interaction(yaml));
        assert_eq!(
            got,
            expected,
            "\nfor {yaml}\nexpected:\n{}\ngot:\n{}",
            expected.join("\n"),
            got.join("\n")
        );
    }
}

/// The operation a recorded request addresses, as its service's catalog routes it.
fn operation_of(request: &ivs_vcr::RecordedRequest) -> Option<&'static Operation> {
    request
        .service
        .catalog()
        .check_route(&request.method, &request.path)
        .ok()
}

/// Everything about one interaction that disagrees with the model.
pub(crate) fn interaction_violations(interaction: &Interaction) -> Vec<String> {
    let request = &interaction.request;
    let response = &interaction.response;
    let Some(operation) = operation_of(request) else {
        return vec![format!(
            "{} {} is no operation of the model",
            request.method, request.path
        )];
    };
    let name = operation.name;
    let mut out = Vec::new();
    if response.body_text.is_some() {
        out.push(format!("{name}: the answer's body is not JSON"));
    }
    if (200..300).contains(&response.status) {
        if response.status != operation.success_status {
            out.push(format!(
                "{name}: success status {}, the model says {}",
                response.status, operation.success_status
            ));
        }
        match (operation.output, &response.body) {
            (Some(output), Some(body)) => out.extend(
                model::check(output, body, Side::Response)
                    .into_iter()
                    .map(|v| format!("{name}: response body: {v}")),
            ),
            (Some(output), None) => out.push(format!(
                "{name}: the answer has no body, the model says {}",
                output.get().name
            )),
            (None, Some(_)) => out.push(format!(
                "{name}: the operation has no output, but the answer has a body"
            )),
            (None, None) => {}
        }
    } else {
        match error_type(interaction) {
            None => out.push(format!(
                "{name}: a {} answer without x-amzn-ErrorType",
                response.status
            )),
            Some(error) => {
                let listed: Vec<&str> = operation.errors.iter().map(|e| e.name()).collect();
                if !listed.contains(&error) {
                    out.push(format!(
                        "{name}: error {error} is not among the operation's errors {listed:?}"
                    ));
                }
                match ErrorType::from_name(error) {
                    Some(modeled) => {
                        if modeled.status() != response.status {
                            out.push(format!(
                                "{name}: error {error} has status {} in the model, the answer has {}",
                                modeled.status(),
                                response.status
                            ));
                        }
                        let body = response.body.clone().unwrap_or(Value::Null);
                        // Each service has its own shape of an error it names alike (Chat's
                        // carry `message` and `resourceId`, IVS's `exceptionMessage`).
                        let shape = operation
                            .service
                            .catalog()
                            .shape(modeled.name())
                            .unwrap_or(modeled.shape());
                        out.extend(
                            model::check(shape, &body, Side::Response)
                                .into_iter()
                                .map(|v| format!("{name}: error body: {v}")),
                        );
                    }
                    None => out.push(format!("{name}: {error} is no error shape of the model")),
                }
            }
        }
    }
    if let Some(input) = operation.input {
        if let Some(body) = &request.body {
            out.extend(
                model::check(input, body, Side::Request)
                    .into_iter()
                    .map(|v| format!("{name}: request body: {v}")),
            );
            // IVS accepted it, so it passes the emulator's input validation too. (Only where the
            // body is the whole input: the tag operations carry members in the path and query.)
            if (200..300).contains(&response.status) && operation.route == Route::Post {
                out.extend(
                    ivs::validate::problems(input, body)
                        .into_iter()
                        .map(|p| format!("{name}: request body, answered with success: {p}")),
                );
            }
        }
        for key in request.query.keys() {
            let bound = input
                .get()
                .members()
                .iter()
                .any(|m| m.location == Location::Query && m.location_name == key);
            if !bound {
                out.push(format!(
                    "{name}: query parameter {key} is not in {}",
                    input.get().name
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 3. The files are what the binary serves
// ---------------------------------------------------------------------------------------------

#[test]
fn files_under_cassettes_are_exactly_the_bundled_files() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cassettes");
    let mut on_disk = BTreeMap::new();
    read_tree(&root, &root, &mut on_disk);
    let embedded: BTreeMap<String, String> = bundled::files()
        .iter()
        .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
        .collect();
    let disk_paths: Vec<&String> = on_disk.keys().collect();
    let embedded_paths: Vec<&String> = embedded.keys().collect();
    assert_eq!(
        disk_paths, embedded_paths,
        "\nexpected (files under cassettes/):\n{disk_paths:#?}\ngot (bundled::files()):\n{embedded_paths:#?}"
    );
    for (path, text) in &on_disk {
        assert!(
            embedded[path] == *text,
            "cassettes/{path} differs from the bundled copy: rebuild, or check build.rs"
        );
    }
    let mut sorted = bundled::files().to_vec();
    sorted.sort();
    assert_eq!(
        sorted,
        bundled::files(),
        "bundled::files() is sorted by path"
    );
}

#[tokio::test]
async fn binary_serves_the_bundled_cassettes_from_any_directory_and_reports_at_sigterm() {
    // A working directory without cassettes/: what is served must come from the binary itself.
    let workdir = tempfile::tempdir().unwrap();
    let server = IvsVcr::start(&["replay", "--with-bundled", "--port", "0"], workdir.path());
    let uri = server.uri().unwrap();

    let ivs = ivs_client(&uri, REGION);
    let listed = ivs.list_channels().send().await.unwrap();
    assert!(!listed.channels().is_empty(), "{listed:?}");

    let raw = raw::post(server.addr(), "/ListChannels", "{}").await;
    assert_eq!(raw.status, 200, "{raw:?}");
    let source = raw
        .header("x-ivs-vcr-source")
        .expect("the answer names its source");
    let (cassette, idx) = source
        .split_once('#')
        .unwrap_or_else(|| panic!("`{source}` is not <cassette>#<index>"));
    let bundled = bundled::cassettes().expect("the bundled cassettes load");
    let names: Vec<&str> = bundled.iter().map(|c| c.name.as_str()).collect();
    let answered = bundled
        .iter()
        .find(|c| c.name == cassette)
        .unwrap_or_else(|| panic!("`{cassette}` is not a bundled cassette: {names:?}"));
    let interaction = &answered.interactions[idx.parse::<usize>().unwrap()];
    assert_eq!(interaction.request.path, "/ListChannels");
    let body: Value = serde_json::from_str(&raw.body).unwrap();
    assert_eq!(Some(&body), interaction.response.body.as_ref());

    // IVS Chat's bundled answers too, in the client's own region.
    let chat = chat_client(&uri, "eu-central-1");
    let rooms = chat.list_rooms().send().await.unwrap();
    let arn = rooms
        .rooms()
        .first()
        .and_then(|r| r.arn())
        .unwrap_or_default()
        .to_owned();
    assert!(
        arn.starts_with("arn:aws:ivschat:eu-central-1:123456789012:room/"),
        "{rooms:?}"
    );
    let room = chat.get_room().identifier(&arn).send().await.unwrap();
    assert_eq!(room.arn(), Some(arn.as_str()), "{room:?}");

    let finished = server.stop();
    assert_eq!(finished.status.code(), Some(0), "{finished:?}");
    assert!(
        finished
            .stdout
            .lines()
            .any(|line| line.starts_with("total: 4 matched, 0 unmatched, ")),
        "expected a `total: 4 matched, 0 unmatched, …` line:\n{}",
        finished.stdout
    );
}

/// Reads every file under `dir` into `files`, keyed by its `/`-separated path under `root`.
fn read_tree(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            read_tree(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).unwrap();
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let mut text = String::new();
            std::fs::File::open(&path)
                .and_then(|mut f| f.read_to_string(&mut text))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            files.insert(rel, text);
        }
    }
}
