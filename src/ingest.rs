//! One camera: an OS thread with its own current-thread tokio runtime driving a retina RTSP
//! session into a [`Recorder`]. Liveness: no frame within the connect timeout, or a silence
//! longer than the gap timeout, ends the session; it is retried after a delay that doubles
//! up to a cap. Each outage is logged once, with its cause, and once more when it ends.

use crate::config::{Camera, Retry, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::finisher::Finisher;
use crate::h264::Parameters;
use crate::recorder::Recorder;
use crate::status::{State, Status};
use crate::time::now_micros;
use futures::{FutureExt, StreamExt};
use retina::client::{
    PlayOptions, Session, SessionGroup, SessionOptions, SetupOptions, TcpTransportOptions,
    UdpTransportOptions,
};
use retina::codec::{CodecItem, FrameFormat, ParametersRef, VideoParametersCodec};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, timeout_at};

/// Chunk writer buffer per camera: about a second of a 3 Mbit/s stream.
const CHUNK_BUFFER: usize = 512 << 10;
/// How long to wait for a TEARDOWN before giving up on it.
const TEARDOWN_WAIT: Duration = Duration::from_secs(5);
/// Over TCP, once the frames already received are recorded, the thread sleeps this long
/// before it reads again, so the kernel gathers a quarter of a second of stream per wake-up
/// instead of waking the thread for every packet. Nothing is lost meanwhile: TCP holds the
/// data (about 100 KiB at 3 Mbit/s; Linux grows the socket's buffer to match, 374 KB
/// measured), and a recorder has no viewer waiting for low latency. Frames are stamped up
/// to this much late, which the clock's slew averages out. The sleep blocks the thread on
/// purpose: its runtime serves this camera alone. UDP is read as it comes: a socket buffer
/// (208 KiB by default) could overflow behind a sleeping reader at high bitrates.
pub const TCP_NAP: Duration = Duration::from_millis(250);

/// A running camera thread.
pub struct CameraHandle {
    /// Set to true to stop the camera (it closes its open minute first).
    stop: watch::Sender<bool>,
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
        let _ = self.stop.send(true);
    }

    /// Stops the camera and waits for it; returns false if it had panicked.
    pub fn stop(self) -> bool {
        self.request_stop();
        self.join.join().is_ok()
    }
}

/// Everything a camera thread needs.
struct Ctx {
    /// The camera's settings.
    cam: Camera,
    /// Liveness and retry timers.
    retry: Retry,
    /// Shared status.
    status: Arc<Status>,
    /// Stop signal.
    stop: watch::Receiver<bool>,
}

/// Called when a write finds the disk full (wakes the reaper).
pub type OnFull = Arc<dyn Fn() + Send + Sync>;

/// Starts recording `cam` on a new thread.
pub fn spawn(
    cam: Camera,
    retry: Retry,
    status: Arc<Status>,
    finisher: &Finisher,
    on_full: OnFull,
) -> CameraHandle {
    let (stop_tx, stop) = watch::channel(false);
    let sink = finisher.sink();
    let name = format!("cam-{}", cam.id);
    let join = std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    log::error!("camera {}: cannot start its runtime: {e}", cam.id);
                    return;
                }
            };
            let mut ctx = Ctx {
                cam,
                retry,
                status,
                stop,
            };
            let mut recorder = Recorder::new(&ctx.cam.id, &ctx.cam.dir, sink, CHUNK_BUFFER);
            recorder.on_disk_full(Box::new(move || on_full()));
            rt.block_on(run(&mut ctx, &mut recorder));
        })
        .expect("spawning a camera thread");
    CameraHandle {
        stop: stop_tx,
        join,
    }
}

/// How a session ended without error.
enum Ended {
    /// The camera was asked to stop.
    Stopped,
}

/// Fault injection for the supervisor's test: `PINVR_FAULT_PANIC=<camera id>` makes that
/// camera's thread panic once, after its first frame.
fn injected_panic(id: &str) {
    static FIRED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if std::env::var("PINVR_FAULT_PANIC").is_ok_and(|v| v == id)
        && !FIRED.swap(true, std::sync::atomic::Ordering::SeqCst)
    {
        panic!("camera {id}: injected fault (PINVR_FAULT_PANIC)");
    }
}

/// The camera's life: recover leftovers, then connect, record, retry until stopped.
async fn run(ctx: &mut Ctx, rec: &mut Recorder) {
    let id = ctx.cam.id.clone();
    let recovered = crate::finish::recover(&ctx.cam.dir);
    if recovered > 0 {
        log::info!("camera {id}: finished {recovered} leftover minute(s)");
    }
    let group = Arc::new(SessionGroup::default());
    let mut delay = ctx.retry.retry_delay;
    // The current outage: when it began and its first cause.
    let mut outage: Option<(Instant, String)> = None;
    // Whether any session has recorded yet (the first success is logged once).
    let mut recorded = false;
    ctx.status.set_state(&id, State::Connecting);
    loop {
        if *ctx.stop.borrow() {
            break;
        }
        rec.session_started();
        let mut streamed = false;
        let result = session(ctx, rec, &group, &mut |ctx| {
            streamed = true;
            ctx.status.set_state(&ctx.cam.id, State::Recording);
            match outage.take() {
                Some((since, _)) => log::info!(
                    "camera {}: recording again after {:.0} s",
                    ctx.cam.id,
                    since.elapsed().as_secs_f64()
                ),
                None if !recorded => log::info!("camera {}: recording", ctx.cam.id),
                None => {}
            }
            recorded = true;
        })
        .await;
        match result {
            Ok(Ended::Stopped) => break,
            Err(e) => {
                let msg = e.to_string();
                ctx.status.update(&id, |c| c.last_error = Some(msg.clone()));
                ctx.status.set_state(&id, State::Retrying);
                match &outage {
                    None => {
                        log::warn!("camera {id}: {msg}; retrying until it is back");
                        outage = Some((Instant::now(), msg));
                    }
                    Some((_, first)) if *first != msg => {
                        log::debug!("camera {id}: still down: {msg}");
                    }
                    Some(_) => {}
                }
            }
        }
        if streamed {
            delay = ctx.retry.retry_delay;
        }
        // Let the camera forget the old session before we open a new one.
        let stale = group.stale_sessions();
        if stale.num_sessions > 0 {
            let _ = tokio::time::timeout(TEARDOWN_WAIT, group.await_stale_sessions(&stale)).await;
        }
        if wait(ctx, rec, delay).await {
            break;
        }
        delay = (delay * 2).min(ctx.retry.retry_max_delay);
    }
    if let Err(e) = rec.close() {
        log::error!("camera {id}: closing the last minute: {e}");
    }
    let _ = tokio::time::timeout(TEARDOWN_WAIT, group.await_teardown()).await;
    log::info!("camera {id}: stopped");
}

/// Waits `delay` before a retry, closing the open minute when the clock leaves it.
/// Returns true if the camera was asked to stop.
async fn wait(ctx: &mut Ctx, rec: &mut Recorder, delay: Duration) -> bool {
    let deadline = Instant::now() + delay;
    loop {
        if let Err(e) = rec.idle(now_micros()) {
            log::error!("camera {}: closing minute: {e}", ctx.cam.id);
        }
        let mut until = deadline;
        if let Some(end) = rec.open_until() {
            let left = Duration::from_micros((end - now_micros()).max(0) as u64);
            until = until.min(Instant::now() + left);
        }
        tokio::select! {
            r = ctx.stop.changed() => if r.is_err() || *ctx.stop.borrow() { return true },
            _ = tokio::time::sleep_until(until) => {}
        }
        if Instant::now() >= deadline {
            return false;
        }
    }
}

fn net(e: impl std::fmt::Display) -> Error {
    // retina's messages carry connection details after a blank line; the first line says
    // what happened.
    let text = e.to_string();
    Error::new(
        ErrorKind::Network,
        text.lines().next().unwrap_or_default().to_owned(),
    )
}

/// One connection: DESCRIBE, SETUP, PLAY, then frames until an error, silence or stop.
/// `on_first_frame` runs when the first frame is recorded.
async fn session(
    ctx: &mut Ctx,
    rec: &mut Recorder,
    group: &Arc<SessionGroup>,
    on_first_frame: &mut dyn FnMut(&Ctx),
) -> Result<Ended> {
    let cam = &ctx.cam;
    let connect_deadline = Instant::now() + ctx.retry.connect_timeout;
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
    let connect = async {
        let mut session = Session::describe(cam.url.clone(), options)
            .await
            .map_err(net)?;
        let stream = session
            .streams()
            .iter()
            .position(|s| s.media() == "video" && s.encoding_name() == "h264")
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    "the camera offers no H.264 video stream",
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
        let demuxed = session
            .play(PlayOptions::default())
            .await
            .map_err(net)?
            .demuxed()
            .map_err(net)?;
        Ok::<_, Error>((demuxed, stream))
    };
    let connect_s = ctx.retry.connect_timeout.as_secs_f64();
    let (mut demuxed, stream) = tokio::select! {
        _ = ctx.stop.changed() => return Ok(Ended::Stopped),
        r = timeout_at(connect_deadline, connect) => r.map_err(|_| {
            Error::new(ErrorKind::Network, format!("no answer within {connect_s} s"))
        })??,
    };
    let mut deadline = connect_deadline;
    let mut first = true;
    let nap = matches!(cam.transport, Transport::Tcp);
    loop {
        // Frames already received are taken without waiting; otherwise nap (TCP) and then
        // wait for the next one, the stop signal or the liveness deadline.
        let item = match demuxed.next().now_or_never() {
            Some(item) => Ok(item),
            None => {
                if nap && !first {
                    std::thread::sleep(TCP_NAP);
                }
                tokio::select! {
                    _ = ctx.stop.changed() => return Ok(Ended::Stopped),
                    r = timeout_at(deadline, demuxed.next()) => r,
                }
            }
        };
        let frame = match item {
            Err(_) if first => {
                return Err(Error::new(
                    ErrorKind::Network,
                    format!("no frame within {connect_s} s of connecting"),
                ));
            }
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Network,
                    format!("no frame for {} s", ctx.retry.gap_timeout.as_secs_f64()),
                ));
            }
            Ok(None) => {
                return Err(Error::new(
                    ErrorKind::Network,
                    "the camera closed the connection",
                ));
            }
            Ok(Some(Err(e))) => return Err(net(e)),
            Ok(Some(Ok(CodecItem::VideoFrame(f)))) => f,
            Ok(Some(Ok(_))) => continue,
        };
        if (first || frame.has_new_parameters())
            && let Some(ParametersRef::Video(v)) = demuxed.streams()[stream].parameters()
            && let VideoParametersCodec::H264 { sps, pps } = v.codec_params()
        {
            rec.set_parameters(Parameters {
                sps: vec![sps.to_vec()],
                pps: vec![pps.to_vec()],
            });
        }
        rec.frame(
            frame.timestamp().timestamp(),
            now_micros(),
            frame.is_random_access_point(),
            frame.data(),
        )?;
        ctx.status.update(&ctx.cam.id, |c| c.frames += 1);
        if first {
            first = false;
            on_first_frame(ctx);
            injected_panic(&ctx.cam.id);
        }
        deadline = Instant::now() + ctx.retry.gap_timeout;
    }
}
