//! Reads back what pinvr needs from its own MP4 files without loading them: the wall-clock
//! start kept in `moov/udta/pnvr`.

use crate::error::{IoContext, Result};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Reads a box header at the current position: (type, body length), or `None` at the end.
fn box_header(f: &mut File, limit: u64) -> Result<Option<([u8; 4], u64)>> {
    let pos = f.stream_position().ctx("seek")?;
    if pos + 8 > limit {
        return Ok(None);
    }
    let mut h = [0u8; 8];
    f.read_exact(&mut h).ctx("reading box header")?;
    let size = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
    let kind = [h[4], h[5], h[6], h[7]];
    let (header, size) = match size {
        1 => {
            let mut l = [0u8; 8];
            f.read_exact(&mut l).ctx("reading box header")?;
            (16, u64::from_be_bytes(l))
        }
        0 => (8, limit - pos),
        s => (8, s),
    };
    if size < header || pos + size > limit {
        return Ok(None);
    }
    Ok(Some((kind, size - header)))
}

/// Finds the box path `path` (e.g. moov, udta, pnvr) and returns its body.
fn find(f: &mut File, path: &[&[u8; 4]]) -> Result<Option<Vec<u8>>> {
    let mut limit = f.metadata().ctx("stat")?.len();
    f.seek(SeekFrom::Start(0)).ctx("seek")?;
    let mut depth = 0;
    while let Some((kind, len)) = box_header(f, limit)? {
        let start = f.stream_position().ctx("seek")?;
        if &kind == path[depth] {
            if depth + 1 == path.len() {
                let mut body = vec![0; len.min(1 << 20) as usize];
                f.read_exact(&mut body).ctx("reading box")?;
                return Ok(Some(body));
            }
            depth += 1;
            limit = start + len;
        } else {
            f.seek(SeekFrom::Start(start + len)).ctx("seek")?;
        }
    }
    Ok(None)
}

/// The wall-clock time (microseconds since the epoch) of the first presented frame of a
/// minute file written by pinvr, or `None` if the file does not record it.
pub fn start_us(path: &Path) -> Result<Option<i64>> {
    let mut f = File::open(path).ctx(format_args!("opening {}", path.display()))?;
    let body = find(&mut f, &[b"moov", b"udta", b"pnvr"]).map_err(|e| e.context(path.display()))?;
    Ok(body
        .filter(|b| b.len() >= 12)
        .map(|b| i64::from_be_bytes(b[4..12].try_into().expect("8 bytes"))))
}

/// What the day view needs to know of a minute without reading its sample table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The RFC 6381 codec string of its (first) sample description: whether the browser
    /// can play it.
    pub codec: String,
    /// Wall-clock time of the first presented frame, microseconds since the epoch.
    pub start_us: i64,
    /// Presented duration, microseconds.
    pub duration_us: i64,
    /// Frames.
    pub frames: u32,
}

/// The [`Summary`] of a minute file written by pinvr, reading only three small boxes.
pub fn summary(path: &Path) -> Result<Summary> {
    let mut f = File::open(path).ctx(format_args!("opening {}", path.display()))?;
    let start = find(&mut f, &[b"moov", b"udta", b"pnvr"])?
        .filter(|b| b.len() >= 12)
        .map(|b| i64::from_be_bytes(b[4..12].try_into().expect("8 bytes")))
        .ok_or_else(|| crate::Error::corrupt(format!("{}: no pinvr start time", path.display())))?;
    let mvhd = find(&mut f, &[b"moov", b"mvhd"])?
        .ok_or_else(|| crate::Error::corrupt(format!("{}: no mvhd", path.display())))?;
    // Version 0: 4-byte times and duration after 4 bytes of version and flags; version 1:
    // 8-byte ones.
    let (scale, duration) = match mvhd.first() {
        Some(1) if mvhd.len() >= 32 => (
            u32::from_be_bytes(mvhd[20..24].try_into().expect("4")),
            u64::from_be_bytes(mvhd[24..32].try_into().expect("8")),
        ),
        Some(0) if mvhd.len() >= 20 => (
            u32::from_be_bytes(mvhd[12..16].try_into().expect("4")),
            u64::from(u32::from_be_bytes(mvhd[16..20].try_into().expect("4"))),
        ),
        _ => {
            return Err(crate::Error::corrupt(format!(
                "{}: bad mvhd",
                path.display()
            )));
        }
    };
    let stsz = find(
        &mut f,
        &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsz"],
    )?
    .filter(|b| b.len() >= 12)
    .ok_or_else(|| crate::Error::corrupt(format!("{}: no stsz", path.display())))?;
    let stsd = find(
        &mut f,
        &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"],
    )?
    .unwrap_or_default();
    Ok(Summary {
        codec: codec_of_stsd(&stsd),
        start_us: start,
        duration_us: (i128::from(duration) * 1_000_000 / i128::from(scale.max(1))) as i64,
        frames: u32::from_be_bytes(stsz[8..12].try_into().expect("4")),
    })
}

/// The codec string of the first sample entry in an `stsd` body (version, count, then the
/// entry: size, type, 78 bytes of visual fields, the configuration box first); empty when
/// it is not one pinvr writes.
fn codec_of_stsd(stsd: &[u8]) -> String {
    let Some(fourcc) = stsd.get(12..16).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
        return String::new();
    };
    let config = stsd
        .get(94..98)
        .map_or(0, |b| u32::from_be_bytes(b.try_into().expect("4")));
    let mut e = super::SampleEntry {
        fourcc,
        width: 0,
        height: 0,
        config: Vec::new(),
    };
    let ok = matches!(&fourcc, b"avc1" | b"avc3" | b"hvc1" | b"hev1")
        && stsd.get(98..102) == Some(&e.config_box()[..]);
    if !ok {
        return String::new();
    }
    e.config = stsd
        .get(102..(94 + config as usize).min(stsd.len()))
        .unwrap_or_default()
        .to_vec();
    e.codec()
}
