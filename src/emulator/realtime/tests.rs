//! Unit tests of Real-Time's rules, driven through `Emulator::answer` and the control plane's
//! join and leave as a server would, plus time moved by hand through [`super::advance`], and a
//! property test of the stage and participant invariants.

use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::cassette::RecordedRequest;
use crate::emulator::realtime::JoinRequest;
use crate::emulator::{Answer, Emulator, EmulatorOptions};
use crate::ivs::Service;
use crate::jwt;
use crate::live::events::{Event, EventSink};

/// The events the emulator emitted, in order.
#[derive(Debug, Default)]
struct Events(Mutex<Vec<Event>>);

impl EventSink for Events {
    fn emit(&self, _account: &str, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

impl Events {
    fn names(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e.detail_type,
                    e.detail["event_name"].as_str().unwrap_or("")
                )
            })
            .collect()
    }
}

fn emulator() -> (Emulator, Arc<Events>) {
    let events = Arc::new(Events::default());
    let e = Emulator::new(EmulatorOptions::default()).with_event_sink(events.clone());
    (e, events)
}

fn call(e: &Emulator, op: &str, body: Value) -> Answer {
    let (method, path) = match op {
        "TagResource" | "UntagResource" | "ListTagsForResource" => unreachable!("use call_tags"),
        _ => ("POST", format!("/{op}")),
    };
    e.answer_as(
        None,
        &request(Service::IvsRealTime, method, path, Some(body)),
    )
    .expect("a Real-Time operation")
}

/// A request in us-west-2, with no query or headers.
fn request(service: Service, method: &str, path: String, body: Option<Value>) -> RecordedRequest {
    RecordedRequest {
        service,
        method: method.into(),
        path,
        query: Default::default(),
        region: "us-west-2".into(),
        headers: Default::default(),
        body,
    }
}

/// A new IVS channel's ARN (a composition's destination).
fn channel(e: &Emulator) -> String {
    let created = e
        .answer_as(
            None,
            &request(
                Service::Ivs,
                "POST",
                "/CreateChannel".into(),
                Some(json!({})),
            ),
        )
        .unwrap();
    string(&ok(&created)["channel"]["arn"])
}

/// A new encoder configuration's ARN (the defaults).
fn encoder_configuration(e: &Emulator) -> String {
    let out = api(e, "CreateEncoderConfiguration", json!({}));
    string(&out["encoderConfiguration"]["arn"])
}

/// A new storage configuration's ARN, for `bucket`.
fn storage_configuration(e: &Emulator, bucket: &str) -> String {
    let out = api(
        e,
        "CreateStorageConfiguration",
        json!({"s3": {"bucketName": bucket}}),
    );
    string(&out["storageConfiguration"]["arn"])
}

/// GetParticipant's participant.
fn participant(e: &Emulator, stage_arn: &str, session: &str, pid: &str) -> Value {
    let out = api(
        e,
        "GetParticipant",
        json!({"stageArn": stage_arn, "sessionId": session, "participantId": pid}),
    );
    out["participant"].clone()
}

/// The body of a Real-Time call that must succeed.
fn api(e: &Emulator, op: &str, body: Value) -> Value {
    ok(&call(e, op, body))
}

/// The error kind and message of a Real-Time call that must fail.
fn refused(e: &Emulator, op: &str, body: Value) -> (&'static str, String) {
    error(&call(e, op, body))
}

/// A JSON string's value (the member must be a string).
fn string(v: &Value) -> String {
    v.as_str().unwrap().to_owned()
}

fn ok(answer: &Answer) -> Value {
    assert_eq!(answer.error, None, "{answer:?}");
    answer
        .body
        .as_ref()
        .map(|b| serde_json::from_slice(b).unwrap())
        .unwrap_or(Value::Null)
}

fn error(answer: &Answer) -> (&'static str, String) {
    let body: Value = serde_json::from_slice(answer.body.as_ref().unwrap()).unwrap();
    assert_eq!(
        body["exceptionMessage"], body["message"],
        "IVS's error form"
    );
    (answer.error.expect("an error"), string(&body["message"]))
}

/// An emulator with one stage: the emulator, its events and the stage's ARN.
fn with_stage() -> (Emulator, Arc<Events>, String) {
    let (e, events) = emulator();
    let (stage_arn, _) = stage(&e);
    (e, events, stage_arn)
}

fn stage(e: &Emulator) -> (String, String) {
    let out = api(e, "CreateStage", json!({"name": "show"}));
    let arn = string(&out["stage"]["arn"]);
    let id = arn.rsplit('/').next().unwrap().to_owned();
    (arn, id)
}

fn token(e: &Emulator, stage_arn: &str, extra: Value) -> (String, String) {
    let mut body = json!({"stageArn": stage_arn});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let out = api(e, "CreateParticipantToken", body);
    (
        string(&out["participantToken"]["token"]),
        string(&out["participantToken"]["participantId"]),
    )
}

fn join(e: &Emulator, token: &str, publish: bool, subscribe: bool) -> Value {
    e.join_stage(&JoinRequest {
        token: token.to_owned(),
        publish: Some(publish),
        subscribe: Some(subscribe),
    })
    .unwrap()
}

/// Applies what falls due `ms` from now (sessions ending, compositions stopping).
fn settle(e: &Emulator, ms: u64) {
    let at = crate::clock::now_millis() + ms;
    e.with_region("us-west-2", |ctx| super::advance(ctx, at))
        .unwrap();
}

fn event_names(e: &Emulator, stage_arn: &str, session: &str, pid: &str) -> Vec<String> {
    let out = api(
        e,
        "ListParticipantEvents",
        json!({"stageArn": stage_arn, "sessionId": session, "participantId": pid}),
    );
    out["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ev| {
            let mut name = string(&ev["name"]);
            if let Some(remote) = ev.get("remoteParticipantId").and_then(Value::as_str) {
                name.push_str(&format!(" {remote}"));
            }
            name
        })
        .collect()
}

#[test]
fn every_realtime_operation_is_emulated() {
    let (e, _) = emulator();
    for op in Service::IvsRealTime.catalog().operations {
        if op.route != crate::ivs::Route::Post {
            continue;
        }
        let answer = call(&e, op.name, json!({}));
        assert_ne!(
            answer.error,
            Some("InternalServerException"),
            "{}: {answer:?}",
            op.name
        );
    }
    assert_eq!(Service::IvsRealTime.catalog().operations.len(), 40);
}

#[test]
fn a_stage_has_its_arn_endpoints_and_documented_recording_defaults() {
    let (e, _) = emulator();
    let out = api(&e, "CreateStage", json!({"tags": {"team": "live"}}));
    let stage = &out["stage"];
    let arn = stage["arn"].as_str().unwrap();
    let id = arn
        .strip_prefix("arn:aws:ivs:us-west-2:123456789012:stage/")
        .unwrap();
    assert_eq!(id.len(), 12);
    assert_eq!(stage["name"], "");
    assert_eq!(stage.get("activeSessionId"), None);
    assert_eq!(stage["tags"], json!({"team": "live"}));
    assert_eq!(
        stage["autoParticipantRecordingConfiguration"],
        json!({
            "storageConfigurationArn": "",
            "mediaTypes": ["AUDIO_VIDEO"],
            "thumbnailConfiguration": {"targetIntervalSeconds": 60, "storage": ["SEQUENTIAL"], "recordingMode": "DISABLED"},
            "recordingReconnectWindowSeconds": 0,
            "hlsConfiguration": {"targetSegmentDurationSeconds": 6},
            "recordParticipantReplicas": true,
        })
    );
    let endpoints = &stage["endpoints"];
    assert_eq!(endpoints["events"], "wss://global.events.live-video.net");
    let whip = endpoints["whip"].as_str().unwrap();
    let prefix = whip
        .strip_prefix("https://")
        .and_then(|h| h.strip_suffix(".global-bm.whip.live-video.net"))
        .unwrap();
    assert_eq!(
        endpoints["rtmps"],
        format!("rtmps://{prefix}.global-contribute.live-video.net:443/app/")
    );
    assert_eq!(out["participantTokens"], json!([]));
    // The answer passes the model's output shape.
    let got = api(&e, "GetStage", json!({"arn": arn}));
    assert_eq!(got["stage"], *stage);
    let listed = api(&e, "ListStages", json!({}));
    assert_eq!(listed["stages"][0]["arn"], arn);
    assert!(
        listed["stages"][0].get("endpoints").is_none(),
        "a StageSummary"
    );
}

#[test]
fn participant_tokens_are_es384_jwts_with_the_documented_claims() {
    let (e, _) = emulator();
    let (stage_arn, stage_id) = stage(&e);
    let out = api(
        &e,
        "CreateParticipantToken",
        json!({"stageArn": stage_arn, "userId": "ana", "attributes": {"role": "host"}, "duration": 30, "capabilities": ["PUBLISH"]}),
    );
    let token = &out["participantToken"];
    assert_eq!(token["duration"], 30);
    assert_eq!(token["capabilities"], json!(["PUBLISH"]));
    assert_eq!(token["userId"], "ana");
    let decoded = jwt::decode(token["token"].as_str().unwrap()).unwrap();
    decoded.verify_minted(&e.signer.public_key_der()).unwrap();
    assert_eq!(decoded.header["alg"], "KMS");
    assert_eq!(decoded.text("jti"), token["participantId"].as_str());
    assert_eq!(decoded.text("resource"), Some(stage_arn.as_str()));
    assert_eq!(decoded.text("topic"), Some(stage_id.as_str()));
    assert_eq!(decoded.text("user_id"), Some("ana"));
    assert_eq!(decoded.claims["attributes"], json!({"role": "host"}));
    assert_eq!(
        decoded.claims["capabilities"],
        json!({"allow_publish": true, "allow_subscribe": false})
    );
    let exp = decoded.seconds("exp").unwrap();
    assert_eq!(exp - decoded.seconds("iat").unwrap(), 30 * 60);
    assert_eq!(token["expirationTime"], crate::clock::iso8601(exp));
    // Defaults: 720 minutes, both capabilities.
    let plain = api(&e, "CreateParticipantToken", json!({"stageArn": stage_arn}));
    assert_eq!(plain["participantToken"]["duration"], 720);
    assert_eq!(
        plain["participantToken"]["capabilities"],
        json!(["PUBLISH", "SUBSCRIBE"])
    );
    // CreateStage mints one per configuration.
    let with_tokens = api(
        &e,
        "CreateStage",
        json!({"participantTokenConfigurations": [{"userId": "a"}, {"userId": "b", "duration": 5}]}),
    );
    assert_eq!(
        with_tokens["participantTokens"].as_array().unwrap().len(),
        2
    );
    assert_eq!(with_tokens["participantTokens"][1]["duration"], 5);
    let big = "x".repeat(1100);
    let (kind, message) = refused(
        &e,
        "CreateParticipantToken",
        json!({"stageArn": stage_arn, "attributes": {"k": big}}),
    );
    assert_eq!(kind, "ValidationException");
    assert!(message.contains("1 KB"), "{message}");
}

#[test]
fn joins_and_leaves_drive_sessions_participants_and_events() {
    let (e, events, stage_arn) = with_stage();
    let (host_token, host) = token(&e, &stage_arn, json!({"userId": "host"}));
    let (guest_token, guest) = token(&e, &stage_arn, json!({"userId": "guest"}));

    let joined = join(&e, &host_token, true, false);
    assert_eq!(joined["participantId"], host.as_str());
    assert_eq!(joined["stageArn"], stage_arn.as_str());
    let session = string(&joined["sessionId"]);
    assert_eq!(session.len(), 16);
    assert!(session.starts_with("st-"));
    let got = api(&e, "GetStage", json!({"arn": stage_arn}));
    assert_eq!(got["stage"]["activeSessionId"], session.as_str());

    let second = join(&e, &guest_token, false, true);
    assert_eq!(second["sessionId"], session.as_str());
    let participants = api(
        &e,
        "ListParticipants",
        json!({"stageArn": stage_arn, "sessionId": session, "filterByState": "CONNECTED"}),
    );
    assert_eq!(participants["participants"].as_array().unwrap().len(), 2);
    let published = api(
        &e,
        "ListParticipants",
        json!({"stageArn": stage_arn, "sessionId": session, "filterByPublished": true}),
    );
    assert_eq!(published["participants"][0]["participantId"], host.as_str());

    // A second join with a connected participant's token changes what it does.
    join(&e, &host_token, false, false);
    e.leave_stage(&guest, None).unwrap();
    let still = api(
        &e,
        "GetStageSession",
        json!({"stageArn": stage_arn, "sessionId": session}),
    );
    assert!(
        still["stageSession"].get("endTime").is_none(),
        "the host is still there"
    );
    e.leave_stage(&host, Some(&stage_arn)).unwrap();

    // The session outlives its last participant by a few minutes, then ends.
    let got = api(&e, "GetStage", json!({"arn": stage_arn}));
    assert_eq!(got["stage"]["activeSessionId"], session.as_str());
    settle(&e, super::participants::SESSION_END_MS);
    let ended = api(
        &e,
        "GetStageSession",
        json!({"stageArn": stage_arn, "sessionId": session}),
    );
    assert!(ended["stageSession"]["endTime"].is_string());
    let got = api(&e, "GetStage", json!({"arn": stage_arn}));
    assert_eq!(got["stage"].get("activeSessionId"), None);
    assert_eq!(
        event_names(&e, &stage_arn, &session, &host),
        ["JOINED", "PUBLISH_STARTED", "PUBLISH_STOPPED", "LEFT"]
    );
    assert_eq!(
        event_names(&e, &stage_arn, &session, &guest),
        [
            "JOINED".to_owned(),
            format!("SUBSCRIBE_STARTED {host}"),
            format!("SUBSCRIBE_STOPPED {host}"),
            "LEFT".to_owned()
        ]
    );
    let host_record = participant(&e, &stage_arn, &session, &host);
    assert_eq!(host_record["state"], "DISCONNECTED");
    assert_eq!(host_record["published"], true);
    assert_eq!(host_record["userId"], "host");
    assert_eq!(
        events.names(),
        [
            "IVS Stage Update: Participant Published",
            "IVS Stage Update: Participant Unpublished"
        ]
    );

    // A new join starts a new session, listed first.
    let again = join(&e, &guest_token, false, false);
    assert_ne!(again["sessionId"], session.as_str());
    let sessions = api(&e, "ListStageSessions", json!({"stageArn": stage_arn}));
    assert_eq!(
        sessions["stageSessions"][0]["sessionId"],
        again["sessionId"]
    );
    assert_eq!(sessions["stageSessions"][1]["sessionId"], session.as_str());
    // Leaving twice is refused.
    e.leave_stage(&guest, None).unwrap();
    let err = e.leave_stage(&guest, None).unwrap_err();
    assert!(err.message.contains("is not connected"), "{}", err.message);
}

#[test]
fn bad_tokens_are_refused_and_leave_nothing_half_joined() {
    let (e, _, stage_arn) = with_stage();
    let (other_arn, _) = stage(&e);
    let refuse = |token: &str, publish: bool| {
        e.join_stage(&JoinRequest {
            token: token.to_owned(),
            publish: Some(publish),
            subscribe: None,
        })
        .unwrap_err()
    };
    let err = refuse("not-a-jwt", false);
    assert_eq!(err.kind.name(), "ValidationException");
    assert!(
        err.message.contains("three base64url parts"),
        "{}",
        err.message
    );

    // Altered claims: another stage's ARN under the first one's signature.
    let (good, _) = token(&e, &stage_arn, json!({}));
    let parts: Vec<&str> = good.split('.').collect();
    let mut claims = jwt::decode(&good).unwrap().claims;
    claims.insert("resource".into(), other_arn.clone().into());
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        jwt::base64url_encode(serde_json::to_string(&claims).unwrap().as_bytes()),
        parts[2]
    );
    let err = refuse(&forged, false);
    assert_eq!(err.kind.name(), "AccessDeniedException");
    assert!(err.message.contains("does not verify"), "{}", err.message);

    // Signed by a key nobody imported, naming no kid.
    let stranger = jwt::Signer::generate();
    let err = refuse(
        &stranger.sign_minted(&jwt::decode(&good).unwrap().claims),
        false,
    );
    assert_eq!(err.kind.name(), "AccessDeniedException");

    // Expired: a token signed by the emulator's key whose `exp` has passed.
    let mut old = jwt::decode(&good).unwrap().claims;
    old.insert("exp".into(), 1_000.into());
    let expired = e.signer.sign_minted(&old);
    let err = refuse(&expired, false);
    assert!(
        err.message.contains("expired at 1970-01-01T00:16:40Z"),
        "{}",
        err.message
    );

    // Capability it lacks.
    let (watch_only, _) = token(&e, &stage_arn, json!({"capabilities": ["SUBSCRIBE"]}));
    let err = refuse(&watch_only, true);
    assert_eq!(err.kind.name(), "AccessDeniedException");
    assert!(err.message.contains("PUBLISH"), "{}", err.message);

    // Nothing was joined: no session started.
    let sessions = api(&e, "ListStageSessions", json!({"stageArn": stage_arn}));
    assert_eq!(sessions["stageSessions"], json!([]));

    // A deleted stage.
    let (doomed, _) = token(&e, &other_arn, json!({}));
    api(&e, "DeleteStage", json!({"arn": other_arn}));
    let err = refuse(&doomed, false);
    assert_eq!(err.kind.name(), "ResourceNotFoundException");
    assert!(err.message.contains("does not exist"), "{}", err.message);
}

#[test]
fn a_token_signed_with_an_imported_key_is_accepted_until_the_key_is_deleted() {
    let (e, _) = emulator();
    let (stage_arn, stage_id) = stage(&e);
    let app = jwt::Signer::generate();
    let imported = api(
        &e,
        "ImportPublicKey",
        json!({"publicKeyMaterial": app.public_key_pem(), "name": "app"}),
    );
    let key_arn = string(&imported["publicKey"]["arn"]);
    assert!(key_arn.contains(":public-key/"));
    assert_eq!(
        imported["publicKey"]["fingerprint"].as_str().unwrap().len(),
        47
    );
    let (kind, _) = refused(
        &e,
        "ImportPublicKey",
        json!({"publicKeyMaterial": app.public_key_pem()}),
    );
    assert_eq!(kind, "ConflictException");

    let now = crate::clock::now_millis() / 1000;
    let claims = json!({
        "exp": now + 600, "iat": now, "jti": "self-signed-1", "resource": stage_arn, "topic": stage_id,
        "user_id": "app-user", "capabilities": {"allow_publish": true, "allow_subscribe": true}, "version": "1.0",
    });
    let claims = claims.as_object().unwrap().clone();
    let token = app.sign(Some(&key_arn), &claims);
    let joined = join(&e, &token, true, true);
    assert_eq!(joined["participantId"], "self-signed-1");

    // The same claims under another key that names the imported one are forged.
    let forged = jwt::Signer::generate().sign(Some(&key_arn), &claims);
    let err = e
        .join_stage(&JoinRequest {
            token: forged,
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.kind.name(), "AccessDeniedException");

    api(&e, "DeletePublicKey", json!({"arn": key_arn}));
    let mut claims = claims;
    claims.insert("jti".into(), "self-signed-2".into());
    let err = e
        .join_stage(&JoinRequest {
            token: app.sign(Some(&key_arn), &claims),
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        err.message.contains("names no public key"),
        "{}",
        err.message
    );

    let (kind, message) = refused(
        &e,
        "ImportPublicKey",
        json!({"publicKeyMaterial": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}),
    );
    assert_eq!(kind, "ValidationException");
    assert!(message.contains("P-384"), "{message}");
}

#[test]
fn a_composition_runs_its_lifecycle_and_takes_its_channel_live() {
    let (e, events, stage_arn) = with_stage();
    let channel_arn = channel(&e);
    let encoder = api(&e, "CreateEncoderConfiguration", json!({}));
    let encoder_arn = string(&encoder["encoderConfiguration"]["arn"]);
    assert_eq!(
        encoder["encoderConfiguration"]["video"],
        json!({"width": 1280, "height": 720, "framerate": 30.0, "bitrate": 2_500_000})
    );
    let storage_arn = storage_configuration(&e, "vods");

    let started = api(
        &e,
        "StartComposition",
        json!({"stageArn": stage_arn, "destinations": [
            {"channel": {"channelArn": channel_arn, "encoderConfigurationArn": encoder_arn}},
            {"s3": {"storageConfigurationArn": storage_arn, "encoderConfigurationArns": [encoder_arn]}},
        ]}),
    );
    let composition = &started["composition"];
    let arn = string(&composition["arn"]);
    assert_eq!(composition["state"], "STARTING");
    assert_eq!(composition["layout"]["grid"]["gridGap"], 2);
    assert_eq!(composition["layout"]["grid"]["videoAspectRatio"], "VIDEO");
    assert_eq!(composition["destinations"][0]["state"], "STARTING");
    assert_eq!(
        composition["destinations"][1]["configuration"]["s3"]["recordingConfiguration"],
        json!({"format": "HLS", "hlsConfiguration": {"targetSegmentDurationSeconds": 2}})
    );

    // The encoder is in use; the channel is taken.
    let (kind, _) = refused(
        &e,
        "DeleteEncoderConfiguration",
        json!({"arn": encoder_arn}),
    );
    assert_eq!(kind, "ConflictException");
    let (kind, _) = refused(
        &e,
        "StartComposition",
        json!({"stageArn": stage_arn, "destinations": [{"channel": {"channelArn": channel_arn}}]}),
    );
    assert_eq!(kind, "ConflictException");

    // A participant joins: ACTIVE, and the channel is live.
    let (t, pid) = token(&e, &stage_arn, json!({}));
    join(&e, &t, true, false);
    let got = api(&e, "GetComposition", json!({"arn": arn}));
    assert_eq!(got["composition"]["state"], "ACTIVE");
    assert_eq!(got["composition"]["destinations"][0]["state"], "ACTIVE");
    assert!(e.state(None)["regions"]["us-west-2"]["live"][0]["channelArn"] == channel_arn.as_str());

    // Everyone leaves: a minute later the composition stops, a second later it has STOPPED.
    e.leave_stage(&pid, None).unwrap();
    let left_at = crate::clock::now_millis();
    let state_at = |at: u64| {
        e.with_region("us-west-2", |ctx| {
            super::advance(ctx, at);
            let id = arn.rsplit('/').next().unwrap();
            ctx.region.get(super::COMPOSITION, id).cloned()
        })
        .unwrap()
    };
    assert_eq!(state_at(left_at + 30_000).unwrap()["state"], "ACTIVE");
    assert_eq!(state_at(left_at + 60_500).unwrap()["state"], "STOPPING");
    assert!(
        e.state(None)["regions"]["us-west-2"].get("live").is_none(),
        "the broadcast stopped"
    );
    let stopped = state_at(left_at + 62_000).unwrap();
    assert_eq!(stopped["state"], "STOPPED");
    assert_eq!(stopped["destinations"][1]["state"], "STOPPED");
    assert!(stopped["endTime"].is_string());
    // The encoder is free again, and the STOPPED composition is deleted after a while.
    api(
        &e,
        "ListCompositions",
        json!({"filterByEncoderConfigurationArn": encoder_arn}),
    );
    assert!(state_at(left_at + 62_000 + super::compositions::STOPPED_KEPT_MS).is_none());
    assert_eq!(
        events
            .names()
            .into_iter()
            .filter(|n| n.starts_with("IVS Composition"))
            .collect::<Vec<_>>(),
        [
            "IVS Composition State Change: Session Start",
            "IVS Composition State Change: Destination Start",
            "IVS Composition State Change: Destination Start",
            "IVS Composition State Change: Destination End",
            "IVS Composition State Change: Destination End",
            "IVS Composition State Change: Session End",
        ]
    );
}

#[test]
fn configurations_are_validated_as_documented() {
    let (e, _) = emulator();
    let (kind, message) = refused(
        &e,
        "CreateEncoderConfiguration",
        json!({"video": {"width": 1281, "height": 720}}),
    );
    assert_eq!(kind, "ValidationException");
    assert!(message.contains("even"), "{message}");
    let (_, message) = refused(
        &e,
        "CreateEncoderConfiguration",
        json!({"video": {"width": 1920, "height": 1920}}),
    );
    assert!(message.contains("2073600"), "{message}");
    for _ in 0..20 {
        api(&e, "CreateEncoderConfiguration", json!({}));
    }
    let (kind, _) = refused(&e, "CreateEncoderConfiguration", json!({}));
    assert_eq!(kind, "ServiceQuotaExceededException");

    let (kind, message) = refused(
        &e,
        "CreateIngestConfiguration",
        json!({"ingestProtocol": "RTMP"}),
    );
    assert_eq!(kind, "ValidationException");
    assert!(message.contains("insecureIngest"), "{message}");
    let ingest = api(
        &e,
        "CreateIngestConfiguration",
        json!({"ingestProtocol": "RTMPS", "userId": "encoder", "redundantIngest": true}),
    );
    let config = &ingest["ingestConfiguration"];
    assert_eq!(config["state"], "INACTIVE");
    let key = config["streamKey"].as_str().unwrap();
    assert!(key.starts_with("rt_123456789012_us-west-2_"), "{key}");
    // The key is a secret of the shape the redaction takes whole.
    assert!(!crate::redact::redact_text(key).contains(&key[key.len() - 20..]));
    assert_eq!(
        config["redundantIngestCredentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (kind, _) = refused(
        &e,
        "ListIngestConfigurations",
        json!({"filterByState": "ACTIVE", "filterByStageArn": "arn:aws:ivs:us-west-2:123456789012:stage/abc"}),
    );
    assert_eq!(kind, "ValidationException");
}

#[test]
fn delete_stage_disconnects_everyone_and_its_tokens_stop_working() {
    let (e, _, stage_arn) = with_stage();
    let (t1, p1) = token(&e, &stage_arn, json!({}));
    let (t2, _) = token(&e, &stage_arn, json!({}));
    let session = string(&join(&e, &t1, true, true)["sessionId"]);
    join(&e, &t2, false, true);
    api(
        &e,
        "DisconnectParticipant",
        json!({"stageArn": stage_arn, "participantId": p1, "reason": "bye"}),
    );
    let p = participant(&e, &stage_arn, &session, &p1);
    assert_eq!(p["state"], "DISCONNECTED");
    api(&e, "DeleteStage", json!({"arn": stage_arn}));
    let (kind, _) = refused(&e, "GetStage", json!({"arn": stage_arn}));
    assert_eq!(kind, "ResourceNotFoundException");
    let state = e.state(None);
    assert!(
        state["regions"]["us-west-2"].get("stageSessions").is_none(),
        "{state}"
    );
    assert!(e
        .join_stage(&JoinRequest {
            token: t2,
            ..Default::default()
        })
        .is_err());
}

#[test]
fn tags_reach_every_realtime_resource_through_the_shared_routes() {
    let (e, _, stage_arn) = with_stage();
    let tags = |method: &str, query: Vec<(String, Vec<String>)>, body: Option<Value>, arn: &str| {
        let path = format!("/tags/{}", arn.replace(':', "%3A").replace('/', "%2F"));
        let mut request = request(Service::IvsRealTime, method, path, body);
        request.query = query.into_iter().collect();
        e.answer_as(None, &request).unwrap()
    };
    ok(&tags(
        "POST",
        vec![],
        Some(json!({"tags": {"a": "1", "b": "2"}})),
        &stage_arn,
    ));
    ok(&tags(
        "DELETE",
        vec![("tagKeys".into(), vec!["a".into()])],
        None,
        &stage_arn,
    ));
    let listed = ok(&tags("GET", vec![], None, &stage_arn));
    assert_eq!(listed["tags"], json!({"b": "2"}));
    let gone = stage_arn.replace(&stage_arn[stage_arn.len() - 12..], "AAAAAAAAAAAA");
    assert_eq!(
        error(&tags("GET", vec![], None, &gone)).0,
        "ResourceNotFoundException"
    );
}

/// One step of the property test.
#[derive(Debug, Clone)]
enum Step {
    Join {
        token: usize,
        publish: bool,
    },
    Leave {
        token: usize,
    },
    Disconnect {
        token: usize,
    },
    DeleteStage {
        stage: usize,
    },
    /// The clock passes the time a session outlives its last participant.
    Wait,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..6usize, any::<bool>()).prop_map(|(token, publish)| Step::Join { token, publish }),
        3 => (0..6usize).prop_map(|token| Step::Leave { token }),
        1 => (0..6usize).prop_map(|token| Step::Disconnect { token }),
        1 => (0..2usize).prop_map(|stage| Step::DeleteStage { stage }),
        1 => Just(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever joins, leaves, disconnections and deletions happen: a stage has at most one
    /// active session, it is the stage's `activeSessionId`, and only it has CONNECTED
    /// participants; the connected participants are exactly those that joined and did not leave
    /// since; a participant's events alternate JOINED … LEFT; a deleted stage has no state left.
    #[test]
    fn stage_and_participant_invariants_hold(steps in proptest::collection::vec(step(), 1..40)) {
        let (e, _) = emulator();
        let stages: Vec<(String, String)> = (0..2).map(|_| stage(&e)).collect();
        // Three tokens per stage: tokens 0..3 for stage 0, 3..6 for stage 1.
        let tokens: Vec<(String, String)> = (0..6)
            .map(|i| token(&e, &stages[i / 3].0, json!({})))
            .collect();
        let mut deleted = [false, false];
        let mut connected = std::collections::BTreeSet::new();
        // Every later step happens after the waits so far.
        let mut waited = 0;
        for step in steps {
            let waiting = matches!(step, Step::Wait);
            match step {
                Step::Join { token, publish } => {
                    let result = e.join_stage(&JoinRequest {
                        token: tokens[token].0.clone(),
                        publish: Some(publish),
                        subscribe: Some(true),
                    });
                    prop_assert_eq!(result.is_ok(), !deleted[token / 3]);
                    if result.is_ok() {
                        connected.insert(token);
                    }
                }
                Step::Leave { token } => {
                    let result = e.leave_stage(&tokens[token].1, None);
                    prop_assert_eq!(result.is_ok(), connected.remove(&token));
                }
                Step::Disconnect { token } => {
                    let answer = call(&e, "DisconnectParticipant", json!({"stageArn": stages[token / 3].0, "participantId": tokens[token].1}));
                    prop_assert_eq!(answer.error.is_none(), connected.remove(&token));
                }
                Step::DeleteStage { stage } => {
                    let answer = call(&e, "DeleteStage", json!({"arn": stages[stage].0}));
                    prop_assert_eq!(answer.error.is_none(), !deleted[stage]);
                    deleted[stage] = true;
                    connected.retain(|t| t / 3 != stage);
                }
                Step::Wait => {
                    waited += super::participants::SESSION_END_MS + 1;
                    settle(&e, waited);
                }
            }
            // The region's count of participant records is what its sessions hold.
            let (counted, held) = e
                .with_region("us-west-2", |ctx| {
                    let live = &ctx.region.realtime;
                    let held: usize = live
                        .stages
                        .values()
                        .flat_map(|l| &l.sessions)
                        .map(|s| s.participants.len())
                        .sum();
                    (live.n_participants, held)
                })
                .unwrap();
            prop_assert_eq!(counted, held);
            for (s, (stage_arn, stage_id)) in stages.iter().enumerate() {
                let live = e
                    .with_region("us-west-2", |ctx| {
                        ctx.region.realtime.stages.get(stage_id).map(|l| l.sessions.clone())
                    })
                    .unwrap();
                if deleted[s] {
                    prop_assert!(live.is_none());
                    continue;
                }
                let sessions = live.unwrap_or_default();
                let active: Vec<_> = sessions.iter().filter(|x| x.end_time.is_none()).collect();
                prop_assert!(active.len() <= 1);
                let stage_json = api(&e, "GetStage", json!({"arn": stage_arn}));
                prop_assert_eq!(
                    stage_json["stage"].get("activeSessionId").and_then(Value::as_str),
                    active.first().map(|x| x.id.as_str())
                );
                for session in &sessions {
                    for (pid, p) in &session.participants {
                        let expect = session.end_time.is_none()
                            && (0..6).any(|t| t / 3 == s && tokens[t].1 == *pid && connected.contains(&t));
                        prop_assert_eq!(p.connected(), expect, "{} in {}", pid, session.id);
                        let names: Vec<&str> = p
                            .events
                            .iter()
                            .filter_map(|ev| ev["name"].as_str())
                            .filter(|n| matches!(*n, "JOINED" | "LEFT"))
                            .collect();
                        for pair in names.windows(2) {
                            prop_assert_ne!(pair[0], pair[1]);
                        }
                        prop_assert_eq!(names.first().copied(), Some("JOINED"));
                        prop_assert_eq!(names.last().copied() == Some("JOINED"), p.connected());
                    }
                }
                let n_connected = active
                    .first()
                    .map_or(0, |x| x.participants.values().filter(|p| p.connected()).count());
                prop_assert_eq!(n_connected, connected.iter().filter(|t| *t / 3 == s).count());
                // Once the clock has passed the grace time, a stage nobody is in has no session.
                if waiting && n_connected == 0 {
                    prop_assert!(active.is_empty(), "stage {} still has a session", s);
                }
            }
        }
    }
}

#[test]
fn a_replicated_publisher_appears_in_the_other_stage_until_it_leaves() {
    let (e, events) = emulator();
    let (source, _) = stage(&e);
    let (destination, destination_id) = stage(&e);
    let (t, pid) = token(&e, &source, json!({"userId": "star"}));
    let session = string(&join(&e, &t, false, false)["sessionId"]);
    let replication =
        json!({"sourceStageArn": source, "destinationStageArn": destination, "participantId": pid});
    let (kind, message) = refused(&e, "StartParticipantReplication", replication.clone());
    assert_eq!(kind, "ConflictException");
    assert!(message.contains("not publishing"), "{message}");
    join(&e, &t, true, false);
    api(&e, "StartParticipantReplication", replication.clone());
    let (kind, _) = refused(&e, "StartParticipantReplication", replication);
    assert_eq!(kind, "ConflictException", "already replicated");
    let replicas = api(
        &e,
        "ListParticipantReplicas",
        json!({"sourceStageArn": source, "participantId": pid}),
    );
    let replica = &replicas["replicas"][0];
    assert_eq!(replica["replicationState"], "ACTIVE");
    let destination_session = string(&replica["destinationSessionId"]);
    let got = api(&e, "GetStage", json!({"arn": destination}));
    assert_eq!(
        got["stage"]["activeSessionId"],
        destination_session.as_str()
    );
    let copy = participant(&e, &destination, &destination_session, &pid);
    assert_eq!(copy["replicationType"], "REPLICA");
    assert_eq!(copy["sourceStageArn"], source.as_str());
    assert_eq!(copy["sourceSessionId"], session.as_str());
    assert_eq!(copy["published"], true);

    // The source leaves: the replication stops and the replica leaves its stage.
    e.leave_stage(&pid, Some(&source)).unwrap();
    let replicas = api(
        &e,
        "ListParticipantReplicas",
        json!({"sourceStageArn": source, "participantId": pid}),
    );
    assert_eq!(replicas["replicas"][0]["replicationState"], "STOPPED");
    let names = event_names(&e, &source, &session, &pid);
    assert_eq!(
        names,
        [
            "JOINED",
            "PUBLISH_STARTED",
            "REPLICATION_STARTED",
            "PUBLISH_STOPPED",
            "REPLICATION_STOPPED",
            "LEFT"
        ]
    );
    assert_eq!(
        event_names(&e, &destination, &destination_session, &pid),
        ["JOINED", "PUBLISH_STARTED", "PUBLISH_STOPPED", "LEFT"]
    );
    let during = api(&e, "GetStage", json!({"arn": destination}));
    assert!(during["stage"]["activeSessionId"].is_string());
    settle(&e, super::participants::SESSION_END_MS);
    let after = api(&e, "GetStage", json!({"arn": destination}));
    assert_eq!(
        after["stage"].get("activeSessionId"),
        None,
        "{destination_id}"
    );
    assert!(events
        .names()
        .contains(&"IVS Stage Update: Participant Replication Started".to_owned()));
    assert!(events
        .names()
        .contains(&"IVS Stage Update: Participant Replication Stopped".to_owned()));
}

#[test]
fn publishers_are_recorded_when_the_stage_has_a_storage_configuration() {
    let (e, events) = emulator();
    let storage_arn = storage_configuration(&e, "rec");
    let (kind, _) = refused(
        &e,
        "CreateStage",
        json!({"autoParticipantRecordingConfiguration": {"storageConfigurationArn": storage_arn.replace(&storage_arn[storage_arn.len() - 12..], "AAAAAAAAAAAA")}}),
    );
    assert_eq!(kind, "ResourceNotFoundException");
    let out = api(
        &e,
        "CreateStage",
        json!({"autoParticipantRecordingConfiguration": {"storageConfigurationArn": storage_arn, "mediaTypes": ["AUDIO_ONLY"]}}),
    );
    let stage_arn = string(&out["stage"]["arn"]);
    assert_eq!(
        out["stage"]["autoParticipantRecordingConfiguration"]["mediaTypes"],
        json!(["AUDIO_ONLY"])
    );
    let (t, pid) = token(&e, &stage_arn, json!({}));
    let session = string(&join(&e, &t, true, false)["sessionId"]);
    let p = participant(&e, &stage_arn, &session, &pid);
    assert_eq!(p["recordingState"], "ACTIVE");
    assert_eq!(p["recordingS3BucketName"], "rec");
    assert_eq!(p["recordingS3Prefix"].as_str().unwrap().len(), 12);
    // "this cannot be updated while recording is active".
    let (kind, _) = refused(
        &e,
        "UpdateStage",
        json!({"arn": stage_arn, "autoParticipantRecordingConfiguration": {"storageConfigurationArn": ""}}),
    );
    assert_eq!(kind, "ConflictException");
    api(
        &e,
        "UpdateStage",
        json!({"arn": stage_arn, "name": "renamed"}),
    );
    e.leave_stage(&pid, None).unwrap();
    let p = participant(&e, &stage_arn, &session, &pid);
    assert_eq!(p["recordingState"], "STOPPED");
    // Setting "" resets the other members to their defaults.
    let updated = api(
        &e,
        "UpdateStage",
        json!({"arn": stage_arn, "autoParticipantRecordingConfiguration": {"storageConfigurationArn": "", "mediaTypes": ["AUDIO_ONLY"]}}),
    );
    assert_eq!(
        updated["stage"]["autoParticipantRecordingConfiguration"]["mediaTypes"],
        json!(["AUDIO_VIDEO"])
    );
    let names = events.names();
    assert!(
        names.contains(&"IVS Participant Recording State Change: Recording Start".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"IVS Participant Recording State Change: Recording End".to_owned()),
        "{names:?}"
    );
}

#[test]
fn compositions_are_checked_before_they_start() {
    let (e, _, stage_arn) = with_stage();
    let encoder_arn = encoder_configuration(&e);
    let storage_arn = storage_configuration(&e, "vods");
    let s3 = json!({"s3": {"storageConfigurationArn": storage_arn, "encoderConfigurationArns": [encoder_arn]}});
    let (kind, message) = refused(
        &e,
        "StartComposition",
        json!({"stageArn": stage_arn, "destinations": [s3, s3]}),
    );
    assert_eq!(kind, "ValidationException");
    assert!(message.contains("one channel and one s3"), "{message}");
    let (kind, _) = refused(
        &e,
        "StartComposition",
        json!({"stageArn": stage_arn, "destinations": [{}]}),
    );
    assert_eq!(kind, "ValidationException");
    let missing_channel = "arn:aws:ivs:us-west-2:123456789012:channel/AAAAAAAAAAAA";
    let (kind, _) = refused(
        &e,
        "StartComposition",
        json!({"stageArn": stage_arn, "destinations": [{"channel": {"channelArn": missing_channel}}]}),
    );
    assert_eq!(kind, "ResourceNotFoundException");
    // The same idempotency token answers the same composition.
    let body = json!({"stageArn": stage_arn, "idempotencyToken": "t-1", "destinations": [s3]});
    let first = api(&e, "StartComposition", body.clone());
    let again = api(&e, "StartComposition", body);
    assert_eq!(first["composition"]["arn"], again["composition"]["arn"]);
    for _ in 0..4 {
        api(
            &e,
            "StartComposition",
            json!({"stageArn": stage_arn, "destinations": [s3]}),
        );
    }
    let (kind, message) = refused(
        &e,
        "StartComposition",
        json!({"stageArn": stage_arn, "destinations": [s3]}),
    );
    assert_eq!(kind, "ServiceQuotaExceededException");
    assert!(message.contains("at most 5"), "{message}");
    let listed = api(&e, "ListCompositions", json!({"maxResults": 2}));
    assert_eq!(listed["compositions"].as_array().unwrap().len(), 2);
    assert!(listed["nextToken"].is_string());
    assert!(
        listed["compositions"][0]["destinations"][0]
            .get("configuration")
            .is_none(),
        "a DestinationSummary"
    );
}

#[test]
fn a_channel_that_went_live_fails_its_destination() {
    let (e, events, stage_arn) = with_stage();
    let channel_arn = channel(&e);
    let started = api(
        &e,
        "StartComposition",
        json!({"stageArn": stage_arn, "destinations": [{"channel": {"channelArn": channel_arn}}]}),
    );
    let arn = string(&started["composition"]["arn"]);
    // Another encoder takes the channel live before anyone joins the stage.
    e.start_stream(&channel_arn, None, 0).unwrap();
    let (t, _) = token(&e, &stage_arn, json!({}));
    join(&e, &t, false, true);
    let got = api(&e, "GetComposition", json!({"arn": arn}));
    assert_eq!(got["composition"]["state"], "FAILED");
    assert_eq!(got["composition"]["destinations"][0]["state"], "FAILED");
    assert!(events
        .names()
        .contains(&"IVS Composition State Change: Destination Failure".to_owned()));
    // The failed composition counts against nothing.
    let (kind, _) = refused(
        &e,
        "StopComposition",
        json!({"arn": "arn:aws:ivs:us-west-2:123456789012:composition/AAAAAAAAAAAA"}),
    );
    assert_eq!(kind, "ResourceNotFoundException");
}

#[test]
fn participants_page_in_id_order_whatever_their_ids_hold() {
    let (e, _) = emulator();
    let (stage_arn, stage_id) = stage(&e);
    let app = jwt::Signer::generate();
    let key = api(
        &e,
        "ImportPublicKey",
        json!({"publicKeyMaterial": app.public_key_pem()}),
    );
    let kid = string(&key["publicKey"]["arn"]);
    let now = crate::clock::now_millis() / 1000;
    let mut session = String::new();
    for pid in ["b-2", "a_1", "c-3"] {
        let claims = json!({"exp": now + 60, "jti": pid, "resource": stage_arn, "topic": stage_id});
        session = string(
            &join(
                &e,
                &app.sign(Some(&kid), claims.as_object().unwrap()),
                false,
                false,
            )["sessionId"],
        );
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"stageArn": stage_arn, "sessionId": session, "maxResults": 2});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let page = api(&e, "ListParticipants", body);
        for p in page["participants"].as_array().unwrap() {
            seen.push(string(&p["participantId"]));
        }
        match page.get("nextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["a_1", "b-2", "c-3"]);
}

/// The Real-Time user guide's "API Call Rate Quotas" table:
/// <https://docs.aws.amazon.com/ivs/latest/RealTimeUserGuide/service-quotas.html>. Kept here,
/// apart from `rates.rs`, so that this test checks the emulator against the page.
const REALTIME_GUIDE_TPS: &[(&str, usize)] = &[
    ("GetComposition", 5),
    ("ListCompositions", 5),
    ("StartComposition", 5),
    ("StopComposition", 5),
    ("CreateIngestConfiguration", 5),
    ("DeleteIngestConfiguration", 5),
    ("GetIngestConfiguration", 5),
    ("ListIngestConfigurations", 5),
    ("UpdateIngestConfiguration", 5),
    ("CreateEncoderConfiguration", 5),
    ("DeleteEncoderConfiguration", 5),
    ("GetEncoderConfiguration", 5),
    ("ListEncoderConfigurations", 5),
    ("DeletePublicKey", 3),
    ("GetPublicKey", 3),
    ("ImportPublicKey", 3),
    ("ListPublicKeys", 3),
    ("CreateParticipantToken", 50),
    ("CreateStage", 5),
    ("DeleteStage", 5),
    ("DisconnectParticipant", 5),
    ("GetParticipant", 5),
    ("GetStage", 5),
    ("GetStageSession", 5),
    ("ListStages", 5),
    ("UpdateStage", 5),
    ("ListParticipants", 5),
    ("ListParticipantEvents", 5),
    ("ListStageSessions", 5),
    ("CreateStorageConfiguration", 5),
    ("DeleteStorageConfiguration", 5),
    ("GetStorageConfiguration", 5),
    ("ListStorageConfigurations", 5),
    ("ListTagsForResource", 10),
    ("TagResource", 10),
    ("UntagResource", 10),
];

/// With `--rate-limits`, every Real-Time operation the guide's table lists answers its documented
/// calls a second and throttles the next (counted before the input is read, so empty bodies do);
/// an operation it does not list (the replication calls, RevokeConnectionToken) is never
/// throttled.
#[test]
fn every_realtime_operation_is_throttled_at_its_documented_rate() {
    let e = Emulator::new(EmulatorOptions {
        rate_limits: true,
        ..EmulatorOptions::default()
    });
    for op in Service::IvsRealTime.catalog().operations {
        let path = match op.route {
            crate::ivs::Route::Post => format!("/{}", op.name),
            crate::ivs::Route::Tags => {
                "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Astage%2Fabc".to_owned()
            }
        };
        let send = || {
            e.answer_as(
                None,
                &request(
                    Service::IvsRealTime,
                    op.method,
                    path.clone(),
                    Some(json!({})),
                ),
            )
            .expect("a Real-Time operation")
            .error
        };
        let documented = REALTIME_GUIDE_TPS.iter().find(|(n, _)| *n == op.name);
        let tps = documented.map_or(100, |(_, tps)| *tps);
        for n in 0..tps {
            assert_ne!(send(), Some("ThrottlingException"), "{} call {n}", op.name);
        }
        let expected = documented.map(|_| "ThrottlingException");
        assert_eq!(
            send().filter(|e| *e == "ThrottlingException"),
            expected,
            "{}",
            op.name
        );
    }
}

/// The number of items a List answer holds, and whether it has a next page.
fn page_of(e: &Emulator, op: &str, body: Value, member: &str) -> (usize, bool) {
    let out = api(e, op, body);
    (
        out[member].as_array().unwrap().len(),
        out["nextToken"].is_string(),
    )
}

/// Without `maxResults`, each List call answers the page its model documents ("Default: 50",
/// "Default: 100", ListStorageConfigurations' "your service quota or 100, whichever is smaller"),
/// with a token for the rest. ListEncoderConfigurations (100) and ListPublicKeys (50) cannot
/// reach theirs under the quotas of 20 and 3.
#[test]
fn list_calls_page_at_their_documented_default_sizes() {
    let (e, _, stage_arn) = with_stage();
    for _ in 0..50 {
        stage(&e);
    }
    assert_eq!(page_of(&e, "ListStages", json!({}), "stages"), (50, true));
    for _ in 0..51 {
        api(
            &e,
            "CreateIngestConfiguration",
            json!({"ingestProtocol": "RTMPS"}),
        );
    }
    assert_eq!(
        page_of(
            &e,
            "ListIngestConfigurations",
            json!({}),
            "ingestConfigurations"
        ),
        (50, true)
    );
    let encoder_arn = encoder_configuration(&e);
    let mut storage_arn = String::new();
    for _ in 0..101 {
        storage_arn = storage_configuration(&e, "vods");
    }
    assert_eq!(
        page_of(
            &e,
            "ListStorageConfigurations",
            json!({}),
            "storageConfigurations"
        ),
        (100, true)
    );

    // 51 participants in one session; the first toggles publishing for 51 events.
    let (first, first_pid) = token(&e, &stage_arn, json!({}));
    let session = string(&join(&e, &first, false, false)["sessionId"]);
    for _ in 0..25 {
        join(&e, &first, true, false);
        join(&e, &first, false, false);
    }
    for _ in 0..50 {
        join(&e, &token(&e, &stage_arn, json!({})).0, false, false);
    }
    let in_session = json!({"stageArn": stage_arn, "sessionId": session});
    assert_eq!(
        page_of(&e, "ListParticipants", in_session.clone(), "participants"),
        (50, true)
    );
    let mut of_first = in_session.clone();
    of_first["participantId"] = json!(first_pid);
    assert_eq!(
        page_of(&e, "ListParticipantEvents", of_first, "events"),
        (50, true)
    );

    // 51 replications of one publisher, each to a stage of its own.
    join(&e, &first, true, false);
    for _ in 0..51 {
        let (destination, _) = stage(&e);
        api(
            &e,
            "StartParticipantReplication",
            json!({"sourceStageArn": stage_arn, "destinationStageArn": destination, "participantId": first_pid}),
        );
    }
    assert_eq!(
        page_of(
            &e,
            "ListParticipantReplicas",
            json!({"sourceStageArn": stage_arn, "participantId": first_pid}),
            "replicas"
        ),
        (50, true)
    );

    // 51 sessions of one stage: each ends once its only participant has left.
    let (quiet, _) = stage(&e);
    for _ in 0..51 {
        let (t, pid) = token(&e, &quiet, json!({}));
        join(&e, &t, false, false);
        e.leave_stage(&pid, Some(&quiet)).unwrap();
        settle(&e, super::participants::SESSION_END_MS + 1_000);
    }
    assert_eq!(
        page_of(
            &e,
            "ListStageSessions",
            json!({"stageArn": quiet}),
            "stageSessions"
        ),
        (50, true)
    );

    // 105 compositions: 100 stopped and kept, 5 running.
    let s3 = json!([{"s3": {"storageConfigurationArn": storage_arn, "encoderConfigurationArns": [encoder_arn]}}]);
    for round in 0..21 {
        let mut started = Vec::new();
        for _ in 0..5 {
            let out = api(
                &e,
                "StartComposition",
                json!({"stageArn": stage_arn, "destinations": s3}),
            );
            started.push(string(&out["composition"]["arn"]));
        }
        if round < 20 {
            for arn in started {
                api(&e, "StopComposition", json!({"arn": arn}));
            }
            settle(&e, super::compositions::STOPPING_MS + 1_000);
        }
    }
    assert_eq!(
        page_of(&e, "ListCompositions", json!({}), "compositions"),
        (100, true)
    );
}

/// Each of an S3 destination's thumbnail configurations gets `CompositionThumbnailConfiguration`'s
/// documented defaults ("Default: 60", "Default: SEQUENTIAL"); what is given is kept.
#[test]
fn composition_thumbnails_get_their_documented_defaults() {
    let (e, _, stage_arn) = with_stage();
    let storage_arn = storage_configuration(&e, "vods");
    let encoder_arn = encoder_configuration(&e);
    let thumbnails_of = |given: Value| {
        let out = api(
            &e,
            "StartComposition",
            json!({"stageArn": stage_arn, "destinations": [{"s3": {
                "storageConfigurationArn": storage_arn,
                "encoderConfigurationArns": [encoder_arn],
                "thumbnailConfigurations": [given],
            }}]}),
        );
        out["composition"]["destinations"][0]["configuration"]["s3"]["thumbnailConfigurations"]
            .clone()
    };
    assert_eq!(
        thumbnails_of(json!({})),
        json!([{"targetIntervalSeconds": 60, "storage": ["SEQUENTIAL"]}])
    );
    let given = json!({"targetIntervalSeconds": 10, "storage": ["LATEST"]});
    assert_eq!(thumbnails_of(given.clone()), json!([given]));
}

/// The resource bounds the emulator infers where the quotas page could not be read: 1,000
/// stages, storage and ingest configurations, and 3 public keys (the playback key pairs' quota),
/// per account and region; each refusal is a ServiceQuotaExceededException naming the bound.
#[test]
fn inferred_resource_quotas_refuse_the_next_create() {
    let (e, _) = emulator();
    let key = || json!({"publicKeyMaterial": jwt::Signer::generate().public_key_pem()});
    let families: [(&str, usize, &dyn Fn() -> Value); 4] = [
        ("CreateStage", 1_000, &|| json!({})),
        (
            "CreateStorageConfiguration",
            1_000,
            &|| json!({"s3": {"bucketName": "vods"}}),
        ),
        (
            "CreateIngestConfiguration",
            1_000,
            &|| json!({"ingestProtocol": "RTMPS"}),
        ),
        ("ImportPublicKey", 3, &key),
    ];
    for (op, bound, input) in families {
        for _ in 0..bound {
            api(&e, op, input());
        }
        let (kind, message) = refused(&e, op, input());
        assert_eq!(kind, "ServiceQuotaExceededException", "{op}");
        assert!(
            message.contains(&format!("at most {bound} ")),
            "{op}: {message}"
        );
    }
}

/// "Stage participants: publishers 12" (the quotas page): a thirteenth join to publish is
/// refused whole, and the same participant may still join to subscribe.
#[test]
fn a_stage_takes_twelve_publishers() {
    let (e, _, stage_arn) = with_stage();
    for _ in 0..12 {
        join(&e, &token(&e, &stage_arn, json!({})).0, true, false);
    }
    let (thirteenth, _) = token(&e, &stage_arn, json!({}));
    let refused = e
        .join_stage(&JoinRequest {
            token: thirteenth.clone(),
            publish: Some(true),
            subscribe: Some(false),
        })
        .unwrap_err();
    assert_eq!(
        refused.kind,
        crate::ivs::ErrorType::ServiceQuotaExceededException
    );
    join(&e, &thirteenth, false, true);
}

/// Whether `stop` was notified (a stored permit: the encoder's connection task would see it).
fn notified(stop: &tokio::sync::Notify) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        tokio::time::timeout(std::time::Duration::ZERO, stop.notified())
            .await
            .is_ok()
    })
}

/// A redundant RTMPS ingest configuration of `stage_arn`: the configuration and its backup
/// publisher's credentials.
fn redundant_ingest(e: &Emulator, stage_arn: &str) -> (Value, Value) {
    let out = api(
        e,
        "CreateIngestConfiguration",
        json!({"ingestProtocol": "RTMPS", "stageArn": stage_arn, "redundantIngest": true}),
    );
    let config = out["ingestConfiguration"].clone();
    let backup = config["redundantIngestCredentials"][0].clone();
    (config, backup)
}

/// Publishes over RTMP with `credentials`' stream key: the handle the emulator notifies when it
/// drops the encoder.
fn publish(e: &Emulator, credentials: &Value) -> Arc<tokio::sync::Notify> {
    let stop = Arc::new(tokio::sync::Notify::new());
    e.start_stage_ingest(credentials["streamKey"].as_str().unwrap(), stop.clone())
        .unwrap();
    stop
}

/// A forced DeleteIngestConfiguration disconnects both of a redundant configuration's publishers
/// ("the participant is disconnected from the stage") and drops both encoders.
#[test]
fn a_forced_ingest_deletion_disconnects_and_drops_both_redundant_publishers() {
    let (e, _, stage_arn) = with_stage();
    let (config, backup) = &redundant_ingest(&e, &stage_arn);
    let publishers: Vec<(String, Arc<tokio::sync::Notify>)> = [config, backup]
        .iter()
        .map(|c| (string(&c["participantId"]), publish(&e, c)))
        .collect();
    let session =
        string(&api(&e, "GetStage", json!({"arn": stage_arn}))["stage"]["activeSessionId"]);
    assert!(!notified(&publishers[0].1), "nothing dropped yet");
    api(
        &e,
        "DeleteIngestConfiguration",
        json!({"arn": config["arn"], "force": true}),
    );
    for (pid, stop) in &publishers {
        let p = participant(&e, &stage_arn, &session, pid);
        assert_eq!(p["state"], "DISCONNECTED", "{pid}");
        assert!(notified(stop), "the encoder of {pid} is dropped");
    }
}

/// DisconnectParticipant: "If the participant is publishing using an IngestConfiguration,
/// DisconnectParticipant also updates the stageArn in the IngestConfiguration to be an empty
/// string", also when the participant is a redundant configuration's backup publisher.
#[test]
fn disconnecting_a_redundant_backup_publisher_detaches_its_ingest_configuration() {
    let (e, _, stage_arn) = with_stage();
    let (config, backup) = &redundant_ingest(&e, &stage_arn);
    let stop = publish(&e, backup);
    let read = |e: &Emulator| {
        api(e, "GetIngestConfiguration", json!({"arn": config["arn"]}))["ingestConfiguration"]
            .clone()
    };
    assert_eq!(read(&e)["stageArn"], stage_arn.as_str());
    assert_eq!(read(&e)["state"], "ACTIVE");
    let session =
        string(&api(&e, "GetStage", json!({"arn": stage_arn}))["stage"]["activeSessionId"]);
    let pid = string(&backup["participantId"]);
    api(
        &e,
        "DisconnectParticipant",
        json!({"stageArn": stage_arn, "participantId": pid}),
    );
    let after = read(&e);
    assert_eq!(after["stageArn"], "", "{after}");
    assert_eq!(after["state"], "INACTIVE", "{after}");
    assert_eq!(
        participant(&e, &stage_arn, &session, &pid)["state"],
        "DISCONNECTED"
    );
    assert!(notified(&stop), "the backup encoder is dropped");
}

/// IngestConfiguration.state: "It is ACTIVE if a publisher currently is publishing to the stage
/// associated with the ingest configuration". With redundant ingest, the primary's encoder ending
/// leaves the configuration ACTIVE while the backup still publishes; INACTIVE once both are gone.
#[test]
fn a_redundant_configuration_stays_active_while_either_publisher_publishes() {
    let (e, _, stage_arn) = with_stage();
    let (config, backup) = &redundant_ingest(&e, &stage_arn);
    for publisher in [config, backup] {
        publish(&e, publisher);
    }
    let state = |e: &Emulator| {
        string(
            &api(e, "GetIngestConfiguration", json!({"arn": config["arn"]}))["ingestConfiguration"]
                ["state"],
        )
    };
    let session =
        string(&api(&e, "GetStage", json!({"arn": stage_arn}))["stage"]["activeSessionId"]);
    e.end_stage_ingest(&string(&config["participantId"]), &stage_arn, &session);
    assert_eq!(state(&e), "ACTIVE", "the backup still publishes");
    e.end_stage_ingest(&string(&backup["participantId"]), &stage_arn, &session);
    assert_eq!(state(&e), "INACTIVE");
}
