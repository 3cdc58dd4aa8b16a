//! A recorder's full disk: frames dropped while it lasts, when to try again, and saying
//! so once when it starts and once when space is back.

use crate::error::{ErrorKind, Result};
use crate::time::Micros;

/// Key frames tried at most this often while the disk is full: once a second, with room
/// for a stream clock's slew (a one-second GOP is 0.995 s at its fastest).
const RETRY_US: Micros = 900_000;

/// Whether a camera's disk is full, and what that has cost.
pub struct DiskFull {
    /// Camera id, for the log.
    camera: String,
    /// While the disk is full: when that began and the time of the last write attempt
    /// (stream time).
    full: Option<(Micros, Micros)>,
    /// Frames dropped because the disk was full.
    dropped: u64,
    /// Called when a write finds the disk full (wakes the reaper).
    on_full: Box<dyn Fn() + Send>,
}

impl DiskFull {
    /// Camera `camera`'s, the disk not full.
    pub fn new(camera: &str) -> DiskFull {
        DiskFull {
            camera: camera.to_owned(),
            full: None,
            dropped: 0,
            on_full: Box::new(|| {}),
        }
    }

    /// Sets what to call when the disk is found full.
    pub fn on_full(&mut self, f: Box<dyn Fn() + Send>) {
        self.on_full = f;
    }

    /// Frames dropped so far because the disk was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// True while the disk is full.
    pub fn is_full(&self) -> bool {
        self.full.is_some()
    }

    /// Whether to try writing a frame (`key`: a key frame) of stream time `t`. While the
    /// disk is full, frames are dropped and a write is tried only at a key frame, about
    /// once a second at most, once `room()` says there is room for a few buffers (a few
    /// free bytes at the end of a block would only let one write through), so the chunk
    /// resumes with a decodable picture and the log does not flap. Stream time, not
    /// arrival: a camera read in naps hands over key frames a second apart in stream time
    /// but closer together.
    pub fn admit(&mut self, key: bool, t: Micros, room: impl FnOnce() -> bool) -> bool {
        let Some((_, tried)) = &mut self.full else {
            return true;
        };
        if key && t - *tried >= RETRY_US && room() {
            return true;
        }
        if key {
            *tried = t;
        }
        self.dropped += 1;
        false
    }

    /// Deals with the result of a write at stream time `t`: a full disk drops `frames`
    /// (and the frames after them until space returns) and answers `Ok(true)`; any other
    /// error ends the connection.
    pub fn outcome(&mut self, result: Result<()>, t: Micros, frames: u64) -> Result<bool> {
        match result {
            Err(e) if e.kind() == ErrorKind::StorageFull => {
                self.dropped += frames;
                match &mut self.full {
                    None => {
                        log::error!(
                            "camera {}: disk full ({e}); dropping frames until space returns",
                            self.camera
                        );
                        self.full = Some((t, t));
                    }
                    Some(f) => f.1 = t,
                }
                (self.on_full)();
                Ok(true)
            }
            Err(e) => Err(e),
            Ok(()) => {
                if let Some((since, _)) = self.full.take() {
                    log::info!(
                        "camera {}: space is back; recording again after {:.0} s ({} frames dropped)",
                        self.camera,
                        (t - since) as f64 / 1e6,
                        self.dropped
                    );
                }
                Ok(false)
            }
        }
    }
}
