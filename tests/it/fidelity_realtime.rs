//! IVS Real-Time's documented defaults that `docs/fidelity/ivs-realtime.yaml` lists as enforced
//! and no other test holds, against the real server with aws-sdk-ivsrealtime. Each test cites the
//! sentences it checks.

use aws_sdk_ivsrealtime::types::{
    ChannelDestinationConfiguration, DestinationConfiguration, IngestProtocol, LayoutConfiguration,
    ParticipantTokenCapability, ParticipantTokenConfiguration, PipBehavior, PipConfiguration,
    PipPosition, S3DestinationConfiguration, Video, VideoAspectRatio, VideoFillMode,
};
use ivs_vcr::ReplayServer;

use crate::support::stages::{new_encoder, new_stage, new_storage, s3_destination};
use crate::support::{failure, realtime_client, realtime_client_as};

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
    let stage_arn = &new_stage(&rt).await;
    let storage = new_storage(&rt, "vods", None).await;
    let encoder = new_encoder(&rt, None).await;
    let destination = s3_destination(&storage, &encoder);
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

/// `CreateEncoderConfiguration.video` and `EncoderConfiguration.video`: "Default: video
/// resolution 1280x720, bitrate 2500 kbps, 30 fps", member by member (`Video`'s `width` "Default:
/// 1280", `height` "Default: 720", `framerate` "Default: 30", `bitrate` "Default: 2500000"), as
/// created and as read back.
#[tokio::test]
async fn encoder_configurations_get_the_documented_video_defaults() {
    let server = ReplayServer::emulator().await;
    let rt = client(&server);
    let video_of = |created: aws_sdk_ivsrealtime::operation::create_encoder_configuration::CreateEncoderConfigurationOutput| {
        created.encoder_configuration().unwrap().clone()
    };
    let bare = video_of(rt.create_encoder_configuration().send().await.unwrap());
    let video = bare.video().expect("a video though none was given");
    assert_eq!(
        (
            video.width(),
            video.height(),
            video.bitrate(),
            video.framerate()
        ),
        (Some(1280), Some(720), Some(2_500_000), Some(30.0))
    );
    let read = rt
        .get_encoder_configuration()
        .arn(bare.arn())
        .send()
        .await
        .unwrap();
    assert_eq!(read.encoder_configuration().unwrap().video(), Some(video));
    // Each member left out is filled alone; the ones given are kept.
    let partial = video_of(
        rt.create_encoder_configuration()
            .video(Video::builder().width(640).height(360).build())
            .send()
            .await
            .unwrap(),
    );
    let video = partial.video().unwrap();
    assert_eq!(
        (
            video.width(),
            video.height(),
            video.bitrate(),
            video.framerate()
        ),
        (Some(640), Some(360), Some(2_500_000), Some(30.0))
    );
    let partial = video_of(
        rt.create_encoder_configuration()
            .video(Video::builder().bitrate(1_000_000).framerate(15.0).build())
            .send()
            .await
            .unwrap(),
    );
    let video = partial.video().unwrap();
    assert_eq!(
        (
            video.width(),
            video.height(),
            video.bitrate(),
            video.framerate()
        ),
        (Some(1280), Some(720), Some(1_000_000), Some(15.0))
    );
}

/// `ChannelDestinationConfiguration.encoderConfigurationArn` and
/// `S3DestinationConfiguration.encoderConfigurationArns`: "The encoder configuration and stage
/// resources must be in the same AWS account and region." An encoder configuration of another
/// region or account names nothing to the stage's composition: ResourceNotFoundException, and no
/// composition is made.
#[tokio::test]
async fn compositions_refuse_an_encoder_configuration_of_another_account_or_region() {
    let server = ReplayServer::emulator().await;
    let rt = client(&server);
    let stage = rt.create_stage().send().await.unwrap();
    let stage_arn = stage.stage().unwrap().arn();
    let storage_arn = &new_storage(&rt, "vods", None).await;
    let ivs = crate::support::ivs_client(&server.uri(), "us-west-2");
    let channel = ivs.create_channel().send().await.unwrap();
    let channel_arn = channel.channel().unwrap().arn().unwrap().to_owned();
    let elsewhere = [
        realtime_client(&server.uri(), "eu-west-1"),
        realtime_client_as(&server.uri(), "us-west-2", "111111111111"),
    ];
    for foreign in &elsewhere {
        let encoder = foreign.create_encoder_configuration().send().await.unwrap();
        let encoder_arn = encoder.encoder_configuration().unwrap().arn();
        let record = DestinationConfiguration::builder()
            .s3(S3DestinationConfiguration::builder()
                .storage_configuration_arn(storage_arn)
                .encoder_configuration_arns(encoder_arn)
                .build()
                .unwrap())
            .build();
        let broadcast = DestinationConfiguration::builder()
            .channel(
                ChannelDestinationConfiguration::builder()
                    .channel_arn(&channel_arn)
                    .encoder_configuration_arn(encoder_arn)
                    .build()
                    .unwrap(),
            )
            .build();
        for destination in [record, broadcast] {
            let (code, message) = failure(
                rt.start_composition()
                    .stage_arn(stage_arn)
                    .destinations(destination)
                    .send()
                    .await,
            );
            assert_eq!(
                code, "ResourceNotFoundException",
                "{encoder_arn}: {message}"
            );
            assert!(message.contains(encoder_arn), "{message}");
        }
    }
    // The same configuration made in the stage's account and region is taken.
    let own = rt.create_encoder_configuration().send().await.unwrap();
    let s3 = S3DestinationConfiguration::builder()
        .storage_configuration_arn(storage_arn)
        .encoder_configuration_arns(own.encoder_configuration().unwrap().arn())
        .build()
        .unwrap();
    rt.start_composition()
        .stage_arn(stage_arn)
        .destinations(DestinationConfiguration::builder().s3(s3).build())
        .send()
        .await
        .unwrap();
    let listed = rt.list_compositions().send().await.unwrap();
    assert_eq!(listed.compositions().len(), 1, "only the last one was made");
}

/// CreateIngestConfiguration's and StartParticipantReplication's `attributes`: "The maximum
/// length of this field is 1 KB total" (keys and values): 1,024 bytes are taken, 1,025 refused
/// with a ValidationException naming the member.
#[tokio::test]
async fn ingest_and_replication_attributes_are_at_most_one_kilobyte() {
    let server = ReplayServer::emulator().await;
    let rt = client(&server);
    // "k" and a value: 1 + 1,023 bytes.
    let value = |n: usize| "v".repeat(n);
    rt.create_ingest_configuration()
        .ingest_protocol(IngestProtocol::Rtmps)
        .attributes("k", value(1023))
        .send()
        .await
        .expect("1 KB is within the limit");
    let (code, message) = failure(
        rt.create_ingest_configuration()
            .ingest_protocol(IngestProtocol::Rtmps)
            .attributes("k", value(1024))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException", "{message}");
    assert!(message.contains("attributes"), "{message}");
    let listed = rt.list_ingest_configurations().send().await.unwrap();
    assert_eq!(
        listed.ingest_configurations().len(),
        1,
        "the refused one was not made"
    );

    let source = rt.create_stage().send().await.unwrap();
    let destination = rt.create_stage().send().await.unwrap();
    let (code, message) = failure(
        rt.start_participant_replication()
            .source_stage_arn(source.stage().unwrap().arn())
            .destination_stage_arn(destination.stage().unwrap().arn())
            .participant_id("publisher")
            .attributes("k", value(1024))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException", "{message}");
    assert!(message.contains("attributes"), "{message}");
}

/// ListCompositions' `filterByEncoderConfigurationArn`: "Filters the Composition list to match
/// the specified EncoderConfiguration attached to at least one of its output."
#[tokio::test]
async fn compositions_are_listed_by_the_encoder_configuration_they_use() {
    let server = ReplayServer::emulator().await;
    let rt = client(&server);
    let storage_arn = &new_storage(&rt, "vods", None).await;
    let mut encoders = Vec::new();
    for _ in 0..3 {
        let made = rt.create_encoder_configuration().send().await.unwrap();
        encoders.push(made.encoder_configuration().unwrap().arn().to_owned());
    }
    // One composition broadcasts with encoder 0 and records with encoder 1, another records with
    // encoder 1 only; encoder 2 is used by none.
    let ivs = crate::support::ivs_client(&server.uri(), "us-west-2");
    let channel = ivs.create_channel().send().await.unwrap();
    let channel_arn = channel.channel().unwrap().arn().unwrap().to_owned();
    let record = |encoder: &str| {
        let s3 = S3DestinationConfiguration::builder()
            .storage_configuration_arn(storage_arn)
            .encoder_configuration_arns(encoder)
            .build()
            .unwrap();
        DestinationConfiguration::builder().s3(s3).build()
    };
    let broadcast = DestinationConfiguration::builder()
        .channel(
            ChannelDestinationConfiguration::builder()
                .channel_arn(&channel_arn)
                .encoder_configuration_arn(&encoders[0])
                .build()
                .unwrap(),
        )
        .build();
    let mut compositions = Vec::new();
    for destinations in [
        vec![broadcast, record(&encoders[1])],
        vec![record(&encoders[1])],
    ] {
        let stage = rt.create_stage().send().await.unwrap();
        let started = rt
            .start_composition()
            .stage_arn(stage.stage().unwrap().arn())
            .set_destinations(Some(destinations))
            .send()
            .await
            .unwrap();
        compositions.push(started.composition().unwrap().arn().to_owned());
    }
    let by = |encoder: &str| {
        let request = rt
            .list_compositions()
            .filter_by_encoder_configuration_arn(encoder);
        async move {
            let listed = request.send().await.unwrap();
            let mut arns: Vec<String> = listed
                .compositions()
                .iter()
                .map(|c| c.arn().to_owned())
                .collect();
            arns.sort();
            arns
        }
    };
    assert_eq!(by(&encoders[0]).await, vec![compositions[0].clone()]);
    let mut both = compositions.clone();
    both.sort();
    assert_eq!(by(&encoders[1]).await, both);
    assert!(by(&encoders[2]).await.is_empty());
}

/// A stage's `autoParticipantRecordingConfiguration.thumbnailConfiguration`
/// (`ParticipantThumbnailConfiguration`): `targetIntervalSeconds` "is configurable only if
/// recordingMode is INTERVAL", and `recordingMode` is "Default: DISABLED". An interval given
/// without INTERVAL is refused by CreateStage and UpdateStage; with INTERVAL it is kept.
#[tokio::test]
async fn participant_thumbnail_intervals_need_interval_mode() {
    use aws_sdk_ivsrealtime::types::{
        AutoParticipantRecordingConfiguration, ParticipantThumbnailConfiguration,
        ThumbnailRecordingMode,
    };
    let server = ReplayServer::emulator().await;
    let rt = client(&server);
    let storage_arn = &new_storage(&rt, "vods", None).await;
    let recording = |mode: Option<ThumbnailRecordingMode>| {
        AutoParticipantRecordingConfiguration::builder()
            .storage_configuration_arn(storage_arn)
            .thumbnail_configuration(
                ParticipantThumbnailConfiguration::builder()
                    .set_recording_mode(mode)
                    .target_interval_seconds(10)
                    .build(),
            )
            .build()
            .unwrap()
    };
    for mode in [None, Some(ThumbnailRecordingMode::Disabled)] {
        let (code, message) = failure(
            rt.create_stage()
                .auto_participant_recording_configuration(recording(mode.clone()))
                .send()
                .await,
        );
        assert_eq!(code, "ValidationException", "{mode:?}");
        assert!(message.contains("targetIntervalSeconds"), "{message}");
    }
    assert!(rt.list_stages().send().await.unwrap().stages().is_empty());
    let stage = rt.create_stage().send().await.unwrap();
    let arn = stage.stage().unwrap().arn();
    let (code, _) = failure(
        rt.update_stage()
            .arn(arn)
            .auto_participant_recording_configuration(recording(None))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    let updated = rt
        .update_stage()
        .arn(arn)
        .auto_participant_recording_configuration(recording(Some(ThumbnailRecordingMode::Interval)))
        .send()
        .await
        .unwrap();
    let thumbnails = updated
        .stage()
        .unwrap()
        .auto_participant_recording_configuration()
        .unwrap()
        .thumbnail_configuration()
        .unwrap();
    assert_eq!(
        (
            thumbnails.recording_mode(),
            thumbnails.target_interval_seconds()
        ),
        (Some(&ThumbnailRecordingMode::Interval), Some(10))
    );
}
