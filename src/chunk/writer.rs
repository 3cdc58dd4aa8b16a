//! Appends records to a chunk file through one fixed-size buffer that is allocated once and
//! reused, flushed at every key frame and at least once per flush interval of stream time.

use super::{ChunkIndex, HEADER_LEN, Summary, header};
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
    /// Records not yet written to the file; its capacity is fixed at creation.
    buf: Vec<u8>,
    /// Stream time of the last flush.
    last_flush_us: i64,
    /// Flush at least this often (stream time, microseconds).
    flush_us: i64,
    /// Have the file synced to the disk at least this often (stream time), if at all.
    sync_us: Option<i64>,
    /// Stream time of the last sync asked for.
    last_sync_us: i64,
    /// The codec of the last configuration record appended (H.264 until one says else).
    codec: Codec,
    /// Bytes handed to the file so far (written or buffered).
    len: u64,
    /// Bytes known to be in the file, all whole records: a failed write is cut back to
    /// this, so a full disk never leaves a torn record in the middle of a chunk.
    durable: u64,
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
        Ok(ChunkWriter {
            file,
            path: path.to_owned(),
            buf: Vec::with_capacity(buf_size),
            last_flush_us: i64::MIN,
            flush_us: flush.as_micros() as i64,
            sync_us: sync.map(|d| d.as_micros() as i64),
            last_sync_us: i64::MIN,
            codec: Codec::H264,
            len: 0,
            durable: 0,
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
    /// and parameter records are flushed at once, others when a second has passed or the
    /// buffer is full. Malformed access units are refused before anything is written.
    pub fn append(&mut self, time_us: i64, data: &[u8]) -> Result<()> {
        crate::nal::validate(data)
            .map_err(|e| e.context(format_args!("{}", self.path.display())))?;
        let summary = Summary::of(self.codec, data);
        self.codec = summary.codec_after(self.codec);
        let flush_now = summary.key
            || summary.params_only
            || time_us.saturating_sub(self.last_flush_us) >= self.flush_us;
        let h = header(data.len(), time_us);
        if self.buf.len() + HEADER_LEN + data.len() > self.buf.capacity() {
            self.flush()?;
        }
        if HEADER_LEN + data.len() > self.buf.capacity() {
            // Larger than the whole buffer: write straight through rather than grow it.
            let r = self
                .file
                .write_all(&h)
                .and_then(|_| self.file.write_all(data));
            self.settle(r, (HEADER_LEN + data.len()) as u64)?;
        } else {
            self.buf.extend_from_slice(&h);
            self.buf.extend_from_slice(data);
        }
        self.len += (HEADER_LEN + data.len()) as u64;
        if let Some(i) = &mut self.index
            && !i.push(time_us, data, &summary)
        {
            self.index = None;
        }
        if flush_now {
            self.flush()?;
            self.last_flush_us = time_us;
            if let Some(every) = self.sync_us
                && time_us.saturating_sub(self.last_sync_us) >= every
            {
                self.last_sync_us = time_us;
                if let Some(f) = self.file.handle() {
                    crate::syncer::request(f);
                }
            }
        }
        Ok(())
    }

    /// Writes buffered records to the file (not fsync).
    pub fn flush(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            let r = self.file.write_all(&self.buf);
            let n = self.buf.len() as u64;
            // On failure (ENOSPC) the buffered records are dropped rather than retried out
            // of order: the chunk keeps whole records only up to the last good write.
            self.buf.clear();
            self.settle(r, n)?;
        }
        Ok(())
    }

    /// Accounts for a write of `n` bytes; on failure cuts the file back to its last whole
    /// record so that later records follow on cleanly once space returns.
    fn settle(&mut self, r: std::io::Result<()>, n: u64) -> Result<()> {
        match r {
            Ok(()) => {
                self.durable += n;
                Ok(())
            }
            Err(e) => {
                self.index = None;
                let _ = self.file.truncate(self.durable);
                self.len = self.durable;
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
mod tests {
    use super::*;
    use crate::disk::QuotaDisk;

    #[test]
    fn the_index_is_kept_only_while_every_write_succeeds() {
        let dir = std::env::temp_dir().join(format!("pinvr-writer-index-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = crate::nal::access_unit(&[&[0x67, 0x42, 1, 2], &[0x68, 0xce, 3]]);
        let frame = crate::nal::access_unit(&[&[0x41; 300]]);
        let write = |disk: &QuotaDisk, name: &str| {
            let path = dir.join(name);
            let mut w = ChunkWriter::create_on(disk, &path, 1024, DEFAULT_FLUSH).unwrap();
            let mut failed = false;
            w.append(0, &config).unwrap();
            for i in 1..20 {
                failed |= w.append(i * 50_000, &frame).is_err();
            }
            let index = w.finish_indexed().map(|(_, i)| i).unwrap_or(None);
            (failed, index, std::fs::metadata(&path).unwrap().len())
        };
        let (failed, index, len) = write(&QuotaDisk::new(1 << 20), "roomy.chunk");
        let index = index.expect("no write failed");
        assert!(!failed);
        assert_eq!((index.records(), index.chunk_len()), (20, len));
        // A full disk drops buffered records: an index of them would not be the chunk's.
        let (failed, index, _) = write(&QuotaDisk::new(2000), "full.chunk");
        assert!(failed);
        assert!(index.is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
