//! Writes `ftyp`, `moov` and the `mdat` header for a [`Track`]: everything before the media
//! data of a fast-start file.

use super::TIMESCALE;
use super::boxes::BoxBuf;
use super::track::{SampleEntry, Track};

/// Seconds from 1904-01-01 (the MP4 epoch) to 1970-01-01.
const MP4_EPOCH_OFFSET: u64 = 2_082_844_800;

/// Every byte before the media data of a fast-start MP4 holding `track`, whose media data is
/// `mdat_len` bytes. The media data must follow immediately, in the order of
/// `track.chunks` (chunk offsets are taken relative to its start).
pub fn header(track: &Track, mdat_len: u64) -> Vec<u8> {
    header_aligned(track, mdat_len, 1)
}

/// [`header`] padded (a `free` box before `mdat`) so that it ends, and the media data
/// starts, at a multiple of `align` bytes: where a filesystem can share the blocks of a
/// file that already holds the media data.
pub fn header_aligned(track: &Track, mdat_len: u64, align: u64) -> Vec<u8> {
    let mut ftyp = BoxBuf::default();
    let at = ftyp.start(b"ftyp");
    ftyp.bytes(b"isom");
    ftyp.u32(0x200);
    ftyp.bytes(b"isomiso2avc1mp41");
    ftyp.end(at);

    // The mdat header is 8 bytes, or 16 with a 64-bit size; chunk offsets need co64 once
    // the file may pass 4 GiB (decided on an upper bound of the moov's size, so the moov is
    // built once). It is built with offsets relative to the media data, then its chunk
    // offsets are moved by where the media data lands: their width, and so the moov's
    // length, does not depend on their values.
    let large = mdat_len + 8 > u64::from(u32::MAX);
    let mdat_header_len: u64 = if large { 16 } else { 8 };
    let align = align.max(1);
    let pad_bound = if align > 1 { align + 8 } else { 0 };
    let co64 = ftyp.buf.len() as u64 + moov_bound(track) + pad_bound + mdat_header_len + mdat_len
        > u64::from(u32::MAX);
    let (moov, table) = moov(track, co64);
    let unpadded = ftyp.buf.len() as u64 + moov.len() as u64 + mdat_header_len;
    // A free box is at least its 8-byte header.
    let pad = match (align - unpadded % align) % align {
        p if p > 0 && p < 8 => p + align,
        p => p,
    };
    let base = unpadded + pad;
    let mut out = ftyp.buf;
    out.reserve_exact(moov.len() + pad as usize + 16);
    let table = out.len() + table;
    out.extend_from_slice(&moov);
    if pad > 0 {
        out.extend_from_slice(&(pad as u32).to_be_bytes());
        out.extend_from_slice(b"free");
        out.resize(out.len() + pad as usize - 8, 0);
    }
    let width = if co64 { 8 } else { 4 };
    for (field, c) in out[table..].chunks_exact_mut(width).zip(&track.chunks) {
        let offset = base + c.offset;
        if co64 {
            field.copy_from_slice(&offset.to_be_bytes());
        } else {
            field.copy_from_slice(&(offset as u32).to_be_bytes());
        }
    }
    if large {
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(b"mdat");
        out.extend_from_slice(&(mdat_len + 16).to_be_bytes());
    } else {
        out.extend_from_slice(&((mdat_len + 8) as u32).to_be_bytes());
        out.extend_from_slice(b"mdat");
    }
    out
}

/// An upper bound of the `moov`'s length in bytes: fixed boxes, sample descriptions, and
/// at most 8 (stts) + 8 (ctts) + 4 (stss) + 4 (stsz) bytes per sample and 12 (stsc) + 8
/// (co64) per chunk.
fn moov_bound(track: &Track) -> u64 {
    let entries: usize = track.entries.iter().map(|e| 128 + e.config.len()).sum();
    (1024 + entries + 24 * track.samples.len() + 20 * track.chunks.len()) as u64
}

/// The `moov` box, with chunk offsets relative to the start of the media data, and where
/// the chunk offset table's entries begin in it.
fn moov(track: &Track, co64: bool) -> (Vec<u8>, usize) {
    let duration = track.duration();
    // What is presented: the whole media, or the part the edit list shows.
    let shown = track.edit_duration.unwrap_or(duration).min(duration);
    let wide = duration > u64::from(u32::MAX);
    let version = u8::from(wide);
    let created = (track.start_us.max(0) as u64) / 1_000_000 + MP4_EPOCH_OFFSET;
    let (width, height) = track
        .entries
        .first()
        .map_or((0, 0), |e| (e.width, e.height));
    let mut b = BoxBuf {
        buf: Vec::with_capacity(moov_bound(track) as usize),
    };
    let moov = b.start(b"moov");

    let mvhd = b.start_full(b"mvhd", version, 0);
    b.u32_or_64(wide, created);
    b.u32_or_64(wide, created);
    b.u32(TIMESCALE);
    b.u32_or_64(wide, shown);
    b.u32(0x0001_0000); // rate 1.0
    b.u16(0x0100); // volume 1.0
    b.zeros(10);
    b.unity_matrix();
    b.zeros(24);
    b.u32(2); // next track id
    b.end(mvhd);

    let trak = b.start(b"trak");
    let tkhd = b.start_full(b"tkhd", version, 3); // enabled, in movie
    b.u32_or_64(wide, created);
    b.u32_or_64(wide, created);
    b.u32(1); // track id
    b.u32(0);
    b.u32_or_64(wide, shown);
    b.zeros(8);
    b.u16(0); // layer
    b.u16(0); // alternate group
    b.u16(0); // volume
    b.u16(0);
    b.unity_matrix();
    b.u32(u32::from(width) << 16);
    b.u32(u32::from(height) << 16);
    b.end(tkhd);

    if track.media_time > 0 || track.edit_duration.is_some() {
        let edts = b.start(b"edts");
        let elst = b.start_full(b"elst", version, 0);
        b.u32(1);
        b.u32_or_64(wide, shown);
        b.u32_or_64(wide, u64::from(track.media_time));
        b.u32(0x0001_0000); // rate 1.0
        b.end(elst);
        b.end(edts);
    }

    let mdia = b.start(b"mdia");
    let mdhd = b.start_full(b"mdhd", version, 0);
    b.u32_or_64(wide, created);
    b.u32_or_64(wide, created);
    b.u32(TIMESCALE);
    b.u32_or_64(wide, duration);
    b.u16(0x55c4); // language "und"
    b.u16(0);
    b.end(mdhd);
    video_handler(&mut b);
    let minf = b.start(b"minf");
    video_media_header(&mut b);
    let table = stbl(&mut b, track, co64);
    b.end(minf);
    b.end(mdia);
    b.end(trak);

    // pinvr's own record of the wall-clock start, to the microsecond.
    let udta = b.start(b"udta");
    let pnvr = b.start(b"pnvr");
    b.u32(0); // version
    b.u64(track.start_us as u64);
    b.end(pnvr);
    b.end(udta);

    b.end(moov);
    (b.buf, table)
}

/// Writes the `stbl` box; returns where the chunk offset entries begin.
fn stbl(b: &mut BoxBuf, track: &Track, co64: bool) -> usize {
    let stbl = b.start(b"stbl");

    let stsd = b.start_full(b"stsd", 0, 0);
    b.u32(track.entries.len() as u32);
    for e in &track.entries {
        sample_entry(b, e);
    }
    b.end(stsd);

    let stts = b.start_full(b"stts", 0, 0);
    let runs = run_lengths(track.samples.iter().map(|s| s.duration));
    b.u32(runs.len() as u32);
    for (count, delta) in runs {
        b.u32(count);
        b.u32(delta);
    }
    b.end(stts);

    if track.samples.iter().any(|s| s.cts_offset != 0) {
        let ctts = b.start_full(b"ctts", 0, 0);
        let runs = run_lengths(track.samples.iter().map(|s| s.cts_offset));
        b.u32(runs.len() as u32);
        for (count, offset) in runs {
            b.u32(count);
            b.u32(offset);
        }
        b.end(ctts);
    }

    if !track.samples.iter().all(|s| s.sync) {
        let stss = b.start_full(b"stss", 0, 0);
        let count = track.samples.iter().filter(|s| s.sync).count();
        b.u32(count as u32);
        for (i, _) in track.samples.iter().enumerate().filter(|(_, s)| s.sync) {
            b.u32(i as u32 + 1);
        }
        b.end(stss);
    }

    let stsz = b.start_full(b"stsz", 0, 0);
    b.u32(0); // sizes vary
    b.u32(track.samples.len() as u32);
    b.buf
        .extend(track.samples.iter().flat_map(|s| s.size.to_be_bytes()));
    b.end(stsz);

    let stsc = b.start_full(b"stsc", 0, 0);
    let mut entries: Vec<(u32, u32, u32)> = Vec::new();
    for (i, c) in track.chunks.iter().enumerate() {
        if entries
            .last()
            .is_none_or(|&(_, n, e)| n != c.samples || e != c.entry + 1)
        {
            entries.push((i as u32 + 1, c.samples, c.entry + 1));
        }
    }
    b.u32(entries.len() as u32);
    for (first, n, e) in entries {
        b.u32(first);
        b.u32(n);
        b.u32(e);
    }
    b.end(stsc);

    let stco = b.start_full(if co64 { b"co64" } else { b"stco" }, 0, 0);
    b.u32(track.chunks.len() as u32);
    let table = b.buf.len();
    for c in &track.chunks {
        b.u32_or_64(co64, c.offset);
    }
    b.end(stco);

    b.end(stbl);
    table
}

/// Writes the `hdlr` box of a video track.
pub(super) fn video_handler(b: &mut BoxBuf) {
    let hdlr = b.start_full(b"hdlr", 0, 0);
    b.u32(0);
    b.bytes(b"vide");
    b.zeros(12);
    b.bytes(b"VideoHandler\0");
    b.end(hdlr);
}

/// Writes `vmhd` and `dinf` (media in this file), the start of a video track's `minf`.
pub(super) fn video_media_header(b: &mut BoxBuf) {
    let vmhd = b.start_full(b"vmhd", 0, 1);
    b.zeros(8);
    b.end(vmhd);
    let dinf = b.start(b"dinf");
    let dref = b.start_full(b"dref", 0, 0);
    b.u32(1);
    let url = b.start_full(b"url ", 0, 1); // media in this file
    b.end(url);
    b.end(dref);
    b.end(dinf);
}

/// Writes one visual sample description (`avc1`/`avc3` with `avcC`, `hvc1`/`hev1` with
/// `hvcC`).
pub(super) fn sample_entry(b: &mut BoxBuf, e: &SampleEntry) {
    let entry = b.start(&e.fourcc);
    b.zeros(6);
    b.u16(1); // data reference index
    b.zeros(16);
    b.u16(e.width);
    b.u16(e.height);
    b.u32(0x0048_0000); // 72 dpi
    b.u32(0x0048_0000);
    b.u32(0);
    b.u16(1); // frame count
    b.zeros(32); // compressor name
    b.u16(0x0018); // depth
    b.u16(0xffff); // pre-defined -1
    let config = b.start(e.config_box());
    b.bytes(&e.config);
    b.end(config);
    b.end(entry);
}

/// Run-length encodes a sequence as (count, value) pairs.
fn run_lengths(values: impl Iterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for v in values {
        match runs.last_mut() {
            Some((count, last)) if *last == v => *count += 1,
            _ => runs.push((1, v)),
        }
    }
    runs
}
