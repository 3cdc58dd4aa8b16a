#!/usr/bin/env python3
"""Web load: requests per second and p99 latency of pinvr's web server under wrk, while it
records 4 cameras, and whether every recorded minute stays complete.

Usage: bench/web_load.py [--duration 20] [--connections 100,1000] [--threads 2]
                         [--nofile 4096] [--pinvr PATH] [--old PATH] [--workdir DIR]

Measures one or two servers side by side: `--pinvr` (default: a release build of this
tree) and, with `--old`, another build to compare, such as the last tiny_http one
(4b574c3). Both run at once, each recording the same 4 cameras c0..c3 (tests/fake_camera.py
looping a 1920x1080, 20 fps, 3 Mbit/s clip with a 2 s GOP, pre-encoded once), and the load
alternates between them run by run (ABBA), so the machine's other work weighs on both
alike. Each pinvr runs with its open-file limit (soft and hard) at --nofile, a disabled
camera fx with 10 fixture minutes (2026-11-01 10:00-10:09, made once with
`pinvr mp4-to-chunk` and `pinvr remux`), an admin password and an API token
(pinvr.tokens.json beside the config; a build without tokens ignores the header).

Once every camera records on both, wrk (Debian's; `-t THREADS --timeout 10s`, its own
open-file limit raised for the connections) runs --duration seconds against each endpoint
at each connection count, keep-alive, with `Authorization: Bearer <token>`:
  system.json  GET /api/1/system.json (small JSON, 200)
  jpeg         GET /api/1/camera/fx.preview.20261101.1000.jpg: a 1920x1080 JPEG of about
               1 MiB placed at that minute's preview path (200)
  range        GET /api/1/camera/fx.range.20261101.1000.to.20261101.1009.mp4 with
               `Range: bytes=104857600-105906175`: 1 MiB from the middle of a 10-minute
               range MP4 (about 220 MB), as a player seeking asks for it (206)
A Lua script in wrk counts the answers by status and reports wrk's summary: requests,
socket errors (connect, read, write), timeouts, and latency percentiles over all answers
(refusals included). requests/s counts the expected answers only. Beside each run a
thread opens a fresh connection every 0.25 s for system.json (10 s deadline): what a new
visitor gets meanwhile; after the run one more such request shows whether the server still
answers. CPU (utime+stime) of the pinvr under load, of wrk (rusage of the reaped child) and
of everything else (the machine's busy time in /proc/stat less those two), and pinvr's
VmRSS and thread count after each run are recorded.

After the load it waits until every camera has at least one full minute on both (a minute
that began and ended while pinvr ran; the load, 12 runs of 20 s, is long enough to hold
one), checks system.json says all 4 cameras record, stops each pinvr (SIGTERM) and counts
the frames of every full minute with `ffprobe -count_frames`: complete means fps x 60 =
1200 within one GOP (40 frames), and no minute is missing between the first and the last.
wrk runs on the same 2 cores as pinvr and takes CPU from it. Prints a Markdown table per
server (progress on stderr). About 6 minutes for two servers at the defaults (the first
run adds about half a minute for the clip and the fixture minutes).
"""

import argparse
import calendar
import json
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

CAMERAS = 4
FPS, GOP = 20, 40
FX, DAY, HOUR, MINUTES = "fx", "20261101", 10, 10
JPEG_PATH = f"/api/1/camera/{FX}.preview.{DAY}.{HOUR:02d}00.jpg"
RANGE_PATH = f"/api/1/camera/{FX}.range.{DAY}.{HOUR:02d}00.to.{DAY}.{HOUR:02d}{MINUTES - 1:02d}.mp4"
RANGE_BYTES = (100 << 20, (101 << 20) - 1)
ENDPOINTS = [
    ("system.json", "/api/1/system.json", {}, 200),
    ("jpeg", JPEG_PATH, {}, 200),
    ("range", RANGE_PATH, {"Range": f"bytes={RANGE_BYTES[0]}-{RANGE_BYTES[1]}"}, 206),
]

# wrk: count answers by status in each thread; at the end one JSON line with the summary.
WRK_LUA = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) codes = {} end
function response(status, headers, body) codes[status] = (codes[status] or 0) + 1 end
function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("codes")) do all[tostring(k)] = (all[tostring(k)] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(all) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"codes":{%s}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, table.concat(parts, ",")))
end
"""


def minute_name(cam, day, hh, mm):
    return f"{cam}.{day}.{hh:02d}{mm:02d}"


def make_fixtures(pinvr, clip, root):
    """MINUTES real minute files of FX (the first with the ~1 MiB JPEG as its preview)."""
    d = os.path.join(root, FX, DAY)
    marker = os.path.join(root, ".complete")
    if os.path.exists(marker):
        return
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(d)
    B.log(f"remuxing {MINUTES} fixture minutes into {d}")
    chunk = os.path.join(root, "tmp.chunk")
    y, mo, da = int(DAY[:4]), int(DAY[4:6]), int(DAY[6:])
    for mm in range(MINUTES):
        start_us = calendar.timegm((y, mo, da, HOUR, mm, 0)) * 1_000_000
        out = os.path.join(d, minute_name(FX, DAY, HOUR, mm) + ".mp4")
        subprocess.run([pinvr, "mp4-to-chunk", "--start-us", str(start_us), chunk, clip],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([pinvr, "remux"] + (["--no-preview"] if mm else []) + [chunk, out],
                       check=True, stdout=subprocess.DEVNULL)
        os.remove(chunk)
    # A camera-sized still with sensor-like noise, so it weighs what a 1080p preview of a
    # busy scene does: 1920x1080, about 1 MiB (deterministic: the noise filter's seed is fixed).
    jpg = os.path.join(d, minute_name(FX, DAY, HOUR, 0) + ".jpg")
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=1920x1080:rate=1", "-frames:v", "1", "-vf", "noise=alls=16",
                    "-q:v", "2", jpg + ".tmp.jpg"], check=True)
    os.rename(jpg + ".tmp.jpg", jpg)
    open(marker, "w").close()


def set_nofile(n):
    """preexec_fn: the child's open-file limit, soft and hard, at n."""
    def f():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return f


def wrk_nofile(connections):
    """An open-file limit for wrk: room for the connections, within what we may set."""
    want = max(4096, connections + 256)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if os.geteuid() != 0 and hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    return want


def proc_status(pid, key):
    """An integer field of /proc/<pid>/status (0 if gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    try:
        u, s, _, _ = B.proc_stat(pid)
        return u + s
    except OSError:
        return float("nan")


def supports_listen(pinvr):
    """True if `pinvr run` takes --listen (and then prints the address it bound)."""
    out = subprocess.run([pinvr, "help"], capture_output=True, text=True)
    return any(line.strip().startswith("run ") and "--listen" in line
               for line in (out.stdout + out.stderr).splitlines())


def start_pinvr(pinvr, out, cams, fixtures, nofile):
    """Starts `pinvr run` in the folder `out`; returns (process, port, auth headers)."""
    use_listen = supports_listen(pinvr)
    port = 0 if use_listen else B.free_port()
    cfg = os.path.join(out, "pinvr.json")
    cameras = [(f"c{i}", u) for i, u in enumerate(cams.urls)]
    cameras.append({"id": FX, "url": "rtsp://127.0.0.1:9/stream", "enabled": False,
                    "dir": os.path.join(fixtures, FX)})
    B.write_config(cfg, os.path.join(out, "data"), port, cameras,
                   web={"admin_password": "bench-" + secrets.token_hex(8)})
    auth = B.write_token(cfg)
    stdout = open(os.path.join(out, "pinvr.out"), "wb")
    err = open(os.path.join(out, "pinvr.log"), "wb")
    cmd = [pinvr, "run", "--config", cfg] + (["--listen", "127.0.0.1:0"] if use_listen else [])
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err,
                            preexec_fn=set_nofile(nofile))
    stdout.close()
    err.close()
    if use_listen:
        deadline = time.monotonic() + 30
        while port == 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                B.stop_all([proc])
                raise RuntimeError(f"pinvr did not say where it listens; see {out}")
            with open(os.path.join(out, "pinvr.out")) as f:
                m = re.search(r"listening on http://[^/\s]*:(\d+)/", f.read())
            if m:
                port = int(m.group(1))
            else:
                time.sleep(0.05)
    return proc, port, auth


def recording(port, auth):
    r = B.http_get(port, "/api/1/system.json", timeout=5, headers=auth)
    if r["status"] != 200:
        return -1
    return sum(1 for c in json.loads(r["body"])["payload"]["cameras"].values() if c["recording"])


def full_minutes_each(data):
    """Finished MP4s of each recording camera so far, sorted."""
    out = {}
    for i in range(CAMERAS):
        out[f"c{i}"] = sorted(
            os.path.join(root, f) for root, _, files in os.walk(os.path.join(data, f"c{i}"))
            for f in files if f.endswith(".mp4"))
    return out


def run_wrk(port, name, path, headers, connections, threads, duration, auth, lua):
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
           "--timeout", "10s", "-s", lua]
    for k, v in {**auth, **headers}.items():
        cmd += ["-H", f"{k}: {v}"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60,
                       preexec_fn=set_nofile(wrk_nofile(connections)))
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        # wrk gives up at once when it cannot connect at all (the listener is gone).
        msg = " ".join((r.stdout + " " + r.stderr).split()) or f"exit {r.returncode}"
        return {"failed": msg, "requests": 0, "duration_us": duration * 1e6, "bytes": 0,
                "connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0, "p50_us": 0,
                "p90_us": 0, "p99_us": 0, "max_us": 0, "codes": {}, "stderr": ""}
    w = json.loads(line[len("WRKJSON "):])
    w["failed"] = None
    w["stderr"] = r.stderr.strip()
    return w


def still_answers(port, auth, timeout=5):
    """(status or error, seconds) of a fresh system.json request with a deadline."""
    t0 = time.monotonic()
    try:
        r = B.http_get(port, "/api/1/system.json", timeout=timeout, headers=auth)
        return r["status"], time.monotonic() - t0
    except (OSError, RuntimeError) as e:
        return str(e) or type(e).__name__, time.monotonic() - t0


class Server:
    """One pinvr under test: its process, port, token and results."""

    def __init__(self, key, label, binary, out, cams, fixtures, nofile):
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        self.key, self.label, self.out = key, label, out
        self.proc, self.port, self.auth = start_pinvr(binary, out, cams, fixtures, nofile)
        self.runs, self.sizes = [], {}

    def ready(self):
        """Waits until all cameras record and each endpoint gives what it should."""
        B.wait_http(self.port, "/api/1/system.json", time.monotonic() + 60, self.proc,
                    headers=self.auth)
        deadline = time.monotonic() + 60
        while recording(self.port, self.auth) != CAMERAS:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{self.key}: not all {CAMERAS} cameras record; see {self.out}")
            time.sleep(0.5)
        for name, path, headers, want in ENDPOINTS:
            r = B.http_get(self.port, path, timeout=10, sink=True, headers={**self.auth, **headers})
            if r["status"] != want:
                raise RuntimeError(f"{self.key}: GET {path} {headers}: {r['status']}, not {want}")
            self.sizes[name] = r["nbytes"]
        self.rss0 = B.vm_rss(self.proc.pid)
        B.log(f"{self.label} (pid {self.proc.pid}, port {self.port}): {CAMERAS} cameras record; "
              f"body sizes {self.sizes}")

    def load(self, name, path, headers, want, conns, a, lua):
        """One wrk run, with fresh-connection probes beside it and the CPU of everything."""
        pid = self.proc.pid
        probes = Probes(self.port, self.auth)
        c0, m0, w0, t0 = cpu_s(pid), machine_busy(), children_cpu(), time.monotonic()
        probes.start()
        try:
            w = run_wrk(self.port, name, path, headers, conns, a.threads, a.duration, self.auth, lua)
        finally:
            probes.stop()
        wall = time.monotonic() - t0
        w["cpu"] = (cpu_s(pid) - c0) / wall
        w["wrk_cpu"] = (children_cpu() - w0) / wall
        w["other_cpu"] = (machine_busy() - m0) / wall - w["cpu"] - w["wrk_cpu"]
        w["rss"] = B.vm_rss(pid)
        w["threads"] = proc_status(pid, "Threads")
        w["probes"] = probes.results
        w["after"] = still_answers(self.port, self.auth)
        w.update(name=name, conns=conns, want=want)
        self.runs.append(w)
        good = w["codes"].get(str(want), 0)
        if w["failed"]:
            B.log(f"{self.key} {name} x{conns}: wrk: {w['failed']}")
        B.log(f"{self.key} {name} x{conns}: {good / (w['duration_us'] / 1e6):.0f} good/s, "
              f"p99 {w['p99_us'] / 1e3:.1f} ms, codes {w['codes']}, errors c{w['connect']} "
              f"r{w['read']} w{w['write']} t{w['timeout']}; probes {probe_summary(w['probes'])}; "
              f"then system.json {w['after'][0]} in {w['after'][1]:.2f} s; cpu pinvr "
              f"{w['cpu'] * 100:.0f}% wrk {w['wrk_cpu'] * 100:.0f}% other {w['other_cpu'] * 100:.0f}%, "
              f"rss {w['rss'] / B.MiB:.1f} MiB, {w['threads']} threads")

    def finish(self, load_start, load_end):
        """Stops pinvr (SIGTERM) and checks what it recorded."""
        try:
            self.recording_end = recording(self.port, self.auth)
        except (OSError, RuntimeError) as e:
            self.recording_end = f"unknown (system.json: {e})"
        self.hwm = proc_status(self.proc.pid, "VmHWM") * 1024
        self.proc.send_signal(signal.SIGTERM)
        end = B.reap(self.proc, time.monotonic() + 60)
        self.exit = "killed: no exit within 60 s of SIGTERM" if end is None else end["exit"]
        with open(os.path.join(self.out, "pinvr.log"), errors="replace") as f:
            lines = f.read().splitlines()
        self.log_warn = [ln for ln in lines if re.search(r"\[(WARN|ERROR)\]|panicked", ln)]
        self.minutes = check_minutes(self.key, os.path.join(self.out, "data"), load_start, load_end)


class Probes:
    """A new visitor during a run: a fresh connection asking for system.json every 0.25 s
    (10 s deadline each), in a thread. results: (status or error, seconds) per probe."""

    def __init__(self, port, auth):
        self.port, self.auth, self.results = port, auth, []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.done.wait(0.25):
            self.results.append(still_answers(self.port, self.auth, timeout=10))

    def start(self):
        self.thread.start()

    def stop(self):
        self.done.set()
        self.thread.join(timeout=15)


def probe_summary(probes):
    ok = sorted(dt for st, dt in probes if st == 200)
    other = {}
    for st, _ in probes:
        if st != 200:
            k = str(st) if isinstance(st, int) else f"failed ({st.split('] ')[-1][:40]})"
            other[k] = other.get(k, 0) + 1
    s = f"{len(ok)}/{len(probes)} x 200"
    if ok:
        s += f" (median {fmt_ms(B.median(ok) * 1e6)}, max {fmt_ms(ok[-1] * 1e6)})"
    for k, v in sorted(other.items()):
        s += f", {v} x {k}"
    return s


def machine_busy():
    """CPU seconds the whole machine spent busy so far (all of /proc/stat but idle, iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / B.TICKS


def children_cpu():
    """user+sys CPU seconds of this script's reaped children (wrk)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def check_minutes(key, data, load_start, load_end):
    """Per camera: full minutes, complete ones, ones entirely inside the load, missing ones,
    frame counts."""
    out = {}
    for cam, files in full_minutes_each(data).items():
        # The first minute began when pinvr started, the last ended at SIGTERM.
        full = files[1:-1]
        counts, under = [], 0
        for f in full:
            counts.append(B.count_frames(f))
            m = re.search(r"\.(\d{8})\.(\d{4})\.mp4$", f)
            t = calendar.timegm(time.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M"))
            if t >= load_start and t + 60 + GOP / FPS <= load_end:
                under += 1
        names = [re.search(r"\.(\d{8}\.\d{4})\.mp4$", f).group(1) for f in files]
        stamps = [calendar.timegm(time.strptime(n, "%Y%m%d.%H%M")) for n in names]
        gaps = sum((y - x) // 60 - 1 for x, y in zip(stamps, stamps[1:]))
        ok = sum(1 for n in counts if n is not None and abs(n - FPS * 60) <= GOP)
        out[cam] = {"full": len(full), "complete": ok, "under_load": under, "gaps": gaps,
                    "counts": counts, "all": len(files)}
        B.log(f"{key} {cam}: {len(files)} minutes {names[0]}..{names[-1]}, frames of the full "
              f"ones {counts}, missing {gaps}")
    return out


def describe(path):
    """Names a binary: its path, and the commit checked out in the tree it was built in."""
    if path is None:
        path = os.path.join(B.REPO, "target", "release", "pinvr")
    r = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(path)), "log", "-1",
                        "--format=%h"], capture_output=True, text=True)
    tree = f", tree at {r.stdout.strip()}" if r.returncode == 0 and r.stdout.strip() else ""
    return f"{path}{tree}"


def fmt_ms(us):
    return f"{us / 1e3:.1f} ms" if us < 1e6 else f"{us / 1e6:.2f} s"


def report(servers, a, note, load, idle):
    print(f"Machine: {B.machine()}; wrk on the same machine (-t {a.threads}); load average "
          f"{load[0]} before, {load[1]} after; busy {idle * 100:.0f}% of a core before the "
          "load (the cameras, both pinvrs recording, other work on the machine).")
    print(f"Command: bench/web_load.py --duration {a.duration} --connections "
          f"{','.join(map(str, a.connections))} --nofile {a.nofile}"
          f"{' --old ' + a.old if a.old else ''}  ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    print(f"Bodies: {note}. Both servers ran at once, each recording the same {CAMERAS} cameras; "
          "the runs alternate between them. requests/s counts the expected answers (200, 206); "
          "latency percentiles are wrk's, over all answers (refusals included); probes: a fresh "
          "connection asking for system.json every 0.25 s during the run; CPU in % of one core: "
          "pinvr under load / wrk / the rest of the machine (other processes, and interrupt "
          "time, where part of loopback TCP is counted).\n")
    for sv in servers:
        print(f"**{sv.label}**\n")
        print("| endpoint | connections | requests/s | p50 | p99 | max | non-2xx | "
              "socket errors (connect / read / write) | timeouts | MB/s | fresh-connection probes "
              "| CPU % | afterwards |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for w in sv.runs:
            secs = w["duration_us"] / 1e6
            good = w["codes"].get(str(w["want"]), 0)
            other = {k: v for k, v in w["codes"].items() if k != str(w["want"])}
            non2 = ", ".join(f"{v} x {k}" for k, v in sorted(other.items())) or "0"
            st, dt = w["after"]
            after = f"{st} in {dt * 1e3:.0f} ms" if isinstance(st, int) else f"no answer ({st})"
            if w["failed"]:
                print(f"| {w['name']} | {w['conns']} | wrk: {w['failed']} | | | | | | | "
                      f"| {probe_summary(w['probes'])} | | {after} |")
                continue
            print(f"| {w['name']} | {w['conns']} | {good / secs:.0f} | {fmt_ms(w['p50_us'])} "
                  f"| {fmt_ms(w['p99_us'])} | {fmt_ms(w['max_us'])} | {non2} "
                  f"| {w['connect']} / {w['read']} / {w['write']} | {w['timeout']} "
                  f"| {w['bytes'] / secs / 1e6:.0f} | {probe_summary(w['probes'])} "
                  f"| {w['cpu'] * 100:.0f} / {w['wrk_cpu'] * 100:.0f} / {w['other_cpu'] * 100:.0f} "
                  f"| {after} |")
        rss = max([w["rss"] for w in sv.runs] + [0])
        thr = max([w["threads"] for w in sv.runs] + [0])
        print(f"\nVmRSS {sv.rss0 / B.MiB:.1f} MiB before the load, at most {rss / B.MiB:.1f} MiB "
              f"after a run, peak (VmHWM) {sv.hwm / B.MiB:.1f} MiB; at most {thr} threads; "
              f"cameras recording after the load (system.json): "
              f"{sv.recording_end}{f' of {CAMERAS}' if isinstance(sv.recording_end, int) else ''}; exit status "
              f"{sv.exit} after SIGTERM; {len(sv.log_warn)} warning or error lines in its log"
              + (f" (first: `{sv.log_warn[0][:160]}`)" if sv.log_warn else "") + ".")
        ms = sv.minutes
        counts = sorted({n for m in ms.values() for n in m["counts"]}, key=lambda x: (x is None, x or 0))
        print(f"Recording: {sum(m['full'] for m in ms.values())} full minutes over {CAMERAS} cameras "
              f"({' + '.join(str(m['full']) for m in ms.values())}), "
              f"**{sum(m['complete'] for m in ms.values())} complete** ({FPS} x 60 = {FPS * 60} "
              f"frames within a GOP of {GOP}; frame counts seen: {', '.join(map(str, counts))}), "
              f"{sum(m['under_load'] for m in ms.values())} of them entirely inside the load; "
              f"{sum(m['gaps'] for m in ms.values())} minutes missing.\n")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=20, help="seconds per wrk run (default 20)")
    ap.add_argument("--connections", default="100,1000",
                    help="comma-separated connection counts (default 100,1000)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--nofile", type=int, default=4096,
                    help="pinvr's open-file limit, soft and hard (default 4096)")
    ap.add_argument("--pinvr", help="pinvr binary (default: cargo build --release)")
    ap.add_argument("--old", help="a second pinvr binary to compare, e.g. a build of 4b574c3")
    ap.add_argument("--workdir", default=os.path.join(B.REPO, "target", "bench-web"))
    a = ap.parse_args()
    a.connections = [int(x) for x in a.connections.split(",")]
    if shutil.which("wrk") is None:
        B.die("wrk is not installed (apt-get install wrk)")
    if max(a.connections) + 64 > a.nofile:
        B.log(f"note: --nofile {a.nofile} leaves little room for {max(a.connections)} connections")
    workdir = os.path.abspath(a.workdir)
    binaries = []
    if a.old:
        binaries.append(("old", describe(a.old), B.pinvr_binary(a.old, workdir, "pinvr-old")))
    binaries.append(("new", describe(a.pinvr), B.pinvr_binary(a.pinvr, workdir)))
    pinvr = binaries[-1][2]
    clip = B.make_clip(os.path.join(workdir, "clip-1080p20-3M-60s.mp4"), seconds=60)
    fixtures = os.path.join(workdir, "fixtures")
    make_fixtures(pinvr, clip, fixtures)
    jpg = os.path.join(fixtures, FX, DAY, minute_name(FX, DAY, HOUR, 0) + ".jpg")
    lua = os.path.join(workdir, "count.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)
    load0 = loadavg()
    cams = B.Cameras(CAMERAS, clip, os.path.join(workdir, "cameras"))
    servers = []
    try:
        for key, label, binary in binaries:
            servers.append(Server(key, f"{key}: {label}", binary, os.path.join(workdir, key),
                                  cams, fixtures, a.nofile))
        for sv in servers:
            sv.ready()
        # What the machine does without web load: cameras, recording, anything else.
        m0, t0 = machine_busy(), time.monotonic()
        time.sleep(5)
        idle = (machine_busy() - m0) / (time.monotonic() - t0)
        B.log(f"machine busy {idle * 100:.0f}% of a core before the load")
        load_start = time.time()
        i = 0
        for conns in a.connections:
            for name, path, headers, want in ENDPOINTS:
                # Alternate which server goes first (ABBA), so drift in the machine's other
                # work weighs on both alike.
                for sv in (servers if i % 2 == 0 else servers[::-1]):
                    sv.load(name, path, headers, want, conns, a, lua)
                    time.sleep(1)
                i += 1
        load_end = time.time()
        # Every camera needs a full minute: the first (partial) one and one more closed.
        deadline = time.monotonic() + 150
        while min(len(v) for sv in servers for v in full_minutes_each(
                os.path.join(sv.out, "data")).values()) < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("no full minute closed in time")
            time.sleep(1)
        for sv in servers:
            sv.finish(load_start, load_end)
    finally:
        B.stop_all([sv.proc for sv in servers])
        cams.stop()
    sizes = servers[-1].sizes
    note = (f"system.json {sizes['system.json']} B; JPEG {os.path.getsize(jpg)} B (1920x1080); "
            f"range: {sizes['range']} B of {RANGE_PATH.rsplit('/', 1)[1]}")
    report(servers, a, note, (load0, loadavg()), idle)


if __name__ == "__main__":
    main()
