//! From RTMP's FLV messages to HLS segments, without re-encoding: H.264 from AVCC (length
//! prefixes) to Annex B (start codes), with an access unit delimiter before every picture and the
//! SPS and PPS before every keyframe, AAC raw frames given ADTS headers, both in MPEG-TS; a
//! segment is cut at the first keyframe at or past the target duration. Also measures what
//! `GetStreamSession`'s ingest configuration reports.
//!
//! Bounded: a segment that reaches [`MAX_SEGMENT_BYTES`] or four target durations without a
//! keyframe is cut where it is (a stream with too few keyframes still plays, with stalls, rather
//! than growing without end); frames before the first keyframe are dropped, since a segment must
//! start with one (RFC 8216 §3: each segment's first frame decodable on its own).

use bytes::Bytes;

use super::flv::{self, AacConfig, Audio, AvcConfig, FlvError, Metadata, Video};
use super::sps::{self, Sps};
use crate::live::hls::ts::{adts_header, TsWriter};
use crate::live::media::StreamInfo;

/// The largest segment, whatever the keyframe interval.
pub(crate) const MAX_SEGMENT_BYTES: usize = 16 << 20;

/// How long a stream may send audio without video, or frames without their codec
/// configuration, before it is refused, in milliseconds.
const GRACE_MS: u64 = 5_000;

/// One finished segment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cut {
    pub sequence: u64,
    /// Seconds.
    pub duration: f64,
    pub data: Bytes,
}

/// The remuxer of one published stream.
#[derive(Debug)]
pub(crate) struct Remuxer {
    target_ms: u64,
    avc: Option<AvcConfig>,
    sps: Option<Sps>,
    aac: Option<AacConfig>,
    meta: Metadata,
    ts: TsWriter,
    /// The segment being written, and the time of its first frame.
    segment: Vec<u8>,
    segment_start: Option<u64>,
    sequence: u64,
    /// Reused for each access unit's Annex B form.
    annexb: Vec<u8>,
    clock: Clock,
    stats: Stats,
}

/// RTMP's 32-bit millisecond timestamps, extended past their wrap (49.7 days).
#[derive(Debug, Default)]
struct Clock {
    last: Option<u32>,
    epoch: u64,
}

impl Clock {
    fn extend(&mut self, ts: u32) -> u64 {
        if let Some(last) = self.last {
            if ts < last && last - ts > 1 << 31 {
                self.epoch += 1 << 32;
            }
        }
        self.last = Some(ts);
        self.epoch + u64::from(ts)
    }
}

/// What is measured: frames and bytes over the time they span.
#[derive(Debug, Default)]
struct Stats {
    video_frames: u64,
    video_bytes: u64,
    video_span: Option<(u64, u64)>,
    audio_bytes: u64,
    audio_span: Option<(u64, u64)>,
    /// When the first message of any kind came, for the grace periods.
    first: Option<u64>,
}

fn widen(span: &mut Option<(u64, u64)>, t: u64) {
    *span = Some(match *span {
        None => (t, t),
        Some((a, b)) => (a.min(t), b.max(t)),
    });
}

/// Bits a second over a span in milliseconds, once it is long enough to mean something.
fn rate(bytes: u64, span: Option<(u64, u64)>) -> u64 {
    match span {
        Some((a, b)) if b > a + 200 => bytes * 8 * 1000 / (b - a),
        _ => 0,
    }
}

impl Remuxer {
    /// A remuxer cutting segments of about `target_secs`.
    pub fn new(target_secs: u32) -> Remuxer {
        Remuxer {
            target_ms: u64::from(target_secs.max(1)) * 1000,
            avc: None,
            sps: None,
            aac: None,
            meta: Metadata::default(),
            ts: TsWriter::default(),
            segment: Vec::new(),
            segment_start: None,
            sequence: 0,
            annexb: Vec::new(),
            clock: Clock::default(),
            stats: Stats::default(),
        }
    }

    /// Takes a video message; a segment when this keyframe closed one.
    pub fn video(&mut self, timestamp: u32, data: &Bytes) -> Result<Option<Cut>, FlvError> {
        let t = self.clock.extend(timestamp);
        self.stats.first.get_or_insert(t);
        match flv::video(data)? {
            Video::Config(config) => {
                let parsed = sps::parse(&config.sps[0])
                    .map_err(|_| FlvError::Malformed("sequence parameter set"))?;
                self.sps = Some(parsed);
                self.avc = Some(config);
                Ok(None)
            }
            Video::Other => Ok(None),
            Video::Frame {
                keyframe,
                cts,
                data,
            } => {
                let Some(avc) = &self.avc else {
                    return self.waiting(t, "an AVC sequence header (the decoder configuration)");
                };
                self.stats.video_frames += 1;
                self.stats.video_bytes += data.len() as u64;
                widen(&mut self.stats.video_span, t);
                to_annexb(&mut self.annexb, avc, keyframe, &data)?;
                let cut = self.maybe_cut(t, keyframe);
                if self.segment_start.is_none() {
                    if !keyframe {
                        return Ok(cut);
                    }
                    self.begin(t);
                }
                let dts = t * 90;
                let pts = (t as i64 + i64::from(cts)).max(0) as u64 * 90;
                self.ts
                    .video(&mut self.segment, pts, dts, keyframe, &self.annexb);
                Ok(cut)
            }
        }
    }

    /// Takes an audio message.
    pub fn audio(&mut self, timestamp: u32, data: &Bytes) -> Result<(), FlvError> {
        let t = self.clock.extend(timestamp);
        self.stats.first.get_or_insert(t);
        match flv::audio(data)? {
            Audio::Config(config) => {
                self.aac = Some(config);
                Ok(())
            }
            Audio::Frame(frame) => {
                let Some(aac) = self.aac else {
                    return self
                        .waiting(t, "an AAC sequence header (the AudioSpecificConfig)")
                        .map(|_| ());
                };
                if self.avc.is_none() {
                    // Inferred: IVS channels carry video (their ingest configuration always has
                    // a video part, and the user guide's encoder settings all include video).
                    return self
                        .waiting(t, "video (audio-only streams are not supported)")
                        .map(|_| ());
                }
                self.stats.audio_bytes += frame.len() as u64;
                widen(&mut self.stats.audio_span, t);
                // Audio before the segment's first keyframe has nothing to play with.
                if self.segment_start.is_some() && frame.len() < 0x1fff - 7 {
                    let adts = adts_header(
                        aac.object_type,
                        aac.frequency_index,
                        aac.channels,
                        frame.len(),
                    );
                    self.ts.audio(&mut self.segment, t * 90, &adts, &frame);
                }
                Ok(())
            }
        }
    }

    /// Takes a data message (`onMetaData`; others are ignored).
    pub fn data(&mut self, data: &[u8]) {
        if let Some(meta) = flv::metadata(data) {
            self.meta = meta;
        }
    }

    /// The segment being written, ended where the stream ended.
    pub fn finish(&mut self) -> Option<Cut> {
        let start = self.segment_start.take()?;
        let end = self.stats.video_span.map_or(start, |(_, b)| b);
        Some(self.take(start, end.max(start + 1)))
    }

    /// What the stream is, as measured so far. Inferred: the targets IVS reports ("configured in
    /// the encoder", the model says) come from the encoder's `onMetaData` when it sends them, and
    /// are measured from the stream otherwise.
    pub fn info(&self) -> StreamInfo {
        let kbps = |v: Option<f64>| v.filter(|v| *v > 0.0).map(|v| (v * 1000.0) as u64);
        let measured_fps = match self.stats.video_span {
            Some((a, b)) if b > a && self.stats.video_frames > 1 => {
                (self.stats.video_frames - 1) as f64 * 1000.0 / (b - a) as f64
            }
            _ => 0.0,
        };
        let (video_codec, width, height) = match &self.sps {
            Some(sps) => (sps.codec(), sps.width, sps.height),
            None => (String::new(), 0, 0),
        };
        StreamInfo {
            video_codec,
            width,
            height,
            frame_rate: self
                .meta
                .framerate
                .filter(|f| *f > 0.0)
                .unwrap_or(measured_fps),
            video_bitrate: kbps(self.meta.video_kbps)
                .unwrap_or_else(|| rate(self.stats.video_bytes, self.stats.video_span)),
            audio_codec: self.aac.map(|a| a.codec()).unwrap_or_default(),
            sample_rate: self.aac.map_or(0, |a| a.sample_rate),
            channels: self.aac.map_or(0, |a| u32::from(a.channels)),
            audio_bitrate: kbps(self.meta.audio_kbps)
                .unwrap_or_else(|| rate(self.stats.audio_bytes, self.stats.audio_span)),
            encoder: self.meta.encoder.clone().unwrap_or_default(),
            profile: self
                .sps
                .map(|s| s.profile_name().to_owned())
                .unwrap_or_default(),
            level: self.sps.map(|s| s.level_name()).unwrap_or_default(),
        }
    }

    /// A frame came before what it needs: dropped within the grace period, refused after.
    fn waiting(&self, t: u64, what: &'static str) -> Result<Option<Cut>, FlvError> {
        if t.saturating_sub(self.stats.first.unwrap_or(t)) > GRACE_MS {
            return Err(FlvError::Missing(what));
        }
        Ok(None)
    }

    /// Cuts the segment before a frame at `t`: at a keyframe once the target is reached, or
    /// anywhere once the segment is too large or too long.
    fn maybe_cut(&mut self, t: u64, keyframe: bool) -> Option<Cut> {
        let start = self.segment_start?;
        let elapsed = t.saturating_sub(start);
        let due = (keyframe && elapsed + 50 >= self.target_ms)
            || elapsed >= 4 * self.target_ms
            || self.segment.len() >= MAX_SEGMENT_BYTES;
        if !due {
            return None;
        }
        let cut = self.take(start, t);
        self.begin(t);
        Some(cut)
    }

    fn begin(&mut self, t: u64) {
        self.segment_start = Some(t);
        self.ts.tables(&mut self.segment, self.aac.is_some());
    }

    fn take(&mut self, start: u64, end: u64) -> Cut {
        let sequence = self.sequence;
        self.sequence += 1;
        let capacity = self.segment.capacity();
        let data = Bytes::from(std::mem::replace(
            &mut self.segment,
            Vec::with_capacity(capacity),
        ));
        self.segment_start = None;
        Cut {
            sequence,
            duration: end.saturating_sub(start) as f64 / 1000.0,
            data,
        }
    }
}

/// Writes an access unit in Annex B: an access unit delimiter, the SPS and PPS before a
/// keyframe, then each NAL unit with a start code (the stream's own delimiters dropped).
fn to_annexb(
    out: &mut Vec<u8>,
    avc: &AvcConfig,
    keyframe: bool,
    data: &[u8],
) -> Result<(), FlvError> {
    const START: [u8; 4] = [0, 0, 0, 1];
    out.clear();
    out.extend_from_slice(&START);
    out.extend_from_slice(&[0x09, 0xf0]);
    if keyframe {
        for set in avc.sps.iter().chain(&avc.pps) {
            out.extend_from_slice(&START);
            out.extend_from_slice(set);
        }
    }
    let n = avc.length_size;
    let mut pos = 0;
    while pos < data.len() {
        let prefix = data
            .get(pos..pos + n)
            .ok_or(FlvError::Truncated("NAL unit length"))?;
        let len = prefix
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        let nal = data
            .get(pos + n..pos + n + len)
            .ok_or(FlvError::Truncated("NAL unit"))?;
        pos += n + len;
        if nal.first().is_some_and(|h| h & 0x1f == 9) {
            continue;
        }
        out.extend_from_slice(&START);
        out.extend_from_slice(nal);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::ingest::flv::tests::avc_sequence_header;

    fn frame(keyframe: bool) -> Bytes {
        let mut v = vec![if keyframe { 0x17 } else { 0x27 }, 1, 0, 0, 0];
        v.extend([0, 0, 0, 3, if keyframe { 0x65 } else { 0x41 }, 0xaa, 0xbb]);
        Bytes::from(v)
    }

    fn started(target: u32) -> Remuxer {
        let mut r = Remuxer::new(target);
        let sps = crate::live::ingest::sps::tests::sps(66, 30, 640, 360);
        r.video(0, &avc_sequence_header(&sps, &[0x68, 0xce, 0x3c, 0x80]))
            .unwrap();
        r.audio(0, &Bytes::from_static(&[0xaf, 0, 0x12, 0x10]))
            .unwrap();
        r
    }

    #[test]
    fn cuts_at_the_first_keyframe_past_the_target() {
        let mut r = started(2);
        let mut cuts = Vec::new();
        // 30 fps, a keyframe every second, for five seconds.
        for i in 0..150u32 {
            let t = i * 1000 / 30;
            if let Some(cut) = r.video(t, &frame(i % 30 == 0)).unwrap() {
                cuts.push(cut);
            }
            r.audio(t, &Bytes::from_static(&[0xaf, 1, 1, 2, 3]))
                .unwrap();
        }
        assert_eq!(
            cuts.iter().map(|c| c.sequence).collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert_eq!(cuts[0].duration, 2.0);
        for cut in &cuts {
            assert_eq!(cut.data.len() % 188, 0);
            assert_eq!(cut.data[0], 0x47);
        }
        let info = r.info();
        assert_eq!(
            (info.width, info.height, info.video_codec.as_str()),
            (640, 360, "avc1.42001E")
        );
        assert!((info.frame_rate - 30.0).abs() < 0.5, "{}", info.frame_rate);
        assert_eq!(
            (info.audio_codec.as_str(), info.sample_rate, info.channels),
            ("mp4a.40.2", 44_100, 2)
        );
        let last = r.finish().unwrap();
        assert_eq!(last.sequence, 2);
    }

    #[test]
    fn frames_before_the_first_keyframe_are_dropped_and_no_config_is_refused_in_time() {
        let mut r = started(2);
        assert_eq!(r.video(0, &frame(false)).unwrap(), None);
        assert!(r.finish().is_none());
        let mut bare = Remuxer::new(2);
        assert_eq!(bare.video(0, &frame(true)).unwrap(), None);
        assert!(matches!(
            bare.video(6_000, &frame(true)),
            Err(FlvError::Missing(_))
        ));
    }

    #[test]
    fn audio_only_is_refused_after_the_grace_period() {
        let mut r = Remuxer::new(2);
        r.audio(0, &Bytes::from_static(&[0xaf, 0, 0x12, 0x10]))
            .unwrap();
        r.audio(100, &Bytes::from_static(&[0xaf, 1, 1])).unwrap();
        let err = r
            .audio(5_200, &Bytes::from_static(&[0xaf, 1, 1]))
            .unwrap_err();
        assert!(err.to_string().contains("audio-only"), "{err}");
    }

    #[test]
    fn a_stream_without_keyframes_is_still_cut() {
        let mut r = started(2);
        r.video(0, &frame(true)).unwrap();
        let cut = (1..300u32).find_map(|i| r.video(i * 33, &frame(false)).unwrap());
        assert!(cut.unwrap().duration >= 8.0);
    }
}
