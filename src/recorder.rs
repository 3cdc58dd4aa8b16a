//! One camera's recording, independent of RTSP: frames in (RTP timestamp, key flag, access
//! unit), chunk files out, one per minute. A minute closes at the first key frame at or
//! after the next wall-clock minute boundary, and is handed to the finisher. Across a
//! reconnect the open minute stays open, so a short outage inside one minute costs no file;
//! a minute that already has an MP4 (restart within the minute) is merged, never clobbered.

use crate::chunk::ChunkWriter;
pub use crate::chunk_sink::{Closed, Journal, Sink};
use crate::disk_full::DiskFull;
use crate::error::{ErrorKind, Result};
use crate::layout::{self, FileKind};
use crate::parameters::Parameters;
use crate::stream_clock::StreamClock;
use crate::time::{Micros, minute_of};
use std::path::{Path, PathBuf};

/// Microseconds in a minute.
const MINUTE_US: i64 = 60_000_000;

/// Free bytes needed before writing resumes after the disk was full.
const RESUME_FREE: u64 = 4 << 20;

/// A change of the wall clock against the monotonic clock larger than this between two
/// frames is a step of the system clock (NTP slews both clocks alike; only a step moves
/// one against the other).
const STEP_US: i64 = 1_000_000;

/// An earlier recording of a minute that runs on past a new first frame by more than this
/// is of the same time (the clock was set back): the new one is kept beside it as a repeat.
/// Less (a restart with the clock a little behind) is merged, the new frames after it.
const REPEAT_US: i64 = 2_000_000;
/// A minute's stream rate is measured for the next chunk's window when it spans this much.
const WINDOW_MEASURE_US: i64 = 10_000_000;

/// The minute being written.
struct OpenMinute {
    /// Its chunk.
    writer: ChunkWriter,
    /// Minutes since the epoch.
    minute: i64,
    /// Latest frame time written.
    last_us: Micros,
    /// First frame time written by this recorder (not merged from an earlier file), and the
    /// chunk's length before it: the stream's rate is measured from there.
    first: Option<(Micros, u64)>,
}

/// Records one camera's frames into minute chunks.
pub struct Recorder {
    /// Camera id (file-name prefix).
    camera: String,
    /// The camera's folder.
    dir: PathBuf,
    /// Where closed chunks go.
    sink: Box<dyn Sink>,
    /// How chunks are written.
    journal: Journal,
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
    /// Whether the disk is full, and the frames that cost.
    full: DiskFull,
    /// Wall-clock minus monotonic time at the last frame (a change is a clock step).
    offset: Option<i64>,
    /// A step of the wall clock not yet applied (it is, at the next key frame).
    step: i64,
    /// The camera's clock rate as measured (kept across connections: the same clock).
    rate: f64,
    /// The spacing of the last two frames written, µs (a re-anchored frame follows the
    /// previous one by as much, never by one tick).
    interval: Micros,
    /// Re-anchoring going on: how many so far, and when the last was (µs, local clock).
    reanchors: Option<(u64, Micros)>,
    /// Whether recording a minute again beside an earlier recording of it has been said
    /// since the last clock step.
    repeat_said: bool,
    /// Records in the last minute closed: room made for as many in the next one's index,
    /// a little more (a minute's index then never doubles its allocation).
    last_records: usize,
    /// Size of the next chunk's buffer, the window most writes fill: see
    /// [`crate::chunk::window_for`].
    window: usize,
}

impl Recorder {
    /// A recorder for `camera` writing under `dir`, sending closed chunks to `sink`.
    pub fn new(camera: &str, dir: &Path, sink: Box<dyn Sink>, journal: Journal) -> Recorder {
        Recorder {
            camera: camera.to_owned(),
            dir: dir.to_owned(),
            sink,
            window: journal.buf_size,
            journal,
            open: None,
            clock: None,
            params: None,
            params_written: false,
            skipped: 0,
            full: DiskFull::new(camera),
            offset: None,
            step: 0,
            rate: 0.0,
            interval: 33_333,
            reanchors: None,
            repeat_said: false,
            last_records: 0,
        }
    }

    /// The camera's clock error as measured, parts per million (positive: fast), once the
    /// current connection has sent frames.
    pub fn drift_ppm(&self) -> Option<f64> {
        self.clock.as_ref().map(StreamClock::drift_ppm)
    }

    /// Sets what to call when the disk is found full.
    pub fn on_disk_full(&mut self, f: Box<dyn Fn() + Send>) {
        self.full.on_full(f);
    }

    /// Frames dropped so far because the disk was full.
    pub fn dropped(&self) -> u64 {
        self.full.dropped()
    }

    /// A new connection begins: its timestamps and parameters are its own.
    pub fn session_started(&mut self) {
        self.clock = None;
        self.offset = None;
        self.step = 0;
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

    /// Records one access unit with RTP timestamp `rtp` (90 kHz), received at wall-clock
    /// time `now_us` and monotonic time `mono_us`.
    ///
    /// A step of the system clock (the wall clock moving against the monotonic one) is
    /// logged once; the frames up to the next key frame keep their times on the old clock
    /// (RTP spacing), and at that key frame the stream moves to the new time, starting a new
    /// minute when the new time is in another one. So no frame spans the step.
    pub fn frame(
        &mut self,
        rtp: i64,
        now_us: Micros,
        mono_us: i64,
        key: bool,
        data: &[u8],
    ) -> Result<()> {
        if !self.params.as_ref().is_some_and(Parameters::is_complete) {
            self.skipped += 1;
            return Ok(());
        }
        let offset = now_us - mono_us;
        if let Some(prev) = self.offset
            && self.clock.is_some()
            && (offset - prev).abs() > STEP_US
        {
            log::warn!(
                "camera {}: the system clock stepped {:+.1} s; recording moves to the new time at the next key frame",
                self.camera,
                (offset - prev) as f64 / 1e6
            );
            self.step += offset - prev;
            self.repeat_said = false;
        }
        self.offset = Some(offset);
        // The local clock as it read before a step not yet applied.
        let now_us = now_us - self.step;
        let floor = self
            .open
            .as_ref()
            .map_or(i64::MIN, |o| o.last_us + self.interval);
        let mut t = match &mut self.clock {
            Some(c) => match c.time(rtp, now_us) {
                (t, false) => {
                    self.rate = c.rate();
                    t
                }
                (t, true) => {
                    self.reanchored(now_us - t, now_us);
                    self.anchor(rtp, now_us.max(floor))
                }
            },
            None if key => self.anchor(rtp, now_us.max(floor)),
            None => {
                self.skipped += 1;
                return Ok(());
            }
        };
        let mut moved = false;
        if self.step != 0 && key {
            if let Some(c) = &mut self.clock {
                c.shift(self.step);
            }
            t += self.step;
            self.step = 0;
            moved = true;
        }
        let (disk, dir) = (&self.journal.disk, &self.dir);
        let room = || disk.usage(dir).is_none_or(|(free, _)| free >= RESUME_FREE);
        if !self.full.admit(key, t, room) {
            return Ok(());
        }
        let written = self.write(rtp, t, key, moved, data);
        self.outcome(written, t, 1)
    }

    /// Hands what the open chunk buffers to the kernel (the source is about to nap). A full
    /// disk is handled as at a frame: what was buffered is dropped and recording resumes at
    /// a key frame once space returns.
    pub fn flush(&mut self) -> Result<()> {
        let (flushed, t) = match &mut self.open {
            Some(open) if !self.full.is_full() => (open.writer.flush(), open.last_us),
            _ => return Ok(()),
        };
        self.outcome(flushed, t, 0)
    }

    /// A write's result for the frame at stream time `t`, `frames` lost if the disk was full
    /// (the parameters are written again when writing resumes).
    fn outcome(&mut self, result: Result<()>, t: Micros, frames: u64) -> Result<()> {
        if self.full.outcome(result, t, frames)? {
            self.params_written = false;
        }
        Ok(())
    }

    /// Writes one frame at time `t`, rotating and opening minutes as needed; `moved` says
    /// the clock just moved to a stepped time (the open minute closes if `t` left it).
    fn write(
        &mut self,
        rtp: i64,
        mut t: Micros,
        key: bool,
        moved: bool,
        data: &[u8],
    ) -> Result<()> {
        if key
            && self.open.as_ref().is_some_and(|o| {
                t >= (o.minute + 1) * MINUTE_US || (moved && minute_of(t) != o.minute)
            })
        {
            self.close()?;
        }
        if self.open.is_none() {
            if !key {
                self.skipped += 1;
                return Ok(());
            }
            let merged_end = self.open_minute(minute_of(t), t)?;
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
        let before = open.writer.len();
        open.writer.append(t, data)?;
        open.first.get_or_insert((t, before));
        if t > open.last_us && open.last_us > i64::MIN {
            self.interval = (t - open.last_us).clamp(1_000, 1_000_000);
        }
        open.last_us = open.last_us.max(t);
        Ok(())
    }

    fn create(&self, path: &Path) -> Result<ChunkWriter> {
        let j = &self.journal;
        let mut w = ChunkWriter::create_synced(&*j.disk, path, self.window, j.flush, j.sync)?;
        if self.last_records > 0 {
            w.reserve(self.last_records + self.last_records / 16);
        }
        Ok(w)
    }

    fn anchor(&mut self, rtp: i64, wall: Micros) -> Micros {
        self.clock = Some(StreamClock::new(rtp, wall, self.rate));
        wall
    }

    /// Says a re-anchoring (the stream `off` µs from the local clock) once per episode: the
    /// first, then nothing until ten minutes pass without one.
    fn reanchored(&mut self, off: Micros, now_us: Micros) {
        match &mut self.reanchors {
            Some((n, last)) if now_us - *last < 600_000_000 => {
                *n += 1;
                *last = now_us;
            }
            _ => {
                log::warn!(
                    "camera {}: stream time is {:.1} s off the local clock (its RTP clock jumped); re-anchoring, said once until ten minutes pass without it",
                    self.camera,
                    off as f64 / 1e6
                );
                self.reanchors = Some((1, now_us));
            }
        }
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
            let chunk = open.writer.path().to_owned();
            let bytes = open.writer.len();
            let (result, index) = match open.writer.finish_indexed() {
                Ok((_, index)) => (Ok(()), index),
                Err(e) => (Err(e), None),
            };
            if let Some(i) = &index {
                self.last_records = i.records();
            }
            if let Some((first, before)) = open.first
                && open.last_us - first >= WINDOW_MEASURE_US
            {
                let span = (open.last_us - first) as u128;
                let rate = bytes.saturating_sub(before) as u128 * 1_000_000 / span;
                self.window = crate::chunk::window_for(
                    rate as u64,
                    self.journal.flush,
                    self.journal.buf_size,
                );
            }
            self.sink.closed(Closed {
                camera: self.camera.clone(),
                minute: open.minute,
                chunk,
                index: index.map(std::sync::Arc::new),
            });
            result?;
        }
        Ok(())
    }

    /// Opens the chunk of `minute`, whose first frame is at `t`. A chunk left there is
    /// finished first, and a finished MP4 of that minute is copied into the new chunk, so
    /// nothing recorded is lost. But an MP4 that runs on past `t` by more than
    /// [`REPEAT_US`] is an earlier recording of the same time (the clock was set back): it
    /// is kept as it is, and this recording goes beside it as a repeat of the minute.
    /// Returns the end time of what was merged (or `i64::MIN`).
    fn open_minute(&mut self, minute: i64, t: Micros) -> Result<Micros> {
        let path = layout::minute_path(&self.dir, &self.camera, minute, FileKind::Chunk);
        let day = path.parent().expect("minute paths have a day folder");
        std::fs::create_dir_all(day)
            .map_err(|e| crate::Error::io(format_args!("creating {}", day.display()), e))?;
        if path.exists()
            && let Err(e) = self.sink.finish_now(Closed {
                camera: self.camera.clone(),
                minute,
                chunk: path.clone(),
                index: None,
            })
        {
            log::warn!("camera {}: leftover {}: {e}", self.camera, path.display());
        }
        let mp4 = layout::minute_path(&self.dir, &self.camera, minute, FileKind::Mp4);
        if mp4.exists()
            && crate::mp4::summary(&mp4).is_ok_and(|s| s.start_us + s.duration_us > t + REPEAT_US)
        {
            let writer = self.create_repeat(minute, &mp4)?;
            return Ok(self.opened(writer, minute, i64::MIN));
        }
        let mut writer = self.create(&path)?;
        let mut end = i64::MIN;
        if mp4.exists() {
            match crate::fixture::append_minute(&mut writer, &mp4) {
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
                    writer = self.create(&path)?;
                }
            }
        }
        Ok(self.opened(writer, minute, end))
    }

    /// Makes `writer` the open minute `minute`, whose merged part ends at `end`; returns
    /// `end`.
    fn opened(&mut self, writer: ChunkWriter, minute: i64, end: Micros) -> Micros {
        self.params_written = false;
        self.open = Some(OpenMinute {
            writer,
            minute,
            last_us: end,
            first: None,
        });
        end
    }

    /// Creates the chunk of the first free repeat of `minute`, whose MP4 `first` holds an
    /// earlier recording of the same time; said once per clock step.
    fn create_repeat(&mut self, minute: i64, first: &Path) -> Result<ChunkWriter> {
        let free = |n: &u32| {
            [FileKind::Chunk, FileKind::Mp4]
                .iter()
                .all(|&k| !layout::repeat_path(&self.dir, &self.camera, minute, *n, k).exists())
        };
        let n = (1..).find(free).expect("a free repeat number");
        let path = layout::repeat_path(&self.dir, &self.camera, minute, n, FileKind::Chunk);
        if !self.repeat_said {
            log::warn!(
                "camera {}: {} already holds a recording of this time (the clock was set back); both are kept, the new one as repeats of their minutes ({}), said once until the clock steps again",
                self.camera,
                first.display(),
                path.with_extension("mp4").display()
            );
            self.repeat_said = true;
        }
        self.create(&path)
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
