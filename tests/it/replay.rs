//! Black-box tests of replay through the library API, driven by the real aws-sdk-ivs client.

use crate::support::{fixture, ivs_client, raw};
use aws_sdk_ivs::error::ProvideErrorMetadata as _;
use aws_sdk_ivs::operation::get_channel::GetChannelError;
use aws_sdk_ivs::types::ChannelLatencyMode;
use ivs_vcr::{Cassette, MatchLevel, ReplayServer};

const ARN: &str = "arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234";

#[tokio::test]
async fn create_get_list_delete_then_get_not_found() {
    let server = ReplayServer::start(Cassette::load(fixture("replay/flow.yaml")).unwrap()).await;
    let ivs = ivs_client(&server.uri(), "us-west-2");

    let created = ivs
        .create_channel()
        .name("test-channel")
        .latency_mode(ChannelLatencyMode::LowLatency)
        // Tag order differs from the cassette's: maps compare as maps.
        .tags("env", "ci")
        .tags("team", "video")
        .send()
        .await
        .unwrap();
    assert_eq!(created.channel().unwrap().arn(), Some(ARN));

    let got = ivs.get_channel().arn(ARN).send().await.unwrap();
    assert_eq!(got.channel().unwrap().name(), Some("test-channel"));

    let listed = ivs.list_channels().send().await.unwrap();
    assert_eq!(listed.channels().len(), 1);

    ivs.delete_channel().arn(ARN).send().await.unwrap();

    let err = ivs.get_channel().arn(ARN).send().await.unwrap_err();
    let err = err.into_service_error();
    assert!(
        matches!(err, GetChannelError::ResourceNotFoundException(_)),
        "expected ResourceNotFoundException, got {err:?}"
    );
    server.verify();
    let summary = server.shutdown().await;
    assert_eq!(summary.n_matched(), 5);
    assert!(summary.unused.is_empty());
}

#[tokio::test]
async fn tags_flow_through_the_encoded_arn_routes() {
    let server = ReplayServer::start(Cassette::load(fixture("replay/tags.yaml")).unwrap()).await;
    let ivs = ivs_client(&server.uri(), "us-west-2");

    ivs.tag_resource()
        .resource_arn(ARN)
        .tags("a/b:c", "x")
        .tags("team", "video")
        .tags("cost center", "42")
        .send()
        .await
        .unwrap();
    let tags = ivs
        .list_tags_for_resource()
        .resource_arn(ARN)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 3);
    // tagKeys compare as a set: the order differs from the recording's.
    ivs.untag_resource()
        .resource_arn(ARN)
        .tag_keys("a/b:c")
        .tag_keys("cost center")
        .send()
        .await
        .unwrap();
    let tags = ivs
        .list_tags_for_resource()
        .resource_arn(ARN)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().keys().collect::<Vec<_>>(), ["team"]);
    server.verify();
}

#[tokio::test]
async fn unmatched_request_gets_a_diagnostic_the_sdk_shows() {
    let server = ReplayServer::builder()
        .cassette(Cassette::load(fixture("replay/flow.yaml")).unwrap())
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let other = "arn:aws:ivs:us-west-2:123456789012:channel/xyzXYZ987654";
    let err = ivs.get_channel().arn(other).send().await.unwrap_err();
    let err = err.into_service_error();
    assert_eq!(err.code(), Some("IvsVcrUnmatchedRequestException"));
    assert_eq!(
        err.message(),
        Some(
            "GetChannel: no recorded interaction for POST /GetChannel in us-west-2 with body \
             {\"arn\":\"arn:aws:ivs:us-west-2:123456789012:channel/xyzXYZ987654\"}; nearest is flow #1 (GetChannel), \
             which differs at body.arn: recorded \"arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234\", \
             got \"arn:aws:ivs:us-west-2:123456789012:channel/xyzXYZ987654\""
        )
    );
    let summary = server.shutdown().await;
    assert_eq!(summary.unmatched.len(), 1);
    assert_eq!(summary.operations["GetChannel"].unmatched, 1);
}

#[tokio::test]
async fn a_client_in_another_region_does_not_get_us_west_2_answers() {
    let server = ReplayServer::builder()
        .cassette(Cassette::load(fixture("replay/flow.yaml")).unwrap())
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "eu-west-1");
    let err = ivs
        .list_channels()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let message = err.message().unwrap();
    assert!(
        message.contains("differs at region: recorded \"us-west-2\", got \"eu-west-1\""),
        "{message}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn operation_level_matching_is_opt_in_and_marked() {
    let server = ReplayServer::builder()
        .cassette(Cassette::load(fixture("replay/flow.yaml")).unwrap())
        .match_level(MatchLevel::Operation)
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let got = ivs
        .get_channel()
        .arn("arn:aws:ivs:us-west-2:123456789012:channel/anyOTHER1234")
        .send()
        .await
        .unwrap();
    assert_eq!(got.channel().unwrap().arn(), Some(ARN));
    // The raw response carries the marker header.
    let raw = raw::post(server.addr(), "/GetChannel", r#"{"arn":"nope"}"#).await;
    assert_eq!(raw.header("x-ivs-vcr-match"), Some("operation"), "{raw:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_cassette_is_selected_through_the_endpoint_path() {
    let server = ReplayServer::builder()
        .dir(fixture("replay"))
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&format!("{}/cassette/tags", server.uri()), "us-west-2");
    let tags = ivs
        .list_tags_for_resource()
        .resource_arn(ARN)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 3);
    // The flow cassette is not reachable through the tags prefix.
    let err = ivs
        .list_channels()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("IvsVcrUnmatchedRequestException"));
    let unknown = ivs_client(&format!("{}/cassette/nope", server.uri()), "us-west-2");
    let err = unknown
        .list_channels()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("IvsVcrUnknownCassetteException"));
    server.shutdown().await;
}

#[tokio::test]
async fn parallel_clients_each_get_their_own_answers() {
    let server = ReplayServer::builder()
        .dir(fixture("replay"))
        .start()
        .await
        .unwrap();
    let uri = server.uri();
    let mut tasks = Vec::new();
    for i in 0..32 {
        let uri = uri.clone();
        tasks.push(tokio::spawn(async move {
            let ivs = ivs_client(&uri, "us-west-2");
            if i % 2 == 0 {
                let got = ivs.list_channels().send().await.unwrap();
                got.channels()[0].arn().unwrap().to_owned()
            } else {
                let tags = ivs
                    .list_tags_for_resource()
                    .resource_arn(ARN)
                    .send()
                    .await
                    .unwrap();
                format!("{} tags", tags.tags().len())
            }
        }));
    }
    let mut tag_answers = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let answer = task.await.unwrap();
        if i % 2 == 0 {
            assert_eq!(answer, ARN);
        } else {
            tag_answers.push(answer);
        }
    }
    // Exactly one client got the first recorded answer (3 tags); every other one the second,
    // which then repeats (1 tag). No answer was lost or given twice out of order.
    tag_answers.sort();
    let mut expected = vec!["1 tags".to_owned(); 15];
    expected.push("3 tags".to_owned());
    assert_eq!(tag_answers, expected);
    server.shutdown().await;
}

#[tokio::test]
#[should_panic(expected = "ivs-vcr replay verification failed")]
async fn drop_panics_when_a_request_went_unmatched() {
    let server = ReplayServer::start(Cassette::load(fixture("replay/flow.yaml")).unwrap()).await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let _ = ivs.get_channel().arn("nope").send().await;
    drop(server);
}

#[tokio::test]
async fn bundled_set_answers_clients_of_any_region_in_their_own_region() {
    for region in ["eu-west-1", "ap-northeast-2", "us-west-2"] {
        let server = ReplayServer::builder()
            .cassettes(ivs_vcr::__private::bundled::cassettes().unwrap())
            .region_portable(ivs_vcr::__private::bundled::BUNDLED_REGION)
            .match_level(MatchLevel::Operation)
            .start()
            .await
            .unwrap();
        let ivs = ivs_client(&server.uri(), region);
        let arn = format!("arn:aws:ivs:{region}:123456789012:channel/abcdEFGH1234");
        // The exact story requests, translated: the channel of 01-channel-lifecycle, then its 404
        // once deleted.
        let got = ivs.get_channel().arn(&arn).send().await.unwrap();
        let channel = got.channel().unwrap();
        assert_eq!(channel.arn(), Some(arn.as_str()));
        let playback = channel.playback_url().unwrap();
        assert!(
            playback.contains(&format!(".{region}.playback.live-video.net")),
            "{playback}"
        );
        let err = ivs
            .get_channel()
            .arn(&arn)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_resource_not_found_exception(), "{err:?}");
        // An answer by operation is translated too.
        let keys = ivs
            .list_stream_keys()
            .channel_arn(&arn)
            .send()
            .await
            .unwrap();
        assert!(!keys.stream_keys().is_empty());
        for key in keys.stream_keys() {
            assert!(
                key.arn().unwrap().contains(&format!(":{region}:")),
                "{key:?}"
            );
        }
        let summary = server.shutdown().await;
        assert!(summary.unmatched.is_empty(), "{summary}");
    }
}

#[tokio::test]
async fn with_the_bundled_set_a_users_own_recording_in_another_region_still_answers() {
    // Regression (review): serving the bundled set region-portable rewrote every foreign request
    // to us-west-2 before matching, so a user's eu-west-1 recording could never match.
    let mut own = Cassette::load(fixture("replay/flow.yaml")).unwrap();
    own.name = "own-eu".into();
    for interaction in &mut own.interactions {
        interaction.request.region = "eu-west-1".into();
    }
    let server = ReplayServer::builder()
        .cassettes(ivs_vcr::__private::bundled::cassettes().unwrap())
        .cassette(own)
        .region_portable(ivs_vcr::__private::bundled::BUNDLED_REGION)
        .match_level(MatchLevel::Operation)
        .start()
        .await
        .unwrap();
    let raw = raw::exchange(
        server.addr(),
        format!("POST /ListChannels HTTP/1.1\r\nHost: {}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/20261126/eu-west-1/ivs/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}", server.addr()).as_bytes(),
    )
    .await;
    assert_eq!(raw.header("x-ivs-vcr-source"), Some("own-eu#2"), "{raw:?}");
    assert_eq!(raw.header("x-ivs-vcr-match"), Some("exact"));
    // Without a recording of its own, the same client still gets a bundled answer in its region.
    let ivs = ivs_client(&server.uri(), "eu-west-1");
    let keys = ivs
        .list_stream_keys()
        .channel_arn("arn:aws:ivs:eu-west-1:123456789012:channel/abcdEFGH1234")
        .send()
        .await
        .unwrap();
    assert!(keys.stream_keys()[0].arn().unwrap().contains(":eu-west-1:"));
    server.shutdown().await;
}

/// Issue 12 §4: a recorded stream key is a placeholder in the cassette, but an application that
/// checks its format or hands it to an encoder gets one in IVS's format; handing it back matches
/// as the placeholder does.
#[tokio::test]
async fn replayed_secrets_keep_their_shape_and_match_when_sent_back() {
    let placeholder = "ivs-vcr-redacted:0123456789abcdef";
    let yaml = format!(
        r#"
format: 1
api_version: "2020-07-14"
ivs_vcr_version: 0.1.0
provenance: {{ kind: recorded, source: test }}
name: keys
interactions:
  - request: {{ method: POST, path: /GetStreamKey, region: eu-west-1, body: {{ arn: "arn:aws:ivs:eu-west-1:123456789012:stream-key/abcdABCDefgh" }} }}
    response:
      status: 200
      headers: {{ Content-Type: application/json }}
      body:
        streamKey: {{ arn: "arn:aws:ivs:eu-west-1:123456789012:stream-key/abcdABCDefgh", channelArn: "arn:aws:ivs:eu-west-1:123456789012:channel/abcdABCDefgh", value: "{placeholder}", tags: {{}} }}
  - request:
      method: POST
      path: /tags/arn%3Aaws%3Aivs%3Aeu-west-1%3A123456789012%3Achannel%2FabcdABCDefgh
      region: eu-west-1
      body: {{ tags: {{ handed-to-encoder: "{placeholder}" }} }}
    response: {{ status: 200, headers: {{ Content-Type: application/json }}, body: {{}} }}
"#
    );
    let server =
        ReplayServer::start(Cassette::from_yaml(&yaml, "keys.yaml".as_ref()).unwrap()).await;
    let ivs = ivs_client(&server.uri(), "eu-west-1");
    let key = ivs
        .get_stream_key()
        .arn("arn:aws:ivs:eu-west-1:123456789012:stream-key/abcdABCDefgh")
        .send()
        .await
        .unwrap();
    let value = key.stream_key().unwrap().value().unwrap().to_owned();
    assert!(value.starts_with("sk_eu-west-1_0123456789ab_"), "{value}");
    assert!(!value.contains("redacted"), "{value}");
    // The same fake every time.
    let again = ivs
        .get_stream_key()
        .arn("arn:aws:ivs:eu-west-1:123456789012:stream-key/abcdABCDefgh")
        .send()
        .await
        .unwrap();
    assert_eq!(again.stream_key().unwrap().value(), Some(value.as_str()));
    ivs.tag_resource()
        .resource_arn("arn:aws:ivs:eu-west-1:123456789012:channel/abcdABCDefgh")
        .tags("handed-to-encoder", &value)
        .send()
        .await
        .unwrap();
    server.verify();
}

/// From 10,000 interactions the index and the answers are built on two threads and the parsed
/// cassettes freed on a third: every interaction still answers with its own body, headers and
/// source, and the summary counts what was used.
#[tokio::test]
async fn a_large_set_built_in_parallel_answers_each_interaction_as_recorded() {
    use ivs_vcr::cassette::{
        Interaction, Provenance, ProvenanceKind, RecordedRequest, RecordedResponse,
    };
    const N: usize = 12_000;
    let arn = |i: usize| format!("arn:aws:ivs:us-west-2:123456789012:channel/large{i:07}");
    let mut cassette = Cassette::new(
        "large",
        Provenance {
            kind: ProvenanceKind::Authored,
            source: "test".into(),
            model: None,
            recorded_on: None,
        },
    );
    for i in 0..N {
        // Every other answer carries its own request id, so that some answers share their
        // header map and some do not.
        let mut headers = std::collections::BTreeMap::from([(
            "Content-Type".to_owned(),
            "application/json".to_owned(),
        )]);
        if i % 2 == 1 {
            headers.insert("x-amzn-RequestId".into(), format!("req-{i}"));
        }
        cassette.interactions.push(Interaction {
            request: RecordedRequest {
                service: Default::default(),
                method: "POST".into(),
                path: "/GetChannel".into(),
                query: Default::default(),
                region: "us-west-2".into(),
                headers: Default::default(),
                body: Some(serde_json::json!({ "arn": arn(i) })),
            },
            response: RecordedResponse {
                status: 200,
                headers,
                body: Some(
                    serde_json::json!({ "channel": { "arn": arn(i), "name": format!("c{i}") } }),
                ),
                body_text: None,
            },
        });
    }
    let server = ReplayServer::builder()
        .cassette(cassette)
        .start()
        .await
        .unwrap();
    assert_eq!(server.n_interactions(), N);
    let ivs = ivs_client(&server.uri(), "us-west-2");
    for i in [0, 1, N / 2, N - 2, N - 1] {
        let channel = ivs.get_channel().arn(arn(i)).send().await.unwrap();
        assert_eq!(
            channel.channel().and_then(|c| c.name()),
            Some(format!("c{i}").as_str())
        );
        let raw = raw::post(
            server.addr(),
            "/GetChannel",
            &format!(r#"{{"arn":"{}"}}"#, arn(i)),
        )
        .await;
        assert_eq!(
            raw.header("x-ivs-vcr-source"),
            Some(format!("large#{i}").as_str())
        );
        assert_eq!(raw.header("x-ivs-vcr-match"), Some("exact"));
        let request_id = (i % 2 == 1).then(|| format!("req-{i}"));
        assert_eq!(
            raw.header("x-amzn-requestid"),
            request_id.as_deref(),
            "answer {i}"
        );
    }
    let summary = server.shutdown().await;
    assert_eq!(summary.n_unmatched, 0, "{summary}");
    assert_eq!(summary.unused.len(), N - 5);
}

/// A hit is found the same way whatever shape the body has: a flat body is looked up from its
/// bytes, one with an escape, a number or a nested member is parsed first, and either finds the
/// interaction recorded for the same call.
#[tokio::test]
async fn the_same_call_hits_the_same_interaction_whether_its_body_is_parsed_or_not() {
    let yaml = format!(
        "format: 1\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: {{kind: authored, source: test}}\nname: shapes\ninteractions:\n\
         - request: {{method: POST, path: /GetChannel, region: us-west-2, body: {{arn: \"{ARN}\"}}}}\n  response: {{status: 200, body: {{channel: {{arn: \"{ARN}\"}}}}}}\n\
         - request: {{method: POST, path: /CreateChannel, region: us-west-2, body: {{name: a, latencyMode: LOW}}}}\n  response: {{status: 200, body: {{channel: {{name: a}}}}}}\n\
         - request: {{method: POST, path: /ListChannels, region: us-west-2}}\n  response: {{status: 200, body: {{channels: []}}}}\n"
    );
    let cassette = Cassette::from_yaml(&yaml, "shapes.yaml".as_ref()).unwrap();
    let server = ReplayServer::builder()
        .cassette(cassette)
        .start()
        .await
        .unwrap();
    let escaped = ARN.replacen('a', "\\u0061", 1);
    let calls: [(&str, &[String], &str); 3] = [
        (
            "/GetChannel",
            &[
                format!(r#"{{"arn":"{ARN}"}}"#),
                format!(r#" {{ "arn" : "{ARN}" }} "#),
                format!(r#"{{"arn":"{escaped}"}}"#),
            ],
            "shapes#0",
        ),
        (
            "/CreateChannel",
            &[
                r#"{"name": "a", "latencyMode": "LOW"}"#.to_owned(),
                r#"{"latencyMode":"LOW","name":"\u0061"}"#.to_owned(),
            ],
            "shapes#1",
        ),
        (
            "/ListChannels",
            &[String::new(), "{}".to_owned()],
            "shapes#2",
        ),
    ];
    for (path, bodies, source) in calls {
        for body in bodies {
            let answer = raw::post(server.addr(), path, body).await;
            assert_eq!(answer.status, 200, "{path} {body}: {}", answer.body);
            assert_eq!(
                answer.header("x-ivs-vcr-source"),
                Some(source),
                "{path} {body}"
            );
            assert_eq!(
                answer.header("x-ivs-vcr-match"),
                Some("exact"),
                "{path} {body}"
            );
        }
    }
    let miss = raw::post(
        server.addr(),
        "/GetChannel",
        r#"{"arn":"arn:aws:ivs:us-west-2:123456789012:channel/other"}"#,
    )
    .await;
    assert_eq!(miss.status, 400, "{}", miss.body);
    assert!(
        miss.body
            .contains("nearest is shapes #0 (GetChannel), which differs at body.arn"),
        "{}",
        miss.body
    );
    let summary = server.shutdown().await;
    assert_eq!(summary.unmatched.len(), 1);
}
