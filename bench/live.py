#!/usr/bin/env python3
"""What live view costs pinvr: CPU, the camera thread's wake-ups and memory, with 0, 1 and
4 viewers of one camera, in one run.

Usage: bench/live.py [--duration 60] [--pinvr PATH] [--workdir DIR]

One fake camera (tests/fake_camera.py looping a 1920x1080, 20 fps, 3 Mbit/s clip with a
2 s GOP, as bench/recorders.py uses) recorded by one `pinvr run`; then, one phase after the
other for --duration seconds each: no viewer, one viewer, four viewers (each a plain
socket reading /api/1/camera/cam/live.mp4 as fast as it comes, on 127.0.0.1).

Per phase:
- CPU: pinvr's utime + stime (/proc/<pid>/stat) over the phase, as % of one core;
- wake-ups: voluntary context switches of the camera's thread (cam-cam in
  /proc/<pid>/task/*/comm) per second: without viewers it naps 250 ms between reads
  (TCP_NAP), with viewers it reads as data comes;
- RSS: VmRSS at the end of the phase;
- delivered: live bytes read per second by all viewers.
"""

import argparse
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402


def camera_thread(pid, name="cam-cam"):
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() == name:
                    return tid
        except OSError:
            pass
    return None


def switches(pid, tid):
    with open(f"/proc/{pid}/task/{tid}/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    return 0


class Viewer(threading.Thread):
    def __init__(self, port, headers):
        super().__init__(daemon=True)
        self.port, self.headers = port, headers
        self.stop = threading.Event()
        self.nbytes = 0

    def run(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        extra = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
        s.sendall(f"GET /api/1/camera/cam/live.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
        buf = bytearray(1 << 16)
        while not self.stop.is_set():
            try:
                n = s.recv_into(buf)
            except socket.timeout:
                continue
            if n == 0:
                break
            self.nbytes += n
        s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--pinvr")
    ap.add_argument("--workdir", default=os.path.join(bl.REPO, "target", "bench-live"))
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    exe = bl.pinvr_binary(a.pinvr, a.workdir)
    clip = os.path.join(a.workdir, "clip-1080p20-3M-30s.mp4")
    bl.make_clip(clip)
    cams = bl.Cameras(1, clip, os.path.join(a.workdir, "logs"))
    port = bl.free_port()
    cfg = os.path.join(a.workdir, "pinvr.json")
    data = os.path.join(a.workdir, "data")
    subprocess.run(["rm", "-rf", data], check=True)
    bl.write_config(cfg, data, port, [("cam", cams.urls[0])])
    headers = bl.write_token(cfg)
    log = open(os.path.join(a.workdir, "pinvr.log"), "wb")
    p = subprocess.Popen([exe, "run", "--config", cfg], stdout=subprocess.DEVNULL, stderr=log)
    rows = []
    try:
        bl.wait_http(port, "/api/1/system.json", time.monotonic() + 30, p, headers)
        deadline = time.monotonic() + 30
        tid = None
        while tid is None and time.monotonic() < deadline:
            tid = camera_thread(p.pid)
            time.sleep(0.2)
        time.sleep(5)  # past the first connection's start
        for n in (0, 1, 4):
            viewers = [Viewer(port, headers) for _ in range(n)]
            for v in viewers:
                v.start()
            time.sleep(3)  # viewers joined, the thread stopped napping
            c0, w0, t0 = sum(bl.proc_stat(p.pid)[:2]), switches(p.pid, tid), time.monotonic()
            b0 = sum(v.nbytes for v in viewers)
            time.sleep(a.duration)
            c1, w1, t1 = sum(bl.proc_stat(p.pid)[:2]), switches(p.pid, tid), time.monotonic()
            b1 = sum(v.nbytes for v in viewers)
            rss = bl.vm_rss(p.pid)
            for v in viewers:
                v.stop.set()
            for v in viewers:
                v.join(timeout=10)
            dt = t1 - t0
            rows.append((n, 100.0 * (c1 - c0) / dt, (w1 - w0) / dt, rss / 1048576, (b1 - b0) / dt / 1e6))
            bl.log(f"{n} viewer(s): {rows[-1]}")
            time.sleep(35)  # the feed's ring lingers 30 s after the last viewer
    finally:
        bl.stop_all([p])
        cams.stop()
    print(f"\n{bl.machine()}; {a.duration:.0f} s per phase; camera 1080p 20 fps 3 Mbit/s\n")
    print("| viewers | pinvr CPU, % of a core | camera thread wake-ups/s | RSS MiB | delivered MB/s |")
    print("|---:|---:|---:|---:|---:|")
    for n, cpu, w, rss, mb in rows:
        print(f"| {n} | {cpu:.2f} | {w:.1f} | {rss:.1f} | {mb:.2f} |")


if __name__ == "__main__":
    main()
