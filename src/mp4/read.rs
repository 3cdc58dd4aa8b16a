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
