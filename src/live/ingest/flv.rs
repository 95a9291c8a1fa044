//! The bodies of RTMP's audio, video and data messages, which are FLV tag bodies (Adobe's FLV
//! specification, version 10.1, annex E.4.2 and E.4.3): which codec, the AVC decoder
//! configuration record (ISO/IEC 14496-15 §5.2.4.1), AAC's AudioSpecificConfig (ISO/IEC 14496-3
//! §1.6.2.1), and the encoder's `onMetaData`.
//!
//! Pure and bounded: every length is checked against the input before it is used, and nothing
//! is allocated beyond the input's own size. `onMetaData` is read here rather than with
//! scuffle-amf0, whose decoder reserves an ECMA array's declared entry count up front (a
//! 4-byte count from the wire: a hostile publisher could ask for gigabytes); only its
//! top-level strings and numbers are needed.

use bytes::Bytes;

/// Why a message could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FlvError {
    #[error("the {0} ends early")]
    Truncated(&'static str),
    #[error("{0} is not supported: IVS ingests H.264 (AVC) video and AAC audio")]
    Unsupported(String),
    #[error("the {0} is malformed")]
    Malformed(&'static str),
    #[error("no {0} came in the first seconds of the stream")]
    Missing(&'static str),
}

/// One video message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Video {
    /// The AVC decoder configuration record.
    Config(AvcConfig),
    /// One access unit: its NAL units, each prefixed by its length.
    Frame {
        keyframe: bool,
        /// Composition time offset in milliseconds (PTS − DTS).
        cts: i32,
        /// The length-prefixed NAL units.
        data: Bytes,
    },
    /// The end of the sequence, or a frame type with no picture (video info / command frames).
    Other,
}

/// An AVC decoder configuration record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AvcConfig {
    pub profile: u8,
    pub compatibility: u8,
    pub level: u8,
    /// Bytes in each NAL unit's length prefix (1, 2 or 4).
    pub length_size: usize,
    pub sps: Vec<Bytes>,
    pub pps: Vec<Bytes>,
}

/// Reads a video message.
pub(crate) fn video(data: &Bytes) -> Result<Video, FlvError> {
    let &first = data.first().ok_or(FlvError::Truncated("video message"))?;
    if first & 0x80 != 0 {
        // Enhanced RTMP (v1): a FourCC names the codec (hvc1, av01, vp09).
        let fourcc = data.get(1..5).ok_or(FlvError::Truncated("video message"))?;
        return Err(FlvError::Unsupported(format!(
            "video codec `{}` (enhanced RTMP)",
            String::from_utf8_lossy(fourcc).escape_default()
        )));
    }
    let frame_type = first >> 4;
    let codec = first & 0x0f;
    if codec != 7 {
        let name = match codec {
            2 => "Sorenson H.263",
            3 => "Screen video",
            4 => "On2 VP6",
            5 => "On2 VP6 with alpha",
            6 => "Screen video 2",
            12 => "HEVC",
            _ => "an unknown codec",
        };
        return Err(FlvError::Unsupported(format!(
            "video codec {name} (FLV codec id {codec})"
        )));
    }
    if frame_type == 5 {
        return Ok(Video::Other);
    }
    let header = data
        .get(..5)
        .ok_or(FlvError::Truncated("AVC video message"))?;
    let cts = i32::from_be_bytes([
        if header[2] & 0x80 != 0 { 0xff } else { 0 },
        header[2],
        header[3],
        header[4],
    ]);
    match header[1] {
        0 => avc_config(&data.slice(5..)).map(Video::Config),
        1 => Ok(Video::Frame {
            keyframe: frame_type == 1,
            cts,
            data: data.slice(5..),
        }),
        _ => Ok(Video::Other),
    }
}

/// Reads an AVC decoder configuration record.
pub(crate) fn avc_config(data: &Bytes) -> Result<AvcConfig, FlvError> {
    const WHAT: &str = "AVC decoder configuration record";
    let head = data.get(..6).ok_or(FlvError::Truncated(WHAT))?;
    if head[0] != 1 {
        return Err(FlvError::Malformed(WHAT));
    }
    let length_size = usize::from(head[4] & 3) + 1;
    if length_size == 3 {
        return Err(FlvError::Malformed(WHAT));
    }
    let mut pos = 6;
    let sets = |count: usize, pos: &mut usize| -> Result<Vec<Bytes>, FlvError> {
        let mut out = Vec::new();
        for _ in 0..count {
            let len = data.get(*pos..*pos + 2).ok_or(FlvError::Truncated(WHAT))?;
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            let start = *pos + 2;
            if data.len() < start + len || len == 0 {
                return Err(FlvError::Truncated(WHAT));
            }
            out.push(data.slice(start..start + len));
            *pos = start + len;
        }
        Ok(out)
    };
    let sps = sets(usize::from(head[5] & 0x1f), &mut pos)?;
    let n_pps = *data.get(pos).ok_or(FlvError::Truncated(WHAT))?;
    pos += 1;
    let pps = sets(usize::from(n_pps), &mut pos)?;
    if sps.is_empty() || pps.is_empty() {
        return Err(FlvError::Malformed(WHAT));
    }
    Ok(AvcConfig {
        profile: head[1],
        compatibility: head[2],
        level: head[3],
        length_size,
        sps,
        pps,
    })
}

/// One audio message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Audio {
    /// The AudioSpecificConfig.
    Config(AacConfig),
    /// One raw AAC frame.
    Frame(Bytes),
}

/// What the AudioSpecificConfig says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AacConfig {
    /// The audio object type (2 for AAC-LC).
    pub object_type: u8,
    /// The sampling frequency index (ISO/IEC 14496-3 Table 1.18).
    pub frequency_index: u8,
    pub sample_rate: u32,
    pub channels: u8,
}

impl AacConfig {
    /// `mp4a.40.<object type>` (RFC 6381 §3.3).
    pub fn codec(&self) -> String {
        format!("mp4a.40.{}", self.object_type)
    }
}

/// The sampling frequencies by index.
const FREQUENCIES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// Reads an audio message.
pub(crate) fn audio(data: &Bytes) -> Result<Audio, FlvError> {
    let &first = data.first().ok_or(FlvError::Truncated("audio message"))?;
    let format = first >> 4;
    if format != 10 {
        let name = match format {
            0 | 3 => "linear PCM",
            1 => "ADPCM",
            2 | 14 => "MP3",
            4..=6 => "Nellymoser",
            7 => "G.711 A-law",
            8 => "G.711 mu-law",
            9 => "an enhanced RTMP codec (Opus, FLAC, AC-3)",
            11 => "Speex",
            _ => "an unknown codec",
        };
        return Err(FlvError::Unsupported(format!(
            "audio codec {name} (FLV sound format {format})"
        )));
    }
    match data.get(1) {
        Some(0) => aac_config(data.get(2..).unwrap_or_default()).map(Audio::Config),
        Some(1) => Ok(Audio::Frame(data.slice(2..))),
        Some(_) => Err(FlvError::Malformed("AAC audio message")),
        None => Err(FlvError::Truncated("AAC audio message")),
    }
}

/// Reads an AudioSpecificConfig.
pub(crate) fn aac_config(data: &[u8]) -> Result<AacConfig, FlvError> {
    const WHAT: &str = "AAC AudioSpecificConfig";
    let head = data.get(..2).ok_or(FlvError::Truncated(WHAT))?;
    let bits = u16::from_be_bytes([head[0], head[1]]);
    let object_type = (bits >> 11) as u8;
    let frequency_index = ((bits >> 7) & 0x0f) as u8;
    let channels = ((bits >> 3) & 0x0f) as u8;
    if object_type == 31 || object_type == 0 {
        return Err(FlvError::Unsupported(format!(
            "AAC audio object type {object_type}"
        )));
    }
    // ADTS, which HLS carries, holds object types 1 to 4 only (its profile field is 2 bits).
    if object_type > 4 {
        return Err(FlvError::Unsupported(format!(
            "AAC audio object type {object_type} (HE-AAC and later; IVS takes AAC-LC)"
        )));
    }
    let sample_rate = *FREQUENCIES
        .get(usize::from(frequency_index))
        .ok_or(FlvError::Malformed(WHAT))?;
    if channels == 0 || channels > 7 {
        return Err(FlvError::Unsupported(format!(
            "AAC channel configuration {channels}"
        )));
    }
    Ok(AacConfig {
        object_type,
        frequency_index,
        sample_rate,
        channels: if channels == 7 { 8 } else { channels },
    })
}

/// What the encoder said of itself in `onMetaData`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Metadata {
    pub encoder: Option<String>,
    /// `videodatarate`, in kilobits a second.
    pub video_kbps: Option<f64>,
    /// `audiodatarate`, in kilobits a second.
    pub audio_kbps: Option<f64>,
    pub framerate: Option<f64>,
}

/// Reads a data message when it is `[@setDataFrame,] onMetaData, {…}`; `None` for any other.
/// Only top-level members whose values are strings, numbers or booleans are read; the first
/// other value ends the read (what was read so far is kept).
pub(crate) fn metadata(data: &[u8]) -> Option<Metadata> {
    let mut r = Amf0 { data, pos: 0 };
    let mut name = r.string()?;
    if name == "@setDataFrame" {
        name = r.string()?;
    }
    if name != "onMetaData" {
        return None;
    }
    let mut meta = Metadata::default();
    match r.byte()? {
        // ECMA array: a count (not trusted: the end marker or the data's end stops the read).
        0x08 => {
            r.take(4)?;
        }
        0x03 => {}
        _ => return Some(meta),
    }
    while let Some(key) = r.short_string() {
        if key.is_empty() {
            break;
        }
        match r.byte() {
            Some(0x00) => {
                let Some(n) = r.take(8) else { break };
                let mut b = [0; 8];
                b.copy_from_slice(n);
                let value = f64::from_be_bytes(b);
                let value = value.is_finite().then_some(value);
                match key {
                    "videodatarate" => meta.video_kbps = value,
                    "audiodatarate" => meta.audio_kbps = value,
                    "framerate" => meta.framerate = value,
                    _ => {}
                }
            }
            Some(0x01) => {
                if r.take(1).is_none() {
                    break;
                }
            }
            Some(0x02) => {
                let Some(value) = r.short_string() else { break };
                if key == "encoder" {
                    // At most 128 characters: an encoder's name, not a payload.
                    meta.encoder = Some(value.chars().take(128).collect());
                }
            }
            _ => break,
        }
    }
    Some(meta)
}

/// A cursor over AMF0 bytes.
struct Amf0<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Amf0<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(out)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    /// A string value: its marker (2), then a short string.
    fn string(&mut self) -> Option<&'a str> {
        (self.byte()? == 0x02).then_some(())?;
        self.short_string()
    }

    /// A UTF-8 string with a 16-bit length.
    fn short_string(&mut self) -> Option<&'a str> {
        let len = self.take(2)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        std::str::from_utf8(self.take(len)?).ok()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An AVC sequence header message holding one SPS and one PPS.
    pub(crate) fn avc_sequence_header(sps: &[u8], pps: &[u8]) -> Bytes {
        let mut out = vec![0x17, 0, 0, 0, 0, 1, sps[1], sps[2], sps[3], 0xff, 0xe1];
        out.extend((sps.len() as u16).to_be_bytes());
        out.extend(sps);
        out.push(1);
        out.extend((pps.len() as u16).to_be_bytes());
        out.extend(pps);
        Bytes::from(out)
    }

    #[test]
    fn reads_an_avc_sequence_header_and_frames() {
        let sps = crate::live::ingest::sps::tests::sps(100, 31, 1280, 720);
        let msg = avc_sequence_header(&sps, &[0x68, 0xce, 0x3c, 0x80]);
        let Video::Config(config) = video(&msg).unwrap() else {
            panic!()
        };
        assert_eq!(
            (config.profile, config.level, config.length_size),
            (100, 31, 4)
        );
        assert_eq!(config.sps[0].as_ref(), sps.as_slice());
        let frame = Bytes::from_static(&[0x27, 1, 0xff, 0xff, 0xfe, 0, 0, 0, 1, 0x41]);
        assert_eq!(
            video(&frame).unwrap(),
            Video::Frame {
                keyframe: false,
                cts: -2,
                data: Bytes::from_static(&[0, 0, 0, 1, 0x41])
            }
        );
    }

    #[test]
    fn names_unsupported_codecs() {
        let hevc = Bytes::from_static(&[0x90, b'h', b'v', b'c', b'1', 0, 0, 0]);
        assert_eq!(
            video(&hevc).unwrap_err().to_string(),
            "video codec `hvc1` (enhanced RTMP) is not supported: IVS ingests H.264 (AVC) video and AAC audio"
        );
        assert!(matches!(
            video(&Bytes::from_static(&[0x12, 0])),
            Err(FlvError::Unsupported(_))
        ));
        assert!(matches!(
            audio(&Bytes::from_static(&[0x2f, 0])),
            Err(FlvError::Unsupported(_))
        ));
    }

    #[test]
    fn reads_aac_config() {
        // AAC-LC, 44.1 kHz, stereo: 00010 0100 0010 000.
        let Audio::Config(config) = audio(&Bytes::from_static(&[0xaf, 0, 0x12, 0x10])).unwrap()
        else {
            panic!()
        };
        assert_eq!(config.codec(), "mp4a.40.2");
        assert_eq!((config.sample_rate, config.channels), (44_100, 2));
    }

    #[test]
    fn reads_on_metadata() {
        let mut msg = vec![2, 0, 13];
        msg.extend(b"@setDataFrame");
        msg.extend([2, 0, 10]);
        msg.extend(b"onMetaData");
        msg.extend([8, 0xff, 0xff, 0xff, 0xff]); // a count that lies
        msg.extend([0, 13]);
        msg.extend(b"videodatarate");
        msg.push(0);
        msg.extend(2500f64.to_be_bytes());
        msg.extend([0, 7]);
        msg.extend(b"encoder");
        msg.extend([2, 0, 13]);
        msg.extend(b"Lavf61.7.100!");
        msg.extend([0, 0, 9]);
        let meta = metadata(&msg).unwrap();
        assert_eq!(meta.encoder.as_deref(), Some("Lavf61.7.100!"));
        assert_eq!(meta.video_kbps, Some(2500.0));
        assert_eq!(metadata(&[2, 0, 1, b'x']), None);
    }

    proptest! {
        /// Any bytes: an answer or an error, never a panic.
        #[test]
        fn arbitrary_messages_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let bytes = Bytes::from(bytes);
            let _ = video(&bytes);
            let _ = audio(&bytes);
            let _ = metadata(&bytes);
            let _ = avc_config(&bytes);
        }
    }
}
