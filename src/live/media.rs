//! The seam between RTMP ingest and what consumes a live channel's media besides HLS viewers:
//! recordings to S3 (a folder standing for the buckets) today, thumbnails or Real-Time stages
//! later.
//!
//! Ingest (`live::rtmp`) remuxes each live channel's stream into HLS segments, cut at keyframes,
//! and tells every [`MediaObserver`] about the stream's start, each segment, and its end, in that
//! order, from the ingest's task. An observer must not block: one that writes files hands the
//! work to a task of its own.

use std::sync::Arc;

use bytes::Bytes;

/// What ingest measured of a live stream, as `GetStreamSession`'s `ingestConfiguration` reports it.
#[derive(Debug, Clone, PartialEq, Default)]
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
