//! A camera made of MP4 clips: their frames are sent in a loop, each at the moment a real
//! camera would send it (by the [`Clock`] the camera loop runs on), with RTP timestamps as
//! a camera stamps them. Each connection follows a [`Plan`]: refuse, send so many frames,
//! then hang up, fall silent or panic; run its clock fast or slow. Tests drive the recorder
//! with it frame by frame on a simulated clock, and on the real clock where threads meet.

use super::{Frame, Next, Opener, Stream};
use crate::clock::{Clock, Stop};
use crate::config::Camera;
use crate::error::{Error, ErrorKind, Result};
use crate::fixture::Clip;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a connection does once its frames run out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// Keeps sending, looping the clips (a healthy camera).
    Forever,
    /// Closes the connection.
    HangUp,
    /// Keeps the connection but sends nothing more (a frozen camera).
    Silent,
    /// Panics (a bug in the camera loop's thread, for the supervisor's test).
    Panic,
}

/// One connection's behaviour.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Refuse the connection with this error instead.
    pub refuse: Option<(ErrorKind, String)>,
    /// Frames to send before `then` (ignored for [`Then::Forever`]).
    pub frames: usize,
    /// What happens after `frames`.
    pub then: Then,
    /// The camera's clock error, parts per million: RTP ticks per real second are
    /// 90 000 x (1 + ppm / 10^6).
    pub rate_ppm: i64,
    /// Read as the RTSP source reads over TCP: when no frame is due, say [`Next::Idle`],
    /// then sleep this long and hand over every frame that came meanwhile at once.
    pub nap: Option<Duration>,
}

impl Plan {
    /// A healthy camera.
    pub fn forever() -> Plan {
        Plan {
            refuse: None,
            frames: 0,
            then: Then::Forever,
            rate_ppm: 0,
            nap: None,
        }
    }

    /// `frames` frames, then `then`.
    pub fn frames(frames: usize, then: Then) -> Plan {
        Plan {
            frames,
            then,
            ..Plan::forever()
        }
    }

    /// A refused connection.
    pub fn refused(kind: ErrorKind, msg: &str) -> Plan {
        Plan {
            refuse: Some((kind, msg.to_owned())),
            ..Plan::forever()
        }
    }
}

/// Plays clips as a camera. Each `open` takes the next plan; the last one repeats.
pub struct ClipOpener {
    /// The clips, played one after another (a parameter change at each boundary).
    clips: Vec<Arc<Clip>>,
    /// Plans for the coming connections.
    plans: Mutex<VecDeque<Plan>>,
    /// Connections attempted so far.
    opens: AtomicUsize,
    /// Monotonic time of each attempt.
    times: Mutex<Vec<Duration>>,
}

impl ClipOpener {
    /// A camera playing `clips` in a loop, connecting as `plans` say (then as the last).
    pub fn new(clips: Vec<Arc<Clip>>, plans: Vec<Plan>) -> ClipOpener {
        assert!(!clips.is_empty() && !plans.is_empty());
        ClipOpener {
            clips,
            plans: Mutex::new(plans.into()),
            opens: AtomicUsize::new(0),
            times: Mutex::new(Vec::new()),
        }
    }

    /// Monotonic time of each connection attempt so far.
    pub fn open_times(&self) -> Vec<Duration> {
        self.times.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Connections attempted so far.
    pub fn opens(&self) -> usize {
        self.opens.load(Ordering::SeqCst)
    }

    fn next_plan(&self) -> Plan {
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        if plans.len() > 1 {
            plans.pop_front().expect("not empty")
        } else {
            plans[0].clone()
        }
    }
}

impl Opener for ClipOpener {
    fn open(
        &self,
        _cam: &Camera,
        _timeout: Duration,
        clock: &Arc<dyn Clock>,
        stop: &Stop,
    ) -> Result<Option<Box<dyn Stream>>> {
        let n = self.opens.fetch_add(1, Ordering::SeqCst);
        self.times
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(clock.monotonic());
        let plan = self.next_plan();
        if let Some((kind, msg)) = plan.refuse {
            return Err(Error::new(kind, msg));
        }
        Ok(Some(Box::new(ClipStream {
            clips: self.clips.clone(),
            clock: clock.clone(),
            stop: stop.clone(),
            plan,
            origin: clock.monotonic(),
            // Each connection starts its RTP clock somewhere else, as cameras do.
            rtp0: 1_000_000 * (n as i64 + 1),
            sent: 0,
            at: (0, 0, 0),
            last_clip: usize::MAX,
            idle_said: false,
        })))
    }
}

/// One connection to a [`ClipOpener`].
struct ClipStream {
    /// The clips.
    clips: Vec<Arc<Clip>>,
    /// The clock frames are paced by.
    clock: Arc<dyn Clock>,
    /// Cuts waits short.
    stop: Stop,
    /// What this connection does.
    plan: Plan,
    /// Monotonic time of the connection's start.
    origin: Duration,
    /// RTP timestamp of the first frame.
    rtp0: i64,
    /// Frames sent.
    sent: usize,
    /// Next frame: (clip, frame index, ticks of the stream before this clip).
    at: (usize, usize, i64),
    /// Clip of the last frame sent (a new one brings its parameters).
    last_clip: usize,
    /// [`Next::Idle`] was answered since the last frame (with [`Plan::nap`]).
    idle_said: bool,
}

impl ClipStream {
    /// Monotonic time at which a frame `ticks` into the stream is sent.
    fn due(&self, ticks: i64) -> Duration {
        let rate = 90_000.0 * (1.0 + self.plan.rate_ppm as f64 / 1e6);
        self.origin + Duration::from_secs_f64(ticks.max(0) as f64 / rate)
    }
}

impl Stream for ClipStream {
    fn next(&mut self, timeout: Duration) -> Result<Next<'_>> {
        let stop = self.stop.clone();
        if self.plan.then != Then::Forever && self.sent >= self.plan.frames {
            match self.plan.then {
                Then::HangUp => {
                    return Err(Error::new(
                        ErrorKind::Network,
                        "the camera closed the connection",
                    ));
                }
                Then::Panic => panic!("clip camera: scripted panic"),
                _ => {
                    return Ok(if self.clock.sleep(timeout, &stop) {
                        Next::Stopped
                    } else {
                        Next::Silent
                    });
                }
            }
        }
        let (c, i, base) = self.at;
        let clip = &self.clips[c];
        let f = &clip.frames[i];
        // Frames go out in decode order, at their decode time; the first is sent at once.
        let first_dts = clip.frames[0].dts;
        let due = self.due(base + f.dts - first_dts);
        let mut now = self.clock.monotonic();
        let mut timeout = timeout;
        if let Some(nap) = self.plan.nap
            && due > now
            && self.sent > 0
        {
            if !self.idle_said {
                self.idle_said = true;
                return Ok(Next::Idle);
            }
            // The nap counts against the timeout, as in the RTSP source.
            if self.clock.sleep(nap.min(timeout), &stop) {
                return Ok(Next::Stopped);
            }
            timeout = timeout.saturating_sub(nap);
            now = self.clock.monotonic();
        }
        if due > now + timeout {
            return Ok(if self.clock.sleep(timeout, &stop) {
                Next::Stopped
            } else {
                Next::Silent
            });
        }
        if due > now && self.clock.sleep(due - now, &stop) {
            return Ok(Next::Stopped);
        }
        let params = (c != self.last_clip).then(|| clip.params.clone());
        self.last_clip = c;
        self.idle_said = false;
        self.sent += 1;
        self.at = if i + 1 < clip.frames.len() {
            (c, i + 1, base)
        } else {
            ((c + 1) % self.clips.len(), 0, base + clip.duration)
        };
        let clip = &self.clips[c];
        let f = &clip.frames[i];
        Ok(Next::Frame(Frame {
            rtp: self.rtp0 + base + f.pts,
            key: f.key,
            data: &f.data,
            params,
            loss: 0,
        }))
    }
}
