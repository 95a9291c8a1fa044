//! The emulator through aws-sdk-ivs, as a user's code sees it: a stateful IVS account that
//! answers what it was asked, fails as IVS fails, and goes live through the control plane.

use aws_sdk_ivs::error::ProvideErrorMetadata as _;
use aws_sdk_ivs::types::{
    ChannelLatencyMode, ChannelType, DestinationConfiguration, S3DestinationConfiguration,
};
use ivs_vcr::ReplayServer;
use proptest::prelude::*;

use crate::support::{ivs_client, keys, new_channel, raw};

/// A P-384 public key (public material only; its private half was never kept).
const P384: &str = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEL2vCI2b105eiZ8DgKtNR8vm3F/bbYeVx
7b8ZLFX9y/ESYRoXmleLzAXmeMbGshCk5K1fBYsXQ3eZ6CoCLNB0d3wY9eJAOWFN
j0zy99Ub31TKWXMPGkBk+xauVmSUM9RF
-----END PUBLIC KEY-----";

async fn control(server: &ReplayServer, path: &str, body: &str) -> (u16, serde_json::Value) {
    let response = raw::post(server.addr(), path, body).await;
    (
        response.status,
        serde_json::from_str(&response.body).unwrap_or_default(),
    )
}

#[tokio::test]
async fn created_channel_is_the_one_asked_for_and_is_gone_after_delete() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "eu-west-1");
    let created = ivs
        .create_channel()
        .name("dev-show")
        .r#type(ChannelType::BasicChannelType)
        .latency_mode(ChannelLatencyMode::NormalLatency)
        .tags("env", "dev")
        .send()
        .await
        .unwrap();
    let channel = created.channel().unwrap();
    let arn = channel.arn().unwrap().to_owned();
    assert!(
        arn.starts_with("arn:aws:ivs:eu-west-1:123456789012:channel/"),
        "{arn}"
    );
    assert_eq!(channel.name(), Some("dev-show"));
    assert_eq!(channel.r#type(), Some(&ChannelType::BasicChannelType));
    assert_eq!(
        channel.latency_mode(),
        Some(&ChannelLatencyMode::NormalLatency)
    );
    assert_eq!(
        channel.tags().unwrap().get("env").map(String::as_str),
        Some("dev")
    );
    let key = created.stream_key().unwrap();
    assert!(key.value().unwrap().starts_with("sk_eu-west-1_"));

    let got = ivs.get_channel().arn(&arn).send().await.unwrap();
    assert_eq!(got.channel().unwrap().name(), Some("dev-show"));
    let second = ivs.create_channel().send().await.unwrap();
    assert_ne!(
        second.channel().unwrap().arn(),
        Some(arn.as_str()),
        "every create mints its own ARN"
    );

    let listed = ivs
        .list_channels()
        .filter_by_name("dev-show")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.channels().len(), 1);
    ivs.tag_resource()
        .resource_arn(&arn)
        .tags("team", "video")
        .send()
        .await
        .unwrap();
    ivs.untag_resource()
        .resource_arn(&arn)
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    let tags = ivs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags().get("team").map(String::as_str), Some("video"));

    ivs.delete_channel().arn(&arn).send().await.unwrap();
    let err = ivs
        .get_channel()
        .arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert_eq!(
        err.message(),
        Some(format!("channel `{arn}` does not exist").as_str())
    );
    server.verify();
}

#[tokio::test]
async fn invalid_and_conflicting_requests_fail_as_ivs_fails_them() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let err = ivs
        .create_channel()
        .name("x".repeat(129))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert_eq!(
        err.message(),
        Some("1 validation error detected: name: 129 characters, at most 128")
    );

    let err = ivs
        .get_channel()
        .arn("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");

    let err = ivs
        .list_channels()
        .filter_by_name("a")
        .filter_by_recording_configuration_arn(
            "arn:aws:ivs:us-west-2:123456789012:recording-configuration/AbCdEfGh1234",
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");

    let arn = new_channel(&ivs).await;
    let err = ivs
        .create_stream_key()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_service_quota_exceeded_exception(), "{err:?}");
    let err = ivs
        .get_stream()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_channel_not_broadcasting(), "{err:?}");

    let err = ivs
        .create_channel()
        .recording_configuration_arn(
            "arn:aws:ivs:us-west-2:123456789012:recording-configuration/AbCdEfGh1234",
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn a_control_call_takes_a_channel_live_and_stop_stream_ends_the_session() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let arn = new_channel(&ivs).await;

    let (status, started) = control(
        &server,
        "/_ivs-vcr/streams/start",
        &format!(r#"{{"channelArn":"{arn}","viewerCount":7}}"#),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let stream = ivs.get_stream().channel_arn(&arn).send().await.unwrap();
    let stream = stream.stream().unwrap();
    assert_eq!(stream.state().map(|s| s.as_str()), Some("LIVE"));
    assert_eq!(stream.viewer_count(), 7);
    assert_eq!(stream.stream_id().unwrap().len(), 26);
    assert_eq!(ivs.list_streams().send().await.unwrap().streams().len(), 1);
    ivs.put_metadata()
        .channel_arn(&arn)
        .metadata("hello")
        .send()
        .await
        .unwrap();
    let err = ivs
        .delete_channel()
        .arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");

    ivs.stop_stream().channel_arn(&arn).send().await.unwrap();
    let session = ivs
        .get_stream_session()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap();
    let session = session.stream_session().unwrap();
    assert_eq!(session.stream_id(), Some(stream.stream_id().unwrap()));
    assert!(session.end_time().is_some());
    let err = ivs
        .put_metadata()
        .channel_arn(&arn)
        .metadata("late")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_channel_not_broadcasting(), "{err:?}");

    let (status, body) = control(
        &server,
        "/_ivs-vcr/streams/stop",
        &format!(r#"{{"channelArn":"{arn}"}}"#),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    ivs.delete_channel().arn(&arn).send().await.unwrap();
}

#[tokio::test]
async fn reset_empties_the_account_and_moto_reset_is_the_same_call() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let first = new_channel(&ivs).await;
    assert_eq!(control(&server, "/moto-api/reset", "").await.0, 200);
    assert!(ivs
        .list_channels()
        .send()
        .await
        .unwrap()
        .channels()
        .is_empty());
    let again = new_channel(&ivs).await;
    assert_eq!(again, first, "ids restart from the seed");
    assert_eq!(control(&server, "/_ivs-vcr/reset", "").await.0, 200);
    let (status, body) = control(&server, "/_ivs-vcr/nope", "").await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn recording_configurations_key_pairs_and_stream_keys_page_and_settle() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let rc = ivs
        .create_recording_configuration()
        .destination_configuration(
            DestinationConfiguration::builder()
                .s3(S3DestinationConfiguration::builder()
                    .bucket_name("my-bucket")
                    .build()
                    .unwrap())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let rc = rc.recording_configuration().unwrap();
    assert_eq!(rc.state().as_str(), "CREATING");
    let got = ivs
        .get_recording_configuration()
        .arn(rc.arn())
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.recording_configuration().unwrap().state().as_str(),
        "ACTIVE"
    );

    let pair = ivs
        .import_playback_key_pair()
        .public_key_material(P384)
        .name("k")
        .send()
        .await
        .unwrap();
    assert_eq!(
        pair.key_pair()
            .unwrap()
            .fingerprint()
            .unwrap()
            .split(':')
            .count(),
        16
    );
    let err = ivs
        .import_playback_key_pair()
        .public_key_material(P384)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");

    for _ in 0..3 {
        ivs.create_channel().send().await.unwrap();
    }
    // ListStreamKeys pages one key by default; ListChannels 100.
    let channel = ivs.list_channels().max_results(2).send().await.unwrap();
    assert_eq!(channel.channels().len(), 2);
    let rest = ivs
        .list_channels()
        .next_token(channel.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.channels().len(), 1);
    assert_eq!(rest.next_token(), None, "the last page has no token");
}

#[tokio::test]
async fn the_binary_without_cassettes_is_an_empty_ivs_account() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::support::bin::IvsVcr::start(&["replay", "--port", "0"], dir.path());
    let ivs = ivs_client(&server.uri().unwrap(), "us-east-1");
    assert!(ivs
        .list_channels()
        .send()
        .await
        .unwrap()
        .channels()
        .is_empty());
    let arn = ivs
        .create_channel()
        .name("a")
        .send()
        .await
        .unwrap()
        .channel()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    assert_eq!(
        ivs.get_channel()
            .arn(&arn)
            .send()
            .await
            .unwrap()
            .channel()
            .unwrap()
            .name(),
        Some("a")
    );
    let finished = server.stop();
    assert!(finished.status.success(), "{}", finished.stderr);
    // The summary shows what an emulator did: emulated answers, per operation.
    assert!(
        finished.stdout.contains("operation      emulated\nCreateChannel         1\nGetChannel            1\nListChannels          1\ntotal: 3 emulated\n"),
        "{}",
        finished.stdout
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random sequences of creates, deletes and tags: what was created and not deleted is listed
    /// exactly once across pages, a deleted channel is never found, and tags read back as written.
    #[test]
    fn the_account_keeps_its_invariants(steps in prop::collection::vec((0u8..3, 0usize..8, 1i32..4), 1..30)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let server = ReplayServer::emulator().await;
            let ivs = ivs_client(&server.uri(), "us-west-2");
            let mut alive: Vec<(String, Option<String>)> = Vec::new();
            let mut deleted: Vec<String> = Vec::new();
            for (action, pick, page) in steps {
                match action {
                    0 => {
                        let arn = new_channel(&ivs).await;
                        alive.push((arn, None));
                    }
                    1 if !alive.is_empty() => {
                        let (arn, _) = alive.remove(pick % alive.len());
                        ivs.delete_channel().arn(&arn).send().await.unwrap();
                        deleted.push(arn);
                    }
                    _ if !alive.is_empty() => {
                        let n = alive.len();
                        let (arn, tag) = &mut alive[pick % n];
                        let value = format!("v{page}");
                        ivs.tag_resource().resource_arn(arn.as_str()).tags("k", &value).send().await.unwrap();
                        *tag = Some(value);
                    }
                    _ => {}
                }
                // Listed exactly once across pages of `page` items.
                let mut listed = Vec::new();
                let mut token = None;
                loop {
                    let out = ivs.list_channels().max_results(page).set_next_token(token).send().await.unwrap();
                    listed.extend(out.channels().iter().map(|c| c.arn().unwrap().to_owned()));
                    token = out.next_token().map(str::to_owned);
                    if token.is_none() { break; }
                }
                let mut expected: Vec<String> = alive.iter().map(|(a, _)| a.clone()).collect();
                expected.sort();
                let mut got = listed.clone();
                got.sort();
                assert_eq!(got.len(), listed.len());
                assert_eq!(got, expected);
            }
            for arn in &deleted {
                let err = ivs.get_channel().arn(arn).send().await.unwrap_err().into_service_error();
                assert!(err.is_resource_not_found_exception());
            }
            for (arn, tag) in &alive {
                let tags = ivs.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
                assert_eq!(tags.tags().get("k"), tag.as_ref());
            }
        });
    }
}

#[tokio::test]
async fn state_is_per_region_and_account() {
    let server = ReplayServer::builder()
        .account("210987654321")
        .start()
        .await
        .unwrap();
    let west = ivs_client(&server.uri(), "us-west-2");
    let east = ivs_client(&server.uri(), "us-east-1");
    let arn = new_channel(&west).await;
    assert!(
        arn.starts_with("arn:aws:ivs:us-west-2:210987654321:channel/"),
        "{arn}"
    );
    assert!(east
        .list_channels()
        .send()
        .await
        .unwrap()
        .channels()
        .is_empty());
    // The ARN of another region names nothing in this one.
    let err = east
        .get_channel()
        .arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn configurations_a_channel_uses_cannot_be_deleted_and_ad_breaks_need_one() {
    use aws_sdk_ivs::types::{MediaTailorPlaybackConfiguration, StreamFilters, StreamHealth};
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let policy = ivs
        .create_playback_restriction_policy()
        .allowed_countries("US")
        .send()
        .await
        .unwrap();
    let policy = policy.playback_restriction_policy().unwrap();
    assert!(!policy.enable_strict_origin_enforcement().unwrap());
    assert!(
        policy.allowed_origins().is_empty(),
        "documented default: all origins"
    );
    let ad = ivs
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
    let ad_arn = ad.ad_configuration().unwrap().arn().to_owned();
    let post_roll = ad
        .ad_configuration()
        .unwrap()
        .post_roll_configuration()
        .unwrap();
    assert_eq!(
        (post_roll.enabled(), post_roll.duration_seconds()),
        (false, 15)
    );

    let channel = ivs
        .create_channel()
        .playback_restriction_policy_arn(policy.arn())
        .send()
        .await
        .unwrap();
    let channel_arn = channel.channel().unwrap().arn().unwrap().to_owned();
    let err = ivs
        .delete_playback_restriction_policy()
        .arn(policy.arn())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");

    // An ad break needs a live channel, then an ad configuration on it.
    let err = ivs
        .insert_ad_break()
        .channel_arn(&channel_arn)
        .duration_seconds(30)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_channel_not_broadcasting(), "{err:?}");
    let (status, body) = control(
        &server,
        "/_ivs-vcr/streams/start",
        &format!(r#"{{"channelArn":"{channel_arn}","health":"STARVING"}}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let err = ivs
        .insert_ad_break()
        .channel_arn(&channel_arn)
        .duration_seconds(30)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");
    let starving = ivs
        .list_streams()
        .filter_by(
            StreamFilters::builder()
                .health(StreamHealth::Starving)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(starving.streams().len(), 1);
    let healthy = ivs
        .list_streams()
        .filter_by(
            StreamFilters::builder()
                .health(StreamHealth::StreamHealthy)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(healthy.streams().is_empty());
    ivs.stop_stream()
        .channel_arn(&channel_arn)
        .send()
        .await
        .unwrap();
    ivs.update_channel()
        .arn(&channel_arn)
        .ad_configuration_arn(&ad_arn)
        .send()
        .await
        .unwrap();
    control(
        &server,
        "/_ivs-vcr/streams/start",
        &format!(r#"{{"channelArn":"{channel_arn}"}}"#),
    )
    .await;
    let inserted = ivs
        .insert_ad_break()
        .channel_arn(&channel_arn)
        .duration_seconds(30)
        .send()
        .await
        .unwrap();
    assert!(inserted.ad_break_id().is_some() && inserted.target_start_at().is_some());
}

#[tokio::test]
async fn key_pairs_are_limited_to_three_per_region_and_revocations_report_missing_channels() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    // Four distinct P-384 public keys, made here: the emulator refuses points off the curve.
    let keys: Vec<String> = (0..4).map(|_| keys::P384::new().public_pem()).collect();
    for key in &keys[..3] {
        ivs.import_playback_key_pair()
            .public_key_material(key)
            .send()
            .await
            .unwrap();
    }
    let err = ivs
        .import_playback_key_pair()
        .public_key_material(&keys[3])
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_service_quota_exceeded_exception(), "{err:?}");
    assert_eq!(
        ivs.list_playback_key_pairs()
            .send()
            .await
            .unwrap()
            .key_pairs()
            .len(),
        3
    );

    let channel = new_channel(&ivs).await;
    let missing = "arn:aws:ivs:us-west-2:123456789012:channel/missingAAAAA";
    let session = |arn: &str| {
        aws_sdk_ivs::types::BatchStartViewerSessionRevocationViewerSession::builder()
            .channel_arn(arn)
            .viewer_id("viewer-1")
            .build()
            .unwrap()
    };
    let out = ivs
        .batch_start_viewer_session_revocation()
        .viewer_sessions(session(&channel))
        .viewer_sessions(session(missing))
        .send()
        .await
        .unwrap();
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.errors()[0].channel_arn(), missing);
    assert_eq!(out.errors()[0].code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn on_miss_emulate_answers_from_state_that_replayed_answers_fed() {
    // A cassette recorded a CreateChannel; the test then asks for something it never recorded.
    let cassette = ivs_vcr::Cassette::from_yaml(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/cassettes/01-channel-lifecycle.yaml"
        ))
        .unwrap(),
        "01-channel-lifecycle.yaml".as_ref(),
    )
    .unwrap();
    let server = ReplayServer::builder()
        .cassette(cassette)
        .on_miss(ivs_vcr::OnMiss::Emulate)
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let created = ivs
        .create_channel()
        .name("my-channel")
        .latency_mode(ChannelLatencyMode::LowLatency)
        .r#type(ChannelType::StandardChannelType)
        .send()
        .await
        .unwrap();
    let arn = created.channel().unwrap().arn().unwrap().to_owned();
    // Never recorded: tagging it is emulated, on the channel the replayed answer made known.
    ivs.tag_resource()
        .resource_arn(&arn)
        .tags("k", "v")
        .send()
        .await
        .unwrap();
    let tags = ivs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().get("k").map(String::as_str), Some("v"));
    let summary = server.summary();
    assert_eq!(summary.operations["CreateChannel"].matched, 1);
    assert_eq!(summary.operations["TagResource"].emulated, 1);
    assert_eq!(summary.n_unmatched, 0);
}

/// A Get call by ARN of the shape SDKs send is answered from its bytes, before the request is
/// parsed; every other spelling of the same call takes the general path. Both must answer alike,
/// for a stored resource and for a missing one, whoever answers.
#[tokio::test]
async fn a_get_by_arn_answers_alike_whether_read_from_its_bytes_or_parsed() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let stored = new_channel(&ivs).await;
    let missing = stored.replace("channel/", "channel/AAAA");
    for arn in [&stored, &missing] {
        // As an SDK writes it: one plain member.
        let flat = format!(r#"{{"arn":"{arn}"}}"#);
        // The same request, spelled so that only a JSON parser reads it: an escaped `/`, a
        // member split over lines, a query string.
        let spelled = [
            (
                "/GetChannel",
                format!(r#"{{"arn":"{}"}}"#, arn.replace('/', "\\/")),
            ),
            ("/GetChannel", format!("{{\n  \"arn\":\n  \"{arn}\"\n}}")),
            ("/GetChannel?", flat.clone()),
        ];
        let answer = raw::post(server.addr(), "/GetChannel", &flat).await;
        assert_eq!(
            answer.status,
            if arn == &stored { 200 } else { 404 },
            "{answer:?}"
        );
        for (path, body) in spelled {
            let other = raw::post(server.addr(), path, &body).await;
            assert_eq!(other.status, answer.status, "{body}: {other:?}");
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&other.body).unwrap(),
                serde_json::from_str::<serde_json::Value>(&answer.body).unwrap(),
                "{body}"
            );
            // The same headers in the same order; only the request id is new each time.
            let without_id = |r: &raw::RawResponse| -> Vec<(String, String)> {
                r.headers
                    .iter()
                    .filter(|(n, _)| n != "x-amzn-requestid" && n != "date")
                    .cloned()
                    .collect()
            };
            assert_eq!(without_id(&other), without_id(&answer), "{body}");
            assert!(other.header("x-amzn-requestid").is_some());
        }
    }
}
