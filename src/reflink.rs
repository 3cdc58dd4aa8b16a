//! Sharing a file's blocks with another instead of copying them (`FICLONERANGE`), where the
//! filesystem can (XFS made with reflink, btrfs): a minute's MP4 takes its chunk's blocks,
//! so each byte a camera sends is written to the card once. Where it cannot (ext4, tmpfs),
//! the first refusal is remembered for that filesystem and the caller copies as before.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;

/// Filesystems (device numbers) that refused to share blocks.
static REFUSED: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// Whether sharing blocks is turned off (`PINVR_REFLINK=off`: benchmarks compare both ways
/// on one filesystem).
fn turned_off() -> bool {
    std::env::var("PINVR_REFLINK").is_ok_and(|v| v == "off")
}

/// False once the filesystem of `f` has refused to share blocks, or when turned off.
pub fn may_share(f: &File) -> bool {
    if turned_off() {
        return false;
    }
    let Ok(dev) = f.metadata().map(|m| m.dev()) else {
        return false;
    };
    !REFUSED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&dev)
}

/// The block size that shared ranges are aligned to on the filesystem of `f`.
pub fn block_size(f: &File) -> u64 {
    f.metadata().map_or(4096, |m| m.blksize()).max(512)
}

/// What became of a request to share blocks.
#[derive(Debug)]
pub enum Shared {
    /// Done: `dst` now holds `src` from `dst_offset` on.
    Done,
    /// The filesystem cannot (remembered): copy instead.
    Refused(std::io::Error),
}

/// Makes `dst`, from `dst_offset` (a multiple of [`block_size`]) on, share all of `src`'s
/// blocks. `Err` is an I/O failure that copying would meet too (no space, a failing disk).
pub fn share_all(src: &File, dst: &File, dst_offset: u64) -> std::io::Result<Shared> {
    use nix::libc;
    let range = libc::file_clone_range {
        src_fd: i64::from(src.as_raw_fd()),
        src_offset: 0,
        // To the end of the source (its last block may be partial).
        src_length: 0,
        dest_offset: dst_offset,
    };
    // SAFETY: FICLONERANGE reads the `file_clone_range` it is given and changes only the
    // destination file's block map; both descriptors are open for the call's duration.
    let r = unsafe { libc::ioctl(dst.as_raw_fd(), libc::FICLONERANGE, &range) };
    if r == 0 {
        return Ok(Shared::Done);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EOPNOTSUPP | libc::ENOTTY | libc::EXDEV | libc::EINVAL | libc::EPERM) => {
            if let Ok(dev) = dst.metadata().map(|m| m.dev()) {
                let mut refused = REFUSED.lock().unwrap_or_else(|e| e.into_inner());
                if !refused.contains(&dev) {
                    refused.push(dev);
                }
            }
            Ok(Shared::Refused(e))
        }
        _ => Err(e),
    }
}
