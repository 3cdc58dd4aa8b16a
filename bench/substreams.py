#!/usr/bin/env python3
"""What a sub stream costs and saves: pinvr recording 16 cameras with and without sub_url.

Usage: bench/substreams.py [--cameras 16] [--duration 150] [--pinvr PATH] [--workdir DIR]

Each fake camera (tests/fake_camera.py) serves /main, a 1920x1080 20 fps 3 Mbit/s H.264
clip with a 2 s GOP, and /sub, the same picture at 640x360, 20 fps, 500 kbit/s. pinvr runs
twice on the same cameras, one after the other, for --duration seconds each (two minute
closes): (a) main streams only, as before sub_url (previews decoded from the 1080p main);
(b) every camera with its sub_url (the sub recorded too, previews from it, the main's
preview decode skipped). Figures as bench/recorders.py measures them: CPU s per
camera-hour (utime + stime to SIGTERM), peak RSS (ru_maxrss), median RSS (VmRSS each
second), disk bytes written per byte received, files kept.

Then the preview decode alone: a recorded minute of each size made into a chunk again
(`pinvr mp4-to-chunk`) and finished by `pinvr remux`, with and without the preview
(`--no-preview`); ru_maxrss of each: the difference is the decoder's memory.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402


def run(label, n, cams, pinvr, workdir, duration, sub):
    out = os.path.join(workdir, label)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    proc, port, auth = B.start_recording(out, pinvr, cams.urls[:n], sub)
    t0 = time.monotonic()
    B.log(f"{label}: {n} camera(s) for {duration:.0f} s")
    rss, received = [], {}
    next_net = t0 + 5
    try:
        while time.monotonic() < t0 + duration:
            if proc.poll() is not None:
                raise RuntimeError(f"pinvr exited early; see {out}")
            rss.append(B.vm_rss(proc.pid))
            if time.monotonic() >= next_net:
                received.update(B.tcp_received([proc.pid]))
                next_net = time.monotonic() + 5
            time.sleep(1.0)
        received.update(B.tcp_received([proc.pid]))
        r = B.http_get(port, "/api/1/cameras.json", timeout=5, headers=auth)
        listed = json.loads(r["body"])["payload"]["cameras"]
        recording = sum(1 for c in listed if c["recording"])
        subs = sum(1 for c in listed if c.get("sub") and c["sub"]["recording"])
        previews = {c["previews"] for c in listed}
        wall = time.monotonic() - t0
        cpu = sum(B.proc_stat(proc.pid))
        proc.send_signal(signal.SIGTERM)
        end = B.reap(proc, time.monotonic() + 120)
    finally:
        B.stop_all([proc] if proc.returncode is None else [])
    io = end["io"]
    files, kept = B.tree_size(os.path.join(out, "data"))
    jpgs = sum(1 for root, _, fs in os.walk(os.path.join(out, "data")) for f in fs if f.endswith(".jpg"))
    res = {
        "label": label, "n": n, "cpu_per_cam_hour": cpu / (n * wall) * 3600,
        "peak_rss": end["maxrss"], "median_rss": B.median(rss),
        "received": sum(received.values()),
        "disk": io["write_bytes"] - io["cancelled_write_bytes"], "kept": kept,
        "jpgs": jpgs, "recording": recording, "subs": subs, "previews": sorted(previews),
    }
    res["disk_per_received"] = res["disk"] / res["received"] if res["received"] else float("nan")
    B.log(f"{label}: cpu {cpu:.1f} s, peak RSS {res['peak_rss'] / B.MiB:.1f} MiB, {recording} recording, "
          f"{subs} subs, previews from {res['previews']}")
    return res


def remux_rss(pinvr, mp4, workdir, preview):
    """ru_maxrss (bytes) of `pinvr remux` finishing `mp4` made into a chunk again."""
    chunk = os.path.join(workdir, "again.chunk")
    subprocess.run([pinvr, "mp4-to-chunk", chunk, mp4], check=True, capture_output=True)
    out = os.path.join(workdir, "again.mp4")
    args = [pinvr, "remux"] + ([] if preview else ["--no-preview"]) + [chunk, out]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{args} failed")
    return ru.ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", type=int, default=16)
    ap.add_argument("--duration", type=float, default=150)
    ap.add_argument("--pinvr", help="pinvr binary (default: cargo build --release)")
    ap.add_argument("--workdir", default=os.path.join(B.REPO, "target", "bench-substreams"))
    a = ap.parse_args()
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    pinvr = B.pinvr_binary(a.pinvr, workdir)
    main_clip = B.make_clip(os.path.join(workdir, "main-1080p20-3M-30s.mp4"))
    sub_clip = B.make_clip(os.path.join(workdir, "sub-360p20-500k-30s.mp4"), size="640x360",
                           bitrate="500k")
    B.log(f"starting {a.cameras} fake camera(s) with /main and /sub")
    cams = B.Cameras(a.cameras, main_clip, os.path.join(workdir, "logs"),
                     mounts=[("/main", main_clip), ("/sub", sub_clip)])
    try:
        results = [run(label, a.cameras, cams, pinvr, workdir, a.duration, sub)
                   for label, sub in (("main-only", False), ("with-sub", True))]
    finally:
        cams.stop()
    # The preview decode alone, on minutes just recorded.
    data = os.path.join(workdir, "with-sub", "data", "c0")
    mains = sorted(os.path.join(r, f) for r, _, fs in os.walk(data) for f in fs
                   if f.endswith(".mp4") and "/sub/" not in os.path.join(r, f))
    subs = sorted(os.path.join(r, f) for r, _, fs in os.walk(os.path.join(data, "sub"))
                  for f in fs if f.endswith(".mp4"))
    decode = {}
    for name, files in (("1920x1080 main", mains), ("640x360 sub", subs)):
        if files:
            decode[name] = (remux_rss(pinvr, files[-1], workdir, True),
                            remux_rss(pinvr, files[-1], workdir, False))

    print(f"Machine: {B.machine()}")
    print(f"Command: bench/substreams.py --cameras {a.cameras} --duration {a.duration:g}\n")
    print("| run | CPU s per camera-hour | peak RSS | median RSS | disk bytes written per byte received "
          "| files kept | JPEGs | recording (subs) | previews from |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['label']} | {r['cpu_per_cam_hour']:.1f} | {r['peak_rss'] / B.MiB:.1f} MiB "
              f"| {r['median_rss'] / B.MiB:.1f} MiB | {r['disk_per_received']:.3f} "
              f"| {r['kept'] / 1e6:.1f} MB | {r['jpgs']} | {r['recording']} ({r['subs']}) "
              f"| {', '.join(r['previews'])} |")
    print()
    print("| minute | pinvr remux peak RSS with preview | without | the preview decode |")
    print("|---|---|---|---|")
    for name, (w, wo) in decode.items():
        print(f"| {name} | {w / B.MiB:.1f} MiB | {wo / B.MiB:.1f} MiB | {(w - wo) / B.MiB:.1f} MiB |")


if __name__ == "__main__":
    main()
