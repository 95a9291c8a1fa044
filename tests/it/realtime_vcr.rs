//! IVS Real-Time through record, replay and diff (issue 25, part 2): recorded through the
//! recorder signed as `ivs`, with participant tokens and ingest stream keys kept out of the
//! cassette and the log, and handed back on replay as fakes of their own shape (a JWT that
//! decodes to the recorded claims' names and types; an `rt_…` key); drift reported under
//! Real-Time's operations.

use std::io::{BufRead, BufReader};

use aws_sdk_ivsrealtime::types::{
    IngestProtocol, ParticipantTokenCapability, ParticipantTokenConfiguration,
};
use base64::Engine as _;
use ivs_vcr::__private::redact;
use ivs_vcr::{Cassette, ReplayServer};
use serde_json::Value;

use crate::support::fake_ivs::{FakeIvs, OperatorCredentials, ACCOUNT};
use crate::support::{ACCESS_KEY, OPERATOR_KEY, OPERATOR_SECRET, SECRET_KEY};

/// A Real-Time client for `endpoint`, without retries so every answer is seen once.
pub(crate) fn realtime_client(endpoint: &str, region: &str) -> aws_sdk_ivsrealtime::Client {
    let config = aws_sdk_ivsrealtime::Config::builder()
        .behavior_version(aws_sdk_ivsrealtime::config::BehaviorVersion::latest())
        .region(aws_sdk_ivsrealtime::config::Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_ivsrealtime::config::Credentials::new(
            ACCESS_KEY,
            SECRET_KEY,
            None,
            None,
            "ivs-vcr-tests",
        ))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_ivsrealtime::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_ivsrealtime::Client::from_conf(config)
}

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
    // The binary at `trace`, so the log is as talkative as it gets.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ivs-vcr"))
        .args(["record", "--port", "0", "--name", "stage", "--upstream"])
        .arg(fake.uri())
        .arg("--cassettes")
        .arg(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", OPERATOR_KEY)
        .env("AWS_SECRET_ACCESS_KEY", OPERATOR_SECRET)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .env("RUST_LOG", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let uri = first
        .trim()
        .strip_prefix("ivs-vcr record listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();
    let (tokens, key) = stage_flow(&realtime_client(&uri, "us-west-2")).await;
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
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
    for (what, haystack) in [("the cassette", text.as_str()), ("the log", &*stderr)] {
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
