//! One camera's life: an OS thread that finishes what a crash left, then connects through
//! an [`Opener`], records the frames into a [`Recorder`], and retries until stopped.
//! Liveness: no frame within the connect timeout, or a silence longer than the gap
//! timeout, ends the connection; it is retried after a delay that doubles up to a cap.
//! Each outage is logged once, with its cause, and once more when it ends. All time comes
//! from a [`Clock`], so the loop runs the same on a simulated one.

use crate::clock::{Clock, Stop};
use crate::config::{Camera, Retry};
use crate::error::{Error, ErrorKind, Result};
use crate::finisher::Finisher;
use crate::recorder::{Journal, Recorder};
use crate::source::{Next, Opener};
use crate::status::{State, Status};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Called when a write finds the disk full (wakes the reaper).
pub type OnFull = Arc<dyn Fn() + Send + Sync>;

/// What a camera thread works with, shared by every camera.
#[derive(Clone)]
pub struct Deps {
    /// Connects to cameras.
    pub opener: Arc<dyn Opener>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Shared status.
    pub status: Arc<Status>,
    /// Where closed minutes go, and how leftovers are recovered.
    pub finisher: Finisher,
    /// How chunks are written.
    pub journal: Journal,
    /// Called when the disk is found full.
    pub on_full: OnFull,
    /// Live feeds.
    pub live: Arc<crate::live::Hub>,
}

/// A running camera thread.
pub struct CameraHandle {
    /// Asks the camera to stop (it closes its open minute first).
    stop: Stop,
    /// The thread.
    join: JoinHandle<()>,
}

impl CameraHandle {
    /// True once the thread has ended (stopped or panicked).
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }

    /// Asks the camera to stop, without waiting.
    pub fn request_stop(&self) {
        self.stop.request();
    }

    /// Stops the camera and waits for it; returns false if it had panicked.
    pub fn stop(self) -> bool {
        self.request_stop();
        self.join.join().is_ok()
    }
}

/// Starts recording `cam` on a new thread.
pub fn spawn(cam: Camera, retry: Retry, deps: Deps) -> CameraHandle {
    let stop = Stop::default();
    let s = stop.clone();
    let join = std::thread::Builder::new()
        .name(format!("cam-{}", cam.id))
        .spawn(move || record(&cam, &retry, &deps, &s))
        .expect("spawning a camera thread");
    CameraHandle { stop, join }
}

/// The camera's life on the calling thread: recover leftovers, then connect, record, retry
/// until `stop` is requested; the open minute is closed before it returns.
pub fn record(cam: &Camera, retry: &Retry, deps: &Deps, stop: &Stop) {
    let id = cam.id.as_str();
    let recovered = deps.finisher.recover(id, &cam.dir);
    if recovered > 0 {
        log::info!("camera {id}: finished {recovered} leftover minute(s)");
    }
    let mut rec = Recorder::new(
        id,
        &cam.dir,
        Box::new(deps.finisher.clone()),
        deps.journal.clone(),
    );
    let on_full = deps.on_full.clone();
    rec.on_disk_full(Box::new(move || on_full()));
    let mut delay = retry.retry_delay;
    // The current outage: when it began (monotonic) and its first cause.
    let mut outage: Option<(Duration, String)> = None;
    // Whether any connection has recorded yet (the first success is logged once).
    let mut recorded = false;
    deps.status.set_state(id, State::Connecting);
    loop {
        if stop.is_requested() {
            break;
        }
        rec.session_started();
        let mut streamed = false;
        let result = session(cam, retry, deps, stop, &mut rec, &mut || {
            streamed = true;
            deps.status.set_state(id, State::Recording);
            if recorded {
                deps.status.update(id, |c| c.reconnects += 1);
            }
            match outage.take() {
                Some((since, _)) => log::info!(
                    "camera {id}: recording again after {:.0} s",
                    (deps.clock.monotonic().saturating_sub(since)).as_secs_f64()
                ),
                None if !recorded => log::info!("camera {id}: recording"),
                None => {}
            }
            recorded = true;
        });
        match result {
            Ok(()) => break,
            Err(e) => {
                let msg = e.to_string();
                deps.status.update(id, |c| c.last_error = Some(msg.clone()));
                deps.status.set_state(id, State::Retrying);
                match &outage {
                    None => {
                        log::warn!("camera {id}: {msg}; retrying until it is back");
                        outage = Some((deps.clock.monotonic(), msg));
                    }
                    Some((_, first)) if *first != msg => {
                        log::debug!("camera {id}: still down: {msg}");
                    }
                    Some(_) => {}
                }
            }
        }
        deps.live.feed(id).session_ended();
        if streamed {
            delay = retry.retry_delay;
        }
        if wait(&*deps.clock, stop, &mut rec, delay) {
            break;
        }
        delay = (delay * 2).min(retry.retry_max_delay);
    }
    if let Err(e) = rec.close() {
        log::error!("camera {id}: closing the last minute: {e}");
    }
    deps.opener.closing();
    log::info!("camera {id}: stopped");
}

/// Waits `delay` before a retry, closing the open minute when the clock leaves it.
/// Returns true if the camera was asked to stop.
fn wait(clock: &dyn Clock, stop: &Stop, rec: &mut Recorder, delay: Duration) -> bool {
    let deadline = clock.monotonic() + delay;
    loop {
        let now = clock.realtime();
        if let Err(e) = rec.idle(now) {
            log::error!("closing minute: {e}");
        }
        let mut left = deadline.saturating_sub(clock.monotonic());
        if let Some(end) = rec.open_until() {
            left = left.min(Duration::from_micros((end - now).max(0) as u64));
        }
        if clock.sleep(left, stop) {
            return true;
        }
        if clock.monotonic() >= deadline {
            return false;
        }
    }
}

/// How long without a lost packet ends an episode of loss.
const LOSS_QUIET_US: i64 = 60_000_000;

/// Packet loss, said once per episode: when it starts, and when 60 s pass without any.
/// Frames after a loss are kept (a damaged picture until the next key frame beats a hole
/// of up to a GOP); the status counts them.
#[derive(Default)]
struct Loss {
    /// The episode going on: packets lost in it, and when the last loss was (monotonic µs).
    episode: Option<(u64, i64)>,
}

impl Loss {
    fn frame(&mut self, id: &str, lost: u16, mono: i64) {
        match (&mut self.episode, lost) {
            (None, 0) => {}
            (None, n) => {
                log::warn!(
                    "camera {id}: {n} RTP packet(s) lost (a lossy network or camera link; over UDP, transport tcp may help): frames are kept, the picture may show damage until the next key frame; said again after 60 s without loss"
                );
                self.episode = Some((u64::from(n), mono));
            }
            (Some((total, last)), 0) => {
                if mono - *last >= LOSS_QUIET_US {
                    log::info!("camera {id}: no packet lost for 60 s ({total} lost before that)");
                    self.episode = None;
                }
            }
            (Some((total, last)), n) => {
                *total += u64::from(n);
                *last = mono;
            }
        }
    }
}

/// One connection: open, then frames until an error, silence or stop (`Ok`).
/// `on_first_frame` runs when the first frame is recorded.
fn session(
    cam: &Camera,
    retry: &Retry,
    deps: &Deps,
    stop: &Stop,
    rec: &mut Recorder,
    on_first_frame: &mut dyn FnMut(),
) -> Result<()> {
    let clock = &deps.clock;
    let connect_deadline = clock.monotonic() + retry.connect_timeout;
    let Some(mut stream) = deps.opener.open(cam, retry.connect_timeout, clock, stop)? else {
        return Ok(());
    };
    let feed = deps.live.feed(&cam.id);
    feed.session_started();
    let mut loss = Loss::default();
    let mut watched = false;
    let mut deadline = connect_deadline;
    let mut first = true;
    loop {
        let left = deadline.saturating_sub(clock.monotonic());
        let frame = match stream.next(left)? {
            Next::Stopped => return Ok(()),
            Next::Idle => {
                // The source naps next: what the chunk buffers goes to the kernel first.
                rec.flush()?;
                continue;
            }
            Next::Silent if first => {
                return Err(Error::new(
                    ErrorKind::Network,
                    format!(
                        "no frame within {} s of connecting",
                        retry.connect_timeout.as_secs_f64()
                    ),
                ));
            }
            Next::Silent => {
                return Err(Error::new(
                    ErrorKind::Network,
                    format!("no frame for {} s", retry.gap_timeout.as_secs_f64()),
                ));
            }
            Next::Frame(f) => f,
        };
        if let Some(p) = frame.params {
            feed.set_parameters(&p);
            rec.set_parameters(p);
        }
        let (rtp, key) = (frame.rtp, frame.key);
        let mono = clock.monotonic().as_micros() as i64;
        let now = clock.realtime();
        let lost = frame.loss;
        loss.frame(&cam.id, lost, mono);
        let len = frame.data.len() as u64;
        rec.frame(rtp, now, mono, key, frame.data)?;
        let drift = rec.drift_ppm();
        // After the recording: a viewer never delays the journal.
        if feed.frame(rtp, key, frame.data) != watched {
            watched = !watched;
            stream.set_watched(watched);
        }
        deps.status.update(&cam.id, |c| {
            c.frames += 1;
            c.bytes += len;
            c.last_frame_us = now;
            c.lost_packets += u64::from(lost);
            c.damaged_frames += u64::from(lost > 0);
            c.drift_ppm = drift;
        });
        if first {
            first = false;
            on_first_frame();
        }
        deadline = clock.monotonic() + retry.gap_timeout;
    }
}
