#!/usr/bin/python3
"""fake_camera.py: a fake IP camera for pinvr's integration tests.

Owns: serving pre-encoded H.264 or H.265 MP4 clips as live RTSP streams at
rtsp://127.0.0.1:PORT/PATH, one clip per mount path, each looping forever,
optionally with a live audio stream beside the video, with GStreamer's RTSP
server (Debian's python3-gi + gir1.2-gst-rtsp-server-1.0; run it with
/usr/bin/python3, not a pyenv python without gi).

Usage:
    /usr/bin/python3 tests/fake_camera.py --port PORT --clip CLIP.mp4 \
        [--path /stream] [--audio] \
        [--user U --password P [--auth both|basic|digest]]
    /usr/bin/python3 tests/fake_camera.py --port PORT \
        --mount /main=MAIN.mp4 [--mount /sub=SUB.mp4 ...] [--audio] \
        [--user U --password P [--auth both|basic|digest]]

  --clip CLIP --path P is one mount, P=CLIP (default path /stream); more
  mounts come from --mount PATH=CLIP (repeatable; --clip's comes first).
  Each mount has its own clip and its own camera timeline, as a camera's
  main and sub streams do; a clip's codec (H.264 or H.265) is its mount's.
  --user/--password and --audio apply to every mount.
  --port 0 picks a free port. Once the server listens it prints exactly one
  line to stdout, flushed, naming the first mount (the others are on the
  same port):
      READY rtsp://127.0.0.1:PORT/stream
  SIGTERM / SIGINT: clean exit (status 0). SIGSTOP / SIGCONT freeze and
  resume it; after SIGCONT every mount's stream goes on from the next frame
  with an RTP timestamp gap the length of the pause, as a camera behind a
  network outage would look (no burst of stale frames; of audio, at most
  300 ms: see --audio below).

How it works (no decoding; no video encoding):
  * At start each clip is demuxed once (filesrc ! qtdemux ! h264parse or
    h265parse ! appsink) and its access units (AVC or HVC1, with
    codec_data) are kept in memory. Key frames are IDR frames for H.264
    (buffers without DELTA_UNIT) and IRAP frames (IDR, CRA, BLA: NAL types
    16-23) for H.265.
  * Per mount, a feeder thread plays them out in real time along one camera
    timeline that runs from start-up, looping the clip forever: frame i of
    loop n is due at start + n * clip_duration + (dts_i - dts_0),
    clip_duration being the last frame's dts + duration. The timeline is the
    camera's "now"; it runs whether or not anyone watches.
  * Each client gets its own (cheap) live media pipeline:
        appsrc is-live=true format=time ! h264parse config-interval=-1 !
        rtph264pay config-interval=0 pt=96 name=pay0
    or for H.265
        appsrc is-live=true format=time ! h265parse config-interval=-1 !
        rtph265pay config-interval=0 pt=96 name=pay0
    It starts at the most recent key frame on its mount's timeline, pushed
    at once, so DESCRIBE is answered in milliseconds and the stream starts
    decodable; it then follows the timeline less than one GOP behind. Every
    access unit is stamped with its pipeline's running time at the instant
    it is due, so RTP timestamps advance by exactly one frame interval per
    frame, across loop points too. The parameter sets (SPS/PPS, and VPS for
    H.265) go in the SDP (sprop-parameter-sets; sprop-vps/sps/pps) and
    in-band before every key frame, once per access unit: the parser
    inserts them (the payloader's own config-interval=-1 would put them
    before every key frame *slice*, splitting multi-slice frames for
    ffmpeg).
  * With --audio every media also carries a live audio stream, as a camera
    with a microphone sends: a 440 Hz sine, 8 kHz mono G.711 A-law in 20 ms
    packets (audiotestsrc is-live=true ! alawenc ! rtppcmapay pt=8
    name=pay1), a second m=audio SDP media. It is stamped with the same
    pipeline clock as the video, so the two are in sync. Audio more than
    MAX_LATE_NS (300 ms) late, after SIGSTOP or a wait before PLAY, is
    dropped: the stream goes on with an RTP timestamp gap and a burst of at
    most those 300 ms. The audio source's answer to the seeking query is
    hidden, or the RTSP server would call the media seekable and fail a
    PLAY with a Range (503) seeking the appsrc.
  * The RTSP server holds a media's first frame from DESCRIBE until PLAY;
    meanwhile the feeder pushes nothing more, then goes on from the next
    frame. A client that waits before PLAY thus sees one RTP timestamp jump
    of that wait after its first frame; one that PLAYs at once sees none.
  * RTP over TCP (interleaved) and UDP both work.
  * With --user/--password, RTSP auth is required on every mount: a request
    without or with wrong credentials gets 401, whose challenges offer
    basic and digest (--auth narrows that to one). Either scheme's right
    credentials are accepted.
"""

import argparse
import bisect
import faulthandler
import os
import random
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


class Codec:
    """What differs between H.264 and H.265: how a clip is loaded, how a
    client's pipeline serves it, and which access units are key frames."""

    __slots__ = ("name", "load", "serve", "irap")

    def __init__(self, name, load, serve, irap):
        self.name = name
        self.load = load  # parser ! capsfilter, after qtdemux
        self.serve = serve  # parser ! payloader, after the client's appsrc
        self.irap = irap  # key frames from NAL types, else from DELTA_UNIT


CODECS = {
    "video/x-h264": Codec(
        "H.264",
        "h264parse ! capsfilter "
        "caps=video/x-h264,stream-format=avc,alignment=au",
        "h264parse config-interval=-1 ! "
        "rtph264pay name=pay0 pt=96 config-interval=0",
        irap=False,
    ),
    "video/x-h265": Codec(
        "H.265",
        "h265parse ! capsfilter "
        "caps=video/x-h265,stream-format=hvc1,alignment=au",
        "h265parse config-interval=-1 ! "
        "rtph265pay name=pay0 pt=96 config-interval=0",
        irap=True,
    ),
}


def hvcc_length_size(caps):
    """The NAL length size (1, 2 or 4 bytes) of HVC1 caps' codec_data."""
    value = caps.get_structure(0).get_value("codec_data")
    if value is None:
        raise RuntimeError("H.265 caps without codec_data")
    hvcc = value.extract_dup(0, value.get_size())
    if len(hvcc) < 23:
        raise RuntimeError("H.265 codec_data too short")
    return (hvcc[21] & 3) + 1


def is_irap(au, length_size):
    """Whether an HVC1 access unit holds an IRAP picture (IDR, CRA or BLA:
    NAL unit types 16-23)."""
    i = 0
    while i + length_size < len(au):
        n = int.from_bytes(au[i:i + length_size], "big")
        i += length_size
        if n == 0 or i + n > len(au):
            break
        if 16 <= (au[i] >> 1) & 0x3F <= 23:
            return True
        i += n
    return False


def load_clip(path):
    """Demuxes the clip's video track (H.264 or H.265) into memory:
    (codec, caps, frames, clip_ns)."""
    pipe = Gst.Pipeline.new("load")
    src = Gst.ElementFactory.make("filesrc", "src")
    src.set_property("location", path)
    demux = Gst.ElementFactory.make("qtdemux", "d")
    sink = Gst.ElementFactory.make("appsink", "sink")
    sink.set_property("sync", False)
    sink.set_property("max-buffers", 0)
    for e in (src, demux, sink):
        pipe.add(e)
    src.link(demux)
    chosen = []

    def on_pad(_demux, pad):
        try:
            link(pad)
        except Exception as e:  # noqa: BLE001
            log(f"cannot link {pad.get_name()}: {e}")

    def link(pad):
        # The first H.264 or H.265 track; other tracks stay unlinked.
        if chosen:
            return
        pad_caps = pad.get_current_caps() or pad.query_caps(None)
        if pad_caps is None or pad_caps.is_empty():
            return
        codec = CODECS.get(pad_caps.get_structure(0).get_name())
        if codec is None:
            return
        parse = Gst.parse_bin_from_description(codec.load, True)
        pipe.add(parse)
        parse.link(sink)
        parse.sync_state_with_parent()
        if pad.link(parse.get_static_pad("sink")) != Gst.PadLinkReturn.OK:
            log(f"cannot link {codec.name} from the demuxer")
            return
        chosen.append(codec)

    demux.connect("pad-added", on_pad)
    pipe.set_state(Gst.State.PLAYING)
    raw = []
    caps = None
    length_size = None
    while True:
        sample = sink.try_pull_sample(10 * Gst.SECOND)
        if sample is None:
            break
        buf = sample.get_buffer()
        if caps is None:
            caps = sample.get_caps()
            if chosen[0].irap:
                length_size = hvcc_length_size(caps)
        ok, info = buf.map(Gst.MapFlags.READ)
        if not ok:
            raise RuntimeError("cannot map a buffer")
        au = bytes(info.data)
        buf.unmap(info)
        data = GLib.Bytes.new(au)
        dts = buf.dts if buf.dts != Gst.CLOCK_TIME_NONE else buf.pts
        if length_size is not None:
            key = is_irap(au, length_size)
        else:
            key = not buf.has_flags(Gst.BufferFlags.DELTA_UNIT)
        raw.append((data, dts, buf.pts, buf.duration, key))
    bus = pipe.get_bus()
    err = bus.pop_filtered(Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    if err is not None:
        e, dbg = err.parse_error()
        raise RuntimeError(f"cannot read {path}: {e.message} ({dbg})")
    if not raw or caps is None:
        raise RuntimeError(f"no H.264 or H.265 frames in {path}")
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
    # is a key frame (a clip from make_clip.sh starts with an IDR anyway).
    first_key = next(i for i, f in enumerate(frames) if f.key)
    if first_key:
        cut = frames[first_key].offset
        frames = frames[first_key:]
        for f in frames:
            f.offset -= cut
        clip_ns -= cut
    return chosen[0], caps, frames, clip_ns


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
    """Plays one mount's clip's access units out in real time, looping
    forever, into every attached appsrc.

    The camera timeline starts when the feeder does: frame i of loop n is due
    at base + n * clip_ns + offset_i. A client starts at the most recent key
    frame on that timeline, pushed at once (so DESCRIBE is answered at once
    and the stream starts decodable), and then follows the timeline lag ns
    behind, lag being how long ago that key frame was due (less than one
    GOP), as a camera with a GOP cache does."""

    def __init__(self, path, frames, clip_ns):
        super().__init__(name=f"feeder {path}", daemon=True)
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
        """Puts c at the latest key frame due at or before now."""
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
                    # starts again at a key frame when it comes back.
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


# A camera's microphone: 8 kHz mono G.711 A-law in 20 ms packets.
AUDIO = (
    "audiotestsrc name=asrc is-live=true wave=sine freq=440 volume=0.3 "
    "samplesperbuffer=160 ! audio/x-raw,rate=8000,channels=1 ! alawenc ! "
    "rtppcmapay name=pay1 pt=8"
)


class CameraFactory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, codec, caps, feeder, audio, loss=0.0):
        super().__init__()
        # A lossy link: this fraction of the video's RTP packets is dropped
        # after the payloader numbered them (the receiver sees sequence gaps).
        self.loss = loss
        self.random = random.Random(7)
        # The clip's caps, with codec_data: the parameter sets for the SDP.
        self.caps = caps
        self.feeder = feeder
        self.set_launch(
            "( appsrc name=src is-live=true format=time do-timestamp=false "
            "max-bytes=0 max-buffers=200 max-time=0 leaky-type=downstream ! "
            f"{codec.serve}{' ' + AUDIO if audio else ''} )"
        )
        # One pipeline per client: they are cheap (no video codec), every
        # client starts at a key frame, and a DESCRIBE right after another
        # client left cannot meet a shared media that is still shutting
        # down (503).
        self.set_shared(False)
        self.set_protocols(
            GstRtsp.RTSPLowerTrans.TCP
            | GstRtsp.RTSPLowerTrans.UDP
        )
        self.connect("media-configure", self.on_media_configure)

    def on_media_configure(self, _factory, media):
        element = media.get_element()
        appsrc = element.get_by_name("src")
        appsrc.set_property("caps", self.caps)
        asrc = element.get_by_name("asrc")
        if asrc is not None:
            pad = asrc.get_static_pad("src")
            pad.add_probe(Gst.PadProbeType.BUFFER, drop_stale_audio, asrc)
            pad.add_probe(Gst.PadProbeType.QUERY_UPSTREAM, refuse_seeking)
        if self.loss > 0:
            pay = element.get_by_name("pay0").get_static_pad("src")
            pay.add_probe(Gst.PadProbeType.BUFFER, self.lose)
        self.feeder.attach(appsrc, media.get_stream(0))
        media.connect(
            "unprepared", lambda _m: self.feeder.detach(appsrc)
        )


    def lose(self, _pad, _info):
        if self.random.random() < self.loss:
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK


def refuse_seeking(_pad, info):
    """Keeps audiotestsrc from calling the media seekable: the RTSP server
    would then seek the whole pipeline for a PLAY with a Range, which the
    appsrc refuses (PLAY fails with 503). A dropped query is unanswered, as
    the appsrc leaves it."""
    query = info.get_query()
    if query is not None and query.type == Gst.QueryType.SEEKING:
        return Gst.PadProbeReturn.DROP
    return Gst.PadProbeReturn.OK


def drop_stale_audio(_pad, info, asrc):
    """Drops audio more than MAX_LATE_NS late by the pipeline's clock (after
    SIGSTOP, or held before PLAY): the live source would otherwise burst the
    samples it owes. What follows carries an RTP timestamp gap instead, as
    the video does."""
    buf = info.get_buffer()
    clock = asrc.get_clock()
    if buf is None or clock is None or buf.pts == Gst.CLOCK_TIME_NONE:
        return Gst.PadProbeReturn.OK
    end = buf.pts + (buf.duration if buf.duration != Gst.CLOCK_TIME_NONE
                     else 0)
    now = clock.get_time() - asrc.get_base_time()
    if now - end > MAX_LATE_NS:
        return Gst.PadProbeReturn.DROP
    return Gst.PadProbeReturn.OK


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


def setup_auth(server, factories, user, password, methods):
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken.new()
    token.set_string(
        GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera-user"
    )
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    auth.add_digest(user, password, token)
    set_auth_methods(auth, methods)
    server.set_auth(auth)
    for factory in factories:
        factory.add_role_from_structure(
            Gst.Structure.from_string(
                "camera-user, media.factory.access=(boolean)true, "
                "media.factory.construct=(boolean)true"
            )[0]
        )


def parse_mounts(ap, args):
    """[(path, clip)] from --clip/--path and every --mount, --clip's first."""
    mounts = []
    if args.clip is not None:
        mounts.append((args.path or "/stream", args.clip))
    elif args.path is not None:
        ap.error("--path goes with --clip")
    for m in args.mount:
        path, sep, clip = m.partition("=")
        if not sep or not path or not clip:
            ap.error(f"--mount {m!r}: want PATH=CLIP")
        mounts.append((path, clip))
    if not mounts:
        ap.error("give --clip or at least one --mount")
    mounts = [(p if p.startswith("/") else "/" + p, c) for p, c in mounts]
    paths = [p for p, _ in mounts]
    for p in paths:
        if paths.count(p) > 1:
            ap.error(f"mount path {p} given twice")
    return mounts


def main():
    ap = argparse.ArgumentParser(description="Fake RTSP IP camera for tests.")
    ap.add_argument("--port", type=int, required=True,
                    help="RTSP port on 127.0.0.1 (0: any free port)")
    ap.add_argument("--clip",
                    help="H.264 or H.265 MP4 clip to loop at --path")
    ap.add_argument("--path", help="mount path of --clip (default /stream)")
    ap.add_argument("--mount", action="append", default=[],
                    metavar="PATH=CLIP",
                    help="also loop CLIP at PATH, on its own timeline "
                         "(repeatable)")
    ap.add_argument("--audio", action="store_true",
                    help="every stream also carries live G.711 A-law audio")
    ap.add_argument("--loss", type=float, default=0.0,
                    help="drop this fraction of the video's RTP packets "
                         "(a lossy link; 0.02 is 2%%)")
    ap.add_argument("--user", help="require RTSP auth with this user")
    ap.add_argument("--password", help="password for --user")
    ap.add_argument("--auth", choices=("both", "basic", "digest"),
                    default="both",
                    help="challenges a 401 offers (default: both)")
    args = ap.parse_args()
    faulthandler.enable()  # a crash leaves its stacks on stderr
    if (args.user is None) != (args.password is None):
        ap.error("--user and --password go together")
    mounts = parse_mounts(ap, args)

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

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    loaded = {}  # clip path -> (codec, caps, frames, clip_ns), shared
    feeders = []
    factories = []
    for path, clip in mounts:
        clip = os.path.abspath(clip)
        try:
            if clip not in loaded:
                loaded[clip] = load_clip(clip)
        except Exception as e:  # noqa: BLE001
            log(str(e))
            return 1
        codec, caps, frames, clip_ns = loaded[clip]
        feeder = Feeder(path, frames, clip_ns)
        factory = CameraFactory(codec, caps, feeder, args.audio, args.loss)
        server.get_mount_points().add_factory(path, factory)
        feeders.append(feeder)
        factories.append(factory)
        log(
            f"{path}: {clip}: {codec.name}, {len(frames)} frames, "
            f"{clip_ns / Gst.SECOND:.3f} s per loop, "
            f"caps {caps.get_structure(0).get_name()}"
            f"{', with audio' if args.audio else ''}"
        )
    if args.user is not None:
        setup_auth(server, factories, args.user, args.password, args.auth)

    if server.attach(None) == 0:
        log(f"cannot listen on 127.0.0.1:{args.port}")
        return 1

    for feeder in feeders:
        feeder.start()
    port = server.get_bound_port()
    print(f"READY rtsp://127.0.0.1:{port}{mounts[0][0]}", flush=True)
    loop.run()
    for feeder in feeders:
        feeder.stop()
    for feeder in feeders:
        feeder.join(timeout=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
