#!/usr/bin/env python3
"""What the kernel's page cache costs per byte written, by write size and alignment.

Usage: bench/on_fs.sh xfs 4 python3 bench/write_sizes.py [--mib 400] [--rounds 3]
       (or bench/write_sizes.py --workdir DIR to use a folder as it is)

Writes --mib MiB into 16 new files (as 16 cameras' chunks would) for each write size, in
turn, --rounds times, and prints the median system time per write size, with the fewest and most seen (os.times() of
this process: the copy into the page cache, folio allocation and the inode's update).
Sizes: 64 KiB and 16 KiB (every write one aligned window, as pinvr's chunk writer does),
60,000 and 250,000 bytes (writes at arbitrary offsets, as it did before), and 4 KiB. The
files are deleted and the file system synced between sizes, so write-back is not counted.
"""
import argparse
import mmap
import os
import statistics
import sys

SIZES = [65536, 60000, 16384, 250000, 4096]


def one(workdir, size, total):
    buf = mmap.mmap(-1, 1 << 20)
    buf.write(os.urandom(1 << 20))
    piece = memoryview(buf)[:size]
    per_file = total // 16
    t0 = os.times()
    for f in range(16):
        fd = os.open(os.path.join(workdir, f"f{f}"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        n = 0
        while n < per_file:
            n += os.write(fd, piece)
        os.close(fd)
    t1 = os.times()
    for f in range(16):
        os.unlink(os.path.join(workdir, f"f{f}"))
    os.sync()
    return t1.system - t0.system


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--mib", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    total = a.mib << 20
    times = {s: [] for s in SIZES}
    for _ in range(a.rounds):
        for s in SIZES:
            times[s].append(one(a.workdir, s, total))
    print(f"Command: {' '.join(sys.argv)}; {a.mib} MiB into 16 files per size, "
          f"median of {a.rounds} rounds\n")
    print("| write size | aligned to its size | system s, median | fewest, most | median per GB |")
    print("|---|---|---|---|---|")
    for s in SIZES:
        m = statistics.median(times[s])
        aligned = "yes" if s & (s - 1) == 0 else "no"
        print(f"| {s} | {aligned} | {m:.3f} | {min(times[s]):.3f}, {max(times[s]):.3f} "
              f"| {m / (total / 1e9):.3f} |")


if __name__ == "__main__":
    main()
