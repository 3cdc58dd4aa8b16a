//! A decoder configuration as pinvr carries it, for either codec (H.264: SPS and PPS;
//! H.265: VPS, SPS and PPS): collected from access units, written as the chunk's
//! configuration record or as Annex B for a decoder, and turned into an MP4 sample
//! description and back.

use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::h264::{self, SpsInfo};
use crate::h265;
use crate::mp4::SampleEntry;
use crate::nal::{access_unit, nals};

/// The parameter sets that precede the pictures using them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parameters {
    /// Which codec they configure.
    pub codec: Codec,
    /// Video parameter sets (H.265 only), in arrival order.
    pub vps: Vec<Vec<u8>>,
    /// Sequence parameter sets, in arrival order (usually one).
    pub sps: Vec<Vec<u8>>,
    /// Picture parameter sets, in arrival order (usually one).
    pub pps: Vec<Vec<u8>>,
}

impl Parameters {
    /// One H.264 SPS and PPS.
    pub fn h264(sps: Vec<u8>, pps: Vec<u8>) -> Parameters {
        Parameters {
            codec: Codec::H264,
            vps: Vec::new(),
            sps: vec![sps],
            pps: vec![pps],
        }
    }

    /// Collects the parameter sets of a length-prefixed access unit of `codec`.
    pub fn from_access_unit(codec: Codec, data: &[u8]) -> Result<Parameters> {
        let mut p = Parameters {
            codec,
            ..Parameters::default()
        };
        for nal in nals(data) {
            let nal = nal?;
            let t = codec.nal_type(nal);
            if !codec.is_parameter_set(t) {
                continue;
            }
            let list = p.list_mut(t);
            if !list.iter().any(|s| s == nal) {
                list.push(nal.to_vec());
            }
        }
        Ok(p)
    }

    fn list_mut(&mut self, nal_type: u8) -> &mut Vec<Vec<u8>> {
        match (self.codec, nal_type) {
            (Codec::H264, h264::NAL_SPS) | (Codec::H265, 33) => &mut self.sps,
            (Codec::H265, 32) => &mut self.vps,
            _ => &mut self.pps,
        }
    }

    /// True when no parameter set is here.
    pub fn is_empty(&self) -> bool {
        self.vps.is_empty() && self.sps.is_empty() && self.pps.is_empty()
    }

    /// These parameters with each kind of set that `newer` holds replaced by `newer`'s.
    pub fn updated(&self, newer: &Parameters) -> Parameters {
        let pick = |old: &Vec<Vec<u8>>, new: &Vec<Vec<u8>>| {
            if new.is_empty() {
                old.clone()
            } else {
                new.clone()
            }
        };
        Parameters {
            codec: newer.codec,
            vps: pick(&self.vps, &newer.vps),
            sps: pick(&self.sps, &newer.sps),
            pps: pick(&self.pps, &newer.pps),
        }
    }

    /// True when a decoder has all it needs (H.265 also needs a VPS).
    pub fn is_complete(&self) -> bool {
        !self.sps.is_empty()
            && !self.pps.is_empty()
            && (self.codec == Codec::H264 || !self.vps.is_empty())
    }

    fn all(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.vps.iter().chain(&self.sps).chain(&self.pps)
    }

    /// The parameters as one length-prefixed access unit (the chunk's configuration record,
    /// and what an in-band key frame sample starts with).
    pub fn to_access_unit(&self) -> Vec<u8> {
        let nals: Vec<&[u8]> = self.all().map(Vec::as_slice).collect();
        access_unit(&nals)
    }

    /// The parameter sets as Annex B (start codes), for decoders such as openh264.
    pub fn to_annex_b(&self, out: &mut Vec<u8>) {
        for nal in self.all() {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
        }
    }

    /// A decoder's input for frame `data`: these parameter sets, then the frame's picture
    /// NAL units, as Annex B.
    pub fn annex_b_of(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len() + 256);
        self.to_annex_b(&mut out);
        self.codec.append_annex_b(data, &mut out)?;
        Ok(out)
    }

    /// These parameters with every H.264 SPS asking for no reference pictures (see
    /// [`crate::sps_refs`]), for decoding a lone key frame; None when nothing changes
    /// (H.265, or SPSs already without references or not rewritten).
    pub fn without_references(&self) -> Option<Parameters> {
        if self.codec != Codec::H264 {
            return None;
        }
        let rewritten: Vec<Option<Vec<u8>>> = self
            .sps
            .iter()
            .map(|s| crate::sps_refs::without_references(s))
            .collect();
        if rewritten.iter().all(Option::is_none) {
            return None;
        }
        let sps = rewritten
            .into_iter()
            .zip(&self.sps)
            .map(|(new, old)| new.unwrap_or_else(|| old.clone()))
            .collect();
        Some(Parameters {
            sps,
            ..self.clone()
        })
    }

    /// What the first SPS says about the picture.
    pub fn sps_info(&self) -> Result<SpsInfo> {
        let sps = self.sps.first().ok_or_else(|| Error::corrupt("no SPS"))?;
        match self.codec {
            Codec::H264 => h264::parse_sps(sps),
            Codec::H265 => Ok(h265::parse_sps(sps)?.info),
        }
    }

    /// The MP4 sample description of these parameters: `avc1`/`hvc1` when every sample of
    /// the track uses them, `avc3`/`hev1` (`in_band`) when key frame samples carry their
    /// own parameter sets (a track whose parameters change).
    pub fn sample_entry(&self, in_band: bool) -> Result<SampleEntry> {
        let sps = self.sps.first().ok_or_else(|| Error::corrupt("no SPS"))?;
        let (fourcc, info, config) = match self.codec {
            Codec::H264 => {
                let info = h264::parse_sps(sps)?;
                let config = h264::avc_config(&self.sps, &self.pps, &info)?;
                (if in_band { *b"avc3" } else { *b"avc1" }, info, config)
            }
            Codec::H265 => {
                let parsed = h265::parse_sps(sps)?;
                let config = h265::hevc_config(&self.vps, &self.sps, &self.pps, &parsed);
                (
                    if in_band { *b"hev1" } else { *b"hvc1" },
                    parsed.info,
                    config,
                )
            }
        };
        if info.width > u32::from(u16::MAX) || info.height > u32::from(u16::MAX) {
            return Err(Error::corrupt("picture too large for an MP4 sample entry"));
        }
        Ok(SampleEntry {
            fourcc,
            width: info.width as u16,
            height: info.height as u16,
            config,
        })
    }

    /// The parameters of an MP4 sample description.
    pub fn from_entry(e: &SampleEntry) -> Result<Parameters> {
        Ok(if e.is_hevc() {
            let [vps, sps, pps] = h265::parse_hevc_config(&e.config)?;
            Parameters {
                codec: Codec::H265,
                vps,
                sps,
                pps,
            }
        } else {
            let (sps, pps) = h264::parse_avc_config(&e.config)?;
            Parameters {
                codec: Codec::H264,
                vps: Vec::new(),
                sps,
                pps,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nal::access_unit as au;

    #[test]
    fn collects_updates_and_round_trips() {
        let first = Parameters::from_access_unit(
            Codec::H265,
            &au(&[&[0x40, 1, 7], &[0x42, 1, 8], &[0x44, 1, 9], &[0x26, 1, 1]]),
        )
        .unwrap();
        assert!(first.is_complete());
        assert_eq!(first.vps, vec![vec![0x40, 1, 7]]);
        let pps_only = Parameters::from_access_unit(Codec::H265, &au(&[&[0x44, 1, 10]])).unwrap();
        let next = first.updated(&pps_only);
        assert_eq!(
            (next.vps.clone(), next.pps.clone()),
            (first.vps.clone(), vec![vec![0x44, 1, 10]])
        );
        assert_eq!(
            Parameters::from_access_unit(Codec::H265, &next.to_access_unit()).unwrap(),
            next
        );
        let avc = Parameters::h264(vec![0x67, 1], vec![0x68, 2]);
        assert!(avc.is_complete());
        assert!(
            !Parameters {
                codec: Codec::H265,
                ..avc.clone()
            }
            .is_complete()
        );
    }
}
