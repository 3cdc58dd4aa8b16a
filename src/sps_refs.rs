//! An H.264 SPS rewritten to say `max_num_ref_frames = 0`, for decoding a lone key frame:
//! openh264 sizes its picture queue from that field (`num_ref_frames + 2` pictures), and a
//! preview needs no reference, so a 1080p preview decode holds one picture (3.4 MiB) less.
//! Everything else in the SPS is kept bit for bit.

use crate::h264::NAL_SPS;

/// Profiles whose SPS carries the chroma format, bit depths and scaling matrices.
const HIGH_PROFILES: [u8; 12] = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134];

/// Reads bits of an RBSP, most significant first.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Option<u8> {
        let byte = *self.data.get(self.pos / 8)?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(b)
    }

    fn bits(&mut self, n: usize) -> Option<u32> {
        (0..n).try_fold(0u32, |v, _| Some((v << 1) | u32::from(self.bit()?)))
    }

    /// Exp-Golomb code.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some((1u32 << zeros) - 1 + self.bits(zeros)?)
    }
}

/// The SPS NAL unit `sps` (header byte first, emulation prevention in place) with
/// `max_num_ref_frames` set to 0, or None when it already is or the SPS is one this does
/// not rewrite (scaling matrices, or not an SPS): the caller then uses it as it is.
pub fn without_references(sps: &[u8]) -> Option<Vec<u8>> {
    if sps.first()? & 0x1f != NAL_SPS {
        return None;
    }
    // Without the header byte.
    let rbsp = h264_reader::rbsp::decode_nal(sps).ok()?;
    let rbsp = &rbsp[..];
    let mut r = Bits { data: rbsp, pos: 0 };
    let profile = r.bits(8)? as u8;
    r.bits(16)?; // constraint flags, level
    r.ue()?; // seq_parameter_set_id
    if HIGH_PROFILES.contains(&profile) {
        if r.ue()? == 3 {
            r.bit()?; // separate_colour_plane_flag
        }
        r.ue()?; // bit_depth_luma_minus8
        r.ue()?; // bit_depth_chroma_minus8
        r.bit()?; // qpprime_y_zero_transform_bypass_flag
        if r.bit()? == 1 {
            return None; // seq_scaling_matrix_present_flag: lists not parsed here
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bit()?; // delta_pic_order_always_zero_flag
            r.ue()?; // offset_for_non_ref_pic (se, same length)
            r.ue()?; // offset_for_top_to_bottom_field
            for _ in 0..r.ue()?.min(255) {
                r.ue()?; // offset_for_ref_frame[i]
            }
        }
        _ => {}
    }
    let from = r.pos;
    if r.ue()? == 0 {
        return None;
    }
    let to = r.pos;
    // The stop bit: the last 1 of the RBSP.
    let last = rbsp.iter().rposition(|&b| b != 0)?;
    let stop = last * 8 + 7 - rbsp[last].trailing_zeros() as usize;
    if stop < to {
        return None;
    }
    let mut out = BitWriter::default();
    let mut copy = Bits { data: rbsp, pos: 0 };
    for _ in 0..from {
        out.push(copy.bit()?);
    }
    out.push(1); // ue(0)
    copy.pos = to;
    for _ in to..stop {
        out.push(copy.bit()?);
    }
    out.push(1); // rbsp_stop_one_bit, then zeros to the byte's end
    let mut nal = vec![sps[0]];
    escape(&out.finish(), &mut nal);
    Some(nal)
}

/// Collects bits, most significant first.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    n: usize,
}

impl BitWriter {
    fn push(&mut self, b: u8) {
        if self.n.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if b != 0 {
            *self.bytes.last_mut().expect("pushed above") |= 0x80 >> (self.n % 8);
        }
        self.n += 1;
    }

    fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Appends `rbsp` to `out` with emulation prevention: a 3 after two zeros when the next
/// byte is 3 or less.
fn escape(rbsp: &[u8], out: &mut Vec<u8>) {
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use h264_reader::nal::sps::SeqParameterSet;

    fn parse(sps: &[u8]) -> SeqParameterSet {
        let rbsp = h264_reader::rbsp::decode_nal(sps).unwrap();
        SeqParameterSet::from_bits(h264_reader::rbsp::BitReader::new(&rbsp[..])).unwrap()
    }

    /// SPSs written by x264 (`ffmpeg -c:v libx264 -f h264`): main 1920x1080 with one
    /// reference, high 1280x720 with four and B-frames, baseline 640x360; each with VUI.
    const SPSS: [&[u8]; 3] = [
        &[
            0x67, 0x4d, 0x40, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00, 0x00,
            0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xa0, 0x3c, 0x60, 0xc9, 0x20,
        ],
        &[
            0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00,
            0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x02, 0x80, 0xf1, 0x83, 0x19, 0x60,
        ],
        &[
            0x67, 0x42, 0xc0, 0x16, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03,
            0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x28, 0x0f, 0x16, 0x2e, 0x48,
        ],
    ];

    #[test]
    fn only_max_num_ref_frames_changes() {
        for sps in SPSS {
            let before = parse(sps);
            assert!(before.max_num_ref_frames > 0, "{sps:02x?}");
            let after = without_references(sps).expect("rewritten");
            let after = parse(&after);
            assert_eq!(after.max_num_ref_frames, 0);
            let mut expected = format!("{before:?}");
            expected = expected.replace(
                &format!("max_num_ref_frames: {}", before.max_num_ref_frames),
                "max_num_ref_frames: 0",
            );
            assert_eq!(format!("{after:?}"), expected);
        }
    }

    #[test]
    fn an_sps_already_without_references_or_not_an_sps_is_left_alone() {
        let zero = without_references(SPSS[0]).unwrap();
        assert_eq!(without_references(&zero), None);
        assert_eq!(without_references(&[0x68, 0xce, 0x3c, 0x80]), None);
        assert_eq!(without_references(&[]), None);
        // Cut short anywhere: no panic, and either nothing or a rewrite.
        for n in 0..SPSS[1].len() {
            let _ = without_references(&SPSS[1][..n]);
        }
    }

    #[test]
    fn emulation_prevention_is_applied() {
        let mut out = Vec::new();
        escape(&[0, 0, 1, 0, 0, 0, 0, 0, 4], &mut out);
        assert_eq!(out, [0, 0, 3, 1, 0, 0, 3, 0, 0, 3, 0, 4]);
    }
}
