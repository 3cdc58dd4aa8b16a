//! H.264 access units as pinvr stores them (ISO/IEC 14496-10 NAL units, each behind a 4-byte
//! big-endian length, as in ISO/IEC 14496-15 `avc1` samples): iteration, NAL types, the
//! decoder configuration (SPS/PPS) and the `avcC` record built from it.

use crate::error::{Error, Result};

/// NAL unit type of a coded slice of an IDR picture.
pub const NAL_IDR: u8 = 5;
/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_PPS: u8 = 8;
/// NAL unit type of an access unit delimiter.
pub const NAL_AUD: u8 = 9;

/// The `nal_unit_type` of a NAL unit (low five bits of its first byte).
pub fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1f)
}

/// Iterator over the NAL units of a length-prefixed access unit; yields an error (once) if
/// a length runs past the end, so a damaged record can never cause an out-of-bounds read.
pub struct Nals<'a> {
    /// The bytes not yet consumed.
    rest: &'a [u8],
}

/// Iterates the NAL units of `data` (4-byte big-endian length prefixes).
pub fn nals(data: &[u8]) -> Nals<'_> {
    Nals { rest: data }
}

impl<'a> Iterator for Nals<'a> {
    type Item = Result<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = std::mem::take(&mut self.rest);
        if rest.len() < 4 {
            return Some(Err(Error::corrupt(format!(
                "{} stray bytes where a NAL length was expected",
                rest.len()
            ))));
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len == 0 || len > rest.len() - 4 {
            return Some(Err(Error::corrupt(format!(
                "NAL length {len} with {} bytes left",
                rest.len() - 4
            ))));
        }
        self.rest = &rest[4 + len..];
        Some(Ok(&rest[4..4 + len]))
    }
}

/// Checks that `data` is a well-formed sequence of length-prefixed NAL units.
pub fn validate(data: &[u8]) -> Result<()> {
    if data.is_empty() {
        return Err(Error::corrupt("empty access unit"));
    }
    nals(data).try_for_each(|n| n.map(|_| ()))
}

/// True for NAL units that are not picture data and are kept out of MP4 samples: parameter
/// sets (they live in `avcC`) and access unit delimiters.
pub fn is_out_of_band(nal_type: u8) -> bool {
    matches!(nal_type, NAL_SPS | NAL_PPS | NAL_AUD)
}

/// True if the access unit holds only SPS/PPS (a decoder-configuration record).
pub fn is_parameters_only(data: &[u8]) -> bool {
    let mut any = false;
    for nal in nals(data) {
        match nal.map(nal_type) {
            Ok(NAL_SPS | NAL_PPS) => any = true,
            _ => return false,
        }
    }
    any
}

/// True if the access unit holds an IDR slice (a key frame).
pub fn is_key(data: &[u8]) -> bool {
    nals(data).any(|n| n.is_ok_and(|n| nal_type(n) == NAL_IDR))
}

/// What the SPS says about the picture.
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
    if sps.len() < 4 || nal_type(sps) != NAL_SPS {
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

/// A decoder configuration: the SPS and PPS NAL units that precede the pictures using them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parameters {
    /// Sequence parameter sets, in arrival order (usually one).
    pub sps: Vec<Vec<u8>>,
    /// Picture parameter sets, in arrival order (usually one).
    pub pps: Vec<Vec<u8>>,
}

impl Parameters {
    /// Collects the SPS/PPS NAL units of a length-prefixed access unit.
    pub fn from_access_unit(data: &[u8]) -> Result<Parameters> {
        let mut p = Parameters::default();
        for nal in nals(data) {
            let nal = nal?;
            match nal_type(nal) {
                NAL_SPS if !p.sps.iter().any(|s| s == nal) => p.sps.push(nal.to_vec()),
                NAL_PPS if !p.pps.iter().any(|s| s == nal) => p.pps.push(nal.to_vec()),
                _ => {}
            }
        }
        Ok(p)
    }

    /// True when there is at least one SPS and one PPS.
    pub fn is_complete(&self) -> bool {
        !self.sps.is_empty() && !self.pps.is_empty()
    }

    /// The parameters as one length-prefixed access unit (the chunk's configuration record).
    pub fn to_access_unit(&self) -> Vec<u8> {
        let nals: Vec<&[u8]> = self
            .sps
            .iter()
            .chain(&self.pps)
            .map(Vec::as_slice)
            .collect();
        access_unit(&nals)
    }

    /// The SPS/PPS as Annex B (start codes), for decoders such as openh264.
    pub fn to_annex_b(&self, out: &mut Vec<u8>) {
        for nal in self.sps.iter().chain(&self.pps) {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
        }
    }

    /// Parses the first SPS.
    pub fn sps_info(&self) -> Result<SpsInfo> {
        parse_sps(self.sps.first().ok_or_else(|| Error::corrupt("no SPS"))?)
    }

    /// The `AVCDecoderConfigurationRecord` (ISO/IEC 14496-15 5.3.3.1) for an `avcC` box.
    pub fn avc_decoder_config(&self, info: &SpsInfo) -> Result<Vec<u8>> {
        let sps = self.sps.first().ok_or_else(|| Error::corrupt("no SPS"))?;
        if self.sps.len() > 31 || self.pps.len() > 255 {
            return Err(Error::corrupt("too many parameter sets"));
        }
        let mut out = vec![1, sps[1], sps[2], sps[3], 0xff, 0xe0 | self.sps.len() as u8];
        for s in &self.sps {
            out.extend_from_slice(&(s.len() as u16).to_be_bytes());
            out.extend_from_slice(s);
        }
        out.push(self.pps.len() as u8);
        for p in &self.pps {
            out.extend_from_slice(&(p.len() as u16).to_be_bytes());
            out.extend_from_slice(p);
        }
        if matches!(sps[1], 100 | 110 | 122 | 144) {
            out.push(0xfc | info.chroma_format_idc as u8);
            out.push(0xf8 | info.bit_depth_luma_minus8);
            out.push(0xf8 | info.bit_depth_chroma_minus8);
            out.push(0);
        }
        Ok(out)
    }
}

/// Builds a length-prefixed access unit from NAL units.
pub fn access_unit(nals: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for nal in nals {
        out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        out.extend_from_slice(nal);
    }
    out
}

/// Appends the picture NAL units of an access unit (without SPS/PPS/AUD) in Annex B form.
pub fn append_annex_b(data: &[u8], out: &mut Vec<u8>) -> Result<()> {
    for nal in nals(data) {
        let nal = nal?;
        if !is_out_of_band(nal_type(nal)) {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use access_unit as au;

    #[test]
    fn iterates_and_rejects_bad_lengths() {
        let data = au(&[&[0x67, 1, 2], &[0x68, 3], &[0x65, 9, 9]]);
        let v: Vec<_> = nals(&data).map(|n| n.unwrap().to_vec()).collect();
        assert_eq!(v.len(), 3);
        assert!(is_key(&data));
        assert!(!is_parameters_only(&data));
        assert!(is_parameters_only(&au(&[&[0x67, 1], &[0x68, 2]])));
        let mut bad = data.clone();
        bad[3] = 200;
        assert!(validate(&bad).is_err());
        assert!(validate(&data[..data.len() - 1]).is_err());
        assert!(validate(&[0, 0, 0]).is_err());
        assert!(validate(&[0, 0, 0, 0]).is_err());
    }
}
