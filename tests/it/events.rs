//! EventBridge events and recordings (issue 26 §3): a local webhook receives what IVS would send
//! when a channel goes live and offline, in EventBridge's envelope; `GET /_ivs-vcr/events` lists
//! the same; a channel with a recording configuration sends the recording events and leaves IVS's
//! events files below `--recordings-dir`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use aws_sdk_ivs::types::{DestinationConfiguration, S3DestinationConfiguration};
use ivs_vcr::ReplayServer;
use serde_json::{json, Value};

use crate::support::webhook::Webhook;
use crate::support::{ivs_client, raw};

async fn control(server: &ReplayServer, path: &str, body: Value) -> Value {
    let response = raw::post(server.addr(), path, &body.to_string()).await;
    assert_eq!(response.status, 200, "{path}: {}", response.body);
    serde_json::from_str(&response.body).unwrap()
}

/// An emulator posting its events to `webhook`.
async fn posting_to(webhook: &Webhook) -> ReplayServer {
    ReplayServer::builder()
        .events_url(webhook.url())
        .start()
        .await
        .unwrap()
}

/// Starts a stream on the channel `arn` through the control plane; the answer.
async fn start_stream(server: &ReplayServer, arn: &str) -> Value {
    control(
        server,
        "/_ivs-vcr/streams/start",
        json!({"channelArn": arn}),
    )
    .await
}

/// Stops the stream on the channel `arn` through the control plane.
async fn stop_stream(server: &ReplayServer, arn: &str) {
    control(server, "/_ivs-vcr/streams/stop", json!({"channelArn": arn})).await;
}

async fn events(server: &ReplayServer, query: &str) -> Value {
    let response = raw::call(server.addr(), "GET", &format!("/_ivs-vcr/events{query}")).await;
    assert_eq!(response.status, 200, "{}", response.body);
    serde_json::from_str(&response.body).unwrap()
}

async fn named_channel(ivs: &aws_sdk_ivs::Client, name: &str, recording: Option<&str>) -> String {
    let mut create = ivs.create_channel().name(name);
    if let Some(arn) = recording {
        create = create.recording_configuration_arn(arn);
    }
    let created = create.send().await.unwrap();
    created.channel().unwrap().arn().unwrap().to_owned()
}

async fn recording_configuration(ivs: &aws_sdk_ivs::Client, window: Option<i32>) -> String {
    let mut create = ivs
        .create_recording_configuration()
        .destination_configuration(
            DestinationConfiguration::builder()
                .s3(S3DestinationConfiguration::builder()
                    .bucket_name("my-recordings")
                    .build()
                    .unwrap())
                .build(),
        );
    if let Some(seconds) = window {
        create = create.recording_reconnect_window_seconds(seconds);
    }
    let created = create.send().await.unwrap();
    created.recording_configuration().unwrap().arn().to_owned()
}

/// `(detail-type, event_name or recording_status)` of each event.
fn names(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            let detail = &e["detail"];
            let name = detail
                .get("event_name")
                .or_else(|| detail.get("recording_status"))
                .and_then(Value::as_str)
                .unwrap_or("");
            (
                e["detail-type"].as_str().unwrap().to_owned(),
                name.to_owned(),
            )
        })
        .collect()
}

/// The events of one stream on a recorded channel, from start to end, in order.
const RECORDED_STREAM: &[(&str, &str)] = &[
    ("IVS Stream State Change", "Session Created"),
    ("IVS Stream State Change", "Stream Start"),
    ("IVS Recording State Change", "Recording Start"),
    ("IVS Stream State Change", "Stream End"),
    ("IVS Stream State Change", "Session Ended"),
    ("IVS Recording State Change", "Recording End"),
];

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_stream_start_and_stop_reach_the_webhook_in_eventbridges_envelope() {
    let webhook = Webhook::start(0).await;
    let server = posting_to(&webhook).await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let arn = named_channel(&ivs, "launch-show", None).await;
    let started = start_stream(&server, &arn).await;
    let stream_id = started["stream"]["streamId"].as_str().unwrap().to_owned();
    ivs.stop_stream().channel_arn(&arn).send().await.unwrap();

    let received = webhook.wait_for(4).await;
    assert_eq!(
        names(&received),
        pairs(&[
            ("IVS Stream State Change", "Session Created"),
            ("IVS Stream State Change", "Stream Start"),
            ("IVS Stream State Change", "Stream End"),
            ("IVS Stream State Change", "Session Ended"),
        ])
    );
    let mut ids = std::collections::BTreeSet::new();
    for event in &received {
        let keys: Vec<&str> = event
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "account",
                "detail",
                "detail-type",
                "id",
                "region",
                "resources",
                "source",
                "time",
                "version"
            ],
            "{event:#}"
        );
        assert_eq!(event["version"], "0");
        assert_eq!(event["source"], "aws.ivs");
        assert_eq!(event["account"], "123456789012");
        assert_eq!(event["region"], "us-west-2");
        assert_eq!(event["resources"], json!([arn]));
        let time = event["time"].as_str().unwrap();
        assert!(
            time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
            "{time}"
        );
        let id = event["id"].as_str().unwrap();
        assert_eq!(
            id.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        ids.insert(id.to_owned());
        // The documented members, and no others.
        let name = event["detail"]["event_name"].clone();
        assert_eq!(
            event["detail"],
            json!({"event_name": name, "channel_name": "launch-show", "stream_id": stream_id})
        );
    }
    assert_eq!(ids.len(), 4, "each event has its own id");

    // The control plane lists the same events.
    let listed = events(&server, "").await;
    assert_eq!(listed["events"], json!(received));
    assert_eq!(listed["last"], 4);
    assert_eq!(
        listed["delivery"],
        json!({"delivered": 4, "failed": 0, "dropped": 0})
    );
    // And the session's events name them too.
    let session = ivs
        .get_stream_session()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap();
    let session_events: Vec<&str> = session
        .stream_session()
        .unwrap()
        .truncated_events()
        .iter()
        .map(|e| e.name().unwrap())
        .collect();
    assert_eq!(
        session_events,
        // Newest first: "sorted by most recent events" (StreamSession.truncatedEvents).
        [
            "Session Ended",
            "Stream End",
            "Stream Start",
            "Session Created"
        ]
    );
}

#[tokio::test]
async fn a_webhook_that_fails_first_gets_the_event_on_a_retry() {
    let webhook = Webhook::start(2).await;
    let server = posting_to(&webhook).await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let arn = named_channel(&ivs, "retried", None).await;
    start_stream(&server, &arn).await;
    let received = webhook.wait_for(2).await;
    assert_eq!(
        names(&received),
        pairs(&[
            ("IVS Stream State Change", "Session Created"),
            ("IVS Stream State Change", "Stream Start"),
        ]),
        "delivered once each, in order, after two failures"
    );
    assert_eq!(webhook.n_requests(), 4);
}

#[tokio::test]
async fn an_unreachable_webhook_never_holds_the_emulator_and_the_failures_are_counted() {
    // A port nothing listens on: every attempt fails to connect.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = ReplayServer::builder()
        .events_url(format!("http://127.0.0.1:{port}/events"))
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let arn = named_channel(&ivs, "unheard", None).await;
    let began = Instant::now();
    start_stream(&server, &arn).await;
    ivs.stop_stream().channel_arn(&arn).send().await.unwrap();
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "the calls waited for delivery: {:?}",
        began.elapsed()
    );
    assert_eq!(
        events(&server, "").await["events"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // Six attempts an event, 3.1 s of backoff: the first event is given up within seconds.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let delivery = events(&server, "").await["delivery"].clone();
        if delivery["failed"].as_u64().unwrap() >= 1 {
            assert_eq!(delivery["delivered"], 0);
            break;
        }
        assert!(Instant::now() < deadline, "{delivery}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn health_changes_send_stream_health_events() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let arn = named_channel(&ivs, "starving", None).await;
    control(
        &server,
        "/_ivs-vcr/streams/start",
        json!({"channelArn": arn, "health": "STARVING"}),
    )
    .await;
    let updated = control(
        &server,
        "/_ivs-vcr/streams/update",
        json!({"channelArn": arn, "health": "HEALTHY", "viewerCount": 12}),
    )
    .await;
    assert_eq!(updated["stream"]["health"], "HEALTHY");
    // Unchanged health sends nothing.
    control(
        &server,
        "/_ivs-vcr/streams/update",
        json!({"channelArn": arn, "health": "HEALTHY"}),
    )
    .await;
    let stream = ivs.get_stream().channel_arn(&arn).send().await.unwrap();
    assert_eq!(stream.stream().unwrap().viewer_count(), 12);
    let listed = events(&server, "?detail-type=IVS%20Stream%20Health%20Change").await;
    let listed = listed["events"].as_array().unwrap();
    assert_eq!(
        names(listed),
        pairs(&[
            ("IVS Stream Health Change", "Starvation Start"),
            ("IVS Stream Health Change", "Starvation End"),
        ])
    );
    assert_eq!(listed[0]["detail"]["channel_name"], "starving");

    let bad = raw::post(
        server.addr(),
        "/_ivs-vcr/streams/update",
        &json!({"channelArn": arn, "health": "GREAT"}).to_string(),
    )
    .await;
    raw::assert_aws_error(
        &bad,
        400,
        "ValidationException",
        "health: \"GREAT\" is not one of HEALTHY, STARVING, UNKNOWN",
    );
}

#[tokio::test]
async fn events_are_listed_after_a_number_and_forgotten_at_reset() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let arn = named_channel(&ivs, "paged", None).await;
    start_stream(&server, &arn).await;
    let first = events(&server, "").await;
    assert_eq!(first["last"], 2);
    stop_stream(&server, &arn).await;
    let next = events(&server, "?since=2").await;
    assert_eq!(
        names(next["events"].as_array().unwrap()),
        pairs(&[
            ("IVS Stream State Change", "Stream End"),
            ("IVS Stream State Change", "Session Ended"),
        ])
    );
    assert_eq!(next["last"], 4);
    let bad = raw::call(server.addr(), "GET", "/_ivs-vcr/events?since=soon").await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    control(&server, "/_ivs-vcr/reset", json!({})).await;
    let after = events(&server, "").await;
    assert_eq!(after["events"], json!([]));
    assert_eq!(after["last"], 0, "numbered from 1 again after a reset");
}

#[tokio::test]
async fn only_the_newest_events_are_kept() {
    let server = ReplayServer::builder().max_events(3).start().await.unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let arn = named_channel(&ivs, "busy", None).await;
    start_stream(&server, &arn).await;
    stop_stream(&server, &arn).await;
    let listed = events(&server, "").await;
    assert_eq!(listed["last"], 4);
    assert_eq!(
        names(listed["events"].as_array().unwrap()),
        pairs(&[
            ("IVS Stream State Change", "Stream Start"),
            ("IVS Stream State Change", "Stream End"),
            ("IVS Stream State Change", "Session Ended"),
        ])
    );
}

/// Waits (at most 10 s) for a file the recorder writes, and reads it as JSON.
async fn read_json(path: &Path) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return serde_json::from_str(&text).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_recorded_channel_sends_recording_events_and_leaves_the_events_files() {
    let dir = tempfile::tempdir().unwrap();
    let webhook = Webhook::start(0).await;
    let server = ReplayServer::builder()
        .events_url(webhook.url())
        .recordings_dir(dir.path())
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let config = recording_configuration(&ivs, None).await;
    let arn = named_channel(&ivs, "recorded", Some(&config)).await;
    let channel_id = arn.rsplit('/').next().unwrap().to_owned();
    let started = start_stream(&server, &arn).await;
    let stream_id = started["stream"]["streamId"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(50)).await;
    ivs.stop_stream().channel_arn(&arn).send().await.unwrap();

    let received = webhook.wait_for(6).await;
    assert_eq!(names(&received), pairs(RECORDED_STREAM));
    let (start, end) = (&received[2]["detail"], &received[5]["detail"]);
    let prefix = start["recording_s3_key_prefix"]
        .as_str()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = prefix.split('/').collect();
    assert_eq!(
        parts[..4],
        ["ivs", "v1", "123456789012", channel_id.as_str()],
        "{prefix}"
    );
    assert_eq!(parts.len(), 10, "{prefix}");
    let time = received[2]["time"].as_str().unwrap();
    let (year, month) = (&time[..4], time[5..7].trim_start_matches('0'));
    assert_eq!((parts[4], parts[5]), (year, month), "{prefix} at {time}");
    assert!(parts[9].len() == 12 && parts[9].bytes().all(|b| b.is_ascii_alphanumeric()));
    let session_id = start["recording_session_id"].as_str().unwrap();
    assert_eq!(
        *start,
        json!({
            "channel_name": "recorded",
            "stream_id": stream_id,
            "recording_status": "Recording Start",
            "recording_status_reason": "",
            "recording_s3_bucket_name": "my-recordings",
            "recording_s3_key_prefix": prefix,
            "recording_duration_ms": 0,
            "recording_session_id": session_id,
        })
    );
    let duration = end["recording_duration_ms"].as_u64().unwrap();
    assert!(duration >= 50, "{end}");
    assert_eq!(
        *end,
        json!({
            "channel_name": "recorded",
            "stream_id": stream_id,
            "recording_status": "Recording End",
            "recording_status_reason": "",
            "recording_s3_bucket_name": "my-recordings",
            "recording_s3_key_prefix": prefix,
            "recording_duration_ms": duration,
            "recording_session_id": session_id,
            "recording_session_stream_ids": [stream_id],
        })
    );

    // The folder standing for the bucket holds the documented events files.
    let root = dir.path().join("my-recordings").join(&prefix);
    let ended = read_json(&root.join("events/recording-ended.json")).await;
    let hls = json!({
        "duration_ms": 0,
        "path": "media/hls",
        "playlist": "master.m3u8",
        "byte_range_playlist": "byte-range-multivariant.m3u8",
        "renditions": [{
            "path": "1080p30",
            "playlist": "playlist.m3u8",
            "byte_range_playlist": "byte-range-variant.m3u8",
            "resolution_height": 1080,
            "resolution_width": 1920,
        }],
    });
    assert_eq!(
        ended,
        json!({
            "version": "v1",
            "channel_arn": arn,
            "recording_started_at": received[2]["time"],
            "recording_ended_at": received[5]["time"],
            "recording_status": "RECORDING_ENDED",
            "media": {"hls": hls},
        })
    );
    let started = read_json(&root.join("events/recording-started.json")).await;
    assert_eq!(started["recording_status"], "RECORDING_STARTED");
    assert_eq!(started["channel_arn"], json!(arn));
    assert!(started["media"]["hls"].get("duration_ms").is_none());
}

#[tokio::test]
async fn a_stream_back_within_the_reconnect_window_continues_the_recording() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let config = recording_configuration(&ivs, Some(1)).await;
    let arn = named_channel(&ivs, "flaky", Some(&config)).await;
    let first = start_stream(&server, &arn).await;
    stop_stream(&server, &arn).await;
    let second = start_stream(&server, &arn).await;
    stop_stream(&server, &arn).await;
    let recording = "?detail-type=IVS%20Recording%20State%20Change";
    // Held for the window: no Recording End yet, and one Recording Start for both streams.
    let now = events(&server, recording).await;
    assert_eq!(
        names(now["events"].as_array().unwrap()),
        pairs(&[("IVS Recording State Change", "Recording Start")])
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let ended = loop {
        let listed = events(&server, recording).await;
        let listed = listed["events"].as_array().unwrap().clone();
        if listed.len() == 2 {
            break listed;
        }
        assert!(Instant::now() < deadline, "{listed:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(ended[1]["detail"]["recording_status"], "Recording End");
    assert_eq!(
        ended[1]["detail"]["recording_session_stream_ids"],
        json!([first["stream"]["streamId"], second["stream"]["streamId"]])
    );
    assert_eq!(
        ended[1]["detail"]["recording_s3_key_prefix"],
        ended[0]["detail"]["recording_s3_key_prefix"]
    );
    // A stream after the window starts a new recording.
    start_stream(&server, &arn).await;
    let listed = events(&server, recording).await;
    let listed = listed["events"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert_ne!(
        listed[2]["detail"]["recording_s3_key_prefix"],
        listed[0]["detail"]["recording_s3_key_prefix"]
    );
}

#[test]
fn an_events_url_that_cannot_be_delivered_to_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let finished = crate::support::bin::run(
        &[
            "serve",
            "--port",
            "0",
            "--events-url",
            "https://hooks.example.com/ivs",
        ],
        dir.path(),
    );
    assert_eq!(finished.status.code(), Some(2), "{finished:?}");
    assert!(
        finished
            .stderr
            .contains("events are delivered over plain HTTP only; give an http:// URL"),
        "{}",
        finished.stderr
    );
}

/// A channel (named `name`, if given) with a recording configuration to the bucket
/// `my-recordings`, and ffmpeg publishing `seconds` of video to it over `server`'s RTMP ingest:
/// the channel's ARN and the encoder.
async fn publish_recorded(
    server: &ReplayServer,
    name: Option<&str>,
    seconds: u32,
) -> (String, Child) {
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let config = recording_configuration(&ivs, None).await;
    let created = ivs
        .create_channel()
        .set_name(name.map(str::to_owned))
        .recording_configuration_arn(&config)
        .send()
        .await
        .unwrap();
    let arn = created.channel().unwrap().arn().unwrap().to_owned();
    let key = created.stream_key().unwrap().value().unwrap().to_owned();
    let url = format!("{}{key}", server.rtmp_url().unwrap());
    (arn, crate::live::publish(&url, seconds, &[]))
}

/// The whole path: ffmpeg publishes to a channel with a recording configuration, disconnects, and
/// the webhook, the events files and the media below `--recordings-dir` say what IVS's would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ffmpeg_stream_on_a_recorded_channel_lands_in_ivss_layout() {
    if !crate::live::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let webhook = Webhook::start(0).await;
    let server = ReplayServer::builder()
        .rtmp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .events_url(webhook.url())
        .recordings_dir(dir.path())
        .start()
        .await
        .unwrap();
    let (arn, mut encoder) = publish_recorded(&server, Some("on-air"), 4).await;
    let status = crate::live::exited(&mut encoder, Duration::from_secs(30)).await;
    assert!(status.is_some_and(|s| s.success()), "ffmpeg: {status:?}");
    let received = webhook.wait_for(6).await;
    assert_eq!(names(&received), pairs(RECORDED_STREAM));
    assert!(received.iter().all(|e| e["resources"] == json!([arn])));
    let prefix = received[2]["detail"]["recording_s3_key_prefix"]
        .as_str()
        .unwrap()
        .to_owned();
    let root = dir.path().join("my-recordings").join(&prefix);

    let ended = read_json(&root.join("events/recording-ended.json")).await;
    assert_eq!(ended["recording_status"], "RECORDING_ENDED");
    assert_eq!(
        ended["media"]["hls"]["renditions"],
        json!([{
            "path": "360p30",
            "playlist": "playlist.m3u8",
            "byte_range_playlist": "byte-range-variant.m3u8",
            "resolution_height": 360,
            "resolution_width": 640,
        }])
    );
    let duration = ended["media"]["hls"]["duration_ms"].as_u64().unwrap();
    assert!(
        (3_000..=5_000).contains(&duration),
        "{duration} ms of a 4 s stream"
    );
    let started = read_json(&root.join("events/recording-started.json")).await;
    assert_eq!(
        started["media"]["hls"]["renditions"], ended["media"]["hls"]["renditions"],
        "the started file names the stream's own rendition once ingest measured it"
    );

    let hls = root.join("media/hls");
    let playlist = std::fs::read_to_string(hls.join("360p30/playlist.m3u8")).unwrap();
    assert!(playlist.ends_with("#EXT-X-ENDLIST\n"), "{playlist}");
    let segments: Vec<&str> = playlist.lines().filter(|l| l.ends_with(".ts")).collect();
    assert!(!segments.is_empty(), "{playlist}");
    for segment in &segments {
        let bytes = std::fs::read(hls.join("360p30").join(segment)).unwrap();
        assert_eq!(bytes.first(), Some(&0x47), "{segment} is MPEG-TS");
    }
    let master = std::fs::read_to_string(hls.join("master.m3u8")).unwrap();
    assert!(master.contains("RESOLUTION=640x360"), "{master}");
    // A player reads the recording as IVS's: the multivariant playlist, then the media.
    let probed = crate::live::probe(hls.join("master.m3u8").to_str().unwrap());
    assert!(probed.contains("h264,640,360"), "{probed}");
    assert!(probed.contains("aac"), "{probed}");
}

/// StopStream on a recorded ffmpeg stream: the recording ends with the encoder's last segment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_stream_on_a_recorded_ffmpeg_stream_ends_its_recording_whole() {
    if !crate::live::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = ReplayServer::builder()
        .rtmp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .recordings_dir(dir.path())
        .start()
        .await
        .unwrap();
    let (arn, mut encoder) = publish_recorded(&server, None, 20).await;
    let ivs = ivs_client(&server.uri(), "us-west-2");

    // Live, with the recording's first segment written.
    let deadline = Instant::now() + Duration::from_secs(15);
    let prefix = loop {
        let listed = events(&server, "?detail-type=IVS%20Recording%20State%20Change").await;
        if let Some(start) = listed["events"].as_array().unwrap().first() {
            let prefix = start["detail"]["recording_s3_key_prefix"].as_str().unwrap();
            let root = dir.path().join("my-recordings").join(prefix);
            if root.join("media/hls/360p30/0.ts").exists() {
                break prefix.to_owned();
            }
        }
        assert!(Instant::now() < deadline, "no recorded segment");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    ivs.stop_stream().channel_arn(&arn).send().await.unwrap();
    let status = crate::live::exited(&mut encoder, Duration::from_secs(10)).await;
    assert!(status.is_some(), "StopStream drops the encoder");

    let root = dir.path().join("my-recordings").join(&prefix);
    let ended = read_json(&root.join("events/recording-ended.json")).await;
    let playlist = std::fs::read_to_string(root.join("media/hls/360p30/playlist.m3u8")).unwrap();
    assert!(playlist.ends_with("#EXT-X-ENDLIST\n"), "{playlist}");
    let n_segments = playlist.lines().filter(|l| l.ends_with(".ts")).count();
    let last = format!("{}.ts", n_segments - 1);
    assert!(root.join("media/hls/360p30").join(&last).exists(), "{last}");
    let listed: f64 = playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|d| d.trim_end_matches(',').parse::<f64>().unwrap())
        .sum();
    // The playlist rounds each duration to the millisecond.
    let duration = ended["media"]["hls"]["duration_ms"].as_u64().unwrap() as f64;
    assert!(
        (duration - listed * 1000.0).abs() <= n_segments as f64,
        "the duration ({duration} ms) is the playlist's ({listed} s)"
    );
}
