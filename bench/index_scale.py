#!/usr/bin/env python3
"""Index scale: pinvr's start-up and day query with 30 days x 8 cameras of minute files.

Usage: bench/index_scale.py [--days 30] [--cameras 8] [--runs 5] [--queries 20]
                            [--drop-caches] [--pinvr PATH] [--workdir DIR]

Makes (once, reused while --days/--cameras stay the same) placeholder minute files for
every minute of every day: DATA/cK/YYYYMMDD/cK.YYYYMMDD.HHMM.{mp4,jpg,thumb.jpg}, empty
files (pinvr indexes names only), for the --days UTC days ending 2026-11-22. 30 x 8 is
345,600 minutes, 1,036,800 files in 240 folders of 4,320 names.

Then --runs times: start `pinvr run` with those cameras (disabled: nothing records; the
index of every configured camera is built from the file names before the web server
listens) and time from spawn to the first 200 answer of GET /api/1/cameras/LASTDAY
(polled every 5 ms on fresh connections), check that it lists 1440 minutes per camera,
wait 2 s (the start-up scan for leftover chunks runs after the web server is up), then
time --queries GETs of /api/1/cameras/LASTDAY (all cameras) and of ?camera_ids=c0 (one),
each on a fresh connection, from before connect() to the last byte. The page cache and
dentry cache are WARM (the files were just made or scanned by the previous run) unless
--drop-caches (root; writes 3 to /proc/sys/vm/drop_caches before each start: the cold
figure of a freshly booted box). Prints medians and maxima, and pinvr's VmRSS once it
answers.
"""

import argparse
import calendar
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

LAST_DAY = (2026, 11, 22)


def days_list(n):
    end = calendar.timegm(LAST_DAY + (0, 0, 0))
    return [time.strftime("%Y%m%d", time.gmtime(end - 86400 * k)) for k in range(n - 1, -1, -1)]


def make_tree(data, days, cams):
    marker = os.path.join(data, f".complete-{len(days)}x{len(cams)}")
    if os.path.exists(marker):
        return
    subprocess.run(["rm", "-rf", data], check=True)
    B.log(f"making {len(days) * len(cams) * 1440 * 3} placeholder files under {data}")
    t0 = time.monotonic()
    flags = os.O_CREAT | os.O_WRONLY | os.O_EXCL
    for c in cams:
        for d in days:
            folder = os.path.join(data, c, d)
            os.makedirs(folder)
            for m in range(1440):
                base = os.path.join(folder, f"{c}.{d}.{m // 60:02d}{m % 60:02d}")
                for ext in (".mp4", ".jpg", ".thumb.jpg"):
                    os.close(os.open(base + ext, flags, 0o644))
    open(marker, "w").close()
    B.log(f"made in {time.monotonic() - t0:.0f} s")


def timed_get(port, path):
    r = B.http_get(port, path, timeout=10)
    if r["status"] != 200:
        raise RuntimeError(f"GET {path}: {r['status']}")
    return r["total"], len(r["body"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--cameras", type=int, default=8)
    ap.add_argument("--runs", type=int, default=5, help="pinvr start-ups (default 5)")
    ap.add_argument("--queries", type=int, default=20, help="day queries per start-up (default 20)")
    ap.add_argument("--drop-caches", action="store_true", help="drop the page cache before each start (root)")
    ap.add_argument("--pinvr", help="pinvr binary (default: cargo build --release)")
    ap.add_argument("--workdir", default=os.path.join(B.REPO, "target", "bench-index"))
    a = ap.parse_args()
    workdir = os.path.abspath(a.workdir)
    pinvr = B.pinvr_binary(a.pinvr, workdir)
    data = os.path.join(workdir, "data")
    days = days_list(a.days)
    cams = [f"c{i}" for i in range(a.cameras)]
    make_tree(data, days, cams)
    last = days[-1]
    cfg = os.path.join(workdir, "pinvr.json")
    starts, rss, q_all, q_one = [], [], [], []
    size_all = size_one = 0
    for run in range(a.runs):
        if a.drop_caches:
            subprocess.run(["sync"], check=True)
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        port = B.free_port()
        B.write_config(cfg, data, port, [(c, "rtsp://127.0.0.1:9/stream") for c in cams], enabled=False)
        err = open(os.path.join(workdir, "pinvr.log"), "wb")
        t0 = time.monotonic()
        proc = subprocess.Popen([pinvr, "run", "--config", cfg], stdin=subprocess.DEVNULL,
                                stdout=err, stderr=err)
        err.close()
        try:
            B.wait_http(port, f"/api/1/cameras/{last}", t0 + 60, proc)
            starts.append(time.monotonic() - t0)
            rss.append(B.vm_rss(proc.pid))
            r = B.http_get(port, f"/api/1/cameras/{last}")
            got = {c: v["count"] for c, v in json.loads(r["body"])["payload"]["cameras"].items()}
            if got != {c: 1440 for c in cams}:
                raise RuntimeError(f"day {last}: minutes per camera {got}, expected 1440 each")
            time.sleep(2)
            for _ in range(a.queries):
                t, size_all = timed_get(port, f"/api/1/cameras/{last}")
                q_all.append(t)
                t, size_one = timed_get(port, f"/api/1/cameras/{last}?camera_ids=c0")
                q_one.append(t)
        finally:
            B.stop_all([proc])
        B.log(f"run {run + 1}: web answered after {starts[-1] * 1e3:.0f} ms, RSS {rss[-1] / B.MiB:.1f} MiB")

    minutes = len(days) * len(cams) * 1440
    cache = "cold (caches dropped before each start)" if a.drop_caches else "warm"
    print(f"Machine: {B.machine()}")
    print(f"Command: bench/index_scale.py --days {a.days} --cameras {a.cameras} --runs {a.runs} "
          f"--queries {a.queries}{' --drop-caches' if a.drop_caches else ''}  (page cache {cache})\n")
    print("| what | median | max |")
    print("|---|---|---|")
    print(f"| start-up until the web answers ({a.days} days x {a.cameras} cameras: {minutes:,} minutes, "
          f"{minutes * 3:,} files; {a.runs} starts) | {B.median(starts) * 1e3:.0f} ms | {max(starts) * 1e3:.0f} ms |")
    print(f"| GET /api/1/cameras/{last}, all {a.cameras} cameras ({size_all / 1e3:.0f} kB of JSON; "
          f"{len(q_all)} queries) | {B.median(q_all) * 1e3:.1f} ms | {max(q_all) * 1e3:.1f} ms |")
    print(f"| GET /api/1/cameras/{last}?camera_ids=c0 ({size_one / 1e3:.0f} kB) "
          f"| {B.median(q_one) * 1e3:.1f} ms | {max(q_one) * 1e3:.1f} ms |")
    print(f"| pinvr VmRSS when it first answers | {B.median(rss) / B.MiB:.1f} MiB | {max(rss) / B.MiB:.1f} MiB |")


if __name__ == "__main__":
    main()
