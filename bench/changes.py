#!/usr/bin/env python3
"""Change search cost: a 5-hour and a 24-hour query on a day of signatures.

Usage: bench/changes.py [--runs 5] [--drop-caches] [--pinvr PATH] [--workdir DIR]

Makes (once) a recorded day of camera c0 as the change search sees it: 1440 placeholder
minute files (empty: the coarse pass reads only signatures; pinvr indexes names) and the
day's signature file in pinvr's format (src/signature.rs: per minute a big-endian u16
minute of the day, 64x36 luma, 32x18 Cb, 32x18 Cr): a fixed textured scene with per-minute
noise and light drifting by a fifth over the day, and an object appearing in the region at
13:20. Then --runs times: start pinvr (the camera disabled), and time GET changes.json for
05:00-09:59 and for the whole day with a region, from before connect() to the last byte,
on a fresh connection; the first query after each start is COLD with --drop-caches (root:
page cache dropped before the start), the others warm. The placeholder minutes cannot be
decoded, so the fine pass (key frames of the minute before a change) is left out here:
`cargo test --release --test remux -- --ignored --nocapture signature_costs` measures a
1080p key-frame decode, of which a change costs about log2(key frames a minute).
"""

import argparse
import json
import os
import random
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

DAY = "20261122"
W, H, CW, CH = 64, 36, 32, 18
REGION = "0.6,0.45,0.22,0.33"


def make_day(data):
    folder = os.path.join(data, "c0", DAY)
    marker = os.path.join(data, ".complete")
    if os.path.exists(marker):
        return
    subprocess.run(["rm", "-rf", data], check=True)
    os.makedirs(folder)
    rnd = random.Random(7)
    scene = [60 + rnd.randrange(120) for _ in range(W * H)]
    u = [128 + rnd.randrange(-30, 30) for _ in range(CW * CH)]
    v = [128 + rnd.randrange(-30, 30) for _ in range(CW * CH)]
    recs = bytearray()
    for m in range(1440):
        for ext in (".mp4", ".jpg", ".thumb.jpg"):
            open(os.path.join(folder, f"c0.{DAY}.{m // 60:02d}{m % 60:02d}{ext}"), "w").close()
        gain = 1.0 + 0.1 * __import__("math").sin(2 * 3.14159 * m / 1440)
        y = []
        for i, p in enumerate(scene):
            x, r = i % W, i // W
            if m >= 800 and 40 <= x < 54 and 18 <= r < 28:
                p = 230
            y.append(max(0, min(255, int(p * gain + rnd.gauss(0, 3)))))
        recs += struct.pack(">H", m) + bytes(y) + bytes(u) + bytes(v)
    with open(os.path.join(folder, f"c0.{DAY}.sig"), "wb") as f:
        f.write(recs)
    open(marker, "w").close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--drop-caches", action="store_true")
    ap.add_argument("--pinvr")
    ap.add_argument("--workdir", default=os.path.join(B.REPO, "target", "bench-changes"))
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    binary = B.pinvr_binary(a.pinvr, a.workdir)
    data = os.path.join(a.workdir, "data")
    make_day(data)
    config = os.path.join(a.workdir, "pinvr.json")
    port = B.free_port()
    B.write_config(config, data, port, [("c0", "rtsp://127.0.0.1:9/x")], enabled=False,
                   web={"admin_password": "bench password"})
    auth = B.write_token(config)
    queries = {
        "5 h": f"/api/1/camera/c0/changes.json?from={DAY}.0500&to={DAY}.0959&region={REGION}",
        "24 h": f"/api/1/camera/c0/changes.json?from={DAY}.0000&to={DAY}.2359&region={REGION}",
    }
    times = {k: {"cold": [], "warm": []} for k in queries}
    found = {}
    for run in range(a.runs):
        if a.drop_caches:
            subprocess.run(["sync"], check=True)
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        proc = subprocess.Popen([binary, "run", "--config", config], stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(a.workdir, "pinvr.log"), "a"))
        try:
            B.wait_http(port, "/api/1/system.json", time.monotonic() + 60, proc, headers=auth)
            for name, path in queries.items():
                for k in range(4):
                    r = B.http_get(port, path, timeout=60, headers=auth)
                    if r["status"] != 200:
                        B.die(f"{path}: {r['status']} {r['body'][:200]}")
                    kind = "cold" if k == 0 and a.drop_caches else "warm"
                    times[name][kind].append(r["total"] * 1000)
                    p = json.loads(r["body"])["payload"]
                    found[name] = (p["checked"], [c["start"] for c in p["changes"]])
        finally:
            B.stop_all([proc])
    print(f"machine: {B.machine()}")
    for name in queries:
        checked, changes = found[name]
        line = f"{name}: {checked} minutes, changes at {changes}; warm median {B.median(times[name]['warm']):.1f} ms, max {max(times[name]['warm']):.1f} ms"
        if times[name]["cold"]:
            line += f"; cold median {B.median(times[name]['cold']):.1f} ms, max {max(times[name]['cold']):.1f} ms"
        print(line)


if __name__ == "__main__":
    main()
