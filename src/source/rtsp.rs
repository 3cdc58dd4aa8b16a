//! The product's camera source: an RTSP session with retina (DESCRIBE, SETUP of the first
//! H.264 or H.265 video stream, PLAY; audio and other streams are not set up), driven by a current-thread tokio runtime owned by the camera's
//! thread, so each camera is independent of every other.

use super::{Frame, Next, Opener, Stream};
use crate::clock::{Clock, Stop};
use crate::codec::Codec;
use crate::config::{Camera, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::parameters::Parameters;
use futures::{FutureExt, StreamExt};
use retina::client::{
    Demuxed, PlayOptions, Session, SessionGroup, SessionOptions, SetupOptions, TcpTransportOptions,
    UdpTransportOptions,
};
use retina::codec::{CodecItem, FrameFormat, ParametersRef, VideoFrame, VideoParametersCodec};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// After a stop is asked for, frames already received are taken for at most this long
/// (a nap of a 3 Mbit/s stream takes a few milliseconds).
const DRAIN: Duration = Duration::from_millis(100);

/// While taking what the socket holds at a stop: the stream is done once nothing more
/// comes within this long.
const DRAIN_WAIT: Duration = Duration::from_millis(5);

/// How long to wait for a TEARDOWN before giving up on it.
const TEARDOWN_WAIT: Duration = Duration::from_secs(5);

/// Over TCP, once the frames already received are recorded, the thread sleeps this long before
/// it reads again, so the kernel gathers three quarters of a second of stream per wake-up
/// instead of waking the thread for every packet. Nothing is lost meanwhile: TCP holds the data
/// (about 280 KB at 3 Mbit/s: `ss -tm` showed up to 284 KB queued, in a buffer Linux had grown
/// to 2.4 MB), and a recorder has no viewer waiting for low latency (while someone watches
/// live, the thread reads as data comes: [`Stream::set_watched`]). Before it sleeps the source
/// says so ([`Next::Idle`]), and the recorder hands what it buffered to the kernel: a killed
/// process loses only what waits unread in the socket, up to this much; a stop takes what the
/// socket holds first, and loses nothing. Frames are stamped up to this much late (the stream
/// clock slews toward their arrival). The wake-ups, not the bytes, are most of a stream's cost
/// (a 500 kbit/s sub stream wakes as often as its 3 Mbit/s main stream): half a second instead
/// of a quarter cost a quarter less CPU at 16 cameras with sub streams (`bench/ab.py`, both
/// builds side by side: 0.76 to 0.78), and three quarters another tenth less (0.87 to 0.91).
/// The sleep blocks the thread on purpose: its runtime serves this camera alone. UDP is read as
/// it comes: a socket buffer (208 KiB by default) could overflow behind a sleeping reader at
/// high bitrates.
pub const TCP_NAP: Duration = Duration::from_millis(750);

/// Opens RTSP sessions with retina. One per camera thread: it owns the thread's runtime and
/// the session group that tears down stale sessions before a reconnect.
pub struct RtspOpener;

/// A playing RTSP session.
struct RtspStream {
    /// The camera thread's runtime.
    rt: Arc<tokio::runtime::Runtime>,
    /// The session's frames (taken out when dropped: its teardown needs the runtime).
    demuxed: Option<Demuxed>,
    /// Index of the video stream.
    stream: usize,
    /// Stop signal.
    stop: Stop,
    /// Nap between reads (TCP only, while nobody watches live).
    nap: bool,
    /// TCP transport (the nap applies).
    tcp: bool,
    /// No frame returned yet.
    first: bool,
    /// [`Next::Idle`] was answered since the last frame: the next wait naps.
    idle_said: bool,
    /// Once a stop is asked for: until when frames already received are still taken.
    drain_until: Option<Instant>,
    /// The frame last returned (its bytes are lent out).
    frame: Option<VideoFrame>,
    /// The session's other streams, described.
    others: Vec<String>,
}

/// What one wait in [`RtspStream::next`] gave.
enum Got {
    /// A frame.
    Frame(VideoFrame),
    /// None ready, and the next wait naps.
    Idle,
    /// None within the timeout.
    Silent,
    /// Stop was requested.
    Stopped,
}

/// A camera's failure in pinvr's words, with what to check: retina's messages carry
/// connection details after a blank line, and their first line is RTSP's jargon
/// ("Received Unauthorized after trying digest auth").
fn net(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Network, explain(&e.to_string()))
}

/// The words for a camera failure described by retina as `text`.
pub fn explain(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default();
    let lower = first.to_lowercase();
    if lower.contains("401") || lower.contains("unauthorized") {
        "the camera refused the user name or password (check them against the camera's own web page)".into()
    } else if lower.contains("connection refused") {
        "nothing answers at that address and port (connection refused: check the camera is on and its RTSP port; 554 is usual)".into()
    } else if lower.contains("404") || lower.contains("not found") {
        "the camera has no stream at that path (check the URL's path; the config page lists the usual ones per vendor)".into()
    } else if lower.contains("no route to host") || lower.contains("network is unreachable") {
        format!("the camera's address cannot be reached ({first}; check its IP address)")
    } else {
        first.to_owned()
    }
}

thread_local! {
    /// The camera thread's runtime and session group, made on first use.
    static RUNTIME: std::cell::RefCell<Option<(Arc<tokio::runtime::Runtime>, Arc<SessionGroup>)>> =
        const { std::cell::RefCell::new(None) };
}

fn runtime() -> Result<(Arc<tokio::runtime::Runtime>, Arc<SessionGroup>)> {
    RUNTIME.with(|r| {
        let mut r = r.borrow_mut();
        if let Some(v) = r.as_ref() {
            return Ok(v.clone());
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting the camera's runtime", e))?;
        let v = (Arc::new(rt), Arc::new(SessionGroup::default()));
        *r = Some(v.clone());
        Ok(v)
    })
}

impl Opener for RtspOpener {
    fn closing(&self) {
        // The last session tears itself down in the background: give its TEARDOWN a moment
        // on this thread's runtime so the camera does not keep a stale session.
        if let Ok((rt, group)) = runtime() {
            rt.block_on(async {
                let _ = tokio::time::timeout(TEARDOWN_WAIT, group.await_teardown()).await;
            });
        }
    }

    fn open(
        &self,
        cam: &Camera,
        timeout: Duration,
        _clock: &Arc<dyn Clock>,
        stop: &Stop,
    ) -> Result<Option<Box<dyn Stream>>> {
        let (rt, group) = runtime()?;
        // Let the camera forget the old session before we open a new one.
        rt.block_on(async {
            let stale = group.stale_sessions();
            if stale.num_sessions > 0 {
                let _ =
                    tokio::time::timeout(TEARDOWN_WAIT, group.await_stale_sessions(&stale)).await;
            }
        });
        let creds = cam.username.as_ref().map(|u| retina::client::Credentials {
            username: u.clone(),
            password: cam
                .password
                .as_ref()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default(),
        });
        let options = SessionOptions::default()
            .creds(creds)
            .user_agent(format!("pinvr/{}", env!("CARGO_PKG_VERSION")))
            .session_group(group.clone());
        let transport = match cam.transport {
            Transport::Tcp => retina::client::Transport::Tcp(TcpTransportOptions::default()),
            Transport::Udp => retina::client::Transport::Udp(UdpTransportOptions::default()),
        };
        let url = cam.url.clone();
        let connect = async move {
            let mut session = Session::describe(url, options).await.map_err(net)?;
            let stream = session
                .streams()
                .iter()
                .position(|s| {
                    s.media() == "video" && Codec::of_encoding(s.encoding_name()).is_some()
                })
                .ok_or_else(|| {
                    let offered: Vec<String> = session
                        .streams()
                        .iter()
                        .map(|s| format!("{} {}", s.encoding_name(), s.media()))
                        .collect();
                    Error::new(
                        ErrorKind::Unsupported,
                        format!(
                            "the camera offers no H.264 or H.265 video stream (it offers {})",
                            if offered.is_empty() {
                                "nothing".to_owned()
                            } else {
                                offered.join(", ")
                            }
                        ),
                    )
                })?;
            session
                .setup(
                    stream,
                    SetupOptions::default()
                        .transport(transport)
                        .frame_format(FrameFormat::MP4),
                )
                .await
                .map_err(net)?;
            let others: Vec<String> = session
                .streams()
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != stream)
                .map(|(_, s)| {
                    let rate = s.clock_rate_hz();
                    format!("{} {}/{rate}", s.media(), s.encoding_name().to_uppercase())
                })
                .collect();
            let demuxed = session
                .play(PlayOptions::default())
                .await
                .map_err(net)?
                .demuxed()
                .map_err(net)?;
            Ok::<_, Error>((demuxed, stream, others))
        };
        let secs = timeout.as_secs_f64();
        let opened = rt.block_on(async {
            tokio::select! {
                _ = stop.requested() => None,
                r = tokio::time::timeout(timeout, connect) => Some(r),
            }
        });
        let (demuxed, stream, others) = match opened {
            None => return Ok(None),
            Some(Err(_)) => {
                return Err(Error::new(
                    ErrorKind::Network,
                    format!(
                        "the camera did not answer within {secs} s (check its address, and that nothing blocks the port)"
                    ),
                ));
            }
            Some(Ok(r)) => r?,
        };
        Ok(Some(Box::new(RtspStream {
            rt,
            demuxed: Some(demuxed),
            stream,
            stop: stop.clone(),
            nap: matches!(cam.transport, Transport::Tcp),
            tcp: matches!(cam.transport, Transport::Tcp),
            first: true,
            idle_said: false,
            drain_until: None,
            frame: None,
            others,
        })))
    }
}

impl Stream for RtspStream {
    fn set_watched(&mut self, watched: bool) {
        self.nap = self.tcp && !watched;
    }

    fn others(&self) -> Vec<String> {
        self.others.clone()
    }

    fn next(&mut self, timeout: Duration) -> Result<Next<'_>> {
        let demuxed = self.demuxed.as_mut().expect("present until dropped");
        let stop = &self.stop;
        let (nap, first, idle_said) = (self.nap, self.first, self.idle_said);
        let drain_until = &mut self.drain_until;
        let got = self.rt.block_on(async {
            loop {
                // Once a stop is asked for, what the socket already holds is still taken
                // (a stop loses nothing received, not even a nap's worth), up to a bound
                // in case the camera sends faster than it is read. The short wait lets the
                // runtime poll the socket, which it has not since before the nap.
                if stop.is_requested() {
                    let until = *drain_until.get_or_insert_with(|| Instant::now() + DRAIN);
                    let left = until.saturating_duration_since(Instant::now());
                    match tokio::time::timeout(left.min(DRAIN_WAIT), demuxed.next()).await {
                        Ok(Some(Ok(CodecItem::VideoFrame(f)))) => return Ok(Got::Frame(f)),
                        Ok(Some(Ok(_))) if !left.is_zero() => continue,
                        _ => return Ok(Got::Stopped),
                    }
                }
                // Frames already received are taken without waiting; otherwise say so once
                // (the recorder writes out what it holds), then nap (TCP) and wait for the
                // next one, the stop signal or the deadline.
                let item = match demuxed.next().now_or_never() {
                    Some(item) => Some(item),
                    None if nap && !first && !idle_said => return Ok(Got::Idle),
                    None => {
                        // The nap counts against the timeout: a silence is said a gap
                        // timeout after the last frame, not a nap later.
                        let mut left = timeout;
                        if nap && !first {
                            // A stop ends the nap: a shutdown does not wait out every
                            // camera's nap, nor does it record a nap more than it was
                            // told; what came during the nap is taken above.
                            if stop.wait_timeout(TCP_NAP) {
                                continue;
                            }
                            left = left.saturating_sub(TCP_NAP);
                        }
                        tokio::select! {
                            _ = stop.requested() => continue,
                            r = tokio::time::timeout(left, demuxed.next()) => r.ok(),
                        }
                    }
                };
                match item {
                    None => return Ok(Got::Silent),
                    Some(None) => {
                        return Err(Error::new(
                            ErrorKind::Network,
                            "the camera closed the connection",
                        ));
                    }
                    Some(Some(Err(e))) => return Err(net(e)),
                    Some(Some(Ok(CodecItem::VideoFrame(f)))) => return Ok(Got::Frame(f)),
                    // Audio, RTCP and other streams' items are ignored.
                    Some(Some(Ok(_))) => {}
                }
            }
        })?;
        let frame = match got {
            Got::Stopped => return Ok(Next::Stopped),
            Got::Silent => return Ok(Next::Silent),
            Got::Idle => {
                self.idle_said = true;
                return Ok(Next::Idle);
            }
            Got::Frame(f) => f,
        };
        self.idle_said = false;
        let mut params = None;
        if (self.first || frame.has_new_parameters())
            && let Some(ParametersRef::Video(v)) = self
                .demuxed
                .as_ref()
                .and_then(|d| d.streams()[self.stream].parameters())
        {
            params = match v.codec_params() {
                VideoParametersCodec::H264 { sps, pps } => {
                    Some(Parameters::h264(sps.to_vec(), pps.to_vec()))
                }
                VideoParametersCodec::H265 { vps, sps, pps } => Some(Parameters {
                    codec: Codec::H265,
                    vps: vec![vps.to_vec()],
                    sps: vec![sps.to_vec()],
                    pps: vec![pps.to_vec()],
                }),
                _ => None,
            };
        }
        self.first = false;
        let frame = self.frame.insert(frame);
        Ok(Next::Frame(Frame {
            rtp: frame.timestamp().timestamp(),
            key: frame.is_random_access_point(),
            data: frame.data(),
            params,
            loss: frame.loss(),
        }))
    }
}

impl Drop for RtspStream {
    fn drop(&mut self) {
        // Dropping a session starts its TEARDOWN as a task: in this thread's runtime.
        let _in_runtime = self.rt.enter();
        self.frame = None;
        self.demuxed = None;
    }
}
