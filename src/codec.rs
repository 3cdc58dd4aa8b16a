//! The two video codecs pinvr records, H.264 and H.265, told apart by their NAL units:
//! which NAL types are parameter sets, delimiters and key frames, and which codec a
//! parameters-only record (the chunk's configuration record) belongs to.

use crate::nal::nals;

/// A video codec pinvr records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Codec {
    /// ITU-T H.264 / AVC.
    #[default]
    H264,
    /// ITU-T H.265 / HEVC.
    H265,
}

/// H.265 NAL unit types (ITU-T H.265 table 7-1).
const HEVC_VPS: u8 = 32;
const HEVC_SPS: u8 = 33;
const HEVC_PPS: u8 = 34;
const HEVC_AUD: u8 = 35;

impl Codec {
    /// The codec of an SDP `rtpmap` encoding name (`H264`, `H265`, any case).
    pub fn of_encoding(name: &str) -> Option<Codec> {
        match name.to_ascii_lowercase().as_str() {
            "h264" => Some(Codec::H264),
            "h265" => Some(Codec::H265),
            _ => None,
        }
    }

    /// "H.264" or "H.265", as people write it.
    pub fn name(self) -> &'static str {
        match self {
            Codec::H264 => "H.264",
            Codec::H265 => "H.265",
        }
    }

    /// The `nal_unit_type` of a NAL unit (H.264: low five bits of its first byte; H.265:
    /// bits 1 to 6 of its first byte).
    pub fn nal_type(self, nal: &[u8]) -> u8 {
        let b = nal.first().copied().unwrap_or(0);
        match self {
            Codec::H264 => b & 0x1f,
            Codec::H265 => (b >> 1) & 0x3f,
        }
    }

    /// True for a parameter set: SPS/PPS (H.264), VPS/SPS/PPS (H.265).
    pub fn is_parameter_set(self, nal_type: u8) -> bool {
        match self {
            Codec::H264 => matches!(nal_type, crate::h264::NAL_SPS | crate::h264::NAL_PPS),
            Codec::H265 => matches!(nal_type, HEVC_VPS | HEVC_SPS | HEVC_PPS),
        }
    }

    /// True for NAL units that are not picture data and are kept out of out-of-band MP4
    /// samples: parameter sets (they live in the sample description) and delimiters.
    pub fn is_out_of_band(self, nal_type: u8) -> bool {
        self.is_parameter_set(nal_type)
            || match self {
                Codec::H264 => nal_type == crate::h264::NAL_AUD,
                Codec::H265 => nal_type == HEVC_AUD,
            }
    }

    /// True for the NAL unit of a random access point: an IDR slice (H.264), an IRAP
    /// picture (H.265: BLA, IDR or CRA, types 16 to 21).
    pub fn is_key_nal(self, nal_type: u8) -> bool {
        match self {
            Codec::H264 => nal_type == crate::h264::NAL_IDR,
            Codec::H265 => (16..=21).contains(&nal_type),
        }
    }

    /// True if the access unit is a key frame.
    pub fn is_key(self, data: &[u8]) -> bool {
        nals(data).any(|n| n.is_ok_and(|n| self.is_key_nal(self.nal_type(n))))
    }

    /// True if the access unit holds only parameter sets (a decoder-configuration record).
    pub fn is_parameters_only(self, data: &[u8]) -> bool {
        let mut any = false;
        for nal in nals(data) {
            match nal {
                Ok(n) if self.is_parameter_set(self.nal_type(n)) => any = true,
                _ => return false,
            }
        }
        any
    }

    /// Appends the picture NAL units of an access unit (not its parameter sets or
    /// delimiters) in Annex B form.
    pub fn append_annex_b(self, data: &[u8], out: &mut Vec<u8>) -> crate::error::Result<()> {
        for nal in nals(data) {
            let nal = nal?;
            if !self.is_out_of_band(self.nal_type(nal)) {
                out.extend_from_slice(&[0, 0, 0, 1]);
                out.extend_from_slice(nal);
            }
        }
        Ok(())
    }

    /// The codec whose complete configuration record `data` is (as the recorder writes
    /// one at the start of every chunk and at every change), if it is one. The test is
    /// strict so that no frame of the other codec passes: H.264 needs an SPS and a PPS
    /// with `nal_ref_idc` set (an SPS header byte is odd, which no H.265 NAL unit of layer 0
    /// has); H.265 needs a VPS, an SPS and a PPS of layer 0, temporal id 0 (an H.264 frame
    /// is never three such NAL units).
    pub fn of_parameters(data: &[u8]) -> Option<Codec> {
        let mut seen = [[false; 3]; 2];
        let mut ok = [true; 2];
        let mut any = false;
        for nal in nals(data) {
            let Ok(n) = nal else { return None };
            any = true;
            let b = n[0];
            match b & 0x1f {
                7 | 8 if b & 0x60 != 0 && b & 0x80 == 0 => {
                    seen[0][usize::from(b & 0x1f == 8)] = true
                }
                _ => ok[0] = false,
            }
            match Codec::H265.nal_type(n) {
                t @ (HEVC_VPS | HEVC_SPS | HEVC_PPS) if b & 0x81 == 0 && n.get(1) == Some(&1) => {
                    seen[1][usize::from(t - HEVC_VPS)] = true
                }
                _ => ok[1] = false,
            }
        }
        if !any {
            None
        } else if ok[0] && seen[0][0] && seen[0][1] {
            Some(Codec::H264)
        } else if ok[1] && seen[1].iter().all(|&x| x) {
            Some(Codec::H265)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nal::access_unit as au;

    #[test]
    fn records_and_key_frames_are_told_apart() {
        let avc = au(&[&[0x67, 1, 2], &[0x68, 3]]);
        let hevc = au(&[&[0x40, 1, 9], &[0x42, 1, 9], &[0x44, 1, 9]]);
        assert_eq!(Codec::of_parameters(&avc), Some(Codec::H264));
        assert_eq!(Codec::of_parameters(&hevc), Some(Codec::H265));
        assert_eq!(Codec::of_parameters(&au(&[&[0x65, 1]])), None);
        // An H.264 P frame's slice header byte (0x41) reads as an H.265 VPS, an H.265 STSA_N
        // (0x08) as an H.264 PPS: neither is a configuration record.
        assert_eq!(Codec::of_parameters(&au(&[&[0x41, 1, 2]])), None);
        assert_eq!(Codec::of_parameters(&au(&[&[0x08, 1, 2]])), None);
        assert_eq!(Codec::of_parameters(&au(&[&[0x67, 1, 2]])), None, "no PPS");
        // IDR_W_RADL (19) and CRA (21) are key frames; TRAIL_R (1) is not.
        assert!(Codec::H265.is_key(&au(&[&[0x26, 1, 5]])));
        assert!(Codec::H265.is_key(&au(&[&[0x2a, 1, 5]])));
        assert!(!Codec::H265.is_key(&au(&[&[0x02, 1, 5]])));
        assert!(Codec::H264.is_key(&au(&[&[0x65, 1]])));
        assert!(Codec::H265.is_out_of_band(Codec::H265.nal_type(&[0x46, 1])));
    }
}
