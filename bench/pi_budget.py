#!/usr/bin/env python3
"""How many cameras a Raspberry Pi 3 carries: pinvr's aarch64 instructions per camera-hour,
counted under qemu-aarch64, converted with a stated clock and IPC for a Cortex-A53.

Usage: bench/pi_budget.py [--cameras 4] [--duration 125] [--pinvr PATH] [--aarch64 PATH]
                          [--ipc 0.7] [--workdir DIR]

What it runs, on the same fake cameras (tests/fake_camera.py: /main 1920x1080, 20 fps,
3 Mbit/s, 2 s GOP; /sub 640x360, 20 fps, 500 kbit/s):
  1. `pinvr remux` of one 60 s minute of each stream, with and without the preview
     (`--no-preview`), under qemu-aarch64: the instructions of one minute close.
  2. `pinvr run` recording --cameras cameras for --duration seconds (two minute closes
     or more), main streams only and then with sub_url, each twice: natively on this
     machine (user and sys seconds from /proc/<pid>/stat, bytes received from tcp_info,
     disk bytes from /proc/<pid>/io), and under qemu-aarch64 with bench/qemu_insn.c, a
     plugin counting each guest thread's instructions; the threads are named by pinvr
     (cam-<id>, finisher, web, ...) and their names read from /proc/<qemu>/task/*/comm.
How the figures are converted, all stated in the output:
  - Per camera-hour: the camera threads' and other threads' instructions over the run, plus
    60 minute closes at the count of step 1 (main with preview; with sub streams, the main
    without and the sub with one): a run's own closes, the last at SIGTERM, would
    overweight them.
  - Pi user seconds = aarch64 instructions / (IPC x 1.2 GHz).
  - The kernel's share (TCP receive, page cache, file system) is not counted by qemu-user.
    It is estimated from this machine's sys seconds in the native run (per thread, from
    /proc/<pid>/task/*/stat: the camera and other threads per camera-hour, the finisher's
    per minute closed, times 60), times the ratio of the Pi's user seconds to this
    machine's for the camera threads: the kernel is taken to slow down on the A53 as much
    as pinvr's own recording code does.
  - Cameras at 50% of one core = 1800 s / Pi CPU s per camera-hour.
  - The USB 2.0 bus (Ethernet, and a USB disk if recordings go to one; the SD card is on
    its own controller) carries each camera's received bytes plus 5.4% of Ethernet and
    IP framing (78 bytes per 1448-byte TCP segment), plus the disk writes for a USB disk.
    Cameras at 60% of a 30 MB/s bus (the middle of the 25-35 MB/s seen in practice).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

CLOCK_HZ = 1.2e9
BUS_BYTES_S = 30e6
FRAMING = 1 + 78 / 1448
QEMU_ENV = {"QEMU_LD_PREFIX": "/usr/aarch64-linux-gnu"}


def thread_class(name):
    """Groups pinvr's thread names: camera threads, the finisher, the rest."""
    if name.startswith("cam-"):
        return "camera threads (recording)"
    if name == "finisher":
        return "finisher (minute closes: MP4, preview, signature)"
    return "everything else (web, syncer, reaper, main)"


def count_run(cmd, out_file, env=None, timeout=600):
    """Runs cmd (a qemu-aarch64 command with the plugin writing out_file) to completion and
    returns {tid: instructions}, total."""
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=timeout, env={**os.environ, **QEMU_ENV, **(env or {})})
    return read_counts(out_file)


def read_counts(path):
    per, total = {}, 0
    with open(path) as f:
        for line in f:
            k, v = line.split()
            if k == "total":
                total = int(v)
            else:
                per[int(k)] = int(v)
    return per, total


def record(label, n, cams, cmd_prefix, binary, workdir, duration, sub, counts_file=None):
    """pinvr run recording n cameras for duration seconds; returns its figures."""
    out = os.path.join(workdir, label)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    proc, port, auth = B.start_recording(out, binary, cams.urls[:n], sub, cmd_prefix,
                                         {**os.environ, **QEMU_ENV})
    t0 = time.monotonic()
    B.log(f"{label}: recording {n} camera(s) for {duration:.0f} s")
    names, received = {}, {}
    try:
        B.wait_http(port, "/api/1/system.json", t0 + 120, proc, headers=auth)
        while time.monotonic() < t0 + duration:
            if proc.poll() is not None:
                raise RuntimeError(f"{label}: pinvr exited early; see {out}")
            for tid in os.listdir(f"/proc/{proc.pid}/task"):
                try:
                    with open(f"/proc/{proc.pid}/task/{tid}/comm") as f:
                        names[int(tid)] = f.read().strip()
                except OSError:
                    pass
            received.update(B.tcp_received([proc.pid]))
            time.sleep(1)
        received.update(B.tcp_received([proc.pid]))
        wall = time.monotonic() - t0
        user, system = B.proc_stat(proc.pid)[:2]
        threads = {}
        for tid in os.listdir(f"/proc/{proc.pid}/task"):
            try:
                with open(f"/proc/{proc.pid}/task/{tid}/comm") as f:
                    name = f.read().strip()
                with open(f"/proc/{proc.pid}/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            k = thread_class(name)
            u, st = threads.get(k, (0.0, 0.0))
            threads[k] = (u + int(fields[11]) / B.TICKS, st + int(fields[12]) / B.TICKS)
        proc.send_signal(signal.SIGTERM)
        end = B.reap(proc, time.monotonic() + 300)
    finally:
        B.stop_all([proc] if proc.returncode is None else [])
    if end is None:
        raise RuntimeError(f"{label}: pinvr did not exit after SIGTERM; see {out}")
    mp4s = sum(1 for _, _, fs in os.walk(os.path.join(out, "data")) for f in fs if f.endswith(".mp4"))
    res = {"label": label, "n": n, "wall": wall, "user": user, "sys": system, "threads": threads,
           "mp4s": mp4s,
           "received": sum(received.values()),
           "disk": end["io"]["write_bytes"] - end["io"]["cancelled_write_bytes"]}
    if counts_file:
        per, total = read_counts(counts_file)
        classes = {}
        for tid, c in per.items():
            k = thread_class(names.get(tid, "?"))
            classes[k] = classes.get(k, 0) + c
        res["insns"] = total
        res["classes"] = classes
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--duration", type=float, default=125)
    ap.add_argument("--pinvr", help="native pinvr binary (default: cargo build --release)")
    ap.add_argument("--aarch64", default=os.path.join(
        B.REPO, "target", "cross", "aarch64-unknown-linux-gnu", "release", "pinvr"),
        help="aarch64 pinvr binary (scripts/cross builds it)")
    ap.add_argument("--ipc", type=float, default=0.7, help="Cortex-A53 instructions per cycle")
    ap.add_argument("--workdir", default=os.path.join(B.REPO, "target", "bench-pi"))
    a = ap.parse_args()
    for tool in ("qemu-aarch64", "cc", "ss"):
        if shutil.which(tool) is None:
            B.die(f"{tool} is needed")
    if not os.path.exists(a.aarch64):
        B.die(f"no aarch64 binary at {a.aarch64} (scripts/cross builds it)")
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    native = B.pinvr_binary(a.pinvr, workdir)
    arm = B.pinvr_binary(a.aarch64, workdir, "pinvr-aarch64")
    plugin = os.path.join(workdir, "qemu_insn.so")
    subprocess.run(["cc", "-O2", "-Wall", "-shared", "-fPIC", "-o", plugin,
                    os.path.join(B.REPO, "bench", "qemu_insn.c")], check=True)
    counts = os.path.join(workdir, "insns.txt")
    qemu = ["qemu-aarch64", "-plugin", f"{plugin},out={counts}"]

    main_clip = B.make_clip(os.path.join(workdir, "clip-1080p20-3M-30s.mp4"))
    sub_clip = B.make_clip(os.path.join(workdir, "sub-360p20-500k-30s.mp4"), size="640x360",
                           bitrate="500k")

    # 1. One minute close of each stream.
    closes = {}
    for name, clip, size in (("main", main_clip, "1920x1080"), ("sub", sub_clip, "640x360")):
        mp4 = os.path.join(workdir, f"{name}-60s.mp4")
        if not os.path.exists(mp4):
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "1", "-i", clip,
                            "-t", "60", "-c", "copy", mp4], check=True)
        chunk = os.path.join(workdir, f"{name}.20261123.1400.chunk")
        subprocess.run([native, "mp4-to-chunk", "--start-us", "1795442400000000", chunk, mp4],
                       check=True, capture_output=True)
        for preview in (False, True):
            args = [arm, "remux"] + ([] if preview else ["--no-preview"])
            _, total = count_run(qemu + args + [chunk, os.path.join(workdir, f"{name}-out.mp4")], counts)
            closes[(name, preview)] = total
            B.log(f"minute close of the {size} {name}, preview {preview}: {total / 1e6:.1f} M instructions")

    # 2. Recording.
    cams = B.Cameras(a.cameras, main_clip, os.path.join(workdir, "logs"),
                     mounts=[("/main", main_clip), ("/sub", sub_clip)])
    runs = []
    try:
        for sub in (False, True):
            tag = "with-sub" if sub else "main-only"
            nat = record(f"native-{tag}", a.cameras, cams, [], native, workdir, a.duration, sub)
            emu = record(f"aarch64-{tag}", a.cameras, cams, qemu, arm, workdir, a.duration, sub, counts)
            runs.append((tag, nat, emu))
            time.sleep(2)
    finally:
        cams.stop()

    n = a.cameras
    rate = a.ipc * CLOCK_HZ
    cam_k, fin_k = thread_class("cam-"), thread_class("finisher")
    print(f"Machine: {B.machine()}")
    print(f"Command: bench/pi_budget.py --cameras {n} --duration {a.duration:g} --ipc {a.ipc:g}"
          f" (work folder {workdir})")
    print(f"Cortex-A53 at 1.2 GHz, IPC {a.ipc:g}: {rate / 1e9:.2f} G instructions per second\n")
    print("| one minute close, aarch64 | M instructions | Pi ms at the stated IPC |")
    print("|---|---|---|")
    for (name, preview), total in closes.items():
        what = f"{'1920x1080 main' if name == 'main' else '640x360 sub'}, " + \
            ("MP4 + preview JPEG + thumbnail + signature" if preview else "MP4 only")
        print(f"| {what} | {total / 1e6:.1f} | {total / rate * 1e3:.0f} |")
    print()
    print("Per camera-hour. Recording (camera threads) and the other threads are counted over "
          "the run; the minute closes are 60 times one close's count above (a short run's "
          "closes, the last at SIGTERM, would overweight them).\n")
    print("| per camera-hour | main only | with sub streams |")
    print("|---|---|---|")
    rows = {}
    for tag, nat, emu in runs:
        hours = n * emu["wall"] / 3600
        nat_hours = n * nat["wall"] / 3600
        rec = emu["classes"].get(cam_k, 0) / hours
        rest = sum(v for k, v in emu["classes"].items() if k not in (cam_k, fin_k)) / hours
        close = closes[("main", False)] + closes[("sub", True)] if tag == "with-sub" else closes[("main", True)]
        fin = 60 * close
        insns = rec + rest + fin
        pi_user = insns / rate
        x86_cam_user, x86_cam_sys = (v / nat_hours for v in nat["threads"].get(cam_k, (0, 0)))
        ratio = (rec / rate) / x86_cam_user if x86_cam_user else float("nan")
        x86_sys_rest = sum(st for k, (_, st) in nat["threads"].items() if k != fin_k) / nat_hours
        x86_fin_sys_per_close = nat["threads"].get(fin_k, (0, 0))[1] / max(nat["mp4s"], 1)
        streams = 2 if tag == "with-sub" else 1
        pi_sys = (x86_sys_rest + 60 * streams * x86_fin_sys_per_close) * ratio
        pi = pi_user + pi_sys
        net = nat["received"] / nat_hours * FRAMING
        disk = nat["disk"] / nat_hours
        rows[tag] = {
            "aarch64 G instructions: camera threads (recording)": rec / 1e9,
            "aarch64 G instructions: minute closes (60 x one close)": fin / 1e9,
            "aarch64 G instructions: other threads (web, syncer, reaper, main)": rest / 1e9,
            "Pi user s (instructions / rate)": pi_user,
            "this machine, camera threads: user s / sys s": (x86_cam_user, x86_cam_sys),
            "Pi / this machine, camera threads' user time": ratio,
            "Pi kernel s (this machine's sys s x that ratio)": pi_sys,
            "**Pi CPU s per camera-hour**": pi,
            "**cameras at 50% of one core**": 1800 / pi,
            "USB bus MB per camera-hour, Ethernet only (data on the SD card)": net / 1e6,
            "USB bus MB per camera-hour, Ethernet + USB disk writes": (net + disk) / 1e6,
            "**cameras at 60% of the bus, data on the SD card**": 0.6 * BUS_BYTES_S * 3600 / net,
            "**cameras at 60% of the bus, data on a USB disk**": 0.6 * BUS_BYTES_S * 3600 / (net + disk),
        }
    for key in rows["main-only"]:
        cells = []
        for tag in ("main-only", "with-sub"):
            v = rows[tag].get(key)
            if isinstance(v, tuple):
                cells.append(f"{v[0]:.2f} / {v[1]:.2f}")
            else:
                cells.append(f"{v:.1f}" if v >= 10 else f"{v:.2f}")
        print(f"| {key} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
