//! The documented IVS rules the ledger (`docs/fidelity/ivs.yaml`) marks enforced and no other
//! test shows: member interactions, documented defaults, reserved tag keys, what a stream session
//! keeps, and the order of its events. Each test drives the emulator through aws-sdk-ivs.

use aws_sdk_ivs::types::{
    ChannelType, ContainerFormat, DestinationConfiguration, MediaTailorPlaybackConfiguration,
    MultitrackInputConfiguration, MultitrackMaximumResolution, MultitrackPolicy, RecordingMode,
    RenditionConfiguration, RenditionConfigurationRendition,
    RenditionConfigurationRenditionSelection, S3DestinationConfiguration, ThumbnailConfiguration,
    TranscodePreset,
};
use ivs_vcr::ReplayServer;

use crate::support::{failure, ivs_client, new_channel, raw};

/// Multitrack settings with `enabled: true` and, when `complete`, `policy` and
/// `maximumResolution`.
fn multitrack(complete: bool) -> MultitrackInputConfiguration {
    let settings = MultitrackInputConfiguration::builder().enabled(true);
    if complete {
        settings
            .policy(MultitrackPolicy::Allow)
            .maximum_resolution(MultitrackMaximumResolution::FullHd)
            .build()
    } else {
        settings.build()
    }
}

/// A POST to the control plane, answered 200.
async fn control(server: &ReplayServer, path: &str, body: serde_json::Value) {
    let response = raw::post(server.addr(), path, &body.to_string()).await;
    assert_eq!(response.status, 200, "{path}: {}", response.body);
}

fn s3() -> DestinationConfiguration {
    DestinationConfiguration::builder()
        .s3(S3DestinationConfiguration::builder()
            .bucket_name("my-bucket")
            .build()
            .unwrap())
        .build()
}

#[tokio::test]
async fn multitrack_needs_a_standard_channel() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let (code, message) = failure(
        ivs.create_channel()
            .r#type(ChannelType::AdvancedHdChannelType)
            .container_format(ContainerFormat::FragmentedMp4)
            .multitrack_input_configuration(multitrack(true))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("only on a STANDARD channel"), "{message}");

    // An update is checked as the channel would be after it: a multitrack channel keeps its type.
    let created = ivs
        .create_channel()
        .container_format(ContainerFormat::FragmentedMp4)
        .multitrack_input_configuration(multitrack(true))
        .send()
        .await
        .unwrap();
    let channel = created.channel().unwrap();
    let settings = channel.multitrack_input_configuration().unwrap();
    assert!(settings.enabled());
    assert_eq!(
        channel.container_format(),
        Some(&ContainerFormat::FragmentedMp4)
    );
    let (code, _) = failure(
        ivs.update_channel()
            .arn(channel.arn().unwrap())
            .r#type(ChannelType::BasicChannelType)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
}

#[tokio::test]
async fn multitrack_needs_policy_and_maximum_resolution() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let (code, message) = failure(
        ivs.create_channel()
            .container_format(ContainerFormat::FragmentedMp4)
            .multitrack_input_configuration(multitrack(false))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "multitrackInputConfiguration.policy: required when multitrack input is enabled"
    );
    // Disabled multitrack needs neither.
    ivs.create_channel()
        .multitrack_input_configuration(
            MultitrackInputConfiguration::builder()
                .enabled(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn multitrack_requires_fragmented_mp4() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    // Omitted, containerFormat is TS (its documented default), which multitrack refuses.
    for format in [None, Some(ContainerFormat::Ts)] {
        let (code, message) = failure(
            ivs.create_channel()
                .set_container_format(format)
                .multitrack_input_configuration(multitrack(true))
                .send()
                .await,
        );
        assert_eq!(code, "ValidationException");
        assert_eq!(
            message,
            "containerFormat: must be FRAGMENTED_MP4 when multitrack input is enabled, not TS"
        );
    }
    // Enabling it on an existing channel needs the format in the same update.
    let arn = new_channel(&ivs).await;
    let (code, _) = failure(
        ivs.update_channel()
            .arn(&arn)
            .multitrack_input_configuration(multitrack(true))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    ivs.update_channel()
        .arn(&arn)
        .container_format(ContainerFormat::FragmentedMp4)
        .multitrack_input_configuration(multitrack(true))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn custom_renditions_need_a_rendition_list() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let custom = RenditionConfiguration::builder()
        .rendition_selection(RenditionConfigurationRenditionSelection::Custom);
    let (code, message) = failure(
        ivs.create_recording_configuration()
            .destination_configuration(s3())
            .rendition_configuration(custom.clone().build())
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(
        message.starts_with("renditionConfiguration.renditions:"),
        "{message}"
    );
    let created = ivs
        .create_recording_configuration()
        .destination_configuration(s3())
        .rendition_configuration(
            custom
                .renditions(RenditionConfigurationRendition::Hd)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let renditions = created
        .recording_configuration()
        .unwrap()
        .rendition_configuration()
        .unwrap();
    assert_eq!(
        renditions.renditions(),
        [RenditionConfigurationRendition::Hd]
    );
}

/// The defaults the model documents, read back from what each create left out.
#[tokio::test]
async fn documented_defaults_fill_what_create_leaves_out() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");

    let created = ivs.create_channel().send().await.unwrap();
    let channel = created.channel().unwrap();
    assert_eq!(channel.latency_mode().map(|m| m.as_str()), Some("LOW"));
    assert_eq!(channel.r#type().map(|t| t.as_str()), Some("STANDARD"));
    assert!(!channel.authorized());
    assert!(!channel.insecure_ingest());
    assert_eq!(channel.container_format().map(|f| f.as_str()), Some("TS"));
    assert_eq!(channel.recording_configuration_arn(), Some(""));
    assert_eq!(channel.playback_restriction_policy_arn(), Some(""));
    assert_eq!(channel.failover_slate_configuration_arn(), Some(""));
    assert_eq!(channel.preset().map(|p| p.as_str()), Some(""));
    let settings = channel.multitrack_input_configuration().unwrap();
    assert!(!settings.enabled());

    // ADVANCED channels default to HIGHER_BANDWIDTH_DELIVERY.
    let created = ivs
        .create_channel()
        .r#type(ChannelType::AdvancedSdChannelType)
        .send()
        .await
        .unwrap();
    let preset = created.channel().unwrap().preset().map(|p| p.as_str());
    assert_eq!(preset, Some("HIGHER_BANDWIDTH_DELIVERY"));
    // Inferred: a preset given for a STANDARD channel, where it is not selectable, reads back "".
    let created = ivs
        .create_channel()
        .preset(TranscodePreset::ConstrainedBandwidthTranscodePreset)
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.channel().unwrap().preset().map(|p| p.as_str()),
        Some("")
    );

    let created = ivs
        .create_recording_configuration()
        .destination_configuration(s3())
        .send()
        .await
        .unwrap();
    let config = created.recording_configuration().unwrap();
    assert_eq!(config.recording_reconnect_window_seconds(), 0);
    let thumbnails = config.thumbnail_configuration().unwrap();
    assert_eq!(
        thumbnails.recording_mode().map(|m| m.as_str()),
        Some("INTERVAL")
    );
    assert_eq!(thumbnails.target_interval_seconds(), Some(60));
    assert_eq!(thumbnails.resolution(), None);
    let storage: Vec<&str> = thumbnails.storage().iter().map(|s| s.as_str()).collect();
    assert_eq!(storage, ["SEQUENTIAL"]);
    let renditions = config.rendition_configuration().unwrap();
    assert_eq!(
        renditions.rendition_selection().map(|s| s.as_str()),
        Some("ALL")
    );

    let created = ivs
        .create_playback_restriction_policy()
        .send()
        .await
        .unwrap();
    let policy = created.playback_restriction_policy().unwrap();
    assert!(policy.allowed_countries().is_empty());
    assert!(policy.allowed_origins().is_empty());
    assert_eq!(policy.name(), Some(""));

    let created = ivs
        .create_failover_slate_configuration()
        .send()
        .await
        .unwrap();
    let slate = created.failover_slate_configuration().unwrap();
    assert_eq!(slate.activation_threshold_seconds(), Some(3));
    assert_eq!(slate.min_slate_display_seconds(), Some(3));
    assert_eq!(slate.max_slate_display_seconds(), Some(60));

    let created = ivs
        .create_ad_configuration()
        .media_tailor_playback_configurations(
            MediaTailorPlaybackConfiguration::builder()
                .playback_configuration_arn(
                    "arn:aws:mediatailor:us-west-2:123456789012:playbackConfiguration/demo",
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ad = created.ad_configuration().unwrap();
    assert_eq!(ad.name(), Some(""));
    let post_roll = ad.post_roll_configuration().unwrap();
    assert!(!post_roll.enabled());
    assert_eq!(post_roll.duration_seconds(), 15);
}

/// The List operations page by the documented default `maxResults`.
#[tokio::test]
async fn lists_page_by_the_documented_default_size() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    for _ in 0..101 {
        new_channel(&ivs).await;
    }
    let page = ivs.list_channels().send().await.unwrap();
    assert_eq!(page.channels().len(), 100, "ListChannels: Default: 100");
    assert!(page.next_token().is_some());
    for _ in 0..2 {
        ivs.create_playback_restriction_policy()
            .send()
            .await
            .unwrap();
    }
    let page = ivs
        .list_playback_restriction_policies()
        .send()
        .await
        .unwrap();
    assert_eq!(page.playback_restriction_policies().len(), 1, "Default: 1");
    assert!(page.next_token().is_some());
}

#[tokio::test]
async fn reserved_tag_prefix_is_refused() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let (code, message) = failure(ivs.create_channel().tags("aws:team", "video").send().await);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("`aws:team`"), "{message}");
    let arn = new_channel(&ivs).await;
    let (code, _) = failure(
        ivs.tag_resource()
            .resource_arn(&arn)
            .tags("AWS:Team", "video")
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    let (code, _) = failure(
        ivs.untag_resource()
            .resource_arn(&arn)
            .tag_keys("aws:cloudformation:stack-name")
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    // Nothing was tagged; a key that merely holds `aws` is the user's.
    ivs.tag_resource()
        .resource_arn(&arn)
        .tags("team-aws", "aws:video")
        .send()
        .await
        .unwrap();
    let tags = ivs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    let keys: Vec<&String> = tags.tags().keys().collect();
    assert_eq!(keys, ["team-aws"]);
}

/// "The properties of the channel at the time of going live" (StreamSession.channel): a later
/// update does not change what the session recorded.
#[tokio::test]
async fn stream_session_keeps_the_channel_as_it_went_live() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let created = ivs.create_channel().name("before").send().await.unwrap();
    let arn = created.channel().unwrap().arn().unwrap().to_owned();
    control(
        &server,
        "/_ivs-vcr/streams/start",
        serde_json::json!({"channelArn": arn}),
    )
    .await;
    ivs.stop_stream().channel_arn(&arn).send().await.unwrap();
    ivs.update_channel()
        .arn(&arn)
        .name("after")
        .authorized(true)
        .send()
        .await
        .unwrap();
    let session = ivs
        .get_stream_session()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap();
    let recorded = session.stream_session().unwrap().channel().unwrap();
    assert_eq!(recorded.name(), Some("before"));
    assert!(!recorded.authorized());
    let now = ivs.get_channel().arn(&arn).send().await.unwrap();
    assert_eq!(now.channel().unwrap().name(), Some("after"));
}

/// "The list is sorted by most recent events and contains up to 500 events"
/// (StreamSession.truncatedEvents).
#[tokio::test]
async fn truncated_events_are_the_newest_500_newest_first() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let arn = new_channel(&ivs).await;
    control(
        &server,
        "/_ivs-vcr/streams/start",
        serde_json::json!({"channelArn": arn}),
    )
    .await;
    // Session Created and Stream Start, then 2 × 250 health events: 502 in all.
    for _ in 0..250 {
        for health in ["STARVING", "HEALTHY"] {
            let body = serde_json::json!({"channelArn": arn, "health": health});
            control(&server, "/_ivs-vcr/streams/update", body).await;
        }
    }
    let session = ivs
        .get_stream_session()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap();
    let events = session.stream_session().unwrap().truncated_events();
    assert_eq!(events.len(), 500);
    assert_eq!(events[0].name(), Some("Starvation End"));
    assert_eq!(events[499].name(), Some("Starvation Start"));
    let times: Vec<_> = events.iter().map(|e| *e.event_time().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert!(
        events.iter().all(|e| e.name() != Some("Session Created")),
        "the oldest two are the ones left out"
    );
}

/// `ThumbnailConfiguration.targetIntervalSeconds`: "This is configurable (and required) only if
/// recordingMode is INTERVAL. Default: 60." An interval given with DISABLED is refused; the
/// default itself, which reads back whatever the mode, is taken with DISABLED too (inferred, so
/// that a configuration read back can be sent again).
#[tokio::test]
async fn thumbnail_intervals_are_configurable_only_in_interval_mode() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let create = |thumbnails: ThumbnailConfiguration| {
        ivs.create_recording_configuration()
            .destination_configuration(s3())
            .thumbnail_configuration(thumbnails)
            .send()
    };
    let thumbnails = |mode: RecordingMode, interval: Option<i64>| {
        ThumbnailConfiguration::builder()
            .recording_mode(mode)
            .set_target_interval_seconds(interval)
            .build()
    };
    let (code, message) = failure(create(thumbnails(RecordingMode::Disabled, Some(30))).await);
    assert_eq!(code, "ValidationException");
    assert!(
        message.starts_with("thumbnailConfiguration.targetIntervalSeconds:")
            && message.contains("INTERVAL"),
        "{message}"
    );
    let listed = ivs.list_recording_configurations().send().await.unwrap();
    assert!(listed.recording_configurations().is_empty(), "nothing made");
    let interval = |made: aws_sdk_ivs::operation::create_recording_configuration::CreateRecordingConfigurationOutput| {
        made.recording_configuration()
            .unwrap()
            .thumbnail_configuration()
            .unwrap()
            .target_interval_seconds()
    };
    let taken = create(thumbnails(RecordingMode::Interval, Some(30))).await;
    assert_eq!(interval(taken.unwrap()), Some(30));
    let disabled = create(thumbnails(RecordingMode::Disabled, None)).await;
    assert_eq!(interval(disabled.unwrap()), Some(60), "Default: 60");
    let round_trip = create(thumbnails(RecordingMode::Disabled, Some(60))).await;
    assert_eq!(interval(round_trip.unwrap()), Some(60));
}

/// A playback restriction policy's `allowedCountries`: "Allowed values are the officially
/// assigned ISO 3166-1 alpha-2 codes." A two-letter code ISO does not assign (UK, EU, XK) is
/// refused by CreatePlaybackRestrictionPolicy and UpdatePlaybackRestrictionPolicy alike, naming
/// the entry; assigned codes are taken.
#[tokio::test]
async fn playback_restriction_countries_are_assigned_iso_codes() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    for code in ["UK", "EU", "XK"] {
        let (kind, message) = failure(
            ivs.create_playback_restriction_policy()
                .allowed_countries("US")
                .allowed_countries(code)
                .send()
                .await,
        );
        assert_eq!(kind, "ValidationException", "{code}");
        assert!(message.starts_with("allowedCountries.1:"), "{message}");
    }
    let listed = ivs
        .list_playback_restriction_policies()
        .send()
        .await
        .unwrap();
    assert!(
        listed.playback_restriction_policies().is_empty(),
        "nothing made"
    );
    let made = ivs
        .create_playback_restriction_policy()
        .allowed_countries("GB")
        .allowed_countries("DE")
        .send()
        .await
        .unwrap();
    let policy = made.playback_restriction_policy().unwrap();
    assert_eq!(policy.allowed_countries(), ["GB", "DE"]);
    let (kind, message) = failure(
        ivs.update_playback_restriction_policy()
            .arn(policy.arn())
            .allowed_countries("gb")
            .send()
            .await,
    );
    assert_eq!(kind, "ValidationException");
    assert!(message.contains("`GB`"), "{message}");
    let read = ivs
        .get_playback_restriction_policy()
        .arn(policy.arn())
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.playback_restriction_policy()
            .unwrap()
            .allowed_countries(),
        ["GB", "DE"],
        "the refused update changed nothing"
    );
}
