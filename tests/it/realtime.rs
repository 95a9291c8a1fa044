//! IVS Real-Time beside IVS on one server (issue 25): the Real-Time API emulated and answered to
//! aws-sdk-ivsrealtime, stages joined and left through the control plane, participant tokens as
//! JWTs (the emulator's, and an application's own signed with an imported key), compositions
//! through their lifecycle to an IVS channel and to S3, ingest configurations, tags, deletion,
//! and bad tokens refused with nothing half-joined.

use aws_sdk_ivsrealtime::error::ProvideErrorMetadata as _;
use aws_sdk_ivsrealtime::types::{
    ChannelDestinationConfiguration, DestinationConfiguration, IngestProtocol,
    ParticipantTokenCapability, ParticipantTokenConfiguration,
};
use ivs_vcr::ReplayServer;
use serde_json::{json, Value};

use crate::support::bin::IvsVcr;
use crate::support::keys::{now_secs, P384};
use crate::support::stages::{new_encoder, new_stage, new_storage, new_token, s3_destination};
use crate::support::{ivs_client, new_channel, raw, realtime_client};

/// A Real-Time client for `server`, in us-west-2.
fn client(server: &ReplayServer) -> aws_sdk_ivsrealtime::Client {
    realtime_client(&server.uri(), "us-west-2")
}

/// A server's address, whichever kind it is.
trait Addr {
    fn addr(&self) -> std::net::SocketAddr;
}

impl Addr for ReplayServer {
    fn addr(&self) -> std::net::SocketAddr {
        ReplayServer::addr(self)
    }
}

impl Addr for IvsVcr {
    fn addr(&self) -> std::net::SocketAddr {
        IvsVcr::addr(self)
    }
}

/// A control call: status and JSON body.
async fn control(server: &impl Addr, path: &str, body: &Value) -> (u16, Value) {
    let response = raw::post(server.addr(), path, &body.to_string()).await;
    (
        response.status,
        serde_json::from_str(&response.body).unwrap_or_default(),
    )
}

async fn join(server: &impl Addr, token: &str, publish: bool, subscribe: bool) -> Value {
    let (status, body) = control(
        server,
        "/_ivs-vcr/stages/join",
        &json!({"token": token, "publish": publish, "subscribe": subscribe}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn leave(server: &impl Addr, participant_id: &str) {
    let (status, body) = control(
        server,
        "/_ivs-vcr/stages/leave",
        &json!({"participantId": participant_id}),
    )
    .await;
    assert_eq!((status, body), (200, json!({})));
}

/// A compact ES384 JWT of `claims` signed with an application's own key, its header naming the
/// imported key `kid`.
fn sign(key: &P384, kid: &str, claims: &Value) -> String {
    key.sign_jwt(&json!({"alg": "ES384", "typ": "JWT", "kid": kid}), claims)
}

#[tokio::test]
async fn a_stage_flow_answers_the_official_client_as_real_time_would() {
    let server = ReplayServer::emulator().await;
    let rt = client(&server);

    let created = rt
        .create_stage()
        .name("show")
        .tags("team", "live")
        .participant_token_configurations(
            ParticipantTokenConfiguration::builder()
                .user_id("host")
                .attributes("role", "host")
                .build(),
        )
        .participant_token_configurations(
            ParticipantTokenConfiguration::builder()
                .user_id("guest")
                .capabilities(ParticipantTokenCapability::Subscribe)
                .duration(60)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let stage = created.stage().unwrap();
    let stage_arn = stage.arn().to_owned();
    assert!(
        stage_arn.starts_with("arn:aws:ivs:us-west-2:123456789012:stage/"),
        "{stage_arn}"
    );
    let endpoints = stage.endpoints().unwrap();
    assert_eq!(
        endpoints.events(),
        Some("wss://global.events.live-video.net")
    );
    assert!(endpoints
        .whip()
        .unwrap()
        .ends_with(".global-bm.whip.live-video.net"));
    assert!(endpoints.rtmps().unwrap().starts_with("rtmps://"));
    let recording = stage.auto_participant_recording_configuration().unwrap();
    assert_eq!(recording.storage_configuration_arn(), "");
    assert_eq!(recording.media_types().len(), 1);
    let tokens = created.participant_tokens();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0].duration(), Some(720));
    assert_eq!(tokens[0].capabilities().len(), 2);
    assert_eq!(tokens[1].duration(), Some(60));
    assert!(tokens[0].token().unwrap().starts_with("eyJ"));
    let (host_token, host) = (
        tokens[0].token().unwrap().to_owned(),
        tokens[0].participant_id().unwrap().to_owned(),
    );
    let (guest_token, guest) = (
        tokens[1].token().unwrap().to_owned(),
        tokens[1].participant_id().unwrap().to_owned(),
    );

    let joined = join(&server, &host_token, true, false).await;
    assert_eq!(joined["participantId"], host.as_str());
    assert_eq!(joined["stageArn"], stage_arn.as_str());
    let session = joined["sessionId"].as_str().unwrap().to_owned();
    join(&server, &guest_token, false, true).await;

    let got = rt.get_stage().arn(&stage_arn).send().await.unwrap();
    assert_eq!(
        got.stage().unwrap().active_session_id(),
        Some(session.as_str())
    );
    let listed = rt.list_stages().send().await.unwrap();
    assert_eq!(
        listed.stages()[0].active_session_id(),
        Some(session.as_str())
    );
    let participants = rt
        .list_participants()
        .stage_arn(&stage_arn)
        .session_id(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(participants.participants().len(), 2);
    let host_record = rt
        .get_participant()
        .stage_arn(&stage_arn)
        .session_id(&session)
        .participant_id(&host)
        .send()
        .await
        .unwrap();
    let host_record = host_record.participant().unwrap();
    assert_eq!(host_record.user_id(), Some("host"));
    assert!(host_record.published());
    assert_eq!(host_record.state().unwrap().as_str(), "CONNECTED");
    assert_eq!(
        host_record
            .attributes()
            .unwrap()
            .get("role")
            .map(String::as_str),
        Some("host")
    );

    leave(&server, &guest).await;
    leave(&server, &host).await;
    // The session outlives its last participant by a few minutes (the clock test sees it end).
    let lingering = rt
        .get_stage_session()
        .stage_arn(&stage_arn)
        .session_id(&session)
        .send()
        .await
        .unwrap();
    assert!(lingering.stage_session().unwrap().end_time().is_none());
    let sessions = rt
        .list_stage_sessions()
        .stage_arn(&stage_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(sessions.stage_sessions().len(), 1);
    let events = rt
        .list_participant_events()
        .stage_arn(&stage_arn)
        .session_id(&session)
        .participant_id(&guest)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = events
        .events()
        .iter()
        .map(|e| e.name().unwrap().as_str())
        .collect();
    assert_eq!(
        names,
        ["JOINED", "SUBSCRIBE_STARTED", "SUBSCRIBE_STOPPED", "LEFT"]
    );
    assert_eq!(
        events.events()[1].remote_participant_id(),
        Some(host.as_str())
    );

    // Tags, through the routes IVS shares.
    rt.tag_resource()
        .resource_arn(&stage_arn)
        .tags("env", "dev")
        .send()
        .await
        .unwrap();
    rt.untag_resource()
        .resource_arn(&stage_arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = rt
        .list_tags_for_resource()
        .resource_arn(&stage_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags().get("env").map(String::as_str), Some("dev"));

    // The state shows the stage's sessions; reset forgets them.
    let state = raw::call(server.addr(), "GET", "/_ivs-vcr/state").await;
    let state: Value = serde_json::from_str(&state.body).unwrap();
    assert_eq!(
        state["regions"]["us-west-2"]["stageSessions"][&stage_arn][0]["sessionId"],
        session.as_str()
    );

    rt.delete_stage().arn(&stage_arn).send().await.unwrap();
    let err = rt.get_stage().arn(&stage_arn).send().await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert!(err.message().unwrap().contains("does not exist"), "{err:?}");

    // Reset forgets every stage, session and participant.
    let kept = new_stage(&rt).await;
    let (token, _) = new_token(&rt, &kept).await;
    join(&server, &token, false, true).await;
    assert_eq!(
        raw::post(server.addr(), "/_ivs-vcr/reset", "").await.status,
        200
    );
    let state = raw::call(server.addr(), "GET", "/_ivs-vcr/state").await;
    let state: Value = serde_json::from_str(&state.body).unwrap();
    assert_eq!(state["regions"], json!({}), "{state}");
    let (status, body) = control(&server, "/_ivs-vcr/stages/join", &json!({"token": token})).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn a_composition_takes_a_channel_live_and_records_to_s3_through_its_lifecycle() {
    // The real binary: this test moves its clock, which is one per process.
    let dir = tempfile::tempdir().unwrap();
    let server = IvsVcr::start(&["serve", "--port", "0"], dir.path());
    let uri = server.uri().unwrap();
    let rt = realtime_client(&uri, "us-west-2");
    let ivs = ivs_client(&uri, "us-west-2");
    let channel = new_channel(&ivs).await;
    let stage = new_stage(&rt).await;
    let encoder = rt
        .create_encoder_configuration()
        .name("hd")
        .send()
        .await
        .unwrap();
    let encoder = encoder.encoder_configuration().unwrap();
    let video = encoder.video().unwrap();
    assert_eq!(
        (video.width(), video.height(), video.bitrate()),
        (Some(1280), Some(720), Some(2_500_000))
    );
    let encoder_arn = encoder.arn().to_owned();
    let storage_arn = new_storage(&rt, "vods", None).await;

    let started = rt
        .start_composition()
        .stage_arn(&stage)
        .destinations(
            DestinationConfiguration::builder()
                .channel(
                    ChannelDestinationConfiguration::builder()
                        .channel_arn(&channel)
                        .encoder_configuration_arn(&encoder_arn)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .destinations(s3_destination(&storage_arn, &encoder_arn))
        .send()
        .await
        .unwrap();
    let composition = started.composition().unwrap();
    let arn = composition.arn().to_owned();
    assert_eq!(composition.state().as_str(), "STARTING");
    assert_eq!(composition.destinations().len(), 2);
    assert!(composition.layout().unwrap().grid().is_some());
    let prefix = composition.destinations()[1]
        .detail()
        .and_then(|d| d.s3())
        .map(|s| s.recording_prefix().to_owned())
        .unwrap();
    assert!(prefix.contains(arn.rsplit('/').next().unwrap()), "{prefix}");

    // In use: the encoder cannot be deleted.
    let err = rt
        .delete_encoder_configuration()
        .arn(&encoder_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ConflictException"));

    // A participant joins: the composition is ACTIVE and the channel LIVE.
    let (token, pid) = new_token(&rt, &stage).await;
    join(&server, &token, true, false).await;
    let got = rt.get_composition().arn(&arn).send().await.unwrap();
    let got = got.composition().unwrap();
    assert_eq!(got.state().as_str(), "ACTIVE");
    assert!(got
        .destinations()
        .iter()
        .all(|d| d.state().as_str() == "ACTIVE"));
    let stream = ivs.get_stream().channel_arn(&channel).send().await.unwrap();
    assert_eq!(
        stream.stream().unwrap().state().map(|s| s.as_str()),
        Some("LIVE")
    );
    let listed = rt
        .list_compositions()
        .filter_by_stage_arn(&stage)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.compositions().len(), 1);
    assert_eq!(listed.compositions()[0].state().as_str(), "ACTIVE");

    rt.stop_composition().arn(&arn).send().await.unwrap();
    let stopping = rt.get_composition().arn(&arn).send().await.unwrap();
    assert_eq!(stopping.composition().unwrap().state().as_str(), "STOPPING");
    let err = ivs
        .get_stream()
        .channel_arn(&channel)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ChannelNotBroadcasting"));
    // STOPPING lasts about a second of the emulator's clock.
    advance(&server, 2.0).await;
    let stopped = rt.get_composition().arn(&arn).send().await.unwrap();
    let stopped = stopped.composition().unwrap();
    assert_eq!(stopped.state().as_str(), "STOPPED");
    assert!(stopped.end_time().is_some());
    assert!(stopped
        .destinations()
        .iter()
        .all(|d| d.state().as_str() == "STOPPED"));
    rt.delete_encoder_configuration()
        .arn(&encoder_arn)
        .send()
        .await
        .unwrap();

    // A composition on a stage nobody is in stops after a minute, and is deleted later.
    leave(&server, &pid).await;
    let encoder_arn = new_encoder(&rt, None).await;
    let idle = rt
        .start_composition()
        .stage_arn(&stage)
        .destinations(s3_destination(&storage_arn, &encoder_arn))
        .send()
        .await
        .unwrap();
    let idle = idle.composition().unwrap().arn().to_owned();
    let state = || async {
        rt.get_composition()
            .arn(&idle)
            .send()
            .await
            .map(|c| c.composition().unwrap().state().as_str().to_owned())
    };
    advance(&server, 30.0).await;
    assert_eq!(state().await.unwrap(), "STARTING");
    // Lazily evaluated: the stop began at the minute, wherever the clock went since.
    advance(&server, 30.5).await;
    assert_eq!(state().await.unwrap(), "STOPPING");
    advance(&server, 2.0).await;
    assert_eq!(state().await.unwrap(), "STOPPED");
    advance(&server, 600.0).await;
    let err = state().await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}

/// Publishes with an ingest stream key through the control plane: status and body.
async fn join_with_key(server: &impl Addr, key: &str) -> (u16, Value) {
    control(
        server,
        "/_ivs-vcr/stages/join",
        &json!({ "streamKey": key }),
    )
    .await
}

/// Moves the emulator's clock forward.
async fn advance(server: &IvsVcr, seconds: f64) {
    let (status, body) = control(
        server,
        "/_ivs-vcr/clock",
        &json!({ "advance_seconds": seconds }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn time_ends_sessions_and_expires_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let server = IvsVcr::start(&["serve", "--port", "0"], dir.path());
    let rt = realtime_client(&server.uri().unwrap(), "us-west-2");
    let stage = new_stage(&rt).await;
    let token = rt
        .create_participant_token()
        .stage_arn(&stage)
        .duration(1)
        .send()
        .await
        .unwrap();
    let token = token.participant_token().unwrap();
    let (token, pid) = (
        token.token().unwrap().to_owned(),
        token.participant_id().unwrap().to_owned(),
    );
    let session = join(&server, &token, false, true).await["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    leave(&server, &pid).await;

    // A minute on, the token has expired; the session lives on for a few minutes.
    advance(&server, 61.0).await;
    let (status, body) =
        control(&server, "/_ivs-vcr/stages/join", &json!({ "token": token })).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("expired at"),
        "{body}"
    );
    let active = |rt: aws_sdk_ivsrealtime::Client, stage: String| async move {
        rt.get_stage()
            .arn(stage)
            .send()
            .await
            .unwrap()
            .stage()
            .unwrap()
            .active_session_id()
            .map(str::to_owned)
    };
    assert_eq!(
        active(rt.clone(), stage.clone()).await.as_deref(),
        Some(session.as_str())
    );
    advance(&server, 120.0).await;
    assert_eq!(active(rt.clone(), stage.clone()).await, None);
    let ended = rt
        .get_stage_session()
        .stage_arn(&stage)
        .session_id(&session)
        .send()
        .await
        .unwrap();
    let ended = ended.stage_session().unwrap();
    let lasted = ended.end_time().unwrap().secs() - ended.start_time().unwrap().secs();
    assert!(
        (180..=182).contains(&lasted),
        "ended 3 minutes after the last one left: {lasted} s"
    );
}

#[tokio::test]
async fn a_token_signed_with_an_imported_key_joins_and_a_forged_one_is_refused() {
    let server = ReplayServer::emulator().await;
    let rt = client(&server);
    let stage = new_stage(&rt).await;
    let stage_id = stage.rsplit('/').next().unwrap().to_owned();
    let app = P384::new();
    let imported = rt
        .import_public_key()
        .public_key_material(app.public_pem())
        .name("app")
        .send()
        .await
        .unwrap();
    let key = imported.public_key().unwrap();
    let kid = key.arn().unwrap().to_owned();
    assert!(kid.starts_with("arn:aws:ivs:us-west-2:123456789012:public-key/"));
    assert_eq!(key.fingerprint().unwrap().split(':').count(), 16);
    assert_eq!(
        rt.list_public_keys()
            .send()
            .await
            .unwrap()
            .public_keys()
            .len(),
        1
    );

    let now = now_secs();
    let claims = json!({
        "exp": now + 3600, "iat": now, "jti": "app-participant-1", "resource": stage,
        "topic": stage_id, "user_id": "app-user", "attributes": {"seat": "1"},
        "capabilities": {"allow_publish": true, "allow_subscribe": true}, "version": "1.0",
    });
    let joined = join(&server, &sign(&app, &kid, &claims), true, true).await;
    assert_eq!(joined["participantId"], "app-participant-1");
    let participant = rt
        .get_participant()
        .stage_arn(&stage)
        .session_id(joined["sessionId"].as_str().unwrap())
        .participant_id("app-participant-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        participant.participant().unwrap().user_id(),
        Some("app-user")
    );

    // The same claims signed by another key, naming the imported one: forged.
    let forged = sign(&P384::new(), &kid, &claims);
    let (status, body) = control(&server, "/_ivs-vcr/stages/join", &json!({"token": forged})).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("does not verify"),
        "{body}"
    );

    // Once the key is deleted, what it signs is refused.
    rt.delete_public_key().arn(&kid).send().await.unwrap();
    let mut later = claims.clone();
    later["jti"] = json!("app-participant-2");
    let (status, body) = control(
        &server,
        "/_ivs-vcr/stages/join",
        &json!({"token": sign(&app, &kid, &later)}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("names no public key"),
        "{body}"
    );
}

#[tokio::test]
async fn bad_tokens_get_clear_errors_and_join_nothing() {
    let server = ReplayServer::emulator().await;
    let rt = client(&server);
    let stage = new_stage(&rt).await;
    let other = new_stage(&rt).await;
    let app = P384::new();
    let kid = rt
        .import_public_key()
        .public_key_material(app.public_pem())
        .send()
        .await
        .unwrap()
        .public_key()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let refused = |token: String, publish: bool| {
        let server = &server;
        async move {
            let (status, body) = control(
                server,
                "/_ivs-vcr/stages/join",
                &json!({"token": token, "publish": publish}),
            )
            .await;
            (
                status,
                body["message"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };

    let (status, message) = refused("eyJhbGciOiJFUzM4NCJ9.not-json.sig".into(), false).await;
    assert_eq!(status, 400);
    assert!(message.contains("not a JWT"), "{message}");

    let now = now_secs();
    let claims = |exp: u64, resource: &str, topic: &str| {
        json!({"exp": exp, "jti": "p1", "resource": resource, "topic": topic,
               "capabilities": {"allow_publish": false, "allow_subscribe": true}})
    };
    let stage_id = stage.rsplit('/').next().unwrap();
    let other_id = other.rsplit('/').next().unwrap();
    let (status, message) =
        refused(sign(&app, &kid, &claims(now - 60, &stage, stage_id)), false).await;
    assert_eq!(status, 403);
    assert!(message.contains("expired at"), "{message}");
    let (status, message) =
        refused(sign(&app, &kid, &claims(now + 60, &stage, other_id)), false).await;
    assert_eq!(status, 403);
    assert!(message.contains("`topic`"), "{message}");
    let (status, message) =
        refused(sign(&app, &kid, &claims(now + 60, &stage, stage_id)), true).await;
    assert_eq!(status, 403);
    assert!(message.contains("PUBLISH"), "{message}");

    // Nothing was joined.
    let sessions = rt
        .list_stage_sessions()
        .stage_arn(&stage)
        .send()
        .await
        .unwrap();
    assert!(sessions.stage_sessions().is_empty());

    // A deleted stage's tokens are refused.
    let (token, _) = new_token(&rt, &other).await;
    rt.delete_stage().arn(&other).send().await.unwrap();
    let (status, message) = refused(token, false).await;
    assert_eq!(status, 404);
    assert!(message.contains("does not exist"), "{message}");

    // A bad control body says what to send.
    let (status, body) =
        control(&server, "/_ivs-vcr/stages/join", &json!({"publish": "yes"})).await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("\"token\""),
        "{body}"
    );
    let (status, body) = control(
        &server,
        "/_ivs-vcr/stages/leave",
        &json!({"participantId": "nobody"}),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("is not connected"),
        "{body}"
    );
}

#[tokio::test]
async fn ingest_configurations_mint_stream_keys_and_refuse_insecure_rtmp() {
    let server = ReplayServer::emulator().await;
    let rt = client(&server);
    let stage = new_stage(&rt).await;
    let err = rt
        .create_ingest_configuration()
        .ingest_protocol(IngestProtocol::Rtmp)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert!(err.message().unwrap().contains("insecureIngest"), "{err:?}");

    let created = rt
        .create_ingest_configuration()
        .ingest_protocol(IngestProtocol::Rtmps)
        .stage_arn(&stage)
        .user_id("obs")
        .name("studio")
        .send()
        .await
        .unwrap();
    let config = created.ingest_configuration().unwrap();
    let arn = config.arn().to_owned();
    assert!(config
        .stream_key()
        .starts_with("rt_123456789012_us-west-2_"));
    assert_eq!(config.state().as_str(), "INACTIVE");
    assert_eq!(config.stage_arn(), stage);
    assert_eq!(config.participant_id().len(), 12);
    rt.create_ingest_configuration()
        .ingest_protocol(IngestProtocol::Rtmp)
        .insecure_ingest(true)
        .send()
        .await
        .unwrap();

    let by_stage = rt
        .list_ingest_configurations()
        .filter_by_stage_arn(&stage)
        .send()
        .await
        .unwrap();
    assert_eq!(by_stage.ingest_configurations().len(), 1);

    // An encoder publishes with the key (the control plane stands in for RTMP ingest).
    let key = config.stream_key().to_owned();
    let published = join_with_key(&server, &key).await;
    assert_eq!(
        (published.0, &published.1["participantId"]),
        (200, &json!(config.participant_id()))
    );
    let session = published.1["sessionId"].as_str().unwrap().to_owned();
    let active = rt
        .get_ingest_configuration()
        .arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        active.ingest_configuration().unwrap().state().as_str(),
        "ACTIVE"
    );
    let participant = rt
        .get_participant()
        .stage_arn(&stage)
        .session_id(&session)
        .participant_id(config.participant_id())
        .send()
        .await
        .unwrap();
    let participant = participant.participant().unwrap();
    assert_eq!(participant.protocol().map(|p| p.as_str()), Some("RTMPS"));
    assert_eq!(participant.ingest_configuration_arn(), Some(arn.as_str()));
    assert_eq!(participant.user_id(), Some("obs"));
    assert_eq!(
        join_with_key(&server, &key).await.0,
        409,
        "the key is in use"
    );
    let err = rt
        .update_ingest_configuration()
        .arn(&arn)
        .stage_arn("")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ConflictException"));
    let err = rt
        .delete_ingest_configuration()
        .arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ConflictException"));
    rt.disconnect_participant()
        .stage_arn(&stage)
        .participant_id(config.participant_id())
        .send()
        .await
        .unwrap();
    let after = rt
        .get_ingest_configuration()
        .arn(&arn)
        .send()
        .await
        .unwrap();
    let after = after.ingest_configuration().unwrap();
    assert_eq!(
        (after.state().as_str(), after.stage_arn()),
        ("INACTIVE", "")
    );
    assert_eq!(
        join_with_key(&server, &key).await.0,
        409,
        "attached to no stage"
    );
    rt.update_ingest_configuration()
        .arn(&arn)
        .stage_arn(&stage)
        .send()
        .await
        .unwrap();
    let again = join_with_key(&server, &key).await.1;
    let session = again["sessionId"].as_str().unwrap();
    rt.delete_ingest_configuration()
        .arn(&arn)
        .force(true)
        .send()
        .await
        .unwrap();
    let left = rt
        .get_participant()
        .stage_arn(&stage)
        .session_id(session)
        .participant_id(config.participant_id())
        .send()
        .await
        .unwrap();
    assert_eq!(
        left.participant().unwrap().state().unwrap().as_str(),
        "DISCONNECTED"
    );
    assert_eq!(
        join_with_key(&server, &key).await.0,
        403,
        "a deleted configuration's key"
    );
    let created = rt
        .create_ingest_configuration()
        .ingest_protocol(IngestProtocol::Rtmps)
        .stage_arn(&stage)
        .send()
        .await
        .unwrap();
    let arn = created.ingest_configuration().unwrap().arn().to_owned();
    let updated = rt
        .update_ingest_configuration()
        .arn(&arn)
        .stage_arn("")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.ingest_configuration().unwrap().stage_arn(), "");
    let paged = rt
        .list_ingest_configurations()
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(paged.ingest_configurations().len(), 1);
    let next = rt
        .list_ingest_configurations()
        .max_results(1)
        .next_token(paged.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(next.ingest_configurations().len(), 1);
    assert_eq!(next.next_token(), None);
    rt.delete_ingest_configuration()
        .arn(&arn)
        .send()
        .await
        .unwrap();
    let err = rt
        .get_ingest_configuration()
        .arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn every_real_time_answer_holds_to_its_model_output_shape() {
    use crate::support::model::{check, Side};
    use ivs_vcr::ivs::Service;

    let server = ReplayServer::emulator().await;
    let catalog = Service::IvsRealTime.catalog();
    let mut seen = std::collections::BTreeSet::new();
    let mut call = |op: &'static str, body: Value| {
        let server = &server;
        seen.insert(op);
        async move {
            let response = raw::post(server.addr(), &format!("/{op}"), &body.to_string()).await;
            assert_eq!(response.status, 200, "{op}: {}", response.body);
            let answer: Value = serde_json::from_str(&response.body).unwrap_or_else(|_| json!({}));
            let shape = catalog.operation(op).unwrap().output.unwrap();
            let problems = check(shape, &answer, Side::Response);
            assert!(problems.is_empty(), "{op}: {problems:?}\n{answer:#}");
            answer
        }
    };
    let stage = call(
        "CreateStage",
        json!({"name": "s", "tags": {"a": "b"}, "participantTokenConfigurations": [{"userId": "u", "attributes": {"k": "v"}}]}),
    )
    .await;
    let stage_arn = stage["stage"]["arn"].as_str().unwrap().to_owned();
    let token = stage["participantTokens"][0]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let pid = stage["participantTokens"][0]["participantId"]
        .as_str()
        .unwrap()
        .to_owned();
    call("GetStage", json!({"arn": stage_arn})).await;
    call("ListStages", json!({})).await;
    call("UpdateStage", json!({"arn": stage_arn, "name": "renamed"})).await;
    call(
        "CreateParticipantToken",
        json!({"stageArn": stage_arn, "capabilities": ["SUBSCRIBE"]}),
    )
    .await;
    let joined = join(&server, &token, true, true).await;
    let session = joined["sessionId"].as_str().unwrap().to_owned();
    let in_session = json!({"stageArn": stage_arn, "sessionId": session, "participantId": pid});
    call(
        "GetStageSession",
        json!({"stageArn": stage_arn, "sessionId": session}),
    )
    .await;
    call("ListStageSessions", json!({"stageArn": stage_arn})).await;
    call(
        "ListParticipants",
        json!({"stageArn": stage_arn, "sessionId": session}),
    )
    .await;
    call("GetParticipant", in_session.clone()).await;
    call("ListParticipantEvents", in_session.clone()).await;

    let encoder = call(
        "CreateEncoderConfiguration",
        json!({"video": {"width": 1920, "height": 1080, "framerate": 60, "bitrate": 6_000_000}}),
    )
    .await;
    let encoder_arn = encoder["encoderConfiguration"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    call("GetEncoderConfiguration", json!({"arn": encoder_arn})).await;
    call("ListEncoderConfigurations", json!({})).await;
    let storage = call(
        "CreateStorageConfiguration",
        json!({"s3": {"bucketName": "vods"}}),
    )
    .await;
    let storage_arn = storage["storageConfiguration"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    call("GetStorageConfiguration", json!({"arn": storage_arn})).await;
    call("ListStorageConfigurations", json!({})).await;
    let composition = call(
        "StartComposition",
        json!({"stageArn": stage_arn, "idempotencyToken": "once", "layout": {"pip": {}},
               "destinations": [{"s3": {"storageConfigurationArn": storage_arn, "encoderConfigurationArns": [encoder_arn]}}]}),
    )
    .await;
    let composition_arn = composition["composition"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        composition["composition"]["layout"]["pip"]["pipPosition"],
        "BOTTOM_RIGHT"
    );
    call("GetComposition", json!({"arn": composition_arn})).await;
    call("ListCompositions", json!({"filterByStageArn": stage_arn})).await;

    let ingest = call(
        "CreateIngestConfiguration",
        json!({"ingestProtocol": "RTMPS", "redundantIngest": true, "attributes": {"k": "v"}}),
    )
    .await;
    let ingest_arn = ingest["ingestConfiguration"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    call("GetIngestConfiguration", json!({"arn": ingest_arn})).await;
    call(
        "ListIngestConfigurations",
        json!({"filterByState": "INACTIVE"}),
    )
    .await;
    call(
        "UpdateIngestConfiguration",
        json!({"arn": ingest_arn, "stageArn": stage_arn}),
    )
    .await;

    let key = call(
        "ImportPublicKey",
        json!({"publicKeyMaterial": P384::new().public_pem()}),
    )
    .await;
    let key_arn = key["publicKey"]["arn"].as_str().unwrap().to_owned();
    call("GetPublicKey", json!({"arn": key_arn})).await;
    call("ListPublicKeys", json!({})).await;

    let other = call("CreateStage", json!({})).await;
    let other_arn = other["stage"]["arn"].as_str().unwrap().to_owned();
    let replication = json!({"sourceStageArn": stage_arn, "destinationStageArn": other_arn, "participantId": pid});
    call("StartParticipantReplication", replication.clone()).await;
    let replicas = call(
        "ListParticipantReplicas",
        json!({"sourceStageArn": stage_arn, "participantId": pid}),
    )
    .await;
    assert_eq!(replicas["replicas"][0]["replicationState"], "ACTIVE");
    call("StopParticipantReplication", replication).await;
    call("RevokeConnectionToken", json!({"tokenId": "connection-1"})).await;
    call("StopComposition", json!({"arn": composition_arn})).await;
    call(
        "DisconnectParticipant",
        json!({"stageArn": stage_arn, "participantId": pid, "reason": "done"}),
    )
    .await;
    call("DeleteIngestConfiguration", json!({"arn": ingest_arn})).await;
    call("DeletePublicKey", json!({"arn": key_arn})).await;
    call("DeleteStage", json!({"arn": other_arn})).await;
    call("DeleteStage", json!({"arn": stage_arn})).await;
    // A configuration a STOPPING composition still uses cannot be deleted ("first use
    // StopComposition and wait for it to complete", DeleteStorageConfiguration).
    for (op, arn) in [
        ("DeleteStorageConfiguration", &storage_arn),
        ("DeleteEncoderConfiguration", &encoder_arn),
    ] {
        let response = raw::post(
            server.addr(),
            &format!("/{op}"),
            &json!({"arn": arn}).to_string(),
        )
        .await;
        assert_eq!(response.status, 409, "{op}: {}", response.body);
        seen.insert(op);
    }
    let untried: Vec<&str> = catalog
        .operations
        .iter()
        .map(|op| op.name)
        // The tag operations are the shared routes, tested by the stage flow.
        .filter(|name| !seen.contains(name) && !name.ends_with("Resource"))
        .collect();
    assert!(untried.is_empty(), "{untried:?}");
}
