#!/usr/bin/python3
"""fake_camera.py: a fake IP camera for pinvr's integration tests.

Owns: serving one pre-encoded H.264 MP4 clip as a live RTSP stream at
rtsp://127.0.0.1:PORT/PATH (default path /stream), looping forever, with
GStreamer's RTSP server (Debian's python3-gi + gir1.2-gst-rtsp-server-1.0;
run it with /usr/bin/python3, not a pyenv python without gi).

Usage:
    /usr/bin/python3 tests/fake_camera.py --port PORT --clip CLIP.mp4 \
        [--path /stream] [--user U --password P [--auth both|basic|digest]]

  --port 0 picks a free port; the READY line tells which.
  Once the server listens it prints exactly one line to stdout, flushed:
      READY rtsp://127.0.0.1:PORT/stream
  SIGTERM / SIGINT: clean exit (status 0). SIGSTOP / SIGCONT freeze and
  resume it; after SIGCONT the stream goes on from the next frame with an
  RTP timestamp gap the length of the pause, as a camera behind a network
  outage would look (no burst of stale frames).

How it works (no decoding, no encoding):
  * At start the clip is demuxed once (filesrc ! qtdemux ! h264parse !
    appsink) and its access units (AVC, with codec_data) are kept in memory.
  * A feeder thread plays them out in real time along one camera timeline
    that runs from start-up, looping the clip forever: frame i of loop n is
    due at start + n * clip_duration + (dts_i - dts_0), clip_duration being
    the last frame's dts + duration. The timeline is the camera's "now"; it
    runs whether or not anyone watches.
  * Each client gets its own (cheap) live media pipeline:
        appsrc is-live=true format=time ! h264parse config-interval=-1 !
        rtph264pay config-interval=0 pt=96 name=pay0
    It starts at the most recent IDR on the timeline, pushed at once, so
    DESCRIBE is answered in milliseconds and the stream starts decodable;
    it then follows the timeline less than one GOP behind. Every access unit
    is stamped with its pipeline's running time at the instant it is due, so
    RTP timestamps advance by exactly one frame interval per frame, across
    loop points too. SPS/PPS go in the SDP (sprop-parameter-sets) and
    in-band before every IDR, once per access unit: h264parse inserts them
    (rtph264pay's own config-interval=-1 would put them before every IDR
    *slice*, splitting multi-slice IDR frames for ffmpeg).
  * The RTSP server holds a media's first frame from DESCRIBE until PLAY;
    meanwhile the feeder pushes nothing more, then goes on from the next
    frame. A client that waits before PLAY thus sees one RTP timestamp jump
    of that wait after its first frame; one that PLAYs at once sees none.
  * RTP over TCP (interleaved) and UDP both work.
  * With --user/--password, RTSP auth is required: a request without or
    with wrong credentials gets 401, whose challenges offer basic and
    digest (--auth narrows that to one). Either scheme's right credentials
    are accepted.
"""

import argparse
import bisect
import faulthandler
import os
import signal
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstApp, GstRtsp, GstRtspServer  # noqa: E402

# How far behind its timeline the feeder may fall (e.g. after SIGSTOP, or a
# starved CPU) before it stops catching up and shifts the timeline instead.
MAX_LATE_NS = 300 * Gst.MSECOND


def log(msg):
    print(f"fake_camera[{os.getpid()}]: {msg}", file=sys.stderr, flush=True)


class Frame:
    __slots__ = ("data", "offset", "duration", "pts_delta", "key")

    def __init__(self, data, offset, duration, pts_delta, key):
        self.data = data  # GLib.Bytes, shared by every push (no copy)
        self.offset = offset  # ns from the clip's first dts
        self.duration = duration  # ns
        self.pts_delta = pts_delta  # pts - dts, ns (0 without B-frames)
        self.key = key


def load_clip(path):
    """Demuxes the clip's H.264 track into memory: (caps, frames, clip_ns)."""
    pipe = Gst.parse_launch(
        "filesrc name=src ! qtdemux name=d d.video_0 ! "
        "h264parse ! video/x-h264,stream-format=avc,alignment=au ! "
        "appsink name=sink sync=false max-buffers=0"
    )
    pipe.get_by_name("src").set_property("location", path)
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    raw = []
    caps = None
    while True:
        sample = sink.try_pull_sample(10 * Gst.SECOND)
        if sample is None:
            break
        buf = sample.get_buffer()
        if caps is None:
            caps = sample.get_caps()
        ok, info = buf.map(Gst.MapFlags.READ)
        if not ok:
            raise RuntimeError("cannot map a buffer")
        data = GLib.Bytes.new(info.data)
        buf.unmap(info)
        dts = buf.dts if buf.dts != Gst.CLOCK_TIME_NONE else buf.pts
        key = not buf.has_flags(Gst.BufferFlags.DELTA_UNIT)
        raw.append((data, dts, buf.pts, buf.duration, key))
    bus = pipe.get_bus()
    err = bus.pop_filtered(Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    if err is not None:
        e, dbg = err.parse_error()
        raise RuntimeError(f"cannot read {path}: {e.message} ({dbg})")
    if not raw or caps is None:
        raise RuntimeError(f"no H.264 frames in {path}")
    if not any(r[4] for r in raw):
        raise RuntimeError(f"no keyframe in {path}")

    # Frame durations: from the demuxer, else from the dts spacing.
    dts0 = raw[0][1]
    gaps = [b[1] - a[1] for a, b in zip(raw, raw[1:]) if b[1] > a[1]]
    typical = sorted(gaps)[len(gaps) // 2] if gaps else 40 * Gst.MSECOND
    frames = []
    for i, (data, dts, pts, dur, key) in enumerate(raw):
        if dur == Gst.CLOCK_TIME_NONE or dur == 0:
            dur = (raw[i + 1][1] - dts) if i + 1 < len(raw) else typical
        pts_delta = 0 if pts == Gst.CLOCK_TIME_NONE else pts - dts
        frames.append(Frame(data, dts - dts0, dur, pts_delta, key))
    clip_ns = frames[-1].offset + frames[-1].duration
    # Start the loop at the first keyframe so that every loop's first frame
    # is an IDR (a clip from make_clip.sh starts with one anyway).
    first_key = next(i for i, f in enumerate(frames) if f.key)
    if first_key:
        cut = frames[first_key].offset
        frames = frames[first_key:]
        for f in frames:
            f.offset -= cut
        clip_ns -= cut
    return caps, frames, clip_ns


class Client:
    """One media pipeline's place in the clip."""

    __slots__ = ("appsrc", "stream", "started", "held", "loop", "index",
                 "lag")

    def __init__(self, appsrc, stream):
        self.appsrc = appsrc
        self.stream = stream  # its GstRTSPStream
        self.started = False
        self.held = False  # the RTSP server holds its stream (before PLAY)
        self.loop = 0  # how many times the clip has looped
        self.index = 0  # next frame to push
        self.lag = 0  # ns this client runs behind the camera timeline


class Feeder(threading.Thread):
    """Plays the clip's access units out in real time, looping forever, into
    every attached appsrc.

    The camera timeline starts when the feeder does: frame i of loop n is due
    at base + n * clip_ns + offset_i. A client starts at the most recent IDR
    on that timeline, pushed at once (so DESCRIBE is answered at once and the
    stream starts decodable), and then follows the timeline lag ns behind,
    lag being how long ago that IDR was due (less than one GOP), as a
    camera with a GOP cache does."""

    def __init__(self, frames, clip_ns):
        super().__init__(name="feeder", daemon=True)
        self.frames = frames
        self.offsets = [f.offset for f in frames]
        self.keys = [i for i, f in enumerate(frames) if f.key]
        self.clip_ns = clip_ns
        self.clock = Gst.SystemClock.obtain()
        self.base = self.clock.get_time()
        self.cond = threading.Condition()
        self.clients = {}  # appsrc -> Client
        self.stopping = False

    def attach(self, appsrc, stream):
        with self.cond:
            self.clients[appsrc] = Client(appsrc, stream)
            self.cond.notify()

    def detach(self, appsrc):
        with self.cond:
            self.clients.pop(appsrc, None)

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify()

    def due(self, c):
        return (self.base + c.loop * self.clip_ns
                + self.offsets[c.index] + c.lag)

    def start_client(self, c, now):
        """Puts c at the latest IDR due at or before now."""
        pos = now - self.base
        c.loop, within = divmod(pos, self.clip_ns)
        i = max(bisect.bisect_right(self.offsets, within) - 1, 0)
        c.index = self.keys[max(bisect.bisect_right(self.keys, i) - 1, 0)]
        c.lag = 0
        c.lag = max(now - self.due(c), 0)
        c.started = True

    def run(self):
        try:
            self.play()
        except Exception as e:  # noqa: BLE001
            log(f"feeder died: {e!r}")
            os._exit(1)

    def play(self):
        with self.cond:
            while not self.stopping:
                now = self.clock.get_time()
                wake = now + 200 * Gst.MSECOND
                for c in list(self.clients.values()):
                    # Only a PLAYING pipeline has a base time to stamp
                    # buffers against; a media that leaves PLAYING (a PAUSE)
                    # starts again at an IDR when it comes back.
                    if c.appsrc.current_state != Gst.State.PLAYING:
                        c.started = False
                        wake = min(wake, now + 5 * Gst.MSECOND)
                        continue
                    if not c.started:
                        self.start_client(c, now)
                    elif c.stream.is_blocking():
                        # Prepared, and its first frame held until PLAY:
                        # pushing more would only queue stale frames.
                        c.held = True
                        wake = min(wake, now + 10 * Gst.MSECOND)
                        continue
                    elif c.held:
                        # PLAYed: go on from the next frame, due now.
                        c.held = False
                        c.lag += max(now - self.due(c), 0)
                    while True:
                        due = self.due(c)
                        if due > now:
                            wake = min(wake, due)
                            break
                        if now - due > MAX_LATE_NS:
                            # Frozen (SIGSTOP) or starved: shift the whole
                            # timeline so that this frame is due now, rather
                            # than burst stale frames.
                            self.base += now - due
                            due = now
                        if not self.push(c, due):
                            wake = min(wake, now + 5 * Gst.MSECOND)
                            break
                        c.index += 1
                        if c.index == len(self.frames):
                            c.index = 0
                            c.loop += 1
                self.cond.wait((wake - now) / Gst.SECOND)

    def push(self, c, due):
        f = self.frames[c.index]
        running = due - c.appsrc.get_base_time()
        if running < 0:
            # The pipeline went PLAYING after this round's clock reading.
            c.started = False
            return False
        buf = Gst.Buffer.new_wrapped_bytes(f.data)
        buf.dts = running
        buf.pts = running + f.pts_delta
        buf.duration = f.duration
        if not f.key:
            buf.set_flags(Gst.BufferFlags.DELTA_UNIT)
        ret = GstApp.AppSrc.push_buffer(c.appsrc, buf)
        if ret == Gst.FlowReturn.OK:
            return True
        if ret != Gst.FlowReturn.FLUSHING:
            log(f"push: {ret.value_nick}; dropping this client")
            self.clients.pop(c.appsrc, None)
        else:
            c.started = False
        return False


class CameraFactory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, caps, feeder):
        super().__init__()
        self.caps = caps  # the clip's, with codec_data: SPS/PPS for the SDP
        self.feeder = feeder
        self.set_launch(
            "( appsrc name=src is-live=true format=time do-timestamp=false "
            "max-bytes=0 max-buffers=200 max-time=0 leaky-type=downstream ! "
            "h264parse config-interval=-1 ! "
            "rtph264pay name=pay0 pt=96 config-interval=0 )"
        )
        # One pipeline per client: they are cheap (no codec), every client
        # starts at an IDR, and a DESCRIBE right after another client left
        # cannot meet a shared media that is still shutting down (503).
        self.set_shared(False)
        self.set_protocols(
            GstRtsp.RTSPLowerTrans.TCP
            | GstRtsp.RTSPLowerTrans.UDP
        )
        self.connect("media-configure", self.on_media_configure)

    def on_media_configure(self, _factory, media):
        appsrc = media.get_element().get_by_name("src")
        appsrc.set_property("caps", self.caps)
        self.feeder.attach(appsrc, media.get_stream(0))
        media.connect(
            "unprepared", lambda _m: self.feeder.detach(appsrc)
        )


def set_auth_methods(auth, methods):
    """Chooses the challenges sent with a 401. GstRTSPAuthMethod is an enum
    to GObject introspection, so "basic and digest" (1|2) cannot pass through
    it; that one value goes to the C function directly."""
    if methods == "basic":
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        return
    if methods == "digest":
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        return
    try:
        import ctypes

        get_ptr = ctypes.pythonapi.PyCapsule_GetPointer
        get_ptr.restype = ctypes.c_void_p
        get_ptr.argtypes = [ctypes.py_object, ctypes.c_char_p]
        lib = ctypes.CDLL("libgstrtspserver-1.0.so.0")
        fn = lib.gst_rtsp_auth_set_supported_methods
        fn.argtypes = [ctypes.c_void_p, ctypes.c_int]
        fn.restype = None
        fn(get_ptr(auth.__gpointer__, None),
           int(GstRtsp.RTSPAuthMethod.BASIC)
           | int(GstRtsp.RTSPAuthMethod.DIGEST))
    except Exception as e:  # noqa: BLE001
        log(f"cannot offer both basic and digest ({e}); offering digest")
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)


def setup_auth(server, factory, user, password, methods):
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken.new()
    token.set_string(
        GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera-user"
    )
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    auth.add_digest(user, password, token)
    set_auth_methods(auth, methods)
    server.set_auth(auth)
    factory.add_role_from_structure(
        Gst.Structure.from_string(
            "camera-user, media.factory.access=(boolean)true, "
            "media.factory.construct=(boolean)true"
        )[0]
    )


def main():
    ap = argparse.ArgumentParser(description="Fake RTSP IP camera for tests.")
    ap.add_argument("--port", type=int, required=True,
                    help="RTSP port on 127.0.0.1 (0: any free port)")
    ap.add_argument("--clip", required=True, help="H.264 MP4 clip to loop")
    ap.add_argument("--path", default="/stream", help="mount path")
    ap.add_argument("--user", help="require RTSP auth with this user")
    ap.add_argument("--password", help="password for --user")
    ap.add_argument("--auth", choices=("both", "basic", "digest"),
                    default="both",
                    help="challenges a 401 offers (default: both)")
    args = ap.parse_args()
    faulthandler.enable()  # a crash leaves its stacks on stderr
    if (args.user is None) != (args.password is None):
        ap.error("--user and --password go together")
    if not args.path.startswith("/"):
        args.path = "/" + args.path

    Gst.init(None)
    # Handlers first, so that a SIGTERM during start-up also exits cleanly
    # (it is acted on as soon as the main loop runs).
    loop = GLib.MainLoop()

    def quit_(signum):
        log(f"{signal.Signals(signum).name}: exiting")
        loop.quit()
        return GLib.SOURCE_REMOVE

    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, quit_, sig)

    try:
        caps, frames, clip_ns = load_clip(os.path.abspath(args.clip))
    except Exception as e:  # noqa: BLE001
        log(str(e))
        return 1

    feeder = Feeder(frames, clip_ns)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = CameraFactory(caps, feeder)
    server.get_mount_points().add_factory(args.path, factory)
    if args.user is not None:
        setup_auth(server, factory, args.user, args.password, args.auth)

    if server.attach(None) == 0:
        log(f"cannot listen on 127.0.0.1:{args.port}")
        return 1

    feeder.start()
    port = server.get_bound_port()
    log(
        f"{len(frames)} frames, {clip_ns / Gst.SECOND:.3f} s per loop, "
        f"caps {caps.get_structure(0).get_name()}"
    )
    print(f"READY rtsp://127.0.0.1:{port}{args.path}", flush=True)
    loop.run()
    feeder.stop()
    feeder.join(timeout=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
