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
    write_atomic_mode(path, 0o666, false, fill)
}

/// [`write_atomic`] of a file readable by its owner only (it holds secrets).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_mode(path, 0o600, true, |w| {
        w.write_all(bytes)
            .ctx(format_args!("writing {}", path.display()))
    })
}

/// [`write_atomic`] with the new file's permission bits (before the umask); `settings`
/// syncs the file again after its rename (see below).
fn write_atomic_mode<T>(
    path: &Path,
    mode: u32,
    settings: bool,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<T>,
) -> Result<T> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = tmp_path(path);
    let result = (|| {
        let _ = std::fs::remove_file(&tmp);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .ctx(format_args!("creating {}", tmp.display()))?;
        let mut w = BufWriter::with_capacity(64 << 10, file);
        let value = fill(&mut w)?;
        let file = w
            .into_inner()
            .map_err(|e| e.into_error())
            .ctx(format_args!("writing {}", tmp.display()))?;
        file.sync_all()
            .ctx(format_args!("syncing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).ctx(format_args!("renaming {}", tmp.display()))?;
        if settings {
            // Settings files may live on FAT (the appliance's /boot), where a renamed file's
            // directory entry reaches the disk when the file itself is written back, not
            // with its folder: sync it once renamed, so a power cut leaves the old file or
            // the new, never an entry pointing at freed clusters.
            file.sync_all()
                .ctx(format_args!("syncing {}", path.display()))?;
        }
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

/// Appends `line` and a newline to the file at `path` (made if missing) in one write, so a
/// crash leaves whole lines and at most a torn last one; `sync` waits for it to reach the
/// disk.
pub fn append_line(path: &Path, line: &str, sync: bool) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ctx(format_args!("opening {}", path.display()))?;
    f.write_all(format!("{line}\n").as_bytes())
        .and_then(|_| if sync { f.sync_data() } else { Ok(()) })
        .ctx(format_args!("writing {}", path.display()))
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

/// True if `path` is a regular file under `root` reached without any symbolic link below
/// `root` (the day folder and the file itself are real). Files served or deleted must be
/// what they seem: a link planted in a recordings folder could point anywhere.
pub fn plain_file_under(root: &Path, path: &Path) -> bool {
    let Ok(rest) = path.strip_prefix(root) else {
        return false;
    };
    let mut at = root.to_path_buf();
    let parts: Vec<_> = rest.components().collect();
    for (i, c) in parts.iter().enumerate() {
        if !matches!(c, std::path::Component::Normal(_)) {
            return false;
        }
        at.push(c);
        let Ok(m) = at.symlink_metadata() else {
            return false;
        };
        let last = i + 1 == parts.len();
        if (last && !m.is_file()) || (!last && !m.is_dir()) {
            return false;
        }
    }
    !parts.is_empty()
}
