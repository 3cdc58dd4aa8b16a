"""boot_test.py: boots the stand-in appliance card twice under qemu and checks
what a user gets from a freshly flashed card (run by scripts/boot-test, which
builds the card first; see docs/appliance.md).

  1. First boot: the web UI answers through the hostfwd; S01growdata grew the
     data partition to the end of the card, made its file system (XFS) and
     mounted it at /data (serial console); the admin password is set through /setup
     (when this pinvr has it) and a setting is changed through the /config
     form, which must land in /boot/pinvr.json; then a clean `reboot`.
  2. Between boots, from the host: the card's partition table and the FAT
     partition's pinvr.json (the change, the password stored hashed, the
     .bak, no temporary file).
  3. Second boot: growdata does not run again, /data is mounted, the web UI
     asks for the password set before (not for a new one) and shows the
     changed setting; then `poweroff`.

Usage: /usr/bin/python3 appliance-test/boot_test.py IMAGE_DIR WORK_DIR
Prints the times of each step; exits 1 with the reason on a failed check.
"""

import json
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm import Card, Failure, Vm, exit_on_signals, log  # noqa: E402

PASSWORD = "boot-test-password"
# The setting the test changes through the form, and the value it sets.
FIELD, VALUE = "retry.gap_timeout_s", "7"
BOOT_DEADLINE_S = 300  # the first boot includes making the data file system
# The boot test checks function, not durability (scripts/power-cut does, with
# cache=none): the host's cache makes qemu's emulated SD erase on the first
# boot (mkfs.xfs discards the partition) several times faster.
CACHE = "writeback"
# S01growdata's report; kernel messages may come between its two halves.
GREW = re.compile(r"Setting up /data on /dev/mmcblk0p3: (?:\[[^\n]*\n)*(OK|FAIL)")


def check(ok, what):
    if not ok:
        raise Failure(what)
    log(f"ok: {what}")


def data_checks(vm, first):
    """/data is a mounted XFS on partition 3, which reaches the card's end."""
    c = vm.console
    status, out = c.sh("mountpoint /data && grep ' /data ' /proc/mounts")
    check(status == 0 and "/dev/mmcblk0p3 /data xfs " in out,
          f"/data is mounted from /dev/mmcblk0p3 as xfs ({out.strip()})")
    _, out = c.sh("cat /sys/block/mmcblk0/size /sys/block/mmcblk0/mmcblk0p3/start"
                  " /sys/block/mmcblk0/mmcblk0p3/size")
    disk, start, size = (int(x) for x in out.split())
    check(start + size == disk,
          f"partition 3 ends at the card's end ({size * 512 >> 20} MiB of "
          f"{disk * 512 >> 20} MiB)")
    status, _ = c.sh("test -e /etc/growdata.done")
    check(status == 0, "/etc/growdata.done marks the first boot as done")
    grew = GREW.search(c.text)
    if first:
        check(grew, "S01growdata reported OK on the first boot")
    else:
        check("Setting up /data" not in c.text,
              "S01growdata did not run again on the second boot")
    status, out = c.sh("ps | grep '[/]usr/bin/pinvr run'")
    check(status == 0, "pinvr runs under S99pinvr")
    return size * 512


def main():
    image_dir, work = sys.argv[1], sys.argv[2]
    t_start = time.monotonic()
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    card_path = os.path.join(work, "card.img")
    shutil.copyfile(os.path.join(image_dir, "sdcard.img"), card_path)
    card = Card(card_path)
    initramfs = os.path.join(image_dir, "initramfs.cpio.gz")
    shipped = card.boot_file("pinvr.json")
    times = {}

    # ---- first boot
    log("first boot (S01growdata grows and formats the data partition)")
    vm = Vm(card, initramfs, work, "first", cache=CACHE)
    try:
        times["first boot to web UI"] = vm.wait_web(BOOT_DEADLINE_S)
        c = vm.console
        m = c.expect(GREW.pattern, 60)
        times["growdata (grow + mkfs.xfs)"] = (c.time_at(m.end() - 1)
                                               - c.time_at(m.start()))
        c.login()
        data_checks(vm, first=True)

        web = vm.web
        new_web = web.has_setup()
        if new_web:
            status, headers, _ = web.request("GET", "/")
            check(status == 303 and "/setup" in headers.get("Location", ""),
                  "with no admin password, / redirects to /setup")
            status, _, _ = web.request("GET", "/api/1/cameras.json")
            check(status == 401, "with no admin password, the API answers 401")
            web.cookie = None
            location = web.setup(PASSWORD)
            check(location is not None and location.endswith("/"),
                  "POST /setup set the admin password and sent us to /")
        else:
            log("this pinvr has no /setup (older web UI): the password step is skipped")
        form = web.config_form()
        check(form.get(FIELD) not in (None, VALUE),
              f"the config form shows {FIELD} (now {form.get(FIELD)!r})")
        form[FIELD] = VALUE
        t = time.monotonic()
        location = web.save_config(form)
        times["config save through the form"] = time.monotonic() - t
        check(location is not None and location.endswith("/config?saved=1"),
              f"POST /config saved and redirected to {location}")
        check(web.config_form().get(FIELD) == VALUE,
              f"the form shows {FIELD} = {VALUE} after saving")
        _, out = c.sh("cat /boot/pinvr.json")
        live = json.loads(out)
        check(str(live["retry"]["gap_timeout_s"]).rstrip("0").rstrip(".") == VALUE,
              "/boot/pinvr.json in the guest has the new value")

        # The last good time, as S02savedtime keeps it: the host's time now (the
        # guest's clock may be the host's already; the saved time only moves on).
        saved_at = time.time()
        c.sh(f"echo {int(saved_at)} > /data/saved-time")

        log("clean reboot")
        t = time.monotonic()
        c.send("reboot")
        c.expect(r"Stopping pinvr: (?:[^\n]*\n)*?OK", 90)
        vm.wait_exit(120)
        times["clean reboot (rcK to power off)"] = time.monotonic() - t
    finally:
        vm.close()

    # ---- the card, from the host
    parts = card.partitions()
    check(parts[2][0] + parts[2][1] == os.path.getsize(card_path),
          "the partition table on the card has partition 3 grown to its end")
    text = card.boot_file("pinvr.json")
    config = json.loads(text)
    check(float(config["retry"]["gap_timeout_s"]) == float(VALUE),
          f"pinvr.json on the FAT partition keeps {FIELD} = {VALUE}")
    if new_web:
        stored = config["web"].get("admin_password")
        check(stored and PASSWORD not in json.dumps(config),
              "pinvr.json stores the admin password hashed, not in clear")
    bak = card.boot_file("pinvr.json.bak")
    if new_web:
        # Two saves (the password, then the form): .bak is the file between them.
        previous = json.loads(bak or b"null") or {}
        check(previous.get("retry", {}).get("gap_timeout_s") != float(VALUE)
              and previous.get("web", {}).get("admin_password"),
              "pinvr.json.bak holds the file before the form's save")
    else:
        check(bak == shipped, "pinvr.json.bak holds the file as shipped")
    files = card.boot_files()
    check(not [f for f in files if f.endswith(".tmp")],
          f"no temporary file on the FAT partition ({', '.join(files)})")

    # ---- second boot
    # Booted with a clock at 2001 (a Pi without a real-time clock and no network
    # time yet): S02savedtime sets it forward to the time saved before the reboot.
    log("second boot, the clock starting in 2001")
    vm = Vm(card, initramfs, work, "second", cache=CACHE,
            rtc_base="2001-01-01T00:00:00")
    try:
        times["second boot to web UI"] = vm.wait_web(BOOT_DEADLINE_S)
        c = vm.console
        c.expect(r"Clock set forward to the last saved time", 10)
        c.login()
        offset, _ = c.guest_minus_host()
        check(offset > saved_at - time.time() - 5,
              f"the clock restored from /data/saved-time ({offset:+.0f} s from the "
              f"host; saved {time.time() - saved_at:.0f} s ago)")
        data_checks(vm, first=False)
        web = vm.web
        if new_web:
            status, headers, _ = web.request("GET", "/config")
            check(status in (303, 401) and "/login" in headers.get("Location", "/login"),
                  "after the reboot the password set before is asked for (/login)")
            web.login(PASSWORD)
        check(web.config_form().get(FIELD) == VALUE,
              f"after the reboot the form shows {FIELD} = {VALUE}")
        if new_web:
            _, _, page = web.request("GET", "/")
            check("not synchronised" in page,
                  "with no network time, the pages say the clock is not synchronised")
        t = time.monotonic()
        c.send("poweroff")
        vm.wait_exit(120)
        times["poweroff"] = time.monotonic() - t
    finally:
        vm.close()

    times["boot test in all"] = time.monotonic() - t_start
    print("boot-test times:")
    for k, v in times.items():
        print(f"  {k:36} {v:6.1f} s")
    print("boot-test: OK")


if __name__ == "__main__":
    exit_on_signals()
    try:
        main()
    except Failure as e:
        print(f"boot-test: FAIL: {e}", flush=True)
        sys.exit(1)
