"""vm.py: boots the stand-in appliance image (scripts/appliance-image) under
qemu-system-aarch64 and talks to it, for appliance-test/boot_test.py and
appliance-test/power_cut.py. Python 3 standard library only.

Owns:
  * Card: the SD card image file on the host; reads its FAT boot partition with
    mtools and its data partition (XFS) through a loop mount of a copy, checked
    with xfs_repair, only while no qemu runs.
  * Vm: one qemu process: a `virt` machine with a Cortex-A53, the card on an
    emulated SD host controller (so the guest sees /dev/mmcblk0 as on the Pi),
    the web UI forwarded to a free port on 127.0.0.1, optionally a camera the
    guest reaches at rtsp://10.0.2.100:8554/ (qemu's guestfwd runs socat to
    the fake camera on 127.0.0.1 for each connection), and the serial console
    (ttyAMA0) on a unix socket, logged with host times.
  * Web: a small client for pinvr's web form (setup, login, config).

The guest's traffic never leaves qemu: user-mode networking with no address
but 127.0.0.1 on the host side.
"""

import html.parser
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

# The camera's address inside the guest (qemu's user network, guestfwd).
GUEST_CAMERA = "10.0.2.100:8554"


class Failure(Exception):
    """A check failed."""


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def exit_on_signals():
    """SIGTERM and SIGHUP end the test like Ctrl-C does, through the
    finally blocks that kill qemu and the camera."""
    def stop(signum, _frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    """Runs a host command, returns its stdout; raises with its stderr."""
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise Failure(f"{cmd[0]} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def wait_until(what, deadline_s, probe, interval=0.2):
    """Calls probe() until it returns a true value, at most deadline_s."""
    end = time.monotonic() + deadline_s
    while True:
        v = probe()
        if v:
            return v
        if time.monotonic() > end:
            raise Failure(f"no {what} within {deadline_s:.0f} s")
        time.sleep(interval)


class Card:
    """The SD card image file, inspected from the host while qemu is off."""

    def __init__(self, path):
        self.path = path

    def partitions(self):
        """[(start_bytes, size_bytes)] of the MBR partitions."""
        table = json.loads(run(["sfdisk", "-J", self.path]))["partitiontable"]
        return [(p["start"] * 512, p["size"] * 512) for p in table["partitions"]]

    def fat(self):
        return f"{self.path}@@{self.partitions()[0][0]}"

    def boot_file(self, name):
        """A file of the FAT boot partition, as bytes, or None."""
        p = subprocess.run(["mtype", "-i", self.fat(), "::" + name],
                           capture_output=True)
        return p.stdout if p.returncode == 0 else None

    def boot_files(self):
        out = run(["mdir", "-b", "-i", self.fat(), "::"])
        return sorted(line.strip().removeprefix("::/")
                      for line in out.splitlines() if line.strip())

    def copy_boot_file(self, name, dest):
        run(["mcopy", "-o", "-i", self.fat(), "::" + name, dest])

    def put_boot_file(self, name, data, scratch):
        """Writes data (bytes) to the FAT boot partition as name, through the
        file scratch on the host."""
        with open(scratch, "wb") as f:
            f.write(data)
        run(["mcopy", "-o", "-i", self.fat(), scratch, "::" + name])
        os.unlink(scratch)

    def fat_check(self, dest):
        """fsck.fat -n on a copy of the boot partition: the lines that tell
        of damage (not of clusters left allocated or the dirty bit, which a
        power cut leaves by nature), and its full report."""
        start, size = self.partitions()[0]
        run(["dd", f"if={self.path}", f"of={dest}", "bs=1M", "iflag=skip_bytes,count_bytes",
             f"skip={start}", f"count={size}", "status=none"])
        p = subprocess.run(["fsck.fat", "-n", dest], capture_output=True, text=True)
        os.unlink(dest)
        report = (p.stdout + p.stderr).strip()
        benign = re.compile(r"fsck\.fat |Reclaimed \d+ unused clusters? |Dirty bit is set|"
                            r"Automatically removing dirty bit|Leaving filesystem unchanged|"
                            r"\d+ files, \d+/\d+ clusters|^\s*$")
        damage = [line.strip() for line in report.splitlines() if not benign.search(line)]
        return damage, report

    def data_partition_copy(self, dest, path, files):
        """Copies the data partition to dest (sparse); mounts that copy
        (a loop mount, as root), which replays the XFS log as the guest
        kernel would at its next boot; copies the folder path out of it into
        files (the folder's name included: files/pinvr); unmounts it and
        checks it with `xfs_repair -n`. Returns (xfs_repair's exit status,
        its report): 0 is clean. A log that the kernel cannot replay fails."""
        start, size = self.partitions()[2]
        run(["dd", f"if={self.path}", f"of={dest}", "bs=4M", "conv=sparse",
             "iflag=skip_bytes,count_bytes", f"skip={start}",
             f"count={size}", "status=none"])
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        mnt = dest + ".mnt"
        os.makedirs(mnt, exist_ok=True)
        # nouuid: the copy has the card's UUID, which a mount left behind by an
        # interrupted run could hold.
        p = subprocess.run(sudo + ["mount", "-t", "xfs", "-o", "loop,nouuid", dest, mnt],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise Failure(f"mounting the data partition (XFS log replay): "
                          f"{p.stdout}{p.stderr}")
        try:
            os.makedirs(files, exist_ok=True)
            source = os.path.join(mnt, path.lstrip("/"))
            if not os.path.isdir(source):
                raise Failure(f"no {path} on the data partition")
            run(["cp", "-a", source, files])
        finally:
            run(sudo + ["umount", mnt])
            os.rmdir(mnt)
        p = subprocess.run(["xfs_repair", "-n", dest], capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr


class Console:
    """The guest's serial console over qemu's unix socket: everything it
    prints goes to a log file with host times; lines can be sent."""

    def __init__(self, sock_path, log_path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(sock_path)
        self.log = open(log_path, "a", encoding="utf-8", errors="replace")
        self.text = ""
        self.times = []  # (offset in self.text, host time it arrived)
        self.cond = threading.Condition()
        self.closed = False
        self.seq = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        at_line_start = True
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            now = time.time()
            with self.cond:
                if not data:
                    self.closed = True
                    self.cond.notify_all()
                    return
                s = data.decode("utf-8", "replace").replace("\r", "")
                self.times.append((len(self.text), now))
                self.text += s
                self.cond.notify_all()
            stamp = time.strftime("%H:%M:%S", time.localtime(now))
            for part in s.splitlines(keepends=True):
                if at_line_start:
                    self.log.write(f"{stamp} | ")
                self.log.write(part)
                at_line_start = part.endswith("\n")
            self.log.flush()

    def time_at(self, offset):
        """Host time at which the console text at offset arrived."""
        t = None
        for off, when in self.times:
            if off > offset:
                break
            t = when
        return t

    def expect(self, pattern, timeout, start=0):
        """Waits for regex pattern in the text after start; returns the
        match (offsets into the whole text)."""
        rx = re.compile(pattern, re.S)
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.text, start)
                if m:
                    return m
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    tail = self.text[-600:]
                    why = "console closed" if self.closed else f"{timeout:.0f} s"
                    raise Failure(f"no {pattern!r} on the console ({why}); "
                                  f"last output:\n{tail}")
                self.cond.wait(left)

    def mark(self):
        with self.cond:
            return len(self.text)

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def login(self, timeout=120):
        """Logs in as root (no password, as on the image) and quiets the
        kernel's messages on the console."""
        start = self.mark()
        self.send("")
        self.expect(r"login: ", timeout, start)
        self.send("root")
        self.expect(r"\n# ", 30, start)
        self.sh("dmesg -n 1; stty -echo", 30)

    def sh(self, command, timeout=60):
        """Runs a shell command as root; returns (status, output)."""
        self.seq += 1
        tag = f"@@{self.seq}"
        # The quotes keep the echoed command line from matching the markers.
        start = self.mark()
        self.send(f'echo "{tag}""B"; {command}; echo "{tag}""E $?"')
        m = self.expect(re.escape(tag) + r"B\n(.*?)" + re.escape(tag)
                        + r"E (\d+)\n", timeout, start)
        return int(m.group(2)), m.group(1)

    def guest_minus_host(self):
        """The guest clock minus the host clock, in seconds (to ~10 ms)."""
        before = time.time()
        status, out = self.sh("adjtimex", 30)
        after = time.time()
        sec = re.search(r"time\.tv_sec:\s+(\d+)", out)
        usec = re.search(r"time\.tv_usec:\s+(\d+)", out)
        if status != 0 and not (sec and usec):
            raise Failure(f"adjtimex: {out}")
        guest = int(sec.group(1)) + int(usec.group(1)) / 1e6
        return guest - (before + after) / 2, after - before


class Vm:
    """One boot of the card under qemu-system-aarch64 (TCG)."""

    def __init__(self, card, initramfs, workdir, name, cache="none",
                 camera_port=None, smp=2, memory="1G", rtc_base=None):
        self.card = card
        self.workdir = workdir
        self.name = name
        self.web_port = free_port()
        # The Pi's firmware boots the kernel named in config.txt with the
        # command line in cmdline.txt, both on the FAT partition: so do we.
        config = card.boot_file("config.txt").decode()
        kernel_name = re.search(r"^kernel=(\S+)", config, re.M).group(1)
        self.kernel = os.path.join(workdir, "kernel")
        card.copy_boot_file(kernel_name, self.kernel)
        self.cmdline = card.boot_file("cmdline.txt").decode().strip()
        sock = os.path.join(workdir, f"console-{name}.sock")
        if os.path.exists(sock):
            os.unlink(sock)
        netdev = (f"user,id=net0,hostname=pinvr,"
                  f"hostfwd=tcp:127.0.0.1:{self.web_port}-:8080")
        if camera_port:
            host, port = GUEST_CAMERA.split(":")
            netdev += (f",guestfwd=tcp:{host}:{port}-cmd:"
                       f"socat STDIO TCP:127.0.0.1:{camera_port}")
        cmd = [
            "nice", "-n", "10", "qemu-system-aarch64",
            "-M", "virt", "-cpu", "cortex-a53", "-smp", str(smp),
            "-m", memory, "-display", "none", "-monitor", "none",
            "-no-reboot", "-nodefaults",
            "-kernel", self.kernel, "-initrd", initramfs,
            "-append", self.cmdline,
            "-device", "sdhci-pci",
            "-drive", f"if=none,id=card,file={card.path},format=raw,"
                      f"cache={cache}",
            "-device", "sd-card,drive=card",
            "-netdev", netdev,
            "-device", "virtio-net-pci,netdev=net0,romfile=",
            "-chardev", f"socket,id=con,path={sock},server=on,wait=on",
            "-serial", "chardev:con",
        ]
        if rtc_base:
            # The clock the guest finds at boot (a Pi has none: what the kernel
            # starts with).
            cmd += ["-rtc", f"base={rtc_base}"]
        self.qemu_log = open(os.path.join(workdir, f"qemu-{name}.log"), "w")
        self.started = time.time()
        self.proc = subprocess.Popen(cmd, stdout=self.qemu_log,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        # qemu waits for the console's client before it starts the guest.
        wait_until("qemu console socket", 30,
                   lambda: os.path.exists(sock) or self.proc.poll() is not None)
        if self.proc.poll() is not None:
            raise Failure(f"qemu exited: {self.read_qemu_log()}")
        self.console = Console(sock, os.path.join(workdir, "console.log"))
        self.console.log.write(f"===== boot {name}: {' '.join(cmd)}\n")
        self.web = Web(self.web_port)

    def read_qemu_log(self):
        with open(self.qemu_log.name) as f:
            return f.read()

    def wait_web(self, timeout):
        """Waits for the web UI to answer; returns the seconds since qemu
        started."""
        def up():
            if self.proc.poll() is not None:
                raise Failure(f"qemu exited: {self.read_qemu_log()}")
            return self.web.answers()
        wait_until("web UI through the hostfwd", timeout, up, 0.5)
        return time.time() - self.started

    def kill(self):
        """Pulls the power: SIGKILL to qemu. Returns the host time."""
        t = time.time()
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        return t

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"qemu still running {timeout} s after the guest "
                          "was told to stop") from None

    def close(self):
        if self.proc.poll() is None:
            self.kill()
        self.qemu_log.close()


class FormParser(html.parser.HTMLParser):
    """The fields of the forms of a page: {action: {name: value}}, as a
    browser would submit them (checked boxes only, the selected option)."""

    def __init__(self):
        super().__init__()
        self.forms = {}
        self.fields = None  # the open form's fields
        self.select = None  # the open select's name
        self.option = None  # the open option: [selected, value or None, text]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.fields = self.forms.setdefault(a.get("action", ""), {})
        elif self.fields is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[a["name"]] = a.get("value") or "on"
            elif kind not in ("submit", "button", "reset"):
                self.fields[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self.select = a.get("name")
        elif tag == "option" and self.select:
            self.end_option()
            self.option = ["selected" in a, a.get("value"), ""]

    def handle_data(self, data):
        if self.option is not None:
            self.option[2] += data

    def end_option(self):
        if self.option is None:
            return
        selected, value, text = self.option
        self.option = None
        if selected or self.select not in self.fields:
            self.fields[self.select] = text.strip() if value is None else value

    def handle_endtag(self, tag):
        if tag == "form":
            self.fields = None
        elif tag == "option":
            self.end_option()
        elif tag == "select":
            self.end_option()
            self.select = None


class Web:
    """pinvr's web UI, as a browser uses it: a session cookie, the forms'
    CSRF tokens, redirects not followed (their targets are checked)."""

    def __init__(self, port):
        self.port = port
        self.cookie = None

    def request(self, method, path, body=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)
        headers = {}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if body is not None:
            body = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body, headers)
            r = conn.getresponse()
            data = r.read().decode("utf-8", "replace")
        finally:
            conn.close()
        for value in r.headers.get_all("Set-Cookie") or []:
            m = re.match(r"(pinvr_session=[^;]*)", value)
            if m:
                self.cookie = m.group(1)
        return r.status, r.headers, data

    def answers(self):
        try:
            self.request("GET", "/", timeout=5)
            return True
        except OSError:
            return False

    def forms(self, path):
        status, _, page = self.request("GET", path)
        parser = FormParser()
        parser.feed(page)
        return status, parser.forms

    def has_setup(self):
        """True if this pinvr asks for an admin password to be set first
        (the contract after the web rework), False for the older one."""
        status, _, _ = self.request("GET", "/setup")
        return status != 404

    def setup(self, password):
        _, forms = self.forms("/setup")
        form = forms.get("/setup") or next(iter(forms.values()), None)
        if form is None or "csrf" not in form:
            raise Failure("/setup has no form with a csrf field")
        status, headers, body = self.request(
            "POST", "/setup",
            {"csrf": form["csrf"], "password": password, "confirm": password})
        if status != 303:
            raise Failure(f"POST /setup answered {status}: {body[:300]}")
        return headers.get("Location")

    def login(self, password):
        _, forms = self.forms("/login")
        form = forms.get("/login")
        if form is None:
            raise Failure("/login has no login form")
        status, headers, body = self.request(
            "POST", "/login", {"csrf": form["csrf"], "password": password})
        if status != 303:
            raise Failure(f"POST /login answered {status}: {body[:300]}")

    def config_form(self):
        status, forms = self.forms("/config")
        if status != 200 or "/config" not in forms:
            raise Failure(f"GET /config: {status}, forms {list(forms)}")
        return forms["/config"]

    def save_config(self, fields, timeout=60):
        """Posts the config form; returns (status, Location)."""
        status, headers, body = self.request("POST", "/config", fields,
                                             timeout=timeout)
        if status != 303:
            raise Failure(f"POST /config answered {status}: {body[:500]}")
        return headers.get("Location")
