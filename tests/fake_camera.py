#!/usr/bin/python3
"""fake_camera.py: a fake IP camera for pinvr's integration tests.

Owns: serving one pre-encoded H.264 MP4 clip as a live RTSP stream at
rtsp://127.0.0.1:PORT/PATH (default path /stream), looping forever, with
GStreamer's RTSP server (Debian's python3-gi + gir1.2-gst-rtsp-server-1.0;
run it with /usr/bin/python3, not a pyenv python without gi).

Usage:
    /usr/bin/python3 tests/fake_camera.py --port PORT --clip CLIP.mp4 \
        [--path /stream] [--user U --password P]

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
    due at start + n * clip_duration + (dts_i - dts_0). The timeline is the
    camera's "now"; it runs whether or not anyone watches.
  * The RTSP media factory is shared and live:
        appsrc is-live=true format=time ! h264parse !
        rtph264pay config-interval=-1 pt=96 name=pay0
    The feeder pushes each due access unit into every prepared media's
    appsrc, stamped with that pipeline's running time at the due instant,
    so RTP timestamps increase monotonically, evenly spaced, across loop
    points. A new media starts at the next IDR (a late joiner to a shared
    media gets the stream from whatever frame is current, like a real
    camera). SPS/PPS go in the SDP (sprop-parameter-sets) and in-band before
    every IDR.
  * RTP over TCP (interleaved) and UDP both work.
  * With --user/--password, RTSP basic and digest auth are required; a
    request without or with wrong credentials gets 401.
"""

import argparse
import os
import signal
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstApp, GstRtsp, GstRtspServer  # noqa: E402,F401

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
    desc = (
        f'filesrc location="{path}" ! qtdemux name=d d.video_0 ! '
        "h264parse ! video/x-h264,stream-format=avc,alignment=au ! "
        "appsink name=sink sync=false max-buffers=0"
    )
    pipe = Gst.parse_launch(desc)
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


class Feeder(threading.Thread):
    """Plays the clip's access units out in real time, looping, into every
    attached appsrc."""

    def __init__(self, frames, clip_ns):
        super().__init__(name="feeder", daemon=True)
        self.frames = frames
        self.clip_ns = clip_ns
        self.clock = Gst.SystemClock.obtain()
        self.lock = threading.Lock()
        self.sinks = {}  # appsrc -> {"started": bool}
        self.stop_event = threading.Event()

    def attach(self, appsrc):
        with self.lock:
            self.sinks[appsrc] = {"started": False}

    def detach(self, appsrc):
        with self.lock:
            self.sinks.pop(appsrc, None)

    def stop(self):
        self.stop_event.set()

    def run(self):
        frames = self.frames
        n = len(frames)
        base = self.clock.get_time()  # due time of frame 0 of loop 0
        loop = 0
        i = 0
        while not self.stop_event.is_set():
            f = frames[i]
            due = base + loop * self.clip_ns + f.offset
            now = self.clock.get_time()
            if due > now:
                # Sleep in slices so that stop() is noticed promptly.
                self.stop_event.wait(min(due - now, Gst.SECOND) / Gst.SECOND)
                continue
            if now - due > MAX_LATE_NS:
                # Frozen (SIGSTOP) or starved: shift the timeline so that
                # this frame is due now, instead of bursting stale frames.
                base += now - due
                due = now
            self.push(f, due)
            i += 1
            if i == n:
                i = 0
                loop += 1

    def push(self, f, due):
        with self.lock:
            sinks = list(self.sinks.items())
        for appsrc, st in sinks:
            if not st["started"]:
                if not f.key:
                    continue
            # Only a PLAYING pipeline has a base time to stamp against.
            if appsrc.current_state != Gst.State.PLAYING:
                continue
            running = due - appsrc.get_base_time()
            if running < 0:
                continue
            st["started"] = True
            buf = Gst.Buffer.new_wrapped_bytes(f.data)
            buf.dts = running
            buf.pts = running + f.pts_delta
            buf.duration = f.duration
            if not f.key:
                buf.set_flags(Gst.BufferFlags.DELTA_UNIT)
            ret = appsrc.push_buffer(buf)
            if ret not in (Gst.FlowReturn.OK, Gst.FlowReturn.FLUSHING):
                log(f"push: {ret.value_nick}; dropping this media")
                self.detach(appsrc)


class CameraFactory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, caps, feeder):
        super().__init__()
        self.feeder = feeder
        self.set_launch(
            "( appsrc name=src is-live=true format=time do-timestamp=false "
            "max-bytes=0 max-buffers=200 max-time=0 leaky-type=downstream "
            f'caps="{caps.to_string()}" ! '
            "h264parse config-interval=-1 ! "
            "rtph264pay name=pay0 pt=96 config-interval=0 )"
        )
        self.set_shared(True)
        self.set_protocols(
            GstRtsp.RTSPLowerTrans.TCP
            | GstRtsp.RTSPLowerTrans.UDP
        )
        self.connect("media-configure", self.on_media_configure)

    def on_media_configure(self, _factory, media):
        appsrc = media.get_element().get_by_name("src")
        self.feeder.attach(appsrc)
        media.connect(
            "unprepared", lambda _m: self.feeder.detach(appsrc)
        )


def setup_auth(server, factory, user, password):
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken.new_empty()
    token.get_writable_structure().set_value(
        GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera-user"
    )
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    auth.add_digest(user, password, token)
    auth.set_supported_methods(
        GstRtspServer.RTSPAuthMethod.BASIC
        | GstRtspServer.RTSPAuthMethod.DIGEST
    )
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
    args = ap.parse_args()
    if (args.user is None) != (args.password is None):
        ap.error("--user and --password go together")
    if not args.path.startswith("/"):
        args.path = "/" + args.path

    Gst.init(None)
    # Handlers first, so that a SIGTERM during start-up also exits cleanly
    # (it is acted on as soon as the main loop runs).
    loop = GLib.MainLoop()

    def quit_(_signame):
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
        setup_auth(server, factory, args.user, args.password)

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
