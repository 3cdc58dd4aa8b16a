//! A time range of one camera as one MP4, assembled from the minute files' sample tables
//! and streamed straight from them: the header is built in memory, the media data is the
//! minutes' `mdat` bodies back to back. No temporary file, no remux of the payload, the
//! length known before the first byte, any byte range readable on its own. Minutes of
//! different parameters (a camera that changed its resolution) make one in-band
//! description (`avc3`/`hev1`), and the parameter sets are served from memory in front of
//! each key frame that needs them. A minute only in the offload store is read the same
//! way, its header and media data fetched by byte range ([`Input::Blob`]).

use crate::blob::Blob;
use crate::error::{Error, IoContext, Result};
use crate::mp4::{self, SampleEntry, Track};
use crate::parameters::Parameters;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

/// How far before a span of seconds its first minute file is looked for: a minute file
/// starts at a key frame, so with a camera's GOP of up to this many minutes the frames at the
/// span's start are in an earlier file (a 120 s GOP leaves every other minute without a file
/// of its own).
pub const LEAD_MINUTES: i64 = 10;

/// The minutes `items` (minute, file; ascending) that may hold frames from minute `first`
/// on: those from `first`, and the latest one before it (it runs on until the next file
/// starts).
pub fn lead_in<T>(items: Vec<(i64, T)>, first: i64) -> Vec<T> {
    let keep = items.iter().rposition(|(m, _)| *m < first).unwrap_or(0);
    items.into_iter().skip(keep).map(|(_, t)| t).collect()
}

/// Where a stretch of the virtual file's media data comes from.
#[derive(Clone, Debug)]
struct Part {
    /// A minute file, or bytes in memory.
    source: Source,
    /// Offset of the stretch in the virtual file.
    start: u64,
    /// Length of the stretch.
    len: u64,
}

/// A minute to assemble: a local file, or bytes held elsewhere.
#[derive(Clone, Debug)]
pub enum Input {
    /// A minute file.
    File(PathBuf),
    /// A minute in the offload store.
    Blob(Arc<dyn Blob>),
}

impl From<PathBuf> for Input {
    fn from(p: PathBuf) -> Input {
        Input::File(p)
    }
}

impl From<&PathBuf> for Input {
    fn from(p: &PathBuf) -> Input {
        Input::File(p.clone())
    }
}

impl Input {
    fn parse(&self) -> Result<mp4::Parsed> {
        match self {
            Input::File(p) => mp4::parse(p),
            Input::Blob(b) => mp4::parse_from(&mut crate::blob::Cursor::new(b.as_ref()), b.len())
                .map_err(|e| e.context(b.name())),
        }
    }
}

/// The bytes of a [`Part`].
#[derive(Clone, Debug)]
enum Source {
    /// A stretch of a minute file from this offset.
    File(PathBuf, u64),
    /// A stretch of a minute held elsewhere from this offset.
    Blob(Arc<dyn Blob>, u64),
    /// Parameter sets put in front of a key frame.
    Memory(Arc<Vec<u8>>),
}

/// The frames kept of one minute file.
struct Piece {
    input: Input,
    parsed: mp4::Parsed,
    /// First and last sample kept (decode order).
    first: usize,
    last: usize,
}

/// An assembled range, ready to be read from any offset.
#[derive(Clone, Debug)]
pub struct RangeMp4 {
    /// `ftyp`, `moov` and the `mdat` header.
    header: Arc<Vec<u8>>,
    /// The media data, in order.
    parts: Arc<Vec<Part>>,
    /// Total length in bytes.
    len: u64,
    /// Number of frames.
    pub frames: usize,
    /// Duration in 90 kHz ticks.
    pub duration: u64,
}

impl RangeMp4 {
    /// Assembles the minute files `files` (in time order) into one MP4. Minutes that
    /// cannot be parsed are skipped with a log line; no minute at all is an error.
    pub fn build<T: Into<Input> + Clone>(files: &[T]) -> Result<RangeMp4> {
        RangeMp4::build_cut(files, None)
    }

    /// [`build`](Self::build), cut to the wall-clock times `cut` = (from, to) in
    /// microseconds when given: the file starts at the key frame at or before `from`, with
    /// an edit list so that players begin at `from` exactly, and ends with the last frame
    /// before `to` (frames after it that earlier ones need stay, hidden by the edit list).
    /// Only the media data of the frames kept is served.
    pub fn build_cut<T: Into<Input> + Clone>(
        files: &[T],
        cut: Option<(i64, i64)>,
    ) -> Result<RangeMp4> {
        let (from, to) = cut.unwrap_or((i64::MIN, i64::MAX));
        let mut track = Track::default();
        let mut sources = Vec::new();
        let mut media_len = 0u64;
        // Ticks of the first kept frame hidden before `from`, and of the last ones after `to`.
        let (mut skip, mut tail) = (0u64, 0u64);
        let mut pieces = Vec::new();
        for input in files {
            let input: Input = input.clone().into();
            let parsed = match input.parse() {
                Ok(p) => p,
                Err(e) => {
                    log::warn!("range: skipping {e}");
                    continue;
                }
            };
            let t = &parsed.track;
            let times = t.presentation_us();
            // The frames kept, in decode order: from the key frame at or before `from`
            // (the first frame if there is none) to the last frame shown before `to`.
            let Some(last) = times.iter().rposition(|&(p, _)| p < to) else {
                break;
            };
            let first = if pieces.is_empty() {
                let end = times.iter().map(|&(p, d)| p + d).max().unwrap_or(i64::MIN);
                if end <= from {
                    continue;
                }
                let k = (0..=last)
                    .rev()
                    .find(|&i| t.samples[i].sync && times[i].0 <= from)
                    .unwrap_or(0);
                skip = us_to_ticks(from.saturating_sub(times[k].0).max(0));
                track.media_time = t.samples[k].cts_offset + skip as u32;
                track.start_us = times[k].0.max(from);
                k
            } else {
                0
            };
            let end = times[first..=last]
                .iter()
                .map(|&(p, d)| p + d)
                .max()
                .unwrap_or(0);
            tail = us_to_ticks(end.saturating_sub(to).max(0));
            let whole = last + 1 == t.samples.len();
            pieces.push(Piece {
                input,
                parsed,
                first,
                last,
            });
            if !whole {
                break;
            }
        }
        let mut entries: Vec<SampleEntry> = Vec::new();
        for p in &pieces {
            for e in &p.parsed.track.entries {
                if !entries.contains(e) {
                    entries.push(e.clone());
                }
            }
        }
        let in_band =
            entries.len() > 1 && entries.windows(2).all(|w| w[0].is_hevc() == w[1].is_hevc());
        track.entries = if in_band {
            vec![entries[0].to_in_band()]
        } else {
            entries.clone()
        };
        for p in &pieces {
            media_len = push_piece(p, &entries, in_band, &mut track, &mut sources, media_len)?;
        }
        if track.samples.is_empty() {
            return Err(Error::new(
                crate::ErrorKind::NotFound,
                "no recorded minute in that range",
            ));
        }
        if cut.is_some() {
            let whole = track.duration();
            track.edit_duration = Some(whole.saturating_sub(skip + tail).max(1));
        }
        let header = mp4::header(&track, media_len);
        let base = header.len() as u64;
        let parts = sources
            .into_iter()
            .map(|(source, start, len)| Part {
                source,
                start: base + start,
                len,
            })
            .collect();
        Ok(RangeMp4 {
            len: base + media_len,
            frames: track.samples.len(),
            duration: track.edit_duration.unwrap_or_else(|| track.duration()),
            header: Arc::new(header),
            parts: Arc::new(parts),
        })
    }

    /// Total length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if the file is empty (never, for a built range).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A reader of `len` bytes from `start`.
    pub fn reader(&self, start: u64, len: u64) -> RangeReader {
        RangeReader {
            range: self.clone(),
            pos: start,
            end: start.saturating_add(len).min(self.len),
            open: None,
        }
    }
}

/// Bytes between two frames of a minute that are served with them rather than starting a
/// new stretch of the file (a chunk record's header is 17; its configuration records more).
const MAX_GAP: u64 = 4096;

/// Appends the kept frames of `p` to `track` and their bytes to `sources` (source, start
/// in the media data, length), from `media_len` on; returns the new media length. The
/// kept frames are in order in the minute's media data, back to back or a few bytes apart
/// (served as they are); with `in_band`, key frames of an out-of-band description get its
/// parameter sets in front, from memory.
fn push_piece(
    p: &Piece,
    entries: &[SampleEntry],
    in_band: bool,
    track: &mut Track,
    sources: &mut Vec<(Source, u64, u64)>,
    mut media_len: u64,
) -> Result<u64> {
    let t = &p.parsed.track;
    let mut map = Vec::new();
    let mut inject: Vec<Option<Arc<Vec<u8>>>> = Vec::new();
    for e in &t.entries {
        map.push(entries.iter().position(|x| x == e).unwrap_or(0) as u32);
        inject.push(if in_band && !e.in_band() {
            Some(Arc::new(Parameters::from_entry(e)?.to_access_unit()))
        } else {
            None
        });
    }
    let offsets = t.sample_offsets();
    // The stretch of the file being gathered: (offset in the file, length).
    let mut run: Option<(u64, u64)> = None;
    let file = |run: (u64, u64)| match &p.input {
        Input::File(path) => Source::File(path.clone(), p.parsed.data_start + run.0),
        Input::Blob(b) => Source::Blob(b.clone(), p.parsed.data_start + run.0),
    };
    let kept = offsets[p.first..=p.last]
        .iter()
        .zip(&t.samples[p.first..=p.last]);
    for (&(off, entry), &original) in kept {
        let mut sample = original;
        let at = media_len;
        if let Some(params) = inject[entry as usize].as_ref().filter(|_| sample.sync) {
            if let Some(r) = run.take() {
                sources.push((file(r), media_len - r.1, r.1));
            }
            let n = params.len() as u64;
            sources.push((Source::Memory(params.clone()), media_len, n));
            media_len += n;
            sample.size += n as u32;
        }
        // Bytes between this frame and the last in the minute (a chunk's record headers,
        // in an MP4 that shares its chunk's blocks) are served too, unreferenced, when few:
        // one stretch of the file rather than one per frame.
        let size = u64::from(original.size);
        let mut at = at;
        run = Some(match run {
            Some((o, l)) if off >= o + l && off - (o + l) <= MAX_GAP => {
                let gap = off - (o + l);
                media_len += gap;
                at += gap;
                (o, l + gap + size)
            }
            Some(r) => {
                sources.push((file(r), media_len - r.1, r.1));
                (off, size)
            }
            None => (off, size),
        });
        media_len += size;
        track.push(sample, if in_band { 0 } else { map[entry as usize] }, at);
    }
    if let Some(r) = run {
        sources.push((file(r), media_len - r.1, r.1));
    }
    Ok(media_len)
}

/// Microseconds to 90 kHz ticks.
fn us_to_ticks(us: i64) -> u64 {
    (i128::from(us) * 9 / 100) as u64
}

/// An open source: a file, or a reader of a blob's stretch.
enum Open {
    File(File),
    Blob(Box<dyn Read + Send>),
}

/// Reads a byte range of a [`RangeMp4`], opening minute files as it reaches them.
pub struct RangeReader {
    /// What is read.
    range: RangeMp4,
    /// Next offset to read.
    pos: u64,
    /// Offset to stop at.
    end: u64,
    /// The part being read, its open source, and the source's current position.
    open: Option<(usize, Open, u64)>,
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.end || buf.is_empty() {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(self.end - self.pos) as usize;
        let header = &self.range.header;
        if self.pos < header.len() as u64 {
            let from = self.pos as usize;
            let n = want.min(header.len() - from);
            buf[..n].copy_from_slice(&header[from..from + n]);
            self.pos += n as u64;
            return Ok(n);
        }
        let parts = &self.range.parts;
        let i = parts.partition_point(|p| p.start + p.len <= self.pos);
        let part = parts
            .get(i)
            .ok_or_else(|| std::io::Error::other("read past the end"))?;
        let within = self.pos - part.start;
        let n = want.min((part.len - within) as usize);
        let want_at = match &part.source {
            Source::File(_, offset) | Source::Blob(_, offset) => offset + within,
            Source::Memory(bytes) => {
                buf[..n].copy_from_slice(&bytes[within as usize..within as usize + n]);
                self.pos += n as u64;
                return Ok(n);
            }
        };
        // Reopen only when not already there: reads are sequential but for the first.
        if self
            .open
            .as_ref()
            .is_none_or(|(k, _, at)| *k != i || *at != want_at)
        {
            let opened = match &part.source {
                Source::File(path, _) => {
                    let mut f = File::open(path)?;
                    // Read sequentially from here on: the kernel doubles its read-ahead,
                    // which is what a download from a cold SD card waits on.
                    let _ = nix::fcntl::posix_fadvise(
                        &f,
                        0,
                        0,
                        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_SEQUENTIAL,
                    );
                    f.seek(SeekFrom::Start(want_at))?;
                    Open::File(f)
                }
                // The rest of the part in one request.
                Source::Blob(b, _) => Open::Blob(b.open(want_at, part.len - within)?),
                Source::Memory(_) => unreachable!("answered above"),
            };
            self.open = Some((i, opened, want_at));
        }
        let (_, opened, at) = self.open.as_mut().expect("opened above");
        let got = match opened {
            Open::File(f) => f.read(&mut buf[..n])?,
            Open::Blob(r) => r.read(&mut buf[..n])?,
        };
        *at = want_at + got as u64;
        if got == 0 {
            let what = match &part.source {
                Source::File(path, _) => path.display().to_string(),
                Source::Blob(b, _) => b.name().to_owned(),
                Source::Memory(_) => String::new(),
            };
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{what} is shorter than when the range was built"),
            ));
        }
        self.pos += got as u64;
        Ok(got)
    }
}

/// Reads a whole range into memory (tests and small ranges).
pub fn read_all(range: &RangeMp4) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(range.len() as usize);
    range
        .reader(0, range.len())
        .read_to_end(&mut out)
        .ctx("reading range")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::lead_in;

    #[test]
    fn the_lead_in_is_the_latest_file_before_the_first_minute() {
        let files = vec![(1, "a"), (3, "b"), (5, "c"), (6, "d")];
        assert_eq!(lead_in(files.clone(), 5), ["b", "c", "d"]);
        assert_eq!(lead_in(files.clone(), 4), ["b", "c", "d"]);
        assert_eq!(lead_in(files.clone(), 1), ["a", "b", "c", "d"]);
        assert_eq!(lead_in(files.clone(), 9), ["d"]);
        assert_eq!(lead_in(Vec::<(i64, &str)>::new(), 9), Vec::<&str>::new());
    }
}
