//! H.265 (ITU-T H.265) specifics: what the SPS says about the picture (the few fields an
//! MP4 needs, parsed here rather than through retina's hidden H.265 module, which is not
//! part of its public API), the `hvcC` record (ISO/IEC 14496-15 8.3.3) and the RFC 6381
//! codec string (ISO/IEC 14496-15 annex E).

use crate::error::{Error, Result};
use crate::h264::SpsInfo;
use h264_reader::rbsp::{BitRead, BitReader};

/// NAL unit types of the parameter sets, in `hvcC`'s order.
const VPS: u8 = 32;
const SPS: u8 = 33;
const PPS: u8 = 34;

/// What `hvcC` needs of an SPS besides the picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sps {
    /// Size, chroma format and bit depths.
    pub info: SpsInfo,
    /// `general_profile_space` .. `general_level_idc`: the 12 bytes of the general
    /// profile, tier and level, as they are in the SPS and in `hvcC`.
    pub ptl: [u8; 12],
    /// `sps_max_sub_layers_minus1 + 1`.
    pub sub_layers: u8,
    /// `sps_temporal_id_nesting_flag`.
    pub temporal_id_nested: bool,
}

/// The RBSP of a NAL unit: its payload after the 2-byte header, without emulation
/// prevention bytes (a 3 after two zeros).
fn rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal.iter().skip(2) {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

fn bad(e: impl std::fmt::Debug) -> Error {
    Error::corrupt(format!("H.265 SPS: {e:?}"))
}

/// Parses an H.265 SPS NAL unit (with its 2-byte header).
pub fn parse_sps(nal: &[u8]) -> Result<Sps> {
    if nal.len() < 16 || (nal[0] >> 1) & 0x3f != SPS {
        return Err(Error::corrupt(
            "H.265 SPS too short or of the wrong NAL type",
        ));
    }
    let data = rbsp(nal);
    let mut r = BitReader::new(&data[..]);
    r.skip(4, "sps_video_parameter_set_id").map_err(bad)?;
    let max_sub_layers_minus1: u8 = r.read(3, "sps_max_sub_layers_minus1").map_err(bad)?;
    let temporal_id_nested = r.read_bool("sps_temporal_id_nesting_flag").map_err(bad)?;
    let mut ptl = [0u8; 12];
    for b in &mut ptl {
        *b = r.read(8, "general_profile_tier_level").map_err(bad)?;
    }
    // Sub-layer profile and level flags, then what they announce.
    let mut present = Vec::new();
    for _ in 0..max_sub_layers_minus1 {
        let profile = r.read_bool("sub_layer_profile_present_flag").map_err(bad)?;
        let level = r.read_bool("sub_layer_level_present_flag").map_err(bad)?;
        present.push((profile, level));
    }
    if max_sub_layers_minus1 > 0 {
        for _ in max_sub_layers_minus1..8 {
            r.skip(2, "reserved_zero_2bits").map_err(bad)?;
        }
    }
    for (profile, level) in present {
        if profile {
            r.skip(88, "sub_layer_profile").map_err(bad)?;
        }
        if level {
            r.skip(8, "sub_layer_level_idc").map_err(bad)?;
        }
    }
    r.read_ue("sps_seq_parameter_set_id").map_err(bad)?;
    let chroma_format_idc = r.read_ue("chroma_format_idc").map_err(bad)?;
    if chroma_format_idc == 3 {
        r.skip(1, "separate_colour_plane_flag").map_err(bad)?;
    }
    let mut width = r.read_ue("pic_width_in_luma_samples").map_err(bad)?;
    let mut height = r.read_ue("pic_height_in_luma_samples").map_err(bad)?;
    if r.read_bool("conformance_window_flag").map_err(bad)? {
        let (sub_w, sub_h) = match chroma_format_idc {
            1 => (2, 2),
            2 => (2, 1),
            _ => (1, 1),
        };
        let mut w = [0u32; 4];
        for v in &mut w {
            *v = r.read_ue("conf_win_offset").map_err(bad)?;
        }
        let crop_w = sub_w * u64::from(w[0]) + sub_w * u64::from(w[1]);
        let crop_h = sub_h * u64::from(w[2]) + sub_h * u64::from(w[3]);
        if crop_w >= u64::from(width) || crop_h >= u64::from(height) {
            return Err(Error::corrupt(
                "H.265 SPS: cropping larger than the picture",
            ));
        }
        width -= crop_w as u32;
        height -= crop_h as u32;
    }
    let luma: u32 = r.read_ue("bit_depth_luma_minus8").map_err(bad)?;
    let chroma: u32 = r.read_ue("bit_depth_chroma_minus8").map_err(bad)?;
    if width == 0 || height == 0 || width > 16384 || height > 16384 || luma > 8 || chroma > 8 {
        return Err(Error::corrupt(format!(
            "H.265 SPS: implausible picture {width}x{height}, bit depth {}",
            luma + 8
        )));
    }
    Ok(Sps {
        info: SpsInfo {
            width,
            height,
            chroma_format_idc,
            bit_depth_luma_minus8: luma as u8,
            bit_depth_chroma_minus8: chroma as u8,
        },
        ptl,
        sub_layers: max_sub_layers_minus1 + 1,
        temporal_id_nested,
    })
}

/// The `HEVCDecoderConfigurationRecord` (the body of `hvcC`) of these parameter sets,
/// `sps` being the first SPS parsed. Length fields are 4 bytes, as in pinvr's samples.
pub fn hevc_config(vps: &[Vec<u8>], sps_nals: &[Vec<u8>], pps: &[Vec<u8>], sps: &Sps) -> Vec<u8> {
    let i = &sps.info;
    let mut out = vec![1];
    out.extend_from_slice(&sps.ptl);
    out.extend_from_slice(&[0xf0, 0x00]); // min_spatial_segmentation_idc 0
    out.push(0xfc); // parallelismType 0: unknown
    out.push(0xfc | (i.chroma_format_idc as u8 & 3));
    out.push(0xf8 | i.bit_depth_luma_minus8);
    out.push(0xf8 | i.bit_depth_chroma_minus8);
    out.extend_from_slice(&[0, 0]); // avgFrameRate: unspecified
    out.push(((sps.sub_layers & 7) << 3) | (u8::from(sps.temporal_id_nested) << 2) | 3);
    let arrays = [(VPS, vps), (SPS, sps_nals), (PPS, pps)];
    out.push(arrays.iter().filter(|(_, l)| !l.is_empty()).count() as u8);
    for (kind, list) in arrays {
        if list.is_empty() {
            continue;
        }
        out.push(0x80 | kind); // array_completeness: all of this type are here
        out.extend_from_slice(&(list.len() as u16).to_be_bytes());
        for nal in list {
            out.extend_from_slice(&(nal.len() as u16).to_be_bytes());
            out.extend_from_slice(nal);
        }
    }
    out
}

/// The VPS, SPS and PPS lists of an `HEVCDecoderConfigurationRecord`.
pub fn parse_hevc_config(hvcc: &[u8]) -> Result<[crate::h264::NalList; 3]> {
    let short = || Error::corrupt("hvcC shorter than its parameter sets");
    let mut at = 22usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let s = hvcc.get(at..at + n).ok_or_else(short)?;
        at += n;
        Ok(s)
    };
    let mut lists = [Vec::new(), Vec::new(), Vec::new()];
    let arrays = take(1)?[0];
    for _ in 0..arrays {
        let kind = take(1)?[0] & 0x3f;
        let n = take(2)?;
        let n = u16::from_be_bytes([n[0], n[1]]);
        for _ in 0..n {
            let len = take(2)?;
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            let nal = take(len)?.to_vec();
            match kind {
                VPS => lists[0].push(nal),
                SPS => lists[1].push(nal),
                PPS => lists[2].push(nal),
                _ => {}
            }
        }
    }
    Ok(lists)
}

/// The RFC 6381 codec string of an `hvcC` record under sample entry `fourcc`, e.g.
/// `hvc1.1.6.L93.B0` (profile space and idc, compatibility flags bit-reversed, tier and
/// level, constraint bytes without trailing zeros).
pub fn codec_string(fourcc: &str, hvcc: &[u8]) -> String {
    let Some(p) = hvcc.get(1..13) else {
        return fourcc.to_owned();
    };
    let space = ["", "A", "B", "C"][usize::from(p[0] >> 6)];
    let tier = if p[0] & 0x20 != 0 { 'H' } else { 'L' };
    let compat = u32::from_be_bytes([p[1], p[2], p[3], p[4]]).reverse_bits();
    let mut s = format!("{fourcc}.{space}{}.{compat:X}.{tier}{}", p[0] & 0x1f, p[11]);
    let constraints = &p[5..11];
    let keep = constraints
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i + 1);
    for b in &constraints[..keep] {
        s.push_str(&format!(".{b:X}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    // The SPS that libx265 (ffmpeg 5.1, Debian 12) writes for a 320x240 main-profile clip:
    // level 2 (60), progressive and frame-only constraint flags (0x90).
    const SPS_320X240: &[u8] = &[
        0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
        0x03, 0x00, 0x3c, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x59, 0xa4, 0x93, 0x2b, 0xc0, 0x5a,
        0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x14, 0x10,
    ];

    #[test]
    fn sps_gives_size_profile_and_codec_string() {
        let sps = parse_sps(SPS_320X240).unwrap();
        assert_eq!((sps.info.width, sps.info.height), (320, 240));
        assert_eq!(sps.info.chroma_format_idc, 1);
        assert_eq!(sps.ptl[0] & 0x1f, 1, "main profile");
        assert_eq!(sps.ptl[11], 60, "level 2");
        let vps = vec![vec![0x40, 1, 0x0c]];
        let pps = vec![vec![0x44, 1, 0xc1]];
        let hvcc = hevc_config(&vps, &[SPS_320X240.to_vec()], &pps, &sps);
        assert_eq!(codec_string("hvc1", &hvcc), "hvc1.1.6.L60.90");
        let [v, s, p] = parse_hevc_config(&hvcc).unwrap();
        assert_eq!((v, s, p), (vps, vec![SPS_320X240.to_vec()], pps));
        assert!(parse_sps(&SPS_320X240[..12]).is_err());
    }
}
