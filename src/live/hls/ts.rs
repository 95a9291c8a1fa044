//! A small MPEG-TS writer (ISO/IEC 13818-1): the PAT and PMT of one program with an H.264 stream
//! (PID 0x100) and an AAC stream in ADTS (PID 0x101), and PES packets with PTS, DTS and PCR,
//! which is all an HLS segment needs (RFC 8216 §3.2). No crate of the ecosystem is both kept up
//! and this small; the format is stable since 1995.

/// PIDs of the one program.
const PMT_PID: u16 = 0x1000;
pub(crate) const VIDEO_PID: u16 = 0x100;
pub(crate) const AUDIO_PID: u16 = 0x101;

const PACKET: usize = 188;

/// Continuity counters, kept across a stream's segments (players accept either, and a
/// continuous count is what a live packager writes).
#[derive(Debug, Default, Clone)]
pub(crate) struct TsWriter {
    pat_cc: u8,
    pmt_cc: u8,
    video_cc: u8,
    audio_cc: u8,
}

impl TsWriter {
    /// Writes the PAT and the PMT, as every segment begins (RFC 8216 §3.2: each segment holds
    /// them). `audio` adds the AAC stream to the program.
    pub fn tables(&mut self, out: &mut Vec<u8>, audio: bool) {
        // PAT: program 1 → PMT_PID.
        let pat = [
            0x00,
            0xb0,
            0x0d,
            0x00,
            0x01,
            0xc1,
            0x00,
            0x00,
            0x00,
            0x01,
            0xe0 | (PMT_PID >> 8) as u8,
            PMT_PID as u8,
        ];
        section_packet(out, 0, &mut self.pat_cc, &pat);
        let mut pmt = vec![0x02, 0xb0, 0x00, 0x00, 0x01, 0xc1, 0x00, 0x00];
        pmt.extend([0xe0 | (VIDEO_PID >> 8) as u8, VIDEO_PID as u8, 0xf0, 0x00]);
        pmt.extend([
            0x1b,
            0xe0 | (VIDEO_PID >> 8) as u8,
            VIDEO_PID as u8,
            0xf0,
            0x00,
        ]);
        if audio {
            pmt.extend([
                0x0f,
                0xe0 | (AUDIO_PID >> 8) as u8,
                AUDIO_PID as u8,
                0xf0,
                0x00,
            ]);
        }
        // section_length counts from after itself to the end of the CRC.
        let len = pmt.len() - 3 + 4;
        pmt[1] = 0xb0 | (len >> 8) as u8;
        pmt[2] = len as u8;
        section_packet(out, PMT_PID, &mut self.pmt_cc, &pmt);
    }

    /// Writes one video access unit (Annex B) as a PES packet; a keyframe carries the PCR and
    /// the random access indicator. Times are in the 90 kHz clock.
    pub fn video(&mut self, out: &mut Vec<u8>, pts: u64, dts: u64, keyframe: bool, annexb: &[u8]) {
        let header = pes_header(0xe0, pts, Some(dts), 0);
        let pcr = keyframe.then_some(dts);
        packetize(
            out,
            VIDEO_PID,
            &mut self.video_cc,
            &header,
            annexb,
            pcr,
            keyframe,
        );
    }

    /// Writes one AAC frame with its ADTS header as a PES packet.
    pub fn audio(&mut self, out: &mut Vec<u8>, pts: u64, adts: &[u8], frame: &[u8]) {
        let len = adts.len() + frame.len();
        let header = pes_header(0xc0, pts, None, len);
        let mut payload = Vec::with_capacity(len);
        payload.extend_from_slice(adts);
        payload.extend_from_slice(frame);
        packetize(
            out,
            AUDIO_PID,
            &mut self.audio_cc,
            &header,
            &payload,
            None,
            false,
        );
    }
}

/// An ADTS header (ISO/IEC 13818-7 §6.2) for an AAC frame of `len` bytes.
pub(crate) fn adts_header(
    object_type: u8,
    frequency_index: u8,
    channels: u8,
    len: usize,
) -> [u8; 7] {
    let full = len + 7;
    let profile = object_type.saturating_sub(1) & 3;
    let channels = if channels == 8 { 7 } else { channels };
    [
        0xff,
        0xf1,
        (profile << 6) | ((frequency_index & 0x0f) << 2) | ((channels >> 2) & 1),
        ((channels & 3) << 6) | ((full >> 11) & 3) as u8,
        (full >> 3) as u8,
        (((full & 7) << 5) as u8) | 0x1f,
        0xfc,
    ]
}

/// A PES header: start code, stream id, length (0 for video, "unbounded", as H.264 PES may be
/// longer than 65,535 bytes), flags, PTS and optional DTS.
fn pes_header(stream_id: u8, pts: u64, dts: Option<u64>, payload_len: usize) -> Vec<u8> {
    let mut h = vec![0, 0, 1, stream_id, 0, 0, 0x80];
    let optional = if dts.is_some() { 10 } else { 5 };
    let length = if stream_id == 0xe0 {
        0
    } else {
        (3 + optional + payload_len).min(0xffff)
    };
    h[4] = (length >> 8) as u8;
    h[5] = length as u8;
    match dts {
        Some(dts) => {
            h.push(0xc0);
            h.push(10);
            timestamp(&mut h, 0x3, pts);
            timestamp(&mut h, 0x1, dts);
        }
        None => {
            h.push(0x80);
            h.push(5);
            timestamp(&mut h, 0x2, pts);
        }
    }
    h
}

/// A 33-bit PTS or DTS in its 5-byte form, after the 4-bit prefix.
fn timestamp(out: &mut Vec<u8>, prefix: u8, ts: u64) {
    let ts = ts & 0x1_ffff_ffff;
    out.extend([
        (prefix << 4) | (((ts >> 30) as u8 & 7) << 1) | 1,
        (ts >> 22) as u8,
        (((ts >> 15) as u8 & 0x7f) << 1) | 1,
        (ts >> 7) as u8,
        ((ts as u8 & 0x7f) << 1) | 1,
    ]);
}

/// Cuts a PES packet (header then payload) into TS packets, the last one stuffed through its
/// adaptation field.
fn packetize(
    out: &mut Vec<u8>,
    pid: u16,
    cc: &mut u8,
    header: &[u8],
    payload: &[u8],
    pcr: Option<u64>,
    random_access: bool,
) {
    let total = header.len() + payload.len();
    out.reserve(total / 184 * PACKET + 2 * PACKET);
    let mut pos = 0;
    while pos < total {
        let first = pos == 0;
        let mut af = [0u8; 184];
        let mut af_len = 0; // adaptation field bytes after its length byte
        if first && (pcr.is_some() || random_access) {
            af[0] = if random_access { 0x40 } else { 0 };
            af_len = 1;
            if let Some(pcr) = pcr {
                af[0] |= 0x10;
                let base = pcr & 0x1_ffff_ffff;
                af[1..7].copy_from_slice(&[
                    (base >> 25) as u8,
                    (base >> 17) as u8,
                    (base >> 9) as u8,
                    (base >> 1) as u8,
                    ((base as u8 & 1) << 7) | 0x7e,
                    0,
                ]);
                af_len = 7;
            }
        }
        let mut field = if af_len > 0 { af_len + 1 } else { 0 };
        let remaining = total - pos;
        if remaining < 184 - field {
            let stuffing = 184 - field - remaining;
            if field == 0 {
                // One byte: a zero-length adaptation field; more: its flags byte, then 0xff.
                if stuffing >= 2 {
                    af[0] = 0;
                    af[1..stuffing - 1].fill(0xff);
                    af_len = stuffing - 1;
                }
                field = stuffing;
            } else {
                af[af_len..af_len + stuffing].fill(0xff);
                af_len += stuffing;
                field += stuffing;
            }
        }
        let control = if field > 0 { 0x30 } else { 0x10 };
        out.extend([
            0x47,
            (u8::from(first) << 6) | (pid >> 8) as u8 & 0x1f,
            pid as u8,
            control | (*cc & 0x0f),
        ]);
        *cc = cc.wrapping_add(1) & 0x0f;
        if field > 0 {
            out.push(af_len as u8);
            out.extend_from_slice(&af[..af_len]);
        }
        let take = 184 - field;
        let end = pos + take;
        // The part of header and payload in [pos, end).
        if pos < header.len() {
            let h_end = end.min(header.len());
            out.extend_from_slice(&header[pos..h_end]);
            if end > header.len() {
                out.extend_from_slice(&payload[..end - header.len()]);
            }
        } else {
            out.extend_from_slice(&payload[pos - header.len()..end - header.len()]);
        }
        pos = end;
    }
}

/// One PSI section (pointer field 0) with its CRC, in one packet padded with 0xff.
fn section_packet(out: &mut Vec<u8>, pid: u16, cc: &mut u8, section: &[u8]) {
    let start = out.len();
    out.extend([
        0x47,
        0x40 | (pid >> 8) as u8,
        pid as u8,
        0x10 | (*cc & 0x0f),
        0x00,
    ]);
    *cc = cc.wrapping_add(1) & 0x0f;
    out.extend_from_slice(section);
    out.extend(crc32_mpeg2(section).to_be_bytes());
    out.resize(start + PACKET, 0xff);
}

/// CRC-32/MPEG-2: polynomial 0x04C11DB7, initial value all ones, no reflection, no final xor.
pub(crate) fn crc32_mpeg2(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        // CRC-32/MPEG-2's check value for "123456789".
        assert_eq!(crc32_mpeg2(b"123456789"), 0x0376_e6e7);
    }

    #[test]
    fn tables_are_two_whole_packets_with_valid_crcs() {
        let mut out = Vec::new();
        TsWriter::default().tables(&mut out, true);
        assert_eq!(out.len(), 2 * PACKET);
        for packet in out.chunks(PACKET) {
            assert_eq!(packet[0], 0x47);
            let len = usize::from(u16::from_be_bytes([packet[6], packet[7]]) & 0x0fff);
            // A section's CRC over itself, CRC included, is zero.
            assert_eq!(crc32_mpeg2(&packet[5..8 + len]), 0);
        }
    }

    #[test]
    fn adts_header_encodes_length_and_config() {
        let h = adts_header(2, 4, 2, 100);
        assert_eq!(&h[..2], &[0xff, 0xf1]);
        let len = (usize::from(h[3] & 3) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        assert_eq!(len, 107);
        assert_eq!(h[2] >> 6, 1); // AAC-LC is profile 1
    }

    proptest! {
        /// Whatever the payload, a PES becomes whole packets on the PID with counting continuity
        /// counters, and the payload comes back out of them intact.
        #[test]
        fn pes_packets_carry_the_payload(len in 0usize..2000, keyframe in any::<bool>()) {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut w = TsWriter::default();
            let mut out = Vec::new();
            w.video(&mut out, 9000, 6000, keyframe, &payload);
            prop_assert_eq!(out.len() % PACKET, 0);
            let mut data = Vec::new();
            for (i, p) in out.chunks(PACKET).enumerate() {
                prop_assert_eq!(p[0], 0x47);
                prop_assert_eq!(u16::from_be_bytes([p[1] & 0x1f, p[2]]), VIDEO_PID);
                prop_assert_eq!(usize::from(p[3] & 0x0f), i % 16);
                let start = if p[3] & 0x20 != 0 { 5 + usize::from(p[4]) } else { 4 };
                data.extend_from_slice(&p[start..]);
            }
            // The PES header (19 bytes with PTS and DTS) then the payload.
            prop_assert_eq!(&data[..4], &[0, 0, 1, 0xe0]);
            prop_assert_eq!(&data[19..], payload.as_slice());
        }
    }
}
