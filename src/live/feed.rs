//! One camera's live feed: the camera thread hands it each frame as it arrives; while
//! someone watches, the frame becomes one shared fragment (`moof` + `mdat`, built once,
//! whatever the number of viewers) in a small ring holding the previous and the current
//! group of pictures; each [`Viewer`] walks the ring at its own pace. A viewer that falls
//! behind (its socket full while the ring moved on) skips to the newest key frame, and the
//! skip is counted; it never holds up the camera or another viewer.
//!
//! Nobody watching costs nothing: no fragment is built and the ring is emptied once the
//! last viewer has been gone for [`LINGER`], so a first viewer starts at the next key
//! frame (at most one group of pictures away) rather than the camera keeping one in memory
//! all day.

use crate::mp4;
use crate::parameters::Parameters;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

/// How long the ring is kept after the last viewer left (a reload, a phone waking).
pub const LINGER: Duration = Duration::from_secs(30);
/// Most bytes the ring holds; beyond it the oldest fragments go (a huge group of pictures
/// leaves new viewers waiting for the next key frame instead of growing the ring).
pub const RING_BYTES: usize = 8 << 20;
/// The longest a frame is given on screen when the next one is late (ticks).
const MAX_DURATION: i64 = 90_000;

/// Whether a feed is watched.
#[derive(Clone, Copy, Debug)]
pub(super) enum Watch {
    /// Nobody has watched since the feed began: a camera that was never watched keeps no
    /// ring (before, a feed counted as watched for its first [`LINGER`], so every camera
    /// built and kept fragments of its first 30 s: 24 MiB for 16 cameras at 3 Mbit/s).
    Never,
    /// Someone watches now.
    Now,
    /// The last viewer left at this instant.
    Left(Instant),
}

impl Watch {
    /// True while someone watches or watched within [`LINGER`].
    fn active(self) -> bool {
        match self {
            Watch::Never => false,
            Watch::Now => true,
            Watch::Left(t) => t.elapsed() < LINGER,
        }
    }
}

/// One frame, ready to send.
pub(super) struct Fragment {
    /// Its place in the feed, counting from 0 at the first frame ever pushed.
    pub(super) seq: u64,
    /// A key frame (a viewer may start here).
    pub(super) key: bool,
    /// Decode time in ticks since the session's first frame.
    pub(super) time: i64,
    /// Which init segment it needs.
    pub(super) init: u64,
    /// `moof` + `mdat`.
    pub(super) bytes: Bytes,
}

/// The state behind the lock.
pub(super) struct Inner {
    /// Counts connections of the camera: a viewer's stream ends when it changes.
    pub(super) session: u64,
    /// True while a connection delivers frames.
    pub(super) online: bool,
    /// The current init segment and its number.
    pub(super) init: Option<(u64, Bytes)>,
    /// The codec string of the current init segment.
    pub(super) codec: String,
    /// Whether a frame was timed since the ring was last emptied, and its RTP timestamp.
    pub(super) started: bool,
    pub(super) last_rtp: i64,
    /// Decode time of the last frame, and the last frame interval (ticks).
    pub(super) last_time: i64,
    pub(super) interval: i64,
    /// The ring.
    pub(super) ring: VecDeque<Fragment>,
    /// Bytes in the ring.
    pub(super) bytes: usize,
    /// Number the next fragment gets.
    pub(super) next_seq: u64,
    /// Whether anyone watches, or since when nobody has.
    pub(super) watch: Watch,
    /// Wakers of viewers waiting for the next fragment, by viewer.
    pub(super) waiting: Vec<(u64, Waker)>,
    /// Scratch for building a fragment (its capacity is reused).
    pub(super) scratch: Vec<u8>,
}

/// Counters of one feed.
#[derive(Default)]
pub struct Counters {
    /// Viewers connected now.
    pub viewers: AtomicUsize,
    /// Frames viewers skipped to catch up.
    pub skipped: AtomicU64,
    /// Fragments sent (counting each viewer).
    pub sent: AtomicU64,
    /// Viewers served since start.
    pub served: AtomicU64,
}

/// One camera's live feed.
pub struct Feed {
    inner: Mutex<Inner>,
    /// Counters, read by the status page and `/metrics`.
    pub counters: Counters,
    /// Numbers viewers.
    pub(super) next_viewer: AtomicU64,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            inner: Mutex::new(Inner {
                session: 0,
                online: false,
                init: None,
                codec: String::new(),
                started: false,
                last_rtp: 0,
                last_time: 0,
                interval: 0,
                ring: VecDeque::new(),
                bytes: 0,
                next_seq: 0,
                watch: Watch::Never,
                waiting: Vec::new(),
                scratch: Vec::new(),
            }),
            counters: Counters::default(),
            next_viewer: AtomicU64::new(0),
        }
    }
}

impl Feed {
    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True while someone watches (or watched within [`LINGER`]): the camera thread then
    /// reads its socket as data comes instead of napping.
    pub fn watched(&self) -> bool {
        let inner = self.lock();
        inner.watch.active()
    }

    /// A new connection of the camera began: viewers of the last one end their streams.
    pub fn session_started(&self) {
        let wake = {
            let mut inner = self.lock();
            inner.session += 1;
            inner.online = true;
            inner.started = false;
            inner.interval = 0;
            inner.ring.clear();
            inner.bytes = 0;
            std::mem::take(&mut inner.waiting)
        };
        wake.into_iter().for_each(|(_, w)| w.wake());
    }

    /// The connection ended: viewers' streams end (their players reconnect and are told
    /// the camera's state).
    pub fn session_ended(&self) {
        let wake = {
            let mut inner = self.lock();
            inner.session += 1;
            inner.online = false;
            inner.started = false;
            inner.ring.clear();
            inner.bytes = 0;
            std::mem::take(&mut inner.waiting)
        };
        wake.into_iter().for_each(|(_, w)| w.wake());
    }

    /// The camera's decoder configuration changed (or is first known).
    pub fn set_parameters(&self, params: &Parameters) {
        let entry = match params.sample_entry(false) {
            Ok(e) => e,
            Err(e) => {
                log::debug!("live: parameters not usable: {e}");
                return;
            }
        };
        let mut inner = self.lock();
        let n = inner.init.as_ref().map_or(0, |(n, _)| n + 1);
        inner.codec = entry.codec();
        inner.init = Some((n, Bytes::from(mp4::init_segment(&entry))));
    }

    /// A frame from the camera thread: RTP timestamp, key frame or not, NAL units with
    /// 4-byte lengths. Returns whether the feed is watched.
    pub fn frame(&self, rtp: i64, key: bool, data: &[u8]) -> bool {
        let wake = {
            let mut inner = self.lock();
            let inner = &mut *inner;
            let watched = inner.watch.active();
            if !watched {
                if !inner.ring.is_empty() {
                    inner.ring = VecDeque::new();
                    inner.bytes = 0;
                    inner.scratch = Vec::new();
                }
                inner.started = false;
                return false;
            }
            let Some((init, _)) = inner.init else {
                return true;
            };
            // Decode times from RTP, from 0 at the first frame watched; a frame that goes
            // back or jumps more than 10 s (a camera resetting its clock) is placed one
            // interval on.
            let time = if inner.started {
                let delta = rtp - inner.last_rtp;
                if delta > 0 && delta <= MAX_DURATION * 10 {
                    inner.interval = delta.min(MAX_DURATION);
                    inner.last_time + delta
                } else {
                    inner.last_time + inner.interval.max(1)
                }
            } else {
                inner.started = true;
                0
            };
            inner.last_rtp = rtp;
            inner.last_time = time;
            if inner.ring.is_empty() && !key {
                // The ring starts at a key frame.
                return true;
            }
            // The next frame's time is not known yet: its duration is guessed from the
            // last interval, with room for a late frame (Media Source Extensions treat a
            // gap over twice the last duration as a discontinuity and drop frames until
            // the next key frame).
            let guess = if inner.interval > 0 {
                inner.interval * 3 / 2
            } else {
                3000
            };
            let seq = inner.next_seq;
            inner.next_seq += 1;
            mp4::fragment(
                &mut inner.scratch,
                seq as u32,
                time as u64,
                guess.min(MAX_DURATION) as u32,
                key,
                data,
            );
            let bytes = Bytes::copy_from_slice(&inner.scratch);
            if key && let Some(last_key) = inner.ring.iter().rposition(|f| f.key) {
                // The current group of pictures becomes the previous one; the one before
                // it goes.
                for _ in 0..last_key {
                    let f = inner.ring.pop_front().expect("not empty");
                    inner.bytes -= f.bytes.len();
                }
            }
            inner.bytes += bytes.len();
            inner.ring.push_back(Fragment {
                seq,
                key,
                time,
                init,
                bytes,
            });
            while inner.bytes > RING_BYTES && inner.ring.len() > 1 {
                let f = inner.ring.pop_front().expect("not empty");
                inner.bytes -= f.bytes.len();
            }
            std::mem::take(&mut inner.waiting)
        };
        wake.into_iter().for_each(|(_, w)| w.wake());
        true
    }

    /// Whether the camera delivers frames now, and the current codec string.
    pub fn online(&self) -> (bool, String) {
        let inner = self.lock();
        (inner.online, inner.codec.clone())
    }
}
