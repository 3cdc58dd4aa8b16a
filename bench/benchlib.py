"""Shared helpers of the Python benchmarks in bench/ (stdlib only).

Owns: finding the repo and a pinvr binary, making the test clip, starting fake cameras and
pinvr on free ports of 127.0.0.1, a plain-socket HTTP client, reading /proc, and printing
numbers. Every wait has a deadline; every process started here is stopped by its own pid.
"""

import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Debian's python3 has the GStreamer bindings the fake camera needs; a pyenv one may not.
CAMERA_PYTHON = "/usr/bin/python3"
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
MiB = 1024 * 1024


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    log(f"error: {msg}")
    sys.exit(1)


def pinvr_binary(path, workdir, name="pinvr"):
    """Returns a private copy of the pinvr binary, WORKDIR/NAME: `path` if given, else a
    release build.

    The copy keeps a run immune to a rebuild of target/release/pinvr while it runs.
    """
    if path is None:
        log("cargo build --release (set --pinvr to skip)")
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
        path = os.path.join(REPO, "target", "release", "pinvr")
    if not os.access(path, os.X_OK):
        die(f"{path} is not an executable")
    os.makedirs(workdir, exist_ok=True)
    copy = os.path.join(workdir, name)
    shutil.copy2(path, copy)
    return copy


def make_clip(out, size="1920x1080", fps=20, seconds=30, gop=40, bitrate="3M"):
    """Makes (once) the camera-like clip with tests/make_clip.sh."""
    if not os.path.exists(out):
        log(f"making {out} ({size}, {fps} fps, {seconds} s, GOP {gop}, {bitrate}bit/s)")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        tmp = out + ".tmp.mp4"
        subprocess.run([os.path.join(REPO, "tests", "make_clip.sh"), tmp, size, str(fps),
                        str(seconds), str(gop), bitrate], check=True)
        os.rename(tmp, out)
    return out


def clip_video_rate(clip):
    """Bytes per second of the clip's H.264 payload (sum of packet sizes / duration)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=duration:packet=size", "-of", "json", clip],
        check=True, capture_output=True, text=True).stdout
    j = json.loads(out)
    total = sum(int(p["size"]) for p in j["packets"])
    return total / float(j["streams"][0]["duration"])


def count_frames(path):
    """Frames of an MP4's video track, decoded and counted by `ffprobe -count_frames`
    (None if ffprobe cannot tell)."""
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
                        "-show_entries", "stream=nb_read_frames", "-of", "default=nw=1:nk=1",
                        path], capture_output=True, text=True)
    try:
        return int(r.stdout.strip())
    except ValueError:
        return None


def mp4_duration(path):
    """Duration of an MP4 in seconds (0.0 if ffprobe cannot tell)."""
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                        "-of", "default=nw=1:nk=1", path], capture_output=True, text=True)
    try:
        return float(r.stdout.strip())
    except ValueError:
        return 0.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_line(proc, deadline):
    """One line of `proc`'s stdout, or None at the deadline or end of file."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    try:
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                continue
            c = os.read(proc.stdout.fileno(), 1)
            if not c:
                return None
            if c == b"\n":
                return buf.decode()
            buf += c
    finally:
        sel.close()
    return None


class Cameras:
    """N fake cameras (tests/fake_camera.py), one process each, looping one clip."""

    def __init__(self, n, clip, logdir, timeout=60.0, mounts=None):
        """`mounts`: [(path, clip)] served by each camera instead of `clip` alone (the URLs
        are then the first mount's; the others are at the same host and port)."""
        self.procs, self.urls = [], []
        source = ["--clip", clip] if not mounts else \
            [a for path, c in mounts for a in ("--mount", f"{path}={c}")]
        os.makedirs(logdir, exist_ok=True)
        try:
            for i in range(n):
                err = open(os.path.join(logdir, f"camera{i}.log"), "wb")
                p = subprocess.Popen([CAMERA_PYTHON, os.path.join(REPO, "tests", "fake_camera.py"),
                                      "--port", "0", *source],
                                     stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
                err.close()
                self.procs.append(p)
            deadline = time.monotonic() + timeout
            for i, p in enumerate(self.procs):
                line = read_line(p, deadline)
                if not line or not line.startswith("READY "):
                    raise RuntimeError(f"fake camera {i} not ready ({line!r}); see {logdir}/camera{i}.log")
                self.urls.append(line.split()[1])
        except BaseException:
            self.stop()
            raise

    def pids(self):
        return [p.pid for p in self.procs]

    def stop(self):
        stop_all(self.procs)


def stop_all(procs, timeout=15.0):
    """SIGTERM each process by pid, wait with a deadline, then SIGKILL what is left."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def write_config(path, data_dir, port, cameras, enabled=True, web=None):
    """A pinvr config: `cameras` is a list of (id, url), or of dicts written as they are;
    `web` adds fields to the web section."""
    cfg = {
        "data_dir": data_dir,
        "web": {"listen": f"127.0.0.1:{port}", **(web or {})},
        "cameras": [c if isinstance(c, dict) else {"id": c[0], "url": c[1], "enabled": enabled}
                    for c in cameras],
    }
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)


def camera_entries(urls, sub=False):
    """Config entries c0, c1, ... for the fake cameras' URLs; with `sub`, each with the
    sub_url of the same camera's /sub mount."""
    out = []
    for i, url in enumerate(urls):
        c = {"id": f"c{i}", "url": url}
        if sub:
            c["sub_url"] = url.rsplit("/", 1)[0] + "/sub"
        out.append(c)
    return out


def start_recording(out, binary, urls, sub=False, prefix=(), env=None):
    """Writes OUT/pinvr.json (data in OUT/data, the web UI on a free port of 127.0.0.1,
    cameras c0... for `urls`, with sub streams if `sub`) and an API token, then starts
    `prefix + [binary, "run", ...]` logging to OUT/pinvr.log. Returns (process, port,
    request headers that carry the token)."""
    port = free_port()
    cfg = os.path.join(out, "pinvr.json")
    write_config(cfg, os.path.join(out, "data"), port, camera_entries(urls, sub))
    auth = write_token(cfg)
    with open(os.path.join(out, "pinvr.log"), "wb") as log:
        proc = subprocess.Popen([*prefix, binary, "run", "--config", cfg], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, env=env)
    return proc, port, auth


def write_token(config):
    """Makes an API token for the pinvr config file `config` (in `<stem>.tokens.json` beside
    it, as src/web/auth/tokens.rs keeps them: SHA-256 of the token) and returns the request
    headers that carry it. A pinvr from before tokens (4b574c3 and older) ignores them."""
    import hashlib
    import secrets
    token = "pinvr_" + secrets.token_hex(16)
    stem = os.path.splitext(os.path.basename(config))[0]
    path = os.path.join(os.path.dirname(config), f"{stem}.tokens.json")
    entry = {"name": "bench", "sha256": hashlib.sha256(token.encode()).hexdigest(),
             "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"tokens": [entry]}, f)
    return {"Authorization": f"Bearer {token}"}


# ---- HTTP over a plain socket ----

def http_get(port, path, timeout=10.0, sink=False, stop_after=None, headers=None):
    """GET http://127.0.0.1:port/path with a fresh connection (Connection: close), with
    the extra request `headers` (a dict) if given.

    Returns a dict: status, headers, body (unless sink), nbytes (body bytes read),
    ttfb (s from before connect to the first response byte), total (s to the last byte).
    With sink the body is read into a reused buffer and dropped; stop_after=N stops
    reading after N body bytes and closes the connection.
    """
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}\r\n".encode())
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        head = b""
        ttfb = None
        while b"\r\n\r\n" not in head:
            n = s.recv_into(view)
            if n == 0:
                raise RuntimeError(f"GET {path}: connection closed in the headers")
            if ttfb is None:
                ttfb = time.perf_counter() - t0
            head += bytes(view[:n])
        head, _, rest = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for h in lines[1:]:
            k, _, v = h.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers["content-length"]) if "content-length" in headers else None
        want = length if stop_after is None else min(length or stop_after, stop_after)
        got = len(rest)
        body = [rest] if not sink else None
        while want is None or got < want:
            n = s.recv_into(view)
            if n == 0:
                break
            got += n
            if body is not None:
                body.append(bytes(view[:n]))
        total = time.perf_counter() - t0
    finally:
        s.close()
    if stop_after is None and length is not None and got != length:
        raise RuntimeError(f"GET {path}: {got} of {length} body bytes")
    return {"status": status, "headers": headers, "nbytes": got, "ttfb": ttfb, "total": total,
            "body": b"".join(body) if body is not None else None}


def wait_http(port, path, deadline, proc=None, headers=None):
    """Polls GET path until it answers 200; returns the seconds waited until then."""
    t0 = time.monotonic()
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"pinvr exited ({proc.returncode}) before its web UI answered")
        try:
            r = http_get(port, path, timeout=2.0, headers=headers)
            if r["status"] == 200:
                return time.monotonic() - t0, r
        except (OSError, RuntimeError):
            pass
        time.sleep(0.005)
    raise RuntimeError(f"no answer from 127.0.0.1:{port}{path} before the deadline")


# ---- /proc ----

def proc_stat(pid):
    """(utime, stime, cutime, cstime) in seconds from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime is field 14.
    return tuple(int(x) / TICKS for x in fields[11:15])


def proc_io(pid):
    """/proc/<pid>/io as a dict of ints (rchar, wchar, read_bytes, write_bytes, ...)."""
    out = {}
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k.strip()] = int(v)
    return out


def proc_kib(path, key):
    """The value of the `key:` line of a /proc file whose values are in kB, in bytes (0 if
    the process is gone)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def vm_rss(pid):
    """VmRSS of pid in bytes (0 if gone)."""
    return proc_kib(f"/proc/{pid}/status", "VmRSS")


def pss(pid):
    """Pss of pid in bytes from /proc/<pid>/smaps_rollup (0 if gone): its resident pages,
    each shared page divided by the number of processes mapping it."""
    return proc_kib(f"/proc/{pid}/smaps_rollup", "Pss")


def tcp_received(pids):
    """{(local, peer): bytes_received} of the established TCP sockets owned by `pids`.

    From `ss -tinp` (the kernel's tcp_info.tcpi_bytes_received: TCP payload bytes this
    end received on the connection, RTSP, interleaved RTP and RTCP included).
    """
    out = subprocess.run(["ss", "-Htinp", "state", "established"], capture_output=True,
                         text=True, timeout=10).stdout
    want = {f"pid={p}," for p in pids}
    res, key = {}, None
    for line in out.splitlines():
        if line and not line[0].isspace():
            parts = line.split()
            key = None
            if any(w in line for w in want):
                # Recv-Q Send-Q Local Peer users:(...)
                key = (parts[2], parts[3])
        elif key is not None:
            for tok in line.split():
                if tok.startswith("bytes_received:"):
                    res[key] = int(tok.split(":")[1])
            key = None
    return res


def reap(proc, deadline):
    """Waits for `proc` to exit without reaping it, reads what /proc still holds for the
    zombie (io counters, utime/stime), then reaps it for its rusage (peak RSS).

    Returns a dict, or None if it did not exit before the deadline (then it is killed).
    """
    pid = proc.pid
    while True:
        r = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        if r is not None:
            break
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            return None
        time.sleep(0.05)
    io = proc_io(pid)
    st = proc_stat(pid)
    _, status, ru = os.wait4(pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"io": io, "stat": st, "utime": ru.ru_utime, "stime": ru.ru_stime,
            "maxrss": ru.ru_maxrss * 1024, "exit": proc.returncode}


def reap_counting(groups, deadline):
    """Reaps every process of `groups` ([(procs, received)]: processes already signalled
    to stop, and the dict that [`tcp_received`] of their sockets updates) with [`reap`],
    sampling each group's sockets every 50 ms until all have exited: a recorder goes on
    receiving, and writing, until it has stopped each stream, so bytes received counted
    only before the signal would make what it wrote meanwhile look written twice. Returns
    reap's results, in order."""
    procs = [p for ps, _ in groups for p in ps]
    while time.monotonic() < deadline:
        for ps, received in groups:
            received.update(tcp_received([p.pid for p in ps]))
        if all(os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None
               for p in procs):
            break
        time.sleep(0.05)
    return [reap(p, deadline) for p in procs]


def tree_size(path, suffixes=None):
    """(files, bytes) under path, counting only names ending in one of `suffixes`."""
    n = total = 0
    for root, _, files in os.walk(path):
        for f in files:
            if suffixes is None or f.endswith(tuple(suffixes)):
                n += 1
                total += os.path.getsize(os.path.join(root, f))
    return n, total


def median(xs):
    xs = sorted(xs)
    k = len(xs)
    if k == 0:
        return float("nan")
    return xs[k // 2] if k % 2 else (xs[k // 2 - 1] + xs[k // 2]) / 2


def machine():
    """One line naming the machine: CPU model, cores, memory, kernel."""
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    return f"{model}, {os.cpu_count()} cores, {mem:.0f} GiB, Linux {os.uname().release}"
