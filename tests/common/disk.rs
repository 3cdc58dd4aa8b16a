//! A small real filesystem for disk-space tests: an ext4 image, loop-mounted (needs root;
//! tests skip with a message otherwise). Unmounted when dropped.

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
        let ok = Command::new("truncate")
            .args(["-s", &format!("{mib}M")])
            .arg(&image)
            .status()
            .unwrap()
            .success()
            && Command::new("mkfs.ext4")
                .args(["-q", "-F", "-m", "0"])
                .arg(&image)
                .status()
                .unwrap()
                .success()
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
                "could not make and loop-mount an ext4 image here",
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
