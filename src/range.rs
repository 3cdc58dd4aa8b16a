//! A time range of one camera as one MP4, assembled from the minute files' sample tables
//! and streamed straight from them: the header is built in memory, the media data is the
//! minutes' `mdat` bodies back to back. No temporary file, no remux of the payload, the
//! length known before the first byte, any byte range readable on its own.

use crate::error::{Error, IoContext, Result};
use crate::mp4::{self, Chunk, Track};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

/// Where a stretch of the virtual file's media data comes from.
#[derive(Clone, Debug)]
struct Part {
    /// The minute file.
    path: PathBuf,
    /// Offset of the stretch in that file.
    file_offset: u64,
    /// Offset of the stretch in the virtual file.
    start: u64,
    /// Length of the stretch.
    len: u64,
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
    pub fn build(files: &[PathBuf]) -> Result<RangeMp4> {
        let mut track = Track::default();
        let mut sources = Vec::new();
        let mut media_len = 0u64;
        for path in files {
            let parsed = match mp4::parse(path) {
                Ok(p) => p,
                Err(e) => {
                    log::warn!("range: skipping {e}");
                    continue;
                }
            };
            if track.samples.is_empty() {
                track.media_time = parsed.track.media_time;
                track.start_us = parsed.track.start_us;
            }
            let mut map = Vec::with_capacity(parsed.track.entries.len());
            for e in parsed.track.entries {
                map.push(match track.entries.iter().position(|x| *x == e) {
                    Some(i) => i as u32,
                    None => {
                        track.entries.push(e);
                        (track.entries.len() - 1) as u32
                    }
                });
            }
            // Each source chunk stays a chunk, moved to where its minute lands.
            for c in &parsed.track.chunks {
                track.chunks.push(Chunk {
                    offset: media_len + c.offset,
                    samples: c.samples,
                    entry: map[c.entry as usize],
                });
            }
            track.samples.extend_from_slice(&parsed.track.samples);
            sources.push((path.clone(), parsed.data_start, media_len, parsed.data_len));
            media_len += parsed.data_len;
        }
        if track.samples.is_empty() {
            return Err(Error::new(
                crate::ErrorKind::NotFound,
                "no recorded minute in that range",
            ));
        }
        let header = mp4::header(&track, media_len);
        let base = header.len() as u64;
        let parts = sources
            .into_iter()
            .map(|(path, file_offset, start, len)| Part {
                path,
                file_offset,
                start: base + start,
                len,
            })
            .collect();
        Ok(RangeMp4 {
            len: base + media_len,
            frames: track.samples.len(),
            duration: track.duration(),
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

/// Reads a byte range of a [`RangeMp4`], opening minute files as it reaches them.
pub struct RangeReader {
    /// What is read.
    range: RangeMp4,
    /// Next offset to read.
    pos: u64,
    /// Offset to stop at.
    end: u64,
    /// The part being read, its open file, and the file's current position.
    open: Option<(usize, File, u64)>,
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
        if self.open.as_ref().is_none_or(|(k, _, _)| *k != i) {
            let f = File::open(&part.path)?;
            // Read sequentially from here on: the kernel doubles its read-ahead, which is
            // what a download from a cold SD card waits on.
            let _ = nix::fcntl::posix_fadvise(
                &f,
                0,
                0,
                nix::fcntl::PosixFadviseAdvice::POSIX_FADV_SEQUENTIAL,
            );
            self.open = Some((i, f, u64::MAX));
        }
        let (_, f, at) = self.open.as_mut().expect("opened above");
        // Seek only when not already there: reads are sequential but for the first.
        let want_at = part.file_offset + within;
        if *at != want_at {
            f.seek(SeekFrom::Start(want_at))?;
        }
        let got = f.read(&mut buf[..n])?;
        *at = want_at + got as u64;
        if got == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "{} is shorter than when the range was built",
                    part.path.display()
                ),
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
