#!/usr/bin/env bash
# Runs a benchmark on a fresh loop-mounted file system, the appliance's (XFS with reflink,
# as S01growdata makes it) or ext4, so that disk writes and the minute close's copy or
# block sharing are measured on that file system and not on whatever holds the checkout.
# Usage (root): bench/on_fs.sh xfs|ext4 SIZE_GIB bench/recorders.py [ARGS...]
# The command gets --workdir MOUNT/work appended; the image is target/bench-fs/FS.img and
# is unmounted and deleted afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -lt 3 ] || { [ "$1" != xfs ] && [ "$1" != ext4 ]; }; then
	echo "usage: $0 xfs|ext4 SIZE_GIB COMMAND [ARGS...]" >&2
	exit 2
fi
fs=$1 size=$2
shift 2
dir=target/bench-fs
img=$dir/$fs.img mnt=$dir/$fs
mkdir -p "$mnt"
umount "$mnt" 2>/dev/null || true
rm -f "$img"
truncate -s "${size}G" "$img"
if [ "$fs" = xfs ]; then
	mkfs.xfs -q -f -m reflink=1 "$img"
else
	mkfs.ext4 -q -F "$img"
fi
mount -o loop "$img" "$mnt"
cleanup() {
	umount "$mnt" || true
	rm -f "$img"
}
trap cleanup EXIT
echo "bench/on_fs.sh: $fs on a ${size} GiB loop device at $mnt ($(uname -r))" >&2
"$@" --workdir "$PWD/$mnt/work"
