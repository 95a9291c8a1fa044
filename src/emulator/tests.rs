//! Unit tests of the emulator's rules, driven through `Emulator::answer` as a server would.

use serde_json::{json, Value};

use super::*;
use crate::http::{request_id, IVS_HEADERS};
use crate::ivs::OPERATIONS;

fn emulator() -> Emulator {
    Emulator::new(EmulatorOptions::default())
}

/// A request in us-west-2, as the server hands it over.
fn request(method: &str, path: &str, body: Option<Value>) -> RecordedRequest {
    RecordedRequest {
        service: Default::default(),
        method: method.into(),
        path: path.into(),
        query: Default::default(),
        region: "us-west-2".into(),
        headers: Default::default(),
        body,
    }
}

fn call(e: &Emulator, op: &str, body: Value) -> Answer {
    e.answer(&request("POST", &format!("/{op}"), Some(body)), None)
        .expect("an IVS operation")
}

/// A call on `/tags/{arn}` (the ARN percent-encoded as SDKs send it), with `tagKeys` in the query.
fn tags_call(e: &Emulator, method: &str, arn: &str, body: Option<Value>, keys: &[&str]) -> Answer {
    let path = format!("/tags/{}", arn.replace(':', "%3A").replace('/', "%2F"));
    let mut req = request(method, &path, body);
    if !keys.is_empty() {
        req.query.insert(
            "tagKeys".to_owned(),
            keys.iter().map(|k| k.to_string()).collect(),
        );
    }
    e.answer(&req, None).expect("an IVS operation")
}

fn ok(e: &Emulator, op: &str, body: Value) -> Value {
    let answer = call(e, op, body);
    assert!(answer.error.is_none(), "{op}: {answer:?}");
    answer
        .body
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or(Value::Null)
}

fn err(e: &Emulator, op: &str, body: Value) -> (u16, &'static str, String) {
    let answer = call(e, op, body);
    let body: Value = serde_json::from_slice(&answer.body.unwrap()).unwrap();
    (
        answer.status,
        answer.error.unwrap_or("none"),
        body["message"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn every_operation_is_emulated() {
    let missing: Vec<_> = OPERATIONS
        .iter()
        .filter(|op| !ops::covers(op.name))
        .map(|op| op.name)
        .collect();
    assert!(missing.is_empty(), "not emulated: {missing:?}");
}

#[test]
fn a_created_channel_has_every_member_with_ivs_defaults() {
    let e = emulator();
    let out = ok(
        &e,
        "CreateChannel",
        json!({"name": "dev-show", "type": "BASIC", "latencyMode": "NORMAL", "tags": {"env": "dev"}}),
    );
    let channel = &out["channel"];
    let id = channel["arn"].as_str().unwrap().rsplit('/').next().unwrap();
    assert_eq!(id.len(), 12);
    assert_eq!(channel["name"], "dev-show");
    assert_eq!(channel["type"], "BASIC");
    assert_eq!(channel["latencyMode"], "NORMAL");
    assert_eq!(channel["tags"], json!({"env": "dev"}));
    assert_eq!(channel["preset"], "");
    assert_eq!(channel["recordingConfigurationArn"], "");
    assert_eq!(channel["insecureIngest"], false);
    assert_eq!(channel["authorized"], false);
    assert_eq!(channel["containerFormat"], "TS");
    assert_eq!(
        channel["playbackUrl"].as_str().unwrap(),
        format!(
            "https://{}.us-west-2.playback.live-video.net/api/video/v1/us-west-2.123456789012.channel.{id}.m3u8",
            channel["ingestEndpoint"].as_str().unwrap().split('.').next().unwrap()
        )
    );
    let channel_shape = crate::ivs::ShapeId::by_name("Channel").unwrap().get();
    for member in channel_shape.members() {
        assert!(
            channel.get(member.name).is_some(),
            "channel lacks {}",
            member.name
        );
    }
    // IVS's shape: `sk_<region>_<the key's own ARN id>_<30 alphanumerics>` (finding 3 of the
    // security issue: the id was unrelated and the secret 18 long), recognised whole by redaction.
    let key = out["streamKey"]["value"].as_str().unwrap();
    let key_id = out["streamKey"]["arn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let secret = key
        .strip_prefix(&format!("sk_us-west-2_{key_id}_"))
        .unwrap_or_else(|| panic!("{key}"));
    assert!(
        secret.len() == 30 && secret.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{key}"
    );
    assert_eq!(
        crate::redact::redact_text(&format!("key={key}.")),
        format!("key={}.", crate::redact::secret_placeholder(key))
    );
    assert_eq!(out["streamKey"]["channelArn"], channel["arn"]);
}

#[test]
fn ids_are_deterministic_per_seed_and_restart_on_reset() {
    let a = emulator();
    let first = ok(&a, "CreateChannel", json!({}))["channel"]["arn"].clone();
    a.reset();
    assert_eq!(ok(&a, "CreateChannel", json!({}))["channel"]["arn"], first);
    let b = Emulator::new(EmulatorOptions {
        seed: 7,
        ..Default::default()
    });
    assert_ne!(ok(&b, "CreateChannel", json!({}))["channel"]["arn"], first);
}

#[test]
fn channel_lifecycle_follows_ivs_rules() {
    let e = emulator();
    let arn = ok(&e, "CreateChannel", json!({"name": "a"}))["channel"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        ok(&e, "GetChannel", json!({"arn": arn}))["channel"]["name"],
        "a"
    );
    let key_arn =
        ok(&e, "ListStreamKeys", json!({"channelArn": arn}))["streamKeys"][0]["arn"].clone();
    let (status, kind, _) = err(&e, "CreateStreamKey", json!({"channelArn": arn}));
    assert_eq!((status, kind), (402, "ServiceQuotaExceededException"));
    // Live: no update, no delete.
    e.start_stream(&arn, None, 0).unwrap();
    assert_eq!(
        ok(&e, "GetStream", json!({"channelArn": arn}))["stream"]["state"],
        "LIVE"
    );
    assert_eq!(
        err(&e, "DeleteChannel", json!({"arn": arn})).1,
        "ConflictException"
    );
    assert_eq!(
        err(&e, "UpdateChannel", json!({"arn": arn, "name": "b"})).1,
        "ConflictException"
    );
    ok(&e, "StopStream", json!({"channelArn": arn}));
    assert_eq!(
        err(&e, "GetStream", json!({"channelArn": arn})).1,
        "ChannelNotBroadcasting"
    );
    let session = ok(&e, "GetStreamSession", json!({"channelArn": arn}));
    assert!(session["streamSession"]["endTime"].is_string());
    assert_eq!(
        ok(&e, "UpdateChannel", json!({"arn": arn, "name": "b"}))["channel"]["name"],
        "b"
    );
    assert_eq!(call(&e, "DeleteChannel", json!({"arn": arn})).status, 204);
    let (status, kind, message) = err(&e, "GetChannel", json!({"arn": arn}));
    assert_eq!((status, kind), (404, "ResourceNotFoundException"));
    assert_eq!(message, format!("channel `{arn}` does not exist"));
    assert_eq!(
        err(&e, "GetStreamKey", json!({"arn": key_arn})).1,
        "ResourceNotFoundException"
    );
}

#[test]
fn invalid_requests_fail_with_what_was_wrong() {
    let e = emulator();
    assert_eq!(
        err(&e, "CreateChannel", json!({"name": "x".repeat(129)})),
        (
            400,
            "ValidationException",
            "1 validation error detected: name: 129 characters, at most 128".to_owned()
        )
    );
    assert_eq!(
        err(&e, "GetChannel", json!({"arn": "nope"})).1,
        "ValidationException"
    );
    assert_eq!(
        err(&e, "CreateChannel", json!({"recordingConfigurationArn": "arn:aws:ivs:us-west-2:123456789012:recording-configuration/AbCdEfGh1234"})),
        (404, "ResourceNotFoundException", "recording configuration `arn:aws:ivs:us-west-2:123456789012:recording-configuration/AbCdEfGh1234` does not exist".to_owned())
    );
    assert_eq!(
        err(
            &e,
            "ListChannels",
            json!({"filterByName": "a", "filterByRecordingConfigurationArn": ""})
        )
        .1,
        "ConflictException"
    );
}

#[test]
fn lists_page_with_each_operations_default_size() {
    let e = emulator();
    let mut created: Vec<String> = (0..5)
        .map(|i| {
            ok(&e, "CreateChannel", json!({"name": format!("c{i}")}))["channel"]["arn"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    created.sort();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"maxResults": 2});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let page = ok(&e, "ListChannels", body);
        seen.extend(
            page["channels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["arn"].as_str().unwrap().to_owned()),
        );
        match page.get("nextToken") {
            Some(t) => token = Some(t.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, created);
    // ListStreamKeys pages one key at a time unless told otherwise (`Default: 1`).
    let summary = &ok(&e, "ListChannels", json!({"filterByName": "c3"}))["channels"];
    assert_eq!(summary.as_array().unwrap().len(), 1);
    assert!(
        summary[0].get("ingestEndpoint").is_none(),
        "a summary has only ChannelSummary members"
    );
}

#[test]
fn recording_configurations_settle_and_cannot_be_deleted_while_used() {
    let e = emulator();
    let created = ok(
        &e,
        "CreateRecordingConfiguration",
        json!({"destinationConfiguration": {"s3": {"bucketName": "my-bucket"}}}),
    );
    let rc = &created["recordingConfiguration"];
    assert_eq!(rc["state"], "CREATING");
    assert_eq!(rc["recordingReconnectWindowSeconds"], 0);
    assert_eq!(rc["thumbnailConfiguration"]["recordingMode"], "INTERVAL");
    let arn = rc["arn"].as_str().unwrap();
    assert_eq!(
        ok(&e, "GetRecordingConfiguration", json!({"arn": arn}))["recordingConfiguration"]["state"],
        "ACTIVE"
    );
    let channel = ok(
        &e,
        "CreateChannel",
        json!({"recordingConfigurationArn": arn}),
    );
    assert_eq!(
        err(&e, "DeleteRecordingConfiguration", json!({"arn": arn})).1,
        "ConflictException"
    );
    ok(
        &e,
        "UpdateChannel",
        json!({"arn": channel["channel"]["arn"], "recordingConfigurationArn": ""}),
    );
    assert_eq!(
        call(&e, "DeleteRecordingConfiguration", json!({"arn": arn})).status,
        204
    );
}

#[test]
fn key_pairs_are_parsed_deduplicated_and_limited() {
    let e = emulator();
    let key = super::ops::tests_support::P384;
    let pair = ok(
        &e,
        "ImportPlaybackKeyPair",
        json!({"publicKeyMaterial": key, "name": "k"}),
    );
    assert_eq!(
        pair["keyPair"]["fingerprint"]
            .as_str()
            .unwrap()
            .split(':')
            .count(),
        16
    );
    assert_eq!(
        err(
            &e,
            "ImportPlaybackKeyPair",
            json!({"publicKeyMaterial": key})
        )
        .1,
        "ConflictException"
    );
    assert_eq!(
        err(
            &e,
            "ImportPlaybackKeyPair",
            json!({"publicKeyMaterial": "not a key"})
        )
        .1,
        "ValidationException"
    );
}

#[test]
fn batch_calls_report_each_missing_arn() {
    let e = emulator();
    let arn = ok(&e, "CreateChannel", json!({}))["channel"]["arn"].clone();
    let missing = "arn:aws:ivs:us-west-2:123456789012:channel/missingAAAAA";
    let out = ok(&e, "BatchGetChannel", json!({"arns": [arn, missing]}));
    assert_eq!(out["channels"].as_array().unwrap().len(), 1);
    assert_eq!(out["errors"][0]["arn"], missing);
    assert_eq!(out["errors"][0]["code"], "ResourceNotFoundException");
}

#[test]
fn tags_read_back_as_written() {
    let e = emulator();
    let arn = ok(&e, "CreateChannel", json!({"tags": {"a": "1"}}))["channel"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let tags =
        |method: &str, body: Option<Value>, keys: &[&str]| tags_call(&e, method, &arn, body, keys);
    assert_eq!(
        tags("POST", Some(json!({"tags": {"b": "2"}})), &[]).status,
        200
    );
    assert_eq!(tags("DELETE", None, &["a"]).status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&tags("GET", None, &[]).body.unwrap()).unwrap(),
        json!({"tags": {"b": "2"}})
    );
}

#[test]
fn responses_carry_the_models_header_members() {
    use crate::ivs::{ErrorType, Location};
    let mut in_model: Vec<&str> = ErrorType::ALL
        .iter()
        .flat_map(|e| e.shape().get().members())
        .filter(|m| m.location == Location::Header && m.location_name != "x-amzn-ErrorType")
        .map(|m| m.location_name)
        .collect();
    in_model.sort_unstable();
    in_model.dedup();
    let mut ours: Vec<&str> = IVS_HEADERS.iter().map(|(name, _)| *name).collect();
    ours.sort_unstable();
    assert_eq!(ours, in_model);
}

#[test]
fn request_ids_are_version_4_uuids() {
    let id = request_id();
    assert_eq!(id.len(), 36, "{id}");
    let groups: Vec<&str> = id.split('-').collect();
    assert_eq!(
        groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12],
        "{id}"
    );
    assert!(groups[2].starts_with('4'), "{id}");
    assert!(
        matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
        "{id}"
    );
    assert_ne!(request_id(), id);
}

#[test]
fn the_get_fast_path_answers_as_the_general_one() {
    let e = emulator();
    let arn = ok(&e, "CreateChannel", json!({"name": "a"}))["channel"]["arn"].clone();
    let fast = ok(&e, "GetChannel", json!({"arn": arn}));
    // The same answer through the general path (an extra member the model ignores skips the fast one).
    let general = ok(&e, "GetChannel", json!({"arn": arn, "unknownMember": 1}));
    assert_eq!(fast, general);
    assert_eq!(
        err(
            &e,
            "GetChannel",
            json!({"arn": "arn:aws:ivs:us-west-2:123456789012:channel/missingAAAAA"})
        )
        .1,
        "ResourceNotFoundException"
    );
    // The kept answer follows every change: an update, a tag, a delete.
    ok(&e, "UpdateChannel", json!({"arn": arn, "name": "b"}));
    assert_eq!(
        ok(&e, "GetChannel", json!({"arn": arn}))["channel"]["name"],
        "b"
    );
    tags_call(
        &e,
        "POST",
        arn.as_str().unwrap(),
        Some(json!({"tags": {"k": "v"}})),
        &[],
    );
    assert_eq!(
        ok(&e, "GetChannel", json!({"arn": arn}))["channel"]["tags"],
        json!({"k": "v"})
    );
    assert_eq!(call(&e, "DeleteChannel", json!({"arn": arn})).status, 204);
    assert_eq!(
        err(&e, "GetChannel", json!({"arn": arn})).1,
        "ResourceNotFoundException"
    );
}

#[test]
fn an_update_changes_only_what_the_update_takes() {
    let e = emulator();
    let arn = ok(&e, "CreateChannel", json!({"tags": {"a": "1"}}))["channel"]["arn"].clone();
    // UpdateChannel models no `tags` (TagResource changes them) and no `ingestEndpoint`.
    let updated = ok(
        &e,
        "UpdateChannel",
        json!({"arn": arn, "name": "b", "tags": {"x": "y"}, "ingestEndpoint": "evil.example"}),
    );
    assert_eq!(updated["channel"]["name"], "b");
    assert_eq!(updated["channel"]["tags"], json!({"a": "1"}));
    assert_ne!(updated["channel"]["ingestEndpoint"], "evil.example");
}

#[test]
fn put_metadata_keeps_its_documented_limits() {
    let e = emulator();
    let arn = ok(&e, "CreateChannel", json!({}))["channel"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    e.start_stream(&arn, None, 0).unwrap();
    let (status, kind, message) = err(
        &e,
        "PutMetadata",
        json!({"channelArn": arn, "metadata": "x".repeat(1025)}),
    );
    assert_eq!((status, kind), (400, "ValidationException"));
    assert!(
        message.contains("metadata: 1025 bytes, at most 1024"),
        "{message}"
    );
    for _ in 0..5 {
        assert_eq!(
            call(
                &e,
                "PutMetadata",
                json!({"channelArn": arn, "metadata": "m"})
            )
            .status,
            204
        );
    }
    assert_eq!(
        err(
            &e,
            "PutMetadata",
            json!({"channelArn": arn, "metadata": "m"})
        )
        .1,
        "ThrottlingException"
    );
}

#[test]
fn put_metadata_is_limited_per_account_across_its_regions() {
    let e = emulator();
    let call_in = |region: &str, op: &str, body: Value| {
        let mut req = request("POST", &format!("/{op}"), Some(body));
        req.region = region.into();
        e.answer(&req, None).expect("an IVS operation")
    };
    // 32 live channels, one in two in another region.
    let channels: Vec<(&str, String)> = (0..32)
        .map(|i| {
            let region = if i % 2 == 0 { "us-west-2" } else { "eu-west-1" };
            let created = call_in(region, "CreateChannel", json!({}));
            let body: Value = serde_json::from_slice(&created.body.unwrap()).unwrap();
            let arn = body["channel"]["arn"].as_str().unwrap().to_owned();
            e.start_stream(&arn, None, 0).unwrap();
            (region, arn)
        })
        .collect();
    // Five a second on each of 31 channels: the account's 155.
    for (region, arn) in &channels[..31] {
        for _ in 0..5 {
            let answer = call_in(
                region,
                "PutMetadata",
                json!({"channelArn": arn, "metadata": "m"}),
            );
            assert_eq!(answer.status, 204, "{answer:?}");
        }
    }
    // The 32nd channel has made no call, but the account is at its limit.
    let (region, arn) = &channels[31];
    let answer = call_in(
        region,
        "PutMetadata",
        json!({"channelArn": arn, "metadata": "m"}),
    );
    assert_eq!(
        (answer.status, answer.error),
        (429, Some("ThrottlingException"))
    );
    let body: Value = serde_json::from_slice(&answer.body.unwrap()).unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("155 PutMetadata calls per second per account"),
        "{message}"
    );
}

#[test]
fn a_replayed_delete_takes_along_what_the_resource_held() {
    // Found in review: a replayed DeleteStreamKey left the key counted against its channel.
    let e = emulator();
    let created = ok(&e, "CreateChannel", json!({}));
    let channel = created["channel"]["arn"].as_str().unwrap().to_owned();
    let key = created["streamKey"]["arn"].as_str().unwrap().to_owned();
    e.observe(
        &request("POST", "/DeleteStreamKey", Some(json!({"arn": key}))),
        204,
        b"",
    );
    ok(&e, "CreateStreamKey", json!({"channelArn": channel}));
    // A replayed DeleteChannel of a live channel leaves no stream behind.
    e.start_stream(&channel, None, 0).unwrap();
    e.observe(
        &request("POST", "/DeleteChannel", Some(json!({"arn": channel}))),
        204,
        b"",
    );
    assert_eq!(ok(&e, "ListStreams", json!({}))["streams"], json!([]));
}

#[test]
fn a_refused_tag_call_changes_nothing_and_unknown_regions_leave_no_state() {
    let e = emulator();
    let arn = ok(&e, "CreateChannel", json!({"tags": {"a": "1"}}))["channel"]["arn"].clone();
    let too_many: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    let refused = tags_call(
        &e,
        "POST",
        arn.as_str().unwrap(),
        Some(json!({ "tags": too_many })),
        &[],
    );
    assert_eq!(refused.status, 400);
    assert_eq!(
        ok(&e, "GetChannel", json!({"arn": arn}))["channel"]["tags"],
        json!({"a": "1"})
    );
    // Control calls naming a region that is not one create no state for it.
    assert!(e
        .start_stream("arn:aws:ivs:zz1:123456789012:channel/abcdABCDefgh", None, 0)
        .is_err());
    assert!(
        e.state(None)["regions"].get("zz1").is_none(),
        "{}",
        e.state(None)
    );
}

/// What lets the Get fast path skip validation: the ARN of any resource the emulator can store,
/// in any region and account it serves, passes the model's checks of its Get input.
#[test]
fn stored_arns_pass_their_gets_validation() {
    let mut ids = crate::seeded::SplitMix64::new(7);
    for family in resource::FAMILIES {
        let get = ivs::operation(&format!("Get{}", family.shape)).expect("a Get per family");
        let input = get.input.expect("a Get takes an input");
        for region in [
            "us-west-2",
            "eu-central-1",
            "ap-southeast-5",
            "us-gov-east-1",
        ] {
            for account in [DEFAULT_ACCOUNT, "000000000000", "999999999999"] {
                for _ in 0..50 {
                    let arn = ivs::arn::mint(region, account, family.resource_type, &ids.alnum(12));
                    let problems = ivs::validate::problems(input, &json!({ "arn": arn }));
                    assert!(problems.is_empty(), "{arn}: {problems:?}");
                }
            }
        }
    }
}

fn limited(limits: EmulatorLimits) -> Emulator {
    Emulator::new(EmulatorOptions {
        limits,
        ..Default::default()
    })
}

#[test]
fn regions_with_state_are_capped_with_an_error_naming_the_limit() {
    // Regression, issue 29 (finding 8): every made-up `words-N` region in a SigV4 scope
    // added a region (100,000 of them: +45 MB).
    let e = limited(EmulatorLimits {
        max_regions: 2,
        ..Default::default()
    });
    let in_region = |region: &str| {
        let mut req = request("POST", "/ListChannels", Some(json!({})));
        req.region = region.into();
        e.answer(&req, None).unwrap()
    };
    assert_eq!(in_region("us-west-2").status, 200);
    assert_eq!(in_region("made-up-1").status, 200);
    let refused = in_region("made-up-2");
    assert_eq!(
        (refused.status, refused.error),
        (400, Some("ValidationException"))
    );
    let body: Value = serde_json::from_slice(&refused.body.unwrap()).unwrap();
    assert_eq!(
        body["message"],
        "`made-up-2` would be region 3 with state, over the emulator's limit of 2 (`--max-regions`)"
    );
    assert_eq!(e.lock().accounts[DEFAULT_ACCOUNT].regions.len(), 2);
    // Regions that already hold state go on answering.
    assert_eq!(in_region("made-up-1").status, 200);
    // Nor does a replayed answer or a control call add one.
    e.observe(
        &request("POST", "/CreateChannel", Some(json!({}))),
        200,
        br#"{"channel":{"arn":"arn:aws:ivs:made-up-3:123456789012:channel/abcdABCDefgh"}}"#,
    );
    assert!(e
        .start_stream(
            "arn:aws:ivs:made-up-4:123456789012:channel/abcdABCDefgh",
            None,
            0
        )
        .is_err());
    assert_eq!(e.lock().accounts[DEFAULT_ACCOUNT].regions.len(), 2);
}

#[test]
fn a_channel_keeps_its_newest_stream_sessions_only() {
    // Regression, issue 29 (finding 8): 50,000 stream sessions took 409 MB.
    let e = limited(EmulatorLimits {
        max_sessions_per_channel: 3,
        ..Default::default()
    });
    let arn = ok(&e, "CreateChannel", json!({}))["channel"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut streams = Vec::new();
    for _ in 0..5 {
        let started = e.start_stream(&arn, None, 0).unwrap();
        streams.push(started["stream"]["streamId"].as_str().unwrap().to_owned());
        e.stop_stream(&arn).unwrap();
    }
    let listed = ok(&e, "ListStreamSessions", json!({"channelArn": arn}));
    let mut ids: Vec<&str> = listed["streamSessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["streamId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut newest: Vec<&str> = streams[2..].iter().map(String::as_str).collect();
    newest.sort_unstable();
    assert_eq!(ids, newest);
    let (status, kind, _) = err(
        &e,
        "GetStreamSession",
        json!({"channelArn": arn, "streamId": streams[0]}),
    );
    assert_eq!((status, kind), (404, "ResourceNotFoundException"));
}

#[test]
fn viewer_session_revocations_keep_the_newest_only() {
    // Regression, issue 29 (finding 8): 400,000 revocations took 63 MB.
    let e = limited(EmulatorLimits {
        max_revocations: 4,
        ..Default::default()
    });
    let arn = ok(&e, "CreateChannel", json!({}))["channel"]["arn"].clone();
    for viewer in 0..10 {
        ok(
            &e,
            "StartViewerSessionRevocation",
            json!({"channelArn": arn, "viewerId": format!("viewer-{viewer}")}),
        );
    }
    let world = e.lock();
    let kept: Vec<&str> = world.accounts[DEFAULT_ACCOUNT].regions["us-west-2"]
        .revocations
        .iter()
        .map(|(_, viewer, _)| viewer.as_str())
        .collect();
    assert_eq!(kept, ["viewer-6", "viewer-7", "viewer-8", "viewer-9"]);
}

/// A sink that keeps what it is given.
#[derive(Debug, Default)]
struct Captured(std::sync::Mutex<Vec<Event>>);

impl EventSink for Captured {
    fn emit(&self, _account: &str, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

#[test]
fn a_recording_configuration_that_is_not_active_sends_a_recording_start_failure() {
    let sink = Arc::new(Captured::default());
    let e = emulator().with_event_sink(sink.clone());
    let config = ok(
        &e,
        "CreateRecordingConfiguration",
        json!({"destinationConfiguration": {"s3": {"bucketName": "gone-bucket"}}}),
    )["recordingConfiguration"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    // As a replayed answer could have left it: the bucket was in another region.
    e.with_region("us-west-2", |ctx| {
        let id = config.rsplit('/').next().unwrap();
        let stored = ctx.region.get_mut("recording-configuration", id).unwrap();
        state::set(stored, "state", json!("CREATE_FAILED"));
    })
    .unwrap();
    let channel = ok(
        &e,
        "CreateChannel",
        json!({"name": "unrecorded", "recordingConfigurationArn": config}),
    )["channel"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    e.start_stream(&channel, None, 0).unwrap();
    e.stop_stream(&channel).unwrap();
    let events = sink.0.lock().unwrap().clone();
    let names: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            let d = &e.detail;
            let name = d.get("event_name").or_else(|| d.get("recording_status"));
            (e.detail_type, name.and_then(Value::as_str).unwrap())
        })
        .collect();
    assert_eq!(
        names,
        [
            ("IVS Stream State Change", "Session Created"),
            ("IVS Stream State Change", "Stream Start"),
            ("IVS Recording State Change", "Recording Start Failure"),
            ("IVS Stream State Change", "Stream End"),
            ("IVS Stream State Change", "Session Ended"),
        ],
        "no Recording End for a recording that never started"
    );
    let failure = &events[2].detail;
    assert_eq!(failure["recording_s3_key_prefix"], "");
    assert_eq!(failure["recording_s3_bucket_name"], "gone-bucket");
    assert_eq!(
        failure["recording_status_reason"],
        "the recording configuration is CREATE_FAILED, not ACTIVE"
    );
    assert!(events.iter().all(|e| e.source == "aws.ivs"
        && e.region == "us-west-2"
        && e.resources == [channel.clone()]));
}

/// The data plane's door: a publish with the channel's key takes it live like the control call,
/// registers the encoder StopStream drops, and reports the measured configuration.
#[tokio::test]
async fn ingest_goes_live_through_the_emulator_and_stop_stream_drops_the_encoder() {
    use crate::emulator::live::KeyOwner;
    let e = emulator();
    let created = ok(&e, "CreateChannel", json!({}));
    let arn = created["channel"]["arn"].as_str().unwrap().to_owned();
    let key = created["streamKey"]["value"].as_str().unwrap().to_owned();
    assert_eq!(e.stream_key_owner(&key), KeyOwner::Channel(arn.clone()));
    assert_eq!(e.stream_key_owner(&format!("{key}x")), KeyOwner::Unknown);
    assert_eq!(e.stream_key_owner("rt_us-west-2_abc"), KeyOwner::RealTime);

    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let live = e.start_ingest(&arn, stop.clone()).unwrap();
    assert_eq!(live.latency_mode, "LOW");
    let stream = ok(&e, "GetStream", json!({"channelArn": arn}));
    assert_eq!(stream["stream"]["streamId"], live.stream_id.as_str());
    // A second publisher: refused, as the channel is live.
    let second = e.start_ingest(&arn, std::sync::Arc::default()).unwrap_err();
    assert_eq!(second.kind, ErrorType::ConflictException);

    let info = crate::live::media::StreamInfo {
        video_codec: "avc1.64001F".into(),
        width: 1280,
        height: 720,
        frame_rate: 29.97,
        video_bitrate: 2_500_000,
        audio_codec: "mp4a.40.2".into(),
        sample_rate: 48_000,
        channels: 2,
        audio_bitrate: 128_000,
        encoder: "obs-output module (libobs version 30.0.0)".into(),
        profile: "High".into(),
        level: "3.1".into(),
    };
    e.update_ingest(&arn, &live.stream_id, &info);
    let session = ok(&e, "GetStreamSession", json!({"channelArn": arn}));
    let video = &session["streamSession"]["ingestConfiguration"]["video"];
    assert_eq!(video["videoWidth"], 1280);
    assert_eq!(video["targetFramerate"], 30);
    assert_eq!(video["avcProfile"], "High");
    assert_eq!(video["encoder"], info.encoder.as_str());
    let current = &session["streamSession"]["ingestConfigurations"]["videoConfigurations"][0];
    assert_eq!(
        (current["avcProfile"].as_str(), current["profile"].as_str()),
        (Some(""), Some("High"))
    );

    ok(&e, "StopStream", json!({"channelArn": arn}));
    // The handle was notified: a stored permit, seen at once.
    tokio::time::timeout(std::time::Duration::from_secs(1), stop.notified())
        .await
        .expect("StopStream notifies the encoder's handle");
    // The encoder then leaves: nothing more happens (the stream already ended).
    e.end_ingest(&arn, &live.stream_id);
    let session = ok(&e, "GetStreamSession", json!({"channelArn": arn}));
    assert_eq!(
        session["streamSession"]["truncatedEvents"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

/// What a channel's playback requires comes from the channel, the region's key pairs, its
/// revocations and its playback restriction policy; an unknown name has none.
#[test]
fn playback_rules_follow_the_channel() {
    let e = emulator();
    let policy = ok(
        &e,
        "CreatePlaybackRestrictionPolicy",
        json!({"allowedOrigins": ["https://a.test"], "enableStrictOriginEnforcement": true}),
    );
    let created = ok(
        &e,
        "CreateChannel",
        json!({"authorized": true, "playbackRestrictionPolicyArn": policy["playbackRestrictionPolicy"]["arn"]}),
    );
    let arn = created["channel"]["arn"].as_str().unwrap();
    let url = created["channel"]["playbackUrl"].as_str().unwrap();
    let name = url.rsplit('/').next().unwrap().trim_end_matches(".m3u8");
    ok(
        &e,
        "ImportPlaybackKeyPair",
        json!({"publicKeyMaterial": crate::emulator::ops::tests_support::P384}),
    );
    ok(
        &e,
        "StartViewerSessionRevocation",
        json!({"channelArn": arn, "viewerId": "v", "viewerSessionVersionsLessThanOrEqualTo": 3}),
    );
    let rules = e.playback_rules(name).unwrap();
    assert_eq!(rules.channel_arn, arn);
    assert!(rules.authorized);
    assert_eq!(rules.keys.len(), 1);
    assert_eq!(rules.revoked, vec![("v".to_owned(), 3)]);
    assert_eq!(
        rules.policy,
        Some((vec!["https://a.test".to_owned()], true))
    );
    assert!(e
        .playback_rules(&name.replace("channel", "stage"))
        .is_none());
    assert!(e
        .playback_rules("us-west-2.999999999999.channel.x")
        .is_none());
}

/// StartViewerSessionRevocation's and BatchStartViewerSessionRevocation's
/// `viewerSessionVersionsLessThanOrEqualTo`: "Default: 0". A revocation without it revokes the
/// viewer's sessions of version 0 only (a token without `aws:viewer-session-version` is version
/// 0, `live::hls`), not those of later versions.
#[test]
fn viewer_session_revocations_default_to_version_zero() {
    let e = emulator();
    let created = ok(&e, "CreateChannel", json!({"authorized": true}));
    let arn = created["channel"]["arn"].as_str().unwrap();
    let url = created["channel"]["playbackUrl"].as_str().unwrap();
    let name = url.rsplit('/').next().unwrap().trim_end_matches(".m3u8");
    ok(
        &e,
        "StartViewerSessionRevocation",
        json!({"channelArn": arn, "viewerId": "one"}),
    );
    ok(
        &e,
        "BatchStartViewerSessionRevocation",
        json!({"viewerSessions": [
            {"channelArn": arn, "viewerId": "two"},
            {"channelArn": arn, "viewerId": "three", "viewerSessionVersionsLessThanOrEqualTo": 2},
        ]}),
    );
    let rules = e.playback_rules(name).unwrap();
    assert_eq!(
        rules.revoked,
        vec![
            ("one".to_owned(), 0),
            ("two".to_owned(), 0),
            ("three".to_owned(), 2)
        ]
    );
}

/// With a playback base, channels' playbackUrl points at the emulator's playback server.
#[test]
fn playback_urls_can_point_at_the_emulator() {
    let e = Emulator::new(EmulatorOptions {
        playback_base: Some("http://127.0.0.1:7475/".into()),
        ..EmulatorOptions::default()
    });
    let created = ok(&e, "CreateChannel", json!({}));
    let id = created["channel"]["arn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert_eq!(
        created["channel"]["playbackUrl"],
        format!("http://127.0.0.1:7475/api/video/v1/us-west-2.123456789012.channel.{id}.m3u8")
            .as_str()
    );
}

#[test]
fn an_access_key_picks_its_account_mapped_numeric_or_default() {
    let mut options = EmulatorOptions {
        account: "999999999999".to_owned(),
        ..EmulatorOptions::default()
    };
    options
        .account_for
        .insert("AKIAMAPPED".to_owned(), "333333333333".to_owned());
    // A mapping wins even over a 12-digit key.
    options
        .account_for
        .insert("444444444444".to_owned(), "555555555555".to_owned());
    assert_eq!(account_of(&options, None), "999999999999");
    assert_eq!(account_of(&options, Some("AKIDEXAMPLE")), "999999999999");
    assert_eq!(account_of(&options, Some("AKIAMAPPED")), "333333333333");
    assert_eq!(account_of(&options, Some("111111111111")), "111111111111");
    assert_eq!(account_of(&options, Some("444444444444")), "555555555555");
    // Not 12 digits: the default.
    assert_eq!(account_of(&options, Some("11111111111")), "999999999999");
    assert_eq!(account_of(&options, Some("1111111111111")), "999999999999");
}

#[test]
fn each_account_has_its_own_reproducible_ids_and_the_default_keeps_today_s() {
    let ids = |e: &Emulator, key: Option<&str>| {
        let answer = e
            .answer(&request("POST", "/CreateChannel", Some(json!({}))), key)
            .unwrap();
        let body: Value = serde_json::from_slice(answer.body.as_deref().unwrap()).unwrap();
        body["channel"]["arn"].as_str().unwrap().to_owned()
    };
    let one = Emulator::new(EmulatorOptions::default());
    let default_first = ids(&one, None);
    let other_first = ids(&one, Some("111111111111"));
    // The default account's first id is the one a fresh emulator of the same seed gives alone.
    let alone = Emulator::new(EmulatorOptions::default());
    assert_eq!(ids(&alone, Some("AKIDEXAMPLE")), default_first);
    // Another account's is its own, and the same in another emulator whatever came before.
    let two = Emulator::new(EmulatorOptions::default());
    ids(&two, None);
    ids(&two, None);
    assert_eq!(ids(&two, Some("111111111111")), other_first);
    assert_ne!(
        default_first.rsplit('/').next(),
        other_first.rsplit('/').next()
    );
}

#[test]
fn replayed_answers_and_control_calls_act_in_the_account_their_arn_names() {
    let e = emulator();
    let arn = "arn:aws:ivs:us-west-2:111111111111:channel/abcdABCDefgh";
    let answer = json!({"channel": {"arn": arn, "name": "replayed"}});
    e.observe(
        &request("POST", "/GetChannel", Some(json!({ "arn": arn }))),
        200,
        answer.to_string().as_bytes(),
    );
    let get = |key: Option<&str>| {
        let req = request("POST", "/GetChannel", Some(json!({ "arn": arn })));
        e.answer(&req, key).unwrap().status
    };
    // The ARN's account has it; the default account does not.
    assert_eq!(get(Some("111111111111")), 200);
    assert_eq!(get(None), 404);
    // A control call takes the same account from the ARN: the channel goes live there only.
    e.start_stream(arn, None, 0).unwrap();
    let state = e.state(Some("111111111111"));
    assert_eq!(state["regions"]["us-west-2"]["live"][0]["channelArn"], arn);
    let default = e.state(None);
    assert_eq!(default["regions"]["us-west-2"], json!({}), "{default}");
    // A replayed delete forgets it in that account.
    e.observe(
        &request("POST", "/DeleteChannel", Some(json!({ "arn": arn }))),
        204,
        b"",
    );
    assert_eq!(get(Some("111111111111")), 404);
}

/// IVS's service quotas: at most 5,000 channels and 20 recording configurations per account and
/// region (<https://docs.aws.amazon.com/ivs/latest/LowLatencyUserGuide/service-quotas.html>).
#[test]
fn channels_and_recording_configurations_are_limited_per_region() {
    let e = emulator();
    for _ in 0..5_000 {
        ok(&e, "CreateChannel", json!({}));
    }
    let (status, kind, message) = err(&e, "CreateChannel", json!({}));
    assert_eq!(
        (status, kind, message.as_str()),
        (
            402,
            "ServiceQuotaExceededException",
            "at most 5000 channels per region"
        )
    );
    let config = json!({"destinationConfiguration": {"s3": {"bucketName": "my-bucket"}}});
    for _ in 0..20 {
        ok(&e, "CreateRecordingConfiguration", config.clone());
    }
    let (status, kind, _) = err(&e, "CreateRecordingConfiguration", config);
    assert_eq!((status, kind), (402, "ServiceQuotaExceededException"));
}
