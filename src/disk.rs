//! The disk under the recordings, behind a trait: how much is free, and the journal files
//! the recorder appends to. [`RealDisk`] is the filesystem; tests use a disk with a quota
//! that fills up and empties on command ([`QuotaDisk`]), so disk-full handling is tested
//! frame by frame.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A file being appended to, that can be cut back after a failed write.
pub trait JournalFile: Write + Send {
    /// Cuts the file to `len` bytes and continues writing there.
    fn truncate(&mut self, len: u64) -> std::io::Result<()>;
    /// Another handle of the file, for syncing it from another thread.
    fn handle(&self) -> Option<File>;
}

impl JournalFile for File {
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.set_len(len)?;
        self.seek(SeekFrom::Start(len)).map(|_| ())
    }

    fn handle(&self) -> Option<File> {
        self.try_clone().ok()
    }
}

/// Where recordings are written.
pub trait Disk: Send + Sync {
    /// Free and total bytes of the filesystem holding `path`.
    fn usage(&self, path: &Path) -> Option<(u64, u64)>;
    /// Creates (truncating) a journal file at `path`.
    fn create(&self, path: &Path) -> std::io::Result<Box<dyn JournalFile>>;
}

/// The real filesystem.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealDisk;

impl Disk for RealDisk {
    fn usage(&self, path: &Path) -> Option<(u64, u64)> {
        usage(path)
    }

    fn create(&self, path: &Path) -> std::io::Result<Box<dyn JournalFile>> {
        Ok(Box::new(File::create(path)?))
    }
}

/// Free and total bytes of the filesystem holding `path` (statvfs).
pub fn usage(path: &Path) -> Option<(u64, u64)> {
    let s = nix::sys::statvfs::statvfs(path).ok()?;
    // The fields are 32-bit on armv7: widen before multiplying.
    let frag = s.fragment_size() as u64;
    Some((s.blocks_available() as u64 * frag, s.blocks() as u64 * frag))
}

/// [`usage`] of `path`, or of its nearest existing ancestor (a folder not created yet will
/// be on that filesystem).
pub fn usage_nearest(path: &Path) -> Option<(u64, u64)> {
    path.ancestors().find(|p| p.exists()).and_then(usage)
}

/// Total allocated size of the files in a folder tree. Symbolic links are not followed.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.path().symlink_metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) if m.is_file() => m.blocks() * 512,
            _ => 0,
        })
        .sum()
}

/// A disk for tests: the real filesystem, but journal files count against a quota that
/// tests set, and writes past it fail with ENOSPC, as on a full disk.
#[derive(Clone, Debug, Default)]
pub struct QuotaDisk {
    /// (quota in bytes, bytes written through journal files).
    state: std::sync::Arc<std::sync::Mutex<(u64, u64)>>,
}

impl QuotaDisk {
    /// A disk with `quota` bytes.
    pub fn new(quota: u64) -> QuotaDisk {
        let d = QuotaDisk::default();
        d.set_quota(quota);
        d
    }

    /// Changes the quota (space freed or taken by someone else).
    pub fn set_quota(&self, quota: u64) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0 = quota;
    }

    /// Bytes written so far.
    pub fn used(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1
    }
}

/// A journal file on a [`QuotaDisk`].
struct QuotaFile {
    /// The real file.
    file: File,
    /// The disk's state.
    state: std::sync::Arc<std::sync::Mutex<(u64, u64)>>,
    /// Bytes of this file counted as used.
    len: u64,
}

impl Write for QuotaFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let room = s.0.saturating_sub(s.1) as usize;
        if room == 0 && !buf.is_empty() {
            return Err(std::io::Error::from_raw_os_error(nix::libc::ENOSPC));
        }
        let n = self.file.write(&buf[..buf.len().min(room)])?;
        s.1 += n as u64;
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl JournalFile for QuotaFile {
    fn handle(&self) -> Option<File> {
        self.file.try_clone().ok()
    }

    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.file.truncate(len)?;
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.1 = s.1.saturating_sub(self.len.saturating_sub(len));
        self.len = len.min(self.len);
        Ok(())
    }
}

impl Disk for QuotaDisk {
    fn usage(&self, _path: &Path) -> Option<(u64, u64)> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        Some((s.0.saturating_sub(s.1), s.0))
    }

    fn create(&self, path: &Path) -> std::io::Result<Box<dyn JournalFile>> {
        Ok(Box::new(QuotaFile {
            file: File::create(path)?,
            state: self.state.clone(),
            len: 0,
        }))
    }
}
