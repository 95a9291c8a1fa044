//! The recorder driven as the emulator and ingest drive it: recording events, then synthetic
//! MPEG-TS segments through `MediaObserver`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

const CHANNEL: &str = "arn:aws:ivs:us-west-2:123456789012:channel/AbCdef1G2hij";
const PREFIX: &str = "ivs/v1/123456789012/AbCdef1G2hij/2020/6/23/20/12/j8Z9O91ndcVs";

fn recording_event(status: &str, time: &str) -> Value {
    json!({
        "version": "0",
        "id": "12345678-1a23-4567-a1bc-1a2b34567890",
        "detail-type": "IVS Recording State Change",
        "source": "aws.ivs",
        "account": "123456789012",
        "time": time,
        "region": "us-west-2",
        "resources": [CHANNEL],
        "detail": {
            "channel_name": "",
            "stream_id": "st-1A2b3c4D5e6F78ghij9Klmn",
            "recording_status": status,
            "recording_status_reason": "",
            "recording_s3_bucket_name": "my-recordings",
            "recording_s3_key_prefix": PREFIX,
            "recording_duration_ms": 0,
            "recording_session_id": "a6RfV23ES97i",
        }
    })
}

// `..Default` keeps this building when ingest adds what it measures.
#[allow(clippy::needless_update)]
fn info() -> StreamInfo {
    StreamInfo {
        video_codec: "avc1.64001F".into(),
        width: 1280,
        height: 720,
        frame_rate: 29.97,
        video_bitrate: 2_500_000,
        audio_codec: "mp4a.40.2".into(),
        sample_rate: 48_000,
        channels: 2,
        audio_bitrate: 128_000,
        encoder: "ffmpeg".into(),
        ..StreamInfo::default()
    }
}

fn segment(sequence: u64, bytes: &'static [u8]) -> Segment {
    Segment {
        channel_arn: Arc::from(CHANNEL),
        sequence,
        duration: 2.0,
        data: Bytes::from_static(bytes),
    }
}

/// Waits for the writer thread to write `path` (at most 10 s), and reads it.
fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_recording_is_written_in_ivss_layout() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::new(dir.path().to_owned());
    let root = dir.path().join("my-recordings").join(PREFIX);
    recorder.on_event(&recording_event("Recording Start", "2020-06-23T20:12:36Z"));
    recorder.stream_started(CHANNEL, &info());
    recorder.segment(&segment(0, b"\x47first"));
    recorder.segment(&segment(1, b"\x47second!"));
    recorder.stream_ended(CHANNEL);
    recorder.on_event(&recording_event("Recording End", "2020-06-23T20:12:40Z"));

    let ended: Value =
        serde_json::from_str(&wait_for(&root.join("events/recording-ended.json"))).unwrap();
    let rendition = json!({
        "path": "720p30",
        "playlist": "playlist.m3u8",
        "byte_range_playlist": "byte-range-variant.m3u8",
        "resolution_height": 720,
        "resolution_width": 1280,
    });
    assert_eq!(
        ended,
        json!({
            "version": "v1",
            "channel_arn": CHANNEL,
            "recording_started_at": "2020-06-23T20:12:36Z",
            "recording_ended_at": "2020-06-23T20:12:40Z",
            "recording_status": "RECORDING_ENDED",
            "media": {"hls": {
                "duration_ms": 4000,
                "path": "media/hls",
                "playlist": "master.m3u8",
                "byte_range_playlist": "byte-range-multivariant.m3u8",
                "renditions": [rendition],
            }},
        })
    );
    let started: Value =
        serde_json::from_str(&wait_for(&root.join("events/recording-started.json"))).unwrap();
    assert_eq!(started["recording_status"], "RECORDING_STARTED");
    assert_eq!(started["media"]["hls"]["renditions"][0], rendition);
    assert!(started.get("recording_ended_at").is_none());

    let hls = root.join("media/hls");
    assert_eq!(
        std::fs::read(hls.join("720p30/0.ts")).unwrap(),
        b"\x47first"
    );
    assert_eq!(
        std::fs::read(hls.join("720p30/1.ts")).unwrap(),
        b"\x47second!"
    );
    assert_eq!(
        wait_for(&hls.join("720p30/playlist.m3u8")),
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:2.000,\n0.ts\n#EXTINF:2.000,\n1.ts\n#EXT-X-ENDLIST\n"
    );
    assert_eq!(
        wait_for(&hls.join("720p30/byte-range-variant.m3u8")),
        "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:2.000,\n#EXT-X-BYTERANGE:6@0\n0.ts\n#EXTINF:2.000,\n#EXT-X-BYTERANGE:8@0\n1.ts\n#EXT-X-ENDLIST\n"
    );
    assert_eq!(
        wait_for(&hls.join("master.m3u8")),
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=2628000,RESOLUTION=1280x720,CODECS=\"avc1.64001F,mp4a.40.2\",FRAME-RATE=30.000\n720p30/playlist.m3u8\n"
    );
    assert!(wait_for(&hls.join("byte-range-multivariant.m3u8"))
        .ends_with("\n720p30/byte-range-variant.m3u8\n"));
}

#[test]
fn a_stream_merged_into_a_recording_continues_it_after_a_discontinuity() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::new(dir.path().to_owned());
    let root = dir.path().join("my-recordings").join(PREFIX);
    recorder.on_event(&recording_event("Recording Start", "2020-06-23T20:12:36Z"));
    recorder.stream_started(CHANNEL, &info());
    recorder.segment(&segment(0, b"a"));
    recorder.stream_ended(CHANNEL);
    // Back within the reconnect window: no Recording End came, ingest numbers from 0 again.
    recorder.stream_started(CHANNEL, &info());
    recorder.segment(&segment(0, b"b"));
    recorder.stream_ended(CHANNEL);
    // The Recording End, held for the window, comes once the window passed.
    recorder.on_event(&recording_event("Recording End", "2020-06-23T20:13:00Z"));
    wait_for(&root.join("events/recording-ended.json"));
    let playlist = wait_for(&root.join("media/hls/720p30/playlist.m3u8"));
    assert!(
        playlist.ends_with("0.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\n1.ts\n#EXT-X-ENDLIST\n"),
        "{playlist}"
    );
    assert_eq!(
        std::fs::read(root.join("media/hls/720p30/1.ts")).unwrap(),
        b"b"
    );
}

#[test]
fn without_media_the_events_name_the_stand_in_rendition_and_no_duration() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::new(dir.path().to_owned());
    let root = dir.path().join("my-recordings").join(PREFIX);
    recorder.on_event(&recording_event("Recording Start", "2020-06-23T20:12:36Z"));
    recorder.on_event(&recording_event("Recording End", "2020-06-23T20:12:40Z"));
    let ended: Value =
        serde_json::from_str(&wait_for(&root.join("events/recording-ended.json"))).unwrap();
    assert_eq!(ended["media"]["hls"]["duration_ms"], 0);
    assert_eq!(ended["media"]["hls"]["renditions"][0]["path"], "1080p30");
    assert!(!root.join("media").exists());
}

#[test]
fn segments_of_channels_not_recording_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::new(dir.path().to_owned());
    recorder.stream_started(CHANNEL, &info());
    recorder.segment(&segment(0, b"x"));
    recorder.stream_ended(CHANNEL);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert!(
        recorder.lock().is_empty(),
        "state is forgotten once the stream ends"
    );
}

#[test]
fn only_safe_names_make_folders() {
    let ok = |bucket, prefix| recording_dir(bucket, prefix).is_some();
    assert!(ok("my-recordings", PREFIX));
    assert!(ok("a.b-c", "ivs/v1/1"));
    let long = "a".repeat(64);
    for bucket in ["..", "a..b", "-ab", "ab-", "AB", "ab", "a/b", &long] {
        assert!(!ok(bucket, PREFIX), "{bucket}");
    }
    for prefix in ["", "/ivs", "ivs//v1", "ivs/../x", "ivs/v1/x y", "ivs/./v1"] {
        assert!(!ok("bucket", prefix), "{prefix}");
    }
}

#[test]
fn a_link_in_the_folder_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), dir.path().join("my-recordings")).unwrap();
    let recorder = Recorder::new(dir.path().to_owned());
    recorder.on_event(&recording_event("Recording Start", "2020-06-23T20:12:36Z"));
    recorder.on_event(&recording_event("Recording End", "2020-06-23T20:12:40Z"));
    drop(recorder);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn a_late_recording_end_leaves_the_next_recording_alone() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::new(dir.path().to_owned());
    let next = "ivs/v1/123456789012/AbCdef1G2hij/2020/6/23/20/13/k9A0P02oedWt";
    recorder.on_event(&recording_event("Recording Start", "2020-06-23T20:12:36Z"));
    let mut started = recording_event("Recording Start", "2020-06-23T20:13:10Z");
    started["detail"]["recording_s3_key_prefix"] = next.into();
    recorder.on_event(&started);
    // The first recording's End, held for its window, arrives now.
    recorder.on_event(&recording_event("Recording End", "2020-06-23T20:13:11Z"));
    recorder.stream_started(CHANNEL, &info());
    recorder.segment(&segment(0, b"kept"));
    let root = dir.path().join("my-recordings").join(next);
    assert_eq!(wait_for(&root.join("media/hls/720p30/0.ts")), "kept");
    assert!(!root.join("events/recording-ended.json").exists());
}

#[test]
fn stop_stream_ends_the_recording_with_the_streams_last_segment() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::new(dir.path().to_owned());
    let root = dir.path().join("my-recordings").join(PREFIX);
    recorder.on_event(&recording_event("Recording Start", "2020-06-23T20:12:36Z"));
    recorder.stream_started(CHANNEL, &info());
    recorder.segment(&segment(0, b"a"));
    // StopStream: the Recording End comes first, then ingest cuts the last segment and ends.
    recorder.on_event(&recording_event("Recording End", "2020-06-23T20:12:40Z"));
    recorder.segment(&segment(1, b"b"));
    recorder.stream_ended(CHANNEL);
    let ended: Value =
        serde_json::from_str(&wait_for(&root.join("events/recording-ended.json"))).unwrap();
    assert_eq!(ended["media"]["hls"]["duration_ms"], 4000);
    assert_eq!(ended["recording_ended_at"], "2020-06-23T20:12:40Z");
    let playlist = wait_for(&root.join("media/hls/720p30/playlist.m3u8"));
    assert!(playlist.ends_with("1.ts\n#EXT-X-ENDLIST\n"), "{playlist}");
    assert!(recorder.lock().is_empty());
}

proptest::proptest! {
    /// Whatever a recording configuration and an event hold, a folder made of them stays below
    /// the recordings folder: plain names only, never `..`, never absolute.
    #[test]
    fn folders_stay_below_the_recordings_folder(bucket in ".{0,70}", prefix in "[a-zA-Z0-9./ -]{0,40}") {
        if let Some(dir) = recording_dir(&bucket, &prefix) {
            proptest::prop_assert!(dir.is_relative());
            for component in dir.components() {
                proptest::prop_assert!(
                    matches!(component, std::path::Component::Normal(_)),
                    "{}", dir.display()
                );
            }
        }
    }
}
