#!/bin/sh
# Buildroot post-build script for the pinvr images: a console on HDMI (as in
# Buildroot's board/raspberrypi/post-build.sh), mount points and fstab entries
# for the boot partition (/boot, where pinvr.json lives and is written back by
# the web UI) and the data partition (/data, recordings).

set -eu

# Add a console on tty1
if [ -e "${TARGET_DIR}/etc/inittab" ]; then
	grep -qE '^tty1::' "${TARGET_DIR}/etc/inittab" || \
		sed -i '/GENERIC_SERIAL/a\
tty1::respawn:/sbin/getty -L  tty1 0 vt100 # HDMI console' "${TARGET_DIR}/etc/inittab"
fi

mkdir -p "${TARGET_DIR}/boot" "${TARGET_DIR}/data"

# dirsync on /boot: vfat writes a renamed file's directory entry only when that
# inode is written back, but fsync of the folder writes the whole FAT at once,
# so "write temp, fsync, rename, fsync folder" (how pinvr saves pinvr.json)
# can leave on the card the old entry pointing at clusters already marked
# free: a broken file that fsck.fat truncates to 0 bytes (seen in the power-cut
# test). With dirsync, vfat writes the entry during the rename itself.
# /data is XFS (S01growdata makes it with reflink, so that pinvr can make a
# minute's MP4 from its chunk's blocks). nofail: on the first boot the data
# partition has no file system yet; S01growdata makes one and mounts it.
add_fstab() {
	grep -qE "^$1[[:space:]]" "${TARGET_DIR}/etc/fstab" || \
		printf '%s\n' "$*" | tr ' ' '\t' >> "${TARGET_DIR}/etc/fstab"
}
add_fstab /dev/mmcblk0p1 /boot vfat defaults,noatime,dirsync 0 0
add_fstab /dev/mmcblk0p3 /data xfs defaults,noatime,nofail 0 0
