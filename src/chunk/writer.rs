//! Appends records to a chunk file through one fixed-size buffer that is allocated once and
//! reused. The buffer mirrors one aligned window of the file (bytes `k * size` to
//! `(k + 1) * size`) and is written when the window is full, so that most writes are whole
//! aligned windows, which the kernel can cache in large folios (a gain that measurements
//! here could not tell from noise: README, "Chunk writes fill aligned windows"). Buffered
//! bytes are also written at every key frame and whenever the oldest of them is a flush
//! interval old (stream time), so a killed process loses no more.

use super::{ChunkIndex, Summary, header};
use crate::codec::Codec;
use crate::disk::{Disk, JournalFile, RealDisk};
use crate::error::{IoContext, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Flush interval of [`ChunkWriter::create`]: a second.
const DEFAULT_FLUSH: Duration = Duration::from_secs(1);

/// Writes chunk records to a file.
pub struct ChunkWriter {
    /// The open chunk file.
    file: Box<dyn JournalFile>,
    /// Where the file is, for error messages.
    path: PathBuf,
    /// The file's bytes from `window` on, up to `len`, never more than `size`. Bytes before
    /// `written` are in the file already.
    buf: Vec<u8>,
    /// The window's size, fixed at creation.
    size: usize,
    /// Offset in the file of the buffer's first byte: a multiple of `size`.
    window: u64,
    /// Bytes handed to the file so far.
    written: u64,
    /// Stream time of the oldest record with bytes not yet handed to the file.
    oldest_us: Option<i64>,
    /// Flush at least this often (stream time, microseconds).
    flush_us: i64,
    /// Have the file synced to the disk at least this often (stream time), if at all.
    sync_us: Option<i64>,
    /// Stream time of the last sync asked for.
    last_sync_us: i64,
    /// The codec of the last configuration record appended (H.264 until one says else).
    codec: Codec,
    /// Bytes appended so far (written or buffered).
    len: u64,
    /// Bytes known to be in the file, all whole records: a failed write is cut back to
    /// this, so a full disk never leaves a torn record in the middle of a chunk.
    durable: u64,
    /// Where the record being appended starts (records before it are whole).
    record_at: u64,
    /// Every record appended, while every write has succeeded (a failed write drops
    /// buffered records, so the index is dropped too and the chunk is read back instead).
    index: Option<ChunkIndex>,
}

impl ChunkWriter {
    /// Creates (truncating) the chunk at `path` with a buffer of `buf_size` bytes, flushed
    /// at least every second.
    pub fn create(path: &Path, buf_size: usize) -> Result<ChunkWriter> {
        ChunkWriter::create_on(&RealDisk, path, buf_size, DEFAULT_FLUSH)
    }

    /// Creates the chunk at `path` on `disk`, flushed at least every `flush` of stream time.
    pub fn create_on(
        disk: &dyn Disk,
        path: &Path,
        buf_size: usize,
        flush: Duration,
    ) -> Result<ChunkWriter> {
        ChunkWriter::create_synced(disk, path, buf_size, flush, None)
    }

    /// [`create_on`](Self::create_on), with the file synced to the disk (by the
    /// [`crate::syncer`]) at least every `sync` of stream time when given.
    pub fn create_synced(
        disk: &dyn Disk,
        path: &Path,
        buf_size: usize,
        flush: Duration,
        sync: Option<Duration>,
    ) -> Result<ChunkWriter> {
        let file = disk
            .create(path)
            .ctx(format_args!("creating {}", path.display()))?;
        let size = buf_size.max(1);
        Ok(ChunkWriter {
            file,
            path: path.to_owned(),
            buf: Vec::with_capacity(size),
            size,
            window: 0,
            written: 0,
            oldest_us: None,
            flush_us: flush.as_micros() as i64,
            sync_us: sync.map(|d| d.as_micros() as i64),
            last_sync_us: i64::MIN,
            codec: Codec::H264,
            len: 0,
            durable: 0,
            record_at: 0,
            index: Some(ChunkIndex::default()),
        })
    }

    /// Makes room in the index for `records` more records (the last minute's count, say),
    /// so that it does not grow by doubling.
    pub fn reserve(&mut self, records: usize) {
        if let Some(i) = &mut self.index {
            i.reserve(records);
        }
    }

    /// Appends one access unit (length-prefixed NAL units) taken at `time_us`. Key frames
    /// and parameter records are handed to the file at once, others when their window is
    /// full or the oldest buffered record is a flush interval old. Malformed access units
    /// are refused before anything is written.
    pub fn append(&mut self, time_us: i64, data: &[u8]) -> Result<()> {
        crate::nal::validate(data)
            .map_err(|e| e.context(format_args!("{}", self.path.display())))?;
        let summary = Summary::of(self.codec, data);
        self.codec = summary.codec_after(self.codec);
        self.record_at = self.len;
        self.put(&header(data.len(), time_us))?;
        self.put(data)?;
        self.record_at = self.len;
        if self.written == self.len {
            // The record ended a window, which was written whole: it is in the file.
            self.durable = self.len;
        }
        if self.written < self.len && self.oldest_us.is_none() {
            self.oldest_us = Some(time_us);
        }
        if let Some(i) = &mut self.index
            && !i.push(time_us, data, &summary)
        {
            self.index = None;
        }
        let due = self
            .oldest_us
            .is_some_and(|o| time_us.saturating_sub(o) >= self.flush_us);
        if summary.key || summary.params_only || due {
            self.flush()?;
        }
        self.ask_sync(time_us);
        Ok(())
    }

    /// Asks the syncer to sync the file if a sync interval of stream time has passed by
    /// `now_us` since the last request (not at [`finish`](Self::finish): a closed chunk is
    /// not synced).
    fn ask_sync(&mut self, now_us: i64) {
        if let Some(every) = self.sync_us
            && self.written > 0
            && now_us.saturating_sub(self.last_sync_us) >= every
        {
            self.last_sync_us = now_us;
            if let Some(f) = self.file.handle() {
                crate::syncer::request(f);
            }
        }
    }

    /// Copies `bytes` into the window, writing each window out as it fills.
    fn put(&mut self, mut bytes: &[u8]) -> Result<()> {
        let size = self.size;
        while !bytes.is_empty() {
            let take = (size - self.buf.len()).min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            self.len += take as u64;
            bytes = &bytes[take..];
            if self.buf.len() == size {
                self.flush()?;
                self.buf.clear();
                self.window += size as u64;
            }
        }
        Ok(())
    }

    /// Hands the buffered bytes not yet written to the file (not fsync).
    pub fn flush(&mut self) -> Result<()> {
        if self.written == self.len {
            return Ok(());
        }
        let from = (self.written - self.window) as usize;
        match self.file.write_all(&self.buf[from..]) {
            Ok(()) => {
                self.written = self.len;
                // A window can end inside a record: whole records end where it starts.
                self.durable = self.record_at;
                self.oldest_us = None;
                Ok(())
            }
            Err(e) => {
                // On failure (ENOSPC) the records not yet whole in the file are dropped
                // rather than retried out of order: the chunk keeps whole records only up to
                // the last good write, and later records follow on from there.
                self.index = None;
                if let Err(t) = self.file.truncate(self.durable) {
                    // Shortening a file needs no space; should it fail anyway, later
                    // records follow torn bytes, and this says which chunk.
                    log::warn!(
                        "cutting {} back after a failed write: {t}",
                        self.path.display()
                    );
                }
                self.len = self.durable;
                self.written = self.durable;
                self.record_at = self.durable;
                self.oldest_us = None;
                let size = self.size as u64;
                self.window = self.durable / size * size;
                // The window's bytes before `written` are never written again: what the
                // buffer holds for them does not matter, only how many there are.
                self.buf.resize((self.durable - self.window) as usize, 0);
                Err(crate::Error::io(
                    format_args!("writing {}", self.path.display()),
                    e,
                ))
            }
        }
    }

    /// Flushes, then closes the file, without fsync: a closed chunk lives for a fraction of
    /// a second, until the finisher has published its MP4 (which is fsynced before the chunk
    /// is deleted). The kernel writes back what is older than its dirty-expiry time (30 s by
    /// default) meanwhile, as it does for the open minute, and the rest never reaches the
    /// disk at all: a minute is written to the card about 1.5 times rather than twice. A
    /// power cut in that fraction of a second loses at most what a power cut at any other
    /// moment loses of the open minute.
    pub fn finish(self) -> Result<PathBuf> {
        self.finish_indexed().map(|(path, _)| path)
    }

    /// [`finish`](Self::finish), with the index of every record appended if every write
    /// succeeded.
    pub fn finish_indexed(mut self) -> Result<(PathBuf, Option<ChunkIndex>)> {
        self.flush()?;
        Ok((self.path, self.index))
    }

    /// Bytes appended so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if nothing has been appended.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunk's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
