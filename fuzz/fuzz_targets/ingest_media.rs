//! Fuzz target for what RTMP ingest parses itself: FLV audio, video and data bodies (codec ids,
//! the AVC decoder configuration record, AAC's AudioSpecificConfig, `onMetaData`), the H.264 SPS
//! (exp-Golomb), and the remuxer that cuts MPEG-TS segments from them. The input is a sequence
//! of messages (see `live::ingest::fuzz`); the target checks that nothing panics and that every
//! segment is whole TS packets, within the segment bound.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ivs_vcr::__private::fuzz_ingest(data);
});
