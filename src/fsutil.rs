//! Crash-safe publication of files: write to a temporary name beside the target, fsync the
//! file, rename it into place, fsync the directory. A reader never sees a half-written file.

use crate::error::{IoContext, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Suffix of files being written; the index ignores them and start-up removes leftovers.
pub const TMP_SUFFIX: &str = ".tmp";

/// `path` with `suffix` appended to its file name.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The temporary name used while `path` is being written.
pub fn tmp_path(path: &Path) -> PathBuf {
    with_suffix(path, TMP_SUFFIX)
}

/// Writes `path` atomically: `fill` writes the contents through a buffered writer.
pub fn write_atomic<T>(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<T>,
) -> Result<T> {
    let tmp = tmp_path(path);
    let result = (|| {
        let file = File::create(&tmp).ctx(format_args!("creating {}", tmp.display()))?;
        let mut w = BufWriter::with_capacity(64 << 10, file);
        let value = fill(&mut w)?;
        let file = w
            .into_inner()
            .map_err(|e| e.into_error())
            .ctx(format_args!("writing {}", tmp.display()))?;
        file.sync_all()
            .ctx(format_args!("syncing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).ctx(format_args!("renaming {}", tmp.display()))?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    let value = result?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    Ok(value)
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| {
        w.write_all(bytes)
            .ctx(format_args!("writing {}", path.display()))
    })
}

/// Fsyncs a directory so renames and removals in it survive a power cut.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx(format_args!("syncing directory {}", dir.display()))
}
