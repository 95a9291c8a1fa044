//! The seam between RTMP ingest and what consumes a live channel's media besides HLS viewers:
//! recordings to S3 (a folder standing for the buckets) today, thumbnails or Real-Time stages
//! later.
//!
//! Ingest (`live::ingest`) remuxes each live channel's stream into HLS segments, cut at
//! keyframes, and tells every [`MediaObserver`] about the stream's start, each segment, and its
//! end, in that order, from the ingest's task. An observer must not block: one that writes files
//! hands the work to a task of its own.
//!
//! [`Media`] holds the live channels' recent segments (what the playback server serves) and the
//! observers: a server has one, and adds an observer with [`Media::observe`]. [`Encoders`] is the
//! emulator's way back to ingest: the connections its stop path drops.

use std::sync::Arc;

use bytes::Bytes;

/// What ingest measured of a live stream, as `GetStreamSession`'s `ingestConfiguration` reports it.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StreamInfo {
    /// `avc1.PPCCLL` from the AVC decoder configuration (profile, constraints, level).
    pub video_codec: String,
    pub width: u32,
    pub height: u32,
    /// Frames a second, measured from the timestamps.
    pub frame_rate: f64,
    /// Bits a second, measured.
    pub video_bitrate: u64,
    /// `mp4a.40.2` for AAC-LC, from the audio specific config; empty when the stream has no audio.
    pub audio_codec: String,
    pub sample_rate: u32,
    pub channels: u32,
    pub audio_bitrate: u64,
    /// The encoder's name from the RTMP `onMetaData` (`encoder`), if it sent one.
    pub encoder: String,
    /// The H.264 profile's name (`Main`, `High`, …), from the SPS.
    pub profile: String,
    /// The H.264 level (`3.1`), from the SPS.
    pub level: String,
}

/// One HLS segment of a live channel: MPEG-TS, starting at a keyframe.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    /// The channel's ARN.
    pub channel_arn: Arc<str>,
    /// The segment's media sequence number, from 0 at the stream's start.
    pub sequence: u64,
    /// Its duration in seconds.
    pub duration: f64,
    /// The MPEG-TS bytes.
    pub data: Bytes,
}

/// Something that follows live channels' media.
pub(crate) trait MediaObserver: Send + Sync + std::fmt::Debug {
    /// A channel went live through ingest.
    fn stream_started(&self, channel_arn: &str, info: &StreamInfo);
    /// A segment was cut.
    fn segment(&self, segment: &Segment);
    /// The channel's stream ended (the encoder left, or StopStream, or the channel was deleted).
    fn stream_ended(&self, channel_arn: &str);
}

/// How many segments a live channel's playlist keeps (older ones are dropped, and answer 404).
/// Inferred: IVS's playlists hold a few segments of a live window; the count is not documented.
pub(crate) const WINDOW_SEGMENTS: usize = 6;

/// The media of every channel live through ingest, for HLS viewers, and the observers told about
/// it. One per server; ingest writes, the playback server reads.
#[derive(Debug, Default)]
pub(crate) struct Media {
    /// By channel ARN.
    channels: std::sync::RwLock<std::collections::HashMap<String, Arc<LiveMedia>>>,
    observers: std::sync::RwLock<Vec<Arc<dyn MediaObserver>>>,
}

/// One live channel's recent segments.
#[derive(Debug)]
pub(crate) struct LiveMedia {
    pub channel_arn: Arc<str>,
    /// The stream (`st-…`) these segments are of.
    pub stream_id: String,
    /// The playlist's `#EXT-X-TARGETDURATION`, in seconds.
    pub target_duration: u32,
    window: std::sync::RwLock<Window>,
}

#[derive(Debug, Default, Clone)]
struct Window {
    segments: std::collections::VecDeque<Segment>,
    /// The stream's video, once known: `avc1.…`, width, height; audio's codec.
    codecs: Option<(String, u32, u32, String)>,
    bandwidth: u64,
}

/// What a playlist is made from: the window's segments (cheap clones of shared bytes).
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub segments: Vec<Segment>,
    pub target_duration: u32,
    /// `CODECS`: `avc1.…,mp4a.40.2`.
    pub codecs: String,
    pub resolution: Option<(u32, u32)>,
    pub bandwidth: u64,
}

impl LiveMedia {
    /// The playlist's material.
    pub fn snapshot(&self) -> Snapshot {
        let window = self.window.read().unwrap_or_else(|p| p.into_inner());
        let (codecs, resolution) = match &window.codecs {
            Some((video, w, h, audio)) if audio.is_empty() => (video.clone(), Some((*w, *h))),
            Some((video, w, h, audio)) => (format!("{video},{audio}"), Some((*w, *h))),
            None => (String::new(), None),
        };
        Snapshot {
            segments: window.segments.iter().cloned().collect(),
            target_duration: self.target_duration,
            codecs,
            resolution,
            bandwidth: window.bandwidth,
        }
    }

    /// A segment still in the window.
    pub fn segment(&self, sequence: u64) -> Option<Bytes> {
        let window = self.window.read().unwrap_or_else(|p| p.into_inner());
        window
            .segments
            .iter()
            .find(|s| s.sequence == sequence)
            .map(|s| s.data.clone())
    }
}

impl Media {
    /// Adds an observer (recordings); told about every stream that starts from now on.
    pub fn observe(&self, observer: Arc<dyn MediaObserver>) {
        self.observers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(observer);
    }

    fn each_observer(&self, f: impl Fn(&dyn MediaObserver)) {
        let observers = self
            .observers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for observer in &observers {
            f(observer.as_ref());
        }
    }

    /// A channel's media, while it is live through ingest.
    pub fn live(&self, channel_arn: &str) -> Option<Arc<LiveMedia>> {
        self.channels
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(channel_arn)
            .cloned()
    }

    /// How many channels are live through ingest.
    pub fn n_live(&self) -> usize {
        self.channels
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// A stream begins: its (empty) window is served from now on.
    pub(crate) fn begin(
        &self,
        channel_arn: &str,
        stream_id: &str,
        target_duration: u32,
    ) -> Arc<LiveMedia> {
        let media = Arc::new(LiveMedia {
            channel_arn: Arc::from(channel_arn),
            stream_id: stream_id.to_owned(),
            target_duration,
            window: Default::default(),
        });
        self.channels
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(channel_arn.to_owned(), media.clone());
        media
    }

    /// A segment was cut: added to the window (the oldest dropped past [`WINDOW_SEGMENTS`]), and
    /// handed to the observers; before the first, they are told the stream started.
    pub(crate) fn segment(&self, media: &LiveMedia, info: &StreamInfo, segment: Segment) {
        if segment.sequence == 0 {
            self.each_observer(|o| o.stream_started(&media.channel_arn, info));
        }
        {
            let mut window = media.window.write().unwrap_or_else(|p| p.into_inner());
            window.codecs = Some((
                info.video_codec.clone(),
                info.width,
                info.height,
                info.audio_codec.clone(),
            ));
            window.bandwidth = info.video_bitrate + info.audio_bitrate;
            window.segments.push_back(segment.clone());
            while window.segments.len() > WINDOW_SEGMENTS {
                window.segments.pop_front();
            }
        }
        self.each_observer(|o| o.segment(&segment));
    }

    /// The stream ended: its window is no longer served, and observers that saw it start are told.
    pub(crate) fn end(&self, media: &LiveMedia, started: bool) {
        let mut channels = self.channels.write().unwrap_or_else(|p| p.into_inner());
        if channels
            .get(&*media.channel_arn)
            .is_some_and(|m| m.stream_id == media.stream_id)
        {
            channels.remove(&*media.channel_arn);
        }
        drop(channels);
        if started {
            self.each_observer(|o| o.stream_ended(&media.channel_arn));
        }
    }
}

/// The encoders connected through ingest, by channel ARN (or, for a Real-Time stage publisher,
/// `realtime::encoder_key`): the seam through which the emulator's stop path (StopStream, the
/// control plane's stop, reset; DisconnectParticipant, DeleteStage, a forced
/// DeleteIngestConfiguration) drops an encoder's connection. Ingest registers a handle when a
/// publish takes a channel live or joins a stage (under the emulator's lock, so that a stop can
/// never come between); the emulator calls [`Encoders::disconnect`] once its lock is released.
#[derive(Debug, Default)]
pub(crate) struct Encoders {
    by_channel:
        std::sync::Mutex<std::collections::HashMap<String, (String, Arc<tokio::sync::Notify>)>>,
}

impl Encoders {
    /// Registers the encoder of `stream_id` on a channel: `handle` is notified when it must go.
    pub fn register(&self, channel_arn: &str, stream_id: &str, handle: Arc<tokio::sync::Notify>) {
        self.by_channel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(channel_arn.to_owned(), (stream_id.to_owned(), handle));
    }

    /// Forgets the encoder of `stream_id` (it left).
    pub fn unregister(&self, channel_arn: &str, stream_id: &str) {
        let mut map = self.by_channel.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(channel_arn).is_some_and(|(id, _)| id == stream_id) {
            map.remove(channel_arn);
        }
    }

    /// Drops the connection of the encoder live on a channel, if one is.
    pub fn disconnect(&self, channel_arn: &str) {
        let handle = self
            .by_channel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(channel_arn);
        if let Some((_, handle)) = handle {
            // A stored permit: the connection's task sees it even if it is not waiting yet.
            handle.notify_one();
        }
    }

    /// Drops every encoder (the control plane's reset).
    pub fn disconnect_all(&self) {
        let all: Vec<_> = self
            .by_channel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        for (_, (_, handle)) in all {
            handle.notify_one();
        }
    }
}
