//! IVS Real-Time through record, replay and diff (issue 25, part 2): recorded through the
//! recorder signed as `ivs`, with participant tokens and ingest stream keys kept out of the
//! cassette and the log, and handed back on replay as fakes of their own shape (a JWT that
//! decodes to the recorded claims' names and types; an `rt_…` key); drift reported under
//! Real-Time's operations.

use aws_sdk_ivsrealtime::types::{
    IngestProtocol, ParticipantTokenCapability, ParticipantTokenConfiguration,
};
use base64::Engine as _;
use ivs_vcr::__private::redact;
use ivs_vcr::{Cassette, ReplayServer};
use serde_json::Value;

use crate::support::fake_ivs::{FakeIvs, OperatorCredentials, ACCOUNT};
use crate::support::stages::{new_encoder, new_storage, s3_destination};
use crate::support::verify::{
    against_fake_aws, against_the_emulator, recorded, routes_received, FromEmulator,
};
use crate::support::{realtime_client, OPERATOR_KEY, OPERATOR_SECRET};

/// The header and claims of a JWT, decoded, or a panic saying why not.
fn decode_jwt(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {token}");
    let part = |p: &str| -> Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .unwrap_or_else(|e| panic!("{p} is no base64url: {e}"));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{p} is no JSON: {e}"))
    };
    (part(parts[0]), part(parts[1]))
}

/// The JSON type of every value in `value`, by its path, and every member name.
fn shape(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            out.push(format!("{path}: object"));
            for (k, v) in map {
                shape(v, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(items) => {
            out.push(format!("{path}: array of {}", items.len()));
            for (i, v) in items.iter().enumerate() {
                shape(v, &format!("{path}[{i}]"), out);
            }
        }
        Value::String(_) => out.push(format!("{path}: string")),
        Value::Number(n) if n.is_f64() => out.push(format!("{path}: float")),
        Value::Number(_) => out.push(format!("{path}: integer")),
        Value::Bool(b) => out.push(format!("{path}: {b}")),
        Value::Null => out.push(format!("{path}: null")),
    }
}

fn shape_of(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    shape(value, "", &mut out);
    out
}

/// Every string and number leaf of `value`.
fn leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.values().for_each(|v| leaves(v, out)),
        Value::Array(items) => items.iter().for_each(|v| leaves(v, out)),
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        _ => {}
    }
}

/// The calls both the recording and the replay make: a stage with two tokens, a third token,
/// an ingest configuration. Returns the tokens and the stream key.
async fn stage_flow(rt: &aws_sdk_ivsrealtime::Client) -> (Vec<String>, String) {
    let config = |user: &str, capability: ParticipantTokenCapability| {
        ParticipantTokenConfiguration::builder()
            .user_id(user)
            .attributes("displayName", format!("{user} on stage"))
            .capabilities(capability)
            .build()
    };
    let stage = rt
        .create_stage()
        .name("studio")
        .participant_token_configurations(config("host-1", ParticipantTokenCapability::Publish))
        .participant_token_configurations(config("guest-2", ParticipantTokenCapability::Subscribe))
        .send()
        .await
        .unwrap();
    let stage_arn = stage.stage().unwrap().arn().to_owned();
    let mut tokens: Vec<String> = stage
        .participant_tokens()
        .iter()
        .map(|t| t.token().unwrap().to_owned())
        .collect();
    let token = rt
        .create_participant_token()
        .stage_arn(&stage_arn)
        .user_id("viewer-3")
        .duration(60)
        .send()
        .await
        .unwrap();
    tokens.push(
        token
            .participant_token()
            .unwrap()
            .token()
            .unwrap()
            .to_owned(),
    );
    let ingest = rt
        .create_ingest_configuration()
        .ingest_protocol(IngestProtocol::Rtmps)
        .stage_arn(&stage_arn)
        .name("encoder")
        .send()
        .await
        .unwrap();
    let key = ingest
        .ingest_configuration()
        .unwrap()
        .stream_key()
        .to_owned();
    (tokens, key)
}

#[tokio::test]
async fn real_time_is_recorded_signed_as_ivs_without_its_secrets_and_replayed_with_fakes_of_their_shape(
) {
    let fake = FakeIvs::start(OperatorCredentials {
        access_key: OPERATOR_KEY.into(),
        secret_key: OPERATOR_SECRET.into(),
        session_token: None,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let recorder = crate::support::bin::record_as_operator("stage", &fake.uri(), dir.path());
    let (tokens, key) = stage_flow(&realtime_client(&recorder.uri().unwrap(), "us-west-2")).await;
    let finished = recorder.stop();
    let stderr = finished.stderr.as_str();
    assert_eq!(finished.status.code(), Some(0), "{stderr}");
    assert_eq!(fake.n_bad_signatures(), 0, "{:?}", fake.received());
    assert_eq!(
        fake.signed_for(),
        ["ivs", "ivs", "ivs"],
        "Real-Time signs as `ivs`"
    );

    let secrets = fake.real_time_secrets();
    assert_eq!(secrets.len(), 4, "three tokens and a key: {secrets:?}");
    assert_eq!(
        tokens,
        secrets[..3],
        "the recorder answered what upstream said"
    );
    assert_eq!(key, secrets[3]);
    let path = dir.path().join("stage.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("format: 2\n"), "{text}");
    assert_eq!(text.matches("service: ivs-realtime").count(), 3, "{text}");
    // No secret, nor any recognisable part of one: not the signature, not the key's secret
    // half, not a claim only the token held (`jti`, `exp`), in the cassette or the log.
    for (what, haystack) in [("the cassette", text.as_str()), ("the log", stderr)] {
        for secret in secrets.iter().map(String::as_str).chain([
            "SECRETsig0",
            "SECRETingestKEY",
            "SECRETJTI",
            "1796000000",
            "eyJ",
        ]) {
            assert!(
                !haystack.contains(secret),
                "{what} holds `{secret}`:\n{haystack}"
            );
        }
    }

    // The tokens are written as skeletons; the scan finds nothing in the file.
    let cassette = Cassette::load(&path).unwrap();
    assert_eq!(ivs_vcr::__private::redact::scan(&cassette), []);
    let written: Vec<String> = cassette
        .interactions
        .iter()
        .filter_map(|i| i.response.body.as_ref())
        .flat_map(|body| {
            let mut all = Vec::new();
            if let Some(list) = body["participantTokens"].as_array() {
                all.extend(list.iter().map(|t| t["token"].clone()));
            }
            all.push(body["participantToken"]["token"].clone());
            all.into_iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
        })
        .collect();
    assert_eq!(written.len(), 3, "{written:?}");
    assert!(
        written.iter().all(|t| redact::is_jwt_placeholder(t)),
        "{written:?}"
    );

    // Replay hands back JWTs that decode, with the recorded claims' names and types and none
    // of their values, and an ingest key of IVS's form for the same configuration.
    let replay = ReplayServer::start(cassette).await;
    let (replayed, replayed_key) = stage_flow(&realtime_client(&replay.uri(), "us-west-2")).await;
    for (real, fake_token) in tokens.iter().zip(&replayed) {
        let (real_header, real_claims) = decode_jwt(real);
        let (fake_header, fake_claims) = decode_jwt(fake_token);
        assert_eq!(
            shape_of(&fake_claims),
            shape_of(&real_claims),
            "{fake_claims}"
        );
        assert_eq!(fake_header, real_header, "alg and typ say how to read it");
        let mut real_values = Vec::new();
        leaves(&real_claims, &mut real_values);
        for value in real_values {
            assert!(
                !fake_token.contains(&value) && !fake_claims.to_string().contains(&value),
                "`{value}` survived in {fake_claims}"
            );
        }
        assert_ne!(fake_token, real);
    }
    assert_eq!(
        decode_jwt(&replayed[0]).1["capabilities"],
        decode_jwt(&tokens[0]).1["capabilities"],
        "a capability flag is one bit, kept"
    );
    let pattern = regex::Regex::new("^rt_[0-9]+_[a-z0-9-]+_[a-zA-Z0-9-]+_.+$").unwrap();
    assert!(pattern.is_match(&replayed_key), "{replayed_key}");
    assert!(
        replayed_key.starts_with(&format!("rt_{ACCOUNT}_us-west-2_ingest")),
        "{replayed_key}"
    );
    assert!(!replayed_key.contains("SECRETingestKEY"), "{replayed_key}");
    // The same recording always replays the same fakes.
    let again = ReplayServer::start(Cassette::load(&path).unwrap()).await;
    let (replayed_again, _) = stage_flow(&realtime_client(&again.uri(), "us-west-2")).await;
    assert_eq!(replayed_again, replayed);
    replay.verify();
    again.verify();
}

/// Records a Real-Time story from the emulator, as an application's backend would play it
/// without participants: a stage with a token, updated, listed; another token; encoder and
/// storage configurations; a composition to S3 started, read, listed and stopped; sessions
/// listed; an ingest configuration made, read and deleted; tags; the stage deleted and gone.
/// Returns the cassette's text.
async fn record_real_time_story() -> String {
    let recording = FromEmulator::start("stage-story").await;
    let rt = realtime_client(&recording.uri(), "us-west-2");
    let created = rt
        .create_stage()
        .name("story")
        .participant_token_configurations(
            ParticipantTokenConfiguration::builder()
                .user_id("host")
                .capabilities(ParticipantTokenCapability::Publish)
                .attributes("displayName", "Host")
                .build(),
        )
        .tags("team", "live")
        .send()
        .await
        .unwrap();
    let stage = created.stage().unwrap().arn().to_owned();
    rt.get_stage().arn(&stage).send().await.unwrap();
    rt.update_stage()
        .arn(&stage)
        .name("story-2")
        .send()
        .await
        .unwrap();
    rt.list_stages().send().await.unwrap();
    rt.create_participant_token()
        .stage_arn(&stage)
        .user_id("guest")
        .duration(60)
        .capabilities(ParticipantTokenCapability::Subscribe)
        .send()
        .await
        .unwrap();
    let encoder = new_encoder(&rt, Some("hd")).await;
    let storage = new_storage(&rt, "story-archive", Some("archive")).await;
    let composition = rt
        .start_composition()
        .stage_arn(&stage)
        .destinations(s3_destination(&storage, &encoder))
        .send()
        .await
        .unwrap();
    let composition = composition.composition().unwrap().arn().to_owned();
    rt.get_composition().arn(&composition).send().await.unwrap();
    rt.list_compositions()
        .filter_by_stage_arn(&stage)
        .send()
        .await
        .unwrap();
    rt.stop_composition()
        .arn(&composition)
        .send()
        .await
        .unwrap();
    rt.list_stage_sessions()
        .stage_arn(&stage)
        .send()
        .await
        .unwrap();
    let ingest = rt
        .create_ingest_configuration()
        .ingest_protocol(IngestProtocol::Rtmps)
        .stage_arn(&stage)
        .name("encoder")
        .user_id("studio-encoder")
        .send()
        .await
        .unwrap();
    let ingest = ingest.ingest_configuration().unwrap().arn().to_owned();
    rt.get_ingest_configuration()
        .arn(&ingest)
        .send()
        .await
        .unwrap();
    rt.tag_resource()
        .resource_arn(&stage)
        .tags("env", "test")
        .send()
        .await
        .unwrap();
    rt.list_tags_for_resource()
        .resource_arn(&stage)
        .send()
        .await
        .unwrap();
    rt.delete_ingest_configuration()
        .arn(&ingest)
        .send()
        .await
        .unwrap();
    rt.delete_stage().arn(&stage).send().await.unwrap();
    let gone = rt.get_stage().arn(&stage).send().await.unwrap_err();
    assert!(gone.into_service_error().is_resource_not_found_exception());
    recording.finish().await
}

/// Verifies flows against a fresh emulator, values compared too; no exchange may fail on the way.
async fn verified(text: &str) -> ivs_vcr::verify::Verified {
    let cassette = Cassette::from_yaml(text, "stage-story.yaml".as_ref()).unwrap();
    let mut options = ivs_vcr::verify::VerifyOptions::default();
    // Values too: a token or stream key the emulator answers where the recording holds a
    // placeholder is no difference, and is never printed.
    options.diff.values = true;
    against_the_emulator(&recorded("stage-story.yaml", cassette), &options).await
}

#[tokio::test]
async fn a_real_time_recording_verifies_against_the_emulator_in_another_account_with_its_ids_mapped(
) {
    let text = record_real_time_story().await;
    let cassette = Cassette::from_yaml(&text, "t.yaml".as_ref()).unwrap();
    assert_eq!(cassette.interactions.len(), 19);
    assert_eq!(ivs_vcr::__private::redact::scan(&cassette), []);
    let verified_here = verified(&text).await;
    assert!(
        verified_here.report.findings.is_empty(),
        "{}",
        verified_here.report
    );
    assert_eq!(verified_here.n_requests, 19);

    // As if recorded in another account, with ids the emulator does not mint: every ARN's id,
    // every participant id and destination id replaced.
    let mut elsewhere = text.replace("123456789012", "210987654321");
    let minted = regex::Regex::new(
        r"(?:arn:aws:ivs:us-west-2:210987654321:[a-z-]+/|participantId: |\bid: )([A-Za-z0-9]{12})\b",
    )
    .unwrap();
    let ids: std::collections::BTreeSet<String> = minted
        .captures_iter(&elsewhere)
        .map(|c| c[1].to_owned())
        .collect();
    assert!(ids.len() >= 8, "{ids:?}");
    for (n, id) in ids.iter().enumerate() {
        elsewhere = elsewhere.replace(id.as_str(), &format!("RECORDED{n:04}"));
    }
    assert!(elsewhere.contains("stage/RECORDED"), "{elsewhere}");
    let checked = verified(&elsewhere).await;
    assert!(checked.report.findings.is_empty(), "{}", checked.report);

    // A flow that found its stage already there: the stage is seeded from what the recording
    // shows of it, and the flow verifies as it did.
    let mut later = Cassette::from_yaml(&elsewhere, "t.yaml".as_ref()).unwrap();
    let created = later.interactions.remove(0);
    assert_eq!(created.request.path, "/CreateStage");
    let checked = verified(&later.to_yaml()).await;
    assert!(checked.report.findings.is_empty(), "{}", checked.report);
    assert_eq!(checked.n_requests, 18);

    // Drift is named by Real-Time's operations: a member the emulator's stage does not have.
    let mut tampered = Cassette::from_yaml(&elsewhere, "t.yaml".as_ref()).unwrap();
    let update = tampered
        .interactions
        .iter_mut()
        .find(|i| i.request.path == "/UpdateStage")
        .unwrap();
    update.response.body.as_mut().unwrap()["stage"]["recordedOnly"] = "yes".into();
    let report = verified(&tampered.to_yaml()).await.report.to_string();
    assert!(report.contains("ivs-realtime:UpdateStage"), "{report}");
}

#[tokio::test]
async fn the_cli_verifies_and_diffs_real_time_cassettes_naming_real_time_s_operations() {
    let text = record_real_time_story().await;
    // The emulator's answers follow Real-Time's model, every one of them.
    let cassette = Cassette::from_yaml(&text, "t.yaml".as_ref()).unwrap();
    let violations: Vec<String> = cassette
        .interactions
        .iter()
        .flat_map(crate::bundled::interaction_violations)
        // IVS-form errors carry `message` beside the model's `exceptionMessage`, on purpose:
        // it is what boto3 and the aws CLI show (`http::ivs_answer`).
        .filter(|v| !v.ends_with("error body: message: not a member of ResourceNotFoundException"))
        .collect();
    assert!(violations.is_empty(), "{violations:#?}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("story.yaml"), &text).unwrap();
    let mut drifted = cassette.clone();
    let stage = drifted
        .interactions
        .iter_mut()
        .find(|i| i.request.path == "/GetStage")
        .unwrap();
    stage.response.body.as_mut().unwrap()["stage"]
        .as_object_mut()
        .unwrap()
        .remove("endpoints");
    std::fs::write(dir.path().join("drifted.yaml"), drifted.to_yaml()).unwrap();

    let run = |args: &[&str]| crate::support::bin::run(args, dir.path());
    let clean = run(&["verify", "story.yaml", "--against", "emulator"]);
    clean.assert_code(0);
    let drift = run(&["verify", "drifted.yaml", "--against", "emulator"]);
    drift.assert_code(1);
    assert!(
        drift.stdout.contains("ivs-realtime:GetStage"),
        "{}",
        drift.stdout
    );
    assert!(drift.stdout.contains("endpoints"), "{}", drift.stdout);

    let diff = run(&["diff", "story.yaml", "drifted.yaml"]);
    diff.assert_code(1);
    assert!(
        diff.stdout.contains("ivs-realtime:GetStage"),
        "{}",
        diff.stdout
    );
    let same = run(&["diff", "story.yaml", "story.yaml"]);
    same.assert_code(0);
}

/// A Real-Time cassette from elsewhere: a stage of the run's, then calls on a stage it did not
/// make (a token for it, a composition on it, its deletion).
const HOSTILE_STAGES: &str = r#"format: 2
api_version: "2020-07-14"
ivs_vcr_version: 0.1.0
provenance: {kind: authored, source: test}
name: hostile-stages
interactions:
- request:
    service: ivs-realtime
    method: POST
    path: /CreateStage
    region: us-west-2
    body: {name: mine, participantTokenConfigurations: [{userId: host}]}
  response:
    status: 200
    body: {stage: {arn: "arn:aws:ivs:us-west-2:123456789012:stage/RECORDEDmine", name: mine}, participantTokens: [{participantId: RECORDEDpart, token: "ivs-vcr-redacted:0123456789abcdef"}]}
- request:
    service: ivs-realtime
    method: POST
    path: /CreateParticipantToken
    region: us-west-2
    body: {stageArn: "arn:aws:ivs:us-west-2:123456789012:stage/RECORDEDmine"}
  response:
    status: 200
    body: {participantToken: {participantId: RECORDEDpar2}}
- request:
    service: ivs-realtime
    method: POST
    path: /CreateParticipantToken
    region: us-west-2
    body: {stageArn: "arn:aws:ivs:us-west-2:123456789012:stage/prodSTAGE001"}
  response:
    status: 200
    body: {participantToken: {participantId: p}}
- request:
    service: ivs-realtime
    method: POST
    path: /StartComposition
    region: us-west-2
    body: {stageArn: "arn:aws:ivs:us-west-2:123456789012:stage/prodSTAGE001", destinations: [{s3: {storageConfigurationArn: "arn:aws:ivs:us-west-2:123456789012:storage-configuration/prodSTORAGE1", encoderConfigurationArns: []}}]}
  response:
    status: 200
    body: {}
- request:
    service: ivs-realtime
    method: POST
    path: /DeleteStage
    region: us-west-2
    body: {arn: "arn:aws:ivs:us-west-2:123456789012:stage/prodSTAGE001"}
  response:
    status: 200
    body: {}
"#;

#[tokio::test]
async fn against_aws_real_time_requests_act_only_on_stages_the_run_created() {
    let fake = FakeIvs::start(crate::support::operator()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostile-stages.yaml"), HOSTILE_STAGES).unwrap();
    let (_, stdout, stderr) = against_fake_aws(&fake, "hostile-stages.yaml", &[], dir.path()).await;
    let received = routes_received(&fake);
    // The token for the run's own stage goes to the stage the fake made, never the recorded id.
    assert_eq!(
        received,
        ["POST /CreateStage", "POST /CreateParticipantToken"],
        "{stderr}"
    );
    assert_eq!(fake.signed_for(), ["ivs", "ivs"]);
    assert!(
        fake.received()[1].contains("stage/stage0000000"),
        "{:?}",
        fake.received()
    );
    assert!(
        !fake.received().iter().any(|r| r.contains("prodSTAGE001")),
        "{:?}",
        fake.received()
    );
    for n in 2..5 {
        assert!(
            stderr.contains(&format!("skipped: hostile-stages #{n} `POST /"))
                && stderr.contains("prodSTAGE001`, which this run did not create"),
            "#{n} not skipped:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("played 2 request(s) from 1 cassette(s), skipped 3"),
        "{stderr}"
    );
    // The fake's real token is no part of what verify prints.
    for secret in fake.real_time_secrets() {
        assert!(!stdout.contains(&secret) && !stderr.contains(&secret));
    }
}
