//! IVS Real-Time's documented defaults that `docs/fidelity/ivs-realtime.yaml` lists as enforced
//! and no other test holds, against the real server with aws-sdk-ivsrealtime. Each test cites the
//! sentences it checks.

use aws_sdk_ivsrealtime::types::{
    DestinationConfiguration, IngestProtocol, LayoutConfiguration, ParticipantTokenCapability,
    ParticipantTokenConfiguration, PipBehavior, PipConfiguration, PipPosition,
    S3DestinationConfiguration, S3StorageConfiguration, VideoAspectRatio, VideoFillMode,
};
use ivs_vcr::ReplayServer;

use crate::support::{failure, realtime_client};

/// A Real-Time client for `server`, in us-west-2.
fn client(server: &ReplayServer) -> aws_sdk_ivsrealtime::Client {
    realtime_client(&server.uri(), "us-west-2")
}

/// `ParticipantTokenConfiguration` and CreateParticipantToken: `duration` "Default: 720 (12
/// hours)", `capabilities` "Default: PUBLISH, SUBSCRIBE".
#[tokio::test]
async fn stage_tokens_get_the_documented_duration_and_capabilities() {
    let server = ReplayServer::emulator().await;
    let rt = client(&server);
    let created = rt
        .create_stage()
        .participant_token_configurations(
            ParticipantTokenConfiguration::builder()
                .user_id("a")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let both = [
        ParticipantTokenCapability::Publish,
        ParticipantTokenCapability::Subscribe,
    ];
    let token = &created.participant_tokens()[0];
    assert_eq!(
        (token.duration(), token.capabilities()),
        (Some(720), &both[..])
    );
    let minted = rt
        .create_participant_token()
        .stage_arn(created.stage().unwrap().arn())
        .send()
        .await
        .unwrap();
    let token = minted.participant_token().unwrap();
    assert_eq!(
        (token.duration(), token.capabilities()),
        (Some(720), &both[..])
    );
}

/// `redundantIngest` "Default: false", and `redundantIngestCredentials` "present only when
/// redundantIngest is set to true".
#[tokio::test]
async fn ingest_configurations_are_not_redundant_unless_asked() {
    let server = ReplayServer::emulator().await;
    let rt = client(&server);
    let plain = rt
        .create_ingest_configuration()
        .ingest_protocol(IngestProtocol::Rtmps)
        .send()
        .await
        .unwrap();
    let plain = plain.ingest_configuration().unwrap();
    assert!(!plain.redundant_ingest());
    assert!(plain.redundant_ingest_credentials().is_empty());
    let redundant = rt
        .create_ingest_configuration()
        .ingest_protocol(IngestProtocol::Rtmps)
        .redundant_ingest(true)
        .send()
        .await
        .unwrap();
    let redundant = redundant.ingest_configuration().unwrap();
    assert_eq!(redundant.redundant_ingest_credentials().len(), 1);
}

/// LayoutConfiguration's `grid` "Default: Grid layout", with GridConfiguration's defaults
/// (`featuredParticipantAttribute` "", `videoAspectRatio` VIDEO, `gridGap` 2), and
/// PipConfiguration's when a pip is asked for (`featuredParticipantAttribute` and
/// `pipParticipantAttribute` "", `videoFillMode` COVER, `pipBehavior` STATIC, `pipPosition`
/// BOTTOM_RIGHT).
#[tokio::test]
async fn composition_layouts_get_their_documented_defaults() {
    let server = ReplayServer::emulator().await;
    let rt = client(&server);
    let stage = rt.create_stage().send().await.unwrap();
    let stage_arn = stage.stage().unwrap().arn();
    let storage = rt
        .create_storage_configuration()
        .s3(S3StorageConfiguration::builder()
            .bucket_name("vods")
            .build()
            .unwrap())
        .send()
        .await
        .unwrap();
    let encoder = rt.create_encoder_configuration().send().await.unwrap();
    let destination = DestinationConfiguration::builder()
        .s3(S3DestinationConfiguration::builder()
            .storage_configuration_arn(storage.storage_configuration().unwrap().arn())
            .encoder_configuration_arns(encoder.encoder_configuration().unwrap().arn())
            .build()
            .unwrap())
        .build();
    let start = |layout: Option<LayoutConfiguration>| {
        rt.start_composition()
            .stage_arn(stage_arn)
            .destinations(destination.clone())
            .set_layout(layout)
            .send()
    };
    let grid_composition = start(None).await.unwrap();
    let layout = grid_composition.composition().unwrap().layout().unwrap();
    let grid = layout.grid().expect("a grid unless asked otherwise");
    assert_eq!(grid.featured_participant_attribute(), Some(""));
    assert!(!grid.omit_stopped_video());
    assert_eq!(grid.video_aspect_ratio(), Some(&VideoAspectRatio::Video));
    assert_eq!(grid.grid_gap(), 2);
    let pip = LayoutConfiguration::builder()
        .pip(PipConfiguration::builder().build())
        .build();
    let pip_composition = start(Some(pip)).await.unwrap();
    let pip = pip_composition
        .composition()
        .unwrap()
        .layout()
        .unwrap()
        .pip()
        .unwrap();
    assert_eq!(pip.featured_participant_attribute(), Some(""));
    assert_eq!(pip.pip_participant_attribute(), Some(""));
    assert_eq!(pip.video_fill_mode(), Some(&VideoFillMode::Cover));
    assert_eq!(pip.pip_behavior(), Some(&PipBehavior::Static));
    assert_eq!(pip.pip_position(), Some(&PipPosition::BottomRight));
    assert_eq!((pip.grid_gap(), pip.pip_offset()), (0, 0));
}

/// Every service's `Tags` point to AWS's tag naming rules: "The aws: prefix is prohibited for
/// tags". Chat's and Real-Time's creates, TagResource and UntagResource refuse it as IVS's do
/// (`fidelity_ivs::reserved_tag_prefix_is_refused`), and refuse it before anything is made.
#[tokio::test]
async fn chat_and_realtime_refuse_the_reserved_tag_prefix() {
    let server = ReplayServer::emulator().await;
    let rt = client(&server);
    let chat = crate::support::chat_client(&server.uri(), "us-west-2");
    let (code, _) = failure(rt.create_stage().tags("aws:team", "video").send().await);
    assert_eq!(code, "ValidationException");
    let (code, _) = failure(chat.create_room().tags("AWS:team", "video").send().await);
    assert_eq!(code, "ValidationException");
    assert!(rt.list_stages().send().await.unwrap().stages().is_empty());
    assert!(chat.list_rooms().send().await.unwrap().rooms().is_empty());
    let stage = rt.create_stage().send().await.unwrap();
    let arn = stage.stage().unwrap().arn();
    let (code, _) = failure(
        rt.untag_resource()
            .resource_arn(arn)
            .tag_keys("aws:cloudformation:stack-name")
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
}
