#!/usr/bin/python3
"""live_camera.py: a live-encoding RTSP camera for pinvr's live-view tests.

Owns: a camera whose picture is one solid colour that changes at every wall-clock second
(red, green, blue, yellow for seconds 0, 1, 2, 3 mod 4), encoded as it goes with x264enc
(tune=zerolatency, ultrafast, no B-frames) and served over RTSP by GStreamer's server, so a
viewer can tell from a pixel how late it shows what the camera saw: the colour it shows
began at the latest wall-clock second with that number mod 4.

Usage:
    /usr/bin/python3 tests/live_camera.py --port PORT [--path /live] [--size 320x180]
        [--fps 30] [--gop 30] [--switch-every S --switch-size WxH] [--rate-ppm N]
        [--codec h264|h265]

  --port 0 picks a free port. Once listening it prints one line, flushed:
      READY rtsp://127.0.0.1:PORT/live
  --switch-every S changes the picture size between --size and --switch-size every S
  seconds (a parameter change mid-stream, as a camera reconfigured from its web page).
  --rate-ppm N gives the camera a clock that runs N parts per million fast (negative:
  slow): its frames still leave at the wall clock's frame rate, stamped (RTP time) by that
  clock, as cheap cameras do.
  --codec h265 encodes with x265enc (H.265 main) instead of x264enc.
  SIGTERM / SIGINT: clean exit.

Every client shares one pipeline (a camera has one sensor): frames of solid colour pushed
at the frame rate of the wall clock, each in the colour of the second it is pushed in:
    appsrc is-live=true do-timestamp=true ! x264enc ! h264parse ! rtph264pay
Run it with Debian's /usr/bin/python3 (python3-gi, gir1.2-gst-rtsp-server-1.0).
"""

import argparse
import os
import signal
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

# Y, U, V (BT.601, limited range) of red, green, blue and yellow: seconds 0..3 mod 4.
COLOURS = [(81, 90, 240), (145, 54, 34), (41, 240, 110), (210, 16, 146)]


def caps(size, fps):
    w, h = size.split("x")
    return Gst.Caps.from_string(
        f"video/x-raw,format=I420,width={w},height={h},framerate={fps}/1"
    )


def frames(size):
    """One I420 frame per colour, at `size`."""
    w, h = (int(v) for v in size.split("x"))
    luma, chroma = w * h, (w // 2) * (h // 2)
    return [bytes([y]) * luma + bytes([u]) * chroma + bytes([v]) * chroma
            for y, u, v in COLOURS]


class Factory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, args):
        super().__init__()
        self.args = args
        self.set_shared(True)
        if args.codec == "h265":
            encode = (
                "! x265enc tune=zerolatency speed-preset=ultrafast "
                f"key-int-max={args.gop} bitrate=400 "
                "! h265parse config-interval=-1 "
                "! rtph265pay name=pay0 pt=96 config-interval=0 )"
            )
        else:
            encode = (
                "! x264enc tune=zerolatency speed-preset=ultrafast "
                f"key-int-max={args.gop} bitrate=400 bframes=0 "
                "! video/x-h264,profile=constrained-baseline "
                "! h264parse config-interval=-1 "
                "! rtph264pay name=pay0 pt=96 config-interval=0 )"
            )
        self.set_launch(
            "( appsrc name=src is-live=true do-timestamp=true format=time "
            f"caps=\"{caps(args.size, args.fps).to_string()}\" " + encode
        )
        self.connect("media-configure", self.configure)
        if args.rate_ppm:
            # A clock of its own, calibrated to run rate_ppm fast: frames are stamped by it
            # and sent when it reaches their stamps, which is when they were painted.
            clock = Gst.SystemClock()
            now = clock.get_internal_time()
            clock.set_calibration(now, now, 1_000_000 + round(args.rate_ppm), 1_000_000)
            self.set_clock(clock)

    def configure(self, _factory, media):
        src = media.get_element().get_by_name("src")
        threading.Thread(target=paint, args=(src, self.args), daemon=True).start()


def paint(src, args):
    """Pushes a frame every 1/fps s of wall-clock time, in the colour of its second."""
    size, pics = args.size, frames(args.size)
    # Frames only once the pipeline plays: buffers pushed while it is still being prepared
    # were stamped by a clock not yet running, and now and then the pipeline then sent
    # nothing at all (a client's PLAY answered, no packet for good).
    for _ in range(1000):
        _, state, _ = src.get_state(0)
        if state == Gst.State.PLAYING:
            break
        time.sleep(0.01)
    start = time.time()
    n = 0
    while True:
        due = start + n / args.fps
        time.sleep(max(0.0, due - time.time()))
        now = time.time()
        if args.switch_every:
            want = [args.size, args.switch_size][int((now - start) / args.switch_every) % 2]
            if want != size:
                size, pics = want, frames(want)
                src.set_property("caps", caps(size, args.fps))
                print(f"switched to {size}", file=sys.stderr, flush=True)
        buf = Gst.Buffer.new_wrapped(pics[int(now) % 4])
        if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
            return
        n += 1


def main():
    ap = argparse.ArgumentParser(description="Live-encoding RTSP test camera.")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/live")
    ap.add_argument("--size", default="320x180")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--gop", type=int, default=30)
    ap.add_argument("--switch-every", type=float, default=0)
    ap.add_argument("--switch-size", default="256x144")
    ap.add_argument("--rate-ppm", type=float, default=0)
    ap.add_argument("--codec", choices=["h264", "h265"], default="h264")
    args = ap.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    server.get_mount_points().add_factory(args.path, Factory(args))
    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print("cannot listen", file=sys.stderr)
        sys.exit(1)
    port = server.get_bound_port()
    print(f"READY rtsp://127.0.0.1:{port}{args.path}", flush=True)

    def quit_(*_):
        loop.quit()

    signal.signal(signal.SIGTERM, quit_)
    signal.signal(signal.SIGINT, quit_)
    GLib.timeout_add(200, lambda: True)  # lets Python run its signal handlers
    loop.run()
    os._exit(0)


if __name__ == "__main__":
    main()
