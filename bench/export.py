#!/usr/bin/env python3
"""Export speed: a 1-hour range MP4 from pinvr against `cat` of the same minute files.

Usage: bench/export.py [--runs 5] [--cold] [--pinvr PATH] [--workdir DIR]

Makes (once) one hour of real minute files for camera c1, 2026-11-01 10:00 to 10:59 UTC:
a 60 s 1920x1080, 20 fps, 3 Mbit/s, 2 s GOP clip turned into each minute with
`pinvr mp4-to-chunk --start-us T` and `pinvr remux` (60 distinct files of about 22 MB,
1.35 GB in all, so the page cache holds 60 different files, not one file 60 times).
It also hard-links them into a full day, 2026-11-02 00:00 to 23:59 (1440 names, no
extra disk), to time the first byte of a 24-hour range.

Then pinvr runs with c1 disabled (nothing records; the index is built from the file
names at start) and, after one discarded warm-up pass of each (so the cache is WARM for
both: every byte comes from the page cache, nothing from the disk), --runs times:
- pinvr: GET /api/1/camera/c1.range.20261101.1000.to.20261101.1059.mp4 over
  127.0.0.1 with a plain Python socket client reading into a reused 1 MiB buffer.
  Time to first byte: before connect() to the first byte of the response (pinvr sends
  the status line only after it has parsed the 60 minutes' sample tables and built the
  header). Throughput: Content-Length / (before connect() to the last byte).
- cat: `cat` of the 60 minute files > /dev/null; throughput = their total size / wall
  time of the process. Its time to first byte is that of `cat FILES | reader` (the time
  from spawning cat to the first byte on the pipe).
- pinvr 24 h: time to the first byte of the 24-hour range (body abandoned after 1 MiB),
  and of a 1-minute range.
With --cold (root only), the page cache is dropped (`sync`, `echo 3 >
/proc/sys/vm/drop_caches`) before each pinvr hour download, each cat and each reference
download, so every one of them reads the minute files from the disk, as an export of old
footage does on a Pi's SD card. The first-byte figures of the 24-hour and 1-minute ranges
follow the hour download without a drop.
Medians of the runs are printed, with the pinvr/cat ratios, and pinvr's CPU seconds
(user+sys from /proc/<pid>/stat) per GB served.
"""

import argparse
import calendar
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

DAY = "20261101"
HOUR = 10
DAY24 = "20261102"
CAM = "c1"


def minute_name(day, hh, mm):
    return f"{CAM}.{day}.{hh:02d}{mm:02d}"


def make_hour(pinvr, clip, data):
    """60 minute files (+ JPEGs) for 10:00-10:59 of DAY; 1440 hard links for DAY24."""
    d = os.path.join(data, CAM, DAY)
    marker = os.path.join(data, ".complete")
    if os.path.exists(marker):
        return d
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(d)
    B.log(f"remuxing 60 minutes into {d}")
    chunk = os.path.join(data, "tmp.chunk")
    y, mo, da = int(DAY[:4]), int(DAY[4:6]), int(DAY[6:])
    for mm in range(60):
        start_us = calendar.timegm((y, mo, da, HOUR, mm, 0)) * 1_000_000
        out = os.path.join(d, minute_name(DAY, HOUR, mm) + ".mp4")
        subprocess.run([pinvr, "mp4-to-chunk", "--start-us", str(start_us), chunk, clip],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([pinvr, "remux"] + (["--no-preview"] if mm else []) + [chunk, out],
                       check=True, stdout=subprocess.DEVNULL)
        os.remove(chunk)
        if mm:
            for ext in (".jpg", ".thumb.jpg"):
                shutil.copyfile(os.path.join(d, minute_name(DAY, HOUR, 0) + ext),
                                os.path.join(d, minute_name(DAY, HOUR, mm) + ext))
    d24 = os.path.join(data, CAM, DAY24)
    os.makedirs(d24)
    for m in range(1440):
        os.link(os.path.join(d, minute_name(DAY, HOUR, m % 60) + ".mp4"),
                os.path.join(d24, minute_name(DAY24, m // 60, m % 60) + ".mp4"))
    open(marker, "w").close()
    return d


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def cat_run(files):
    t0 = time.perf_counter()
    subprocess.run(["cat"] + files, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def cat_first_byte(files):
    t0 = time.perf_counter()
    p = subprocess.Popen(["cat"] + files, stdout=subprocess.PIPE)
    try:
        first = p.stdout.read(1)
        dt = time.perf_counter() - t0
        if not first:
            raise RuntimeError("cat wrote nothing")
    finally:
        p.kill()
        p.wait(timeout=10)
        p.stdout.close()
    return dt


# A minimal HTTP server for the socket ceiling: it answers any GET with the minute files
# back to back, with sendfile() (GET /sendfile) or read()+sendall() of 128 KiB like cat
# (GET /copy). One connection at a time; argv: files.
REFERENCE_SERVER = r"""
import os, socket, sys
files = sys.argv[1:]
total = sum(os.path.getsize(f) for f in files)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(4)
print(ls.getsockname()[1], flush=True)
buf = bytearray(128 * 1024)
while True:
    c, _ = ls.accept()
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(4096)
        if not d:
            break
        req += d
    try:
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % total)
        for f in files:
            with open(f, "rb") as fh:
                if req.startswith(b"GET /sendfile"):
                    off, size = 0, os.fstat(fh.fileno()).st_size
                    while off < size:
                        off += os.sendfile(c.fileno(), fh.fileno(), off, size - off)
                else:
                    while True:
                        n = fh.readinto(buf)
                        if not n:
                            break
                        c.sendall(memoryview(buf)[:n])
    except OSError:
        pass
    c.close()
"""


def cpu_of(pid):
    u, s, _, _ = B.proc_stat(pid)
    return u + s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="measured passes (default 5)")
    ap.add_argument("--cold", action="store_true",
                    help="drop the page cache before each download and cat (root only)")
    ap.add_argument("--pinvr", help="pinvr binary (default: cargo build --release)")
    ap.add_argument("--workdir", default=os.path.join(B.REPO, "target", "bench-export"))
    a = ap.parse_args()
    if a.cold and not os.access("/proc/sys/vm/drop_caches", os.W_OK):
        B.die("--cold drops the page cache and needs root")
    settle = drop_caches if a.cold else (lambda: None)
    workdir = os.path.abspath(a.workdir)
    pinvr = B.pinvr_binary(a.pinvr, workdir)
    clip = B.make_clip(os.path.join(workdir, "clip-1080p20-3M-60s.mp4"), seconds=60)
    data = os.path.join(workdir, "data")
    d = make_hour(pinvr, clip, data)
    files = [os.path.join(d, minute_name(DAY, HOUR, mm) + ".mp4") for mm in range(60)]
    cat_bytes = sum(os.path.getsize(f) for f in files)

    port = B.free_port()
    cfg = os.path.join(workdir, "pinvr.json")
    B.write_config(cfg, data, port, [(CAM, "rtsp://127.0.0.1:9/stream")], enabled=False)
    err = open(os.path.join(workdir, "pinvr.log"), "wb")
    proc = subprocess.Popen([pinvr, "run", "--config", cfg], stdin=subprocess.DEVNULL,
                            stdout=err, stderr=err)
    err.close()
    hour = f"/api/1/camera/{CAM}.range.{DAY}.{HOUR:02d}00.to.{DAY}.{HOUR:02d}59.mp4"
    day24 = f"/api/1/camera/{CAM}.range.{DAY24}.0000.to.{DAY24}.2359.mp4"
    minute = f"/api/1/camera/{CAM}.range.{DAY}.{HOUR:02d}00.to.{DAY}.{HOUR:02d}00.mp4"
    rows = {"pinvr": [], "cat": [], "cat1": [], "d24": [], "m1": [], "cpu": [], "sendfile": [], "copy": []}
    ref = subprocess.Popen([sys.executable, "-c", REFERENCE_SERVER] + files, stdout=subprocess.PIPE,
                           stdin=subprocess.DEVNULL)
    try:
        line = B.read_line(ref, time.monotonic() + 10)
        if not line:
            raise RuntimeError("the reference server did not start")
        ref_port = int(line)
        _, r = B.wait_http(port, f"/api/1/cameras/{DAY}", time.monotonic() + 30, proc)
        count = json.loads(r["body"])["payload"]["cameras"][CAM]["count"]
        if count != 60:
            raise RuntimeError(f"pinvr indexed {count} minutes of {DAY}, not 60")
        B.log("warm-up: cat once, download once")
        cat_run(files)
        w = B.http_get(port, hour, timeout=60, sink=True)
        B.http_get(ref_port, "/sendfile", timeout=60, sink=True)
        if w["status"] != 200:
            raise RuntimeError(f"GET {hour}: {w['status']}")
        length = int(w["headers"]["content-length"])
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                                "-of", "default=nw=1:nk=1", f"http://127.0.0.1:{port}{hour}"],
                               capture_output=True, text=True, timeout=60)
        B.log(f"range: {length} bytes, ffprobe duration {probe.stdout.strip()} s {probe.stderr.strip()}")
        for i in range(a.runs):
            settle()
            c0 = cpu_of(proc.pid)
            g = B.http_get(port, hour, timeout=60, sink=True)
            rows["cpu"].append(cpu_of(proc.pid) - c0)
            rows["pinvr"].append(g)
            settle()
            rows["cat"].append(cat_run(files))
            rows["cat1"].append(cat_first_byte(files))
            for mode in ("sendfile", "copy"):
                settle()
                rows[mode].append(B.http_get(ref_port, "/" + mode, timeout=60, sink=True))
            rows["d24"].append(B.http_get(port, day24, timeout=60, sink=True, stop_after=1 << 20))
            rows["m1"].append(B.http_get(port, minute, timeout=60, sink=True, stop_after=1 << 20))
            B.log(f"run {i + 1}: pinvr {g['ttfb'] * 1e3:.1f} ms, {length / g['total'] / 1e6:.0f} MB/s; "
                  f"cat {cat_bytes / rows['cat'][-1] / 1e6:.0f} MB/s")
        d24_len = int(rows["d24"][0]["headers"]["content-length"])
    finally:
        B.stop_all([proc, ref])

    ttfb = B.median([g["ttfb"] for g in rows["pinvr"]])
    thr = B.median([length / g["total"] for g in rows["pinvr"]])
    cat_thr = B.median([cat_bytes / t for t in rows["cat"]])
    cat_ttfb = B.median(rows["cat1"])
    cpu_gb = B.median(rows["cpu"]) / (length / 1e9)
    print(f"Machine: {B.machine()}")
    cache = "page cache dropped before each" if a.cold else "page cache warm for both"
    flag = " --cold" if a.cold else ""
    print(f"Command: bench/export.py --runs {a.runs}{flag}  (medians of {a.runs}; {cache})\n")
    print("| what | bytes | time to first byte | throughput |")
    print("|---|---|---|---|")
    print(f"| pinvr GET 1-hour range (60 minutes), socket client | {length / 1e6:.0f} MB "
          f"| {ttfb * 1e3:.1f} ms | {thr / 1e6:.0f} MB/s |")
    print(f"| cat the 60 minute files > /dev/null | {cat_bytes / 1e6:.0f} MB "
          f"| {cat_ttfb * 1e3:.1f} ms (to a pipe) | {cat_thr / 1e6:.0f} MB/s |")
    print(f"| **pinvr/cat** | | **{ttfb / cat_ttfb:.2f}** | **{thr / cat_thr:.2f}** |")
    for mode, what in (("sendfile", "sendfile()"), ("copy", "read()+send() of 128 KiB")):
        rs = rows[mode]
        print(f"| reference: the 60 files over 127.0.0.1 with {what}, same client | {rs[0]['nbytes'] / 1e6:.0f} MB "
              f"| {B.median([g['ttfb'] for g in rs]) * 1e3:.1f} ms "
              f"| {B.median([g['nbytes'] / g['total'] for g in rs]) / 1e6:.0f} MB/s |")
    print(f"| **pinvr/sendfile reference** | | | **{thr / B.median([g['nbytes'] / g['total'] for g in rows['sendfile']]):.2f}** |")
    print(f"| pinvr GET 24-hour range (1440 minutes, hard links) | {d24_len / 1e9:.1f} GB "
          f"| {B.median([g['ttfb'] for g in rows['d24']]) * 1e3:.1f} ms | (first MiB only) |")
    print(f"| pinvr GET 1-minute range | "
          f"| {B.median([g['ttfb'] for g in rows['m1']]) * 1e3:.1f} ms | (first MiB only) |")
    print(f"\npinvr CPU while serving the hour: {cpu_gb:.2f} s per GB (user+sys of the pinvr process)")


if __name__ == "__main__":
    main()
