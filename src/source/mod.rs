//! Frames from a camera, behind two traits: an [`Opener`] connects to a camera and returns
//! a [`Stream`] of frames. The RTSP client ([`rtsp`], retina) is the product's opener; a
//! clip player ([`clip`]) plays MP4 clips as a camera would, paced by a [`Clock`], with
//! scripted outages, hang-ups and faults, so the camera loop above it is tested frame by
//! frame without a network.

pub mod clip;
pub mod rtsp;

use crate::clock::{Clock, Stop};
use crate::config::Camera;
use crate::error::Result;
use crate::parameters::Parameters;
use std::sync::Arc;
use std::time::Duration;

/// One access unit as the camera sent it.
#[derive(Debug)]
pub struct Frame<'a> {
    /// RTP timestamp (90 kHz), extended to 64 bits: presentation time, stream-relative.
    pub rtp: i64,
    /// True for a key frame (random access point).
    pub key: bool,
    /// NAL units with 4-byte big-endian length prefixes.
    pub data: &'a [u8],
    /// The decoder configuration, on the first frame and whenever it changed.
    pub params: Option<Parameters>,
    /// RTP packets lost (sequence numbers missing) since the previous frame: this frame,
    /// or the ones before it, lack data, and the picture may show damage until the next
    /// key frame.
    pub loss: u16,
}

/// What waiting for the next frame gave.
#[derive(Debug)]
pub enum Next<'a> {
    /// A frame.
    Frame(Frame<'a>),
    /// Nothing arrived within the time allowed.
    Silent,
    /// No frame is ready and the next call will nap before it waits for one: a moment to
    /// hand buffered frames to the kernel, so a kill loses no more than the nap. Said once
    /// per nap, by sources that nap.
    Idle,
    /// Stop was requested.
    Stopped,
}

/// A connected camera's frames.
pub trait Stream: Send {
    /// Waits up to `timeout` for the next frame. An error ends the connection (the camera
    /// hung up, sent garbage, the network failed).
    fn next(&mut self, timeout: Duration) -> Result<Next<'_>>;

    /// Someone watches the camera live (or stopped watching): a source that delays reads
    /// to save wake-ups reads frames as they come while watched.
    fn set_watched(&mut self, _watched: bool) {}

    /// What the camera offers besides the video recorded (`"audio PCMA/8000"`), as far as
    /// the source knows.
    fn others(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Connects to cameras.
pub trait Opener: Send + Sync {
    /// Connects to `cam` and starts its video, within `timeout`; `None` if `stop` was
    /// requested meanwhile. The returned stream's frames are paced by `clock`.
    fn open(
        &self,
        cam: &Camera,
        timeout: Duration,
        clock: &Arc<dyn Clock>,
        stop: &Stop,
    ) -> Result<Option<Box<dyn Stream>>>;

    /// Called on the camera's thread when it stops for good, after its last stream is
    /// dropped (an RTSP opener waits briefly for the TEARDOWN).
    fn closing(&self) {}
}
