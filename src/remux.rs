//! Chunk to fast-start MP4, in process: one pass over the chunk builds the sample table
//! (memory grows with the number of frames, never with their bytes), a second pass copies
//! the picture NAL units into `mdat` behind the header. H.264 and H.265 alike (the chunk's
//! configuration record says which). A file whose parameters change gets one `avc3`/`hev1`
//! description and its parameter sets in every key frame's sample (two descriptions stop
//! Chromium at the change); B-frames get `ctts` and an edit list; durations come from
//! timestamps.

use crate::chunk::{ChunkIndex, ChunkReader, HEADER_LEN, Indexed, Summary};
use crate::codec::Codec;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::mp4::{Sample, Track};
use crate::nal::nals;
use crate::parameters::Parameters;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;

/// Duration given to the last frame when there is no earlier frame to copy (1/20 s).
const LONE_FRAME_TICKS: u32 = 4500;

/// What a remux found and wrote.
#[derive(Debug, Default)]
pub struct Remuxed {
    /// Frames written.
    pub frames: usize,
    /// Frames dropped because they came before any parameters or key frame.
    pub skipped: usize,
    /// Bytes of a torn record dropped at the end of the chunk.
    pub torn_bytes: u64,
    /// Description of the corrupt record that ended the chunk early, if any.
    pub corrupt: Option<String>,
    /// Duration in microseconds.
    pub duration_us: i64,
    /// Wall-clock time of the first presented frame, microseconds since the epoch.
    pub start_us: i64,
    /// Decoder configuration and Annex B bytes of the first key frame, for the preview.
    pub key_frame: Option<(Parameters, Vec<u8>)>,
}

/// The sample table of a chunk, from the first pass.
struct Scan {
    track: Track,
    /// Presentation time of each sample, microseconds since the epoch.
    pts_us: Vec<i64>,
    /// Bytes of media data.
    mdat_len: u64,
    /// For each whole record before any damage: what becomes of it. The second pass
    /// follows this rather than deciding again.
    keep: Vec<Option<Kept>>,
    /// The decoder configurations the samples use, in order of first use.
    configs: Vec<Parameters>,
    /// Key frame samples start with their configuration's parameter sets.
    in_band: bool,
    /// Where each sample's record payload is in the chunk (offset, length): a sample can be
    /// the payload itself, all its NAL units, in an MP4 that shares the chunk's blocks.
    payloads: Vec<(u64, u32)>,
    report: Remuxed,
}

/// A record that becomes a sample.
#[derive(Clone, Copy, Debug)]
struct Kept {
    /// Its codec (which NAL units are pictures).
    codec: Codec,
    /// For a key frame, the index of its configuration in [`Scan::configs`].
    key: Option<usize>,
}

/// Remuxes the chunk at `chunk` into a fast-start MP4 at `out` (written atomically).
/// Damage at the end of the chunk (a torn or corrupt record) is reported in the result and
/// everything before it is kept; a chunk with no decodable frame is an error.
pub fn remux(chunk: &Path, out: &Path) -> Result<Remuxed> {
    remux_indexed(chunk, out, None)
}

/// [`remux`], with the recorder's index of the chunk if it has one: the chunk is then not
/// read to build the sample table (only its first key frame is, for the preview).
pub fn remux_indexed(chunk: &Path, out: &Path, index: Option<&ChunkIndex>) -> Result<Remuxed> {
    let mut scan = scan_with(chunk, index)?;
    if scan.track.samples.is_empty() {
        return Err(Error::corrupt(format!(
            "{}: no key frame with parameters to start an MP4",
            chunk.display()
        )));
    }
    let delay = assign_times(&mut scan.track, &scan.pts_us);
    scan.track.media_time = delay;
    scan.report.frames = scan.track.samples.len();
    scan.report.start_us = scan.pts_us.iter().copied().min().unwrap_or(0);
    scan.report.duration_us = (scan.track.duration() * 100 / 9) as i64;
    scan.track.start_us = scan.report.start_us;
    if share_blocks(chunk, out, &scan)? {
        return Ok(scan.report);
    }
    let header = crate::mp4::header(&scan.track, scan.mdat_len);
    fsutil::write_atomic(out, |w| {
        w.write_all(&header)
            .ctx(format_args!("writing {}", out.display()))?;
        copy_samples(chunk, &scan, w)
            .map_err(|e| e.context(format_args!("writing {}", out.display())))
    })?;
    Ok(scan.report)
}

/// Writes the MP4 as a header followed by the chunk itself, its blocks shared rather than
/// copied, where the filesystem can: each sample is its record's payload (all its NAL
/// units, parameter sets included, which MP4 allows), and the record headers and
/// configuration records between them stay in `mdat`, unreferenced. Only the header is
/// written. False (nothing written) where the filesystem cannot, or for an in-band track
/// (its key frames need parameter sets in front): copy then.
fn share_blocks(chunk: &Path, out: &Path, scan: &Scan) -> Result<bool> {
    if scan.in_band {
        return Ok(false);
    }
    let src = File::open(chunk).ctx(format_args!("opening {}", chunk.display()))?;
    if !crate::reflink::may_share(&src) {
        return Ok(false);
    }
    let chunk_len = src.metadata().ctx("stat")?.len();
    // The same description and times; the samples laid out again, where the chunk has them.
    let mut track = Track {
        entries: scan.track.entries.clone(),
        samples: Vec::with_capacity(scan.track.samples.len()),
        chunks: Vec::new(),
        end: 0,
        ..scan.track
    };
    let entries = scan.track.sample_offsets().into_iter().map(|(_, e)| e);
    for ((&sample, &(offset, len)), entry) in
        scan.track.samples.iter().zip(&scan.payloads).zip(entries)
    {
        track.push(
            Sample {
                size: len,
                ..sample
            },
            entry,
            offset,
        );
    }
    let align = crate::reflink::block_size(&src);
    let header = crate::mp4::header_aligned(&track, chunk_len, align);
    // A refusal abandons the new file (never renamed into place) and is kept here.
    let mut refused = None;
    let shared = fsutil::write_atomic(out, |w| {
        w.write_all(&header)
            .and_then(|_| w.flush())
            .ctx(format_args!("writing {}", out.display()))?;
        let how = crate::reflink::share_all(&src, w.get_ref(), header.len() as u64);
        match how.ctx(format_args!("sharing {}'s blocks", chunk.display()))? {
            crate::reflink::Shared::Done => Ok(()),
            crate::reflink::Shared::Refused(e) => {
                refused = Some(e);
                Err(Error::invalid("the filesystem cannot share blocks"))
            }
        }
    });
    match (shared, refused) {
        (Ok(()), _) => Ok(true),
        (Err(_), Some(e)) => {
            log::info!(
                "{}: this filesystem cannot share blocks between files ({e}); minutes are copied into their MP4s",
                out.parent().unwrap_or(out).display()
            );
            Ok(false)
        }
        (Err(e), None) => Err(e),
    }
}

fn open(chunk: &Path) -> Result<ChunkReader<BufReader<File>>> {
    let f = File::open(chunk).ctx(format_args!("opening {}", chunk.display()))?;
    Ok(ChunkReader::new(BufReader::with_capacity(64 << 10, f)))
}

/// Builds the sample table record by record, from the chunk's bytes or from the recorder's
/// index of it: the same decisions either way.
struct Scanner {
    codec: Codec,
    params: Parameters,
    /// The configuration the samples use now (index into [`Scan::configs`]).
    current: Option<usize>,
    /// The first key frame sample: its configuration, payload offset and length (read for
    /// the preview once the scan is done).
    key_at: Option<(Parameters, u64, u32)>,
    s: Scan,
}

impl Scanner {
    fn new() -> Scanner {
        Scanner {
            codec: Codec::H264,
            params: Parameters::default(),
            current: None,
            key_at: None,
            s: Scan {
                track: Track::default(),
                pts_us: Vec::new(),
                mdat_len: 0,
                keep: Vec::new(),
                configs: Vec::new(),
                in_band: false,
                payloads: Vec::new(),
                report: Remuxed::default(),
            },
        }
    }

    /// Takes the record whose payload is at `r.payload_at` (`r.head` holds every parameter
    /// set in it).
    fn push(&mut self, r: &Indexed<'_>) -> Result<()> {
        let sum = &r.summary;
        self.s.keep.push(None);
        if let Some(c) = sum.config
            && c != self.codec
        {
            self.codec = c;
            self.params = Parameters {
                codec: c,
                ..Parameters::default()
            };
            self.current = None;
        }
        if sum.head > 0 {
            let inband = Parameters::from_access_unit(self.codec, r.head)?;
            let next = self.params.updated(&inband);
            if next != self.params {
                self.params = next;
                self.current = None;
            }
        }
        if sum.params_only {
            return Ok(());
        }
        let key = sum.key;
        let s = &mut self.s;
        if self.current.is_none() && self.params.is_complete() && key {
            self.current = Some(match s.configs.iter().position(|p| *p == self.params) {
                Some(i) => i,
                None => {
                    s.track.entries.push(self.params.sample_entry(false)?);
                    s.configs.push(self.params.clone());
                    s.configs.len() - 1
                }
            });
        }
        let size = sum.picture;
        let Some(entry) = self.current.filter(|_| size > 0) else {
            s.report.skipped += 1;
            return Ok(());
        };
        if key && self.key_at.is_none() {
            self.key_at = Some((self.params.clone(), r.payload_at, r.len));
        }
        let sample = Sample {
            size: size as u32,
            duration: 0,
            cts_offset: 0,
            sync: key,
        };
        *s.keep.last_mut().expect("pushed above") = Some(Kept {
            codec: self.codec,
            key: key.then_some(entry),
        });
        s.track.push(sample, entry as u32, s.mdat_len);
        s.payloads.push((r.payload_at, r.len));
        s.pts_us.push(r.time_us);
        s.mdat_len += size;
        Ok(())
    }

    /// The scan, once every record is in; `chunk` is read for the first key frame.
    fn finish(mut self, chunk: &Path) -> Result<Scan> {
        let one_codec = self.s.configs.windows(2).all(|w| w[0].codec == w[1].codec);
        if self.s.configs.len() > 1 && one_codec {
            in_band(&mut self.s);
        }
        if let Some((params, at, len)) = self.key_at.take() {
            use std::os::unix::fs::FileExt;
            let mut buf = vec![0u8; len as usize];
            File::open(chunk)
                .and_then(|f| f.read_exact_at(&mut buf, at))
                .ctx(format_args!("reading {}", chunk.display()))?;
            crate::nal::validate(&buf).map_err(|e| {
                e.context(format_args!("{}: key frame at byte {at}", chunk.display()))
            })?;
            self.s.report.key_frame = Some((params.clone(), params.annex_b_of(&buf)?));
        }
        Ok(self.s)
    }
}

/// The scan of `chunk` from the recorder's index of it, if it is the chunk indexed (the
/// same length), else from its bytes.
fn scan_with(chunk: &Path, index: Option<&ChunkIndex>) -> Result<Scan> {
    let Some(index) = index else {
        return scan(chunk);
    };
    let len = std::fs::metadata(chunk)
        .ctx(format_args!("reading {}", chunk.display()))?
        .len();
    if len != index.chunk_len() {
        log::debug!(
            "{}: {len} bytes where its index says {}; reading it back",
            chunk.display(),
            index.chunk_len()
        );
        return scan(chunk);
    }
    let mut scanner = Scanner::new();
    for r in index.iter() {
        scanner.push(&r)?;
    }
    scanner.finish(chunk)
}

/// The scan of `chunk` from its bytes: every record read and checked.
fn scan(chunk: &Path) -> Result<Scan> {
    let mut reader = open(chunk)?;
    let mut buf = Vec::new();
    let mut scanner = Scanner::new();
    loop {
        let rec = match reader.next_into(&mut buf) {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                scanner.s.report.corrupt = Some(e.to_string());
                break;
            }
        };
        let summary = Summary::of(scanner.codec, &buf);
        let r = Indexed {
            payload_at: rec.offset + HEADER_LEN as u64,
            len: buf.len() as u32,
            time_us: rec.time_us,
            summary,
            head: &buf[..summary.head],
        };
        scanner.push(&r)?;
    }
    scanner.s.report.torn_bytes = reader.torn_bytes();
    scanner.finish(chunk)
}

/// Turns a track with several descriptions into one with a single in-band description
/// (the first configuration's) whose key frame samples start with their parameter sets.
fn in_band(s: &mut Scan) {
    let first = s.track.entries[0].to_in_band();
    let lens: Vec<u64> = s
        .configs
        .iter()
        .map(|p| p.to_access_unit().len() as u64)
        .collect();
    let samples = std::mem::take(&mut s.track.samples);
    s.track.entries = vec![first];
    s.track.chunks.clear();
    s.mdat_len = 0;
    let kept = s.keep.iter().flatten();
    for (mut sample, k) in samples.into_iter().zip(kept) {
        if let Some(c) = k.key {
            sample.size += lens[c] as u32;
        }
        s.track.push(sample, 0, s.mdat_len);
        s.mdat_len += u64::from(sample.size);
    }
    s.in_band = true;
}

/// Sets durations and composition offsets from presentation times; returns the delay
/// (edit-list media time) that keeps every composition offset non-negative.
fn assign_times(track: &mut Track, pts_us: &[i64]) -> u32 {
    let origin = pts_us.iter().copied().min().unwrap_or(0);
    let pts: Vec<i64> = pts_us
        .iter()
        .map(|&t| ((t - origin) as i128 * 9 / 100) as i64)
        .collect();
    // Decode times: the presentation times in order, forced strictly increasing so that a
    // camera repeating a timestamp cannot produce a zero-length sample.
    let mut dts = pts.clone();
    dts.sort_unstable();
    for i in 1..dts.len() {
        dts[i] = dts[i].max(dts[i - 1] + 1);
    }
    let delay = pts
        .iter()
        .zip(&dts)
        .map(|(p, d)| d - p)
        .max()
        .unwrap_or(0)
        .max(0);
    let n = dts.len();
    for i in 0..n {
        let dur = if i + 1 < n {
            dts[i + 1] - dts[i]
        } else if n > 1 {
            dts[n - 1] - dts[n - 2]
        } else {
            i64::from(LONE_FRAME_TICKS)
        };
        let s = &mut track.samples[i];
        s.duration = dur.clamp(1, i64::from(u32::MAX)) as u32;
        s.cts_offset = (pts[i] + delay - dts[i]).clamp(0, i64::from(u32::MAX)) as u32;
    }
    delay.clamp(0, i64::from(u32::MAX)) as u32
}

/// Second pass: copies the picture NALs of the records kept into `w`, after the
/// parameter sets of their configuration for key frames of an in-band track.
fn copy_samples(chunk: &Path, scan: &Scan, w: &mut impl Write) -> Result<()> {
    let mut reader = open(chunk)?;
    let mut buf = Vec::new();
    let mut written = 0u64;
    let expect = scan.mdat_len;
    for k in &scan.keep {
        if reader.next_into(&mut buf)?.is_none() {
            break;
        }
        let Some(k) = k else {
            continue;
        };
        if let Some(c) = k.key.filter(|_| scan.in_band) {
            let params = scan.configs[c].to_access_unit();
            w.write_all(&params).ctx("copying samples")?;
            written += params.len() as u64;
        }
        for nal in nals(&buf) {
            let nal = nal?;
            if !k.codec.is_out_of_band(k.codec.nal_type(nal)) {
                w.write_all(&(nal.len() as u32).to_be_bytes())
                    .and_then(|_| w.write_all(nal))
                    .ctx("copying samples")?;
                written += 4 + nal.len() as u64;
            }
        }
    }
    if written != expect {
        return Err(Error::corrupt(format!(
            "{} changed while being remuxed ({written} bytes of media, expected {expect})",
            chunk.display()
        )));
    }
    Ok(())
}
