//! The H.264 sequence parameter set (ITU-T H.264 §7.3.2.1.1), read as far as the picture's size:
//! profile, constraint flags and level, then the exp-Golomb fields up to the frame cropping.
//!
//! Pure and bounded: every read is checked against the end of the input, an exp-Golomb code is
//! at most 32 bits, and the sizes are held to H.264's own limits (level 6.2's 139,264 macroblocks
//! a frame), so a hostile SPS costs at most its own length and is refused with what was wrong.

/// What the emulator reads from an SPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sps {
    pub profile_idc: u8,
    /// The constraint_set flags byte, as `avc1.PPCCLL` writes it.
    pub constraints: u8,
    pub level_idc: u8,
    pub width: u32,
    pub height: u32,
}

impl Sps {
    /// `avc1.PPCCLL` (RFC 6381 §3.3).
    pub fn codec(&self) -> String {
        format!(
            "avc1.{:02X}{:02X}{:02X}",
            self.profile_idc, self.constraints, self.level_idc
        )
    }

    /// The profile's name as the H.264 specification (Annex A) gives it, as IVS's API reference
    /// shows it (`Baseline`, `Main`, `High`); Constrained Baseline is reported as Baseline
    /// (inferred: the reference names no constrained profile).
    pub fn profile_name(&self) -> &'static str {
        match self.profile_idc {
            66 => "Baseline",
            77 => "Main",
            88 => "Extended",
            100 => "High",
            110 => "High 10",
            122 => "High 4:2:2",
            244 => "High 4:4:4 Predictive",
            44 => "CAVLC 4:4:4 Intra",
            _ => "Unknown",
        }
    }

    /// The level as written (`3.1`); level 1b (11 with constraint_set3 in Baseline/Main) is `1b`.
    pub fn level_name(&self) -> String {
        if self.level_idc == 11
            && self.constraints & 0x10 != 0
            && matches!(self.profile_idc, 66 | 77 | 88)
        {
            return "1b".to_owned();
        }
        format!("{}.{}", self.level_idc / 10, self.level_idc % 10)
    }
}

/// Why an SPS could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SpsError {
    #[error("the SPS ends before its {0}")]
    Truncated(&'static str),
    #[error("the NAL unit is not an SPS (type {0}, expected 7)")]
    NotSps(u8),
    #[error("the SPS's {0} is out of range")]
    OutOfRange(&'static str),
}

/// Largest frame in macroblocks H.264 allows (level 6.2's MaxFS).
const MAX_FRAME_MBS: u64 = 139_264;

/// Reads an SPS NAL unit, its one-byte NAL header included.
pub(crate) fn parse(nal: &[u8]) -> Result<Sps, SpsError> {
    let (&header, body) = nal.split_first().ok_or(SpsError::Truncated("NAL header"))?;
    if header & 0x1f != 7 {
        return Err(SpsError::NotSps(header & 0x1f));
    }
    let rbsp = unescape(body);
    let mut r = Bits::new(&rbsp);
    let profile_idc = r.bits(8, "profile_idc")? as u8;
    let constraints = r.bits(8, "constraint flags")? as u8;
    let level_idc = r.bits(8, "level_idc")? as u8;
    let id = r.ue("seq_parameter_set_id")?;
    if id > 31 {
        return Err(SpsError::OutOfRange("seq_parameter_set_id"));
    }
    let mut chroma_format_idc = 1;
    let mut separate_colour_plane = false;
    if matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format_idc = r.ue("chroma_format_idc")?;
        if chroma_format_idc > 3 {
            return Err(SpsError::OutOfRange("chroma_format_idc"));
        }
        if chroma_format_idc == 3 {
            separate_colour_plane = r.flag("separate_colour_plane_flag")?;
        }
        if r.ue("bit_depth_luma_minus8")? > 6 {
            return Err(SpsError::OutOfRange("bit_depth_luma_minus8"));
        }
        if r.ue("bit_depth_chroma_minus8")? > 6 {
            return Err(SpsError::OutOfRange("bit_depth_chroma_minus8"));
        }
        r.flag("qpprime_y_zero_transform_bypass_flag")?;
        if r.flag("seq_scaling_matrix_present_flag")? {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.flag("seq_scaling_list_present_flag")? {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    if r.ue("log2_max_frame_num_minus4")? > 12 {
        return Err(SpsError::OutOfRange("log2_max_frame_num_minus4"));
    }
    match r.ue("pic_order_cnt_type")? {
        0 => {
            if r.ue("log2_max_pic_order_cnt_lsb_minus4")? > 12 {
                return Err(SpsError::OutOfRange("log2_max_pic_order_cnt_lsb_minus4"));
            }
        }
        1 => {
            r.flag("delta_pic_order_always_zero_flag")?;
            r.se("offset_for_non_ref_pic")?;
            r.se("offset_for_top_to_bottom_field")?;
            let cycle = r.ue("num_ref_frames_in_pic_order_cnt_cycle")?;
            if cycle > 255 {
                return Err(SpsError::OutOfRange(
                    "num_ref_frames_in_pic_order_cnt_cycle",
                ));
            }
            for _ in 0..cycle {
                r.se("offset_for_ref_frame")?;
            }
        }
        2 => {}
        _ => return Err(SpsError::OutOfRange("pic_order_cnt_type")),
    }
    r.ue("max_num_ref_frames")?;
    r.flag("gaps_in_frame_num_value_allowed_flag")?;
    let width_mbs = u64::from(r.ue("pic_width_in_mbs_minus1")?) + 1;
    let height_map_units = u64::from(r.ue("pic_height_in_map_units_minus1")?) + 1;
    let frame_mbs_only = r.flag("frame_mbs_only_flag")?;
    if !frame_mbs_only {
        r.flag("mb_adaptive_frame_field_flag")?;
    }
    r.flag("direct_8x8_inference_flag")?;
    let field_factor = if frame_mbs_only { 1 } else { 2 };
    let height_mbs = height_map_units * field_factor;
    if width_mbs * height_mbs > MAX_FRAME_MBS {
        return Err(SpsError::OutOfRange("picture size"));
    }
    let mut width = width_mbs * 16;
    let mut height = height_mbs * 16;
    if r.flag("frame_cropping_flag")? {
        let (left, right, top, bottom) = (
            u64::from(r.ue("frame_crop_left_offset")?),
            u64::from(r.ue("frame_crop_right_offset")?),
            u64::from(r.ue("frame_crop_top_offset")?),
            u64::from(r.ue("frame_crop_bottom_offset")?),
        );
        // §7.4.2.1.1: CropUnitX and CropUnitY by ChromaArrayType.
        let chroma_array_type = if separate_colour_plane {
            0
        } else {
            chroma_format_idc
        };
        let (unit_x, unit_y) = match chroma_array_type {
            0 => (1, field_factor),
            1 => (2, 2 * field_factor),
            2 => (2, field_factor),
            _ => (1, field_factor),
        };
        let crop_x = (left + right) * unit_x;
        let crop_y = (top + bottom) * unit_y;
        if crop_x >= width || crop_y >= height {
            return Err(SpsError::OutOfRange("frame cropping"));
        }
        width -= crop_x;
        height -= crop_y;
    }
    Ok(Sps {
        profile_idc,
        constraints,
        level_idc,
        // Both below 139,264 × 16 by the check above.
        width: width as u32,
        height: height as u32,
    })
}

/// Skips a scaling list (§7.3.2.1.1.1): `size` deltas, stopping early when one makes the next
/// scale 0.
fn skip_scaling_list(r: &mut Bits<'_>, size: usize) -> Result<(), SpsError> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            let delta = i64::from(r.se("delta_scale")?);
            if !(-128..=127).contains(&delta) {
                return Err(SpsError::OutOfRange("delta_scale"));
            }
            next = (last + delta + 256) % 256;
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// The RBSP of a NAL unit's payload: every emulation prevention byte (`00 00 03`) removed.
pub(crate) fn unescape(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len());
    let mut zeros = 0;
    for &b in payload {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// A big-endian bit reader over an RBSP.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits { data, pos: 0 }
    }

    fn bit(&mut self, what: &'static str) -> Result<u32, SpsError> {
        let byte = self
            .data
            .get(self.pos / 8)
            .ok_or(SpsError::Truncated(what))?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(bit))
    }

    fn flag(&mut self, what: &'static str) -> Result<bool, SpsError> {
        Ok(self.bit(what)? == 1)
    }

    fn bits(&mut self, n: u32, what: &'static str) -> Result<u32, SpsError> {
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | self.bit(what)?;
        }
        Ok(v)
    }

    /// An unsigned exp-Golomb code (§9.1): at most 31 leading zeros, so the value fits a u32.
    fn ue(&mut self, what: &'static str) -> Result<u32, SpsError> {
        let mut zeros = 0;
        while self.bit(what)? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(SpsError::OutOfRange(what));
            }
        }
        let rest = self.bits(zeros, what)?;
        // 2^zeros - 1 + rest, at most 2^32 - 2 when zeros is 31.
        Ok(((1u64 << zeros) - 1 + u64::from(rest)) as u32)
    }

    /// A signed exp-Golomb code (§9.1.1).
    fn se(&mut self, what: &'static str) -> Result<i32, SpsError> {
        let k = i64::from(self.ue(what)?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        Ok(v as i32)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A bit writer for building SPSs in tests.
    #[derive(Default)]
    pub(crate) struct Writer {
        bytes: Vec<u8>,
        n: usize,
    }

    impl Writer {
        pub fn bit(&mut self, b: bool) -> &mut Self {
            if self.n.is_multiple_of(8) {
                self.bytes.push(0);
            }
            if b {
                let last = self.bytes.len() - 1;
                self.bytes[last] |= 1 << (7 - self.n % 8);
            }
            self.n += 1;
            self
        }
        pub fn bits(&mut self, v: u32, n: u32) -> &mut Self {
            for i in (0..n).rev() {
                self.bit((v >> i) & 1 == 1);
            }
            self
        }
        pub fn ue(&mut self, v: u32) -> &mut Self {
            let x = u64::from(v) + 1;
            let len = 64 - x.leading_zeros();
            for _ in 0..len - 1 {
                self.bit(false);
            }
            for i in (0..len).rev() {
                self.bit((x >> i) & 1 == 1);
            }
            self
        }
        pub fn se(&mut self, v: i32) -> &mut Self {
            let k = if v > 0 {
                2 * v as u32 - 1
            } else {
                (-2 * i64::from(v)) as u32
            };
            self.ue(k)
        }
        /// The bytes, with the stop bit, and emulation prevention bytes inserted.
        pub fn finish(&mut self) -> Vec<u8> {
            self.bit(true);
            let mut out = Vec::new();
            let mut zeros = 0;
            for &b in &self.bytes {
                if zeros >= 2 && b <= 3 {
                    out.push(3);
                    zeros = 0;
                }
                zeros = if b == 0 { zeros + 1 } else { 0 };
                out.push(b);
            }
            out
        }
    }

    /// An SPS NAL unit of a 4:2:0 progressive picture `w`×`h` (cropped to it from macroblocks).
    pub(crate) fn sps(profile: u8, level: u8, w: u32, h: u32) -> Vec<u8> {
        let mut wr = Writer::default();
        wr.bits(u32::from(profile), 8)
            .bits(0, 8)
            .bits(u32::from(level), 8)
            .ue(0);
        if profile == 100 {
            wr.ue(1).ue(0).ue(0).bit(false).bit(false);
        }
        wr.ue(0).ue(0).ue(4).ue(1).bit(false);
        let (wm, hm) = (w.div_ceil(16), h.div_ceil(16));
        wr.ue(wm - 1).ue(hm - 1).bit(true).bit(true);
        let (cx, cy) = (wm * 16 - w, hm * 16 - h);
        if cx > 0 || cy > 0 {
            wr.bit(true).ue(0).ue(cx / 2).ue(0).ue(cy / 2);
        } else {
            wr.bit(false);
        }
        wr.bit(false); // vui_parameters_present_flag
        let mut nal = vec![0x67];
        nal.extend(wr.finish());
        nal
    }

    /// The SPS ffmpeg's libx264 (`-preset ultrafast`) wrote for a 640×360 stream: Constrained
    /// Baseline, level 3.0, cropped from 368 lines, with emulation prevention bytes.
    const X264_640X360: [u8; 25] = [
        0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00,
        0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x58, 0xba, 0x80,
    ];

    #[test]
    fn reads_a_real_x264_sps() {
        let sps = parse(&X264_640X360).unwrap();
        assert_eq!((sps.width, sps.height), (640, 360));
        assert_eq!(sps.codec(), "avc1.42C01E");
        assert_eq!(sps.profile_name(), "Baseline");
        assert_eq!(sps.level_name(), "3.0");
    }

    #[test]
    fn refuses_what_is_not_an_sps() {
        assert_eq!(parse(&[]), Err(SpsError::Truncated("NAL header")));
        assert_eq!(parse(&[0x68, 1, 2]), Err(SpsError::NotSps(8)));
        assert_eq!(
            parse(&[0x67, 0x64]),
            Err(SpsError::Truncated("constraint flags"))
        );
        // 40 zero bits where an exp-Golomb code starts: longer than any 32-bit value.
        assert_eq!(
            parse(&[0x67, 0x42, 0, 0x1e, 0, 0, 0, 0, 0, 0]),
            Err(SpsError::OutOfRange("seq_parameter_set_id"))
        );
    }

    #[test]
    fn unescape_drops_emulation_prevention_bytes() {
        assert_eq!(
            unescape(&[0, 0, 3, 1, 0, 0, 3, 0, 3]),
            vec![0, 0, 1, 0, 0, 0, 3]
        );
    }

    proptest! {
        /// Any picture size written into an SPS reads back, in Baseline and High.
        #[test]
        fn sizes_round_trip(w in 2u32..=4096, h in 2u32..=2304, high in any::<bool>(), level in 10u8..=52) {
            let (w, h) = (w & !1, h & !1);
            let profile = if high { 100 } else { 66 };
            let sps = parse(&sps(profile, level, w, h)).unwrap();
            prop_assert_eq!((sps.width, sps.height), (w, h));
            prop_assert_eq!(sps.profile_idc, profile);
            prop_assert_eq!(sps.level_idc, level);
        }

        /// Exp-Golomb codes read back what was written.
        #[test]
        fn exp_golomb_round_trips(values in proptest::collection::vec(any::<u32>().prop_map(|v| v % (u32::MAX - 1)), 1..20), signed in proptest::collection::vec(-100_000i32..100_000, 1..20)) {
            let mut w = Writer::default();
            for v in &values { w.ue(*v); }
            for v in &signed { w.se(*v); }
            let bytes = { w.bit(true); w.bytes.clone() };
            let mut r = Bits::new(&bytes);
            for v in &values { prop_assert_eq!(r.ue("v").unwrap(), *v); }
            for v in &signed { prop_assert_eq!(r.se("v").unwrap(), *v); }
        }

        /// Any bytes: an answer or an error, never a panic, and a size within H.264's bounds.
        #[test]
        fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some(first) = bytes.first_mut() { *first = 0x67; }
            if let Ok(sps) = parse(&bytes) {
                prop_assert!(u64::from(sps.width) * u64::from(sps.height) <= MAX_FRAME_MBS * 256);
            }
        }
    }
}
