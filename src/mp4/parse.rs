//! Reads the sample table of a minute file that pinvr wrote (the boxes [`super::header`]
//! emits), so that a range of minutes can be served as one MP4 straight from the files.
//! Every length and index is checked: a damaged file gives an error, never a panic or an
//! out-of-bounds read.

use super::track::{Chunk, Sample, SampleEntry, Track};
use crate::error::{Error, IoContext, Result};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The largest `moov` accepted (a minute's is tens of KiB).
const MAX_MOOV: u64 = 64 << 20;

/// A parsed minute file.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The track, with chunk offsets relative to the start of the media data.
    pub track: Track,
    /// File offset of the media data (the body of `mdat`).
    pub data_start: u64,
    /// Bytes of media data the samples cover.
    pub data_len: u64,
}

/// A cursor over a box body.
struct Cur<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cur<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cur { b, at: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| Error::corrupt("box shorter than its fields"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().expect("2")))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8")))
    }
    /// A version-dependent 32- or 64-bit field.
    fn u32_or_64(&mut self, wide: bool) -> Result<u64> {
        if wide {
            self.u64()
        } else {
            self.u32().map(u64::from)
        }
    }
    /// The next child box: (type, body).
    fn child(&mut self) -> Result<Option<([u8; 4], &'a [u8])>> {
        if self.at >= self.b.len() {
            return Ok(None);
        }
        let size = u64::from(self.u32()?);
        let kind: [u8; 4] = self.take(4)?.try_into().expect("4");
        let (header, size) = match size {
            1 => (16, self.u64()?),
            0 => (8, (self.b.len() - self.at + 8) as u64),
            s => (8, s),
        };
        if size < header {
            return Err(Error::corrupt(format!("box {} too small", fourcc(&kind))));
        }
        let body = self.take((size - header) as usize)?;
        Ok(Some((kind, body)))
    }
    /// A count of entries each `entry` bytes long, checked against what is left.
    fn count(&mut self, entry: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.checked_mul(entry)
            .is_none_or(|b| b > self.b.len() - self.at)
        {
            return Err(Error::corrupt("table longer than its box"));
        }
        Ok(n)
    }
}

fn fourcc(k: &[u8; 4]) -> String {
    String::from_utf8_lossy(k).into_owned()
}

/// Finds the first child of type `kind` in `body`.
fn find<'a>(body: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>> {
    let mut c = Cur::new(body);
    while let Some((k, b)) = c.child()? {
        if &k == kind {
            return Ok(Some(b));
        }
    }
    Ok(None)
}

fn need<'a>(body: &'a [u8], kind: &[u8; 4]) -> Result<&'a [u8]> {
    find(body, kind)?.ok_or_else(|| Error::corrupt(format!("no {} box", fourcc(kind))))
}

/// Parses the minute file at `path`.
pub fn parse(path: &Path) -> Result<Parsed> {
    let parse_file = || {
        let mut f = File::open(path).ctx("opening")?;
        let len = f.metadata().ctx("stat")?.len();
        parse_from(&mut f, len)
    };
    parse_file().map_err(|e| e.context(path.display()))
}

/// [`parse`] of a minute file held in memory (tests, fuzzing).
pub fn parse_bytes(bytes: &[u8]) -> Result<Parsed> {
    parse_from(&mut std::io::Cursor::new(bytes), bytes.len() as u64)
}

/// [`parse`] of `len` bytes read from `f`.
pub fn parse_from<R: Read + Seek>(f: &mut R, len: u64) -> Result<Parsed> {
    let (mut moov, mut mdat) = (None, None);
    let mut pos = 0u64;
    while pos + 8 <= len && (moov.is_none() || mdat.is_none()) {
        f.seek(SeekFrom::Start(pos)).ctx("seek")?;
        let mut h = [0u8; 16];
        f.read_exact(&mut h[..8]).ctx("reading")?;
        let mut size = u64::from(u32::from_be_bytes(h[..4].try_into().expect("4")));
        let mut header = 8;
        if size == 1 {
            f.read_exact(&mut h[8..]).ctx("reading")?;
            size = u64::from_be_bytes(h[8..].try_into().expect("8"));
            header = 16;
        } else if size == 0 {
            size = len - pos;
        }
        // `pos + 8 <= len` above, so `len - pos` cannot wrap; `pos + size` could.
        if size < header || size > len - pos {
            return Err(Error::corrupt(format!(
                "box at byte {pos} runs past the end"
            )));
        }
        match &h[4..8] {
            b"moov" if size <= MAX_MOOV => {
                let mut body = vec![0; (size - header) as usize];
                f.read_exact(&mut body).ctx("reading moov")?;
                moov = Some(body);
            }
            b"mdat" => mdat = Some((pos + header, size - header)),
            _ => {}
        }
        pos += size;
    }
    let moov = moov.ok_or_else(|| Error::corrupt("no moov"))?;
    let (data_start, mdat_len) = mdat.ok_or_else(|| Error::corrupt("no mdat"))?;
    let mut track = Track::default();
    if let Some(udta) = find(&moov, b"udta")?
        && let Some(p) = find(udta, b"pnvr")?
    {
        let mut c = Cur::new(p);
        c.u32()?;
        track.start_us = c.u64()? as i64;
    }
    let trak = need(&moov, b"trak")?;
    if let Some(edts) = find(trak, b"edts")? {
        let mut c = Cur::new(need(edts, b"elst")?);
        let wide = c.u32()? >> 24 == 1;
        if c.u32()? > 0 {
            c.u32_or_64(wide)?;
            track.media_time = u32::try_from(c.u32_or_64(wide)?)
                .map_err(|_| Error::corrupt("edit list media time too large"))?;
        }
    }
    let mdia = need(trak, b"mdia")?;
    let mut mdhd = Cur::new(need(mdia, b"mdhd")?);
    let wide = mdhd.u32()? >> 24 == 1;
    mdhd.u32_or_64(wide)?;
    mdhd.u32_or_64(wide)?;
    if mdhd.u32()? != super::TIMESCALE {
        return Err(Error::corrupt("timescale is not 90000: not a pinvr minute"));
    }
    let stbl = need(need(mdia, b"minf")?, b"stbl")?;
    parse_stbl(stbl, mdat_len, &mut track)?;
    // Chunk offsets are file offsets: make them relative to the media data and check that
    // every sample lies inside it.
    let (mut end, mut last) = (0u64, 0u64);
    let mut s = 0usize;
    for c in &mut track.chunks {
        c.offset = c
            .offset
            .checked_sub(data_start)
            .ok_or_else(|| Error::corrupt("chunk offset before mdat"))?;
        let bytes: u64 = track.samples[s..s + c.samples as usize]
            .iter()
            .map(|x| u64::from(x.size))
            .sum();
        s += c.samples as usize;
        end = end.max(c.offset.saturating_add(bytes));
        last = c.offset.saturating_add(bytes);
    }
    // As if pushed: where the last sample ends.
    track.end = last;
    if end > mdat_len {
        return Err(Error::corrupt("samples run past the end of mdat"));
    }
    Ok(Parsed {
        track,
        data_start,
        data_len: end,
    })
}

fn parse_stbl(stbl: &[u8], mdat_len: u64, track: &mut Track) -> Result<()> {
    let mut stsd = Cur::new(need(stbl, b"stsd")?);
    stsd.u32()?;
    let n = stsd.count(8)?;
    for _ in 0..n {
        let (kind, body) = stsd
            .child()?
            .ok_or_else(|| Error::corrupt("stsd too short"))?;
        if !matches!(&kind, b"avc1" | b"avc3" | b"hvc1" | b"hev1") {
            return Err(Error::corrupt(format!(
                "sample entry {} is not avc1, avc3, hvc1 or hev1",
                fourcc(&kind)
            )));
        }
        let mut c = Cur::new(body);
        c.take(24)?;
        let (width, height) = (c.u16()?, c.u16()?);
        c.take(50)?;
        let mut entry = SampleEntry {
            fourcc: kind,
            width,
            height,
            config: Vec::new(),
        };
        entry.config = need(&body[c.at..], entry.config_box())?.to_vec();
        track.entries.push(entry);
    }

    let mut stsz = Cur::new(need(stbl, b"stsz")?);
    stsz.u32()?;
    let fixed = stsz.u32()?;
    let count = if fixed == 0 {
        stsz.count(4)?
    } else {
        stsz.u32()? as usize
    };
    // Every sample has at least a byte of media data: a count beyond that is a lie, and
    // must not size an allocation.
    if count > 50_000_000 || count as u64 > mdat_len / u64::from(fixed.max(1)) {
        return Err(Error::corrupt("more samples than the media data can hold"));
    }
    track.samples = Vec::with_capacity(count);
    for _ in 0..count {
        let size = if fixed == 0 { stsz.u32()? } else { fixed };
        track.samples.push(Sample {
            size,
            duration: 0,
            cts_offset: 0,
            sync: true,
        });
    }

    let mut i = 0;
    let mut stts = Cur::new(need(stbl, b"stts")?);
    stts.u32()?;
    for _ in 0..stts.count(8)? {
        let (n, d) = (stts.u32()? as usize, stts.u32()?);
        for s in track.samples.iter_mut().skip(i).take(n) {
            s.duration = d;
        }
        i = i.saturating_add(n);
    }
    if i != count {
        return Err(Error::corrupt("stts does not cover every sample"));
    }
    if let Some(ctts) = find(stbl, b"ctts")? {
        let mut c = Cur::new(ctts);
        c.u32()?;
        let mut i = 0usize;
        for _ in 0..c.count(8)? {
            let (n, o) = (c.u32()? as usize, c.u32()?);
            for s in track.samples.iter_mut().skip(i).take(n) {
                s.cts_offset = o;
            }
            i = i.saturating_add(n);
        }
    }
    if let Some(stss) = find(stbl, b"stss")? {
        let mut c = Cur::new(stss);
        c.u32()?;
        track.samples.iter_mut().for_each(|s| s.sync = false);
        for _ in 0..c.count(4)? {
            let k = c.u32()? as usize;
            let s = k
                .checked_sub(1)
                .and_then(|k| track.samples.get_mut(k))
                .ok_or_else(|| Error::corrupt("stss names a sample that does not exist"))?;
            s.sync = true;
        }
    }

    let mut offsets = Vec::new();
    if let Some(stco) = find(stbl, b"stco")? {
        let mut c = Cur::new(stco);
        c.u32()?;
        for _ in 0..c.count(4)? {
            offsets.push(u64::from(c.u32()?));
        }
    } else {
        let mut c = Cur::new(need(stbl, b"co64")?);
        c.u32()?;
        for _ in 0..c.count(8)? {
            offsets.push(c.u64()?);
        }
    }
    let mut stsc = Cur::new(need(stbl, b"stsc")?);
    stsc.u32()?;
    let mut runs = Vec::new();
    for _ in 0..stsc.count(12)? {
        runs.push((stsc.u32()? as usize, stsc.u32()?, stsc.u32()?));
    }
    let mut assigned = 0usize;
    for (k, &offset) in offsets.iter().enumerate() {
        let &(_, samples, entry) = runs
            .iter()
            .rev()
            .find(|r| r.0 <= k + 1)
            .ok_or_else(|| Error::corrupt("stsc does not cover chunk 1"))?;
        if entry == 0 || entry as usize > track.entries.len() {
            return Err(Error::corrupt("stsc names a missing sample entry"));
        }
        assigned = assigned.saturating_add(samples as usize);
        track.chunks.push(Chunk {
            offset,
            samples,
            entry: entry - 1,
        });
    }
    if assigned != count {
        return Err(Error::corrupt("chunks do not hold exactly the samples"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::header;

    fn track() -> Track {
        let mut t = Track {
            entries: vec![
                SampleEntry {
                    fourcc: *b"avc1",
                    width: 320,
                    height: 240,
                    config: vec![1, 66, 0, 30, 0xff, 0xe0, 0],
                },
                SampleEntry {
                    fourcc: *b"hvc1",
                    width: 640,
                    height: 360,
                    config: vec![1, 77, 0, 31, 0xff, 0xe0, 0],
                },
            ],
            media_time: 3000,
            start_us: 1_795_442_400_123_456,
            ..Default::default()
        };
        let mut off = 0;
        for i in 0..50u32 {
            let s = Sample {
                size: 100 + i,
                duration: 9000,
                cts_offset: (i % 3) * 3000,
                sync: i % 10 == 0,
            };
            t.push(s, u32::from(i >= 30), off);
            off += u64::from(s.size);
        }
        t
    }

    #[test]
    fn files_past_4_gib_use_co64_and_read_back() {
        // 5000 samples of 1 MiB: the media data passes 4 GiB. The file is sparse.
        let mut t = Track {
            entries: track().entries[..1].to_vec(),
            start_us: 1,
            ..Default::default()
        };
        let mut off = 0;
        for i in 0..5000u32 {
            let s = Sample {
                size: 1 << 20,
                duration: 4500,
                cts_offset: 0,
                sync: i % 40 == 0,
            };
            // A new chunk every 100 samples, as minute files concatenated would have.
            if i % 100 == 0 {
                t.chunks.push(Chunk {
                    offset: off,
                    samples: 0,
                    entry: 0,
                });
            }
            t.chunks.last_mut().unwrap().samples += 1;
            t.samples.push(s);
            off += u64::from(s.size);
        }
        t.end = off;
        let bytes = header(&t, off);
        assert!(bytes.windows(4).any(|w| w == b"co64"));
        let path = std::env::temp_dir().join(format!("pinvr-big-{}.mp4", std::process::id()));
        let f = std::fs::File::create(&path).unwrap();
        std::io::Write::write_all(&mut &f, &bytes).unwrap();
        f.set_len(bytes.len() as u64 + off).unwrap();
        let p = parse(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(p.track, t);
        assert_eq!(p.data_len, off);
        assert!(p.data_len > 4 << 30);
    }

    #[test]
    fn box_sizes_near_u64_max_are_errors() {
        // Found by the fuzzer (fuzz/seeds/mp4_parse): a 64-bit box size that wrapped.
        let mut b = vec![0, 0, 0, 8, 1, 0, 0, 0, 0, 0, 0, 1];
        b.extend_from_slice(&[0xff; 64]);
        b.extend_from_slice(&[0; 12]);
        assert!(parse_bytes(&b).is_err());
    }

    #[test]
    fn reads_back_what_the_writer_wrote() {
        let t = track();
        let len: u64 = t.samples.iter().map(|s| u64::from(s.size)).sum();
        let mut bytes = header(&t, len);
        bytes.resize(bytes.len() + len as usize, 0xab);
        let p = parse_bytes(&bytes).unwrap();
        assert_eq!(p.track, t);
        assert_eq!(p.data_len, len);
        assert_eq!(p.data_start + len, bytes.len() as u64);
        // Any truncation or corruption of the header is an error or a valid table, never a
        // panic.
        let head = p.data_start as usize;
        for cut in 0..head {
            let _ = parse_bytes(&bytes[..cut]);
            let mut bad = bytes.clone();
            bad[cut] ^= 0x5a;
            let _ = parse_bytes(&bad);
        }
    }
}
