//! Appends records to a chunk file through one fixed-size buffer that is allocated once and
//! reused. The buffer mirrors one aligned window of the file (bytes `k * size` to
//! `(k + 1) * size`) and is written when the window is full, so that most writes are whole
//! aligned windows: the kernel then caches them in large folios, which at 64 KiB costs about
//! half the system time of the same bytes written at arbitrary offsets (measured on XFS; see
//! BENCHMARKS.md). Buffered bytes are also written at every key frame and whenever the oldest
//! of them is a flush interval old (stream time), so a killed process loses no more.

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
    /// Stream time of the record appended last.
    newest_us: i64,
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
        Ok(ChunkWriter {
            file,
            path: path.to_owned(),
            buf: Vec::with_capacity(buf_size.max(1)),
            size: buf_size.max(1),
            window: 0,
            written: 0,
            oldest_us: None,
            flush_us: flush.as_micros() as i64,
            sync_us: sync.map(|d| d.as_micros() as i64),
            last_sync_us: i64::MIN,
            newest_us: i64::MIN,
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
        self.newest_us = time_us;
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
        self.ask_sync();
        Ok(())
    }

    /// Asks the syncer to sync the file if a sync interval of stream time has passed since
    /// the last request (not at [`finish`](Self::finish): a closed chunk is not synced).
    fn ask_sync(&mut self) {
        if let Some(every) = self.sync_us
            && self.written > 0
            && self.newest_us.saturating_sub(self.last_sync_us) >= every
        {
            self.last_sync_us = self.newest_us;
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
                let window = self.durable / size * size;
                // The window's bytes before `written` are never written again: what the
                // buffer holds for them does not matter.
                if window != self.window {
                    self.buf.clear();
                    self.window = window;
                }
                self.buf.resize((self.durable - window) as usize, 0);
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

    /// A disk whose files log each write: (offset, length).
    #[derive(Default)]
    struct LoggingDisk(std::sync::Arc<std::sync::Mutex<Vec<(u64, usize)>>>);

    struct LoggingFile {
        file: std::fs::File,
        at: u64,
        log: std::sync::Arc<std::sync::Mutex<Vec<(u64, usize)>>>,
    }

    impl Write for LoggingFile {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.file.write(buf)?;
            self.log.lock().unwrap().push((self.at, n));
            self.at += n as u64;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl crate::disk::JournalFile for LoggingFile {
        fn truncate(&mut self, len: u64) -> std::io::Result<()> {
            crate::disk::JournalFile::truncate(&mut self.file, len)?;
            self.at = len;
            Ok(())
        }
        fn handle(&self) -> Option<std::fs::File> {
            None
        }
    }

    impl Disk for LoggingDisk {
        fn usage(&self, _: &Path) -> Option<(u64, u64)> {
            None
        }
        fn create(&self, path: &Path) -> std::io::Result<Box<dyn crate::disk::JournalFile>> {
            Ok(Box::new(LoggingFile {
                file: std::fs::File::create(path)?,
                at: 0,
                log: self.0.clone(),
            }))
        }
    }

    /// 20 fps for `secs` seconds: a 30 KB key frame every 2 s, P frames of 700 to 2,700
    /// bytes. (time, access unit, key).
    fn stream(secs: i64) -> Vec<(i64, Vec<u8>, bool)> {
        (0..secs * 20)
            .map(|i| {
                let key = i % 40 == 0;
                let (nal, len) = if key {
                    (0x65, 30_000)
                } else {
                    (0x41, 700 + (i * 7919 % 2000) as usize)
                };
                let mut payload = vec![(i % 251) as u8; len];
                payload[0] = nal;
                (i * 50_000, crate::nal::access_unit(&[&payload]), key)
            })
            .collect()
    }

    fn read_back(path: &Path) -> (Vec<(i64, Vec<u8>)>, u64) {
        let mut r = super::super::ChunkReader::new(std::fs::File::open(path).unwrap());
        let (mut got, mut buf) = (Vec::new(), Vec::new());
        while let Some(rec) = r.next_into(&mut buf).unwrap() {
            got.push((rec.time_us, buf.clone()));
        }
        (got, r.torn_bytes())
    }

    #[test]
    fn writes_are_whole_aligned_windows_but_at_key_frames_and_the_flush_interval() {
        let dir = std::env::temp_dir().join(format!("pinvr-writer-windows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.chunk");
        let disk = LoggingDisk::default();
        let size = 16 << 10;
        let flush = Duration::from_millis(750);
        let mut w = ChunkWriter::create_on(&disk, &path, size, flush).unwrap();
        let frames = stream(20);
        let mut ends = Vec::new();
        for (t, au, _) in &frames {
            w.append(*t, au).unwrap();
            ends.push((*t, w.len()));
            // What a kill -9 would lose now: never a record a flush interval older than
            // the newest.
            let in_file: u64 = disk.0.lock().unwrap().iter().map(|&(_, n)| n as u64).sum();
            if let Some(&(since, _)) = ends.iter().find(|&&(_, end)| end > in_file) {
                assert!(t - since < flush.as_micros() as i64, "{t}: since {since}");
            }
        }
        w.finish().unwrap();
        let log = disk.0.lock().unwrap().clone();
        let size = size as u64;
        // Sequential, and never across a window's end.
        let mut at = 0;
        for &(off, n) in &log {
            assert_eq!(off, at);
            assert_eq!(off / size, (off + n as u64 - 1) / size, "write {off}+{n}");
            at += n as u64;
        }
        let whole = log
            .iter()
            .filter(|&&(off, n)| off.is_multiple_of(size) && n as u64 == size)
            .count();
        let ends = log
            .iter()
            .filter(|&&(off, n)| (off + n as u64).is_multiple_of(size))
            .count();
        let keys = frames.iter().filter(|f| f.2).count();
        // 20 s of about 60 KB/s: 73 windows. Each key frame (and the end) cuts one short.
        eprintln!(
            "{} writes, {whole} whole windows, {ends} at a window's end",
            log.len()
        );
        assert!(
            whole >= ends - 2 * keys - 1 && ends * 10 >= log.len() * 7,
            "{log:?}"
        );
        let (got, torn) = read_back(&path);
        assert_eq!(torn, 0);
        let want: Vec<(i64, Vec<u8>)> = frames.into_iter().map(|(t, au, _)| (t, au)).collect();
        assert!(got == want, "the chunk reads back every record as appended");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_slow_stream_is_written_every_flush_interval() {
        let dir = std::env::temp_dir().join(format!("pinvr-writer-slow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("slow.chunk");
        let disk = LoggingDisk::default();
        let flush = Duration::from_millis(750);
        let mut w = ChunkWriter::create_on(&disk, &path, 16 << 10, flush).unwrap();
        // One key frame, then 10 s of 200-byte P frames at 20 fps: 4.4 KB/s, a window in
        // 3.7 s. Only the flush interval writes them.
        let key = vec![0x65; 3_000];
        w.append(0, &crate::nal::access_unit(&[&key])).unwrap();
        let mut ends = vec![(0, w.len())];
        for i in 1..200 {
            let t = i * 50_000;
            w.append(t, &crate::nal::access_unit(&[&[0x41; 200]]))
                .unwrap();
            ends.push((t, w.len()));
            let in_file: u64 = disk.0.lock().unwrap().iter().map(|&(_, n)| n as u64).sum();
            if let Some(&(since, _)) = ends.iter().find(|&&(_, end)| end > in_file) {
                assert!(t - since < flush.as_micros() as i64, "{t}: since {since}");
            }
        }
        let writes = disk.0.lock().unwrap().len();
        // The key frame's write, then one each 0.75 s (and those a window's end splits).
        assert!((13..=17).contains(&writes), "{writes} writes");
        w.finish().unwrap();
        assert_eq!(read_back(&path).0.len(), 200);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_record_that_ends_a_window_survives_a_full_disk_after_it() {
        let dir = std::env::temp_dir().join(format!("pinvr-writer-edge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("edge.chunk");
        let size = 4096;
        let disk = QuotaDisk::new(size as u64);
        let mut w = ChunkWriter::create_on(&disk, &path, size, DEFAULT_FLUSH).unwrap();
        // A P frame whose record (header, length prefix, payload) fills the window exactly:
        // it is written whole when its last byte goes in.
        let p = vec![0x41; size - super::super::HEADER_LEN - 4];
        let p = crate::nal::access_unit(&[&p]);
        w.append(0, &p).unwrap();
        assert_eq!(disk.used(), size as u64);
        // The disk is full: the key frame after it is refused, and only it.
        let e = w.append(50_000, &crate::nal::access_unit(&[&[0x65; 100]]));
        assert_eq!(e.unwrap_err().kind(), crate::error::ErrorKind::StorageFull);
        assert_eq!(w.len(), size as u64);
        w.finish().unwrap();
        assert_eq!(read_back(&path), (vec![(0, p)], 0));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_full_disk_in_the_middle_of_a_window_loses_only_the_records_not_yet_whole() {
        let dir = std::env::temp_dir().join(format!("pinvr-writer-full-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for quota in [5_000u64, 16_384, 40_000, 70_001] {
            let path = dir.join(format!("{quota}.chunk"));
            let disk = QuotaDisk::new(quota);
            let mut w = ChunkWriter::create_on(&disk, &path, 16 << 10, DEFAULT_FLUSH).unwrap();
            let mut kept = Vec::new();
            let mut refused = 0;
            for (i, (t, au, _)) in stream(8).into_iter().enumerate() {
                if i == 60 {
                    disk.set_quota(u64::MAX);
                }
                // A record whose append succeeded may still be dropped by a later failed
                // write (it was only buffered); one whose append failed is not in the chunk.
                match w.append(t, &au) {
                    Ok(()) => kept.push((t, au)),
                    Err(e) => {
                        assert_eq!(e.kind(), crate::error::ErrorKind::StorageFull, "{e}");
                        refused += 1;
                    }
                }
            }
            let len = w.len();
            w.finish().unwrap();
            assert!(refused > 0, "quota {quota}");
            let (got, torn) = read_back(&path);
            assert_eq!(torn, 0, "quota {quota}: a full disk left a torn record");
            assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
            // Every record read back is one appended, in order, and every append that
            // succeeded after the space came back is there.
            let mut it = kept.iter();
            for g in &got {
                assert!(it.any(|k| k == g), "quota {quota}: {} not appended", g.0);
            }
            let after: Vec<_> = kept.iter().filter(|k| k.0 >= 60 * 50_000).collect();
            assert!(!after.is_empty());
            for k in after {
                assert!(
                    got.contains(k),
                    "quota {quota}: {} lost after space returned",
                    k.0
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
