//! Fragmented MP4 for live streams (ISO/IEC 14496-12 §8.8, as Media Source Extensions read
//! it): an init segment (`ftyp` + `moov` with an empty sample table and `mvex`), then one
//! `moof` + `mdat` per frame. A parameter change is a new init segment in the same stream.

use super::TIMESCALE;
use super::boxes::BoxBuf;
use super::moov::{sample_entry, video_handler, video_media_header};
use super::track::SampleEntry;

/// `sample_flags` of a key frame: depends on no other sample.
const KEY_FLAGS: u32 = 0x0200_0000;
/// `sample_flags` of other frames: depends on others, not a sync sample.
const DELTA_FLAGS: u32 = 0x0101_0000;
/// Bytes of a fragment before the frame: `moof` (8 + `mfhd` 16 + `traf` 8 + `tfhd` 16 +
/// `tfdt` 20 + `trun` 32) and the `mdat` header.
pub const FRAGMENT_HEADER: usize = 8 + 16 + 8 + 16 + 20 + 32 + 8;

/// The init segment of a live stream of one video track described by `entry`.
pub fn init_segment(entry: &SampleEntry) -> Vec<u8> {
    let mut b = BoxBuf::default();
    let ftyp = b.start(b"ftyp");
    b.bytes(b"iso5");
    b.u32(0x200);
    b.bytes(b"iso5iso6mp41");
    b.end(ftyp);

    let moov = b.start(b"moov");
    let mvhd = b.start_full(b"mvhd", 0, 0);
    b.zeros(8); // created, modified
    b.u32(TIMESCALE);
    b.u32(0); // duration: unknown
    b.u32(0x0001_0000);
    b.u16(0x0100);
    b.zeros(10);
    b.unity_matrix();
    b.zeros(24);
    b.u32(2);
    b.end(mvhd);

    let trak = b.start(b"trak");
    let tkhd = b.start_full(b"tkhd", 0, 3);
    b.zeros(8);
    b.u32(1); // track id
    b.u32(0);
    b.u32(0); // duration
    b.zeros(8);
    b.zeros(8); // layer, alternate group, volume, reserved
    b.unity_matrix();
    b.u32(u32::from(entry.width) << 16);
    b.u32(u32::from(entry.height) << 16);
    b.end(tkhd);
    let mdia = b.start(b"mdia");
    let mdhd = b.start_full(b"mdhd", 0, 0);
    b.zeros(8);
    b.u32(TIMESCALE);
    b.u32(0);
    b.u16(0x55c4); // "und"
    b.u16(0);
    b.end(mdhd);
    video_handler(&mut b);
    let minf = b.start(b"minf");
    video_media_header(&mut b);
    let stbl = b.start(b"stbl");
    let stsd = b.start_full(b"stsd", 0, 0);
    b.u32(1);
    sample_entry(&mut b, entry);
    b.end(stsd);
    for empty in [b"stts", b"stsc", b"stco"] {
        let at = b.start_full(empty, 0, 0);
        b.u32(0);
        b.end(at);
    }
    let stsz = b.start_full(b"stsz", 0, 0);
    b.u32(0);
    b.u32(0);
    b.end(stsz);
    b.end(stbl);
    b.end(minf);
    b.end(mdia);
    b.end(trak);

    let mvex = b.start(b"mvex");
    let trex = b.start_full(b"trex", 0, 0);
    b.u32(1); // track id
    b.u32(1); // sample description
    b.zeros(12); // default duration, size, flags
    b.end(trex);
    b.end(mvex);
    b.end(moov);
    b.buf
}

/// Writes into `out` (cleared first) the fragment of one frame: sequence number `seq`,
/// decode time `decode_time` and `duration` in 90 kHz ticks, then the frame's bytes (NAL
/// units with 4-byte lengths).
pub fn fragment(
    out: &mut Vec<u8>,
    seq: u32,
    decode_time: u64,
    duration: u32,
    key: bool,
    frame: &[u8],
) {
    out.clear();
    out.reserve(FRAGMENT_HEADER + frame.len());
    let mut b = BoxBuf {
        buf: std::mem::take(out),
    };
    let moof = b.start(b"moof");
    let mfhd = b.start_full(b"mfhd", 0, 0);
    b.u32(seq);
    b.end(mfhd);
    let traf = b.start(b"traf");
    let tfhd = b.start_full(b"tfhd", 0, 0x02_0000); // default-base-is-moof
    b.u32(1);
    b.end(tfhd);
    let tfdt = b.start_full(b"tfdt", 1, 0);
    b.u64(decode_time);
    b.end(tfdt);
    // data offset, first sample flags, sample duration, sample size.
    let trun = b.start_full(b"trun", 0, 0x0001 | 0x0004 | 0x0100 | 0x0200);
    b.u32(1);
    b.u32(FRAGMENT_HEADER as u32); // from the moof's start to the frame
    b.u32(if key { KEY_FLAGS } else { DELTA_FLAGS });
    b.u32(duration);
    b.u32(frame.len() as u32);
    b.end(trun);
    b.end(traf);
    b.end(moof);
    b.u32((frame.len() + 8) as u32);
    b.bytes(b"mdat");
    debug_assert_eq!(b.buf.len(), FRAGMENT_HEADER);
    b.bytes(frame);
    *out = b.buf;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> SampleEntry {
        SampleEntry {
            fourcc: *b"avc1",
            width: 320,
            height: 240,
            config: vec![1, 0x4d, 0, 0x1e, 0xff, 0xe0, 0],
        }
    }

    /// Top-level boxes of `b`: (type, length).
    fn boxes(mut b: &[u8]) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        while b.len() >= 8 {
            let len = u32::from_be_bytes(b[..4].try_into().unwrap()) as usize;
            out.push((String::from_utf8_lossy(&b[4..8]).into_owned(), len));
            b = &b[len..];
        }
        assert!(b.is_empty(), "trailing bytes");
        out
    }

    #[test]
    fn init_segment_is_ftyp_then_moov_with_mvex() {
        let init = init_segment(&entry());
        let top = boxes(&init);
        assert_eq!(
            top.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(),
            ["ftyp", "moov"]
        );
        let text = String::from_utf8_lossy(&init);
        for t in [
            "mvhd", "tkhd", "mdhd", "hdlr", "stsd", "avc1", "avcC", "mvex", "trex",
        ] {
            assert!(text.contains(t), "{t} missing");
        }
    }

    #[test]
    fn fragment_points_at_its_frame() {
        let frame = [0, 0, 0, 2, 0x65, 0x88];
        let mut out = Vec::new();
        fragment(&mut out, 7, 90_000 * 3600 * 20, 3000, true, &frame);
        let top = boxes(&out);
        assert_eq!(top[0].0, "moof");
        assert_eq!(top[1], ("mdat".to_owned(), 8 + frame.len()));
        assert_eq!(&out[FRAGMENT_HEADER..], &frame);
        // The trun's data offset lands on the frame.
        let trun = out.windows(4).position(|w| w == b"trun").unwrap() - 4;
        let offset = u32::from_be_bytes(out[trun + 16..trun + 20].try_into().unwrap());
        assert_eq!(offset as usize, FRAGMENT_HEADER);
        let flags = u32::from_be_bytes(out[trun + 20..trun + 24].try_into().unwrap());
        assert_eq!(flags, KEY_FLAGS);
    }
}
