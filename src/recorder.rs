//! One camera's recording, independent of RTSP: frames in (RTP timestamp, key flag, access
//! unit), chunk files out, one per minute. A minute closes at the first key frame at or
//! after the next wall-clock minute boundary, and is handed to the finisher. Across a
//! reconnect the open minute stays open, so a short outage inside one minute costs no file;
//! a minute that already has an MP4 (restart within the minute) is merged, never clobbered.

use crate::chunk::ChunkWriter;
use crate::clock::StreamClock;
use crate::error::{ErrorKind, Result};
use crate::fixture::append_mp4;
use crate::h264::Parameters;
use crate::layout::{self, FileKind};
use crate::time::{Micros, minute_of};
use std::path::{Path, PathBuf};

/// Microseconds in a minute.
const MINUTE_US: i64 = 60_000_000;

/// Free bytes needed before writing resumes after the disk was full.
const RESUME_FREE: u64 = 4 << 20;

/// Receives each closed chunk (the finisher queue).
pub type Sink = Box<dyn Fn(PathBuf) + Send>;

/// The minute being written.
struct OpenMinute {
    /// Its chunk.
    writer: ChunkWriter,
    /// Minutes since the epoch.
    minute: i64,
    /// Latest frame time written.
    last_us: Micros,
}

/// Records one camera's frames into minute chunks.
pub struct Recorder {
    /// Camera id (file-name prefix).
    camera: String,
    /// The camera's folder.
    dir: PathBuf,
    /// Where closed chunks go.
    sink: Sink,
    /// Size of the chunk writer's buffer.
    buf_size: usize,
    /// The minute being written, if any.
    open: Option<OpenMinute>,
    /// RTP-to-wall-clock mapping of the current connection.
    clock: Option<StreamClock>,
    /// Decoder configuration of the current connection.
    params: Option<Parameters>,
    /// Whether `params` has been written to the open chunk.
    params_written: bool,
    /// Frames dropped while waiting for parameters or a key frame.
    skipped: u64,
    /// While the disk is full: when that began and the time of the last write attempt.
    full: Option<(Micros, Micros)>,
    /// Frames dropped because the disk was full.
    dropped: u64,
    /// Called when a write finds the disk full (wakes the reaper).
    on_full: Box<dyn Fn() + Send>,
}

impl Recorder {
    /// A recorder for `camera` writing under `dir`, sending closed chunks to `sink`.
    pub fn new(camera: &str, dir: &Path, sink: Sink, buf_size: usize) -> Recorder {
        Recorder {
            camera: camera.to_owned(),
            dir: dir.to_owned(),
            sink,
            buf_size,
            open: None,
            clock: None,
            params: None,
            params_written: false,
            skipped: 0,
            full: None,
            dropped: 0,
            on_full: Box::new(|| {}),
        }
    }

    /// Sets what to call when the disk is found full.
    pub fn on_disk_full(&mut self, f: Box<dyn Fn() + Send>) {
        self.on_full = f;
    }

    /// Frames dropped so far because the disk was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// A new connection begins: its timestamps and parameters are its own.
    pub fn session_started(&mut self) {
        self.clock = None;
        self.params = None;
        self.params_written = false;
    }

    /// The stream's decoder configuration, at the start or after a change.
    pub fn set_parameters(&mut self, params: Parameters) {
        if self.params.as_ref() != Some(&params) {
            self.params = Some(params);
            self.params_written = false;
        }
    }

    /// Frames dropped so far while waiting for parameters or a key frame.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Records one access unit with RTP timestamp `rtp` (90 kHz), received at `now_us`.
    pub fn frame(&mut self, rtp: i64, now_us: Micros, key: bool, data: &[u8]) -> Result<()> {
        if !self.params.as_ref().is_some_and(Parameters::is_complete) {
            self.skipped += 1;
            return Ok(());
        }
        let floor = self.open.as_ref().map_or(i64::MIN, |o| o.last_us + 1);
        let t = match &mut self.clock {
            Some(c) => match c.time(rtp, now_us) {
                (t, false) => t,
                (t, true) => {
                    log::warn!(
                        "camera {}: stream time is {:.1} s off the local clock; re-anchoring",
                        self.camera,
                        (now_us - t) as f64 / 1e6
                    );
                    self.anchor(rtp, now_us.max(floor))
                }
            },
            None if key => self.anchor(rtp, now_us.max(floor)),
            None => {
                self.skipped += 1;
                return Ok(());
            }
        };
        if let Some((_, tried)) = &mut self.full {
            // Disk full: drop frames, and try again only at a key frame, at most once a
            // second, once there is room for a few buffers (a few free bytes at the end
            // of a block would only let one write through), so the chunk resumes with a
            // decodable picture and the log does not flap.
            let room = crate::reaper::usage(&self.dir).is_none_or(|(free, _)| free >= RESUME_FREE);
            if !key || now_us - *tried < 1_000_000 || !room {
                if key {
                    *tried = now_us;
                }
                self.dropped += 1;
                return Ok(());
            }
        }
        match self.write(rtp, t, key, data) {
            Err(e) if e.kind() == ErrorKind::StorageFull => {
                self.dropped += 1;
                self.params_written = false;
                if self.full.is_none() {
                    log::error!(
                        "camera {}: disk full ({e}); dropping frames until space returns",
                        self.camera
                    );
                    self.full = Some((now_us, now_us));
                } else if let Some(f) = &mut self.full {
                    f.1 = now_us;
                }
                (self.on_full)();
                Ok(())
            }
            Err(e) => Err(e),
            Ok(()) => {
                if let Some((since, _)) = self.full.take() {
                    log::info!(
                        "camera {}: space is back; recording again after {:.0} s ({} frames dropped)",
                        self.camera,
                        (now_us - since) as f64 / 1e6,
                        self.dropped
                    );
                }
                Ok(())
            }
        }
    }

    /// Writes one frame at time `t`, rotating and opening minutes as needed.
    fn write(&mut self, rtp: i64, mut t: Micros, key: bool, data: &[u8]) -> Result<()> {
        if key
            && self
                .open
                .as_ref()
                .is_some_and(|o| t >= (o.minute + 1) * MINUTE_US)
        {
            self.close()?;
        }
        if self.open.is_none() {
            if !key {
                self.skipped += 1;
                return Ok(());
            }
            let merged_end = self.open_minute(minute_of(t))?;
            if merged_end > t {
                // The minute's earlier recording ends after this frame's clock time (the
                // local clock stepped back): continue right after it instead.
                t = self.anchor(rtp, merged_end);
            }
        }
        let open = self.open.as_mut().expect("opened above");
        if !self.params_written {
            let p = self.params.as_ref().expect("checked above");
            open.writer.append(t, &p.to_access_unit())?;
            self.params_written = true;
        }
        open.writer.append(t, data)?;
        open.last_us = open.last_us.max(t);
        Ok(())
    }

    fn anchor(&mut self, rtp: i64, wall: Micros) -> Micros {
        self.clock = Some(StreamClock::new(rtp, wall));
        wall
    }

    /// While disconnected: closes the open minute once the wall clock has left it.
    pub fn idle(&mut self, now_us: Micros) -> Result<()> {
        match &self.open {
            Some(o) if now_us >= (o.minute + 1) * MINUTE_US => self.close(),
            _ => Ok(()),
        }
    }

    /// When the open minute must be closed if no frame comes (its end), if any.
    pub fn open_until(&self) -> Option<Micros> {
        self.open.as_ref().map(|o| (o.minute + 1) * MINUTE_US)
    }

    /// Closes the open minute (written out, not fsynced: see [`ChunkWriter::finish`]) and
    /// hands it to the finisher.
    pub fn close(&mut self) -> Result<()> {
        if let Some(open) = self.open.take() {
            self.params_written = false;
            // Even if the last flush fails (disk full), the chunk holds whole records up to
            // its last good write: hand it on rather than orphan it.
            let path = open.writer.path().to_owned();
            let result = open.writer.finish();
            (self.sink)(path);
            result?;
        }
        Ok(())
    }

    /// Opens the chunk of `minute`. A chunk left there is finished first, and a finished
    /// MP4 of that minute is copied into the new chunk, so nothing recorded is lost.
    /// Returns the end time of what was merged (or `i64::MIN`).
    fn open_minute(&mut self, minute: i64) -> Result<Micros> {
        let path = layout::minute_path(&self.dir, &self.camera, minute, FileKind::Chunk);
        let day = path.parent().expect("minute paths have a day folder");
        std::fs::create_dir_all(day)
            .map_err(|e| crate::Error::io(format_args!("creating {}", day.display()), e))?;
        if path.exists()
            && let Err(e) = crate::finish::finish_chunk(&path)
        {
            log::warn!("camera {}: leftover {}: {e}", self.camera, path.display());
        }
        let mut writer = ChunkWriter::create(&path, self.buf_size)?;
        let mp4 = layout::minute_path(&self.dir, &self.camera, minute, FileKind::Mp4);
        let mut end = i64::MIN;
        if mp4.exists() {
            match crate::mp4::start_us(&mp4).and_then(|s| {
                let start = s.ok_or_else(|| crate::Error::corrupt("no pinvr start time"))?;
                append_mp4(&mut writer, &mp4, start)
            }) {
                Ok((frames, e)) => {
                    log::info!(
                        "camera {}: continuing minute {} ({frames} frames already recorded)",
                        self.camera,
                        mp4.display()
                    );
                    end = e;
                }
                Err(e) if e.kind() == ErrorKind::StorageFull => return Err(e),
                Err(e) => {
                    // Not ours or damaged: keep it aside rather than overwrite it.
                    let aside = crate::fsutil::with_suffix(&mp4, ".old");
                    log::warn!(
                        "camera {}: {e}; keeping it as {}",
                        self.camera,
                        aside.display()
                    );
                    let _ = std::fs::rename(&mp4, &aside);
                    writer = ChunkWriter::create(&path, self.buf_size)?;
                }
            }
        }
        self.params_written = false;
        self.open = Some(OpenMinute {
            writer,
            minute,
            last_us: end,
        });
        Ok(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::access_unit as au;
    use std::sync::{Arc, Mutex};

    #[test]
    fn rotates_at_the_first_key_frame_after_the_boundary() {
        let dir = std::env::temp_dir().join(format!("pinvr-rec-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let closed = Arc::new(Mutex::new(Vec::new()));
        let c2 = closed.clone();
        let sink: Sink = Box::new(move |p| c2.lock().unwrap().push(p));
        let mut r = Recorder::new("cam", &dir, sink, 4096);
        r.session_started();
        // Minimal SPS/PPS bytes are enough: the recorder does not parse them.
        r.set_parameters(Parameters {
            sps: vec![vec![0x67, 0x42, 0, 0x1e]],
            pps: vec![vec![0x68, 0xce]],
        });
        let t0 = 1_795_442_400_000_000 + 50_000_000; // 14:00:50
        // A P-frame first is skipped: a minute starts at a key frame.
        r.frame(0, t0, false, &au(&[&[0x41, 1]])).unwrap();
        assert_eq!(r.skipped(), 1);
        // 20 s of frames at 10 fps, key frame every 2 s.
        for i in 0..200i64 {
            let key = i % 20 == 0;
            let data = au(&[if key { &[0x65, 1] } else { &[0x41, 1] }]);
            r.frame(i * 9000, t0 + i * 100_000, key, &data).unwrap();
        }
        // 14:00:50 + 10 s is the boundary; the key frame at exactly 14:01:00 closes 14:00.
        let list = closed.lock().unwrap().clone();
        assert_eq!(list.len(), 1);
        assert!(
            list[0].ends_with("20261123/cam.20261123.1400.chunk"),
            "{list:?}"
        );
        r.close().unwrap();
        let list = closed.lock().unwrap().clone();
        assert!(
            list[1].ends_with("20261123/cam.20261123.1401.chunk"),
            "{list:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
