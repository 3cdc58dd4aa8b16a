//! Unit tests of [`ChunkWriter`](super::ChunkWriter): window writes, the flush interval and
//! a full disk.

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

/// Checks what a kill -9 would lose at `t`, with `ends` each record's time and end offset
/// so far: never a record a flush interval older than the newest.
fn assert_kill_loses_under_flush(disk: &LoggingDisk, ends: &[(i64, u64)], t: i64, flush: Duration) {
    let in_file: u64 = disk.0.lock().unwrap().iter().map(|&(_, n)| n as u64).sum();
    if let Some(&(since, _)) = ends.iter().find(|&&(_, end)| end > in_file) {
        assert!(t - since < flush.as_micros() as i64, "{t}: since {since}");
    }
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
        assert_kill_loses_under_flush(&disk, &ends, *t, flush);
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
        assert_kill_loses_under_flush(&disk, &ends, t, flush);
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
