//! "Test" on the config page: connects to a camera URL as the recorder would (the same RTSP
//! source), watches a few seconds of its video and says what it is (codec, size, frame
//! rate, key frame interval, transport, what else it sends) with a decoded picture for
//! H.264, or why it cannot: nothing answers, the password is refused, no video. Nothing is
//! saved or recorded.

use crate::clock::{Clock, RealClock, Stop};
use crate::codec::Codec;
use crate::config::Camera;
use crate::error::{Error, ErrorKind, Result};
use crate::parameters::Parameters;
use crate::preview::Previewer;
use crate::source::{Next, Opener, rtsp::RtspOpener};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the video is watched after its first key frame, at most.
const WATCH: Duration = Duration::from_secs(4);

/// What a test found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Probe {
    /// "H.264" or "H.265".
    pub codec: String,
    /// The RFC 6381 codec string (what a browser is asked whether it plays).
    pub codec_string: String,
    /// Picture size.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// Frames per second, measured.
    pub fps: Option<f64>,
    /// Seconds between key frames, measured (`None`: only one seen while watching).
    pub gop_s: Option<f64>,
    /// `tcp` or `udp`.
    pub transport: String,
    /// The camera's other streams (`"audio PCMA/8000"`): not recorded.
    pub others: Vec<String>,
    /// The first key frame as a JPEG (H.264 only).
    pub picture: Option<Vec<u8>>,
}

/// Tests `cam` (its URL, credentials and transport) within `timeout`, on a thread of its
/// own (its own RTSP runtime, as a camera thread has).
pub fn probe(cam: &Camera, timeout: Duration) -> Result<Probe> {
    let cam = cam.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("camera-test".into())
        .spawn(move || {
            let _ = tx.send(run(&cam, timeout));
            // Let the camera forget the session before the thread and its runtime go.
            RtspOpener.closing();
        })
        .map_err(|e| Error::io("starting a camera test", e))?;
    rx.recv_timeout(timeout + WATCH + Duration::from_secs(5))
        .map_err(|_| Error::new(ErrorKind::Network, "the test did not finish in time"))?
}

fn run(cam: &Camera, timeout: Duration) -> Result<Probe> {
    let clock: Arc<dyn Clock> = Arc::new(RealClock);
    let stop = Stop::default();
    let mut stream = RtspOpener
        .open(cam, timeout, &clock, &stop)?
        .ok_or_else(|| Error::new(ErrorKind::Network, "stopped"))?;
    stream.set_watched(true);
    let mut p = Probe {
        transport: format!("{:?}", cam.transport).to_lowercase(),
        others: stream.others(),
        ..Probe::default()
    };
    let mut params: Option<Parameters> = None;
    let mut keys: Vec<i64> = Vec::new();
    let (mut first, mut last, mut frames) = (None, 0i64, 0u32);
    let mut key_frame: Option<Vec<u8>> = None;
    let started = Instant::now();
    let mut watch_end = started + timeout;
    while Instant::now() < watch_end {
        let left = watch_end.saturating_duration_since(Instant::now());
        let f = match stream.next(left)? {
            Next::Frame(f) => f,
            Next::Idle => continue,
            Next::Silent => break,
            Next::Stopped => break,
        };
        if let Some(np) = f.params {
            params = Some(np);
        }
        if f.key {
            if keys.is_empty() {
                watch_end = Instant::now() + WATCH;
                key_frame = Some(f.data.to_vec());
            }
            keys.push(f.rtp);
        }
        if !keys.is_empty() {
            first.get_or_insert(f.rtp);
            last = f.rtp;
            frames += 1;
        }
        if keys.len() >= 3 {
            break;
        }
    }
    let params = params.ok_or_else(|| {
        Error::new(
            ErrorKind::Unsupported,
            "the camera sent no video parameters (SPS/PPS) within the time allowed",
        )
    })?;
    let entry = params.sample_entry(false)?;
    p.codec = params.codec.name().to_owned();
    p.codec_string = entry.codec();
    (p.width, p.height) = (u32::from(entry.width), u32::from(entry.height));
    if let Some(first) = first
        && frames > 1
        && last > first
    {
        p.fps = Some(f64::from(frames - 1) * 90_000.0 / (last - first) as f64);
    }
    if keys.len() >= 2 {
        p.gop_s = Some((keys[1] - keys[0]) as f64 / 90_000.0);
    }
    if let (Some(data), Codec::H264) = (&key_frame, params.codec) {
        let annex_b = params.annex_b_of(data)?;
        let mut previewer = Previewer::default();
        p.picture = previewer.jpeg(&params, &annex_b).ok();
        previewer.release();
    }
    if key_frame.is_none() {
        return Err(Error::new(
            ErrorKind::Network,
            format!(
                "the camera sent no key frame within {} s",
                timeout.as_secs()
            ),
        ));
    }
    Ok(p)
}
