//! Access units as pinvr stores them: NAL units, each behind a 4-byte big-endian length
//! (as in ISO/IEC 14496-15 samples, for H.264 and H.265 alike): iteration and checks.

use crate::error::{Error, Result};

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

/// Builds a length-prefixed access unit from NAL units.
pub fn access_unit(nals: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for nal in nals {
        out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        out.extend_from_slice(nal);
    }
    out
}
