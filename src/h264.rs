//! H.264 (ISO/IEC 14496-10) specifics: NAL unit types, what the SPS says about the
//! picture, and the `avcC` record (ISO/IEC 14496-15 5.3.3.1) built from SPS/PPS and read
//! back.

use crate::error::{Error, Result};

/// NAL unit type of a coded slice of an IDR picture.
pub const NAL_IDR: u8 = 5;
/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_PPS: u8 = 8;
/// NAL unit type of an access unit delimiter.
pub const NAL_AUD: u8 = 9;

/// What an SPS says about the picture (H.264 or H.265).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpsInfo {
    /// Width in pixels after cropping.
    pub width: u32,
    /// Height in pixels after cropping.
    pub height: u32,
    /// `chroma_format_idc`: 1 is 4:2:0, the only format openh264 decodes.
    pub chroma_format_idc: u32,
    /// `bit_depth_luma_minus8`.
    pub bit_depth_luma_minus8: u8,
    /// `bit_depth_chroma_minus8`.
    pub bit_depth_chroma_minus8: u8,
}

/// Parses an SPS NAL unit (with its header byte).
pub fn parse_sps(sps: &[u8]) -> Result<SpsInfo> {
    use h264_reader::nal::sps::SeqParameterSet;
    if sps.len() < 4 || sps[0] & 0x1f != NAL_SPS {
        return Err(Error::corrupt("SPS too short or of the wrong NAL type"));
    }
    let rbsp =
        h264_reader::rbsp::decode_nal(sps).map_err(|e| Error::corrupt(format!("SPS: {e}")))?;
    let parsed = SeqParameterSet::from_bits(h264_reader::rbsp::BitReader::new(&rbsp[..]))
        .map_err(|e| Error::corrupt(format!("SPS: {e:?}")))?;
    let (width, height) = parsed
        .pixel_dimensions()
        .map_err(|e| Error::corrupt(format!("SPS dimensions: {e:?}")))?;
    let ci = &parsed.chroma_info;
    Ok(SpsInfo {
        width,
        height,
        chroma_format_idc: chroma_idc(&ci.chroma_format),
        bit_depth_luma_minus8: ci.bit_depth_luma_minus8,
        bit_depth_chroma_minus8: ci.bit_depth_chroma_minus8,
    })
}

fn chroma_idc(f: &h264_reader::nal::sps::ChromaFormat) -> u32 {
    use h264_reader::nal::sps::ChromaFormat;
    match f {
        ChromaFormat::Monochrome => 0,
        ChromaFormat::YUV420 => 1,
        ChromaFormat::YUV422 => 2,
        ChromaFormat::YUV444 => 3,
        ChromaFormat::Invalid(v) => *v,
    }
}

/// The `AVCDecoderConfigurationRecord` (the body of `avcC`) of these parameter sets.
pub fn avc_config(sps: &[Vec<u8>], pps: &[Vec<u8>], info: &SpsInfo) -> Result<Vec<u8>> {
    let first = sps.first().ok_or_else(|| Error::corrupt("no SPS"))?;
    if sps.len() > 31 || pps.len() > 255 || first.len() < 4 {
        return Err(Error::corrupt("too many parameter sets, or a short SPS"));
    }
    let mut out = vec![
        1,
        first[1],
        first[2],
        first[3],
        0xff,
        0xe0 | sps.len() as u8,
    ];
    for s in sps {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s);
    }
    out.push(pps.len() as u8);
    for p in pps {
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    if matches!(first[1], 100 | 110 | 122 | 144) {
        out.push(0xfc | info.chroma_format_idc as u8);
        out.push(0xf8 | info.bit_depth_luma_minus8);
        out.push(0xf8 | info.bit_depth_chroma_minus8);
        out.push(0);
    }
    Ok(out)
}

/// NAL units of one kind, in order.
pub type NalList = Vec<Vec<u8>>;

/// The SPS and PPS lists of an `AVCDecoderConfigurationRecord`.
pub fn parse_avc_config(avcc: &[u8]) -> Result<(NalList, NalList)> {
    let mut at = 5usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let s = avcc
            .get(at..at + n)
            .ok_or_else(|| Error::corrupt("avcC shorter than its parameter sets"))?;
        at += n;
        Ok(s)
    };
    let mut lists = [Vec::new(), Vec::new()];
    for (i, list) in lists.iter_mut().enumerate() {
        let mask = if i == 0 { 0x1f } else { 0xff };
        let n = take(1)?[0] & mask;
        for _ in 0..n {
            let len = take(2)?;
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            list.push(take(len)?.to_vec());
        }
    }
    let [sps, pps] = lists;
    Ok((sps, pps))
}

/// The RFC 6381 codec string of an `avcC` record under sample entry `fourcc`
/// (`avc1.PPCCLL`: profile, constraints, level).
pub fn codec_string(fourcc: &str, avcc: &[u8]) -> String {
    match avcc.get(1..4) {
        Some(p) => format!("{fourcc}.{:02x}{:02x}{:02x}", p[0], p[1], p[2]),
        None => fourcc.to_owned(),
    }
}
