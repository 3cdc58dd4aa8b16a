//! A small real filesystem for disk-space and write-count tests: an ext4 or XFS image,
//! loop-mounted (needs root; tests skip with a message otherwise). Unmounted when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted ext4 image.
pub struct SmallDisk {
    /// Where it is mounted.
    pub dir: PathBuf,
    /// The image file.
    image: PathBuf,
}

impl SmallDisk {
    /// Makes and mounts a `mib` MiB ext4 filesystem under `parent`; `None` (after printing
    /// why) when this machine cannot (not root, no loop devices).
    pub fn new(parent: &Path, mib: u32) -> Option<SmallDisk> {
        SmallDisk::make(parent, mib, "ext4")
    }

    /// [`SmallDisk::new`] of an XFS filesystem that can share blocks between files
    /// (reflink; XFS needs at least 300 MiB).
    pub fn xfs(parent: &Path, mib: u32) -> Option<SmallDisk> {
        SmallDisk::make(parent, mib, "xfs")
    }

    /// Sectors (512 bytes) written to the filesystem's loop device so far, after a sync.
    pub fn sectors_written(&self) -> u64 {
        nix::unistd::sync();
        let out = Command::new("findmnt")
            .args(["-n", "-o", "SOURCE"])
            .arg(&self.dir)
            .output()
            .unwrap();
        let dev = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let name = dev.trim_start_matches("/dev/");
        let stat = std::fs::read_to_string(format!("/sys/block/{name}/stat")).unwrap();
        stat.split_whitespace().nth(6).unwrap().parse().unwrap()
    }

    fn make(parent: &Path, mib: u32, fs: &str) -> Option<SmallDisk> {
        let uid = Command::new("id").arg("-u").output().unwrap().stdout;
        if String::from_utf8_lossy(&uid).trim() != "0" {
            super::skip(
                &parent.display().to_string(),
                "mounting a small filesystem needs root",
            );
            return None;
        }
        let image = parent.join("disk.img");
        let dir = parent.join("mnt");
        // A mount left by an interrupted run.
        let _ = Command::new("umount")
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .status();
        std::fs::create_dir_all(&dir).unwrap();
        let mut mkfs = Command::new(format!("mkfs.{fs}"));
        match fs {
            "xfs" => mkfs.args(["-q", "-f", "-m", "reflink=1"]),
            _ => mkfs.args(["-q", "-F", "-m", "0"]),
        };
        let ok = Command::new("truncate")
            .args(["-s", &format!("{mib}M")])
            .arg(&image)
            .status()
            .unwrap()
            .success()
            && mkfs.arg(&image).status().is_ok_and(|s| s.success())
            && Command::new("mount")
                .args(["-o", "loop"])
                .arg(&image)
                .arg(&dir)
                .status()
                .unwrap()
                .success();
        if !ok {
            super::skip(
                &parent.display().to_string(),
                &format!("could not make and loop-mount an {fs} image here"),
            );
            return None;
        }
        Some(SmallDisk { dir, image })
    }

    /// Free bytes now (after flushing the filesystem's pending frees).
    pub fn free(&self) -> u64 {
        nix::unistd::sync();
        let s = nix::sys::statvfs::statvfs(&self.dir).unwrap();
        s.blocks_available() as u64 * s.fragment_size() as u64
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
        let _ = std::fs::remove_file(&self.image);
    }
}
