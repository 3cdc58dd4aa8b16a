#!/usr/bin/env python3
"""Cost per camera of pinvr against the seed's ffmpeg recorder, on the same fake cameras.

Usage: bench/recorders.py [--cameras 1,4,16] [--duration 120] [--phase 5] [--pinvr PATH]
                          [--workdir DIR] [--keep] [--sub] [--only pinvr|ffmpeg]

Starts max(N) fake cameras once (tests/fake_camera.py looping a 1920x1080, 20 fps, 3 Mbit/s
clip with a 2 s GOP), then for each N, one after the other on the first N of them:
  (a) pinvr recording all N (`pinvr run`),
  (b) N ffmpeg recorders, as a user runs the seed today (with --sub also 2N, each camera's
      sub stream recorded by a second one: "ffmpeg+sub", like for like with pinvr+sub):
      ffmpeg -rtsp_transport tcp -i URL -c copy -f segment -segment_time 60
             -reset_timestamps 1 -strftime 1 DIR/%Y%m%d-%H%M.mp4
      (plus -nostdin -loglevel warning, as under a service manager),
each for --duration seconds, then SIGTERM (both close their open files on it) and waits.
Each run starts --phase seconds into a wall-clock minute: a run of 120 s then holds exactly
two minute boundaries (pinvr closes, remuxes and previews each camera's minute at each; ffmpeg
starts a segment), the share of a long recording. Started at any moment, a 140 s run held two
or three, and its figure moved by a tenth with that luck.

How each figure is measured (recorder processes only, never the camera servers):
- CPU s per camera-hour: utime + stime (+ cutime + cstime) from /proc/<pid>/stat of each
  recorder process just before SIGTERM (all threads, start-up and the minute closes with
  their remux and preview included), summed, divided by N x the seconds from spawn to
  SIGTERM, times 3600: the cost of recording. The details table also gives it with the
  shutdown (ru_utime + ru_stime from wait4() at exit), where pinvr finishes one more
  minute per camera, a fixed cost that a short run makes look large.
- peak RSS, total: ru_maxrss from wait4() (the kernel's high-water mark of the process,
  so a brief peak between samples is not missed), summed over the recorder processes
  (one for pinvr, N for ffmpeg; their peaks need not coincide, so for ffmpeg this is an
  upper bound). Median RSS: the sum of VmRSS over the processes, sampled every second.
  RSS counts a shared library's pages in every process that maps it (about 40 of an
  ffmpeg's 52 MiB are libav* and other file pages, shared between N ffmpegs), so the
  details table adds the summed PSS (smaps_rollup), which divides shared pages among
  their users: the memory N ffmpegs really take together.
- disk bytes written per byte received: written = write_bytes - cancelled_write_bytes
  from /proc/<pid>/io read from the exited (not yet reaped) process: bytes of page cache
  the recorder dirtied for the storage layer, less what it truncated or deleted before
  writeback. received = tcp_info bytes_received of the recorder's established TCP
  sockets (`ss -tinp`, sampled every 5 s and, from SIGTERM until the recorder has
  exited, every 50 ms: it receives and writes until it has stopped each stream, up to
  13 s for 32 streams before stop 29, and counting only what came before SIGTERM made
  those bytes look written twice): everything the cameras sent it (RTSP, interleaved
  RTP and RTCP). rchar would miss recv() and count file reads, so it is not used.
The details table adds the write() total (wchar), the bytes of files left on disk, the
H.264 payload the clip's bitrate predicts, ffprobe's duration of what was recorded, and the
last RSS sample before SIGTERM. Each run's RSS samples (one a second, KiB) are kept in
WORKDIR/<recorder>-<N>/rss.tsv, its logs beside them.
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


def wait_for_phase(phase):
    """Sleeps until the wall clock is `phase` seconds into a minute (no wait if None)."""
    if phase is None:
        return
    wait = (phase - time.time() % 60) % 60
    B.log(f"waiting {wait:.0f} s to start {phase:.0f} s into a minute")
    time.sleep(wait)


def start_ffmpegs(out, urls, sub=False):
    """The seed's way: one `ffmpeg -c copy -f segment` per camera under `out`/data (with
    `sub`, a second per camera for its sub stream, like for like with pinvr+sub). Returns
    the processes."""
    procs = []
    ids = [f"c{i}" for i in range(len(urls))]
    streams = list(zip(ids, urls))
    if sub:
        streams += [(f"{cid}~sub", url.rsplit("/", 1)[0] + "/sub") for cid, url in zip(ids, urls)]
    for cid, url in streams:
        d = os.path.join(out, "data", cid)
        os.makedirs(d)
        err = open(os.path.join(out, f"ffmpeg-{cid}.log"), "wb")
        procs.append(subprocess.Popen(
            ["ffmpeg", "-nostdin", "-loglevel", "warning", "-rtsp_transport", "tcp",
             "-i", url, "-c", "copy", "-f", "segment", "-segment_time", "60",
             "-reset_timestamps", "1", "-strftime", "1", os.path.join(d, "%Y%m%d-%H%M.mp4")],
            stdin=subprocess.DEVNULL, stdout=err, stderr=err))
        err.close()
    return procs


def run_recorder(kind, n, cams, pinvr, workdir, duration, sub=False, label=None, phase=None):
    out = os.path.join(workdir, f"{label or kind}-{n}")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    wait_for_phase(phase)
    urls = cams.urls[:n]
    port = None
    if kind == "pinvr":
        proc, port, auth = B.start_recording(out, pinvr, urls, sub)
        procs = [proc]
    else:
        procs = start_ffmpegs(out, urls, sub)
    pids = [p.pid for p in procs]
    t0 = time.monotonic()
    B.log(f"{kind}: recording {n} camera(s) for {duration:.0f} s (pids {pids[:4]}{'...' if n > 4 else ''})")
    rss, pss, received = [], [], {}
    next_net = t0 + 5
    try:
        while True:
            now = time.monotonic()
            if now >= t0 + duration:
                break
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{kind} pid {dead[0].pid} exited early ({dead[0].returncode}); see {out}")
            rss.append(sum(B.vm_rss(p) for p in pids))
            pss.append(sum(B.pss(p) for p in pids))
            if now >= next_net:
                received.update(B.tcp_received(pids))
                next_net = now + 5
            time.sleep(min(1.0, max(0.0, t0 + duration - time.monotonic())))
        received.update(B.tcp_received(pids))
        states = None
        if kind == "pinvr":
            r = B.http_get(port, "/api/1/system.json", timeout=5, headers=auth)
            cams_state = json.loads(r["body"])["payload"]["cameras"]
            states = sum(1 for c in cams_state.values() if c["recording"])
            if states != n:
                B.log(f"warning: pinvr says {states} of {n} cameras are recording: {cams_state}")
        wall = time.monotonic() - t0
        cpu_running = sum(sum(B.proc_stat(p)) for p in pids)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60 + 5 * n
        ends = B.reap_counting([(procs, received)], deadline)
    finally:
        B.stop_all([p for p in procs if p.returncode is None])
    if any(e is None for e in ends):
        raise RuntimeError(f"{kind} did not exit within the deadline after SIGTERM; see {out}")
    shutdown = time.monotonic() - t0 - wall
    with open(os.path.join(out, "rss.tsv"), "w") as f:
        f.writelines(f"{i}\t{v // 1024}\n" for i, v in enumerate(rss))
    cpu_u = sum(e["utime"] for e in ends)
    cpu_s = sum(e["stime"] for e in ends)
    io = {k: sum(e["io"][k] for e in ends) for k in ends[0]["io"]}
    files, kept = B.tree_size(os.path.join(out, "data"))
    mp4s = []
    for root, _, fs in os.walk(os.path.join(out, "data")):
        # A sub stream's minutes (camera "<id>~sub") are not the camera's recorded time.
        mp4s += [os.path.join(root, f) for f in fs
                 if f.endswith(".mp4") and "~sub" not in os.path.join(root, f)]
    video_s = sum(B.mp4_duration(f) for f in mp4s)
    jpgs = sigs = 0
    for root, _, fs in os.walk(os.path.join(out, "data")):
        jpgs += sum(1 for f in fs if f.endswith(".jpg") and ".thumb." not in f)
        # Change-search signatures: fixed records of 2 + 64 x 36 + 2 x 32 x 18 bytes.
        sigs += sum(os.path.getsize(os.path.join(root, f)) // 3458 for f in fs if f.endswith(".sig"))
    res = {
        "n": n, "kind": kind, "wall": wall, "shutdown": shutdown, "user": cpu_u, "sys": cpu_s,
        "cpu_per_cam_hour": cpu_running / (n * wall) * 3600,
        "cpu_all_per_cam_hour": (cpu_u + cpu_s) / (n * wall) * 3600,
        "peak_rss": sum(e["maxrss"] for e in ends),
        "median_rss": B.median(rss), "last_rss": rss[-1] if rss else 0,
        "median_pss": B.median(pss), "max_pss": max(pss, default=0),
        "received": sum(received.values()), "sockets": len(received),
        "wchar": io["wchar"],
        "disk": io["write_bytes"] - io["cancelled_write_bytes"],
        "kept": kept, "files": files, "mp4s": len(mp4s), "video_s_per_cam": video_s / n,
        "jpgs": jpgs, "sigs": sigs,
        "recording": states, "exits": [e["exit"] for e in ends],
    }
    res["disk_per_received"] = res["disk"] / res["received"] if res["received"] else float("nan")
    B.log(f"{kind}: cpu {cpu_running:.2f} s to SIGTERM, {cpu_u + cpu_s:.2f} s in all, peak RSS {res['peak_rss'] / B.MiB:.1f} MiB, "
          f"received {res['received'] / 1e6:.1f} MB on {len(received)} socket(s), "
          f"disk {res['disk'] / 1e6:.1f} MB, {len(mp4s)} MP4s, shutdown {shutdown:.1f} s")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cameras", default="1,4,16", help="comma-separated camera counts (default 1,4,16)")
    ap.add_argument("--duration", type=float, default=120, help="seconds per recorder run (default 120)")
    ap.add_argument("--phase", type=float, default=5,
                    help="start each run this many seconds into a minute (default 5; -1: at once), so "
                         "that a run of whole minutes holds as many minute closes as minutes")
    ap.add_argument("--pinvr", help="pinvr binary (default: cargo build --release)")
    ap.add_argument("--workdir", default=os.path.join(B.REPO, "target", "bench-recorders"))
    ap.add_argument("--keep", action="store_true", help="keep the recordings")
    ap.add_argument("--sub", action="store_true",
                    help="also run pinvr with each camera's 640x360 sub stream (sub_url): recorded, previews from it")
    ap.add_argument("--only", choices=("pinvr", "ffmpeg"), help="run one recorder (no ratio rows)")
    a = ap.parse_args()
    ns = [int(x) for x in a.cameras.split(",") if x]
    if not ns or min(ns) < 1:
        B.die("--cameras wants positive counts")
    if shutil.which("ss") is None:
        B.die("ss (iproute2) is needed to count the bytes each recorder received")
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    pinvr = B.pinvr_binary(a.pinvr, workdir)
    clip = B.make_clip(os.path.join(workdir, "clip-1080p20-3M-30s.mp4"))
    rate = B.clip_video_rate(clip)
    B.log(f"clip payload {rate * 8 / 1e6:.2f} Mbit/s; starting {max(ns)} fake camera(s)")
    mounts = None
    if a.sub:
        sub_clip = B.make_clip(os.path.join(workdir, "sub-360p20-500k-30s.mp4"), size="640x360",
                               bitrate="500k")
        mounts = [("/main", clip), ("/sub", sub_clip)]
    cams = B.Cameras(max(ns), clip, os.path.join(workdir, "logs"), mounts=mounts)
    runs = [("pinvr", False, "pinvr")] if a.only != "ffmpeg" else []
    if a.sub and a.only != "ffmpeg":
        runs.append(("pinvr", True, "pinvr+sub"))
    if a.only != "pinvr":
        runs.append(("ffmpeg", False, "ffmpeg"))
        if a.sub:
            runs.append(("ffmpeg", True, "ffmpeg+sub"))
    results = []
    try:
        for n in ns:
            for kind, sub, label in runs:
                r = run_recorder(kind, n, cams, pinvr, workdir, a.duration, sub, label,
                                 None if a.phase < 0 else a.phase)
                r["label"] = label
                results.append(r)
                if not a.keep:
                    shutil.rmtree(os.path.join(workdir, f"{label}-{n}", "data"), ignore_errors=True)
                time.sleep(2)
    finally:
        cams.stop()

    print(f"Machine: {B.machine()}")
    print(f"Command: bench/recorders.py --cameras {a.cameras} --duration {a.duration:g}"
          f"{' --sub' if a.sub else ''}{' --only ' + a.only if a.only else ''}")
    print(f"Clip: 1920x1080, 20 fps, 2 s GOP, H.264 payload {rate * 8 / 1e6:.2f} Mbit/s"
          f"{'; sub stream 640x360, 20 fps, 500 kbit/s' if a.sub else ''}\n")
    print("| cameras | recorder | CPU s per camera-hour | peak RSS, total | median RSS, total "
          "| disk bytes written per byte received | previews (JPEGs) | signatures |")
    print("|---|---|---|---|---|---|---|---|")
    by = {(r["n"], r["label"]): r for r in results}
    for n in ns:
        f = by.get((n, "ffmpeg"))
        for label in [lb for _, _, lb in runs]:
            r = by[(n, label)]
            print(f"| {n} | {label} | {r['cpu_per_cam_hour']:.1f} | {r['peak_rss'] / B.MiB:.1f} MiB "
                  f"| {r['median_rss'] / B.MiB:.1f} MiB | {r['disk_per_received']:.3f} "
                  f"| {r['jpgs'] if r['kind'] == 'pinvr' else '-'} | {r['sigs'] if r['kind'] == 'pinvr' else '-'} |")
        pairs = [(lb, "ffmpeg") for k, _, lb in runs if k == "pinvr"]
        pairs += [("pinvr+sub", "ffmpeg+sub")] if (n, "ffmpeg+sub") in by and (n, "pinvr+sub") in by else []
        for label, base in pairs if f else []:
            p, f = by[(n, label)], by[(n, base)]
            print(f"| {n} | **{label}/{base}** | **{p['cpu_per_cam_hour'] / f['cpu_per_cam_hour']:.2f}** "
                  f"| **{p['peak_rss'] / f['peak_rss']:.2f}** | **{p['median_rss'] / f['median_rss']:.2f}** "
                  f"| **{p['disk_per_received'] / f['disk_per_received']:.2f}** | | |")
    print()
    print("| cameras | recorder | recorded s | user s | sys s | CPU s per camera-hour with shutdown | received MB | clip rate x time MB "
          "| write() MB | disk MB | files kept MB | MP4s | video s per camera | shutdown s | RSS at the end | PSS, total: median / max sampled |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['n']} | {r['label']} | {r['wall']:.1f} | {r['user']:.2f} | {r['sys']:.2f} | {r['cpu_all_per_cam_hour']:.1f} "
              f"| {r['received'] / 1e6:.1f} | {rate * r['wall'] * r['n'] / 1e6:.1f} "
              f"| {r['wchar'] / 1e6:.1f} | {r['disk'] / 1e6:.1f} | {r['kept'] / 1e6:.1f} "
              f"| {r['mp4s']} | {r['video_s_per_cam']:.1f} | {r['shutdown']:.1f} "
              f"| {r['last_rss'] / B.MiB:.1f} MiB | {r['median_pss'] / B.MiB:.1f} / {r['max_pss'] / B.MiB:.1f} MiB |")


if __name__ == "__main__":
    main()
