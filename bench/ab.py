#!/usr/bin/env python3
"""Two pinvr builds side by side: both record the same fake cameras at the same time.

Usage: bench/ab.py --a PATH --b PATH [--cameras 16] [--sub] [--duration 120] [--rounds 3]
                   [--workdir DIR]

A side may also be `ffmpeg` or `ffmpeg+sub`: the seed's recorders as bench/recorders.py runs
them (one `ffmpeg -c copy -f segment` per camera; with +sub a second for its sub stream),
so pinvr and ffmpeg are measured at the same time too (--sub applies to pinvr builds).

Run one after the other, two recordings on this VM differ by up to a fifth in CPU with the
same binary (BENCHMARKS.md, stop 27), so a change of a tenth cannot be told from a pair of
runs. Run together, both builds see the same load, steal and clock: each round starts A and B
at once (in alternating order) on the same N cameras (each camera serves each client its own
copy of the clip), records for --duration seconds from 5 s into a minute, and reads each
process's utime + stime from /proc/<pid>/stat just before SIGTERM (as bench/recorders.py
does). It prints each round's CPU s per camera-hour for A and B and B/A, then the median
and the range of B/A; likewise for the disk bytes each wrote per byte it received
(/proc/<pid>/io write_bytes - cancelled_write_bytes of the exited process, over tcp_info
bytes_received of its sockets sampled every 5 s and, from SIGTERM until it has exited,
every 50 ms, as bench/recorders.py counts them). The two recorders share the machine, so the figures are not the
cost of one recorder alone: use bench/recorders.py for that.
"""

import argparse
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402
from recorders import start_ffmpegs, wait_for_phase  # noqa: E402


def start(path, out, urls, sub):
    """Starts one side: a pinvr build (with `sub`, each camera's sub stream too), or, for
    `path` "ffmpeg" or "ffmpeg+sub", the seed's ffmpeg recorders. Returns its processes."""
    if path in ("ffmpeg", "ffmpeg+sub"):
        return start_ffmpegs(out, urls, path == "ffmpeg+sub")
    return [B.start_recording(out, path, urls, sub)[0]]


def round_(k, n, cams, builds, workdir, duration, sub):
    """One round: every build in `builds` ([(label, path)]) records at once; returns
    ({label: CPU s per camera-hour}, {label: disk bytes written per byte received})."""
    order = builds if k % 2 == 0 else builds[::-1]
    wait_for_phase(5)
    procs, received, ends = {}, {}, {}
    try:
        for label, path in order:
            out = os.path.join(workdir, f"{label}-{k}")
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            procs[label] = start(path, out, cams.urls[:n], sub)
        received = {label: {} for label in procs}
        t0 = time.monotonic()
        next_net = t0 + 5
        while time.monotonic() < t0 + duration:
            for label, ps in procs.items():
                for p in ps:
                    if p.poll() is not None:
                        raise RuntimeError(f"{label} exited early ({p.returncode}); see {workdir}/{label}-{k}")
            if time.monotonic() >= next_net:
                for label, ps in procs.items():
                    received[label].update(B.tcp_received([p.pid for p in ps]))
                next_net += 5
            time.sleep(min(1.0, max(0.0, t0 + duration - time.monotonic())))
        for label, ps in procs.items():
            received[label].update(B.tcp_received([p.pid for p in ps]))
        wall = time.monotonic() - t0
        cpu = {label: sum(sum(B.proc_stat(p.pid)) for p in ps) / (n * wall) * 3600
               for label, ps in procs.items()}
        for ps in procs.values():
            for p in ps:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60 + 5 * n
        labels = list(procs)
        got = B.reap_counting([(procs[label], received[label]) for label in labels], deadline)
        for label in labels:
            ends[label], got = got[:len(procs[label])], got[len(procs[label]):]
    finally:
        B.stop_all([p for ps in procs.values() for p in ps if p.returncode is None])
    for label, _ in builds:
        shutil.rmtree(os.path.join(workdir, f"{label}-{k}", "data"), ignore_errors=True)
    if any(e is None for es in ends.values() for e in es):
        raise RuntimeError(f"a recorder did not exit within the deadline after SIGTERM; see {workdir}")
    written = {}
    for label, es in ends.items():
        got = sum(received[label].values())
        io = {key: sum(e["io"][key] for e in es) for key in ("write_bytes", "cancelled_write_bytes", "wchar")}
        disk = io["write_bytes"] - io["cancelled_write_bytes"]
        written[label] = disk / got if got else float("nan")
        B.log(f"  {label}: received {got / 1e6:.2f} MB on {len(received[label])} sockets, "
              f"write() {io['wchar'] / 1e6:.2f} MB, disk {disk / 1e6:.2f} MB "
              f"(cancelled {io['cancelled_write_bytes'] / 1e6:.2f} MB)")
    return cpu, written


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, help="the first pinvr binary, or ffmpeg or ffmpeg+sub")
    ap.add_argument("--b", required=True, help="the second pinvr binary, or ffmpeg or ffmpeg+sub")
    ap.add_argument("--cameras", type=int, default=16)
    ap.add_argument("--sub", action="store_true", help="each camera with its 640x360 sub stream")
    ap.add_argument("--duration", type=float, default=120)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", default=os.path.join(B.REPO, "target", "bench-ab"))
    a = ap.parse_args()
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    builds = [(label, p if p in ("ffmpeg", "ffmpeg+sub") else os.path.abspath(p))
              for label, p in (("A", a.a), ("B", a.b))]
    clip = B.make_clip(os.path.join(workdir, "clip-1080p20-3M-30s.mp4"))
    mounts = None
    if a.sub:
        sub_clip = B.make_clip(os.path.join(workdir, "sub-360p20-500k-30s.mp4"), size="640x360",
                               bitrate="500k")
        mounts = [("/main", clip), ("/sub", sub_clip)]
    cams = B.Cameras(a.cameras, clip, os.path.join(workdir, "logs"), mounts=mounts)
    rows = []
    try:
        for k in range(a.rounds):
            cpu, written = round_(k, a.cameras, cams, builds, workdir, a.duration, a.sub)
            rows.append((cpu, written))
            B.log(f"round {k + 1}: A {cpu['A']:.2f}, B {cpu['B']:.2f} CPU s per camera-hour, B/A {cpu['B'] / cpu['A']:.3f}; "
                  f"written per byte received A {written['A']:.4f}, B {written['B']:.4f}")
    finally:
        cams.stop()
    ratios = sorted(c["B"] / c["A"] for c, _ in rows)
    w_ratios = sorted(w["B"] / w["A"] for _, w in rows)
    print(f"Machine: {B.machine()}")
    print(f"Command: bench/ab.py --cameras {a.cameras}{' --sub' if a.sub else ''} --duration {a.duration:g} --rounds {a.rounds}")
    print(f"A: {builds[0][1]}\nB: {builds[1][1]}\n")
    print("| round | A: CPU s per camera-hour | B | B/A | A: disk bytes written per byte received | B | B/A |")
    print("|---|---|---|---|---|---|---|")
    for k, (c, w) in enumerate(rows):
        print(f"| {k + 1} | {c['A']:.2f} | {c['B']:.2f} | {c['B'] / c['A']:.3f} "
              f"| {w['A']:.4f} | {w['B']:.4f} | {w['B'] / w['A']:.4f} |")
    print(f"\nCPU B/A: median {B.median(ratios):.3f}, fewest {ratios[0]:.3f}, most {ratios[-1]:.3f}")
    print(f"Written B/A: median {B.median(w_ratios):.4f}, fewest {w_ratios[0]:.4f}, most {w_ratios[-1]:.4f}")


if __name__ == "__main__":
    main()
