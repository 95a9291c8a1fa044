//! Recordings to S3, written to a folder that stands for the buckets (`--recordings-dir DIR`):
//! a recording of bucket `B` under key prefix `P` is written below `DIR/B/P/`.
//!
//! The layout is IVS's, from "IVS Auto-Record to Amazon S3"
//! (<https://docs.aws.amazon.com/ivs/latest/LowLatencyUserGuide/record-to-s3.html>):
//! - `events/recording-started.json` when the recording starts and `events/recording-ended.json`
//!   when it ends, with the documented members: `version` ("v1"), `channel_arn`,
//!   `recording_started_at`, `recording_ended_at` (at the end), `recording_status`
//!   (`RECORDING_STARTED`, `RECORDING_ENDED`) and `media.hls` (`path` "media/hls", `playlist`
//!   "master.m3u8", `byte_range_playlist` "byte-range-multivariant.m3u8", `duration_ms` at the
//!   end, and `renditions`, each with `path`, `playlist` "playlist.m3u8", `byte_range_playlist`
//!   "byte-range-variant.m3u8", `resolution_width` and `resolution_height`).
//! - `media/hls/master.m3u8` and `media/hls/byte-range-multivariant.m3u8`, and per rendition
//!   `media/hls/<rendition>/playlist.m3u8`, `byte-range-variant.m3u8` and the MPEG-TS segments
//!   received through [`MediaObserver`].
//!
//! The recorder learns when a recording starts and ends, and where it goes, from the emulator's
//! IVS Recording State Change events (`EventBus` hands them over), and its media from ingest
//! through [`MediaObserver`]. A stream taken live by the control call has no media: its recording
//! has the events files and no segments. StopStream ends a recording before ingest drops the
//! encoder, whose last segment then comes: a Recording End that comes while ingest still holds
//! the stream ends the recording when the stream ends, with that segment.
//!
//! Inferred, since the guide gives no more: the emulator does not transcode, so a recording has one
//! rendition, the ingested stream, named `<height>p<frame rate>` as IVS names its renditions
//! (`1080p30`); without media it is the emulator's stand-in ingest (1080p30, as GetStreamSession
//! reports). Segments are named `<n>.ts` from 0 across the whole recording; a stream merged into the
//! recording (recordingReconnectWindowSeconds) goes on numbering after an
//! `#EXT-X-DISCONTINUITY`. The byte-range playlists address each segment whole
//! (`#EXT-X-BYTERANGE:<size>@0`); IVS's address ranges of larger files. The media playlist is an
//! EVENT playlist while recording and a VOD one with `#EXT-X-ENDLIST` at the end.
//! Not written: thumbnails (`media/thumbnails`, `latest_thumbnail`), which would take decoding
//! the video; the events files then have no `thumbnails` member, as IVS writes them with
//! thumbnails disabled. `recording-failed.json` is never written: nothing here fails as S3 does.
//!
//! Writes happen on a thread of their own behind a bounded queue, so ingest and the emulator
//! never wait for the disk; a write that finds the queue full is dropped and counted. Every path
//! is made of ids and numbers the emulator minted (the bucket name, checked against S3's naming
//! rules, is the one exception), and every write goes through `cassette::CassetteDir`: relative to
//! the folder opened once, never following a link, atomically.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::http::Side;
use crate::live::media::{MediaObserver, Segment, StreamInfo};

/// How many writes wait for the writer at most (a segment of a 6 Mbps stream is about 1.5 MB).
const WRITER_QUEUE: usize = 64;

/// The emulator's stand-in for a stream without media: what GetStreamSession reports.
const STAND_IN: Rendition = Rendition {
    width: 1920,
    height: 1080,
    frame_rate: 30,
};

/// The one rendition of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rendition {
    width: u32,
    height: u32,
    frame_rate: u32,
}

impl Rendition {
    fn of(info: &StreamInfo) -> Rendition {
        Rendition {
            width: info.width,
            height: info.height,
            frame_rate: info.frame_rate.round().clamp(0.0, 1000.0) as u32,
        }
    }

    /// The rendition's folder: `1080p30`; `audio_only` for a stream without video (inferred).
    fn path(&self) -> String {
        if self.height == 0 {
            "audio_only".to_owned()
        } else {
            format!("{}p{}", self.height, self.frame_rate)
        }
    }

    fn json(&self) -> Value {
        let mut out = json!({
            "path": self.path(),
            "playlist": "playlist.m3u8",
            "byte_range_playlist": "byte-range-variant.m3u8",
        });
        // Documented as present only when the rendition has video.
        if self.height > 0 {
            out["resolution_height"] = self.height.into();
            out["resolution_width"] = self.width.into();
        }
        out
    }
}

/// A recording in progress.
#[derive(Debug)]
struct Active {
    /// `<bucket>/<prefix>`, below the recordings folder.
    dir: PathBuf,
    channel_arn: String,
    started_at: String,
    rendition: Rendition,
    /// Whether the rendition came from ingest (else it is the stand-in, replaced by the first
    /// stream's own while no segment is written).
    measured: bool,
    /// `BANDWIDTH` and `CODECS` of the multivariant playlists.
    bandwidth: u64,
    codecs: String,
    /// (duration in seconds, size in bytes, starts a new stream), per segment `<n>.ts`.
    segments: Vec<(f64, usize, bool)>,
    /// The next segment begins a stream merged into the recording.
    discontinuity: bool,
    /// When the Recording End came, if it came while ingest still held the stream (StopStream):
    /// the recording ends with the stream's last segment.
    ended_at: Option<String>,
}

impl Active {
    fn hls_json(&self, duration_ms: Option<u64>) -> Value {
        let mut hls = json!({
            "path": "media/hls",
            "playlist": "master.m3u8",
            "byte_range_playlist": "byte-range-multivariant.m3u8",
            "renditions": [self.rendition.json()],
        });
        if let Some(ms) = duration_ms {
            hls["duration_ms"] = ms.into();
        }
        hls
    }

    fn started_json(&self) -> Value {
        json!({
            "version": "v1",
            "channel_arn": self.channel_arn,
            "recording_started_at": self.started_at,
            "recording_status": "RECORDING_STARTED",
            "media": {"hls": self.hls_json(None)},
        })
    }

    fn ended_json(&self, ended_at: &str) -> Value {
        json!({
            "version": "v1",
            "channel_arn": self.channel_arn,
            "recording_started_at": self.started_at,
            "recording_ended_at": ended_at,
            "recording_status": "RECORDING_ENDED",
            "media": {"hls": self.hls_json(Some(self.duration_ms()))},
        })
    }

    /// The recorded media's duration: the segments' (0 without media).
    fn duration_ms(&self) -> u64 {
        let secs: f64 = self.segments.iter().map(|(d, _, _)| d).sum();
        (secs * 1000.0).round() as u64
    }

    fn media_dir(&self) -> PathBuf {
        self.dir.join("media/hls")
    }
}

/// A media playlist of `segments`; with `byte_range`, each segment addressed as a whole range.
fn media_playlist(segments: &[(f64, usize, bool)], ended: bool, byte_range: bool) -> String {
    let target = segments
        .iter()
        .map(|(d, _, _)| d.ceil() as u64)
        .max()
        .unwrap_or(2)
        .max(1);
    let mut out = format!(
        "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:{}\n",
        if byte_range { 4 } else { 3 },
        if ended { "VOD" } else { "EVENT" }
    );
    for (n, (duration, size, new_stream)) in segments.iter().enumerate() {
        if *new_stream && n > 0 {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        let _ = writeln!(out, "#EXTINF:{duration:.3},");
        if byte_range {
            let _ = writeln!(out, "#EXT-X-BYTERANGE:{size}@0");
        }
        let _ = writeln!(out, "{n}.ts");
    }
    if ended {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    out
}

/// A multivariant playlist naming the one rendition's `playlist`.
fn multivariant(active: &Active, playlist: &str, byte_range: bool) -> String {
    let r = active.rendition;
    let mut inf = format!("BANDWIDTH={}", active.bandwidth.max(1));
    if r.height > 0 {
        let _ = write!(inf, ",RESOLUTION={}x{}", r.width, r.height);
    }
    if !active.codecs.is_empty() {
        let _ = write!(inf, ",CODECS=\"{}\"", active.codecs);
    }
    if r.frame_rate > 0 {
        let _ = write!(inf, ",FRAME-RATE={}.000", r.frame_rate);
    }
    format!(
        "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:{inf}\n{}/{playlist}\n",
        if byte_range { 4 } else { 3 },
        r.path()
    )
}

/// What a channel's recording knows: the live stream's properties, and the recording if one is on.
#[derive(Debug, Default)]
struct Channel {
    info: Option<StreamInfo>,
    recording: Option<Active>,
}

/// Writes recordings below a folder; see the module documentation.
#[derive(Debug)]
pub(crate) struct Recorder {
    channels: Mutex<HashMap<String, Channel>>,
    writer: Option<SyncSender<(PathBuf, Bytes)>>,
    /// Writes dropped because the writer's queue was full.
    dropped: AtomicU64,
}

impl Recorder {
    /// A recorder writing below `root`, on a thread of its own.
    pub(crate) fn new(root: PathBuf) -> Recorder {
        let (tx, rx) = sync_channel::<(PathBuf, Bytes)>(WRITER_QUEUE);
        let spawned = std::thread::Builder::new()
            .name("recordings".into())
            .spawn(move || write_files(&root, rx));
        let writer = match spawned {
            Ok(_) => Some(tx),
            Err(err) => {
                tracing::error!(side = %Side::Internal, error = %err, "cannot start the recordings writer; recordings are not written");
                None
            }
        };
        Recorder {
            channels: Mutex::new(HashMap::new()),
            writer,
            dropped: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Channel>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a write of `bytes` to `path` (below the folder).
    fn write(&self, path: PathBuf, bytes: impl Into<Bytes>) {
        let Some(writer) = &self.writer else { return };
        if writer.try_send((path, bytes.into())).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(side = %Side::Internal, dropped = n, "the recordings folder is not keeping up: {WRITER_QUEUE} writes waiting; newer ones are dropped");
            }
        }
    }

    fn write_json(&self, path: PathBuf, value: &Value) {
        // Invariant: a `Value` always serializes.
        let text = serde_json::to_vec_pretty(value).unwrap_or_default();
        self.write(path, text);
    }

    /// Takes one EventBridge envelope: an IVS Recording State Change starts or ends a recording.
    pub(crate) fn on_event(&self, envelope: &Value) {
        if envelope.get("detail-type").and_then(Value::as_str) != Some("IVS Recording State Change")
        {
            return;
        }
        let detail = &envelope["detail"];
        let text = |v: &Value, member: &str| {
            v.get(member)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let Some(channel_arn) = envelope["resources"].get(0).and_then(Value::as_str) else {
            return;
        };
        let time = text(envelope, "time");
        match detail.get("recording_status").and_then(Value::as_str) {
            Some("Recording Start") => {
                let (bucket, prefix) = (
                    text(detail, "recording_s3_bucket_name"),
                    text(detail, "recording_s3_key_prefix"),
                );
                let Some(dir) = recording_dir(&bucket, &prefix) else {
                    tracing::warn!(side = %Side::Internal, channel = %channel_arn, "recording not written: bucket `{}` or prefix `{}` cannot name a folder", crate::redact::printable(&bucket), crate::redact::printable(&prefix));
                    return;
                };
                let mut channels = self.lock();
                let channel = channels.entry(channel_arn.to_owned()).or_default();
                // A recording StopStream ended while its stream was still draining ends now.
                if let Some(ending) = channel.recording.take_if(|a| a.ended_at.is_some()) {
                    let ended_at = ending.ended_at.clone().unwrap_or_default();
                    self.finish(&ending, &ended_at);
                }
                let active = start(dir, channel_arn, time, channel.info.as_ref());
                self.write_json(
                    active.dir.join("events/recording-started.json"),
                    &active.started_json(),
                );
                channel.recording = Some(active);
            }
            Some("Recording End") => {
                let dir = recording_dir(
                    &text(detail, "recording_s3_bucket_name"),
                    &text(detail, "recording_s3_key_prefix"),
                );
                let mut channels = self.lock();
                let Some(channel) = channels.get_mut(channel_arn) else {
                    return;
                };
                // A held Recording End can come after the channel's next recording started (a
                // stream back just after the reconnect window): it ends only its own recording.
                if channel.recording.as_ref().map(|a| &a.dir) != dir.as_ref() {
                    return;
                }
                if channel.info.is_some() {
                    // StopStream ends the recording while ingest still holds the stream: its last
                    // segment is yet to come, and the recording ends with the stream.
                    if let Some(active) = &mut channel.recording {
                        active.ended_at = Some(time);
                    }
                    return;
                }
                if let Some(active) = channel.recording.take() {
                    channels.remove(channel_arn);
                    self.finish(&active, &time);
                }
            }
            _ => {}
        }
    }

    /// Writes what a recording that ended leaves: its final playlists and `recording-ended.json`.
    fn finish(&self, active: &Active, ended_at: &str) {
        if !active.segments.is_empty() {
            self.write_media_playlists(active, true);
        }
        self.write_json(
            active.dir.join("events/recording-ended.json"),
            &active.ended_json(ended_at),
        );
    }

    /// Rewrites the rendition's two media playlists.
    fn write_media_playlists(&self, active: &Active, ended: bool) {
        let dir = active.media_dir().join(active.rendition.path());
        self.write(
            dir.join("playlist.m3u8"),
            media_playlist(&active.segments, ended, false),
        );
        self.write(
            dir.join("byte-range-variant.m3u8"),
            media_playlist(&active.segments, ended, true),
        );
    }

    /// Forgets every recording in progress (the control plane's reset); nothing more is written
    /// for them.
    pub(crate) fn reset(&self) {
        self.lock().clear();
    }
}

/// A new recording to `dir`, with the stream's rendition if ingest has described it.
fn start(dir: PathBuf, channel_arn: &str, started_at: String, info: Option<&StreamInfo>) -> Active {
    let mut active = Active {
        dir,
        channel_arn: channel_arn.to_owned(),
        started_at,
        rendition: STAND_IN,
        measured: false,
        bandwidth: 6_160_000,
        codecs: "avc1.4D4029,mp4a.40.2".to_owned(),
        segments: Vec::new(),
        discontinuity: false,
        ended_at: None,
    };
    if let Some(info) = info {
        describe(&mut active, info);
    }
    active
}

/// Takes the rendition and playlist attributes from what ingest measured.
fn describe(active: &mut Active, info: &StreamInfo) {
    active.rendition = Rendition::of(info);
    active.measured = true;
    active.bandwidth = info.video_bitrate.saturating_add(info.audio_bitrate);
    active.codecs = [info.video_codec.as_str(), info.audio_codec.as_str()]
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join(",");
}

/// `<bucket>/<prefix>` as a relative folder, when both are safe names: a bucket name as S3 allows
/// it (3 to 63 lowercase letters, digits, dots and hyphens, beginning and ending with a letter or
/// digit, no `..`), a prefix of `[A-Za-z0-9]` components (what the emulator mints).
fn recording_dir(bucket: &str, prefix: &str) -> Option<PathBuf> {
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.as_bytes()[0].is_ascii_alphanumeric()
        && bucket.as_bytes()[bucket.len() - 1].is_ascii_alphanumeric()
        && !bucket.contains("..");
    let prefix_ok = !prefix.is_empty()
        && prefix
            .split('/')
            .all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric()));
    (bucket_ok && prefix_ok).then(|| Path::new(bucket).join(prefix))
}

impl MediaObserver for Recorder {
    fn stream_started(&self, channel_arn: &str, info: &StreamInfo) {
        let mut channels = self.lock();
        let channel = channels.entry(channel_arn.to_owned()).or_default();
        channel.info = Some(info.clone());
        if let Some(active) = &mut channel.recording {
            if active.segments.is_empty() {
                // The recording started before ingest described the stream: its metadata names
                // the stand-in rendition until now.
                describe(active, info);
                self.write_json(
                    active.dir.join("events/recording-started.json"),
                    &active.started_json(),
                );
            } else {
                // A stream merged into the recording (recordingReconnectWindowSeconds).
                active.discontinuity = true;
            }
        }
    }

    fn segment(&self, segment: &Segment) {
        let mut channels = self.lock();
        let Some(active) = channels
            .get_mut(&*segment.channel_arn)
            .and_then(|c| c.recording.as_mut())
        else {
            return;
        };
        let first = active.segments.is_empty();
        let n = active.segments.len();
        active
            .segments
            .push((segment.duration, segment.data.len(), active.discontinuity));
        active.discontinuity = false;
        let media = active.media_dir();
        self.write(
            media.join(active.rendition.path()).join(format!("{n}.ts")),
            segment.data.clone(),
        );
        if first {
            self.write(
                media.join("master.m3u8"),
                multivariant(active, "playlist.m3u8", false),
            );
            self.write(
                media.join("byte-range-multivariant.m3u8"),
                multivariant(active, "byte-range-variant.m3u8", true),
            );
        }
        self.write_media_playlists(active, false);
    }

    fn stream_ended(&self, channel_arn: &str) {
        let mut channels = self.lock();
        let Some(channel) = channels.get_mut(channel_arn) else {
            return;
        };
        channel.info = None;
        if let Some(ended_at) = channel.recording.as_ref().and_then(|a| a.ended_at.clone()) {
            if let Some(active) = channel.recording.take() {
                self.finish(&active, &ended_at);
            }
        }
        if channel.recording.is_none() {
            channels.remove(channel_arn);
        }
    }
}

/// The writer thread: each file written atomically below `root` through one `CassetteDir`.
fn write_files(root: &Path, rx: Receiver<(PathBuf, Bytes)>) {
    let dir = match crate::cassette::CassetteDir::open(root) {
        Ok(dir) => dir,
        Err(err) => {
            tracing::error!(side = %Side::Internal, error = %crate::http::error_chain(&err), "cannot open the recordings folder; recordings are not written");
            // Drain, so that senders never block on a full queue that nobody reads.
            for _ in rx {}
            return;
        }
    };
    for (path, bytes) in rx {
        if let Err(err) = dir.save_with(&path, &bytes, &mut || {}) {
            tracing::warn!(side = %Side::Internal, error = %crate::http::error_chain(&err), "cannot write a recording file");
        }
    }
}

#[cfg(test)]
mod tests;
